//! The EC2 tags sink: the asset tags on the instance itself, under a key prefix
//! (`jikimi:AssetType = DB`), through EC2's CreateTags / DeleteTags / DescribeTags.
//!
//! Jikimi only ever touches tags it set: `STATE_DIR/ec2-tags-state.json` remembers each key
//! and value it wrote. Each run:
//! 1. DescribeTags reads the instance's current tags;
//! 2. CreateTags writes the prefixed asset tags that are missing or differ;
//! 3. DeleteTags removes the tags Jikimi set earlier that the classification no longer
//!    produces (the service went away), naming the value it set, so a tag somebody changed
//!    since is left alone (and forgotten). Tags without the prefix, and prefixed tags Jikimi
//!    did not set, are never written or deleted.
//!
//! A failed call leaves the state as it was: the next run computes the same difference.

use super::SinkSummary;
use crate::aws::http::xml_unescape;
use crate::aws::identity::{Identity, ResourceKind};
use crate::aws::{query_body, Session, EC2};
use crate::classify::Asset;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

pub const STATE_FILE: &str = "ec2-tags-state.json";
pub const LOCK_FILE: &str = "ec2-tags.lock";
const API_VERSION: &str = "2016-11-15";
const STATE_VERSION: u32 = 1;

/// The `[ec2_tags]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2TagsConfig {
    /// Write the asset tags to the EC2 instance on every run (as `--submit ec2-tags` does).
    #[serde(default)]
    pub enabled: bool,
    /// Key prefix of every tag Jikimi writes (default `jikimi:`); also the prefix of the
    /// asset tags in Security Hub's `Resources[0].Tags`.
    #[serde(default, deserialize_with = "prefix")]
    pub prefix: Option<String>,
}

impl Ec2TagsConfig {
    pub fn prefix(&self) -> &str {
        self.prefix
            .as_deref()
            .unwrap_or(crate::classify::DEFAULT_PREFIX)
    }
}

/// The EC2 tags sink: the run's asset tags on the instance, under the section's prefix.
pub struct Ec2Tags<'a> {
    cfg: &'a Ec2TagsConfig,
}

impl<'a> Ec2Tags<'a> {
    pub fn new(cfg: &'a Ec2TagsConfig) -> Ec2Tags<'a> {
        Ec2Tags { cfg }
    }
}

impl super::Sink for Ec2Tags<'_> {
    fn name(&self) -> &'static str {
        "ec2_tags"
    }

    fn remote(&self) -> bool {
        true
    }

    fn deliver(
        &self,
        report: &crate::report::Report,
        ctx: &super::Context<'_>,
    ) -> super::Summaries {
        let s = super::deliver_asset(report, ctx, "EC2 tags", |a, aws| {
            sync(
                a,
                aws.identity,
                aws.session,
                ctx.state_dir,
                self.cfg.prefix(),
            )
        });
        vec![(self.name(), s)]
    }
}

fn prefix<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    let ok = (1..=32).contains(&s.len())
        && s.as_bytes()[0].is_ascii_alphabetic()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:-/".contains(&b))
        && !s.to_ascii_lowercase().starts_with("aws");
    if ok {
        Ok(Some(s))
    } else {
        Err(serde::de::Error::custom(format!(
            "prefix `{s}` must be 1 to 32 letters, digits or `_ . : - /`, start with a letter and not with aws"
        )))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct State {
    version: u32,
    region: String,
    resource_id: String,
    /// Tags this agent set and that are still on the instance: key → value.
    set: BTreeMap<String, String>,
}

/// What one run must do (pure).
#[derive(Debug, Default, PartialEq)]
struct Plan {
    create: BTreeMap<String, String>,
    delete: BTreeMap<String, String>,
    /// Keys in the state that are gone or were changed by someone else.
    forget: Vec<String>,
    unchanged: usize,
}

fn plan(
    desired: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
    state: &State,
    prefix: &str,
) -> Plan {
    let mut p = Plan::default();
    for (k, v) in desired {
        if !k.starts_with(prefix) {
            continue;
        }
        if current.get(k) == Some(v) {
            p.unchanged += 1;
        } else {
            p.create.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in &state.set {
        if desired.contains_key(k) || !k.starts_with(prefix) {
            continue;
        }
        match current.get(k) {
            Some(cur) if cur == v => {
                p.delete.insert(k.clone(), v.clone());
            }
            _ => p.forget.push(k.clone()),
        }
    }
    p
}

/// The `<item>`s of a DescribeTags answer: key → value.
fn parse_describe(xml: &str) -> (BTreeMap<String, String>, Option<String>) {
    let field = |item: &str, tag: &str| -> Option<String> {
        if item.contains(&format!("<{tag}/>")) {
            return Some(String::new());
        }
        let open = format!("<{tag}>");
        let s = item.find(&open)? + open.len();
        let e = item[s..].find(&format!("</{tag}>"))? + s;
        Some(xml_unescape(&item[s..e]))
    };
    let mut out = BTreeMap::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<item>") {
        let after = &rest[i + 6..];
        let Some(end) = after.find("</item>") else {
            break;
        };
        let item = &after[..end];
        if let Some(k) = field(item, "key") {
            out.insert(k, field(item, "value").unwrap_or_default());
        }
        rest = &after[end + 7..];
    }
    let next = field(xml, "nextToken").filter(|t| !t.is_empty());
    (out, next)
}

fn tag_params(tags: &BTreeMap<String, String>, with_values: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, (k, v)) in tags.iter().enumerate() {
        out.push((format!("Tag.{}.Key", i + 1), k.clone()));
        if with_values {
            out.push((format!("Tag.{}.Value", i + 1), v.clone()));
        }
    }
    out
}

/// Applies the asset's tags to the instance; never fails the run (problems are in the
/// summary).
pub fn sync(
    asset: &Asset,
    identity: &Identity,
    session: &Session,
    state_dir: &Path,
    prefix: &str,
) -> SinkSummary {
    let mut sum = SinkSummary::default();
    if identity.kind != ResourceKind::Ec2Instance {
        sum.error(format!(
            "EC2 tags need an EC2 instance (i-...), not `{}`",
            identity.resource_id
        ));
        return sum;
    }
    let _lock = match crate::state::lock(state_dir, LOCK_FILE, Duration::from_secs(120)) {
        Ok(l) => l,
        Err(e) => {
            sum.error(e.to_string());
            return sum;
        }
    };
    let path = state_dir.join(STATE_FILE);
    let fresh = State {
        version: STATE_VERSION,
        region: identity.region.clone(),
        resource_id: identity.resource_id.clone(),
        set: BTreeMap::new(),
    };
    let mut state = match crate::state::read(&path) {
        Ok(Some(b)) => match serde_json::from_slice::<State>(&b) {
            Ok(s)
                if s.version == STATE_VERSION
                    && s.region == identity.region
                    && s.resource_id == identity.resource_id =>
            {
                s
            }
            _ => fresh,
        },
        Ok(None) => fresh,
        Err(e) => {
            sum.error(e.to_string());
            return sum;
        }
    };
    let region = identity.region.clone();
    // 1. current tags
    let mut current = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = vec![
            ("Filter.1.Name".to_string(), "resource-id".to_string()),
            ("Filter.1.Value.1".to_string(), identity.resource_id.clone()),
        ];
        if let Some(t) = &token {
            params.push(("NextToken".into(), t.clone()));
        }
        match session.call_query(
            EC2,
            &region,
            &query_body("DescribeTags", API_VERSION, &params),
        ) {
            Ok((xml, attempts)) => {
                sum.calls += attempts as usize;
                let (tags, next) = parse_describe(&xml);
                current.extend(tags);
                match next {
                    Some(n) if token.as_ref() != Some(&n) => token = Some(n),
                    _ => break,
                }
            }
            Err(e) => {
                sum.calls += e.attempts as usize;
                sum.error(format!("DescribeTags: {e}"));
                sum.pending = asset.resource_tags().len();
                return sum;
            }
        }
    }
    let desired = asset.resource_tags();
    let p = plan(&desired, &current, &state, prefix);
    sum.unchanged = p.unchanged;
    for k in &p.forget {
        state.set.remove(k);
    }
    // state keys that are desired and already right are ours too (a lost state adopts them)
    for (k, v) in &desired {
        if current.get(k) == Some(v) {
            state.set.insert(k.clone(), v.clone());
        }
    }
    let resource = ("ResourceId.1".to_string(), identity.resource_id.clone());
    if !p.create.is_empty() {
        let mut params = vec![resource.clone()];
        params.extend(tag_params(&p.create, true));
        match session.call_query(
            EC2,
            &region,
            &query_body("CreateTags", API_VERSION, &params),
        ) {
            Ok((_, attempts)) => {
                sum.calls += attempts as usize;
                sum.sent += p.create.len();
                state.set.extend(p.create.clone());
            }
            Err(e) => {
                sum.calls += e.attempts as usize;
                sum.failed += p.create.len();
                sum.pending += p.create.len();
                sum.error(format!("CreateTags: {e}"));
            }
        }
    }
    if !p.delete.is_empty() {
        let mut params = vec![resource];
        // With a value, DeleteTags removes the tag only while it still has that value.
        params.extend(tag_params(&p.delete, true));
        match session.call_query(
            EC2,
            &region,
            &query_body("DeleteTags", API_VERSION, &params),
        ) {
            Ok((_, attempts)) => {
                sum.calls += attempts as usize;
                sum.sent += p.delete.len();
                sum.archived += p.delete.len();
                for k in p.delete.keys() {
                    state.set.remove(k);
                }
            }
            Err(e) => {
                sum.calls += e.attempts as usize;
                sum.failed += p.delete.len();
                sum.pending += p.delete.len();
                sum.error(format!("DeleteTags: {e}"));
            }
        }
    }
    match serde_json::to_vec_pretty(&state) {
        Ok(b) => {
            if let Err(e) = crate::state::write_atomic(&path, &b) {
                sum.error(e.to_string());
            }
        }
        Err(e) => sum.error(format!("cannot encode the EC2 tags state: {e}")),
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plan_touches_only_what_it_set() {
        let state = State {
            set: m(&[
                ("jikimi:AssetType", "DB"),
                ("jikimi:Product", "redis"),
                ("jikimi:Owner", "Ops"),
            ]),
            ..Default::default()
        };
        let current = m(&[
            ("Name", "db-1"),
            ("jikimi:AssetType", "DB"),
            ("jikimi:Product", "redis"),
            ("jikimi:Owner", "Changed-by-hand"),
            ("jikimi:Manual", "x"),
        ]);
        let desired = m(&[("jikimi:AssetType", "DB,Web"), ("jikimi:Env", "PROD")]);
        let p = plan(&desired, &current, &state, "jikimi:");
        assert_eq!(
            p.create,
            m(&[("jikimi:AssetType", "DB,Web"), ("jikimi:Env", "PROD")])
        );
        assert_eq!(p.delete, m(&[("jikimi:Product", "redis")]));
        assert_eq!(p.forget, vec!["jikimi:Owner".to_string()]);
        assert_eq!(p.unchanged, 0);
    }

    #[test]
    fn describe_tags_xml() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>7a62c49f</requestId>
  <tagSet>
    <item><resourceId>i-1</resourceId><resourceType>instance</resourceType><key>Name</key><value>web &amp; db</value></item>
    <item><resourceId>i-1</resourceId><resourceType>instance</resourceType><key>empty</key><value/></item>
  </tagSet>
  <nextToken>abc</nextToken>
</DescribeTagsResponse>"#;
        let (tags, next) = parse_describe(xml);
        assert_eq!(tags, m(&[("Name", "web & db"), ("empty", "")]));
        assert_eq!(next.as_deref(), Some("abc"));
        let body = query_body(
            "CreateTags",
            API_VERSION,
            &tag_params(&m(&[("jikimi:Product", "nginx,php-fpm")]), true),
        );
        assert_eq!(
            body,
            "Action=CreateTags&Version=2016-11-15&Tag.1.Key=jikimi%3AProduct&Tag.1.Value=nginx%2Cphp-fpm"
        );
    }
}

//! The SSM Inventory sink: the asset classification as the custom inventory type
//! `Custom:JikimiAsset` (PutInventory), so Systems Manager Inventory, Resource Data Sync and
//! Athena can answer "which PROD hosts run a database and hold personal data".
//!
//! One row per matched rule (AssetType, Product, Rule, Evidence) with the host-level tags
//! (Env, Owner, PersonalData, and all tags as `Tags`) repeated on every row, so a single
//! inventory filter such as `Custom:JikimiAsset.AssetType Equal DB` finds the host. A host
//! with no match has one row with empty AssetType and Product. `ContentHash` lets SSM skip an
//! unchanged upload.

use super::SinkSummary;
use crate::aws::identity::{Identity, ResourceKind};
use crate::aws::{Session, SSM};
use crate::classify::{Asset, ENV, OWNER, PERSONAL_DATA};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const TYPE_NAME: &str = "Custom:JikimiAsset";
const VALUE_MAX: usize = 4096;

/// The `[ssm_inventory]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsmInventoryConfig {
    /// Put the inventory item on every run (as `--submit ssm-inventory` does for one run).
    #[serde(default)]
    pub enabled: bool,
}

/// The SSM Inventory sink: `Custom:JikimiAsset` from the run's asset classification (its
/// section holds nothing but `enabled`).
pub struct SsmInventory;

impl super::Sink for SsmInventory {
    fn name(&self) -> &'static str {
        "ssm_inventory"
    }

    fn remote(&self) -> bool {
        true
    }

    fn deliver(
        &self,
        report: &crate::report::Report,
        ctx: &super::Context<'_>,
    ) -> super::Summaries {
        let s = super::deliver_asset(report, ctx, "SSM Inventory", |a, aws| {
            submit(a, aws.identity, aws.session, &report.finished_at)
        });
        vec![(self.name(), s)]
    }
}

fn row(asset: &Asset, m: Option<&crate::classify::Match>, agent: &str) -> Value {
    let mut r = Map::new();
    let mut put = |k: &str, v: &str| {
        let v: String = v.chars().take(VALUE_MAX).collect();
        r.insert(k.to_string(), Value::String(v));
    };
    let tag = |k: &str| asset.tags.get(k).cloned().unwrap_or_default();
    let mt = |k: &str| m.and_then(|m| m.tags.get(k).cloned()).unwrap_or_default();
    put("AssetType", &mt(crate::classify::ASSET_TYPE));
    put("Product", &mt(crate::classify::PRODUCT));
    put("Rule", m.map(|m| m.rule.as_str()).unwrap_or(""));
    put(
        "Evidence",
        &m.map(|m| m.evidence.join("; ")).unwrap_or_default(),
    );
    put("Env", &tag(ENV));
    put("Owner", &tag(OWNER));
    put("PersonalData", &tag(PERSONAL_DATA));
    let all: Vec<String> = asset.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    put("Tags", &all.join(";"));
    put("AgentVersion", agent);
    Value::Object(r)
}

/// `CaptureTime` is second precision, `Z` (the model's pattern allows no fraction).
fn capture_time(rfc3339: &str) -> String {
    let base = rfc3339.split('.').next().unwrap_or(rfc3339);
    let base = base.trim_end_matches('Z');
    format!("{base}Z")
}

/// The PutInventory request.
pub fn payload(
    asset: &Asset,
    identity: &Identity,
    at_rfc3339: &str,
) -> Result<Value, super::ssm_compliance::NotAManagedInstance> {
    if identity.kind == ResourceKind::Other {
        return Err(super::ssm_compliance::NotAManagedInstance {
            service: "SSM Inventory",
            resource_id: identity.resource_id.clone(),
        });
    }
    let agent = env!("CARGO_PKG_VERSION");
    let mut content: Vec<Value> = asset
        .matches
        .iter()
        .map(|m| row(asset, Some(m), agent))
        .collect();
    if content.is_empty() {
        content.push(row(asset, None, agent));
    }
    let hash = crate::aws::sigv4::sha256_hex(Value::Array(content.clone()).to_string().as_bytes());
    Ok(json!({
        "InstanceId": identity.resource_id,
        "Items": [{
            "TypeName": TYPE_NAME,
            "SchemaVersion": "1.0",
            "CaptureTime": capture_time(at_rfc3339),
            "ContentHash": hash,
            "Content": content,
        }],
    }))
}

/// Puts the item; one call (retried on throttling and 5xx).
pub fn submit(asset: &Asset, identity: &Identity, session: &Session, at: &str) -> SinkSummary {
    let mut sum = SinkSummary::default();
    let body = match payload(asset, identity, at) {
        Ok(b) => b.to_string(),
        Err(e) => {
            sum.error(e.to_string());
            sum.pending = 1;
            return sum;
        }
    };
    match session.call(
        SSM,
        &identity.region,
        "/",
        Some("AmazonSSM.PutInventory"),
        body.as_bytes(),
    ) {
        Ok(r) => {
            sum.calls = r.attempts as usize;
            sum.sent = 1;
        }
        Err(e) => {
            sum.calls = e.attempts as usize;
            sum.failed = 1;
            sum.pending = 1;
            sum.error(format!("PutInventory: {e}"));
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::asff::tests::identity_ec2;

    #[test]
    fn rows_and_request() {
        let mut a = Asset::default();
        a.tags.insert("AssetType".into(), "DB".into());
        a.tags.insert("Env".into(), "PROD".into());
        a.matches.push(crate::classify::Match {
            rule: "redis".into(),
            origin: "checks/classify/db.toml:40".into(),
            tags: [("AssetType".to_string(), "DB".to_string())].into(),
            evidence: vec!["tcp port 6379 listening on 0.0.0.0".into()],
        });
        let p = payload(&a, &identity_ec2(), "2026-11-22T16:35:19.140Z").unwrap();
        let item = &p["Items"][0];
        assert_eq!(item["TypeName"], TYPE_NAME);
        assert_eq!(item["CaptureTime"], "2026-11-22T16:35:19Z");
        assert_eq!(item["Content"][0]["Rule"], "redis");
        assert_eq!(item["Content"][0]["Env"], "PROD");
        assert_eq!(item["Content"][0]["Tags"], "AssetType=DB;Env=PROD");
        a.matches.clear();
        let p = payload(&a, &identity_ec2(), "2026-11-22T16:35:19Z").unwrap();
        assert_eq!(p["Items"][0]["Content"][0]["AssetType"], "");
        assert_eq!(p["Items"][0]["CaptureTime"], "2026-11-22T16:35:19Z");
    }
}

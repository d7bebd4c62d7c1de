//! Asset classification: host facts → asset tags (`AssetType = "DB"`, `Product =
//! "postgresql"`, `Env = "PROD"`...), each with the reason it was set.
//!
//! Rules are declarative TOML (`checks/classify/*.toml`, embedded at build time, plus the
//! user's `/etc/jikimi/classify.d/*.toml`). A rule sets its tags when any entry of its `when`
//! list matches; the fields of one entry must all hold:
//!
//! | field | matches |
//! |---|---|
//! | `process = [names]` | a process whose comm, executable base name or argv[0] base name is one of them |
//! | `cmdline = 'regex'` | a process whose arguments, joined by spaces, match (never printed: they may hold secrets) |
//! | `listening = true` | the matching process owns a listening TCP socket |
//! | `port = [ports]` | a listening TCP socket on one of the ports (with `process`/`cmdline`: owned by such a process) |
//! | `package = [globs]` | an installed package (dpkg) |
//! | `path = [globs]` | a file or directory that exists under the scan root |
//!
//! Tags of all matching rules are merged per key (distinct values, sorted, joined by `,`):
//! a host with nginx and PostgreSQL is `AssetType = "DB,Web"`. Environment, owner and
//! personal-data tags come from the `[asset]` configuration, else from the instance's own
//! tags (IMDS), never from rules' guesses.

use crate::facts::{procs::Process, FactError, Facts};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Default directory of the user's extra rules.
pub const DEFAULT_RULES_DIR: &str = "/etc/jikimi/classify.d";
/// Separator of merged tag values.
pub const VALUE_SEP: char = ',';
/// Longest tag value (EC2 allows 256 characters).
pub const VALUE_MAX: usize = 256;
/// Evidence lines kept per rule.
const EVIDENCE_MAX: usize = 5;

/// Tag keys set from the configuration or the instance tags.
pub const ENV: &str = "Env";
pub const OWNER: &str = "Owner";
pub const PERSONAL_DATA: &str = "PersonalData";
pub const ASSET_TYPE: &str = "AssetType";
pub const PRODUCT: &str = "Product";

/// The `[asset]` section of the agent configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetConfig {
    /// Environment, e.g. `PROD` or `DEV` (tag `Env`).
    #[serde(default, deserialize_with = "tag_value_opt")]
    pub env: Option<String>,
    /// Owning team, e.g. `DevOps` (tag `Owner`).
    #[serde(default, deserialize_with = "tag_value_opt")]
    pub owner: Option<String>,
    /// Whether the host handles personal data (tag `PersonalData` = `Y` / `N`).
    pub personal_data: Option<bool>,
    /// More static tags (`{ Service = "lms" }`).
    #[serde(default, deserialize_with = "tag_map")]
    pub tags: BTreeMap<String, String>,
    /// Directory of extra rules (default `/etc/jikimi/classify.d`).
    pub rules_dir: Option<PathBuf>,
    /// Read `Env`/`Environment`, `Owner` and `PersonalData` from the instance's tags when the
    /// configuration does not set them (default true; needs instance metadata tags).
    pub instance_tags: Option<bool>,
}

impl AssetConfig {
    pub fn rules_dir(&self) -> PathBuf {
        self.rules_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_RULES_DIR))
    }
}

/// A tag key: a letter, then letters, digits, `_ . : -`; at most 64 characters.
pub fn valid_key(k: &str) -> bool {
    (1..=64).contains(&k.len())
        && k.as_bytes()[0].is_ascii_alphabetic()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
        && !k.to_ascii_lowercase().starts_with("aws:")
}

/// A single tag value: 1..=128 printable characters, no `,` (the merge separator).
pub fn valid_value(v: &str) -> bool {
    !v.trim().is_empty()
        && v.chars().count() <= 128
        && !v.contains(VALUE_SEP)
        && !v.chars().any(char::is_control)
}

fn tag_value_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    if valid_value(&s) {
        Ok(Some(s.trim().to_string()))
    } else {
        Err(serde::de::Error::custom(format!(
            "tag value `{s}` must be 1 to 128 printable characters without `,`"
        )))
    }
}

fn tag_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let m = BTreeMap::<String, String>::deserialize(d)?;
    for (k, v) in &m {
        if !valid_key(k) {
            return Err(serde::de::Error::custom(format!(
                "tag key `{k}` must start with a letter and hold letters, digits, `_ . : -` (at most 64, not aws:)"
            )));
        }
        if !valid_value(v) {
            return Err(serde::de::Error::custom(format!(
                "tag `{k}`: value `{v}` must be 1 to 128 printable characters without `,`"
            )));
        }
    }
    Ok(m)
}

/// One rule file.
/// A rules file (name shown in errors and origins, e.g. `checks/classify/db.toml`): the same
/// type as the check catalog's sources.
pub use crate::catalog::SourceFile;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_classify.rs"));
}

/// The built-in rules (`checks/classify/*.toml`).
pub fn embedded_sources() -> Vec<SourceFile> {
    embedded::FILES
        .iter()
        .map(|(name, text)| SourceFile {
            name: format!("checks/classify/{name}"),
            text: text.to_string(),
            pre: None,
        })
        .collect()
}

/// `*.toml` of a directory, sorted (bounded in size); a missing directory is empty when
/// `optional`. The same reader as the check catalog's.
pub fn dir_sources(dir: &Path, optional: bool) -> Result<Vec<SourceFile>, ClassifyError> {
    crate::catalog::dir_sources(dir, optional).map_err(ClassifyError::Dir)
}

/// A classification rule that does not parse or validate, located (`file:line`).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct RuleError {
    pub at: String,
    pub message: String,
}
crate::error_text::debug_as_display!(RuleError);

/// Why the classification rules could not be loaded.
#[derive(Clone, thiserror::Error)]
pub enum ClassifyError {
    /// The rules directory could not be listed, or a file in it read.
    #[error("{0}")]
    Dir(crate::catalog::CatalogError),
    /// Rules that do not parse or validate: every one of them.
    #[error(
        "the classification rules have {} error(s):\n  {}",
        .0.len(),
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
    )]
    Rules(Vec<RuleError>),
}
crate::error_text::debug_as_display!(ClassifyError);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default)]
    description: String,
    tags: BTreeMap<String, String>,
    when: Vec<RawWhen>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    #[serde(default)]
    process: Vec<String>,
    cmdline: Option<String>,
    #[serde(default)]
    listening: bool,
    #[serde(default)]
    port: Vec<u16>,
    #[serde(default)]
    package: Vec<String>,
    #[serde(default)]
    path: Vec<String>,
}

/// One entry of a rule's `when`: every field that is set must hold.
#[derive(Debug, Clone)]
pub struct When {
    pub process: Vec<String>,
    pub cmdline: Option<regex::Regex>,
    pub listening: bool,
    pub port: Vec<u16>,
    pub package: Vec<String>,
    pub path: Vec<String>,
}

impl When {
    fn needs_process(&self) -> bool {
        !self.process.is_empty() || self.cmdline.is_some() || self.listening
    }
}

/// A validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub when: Vec<When>,
    /// `file:line` of its `[[rule]]`.
    pub origin: String,
}

/// Loaded rules, in order (built-in first; a user rule with a built-in id replaces it).
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn rule_id_ok(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.as_bytes()[0].is_ascii_lowercase()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Parses one file; every problem is `file:line: message`.
fn parse_file(src: &SourceFile, errors: &mut Vec<RuleError>) -> Vec<Rule> {
    let raw: RawFile = match toml::from_str(&src.text) {
        Ok(r) => r,
        Err(e) => {
            let at = e
                .span()
                .map(|s| format!(":{}", line_of(&src.text, s.start)))
                .unwrap_or_default();
            errors.push(RuleError {
                at: format!("{}{at}", src.name),
                message: e.message().trim().to_string(),
            });
            return vec![];
        }
    };
    let mut out = Vec::new();
    for spanned in raw.rule {
        let line = line_of(&src.text, spanned.span().start);
        let r = spanned.into_inner();
        let origin = format!("{}:{line}", src.name);
        let mut errs = Vec::new();
        if !rule_id_ok(&r.id) {
            errs.push(format!(
                "id `{}` must be lower-case letters, digits and dashes (e.g. postgresql)",
                r.id
            ));
        }
        if r.tags.is_empty() {
            errs.push("tags must set at least one tag".into());
        }
        for (k, v) in &r.tags {
            if !valid_key(k) {
                errs.push(format!(
                    "tag key `{k}` must start with a letter and hold letters, digits, `_ . : -` (at most 64, not aws:)"
                ));
            }
            if !valid_value(v) {
                errs.push(format!(
                    "tag `{k}`: value `{v}` must be 1 to 128 printable characters without `,`"
                ));
            }
            if [ENV, OWNER, PERSONAL_DATA].contains(&k.as_str()) {
                errs.push(format!(
                    "tag `{k}` comes from the [asset] configuration or instance tags, not from rules"
                ));
            }
        }
        if r.when.is_empty() {
            errs.push("when must list at least one condition".into());
        }
        let mut when = Vec::new();
        for (i, w) in r.when.into_iter().enumerate() {
            let at = format!("when[{i}]");
            let cmdline = match w.cmdline.as_deref().map(regex::Regex::new).transpose() {
                Ok(c) => c,
                Err(e) => {
                    errs.push(format!("{at}.cmdline: bad regular expression: {e}"));
                    None
                }
            };
            let empty = w.process.is_empty()
                && w.cmdline.is_none()
                && !w.listening
                && w.port.is_empty()
                && w.package.is_empty()
                && w.path.is_empty();
            if empty {
                errs.push(format!(
                    "{at}: set at least one of process, cmdline, listening, port, package, path"
                ));
            }
            if w.listening && w.process.is_empty() && w.cmdline.is_none() {
                errs.push(format!("{at}: listening needs process or cmdline"));
            }
            if w.port.contains(&0) {
                errs.push(format!("{at}.port: 0 is not a port"));
            }
            for p in &w.path {
                if !p.starts_with('/') {
                    errs.push(format!("{at}.path: `{p}` is not absolute"));
                }
            }
            for (what, list) in [("process", &w.process), ("package", &w.package)] {
                if list.iter().any(|s| s.trim().is_empty() || s.contains('/')) {
                    errs.push(format!("{at}.{what}: names must be non-empty, without `/`"));
                }
            }
            when.push(When {
                process: w.process,
                cmdline,
                listening: w.listening,
                port: w.port,
                package: w.package,
                path: w.path,
            });
        }
        if errs.is_empty() {
            out.push(Rule {
                id: r.id,
                description: r.description,
                tags: r.tags,
                when,
                origin,
            });
        } else {
            for e in errs {
                errors.push(RuleError {
                    at: origin.clone(),
                    message: format!("rule {}: {e}", r.id),
                });
            }
        }
    }
    out
}

/// Loads the built-in sources, then the user's: a user rule with a built-in id replaces it;
/// duplicate ids within either set are errors. Every error is reported at once.
pub fn load(builtin: &[SourceFile], user: &[SourceFile]) -> Result<Rules, ClassifyError> {
    let mut errors = Vec::new();
    let mut rules: Vec<Rule> = Vec::new();
    for (set, is_user) in [(builtin, false), (user, true)] {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for src in set {
            for r in parse_file(src, &mut errors) {
                if let Some(prev) = seen.insert(r.id.clone(), r.origin.clone()) {
                    errors.push(RuleError {
                        at: r.origin.clone(),
                        message: format!("rule {}: duplicate id (also defined at {prev})", r.id),
                    });
                    continue;
                }
                match rules.iter_mut().find(|x| x.id == r.id) {
                    Some(existing) if is_user => *existing = r,
                    _ => rules.push(r),
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(Rules { rules })
    } else {
        Err(ClassifyError::Rules(errors))
    }
}

/// The built-in rules plus the user's directory (`explicit`: a missing directory is an error).
pub fn load_with_dir(dir: &Path, explicit: bool) -> Result<Rules, ClassifyError> {
    let user = dir_sources(dir, !explicit)?;
    load(&embedded_sources(), &user)
}

/// Loads the rules for a run: built-in plus `dir` (default: the configuration's
/// `asset.rules_dir`, whose absence is fine unless it was set explicitly).
pub fn rules_for(cfg: &AssetConfig, dir: Option<&Path>) -> Result<Rules, ClassifyError> {
    match dir {
        Some(d) => load_with_dir(d, true),
        None => load_with_dir(&cfg.rules_dir(), cfg.rules_dir.is_some()),
    }
}

/// A rule that matched, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    pub rule: String,
    /// `file:line` of the rule.
    pub origin: String,
    pub tags: BTreeMap<String, String>,
    /// The facts that matched (at most five).
    pub evidence: Vec<String>,
}

/// Where a configuration-level tag came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagSource {
    pub tag: String,
    pub value: String,
    /// `configuration (asset.env)` or `instance tag Environment`.
    pub source: String,
}

/// The classification of one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Asset {
    /// The merged tags (key → value).
    pub tags: BTreeMap<String, String>,
    /// Prefix of these tags' keys outside the agent (EC2 and Security Hub resource tags):
    /// `jikimi:` unless `ec2_tags.prefix` says otherwise.
    pub key_prefix: String,
    /// Rules that matched, in rule order.
    pub matches: Vec<Match>,
    /// Tags from the configuration or the instance tags.
    pub assigned: Vec<TagSource>,
    /// Facts that could not be read (so rules needing them could not match).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Read-once views of the facts the rules use.
struct View<'a> {
    procs: Option<std::sync::Arc<Vec<Process>>>,
    sockets: Option<std::sync::Arc<Vec<crate::facts::sockets::Socket>>>,
    packages: Option<std::sync::Arc<crate::facts::packages::Packages>>,
    facts: &'a Facts<'a>,
}

fn note<T>(r: Result<T, FactError>, what: &str, notes: &mut Vec<String>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            notes.push(format!("{what}: {e}"));
            None
        }
    }
}

fn describe(p: &Process) -> String {
    let mut s = format!("{} (pid {}", p.name, p.pid);
    if !p.user.is_empty() {
        let _ = write!(s, ", user {}", p.user);
    }
    if !p.exe.is_empty() {
        let _ = write!(s, ", {}", p.exe);
    }
    s.push(')');
    s
}

fn listens<'v>(view: &'v View, pid: u32) -> Option<&'v crate::facts::sockets::Socket> {
    view.sockets
        .as_ref()?
        .iter()
        .find(|s| s.protocol == "tcp" && s.pid == Some(pid) && (s.family == 4 || s.family == 6))
}

/// Does a process satisfy the process-side fields of `w`?
fn process_ok(w: &When, p: &Process) -> bool {
    if p.is_kernel_thread() {
        return false;
    }
    if !w.process.is_empty() && !w.process.iter().any(|n| p.is_named(n)) {
        return false;
    }
    if let Some(re) = &w.cmdline {
        if !re.is_match(&p.cmdline.join(" ")) {
            return false;
        }
    }
    true
}

/// The evidence lines of one entry when it matches.
fn eval_when(w: &When, view: &View) -> Option<Vec<String>> {
    let mut parts: Vec<String> = Vec::new();
    let what = |p: &Process| {
        let mut d = format!("process {}", describe(p));
        if let Some(re) = &w.cmdline {
            let _ = write!(d, " with a command line matching `{}`", re.as_str());
        }
        d
    };
    if !w.port.is_empty() {
        let socks = view.sockets.as_ref()?;
        let mut found = None;
        for s in socks.iter().filter(|s| s.protocol == "tcp") {
            if !w.port.contains(&s.port) {
                continue;
            }
            if w.needs_process() {
                let procs = view.procs.as_ref()?;
                let Some(p) = s.pid.and_then(|pid| procs.iter().find(|p| p.pid == pid)) else {
                    continue;
                };
                if !process_ok(w, p) {
                    continue;
                }
                found = Some(format!(
                    "tcp port {} listening on {} by {}",
                    s.port,
                    s.address,
                    what(p)
                ));
            } else {
                let owner = match (&s.process, s.pid) {
                    (Some(n), Some(pid)) => format!(" by {n} (pid {pid})"),
                    _ => String::new(),
                };
                found = Some(format!(
                    "tcp port {} listening on {}{owner}",
                    s.port, s.address
                ));
            }
            break;
        }
        parts.push(found?);
    } else if w.needs_process() {
        let procs = view.procs.as_ref()?;
        let mut hits = procs
            .iter()
            .filter(|p| process_ok(w, p))
            .filter(|p| !w.listening || listens(view, p.pid).is_some());
        let first = hits.next()?;
        let more = hits.count();
        let mut d = what(first);
        if w.listening {
            if let Some(s) = listens(view, first.pid) {
                let _ = write!(d, " listening on tcp {}:{}", s.address, s.port);
            }
        }
        if more > 0 {
            let _ = write!(d, " and {more} more");
        }
        parts.push(d);
    }
    if !w.package.is_empty() {
        let pk = view.packages.as_ref()?;
        let (name, version) = pk
            .installed
            .iter()
            .find(|(n, _)| w.package.iter().any(|g| crate::fs::fnmatch(g, n)))?;
        parts.push(format!(
            "package {name} {version} installed ({})",
            pk.manager
        ));
    }
    if !w.path.is_empty() {
        let found = w.path.iter().find_map(|p| {
            if p.split('/').any(crate::fs::has_wildcard) {
                view.facts.root.glob(p).ok()?.into_iter().next()
            } else {
                view.facts.root.exists(p).then(|| p.clone())
            }
        })?;
        parts.push(format!("{found} exists"));
    }
    Some(vec![parts.join(" and ")])
}

/// Merges values per key: distinct, sorted, joined by `,`, cut to [`VALUE_MAX`].
fn merge(values: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(k, vs)| {
            let mut out = String::new();
            for v in vs {
                let extra = if out.is_empty() { 0 } else { 1 };
                if out.chars().count() + extra + v.chars().count() > VALUE_MAX {
                    break;
                }
                if !out.is_empty() {
                    out.push(VALUE_SEP);
                }
                out.push_str(v);
            }
            (k.clone(), out)
        })
        .collect()
}

/// Default [`Asset::key_prefix`].
pub const DEFAULT_PREFIX: &str = "jikimi:";

/// Evaluates the rules against the facts and adds the configured tags. `key_prefix` is
/// recorded for [`Asset::resource_tags`].
pub fn classify(rules: &Rules, facts: &Facts, cfg: &AssetConfig, key_prefix: &str) -> Asset {
    let mut notes = Vec::new();
    let uses = |f: &dyn Fn(&When) -> bool| rules.rules.iter().flat_map(|r| &r.when).any(f);
    let procs = if uses(&|w| w.needs_process()) {
        note(facts.processes(), "processes", &mut notes)
    } else {
        None
    };
    let sockets = if uses(&|w| !w.port.is_empty() || w.listening) {
        note(facts.sockets(), "listening sockets", &mut notes)
    } else {
        None
    };
    let packages = if uses(&|w| !w.package.is_empty()) {
        note(facts.packages(), "packages", &mut notes)
    } else {
        None
    };
    let view = View {
        procs,
        sockets,
        packages,
        facts,
    };
    let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut matches = Vec::new();
    for r in &rules.rules {
        let mut evidence: Vec<String> = Vec::new();
        for w in &r.when {
            if let Some(ev) = eval_when(w, &view) {
                for e in ev {
                    if evidence.len() < EVIDENCE_MAX && !evidence.contains(&e) {
                        evidence.push(e);
                    }
                }
            }
        }
        if evidence.is_empty() {
            continue;
        }
        for (k, v) in &r.tags {
            values.entry(k.clone()).or_default().insert(v.clone());
        }
        matches.push(Match {
            rule: r.id.clone(),
            origin: r.origin.clone(),
            tags: r.tags.clone(),
            evidence,
        });
    }
    let mut asset = Asset {
        tags: merge(&values),
        key_prefix: key_prefix.to_string(),
        matches,
        assigned: Vec::new(),
        notes,
    };
    let mut assign = |tag: &str, value: String, source: String| {
        asset.tags.insert(tag.to_string(), value.clone());
        asset.assigned.push(TagSource {
            tag: tag.to_string(),
            value,
            source,
        });
    };
    for (k, v) in &cfg.tags {
        assign(k, v.clone(), format!("configuration (asset.tags.{k})"));
    }
    if let Some(v) = &cfg.env {
        assign(ENV, v.clone(), "configuration (asset.env)".into());
    }
    if let Some(v) = &cfg.owner {
        assign(OWNER, v.clone(), "configuration (asset.owner)".into());
    }
    if let Some(v) = cfg.personal_data {
        let yn = if v { "Y" } else { "N" };
        assign(
            PERSONAL_DATA,
            yn.into(),
            "configuration (asset.personal_data)".into(),
        );
    }
    asset
}

/// Instance tag names read for each configuration-level tag (case-insensitive).
const INSTANCE_KEYS: &[(&str, &[&str])] = &[
    (ENV, &["Env", "Environment"]),
    (OWNER, &["Owner"]),
    (PERSONAL_DATA, &["PersonalData", "Personal-Data", "PII"]),
];

fn yes_no(v: &str) -> Option<&'static str> {
    match v.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "1" => Some("Y"),
        "n" | "no" | "false" | "0" => Some("N"),
        _ => None,
    }
}

impl Asset {
    /// Fills `Env`, `Owner` and `PersonalData` from the instance's tags where the
    /// configuration left them unset. Tags under `own_prefix` (what Jikimi itself wrote to
    /// the instance) are never read back.
    pub fn apply_instance_tags(&mut self, tags: &BTreeMap<String, String>, own_prefix: &str) {
        for (tag, names) in INSTANCE_KEYS {
            if self.tags.contains_key(*tag) {
                continue;
            }
            let found = tags.iter().find(|(k, v)| {
                (own_prefix.is_empty() || !k.starts_with(own_prefix))
                    && names.iter().any(|n| n.eq_ignore_ascii_case(k))
                    && !v.trim().is_empty()
            });
            let Some((k, v)) = found else { continue };
            let value = if *tag == PERSONAL_DATA {
                match yes_no(v) {
                    Some(x) => x.to_string(),
                    None => {
                        self.notes.push(format!(
                            "instance tag {k} = `{v}` is not yes/no: {PERSONAL_DATA} not set"
                        ));
                        continue;
                    }
                }
            } else {
                let v: String = v.trim().replace(VALUE_SEP, " ");
                if !valid_value(&v) {
                    self.notes
                        .push(format!("instance tag {k}: value not usable as a tag"));
                    continue;
                }
                v
            };
            self.tags.insert(tag.to_string(), value.clone());
            self.assigned.push(TagSource {
                tag: tag.to_string(),
                value,
                source: format!("instance tag {k}"),
            });
        }
    }

    /// The tags as they appear on the resource (EC2 instance tags, Security Hub
    /// `Resources[0].Tags`): keys with [`Asset::key_prefix`]; tags read from the instance's own
    /// tags are left out (the resource already carries them under their own names).
    pub fn resource_tags(&self) -> BTreeMap<String, String> {
        self.tags
            .iter()
            .filter(|(k, _)| {
                !self
                    .assigned
                    .iter()
                    .any(|a| &a.tag == *k && a.source.starts_with("instance tag"))
            })
            .map(|(k, v)| (format!("{}{k}", self.key_prefix), v.clone()))
            .collect()
    }

    /// Human-readable: the tags, then why.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if self.tags.is_empty() {
            s.push_str("no asset tags: no rule matched and none configured\n");
        } else {
            s.push_str("asset tags:\n");
            let w = self.tags.keys().map(|k| k.len()).max().unwrap_or(0);
            for (k, v) in &self.tags {
                let _ = writeln!(s, "  {k:<w$}  {v}");
            }
        }
        if !self.matches.is_empty() {
            s.push_str("\nwhy:\n");
            for m in &self.matches {
                let tags: Vec<String> = m.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = writeln!(s, "  rule {} ({}) → {}", m.rule, m.origin, tags.join(" "));
                for e in &m.evidence {
                    let _ = writeln!(s, "    - {e}");
                }
            }
        }
        if !self.assigned.is_empty() {
            if self.matches.is_empty() {
                s.push_str("\nwhy:\n");
            }
            for a in &self.assigned {
                let _ = writeln!(s, "  {}={} from {}", a.tag, a.value, a.source);
            }
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(name: &str, text: &str) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
            pre: None,
        }
    }

    #[test]
    fn embedded_rules_load() {
        let r = load(&embedded_sources(), &[]).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = r.rules.iter().map(|r| r.id.as_str()).collect();
        for want in [
            "nginx",
            "httpd",
            "tomcat",
            "jboss",
            "nodejs",
            "gunicorn",
            "uwsgi",
            "php-fpm",
            "mysql",
            "mariadb",
            "postgresql",
            "mongodb",
            "redis",
            "oracle",
        ] {
            assert!(ids.contains(&want), "{want} in {ids:?}");
        }
        assert!(r.rules[0].origin.starts_with("checks/classify/"));
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = load(
            &[src(
                "u.toml",
                "[[rule]]\nid = \"x\"\ntags = { AssetType = \"DB\" }\nwhen = [ { proces = [\"x\"] } ]\n",
            )],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("u.toml:4:"), "{e}");
        assert!(e.contains("unknown field `proces`"), "{e}");
        let e = load(
            &[src(
                "u.toml",
                "\n[[rule]]\nid = \"Bad\"\ntags = { Env = \"PROD\" }\nwhen = [ { cmdline = \"(\" }, {} ]\n",
            )],
            &[],
        )
        .unwrap_err()
        .to_string();
        for want in [
            "u.toml:2: rule Bad: id",
            "comes from the [asset]",
            "bad regular expression",
            "when[1]: set at least one",
        ] {
            assert!(e.contains(want), "{want}: {e}");
        }
        let dup = "[[rule]]\nid = \"a\"\ntags = { T = \"v\" }\nwhen = [ { port = [1] } ]\n";
        let e = load(&[src("a.toml", dup), src("b.toml", dup)], &[]).unwrap_err();
        let ClassifyError::Rules(list) = &e else {
            panic!("not a rules error: {e}")
        };
        assert_eq!(list[0].at, "b.toml:1", "{e}");
        let e = e.to_string();
        assert!(
            e.contains("b.toml:1: rule a: duplicate id (also defined at a.toml:1)"),
            "{e}"
        );
        // a user rule replaces a built-in one of the same id
        let user = "[[rule]]\nid = \"a\"\ntags = { T = \"w\" }\nwhen = [ { port = [2] } ]\n";
        let r = load(&[src("a.toml", dup)], &[src("/etc/u.toml", user)]).unwrap();
        assert_eq!(r.rules.len(), 1);
        assert_eq!(r.rules[0].tags["T"], "w");
        assert_eq!(r.rules[0].origin, "/etc/u.toml:1");
    }

    #[test]
    fn merge_and_instance_tags() {
        let mut v: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        v.entry("AssetType".into())
            .or_default()
            .insert("Web".into());
        v.entry("AssetType".into()).or_default().insert("DB".into());
        assert_eq!(merge(&v)["AssetType"], "DB,Web");
        let mut a = Asset::default();
        a.tags.insert(OWNER.into(), "DevOps".into());
        let inst = BTreeMap::from([
            ("environment".to_string(), "PROD".to_string()),
            ("Owner".to_string(), "Other".to_string()),
            ("PII".to_string(), "yes".to_string()),
            ("jikimi:Env".to_string(), "DEV".to_string()),
        ]);
        a.apply_instance_tags(&inst, "jikimi:");
        assert_eq!(a.tags[ENV], "PROD");
        assert_eq!(a.tags[OWNER], "DevOps", "configuration wins");
        assert_eq!(a.tags[PERSONAL_DATA], "Y");
        assert_eq!(a.assigned[0].source, "instance tag environment");
    }
}

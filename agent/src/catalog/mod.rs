//! The check catalog: TOML files → raw values → validated [`Check`]s.
//!
//! Loading never stops at the first problem: every error of every file is collected with the
//! file, the line and the check id, so a user fixing a catalog sees everything at once.
//! Unknown fields, unknown probe kinds, unknown operators, bad regexes and duplicate ids are
//! all load errors, never a check that silently fails at run time.

pub mod cis;
pub mod firewall;
pub mod fix;
pub mod fixtures;
pub mod pattern;
pub mod probe;
pub mod translations;

pub use translations::missing_translations;

use crate::findings::{References, Severity};
use probe::{Cond, Ctx};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Threshold profiles: the same check can carry different limits per standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// KISA 주요정보통신기반시설 Unix guide thresholds.
    #[default]
    Kisa,
    /// CIS Benchmarks thresholds.
    Cis,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Kisa => "kisa",
            Profile::Cis => "cis",
        }
    }
}

/// A profile name that is neither `kisa` nor `cis`.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile `{given}` (expected kisa or cis)")]
pub struct UnknownProfile {
    /// The text as given.
    pub given: String,
}
crate::error_text::debug_as_display!(UnknownProfile);

impl std::str::FromStr for Profile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, UnknownProfile> {
        match s {
            "kisa" => Ok(Profile::Kisa),
            "cis" => Ok(Profile::Cis),
            _ => Err(UnknownProfile {
                given: s.to_string(),
            }),
        }
    }
}

/// Platforms a check (or one condition) applies to. Matching uses os-release ID and ID_LIKE.
pub const PLATFORMS: &[&str] = &["debian", "ubuntu", "rhel", "amzn", "fedora", "suse"];

/// A validated check.
#[derive(Debug, Clone)]
pub struct Check {
    pub id: String,
    pub title: String,
    pub area: String,
    pub severity: Severity,
    pub description: String,
    pub rationale: String,
    pub remediation: String,
    pub references: References,
    /// Empty: every Linux.
    pub platforms: Vec<String>,
    /// Walks the whole filesystem: skipped by `--no-walks`, excluded from the fast benchmark.
    pub walk: bool,
    pub expect: Cond,
    /// How to fix a failure (`jikimi fix`); empty: no mechanical fix.
    pub fix: Vec<fix::Step>,
    /// Why the check deliberately has no automatic fix (partitioning, a human choice...).
    pub no_fix: Option<String>,
    /// `file:line` where the check is defined.
    pub origin: String,
    /// Korean text (`title_ko`, `description_ko`, `rationale_ko`, `remediation_ko`).
    pub ko: Localized,
}

/// A check's human-facing text in one more language; empty fields: not translated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Localized {
    pub title: String,
    pub description: String,
    pub rationale: String,
    pub remediation: String,
}

/// One catalog source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Name shown in errors (`checks/sshd.toml`).
    pub name: String,
    /// The TOML text; empty for an embedded file `build.rs` pre-parsed (`pre`).
    pub text: String,
    pub pre: Option<Embedded>,
}

/// An embedded catalog file as `build.rs` pre-parsed it.
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    /// `{"area":…,"check":[tables…],"lines":[line of each check…]}`.
    pub json: &'static str,
    /// SHA-256 of the TOML text (for the catalog digest).
    pub sha256: [u8; 32],
}

impl SourceFile {
    /// Bytes to parse (to share the work between threads).
    fn size(&self) -> usize {
        self.text.len() + self.pre.map_or(0, |p| p.json.len())
    }

    /// SHA-256 of the TOML text.
    fn sha256(&self) -> [u8; 32] {
        match self.pre {
            Some(p) => p.sha256,
            None => Sha256::digest(self.text.as_bytes()).into(),
        }
    }
}

/// One problem found while loading the catalog: where (file, line, check) and what.
#[derive(Debug, Clone)]
pub struct CatalogError {
    pub file: String,
    pub line: Option<usize>,
    pub check: Option<String>,
    /// Boxed: errors travel in lists and `Result`s, the problem kinds are large.
    pub problem: Box<CatalogProblem>,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(c) = &self.check {
            write!(f, ": check {c}")?;
        }
        write!(f, ": {}", crate::error_text::chain(self.problem.as_ref()))
    }
}

impl std::error::Error for CatalogError {}

/// What is wrong (see [`CatalogError`] for where).
#[derive(Clone, thiserror::Error)]
pub enum CatalogProblem {
    /// The directory or a file of it cannot be read (the file system layer's reason).
    #[error("cannot read directory: {reason}")]
    ReadDir { reason: String },
    #[error("cannot read {reason}")]
    ReadFile { reason: String },
    /// Not TOML, or not the shape of a check file (toml's words: unknown field...).
    #[error("{message}")]
    Toml { message: String },
    #[error("id `{id}` must be upper-case letters, digits and dashes (e.g. SSH-001)")]
    BadId { id: String },
    #[error("duplicate id (also defined at {previous})")]
    DuplicateId { previous: String },
    #[error("title must be 1..200 characters")]
    TitleLength,
    #[error("remediation must not be empty")]
    EmptyRemediation,
    #[error("`{key}` must be Korean text (no Hangul found)")]
    NotKorean { key: &'static str },
    /// English text without its Korean counterpart (`catalog lint`, see
    /// [`missing_translations`]); `keys` names them, e.g. `title_ko, rationale_ko`.
    #[error("no Korean text: {keys} missing")]
    MissingKorean { keys: String },
    /// A reference (`references.kisa`, `references.cis.rhel9`...) that is not a known item.
    #[error("{field}: `{given}` is not {expected}")]
    BadReference {
        field: String,
        given: String,
        expected: &'static str,
    },
    /// A reference to a benchmark or platform the catalog does not know.
    #[error("{field}: unknown {what} `{given}`{}", if expected.is_empty() { String::new() } else { format!(" (expected one of {expected})") })]
    UnknownReference {
        field: &'static str,
        what: &'static str,
        given: String,
        expected: String,
    },
    #[error("unknown platform `{given}` (expected one of {})", PLATFORMS.join(", "))]
    UnknownPlatform { given: String },
    #[error("a check has either `fix` or `no_fix`, not both")]
    FixAndNoFix,
    #[error("`no_fix` must say why")]
    EmptyNoFix,
    /// A mistake in `expect` or `fix`, with its place (`expect.all[1]`, `fix[0]`).
    #[error(transparent)]
    Rule(Box<probe::LocatedError>),
}
crate::error_text::debug_as_display!(CatalogProblem);

/// All problems of a catalog load.
#[derive(Debug, Clone)]
pub struct CatalogErrors(pub Vec<CatalogError>);

impl fmt::Display for CatalogErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the check catalog has {} error(s):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CatalogErrors {}

/// A loaded catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub checks: Vec<Check>,
    /// SHA-256 over the source files in load order: each file's name and the SHA-256 of its
    /// TOML text (so an embedded file, whose text hash `build.rs` computed, hashes the same
    /// as that file read from a directory), hex.
    pub digest: String,
    pub profile: Profile,
    pub sources: Vec<String>,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_catalog.rs"));
}

/// The catalog compiled into the binary (`checks/*.toml`).
pub fn embedded_sources() -> Vec<SourceFile> {
    embedded::FILES
        .iter()
        .map(|(name, text, pre)| SourceFile {
            name: format!("checks/{name}"),
            text: text.to_string(),
            pre: *pre,
        })
        .collect()
}

/// Reads `*.toml` files of a directory (sorted). A missing directory yields nothing when
/// `optional`, an error otherwise.
pub fn dir_sources(dir: &Path, optional: bool) -> Result<Vec<SourceFile>, CatalogError> {
    let err = |problem| CatalogError {
        file: dir.display().to_string(),
        line: None,
        check: None,
        problem: Box::new(problem),
    };
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => {
            return Err(err(CatalogProblem::ReadDir {
                reason: e.to_string(),
            }))
        }
    };
    let mut paths: Vec<_> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        // Regular files only, bounded, never blocking on a FIFO (issue 12, defect 11).
        let text = crate::fs::read_local_text(&p, crate::fs::MAX_READ_BYTES).map_err(|e| {
            err(CatalogProblem::ReadFile {
                reason: e.to_string(),
            })
        })?;
        out.push(SourceFile {
            name: p.display().to_string(),
            text,
            pre: None,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    /// Area shown in the table (e.g. `sshd`).
    area: String,
    #[serde(default)]
    check: Vec<toml::Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    id: String,
    title: String,
    severity: Severity,
    description: String,
    #[serde(default)]
    rationale: String,
    remediation: String,
    title_ko: Option<String>,
    description_ko: Option<String>,
    rationale_ko: Option<String>,
    remediation_ko: Option<String>,
    #[serde(default)]
    references: References,
    #[serde(default)]
    platforms: Vec<String>,
    #[serde(default)]
    walk: bool,
    expect: toml::Table,
    fix: Option<toml::Value>,
    no_fix: Option<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn check_id_ok(id: &str) -> bool {
    // Stable ids: upper-case letters, digits and dashes, e.g. `SSH-001` or `ACCT-012`.
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        && id.as_bytes()[0].is_ascii_uppercase()
}

fn validate_references(r: &References) -> Vec<CatalogProblem> {
    let mut errs = Vec::new();
    let num = |s: &str, max: u32| -> bool {
        s.strip_prefix("U-")
            .filter(|n| n.len() == 2)
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| (1..=max).contains(&n))
    };
    for k in &r.kisa {
        if !num(k, 72) {
            errs.push(CatalogProblem::BadReference {
                field: "references.kisa".into(),
                given: k.clone(),
                expected: "a KISA 2021 item (U-01..U-72)",
            });
        }
    }
    for k in &r.kisa2026 {
        if !num(k, 67) {
            errs.push(CatalogProblem::BadReference {
                field: "references.kisa2026".into(),
                given: k.clone(),
                expected: "a KISA 2026 item (U-01..U-67)",
            });
        }
    }
    const BENCH: &[&str] = &[
        "rhel9",
        "rhel8",
        "al2023",
        "al2",
        "ubuntu2404",
        "ubuntu2204",
        "debian12",
    ];
    for (b, s) in &r.cis {
        if !BENCH.contains(&b.as_str()) {
            errs.push(CatalogProblem::UnknownReference {
                field: "references.cis",
                what: "benchmark",
                given: b.clone(),
                expected: BENCH.join(", "),
            });
        }
        // one section (`5.1.20`), a range of the last level (`1.1.2.5.2-4`), or a comma list
        // of those when one check implements several sections (`4.2.7, 4.3.8`)
        let ok = s.split(',').all(|one| {
            let one = one.trim();
            !one.is_empty()
                && one
                    .split(['.', '-'])
                    .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
        });
        if !ok {
            errs.push(CatalogProblem::BadReference {
                field: format!("references.cis.{b}"),
                given: s.clone(),
                expected: "a section number like 5.1.20 (or a comma list of them)",
            });
        }
    }
    for (p, c) in &r.cce {
        if !BENCH.contains(&p.as_str()) {
            errs.push(CatalogProblem::UnknownReference {
                field: "references.cce",
                what: "platform",
                given: p.clone(),
                expected: String::new(),
            });
        }
        let ok = c
            .strip_prefix("CCE-")
            .and_then(|rest| rest.split_once('-'))
            .is_some_and(|(a, b)| {
                (4..=5).contains(&a.len())
                    && a.bytes().all(|x| x.is_ascii_digit())
                    && b.len() == 1
                    && b.bytes().all(|x| x.is_ascii_digit())
            });
        if !ok {
            errs.push(CatalogProblem::BadReference {
                field: format!("references.cce.{p}"),
                given: c.clone(),
                expected: "a CCE id like CCE-90800-4",
            });
        }
    }
    errs
}

fn parse_file(src: &SourceFile) -> Result<RawFile, toml::de::Error> {
    toml::from_str(&src.text)
}

/// [`Embedded::json`]: the tables of [`RawFile`] and the line of each check.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreParsed {
    area: String,
    check: Vec<toml::Table>,
    lines: Vec<usize>,
}

/// A file's area and each check's table with its line: from the pre-parsed JSON of an
/// embedded file (about a third of the TOML's parse time), else from the TOML.
/// An error comes with its line when known.
type Parsed = (String, Vec<(usize, toml::Table)>);

fn parse_checks(src: &SourceFile) -> Result<Parsed, (Option<usize>, CatalogProblem)> {
    if let Some(e) = src.pre {
        let bad = |message: String| {
            let message =
                format!("embedded pre-parsed form unreadable (a broken build): {message}");
            (None, CatalogProblem::Toml { message })
        };
        let p = serde_json::from_str::<PreParsed>(e.json).map_err(|e| bad(e.to_string()))?;
        if p.lines.len() != p.check.len() {
            return Err(bad("a line for each check expected".into()));
        }
        return Ok((p.area, p.lines.into_iter().zip(p.check).collect()));
    }
    let raw = parse_file(src).map_err(|e| {
        let line = e.span().map(|s| line_of(&src.text, s.start));
        let message = e.message().trim().to_string();
        (line, CatalogProblem::Toml { message })
    })?;
    // checks come in file order: count newlines from the previous check on, not from
    // the start of the file for each (quadratic in the file size)
    let (mut at, mut at_line) = (0usize, 1usize);
    let tables = raw
        .check
        .into_iter()
        .map(|spanned| {
            let start = spanned.span().start.min(src.text.len());
            let line = if start >= at {
                at_line += src.text.as_bytes()[at..start]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                at = start;
                at_line
            } else {
                line_of(&src.text, start)
            };
            (line, spanned.into_inner())
        })
        .collect();
    Ok((raw.area, tables))
}

/// `f` of every source, in order. Parsing and validating is most of a catalog load (351
/// checks: about 8 ms of CPU for the TOML structure, the conditions and the pattern syntax),
/// and files are independent: with two CPUs or more the second half of the files (by size)
/// is handled on a scoped thread meanwhile.
fn per_source<T: Send>(sources: &[SourceFile], f: impl Fn(&SourceFile) -> T + Sync) -> Vec<T> {
    let total: usize = sources.iter().map(SourceFile::size).sum();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 || sources.len() < 2 || total < 64 * 1024 {
        return sources.iter().map(&f).collect();
    }
    // the split point: the first half of the bytes stays on this thread
    let mut acc = 0;
    let split = sources
        .iter()
        .position(|s| {
            acc += s.size();
            acc * 2 >= total
        })
        .map_or(sources.len(), |i| i + 1)
        .clamp(1, sources.len() - 1);
    let (first, second) = sources.split_at(split);
    let f = &f;
    std::thread::scope(|scope| {
        let other = std::thread::Builder::new()
            .name("catalog-load".into())
            .spawn_scoped(scope, move || second.iter().map(f).collect::<Vec<_>>());
        let mut out: Vec<_> = first.iter().map(f).collect();
        match other.map(|h| h.join()) {
            Ok(Ok(rest)) => out.extend(rest),
            // no thread (resources) or a panic in it: do that half here
            _ => out.extend(second.iter().map(f)),
        }
        out
    })
}

#[cfg(test)]
fn parse_files(sources: &[SourceFile]) -> Vec<Result<RawFile, toml::de::Error>> {
    per_source(sources, parse_file)
}

/// What one source file yields, in file order: its valid checks, its errors, and the id and
/// line of every check that has an id (duplicates across files are found afterwards).
struct FileLoad {
    checks: Vec<Check>,
    errors: Vec<CatalogError>,
    ids: Vec<(String, usize)>,
}

/// Loads and validates catalog sources for a profile. Returns every error at once.
pub fn load(sources: &[SourceFile], profile: Profile) -> Result<Catalog, CatalogErrors> {
    let mut errors = Vec::new();
    let mut checks: Vec<Check> = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut hasher = Sha256::new();
    let loads = per_source(sources, |src| load_file(src, profile));
    for (src, fl) in sources.iter().zip(loads) {
        hasher.update(src.name.rsplit('/').next().unwrap_or(&src.name).as_bytes());
        hasher.update([0]);
        hasher.update(src.sha256());
        hasher.update([0]);
        errors.extend(fl.errors);
        for (id, line) in fl.ids {
            let origin = format!("{}:{line}", src.name);
            if let Some(previous) = seen.insert(id.clone(), origin) {
                errors.push(CatalogError {
                    file: src.name.clone(),
                    line: Some(line),
                    check: Some(id),
                    problem: Box::new(CatalogProblem::DuplicateId { previous }),
                });
            }
        }
        checks.extend(fl.checks);
    }
    finish_load(sources, profile, checks, errors, hasher)
}

/// Parses and validates one source file (everything but duplicate ids across files).
fn load_file(src: &SourceFile, profile: Profile) -> FileLoad {
    let mut errors = Vec::new();
    let mut checks: Vec<Check> = Vec::new();
    let mut ids = Vec::new();
    let file_err = |line: Option<usize>, check: Option<&str>, problem| CatalogError {
        file: src.name.clone(),
        line,
        check: check.map(str::to_string),
        problem: Box::new(problem),
    };
    let (area, tables) = match parse_checks(src) {
        Ok(r) => r,
        Err((line, problem)) => {
            errors.push(file_err(line, None, problem));
            return FileLoad {
                checks,
                errors,
                ids,
            };
        }
    };
    for (line, table) in tables {
        let id_hint = table.get("id").and_then(|v| v.as_str()).map(str::to_string);
        let rc: RawCheck = match toml::Value::Table(table).try_into() {
            Ok(rc) => rc,
            Err(e) => {
                errors.push(file_err(
                    Some(line),
                    id_hint.as_deref(),
                    CatalogProblem::Toml {
                        message: e.message().trim().to_string(),
                    },
                ));
                continue;
            }
        };
        let id = rc.id.clone();
        let mut push = |p: CatalogProblem| errors.push(file_err(Some(line), Some(&id), p));
        if !check_id_ok(&rc.id) {
            push(CatalogProblem::BadId { id: rc.id.clone() });
        }
        let origin = format!("{}:{line}", src.name);
        ids.push((rc.id.clone(), line));
        if rc.title.trim().is_empty() || rc.title.chars().count() > 200 {
            push(CatalogProblem::TitleLength);
        }
        if rc.remediation.trim().is_empty() {
            push(CatalogProblem::EmptyRemediation);
        }
        for (key, v) in [
            ("title_ko", &rc.title_ko),
            ("description_ko", &rc.description_ko),
            ("rationale_ko", &rc.rationale_ko),
            ("remediation_ko", &rc.remediation_ko),
        ] {
            if let Some(v) = v {
                if !v.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c)) {
                    push(CatalogProblem::NotKorean { key });
                }
            }
        }
        for m in validate_references(&rc.references) {
            push(m);
        }
        for p in &rc.platforms {
            if !PLATFORMS.contains(&p.as_str()) {
                push(CatalogProblem::UnknownPlatform { given: p.clone() });
            }
        }
        let ctx = Ctx { profile };
        if rc.fix.is_some() && rc.no_fix.is_some() {
            push(CatalogProblem::FixAndNoFix);
        }
        if rc.no_fix.as_ref().is_some_and(|r| r.trim().is_empty()) {
            push(CatalogProblem::EmptyNoFix);
        }
        let fix = match rc.fix.as_ref().map(|v| fix::parse_fix(v, &ctx)) {
            None => Vec::new(),
            Some(Ok(f)) => f,
            Some(Err(es)) => {
                for e in es {
                    push(CatalogProblem::Rule(Box::new(e)));
                }
                Vec::new()
            }
        };
        match probe::parse_cond(&toml::Value::Table(rc.expect), &ctx, "expect") {
            Ok(expect) => {
                let walk = rc.walk || expect.uses_walk();
                checks.push(Check {
                    id: rc.id,
                    title: rc.title,
                    area: area.clone(),
                    severity: rc.severity,
                    description: rc.description,
                    rationale: rc.rationale,
                    remediation: rc.remediation,
                    references: rc.references,
                    platforms: rc.platforms,
                    walk,
                    expect,
                    fix,
                    no_fix: rc.no_fix,
                    origin,
                    ko: Localized {
                        title: rc.title_ko.unwrap_or_default(),
                        description: rc.description_ko.unwrap_or_default(),
                        rationale: rc.rationale_ko.unwrap_or_default(),
                        remediation: rc.remediation_ko.unwrap_or_default(),
                    },
                })
            }
            Err(es) => {
                for e in es {
                    push(CatalogProblem::Rule(Box::new(e)));
                }
            }
        }
    }
    FileLoad {
        checks,
        errors,
        ids,
    }
}

fn finish_load(
    sources: &[SourceFile],
    profile: Profile,
    checks: Vec<Check>,
    errors: Vec<CatalogError>,
    hasher: Sha256,
) -> Result<Catalog, CatalogErrors> {
    if !errors.is_empty() {
        return Err(CatalogErrors(errors));
    }
    let digest = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok(Catalog {
        checks,
        digest,
        profile,
        sources: sources.iter().map(|s| s.name.clone()).collect(),
    })
}

/// The catalog as the Markdown document kept in `checks/README.md` (regenerate with
/// `jikimi catalog list --markdown --no-extra-checks > checks/README.md`; a test fails when
/// the file is out of date).
pub fn markdown(c: &Catalog) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(o, "# Check catalog\n");
    let _ = writeln!(
        o,
        "Generated by `jikimi catalog list --markdown --no-extra-checks` from `checks/*.toml`; do not edit by hand.\n"
    );
    let mut areas: Vec<&str> = Vec::new();
    for ch in &c.checks {
        if !areas.contains(&ch.area.as_str()) {
            areas.push(&ch.area);
        }
    }
    let _ = writeln!(o, "{} checks in {} areas.\n", c.checks.len(), areas.len());
    let _ = writeln!(o, "| area | checks |\n|---|---|");
    for a in &areas {
        let _ = writeln!(
            o,
            "| {a} | {} |",
            c.checks.iter().filter(|ch| ch.area == *a).count()
        );
    }
    for a in areas {
        let _ = writeln!(o, "\n## {a}\n");
        let _ = writeln!(
            o,
            "| id | severity | title | KISA 2021 | KISA 2026 | CIS | CCE | platforms | fix |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|");
        for ch in c.checks.iter().filter(|ch| ch.area == a) {
            let r = &ch.references;
            let cis: Vec<String> = r.cis.iter().map(|(b, s)| format!("{b} {s}")).collect();
            let cce: Vec<String> = r.cce.iter().map(|(p, id)| format!("{id} ({p})")).collect();
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                ch.id,
                ch.severity,
                ch.title.replace('|', "\\|"),
                r.kisa.join(", "),
                r.kisa2026.join(", "),
                cis.join(", "),
                cce.join(", "),
                if ch.platforms.is_empty() {
                    "all".to_string()
                } else {
                    ch.platforms.join(", ")
                },
                {
                    let mut k: Vec<&str> = ch.fix.iter().map(|s| s.action.kind()).collect();
                    k.dedup();
                    k.join(", ")
                }
            );
        }
    }
    let with_fix = c.checks.iter().filter(|ch| !ch.fix.is_empty()).count();
    let _ = writeln!(
        o,
        "\n## Automatic fixes\n\n{with_fix} of {} checks have a fix that `jikimi fix` can apply, \
         verify and undo (the `fix` column names its actions). The others, and why:\n",
        c.checks.len()
    );
    let _ = writeln!(o, "| id | why there is no automatic fix |\n|---|---|");
    for ch in c.checks.iter().filter(|ch| ch.fix.is_empty()) {
        let _ = writeln!(
            o,
            "| {} | {} |",
            ch.id,
            ch.no_fix
                .as_deref()
                .unwrap_or("not automated yet")
                .replace('|', "\\|")
        );
    }
    o.push_str(&cis::markdown(c));
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog's TOML files, named as the embedded ones.
    fn toml_sources() -> Vec<SourceFile> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../checks");
        dir_sources(&dir, false)
            .unwrap()
            .into_iter()
            .map(|s| SourceFile {
                name: format!("checks/{}", s.name.rsplit('/').next().unwrap()),
                ..s
            })
            .collect()
    }

    #[test]
    fn files_parsed_on_two_threads_come_back_in_order() {
        let src = toml_sources();
        let par = parse_files(&src);
        assert_eq!(par.len(), src.len());
        for (s, p) in src.iter().zip(par) {
            let one = parse_file(s).unwrap();
            let p = p.unwrap();
            assert_eq!(p.area, one.area, "{}", s.name);
            let ids = |r: &RawFile| -> Vec<(Option<String>, usize)> {
                r.check
                    .iter()
                    .map(|c| {
                        (
                            c.get_ref()
                                .get("id")
                                .and_then(|v| v.as_str())
                                .map(str::to_string),
                            c.span().start,
                        )
                    })
                    .collect()
            };
            assert_eq!(ids(&p), ids(&one), "{}", s.name);
        }
        // a broken file keeps its place and its error
        let mut bad = src.clone();
        bad[0].text.push_str("\n[[check]\n");
        let par = parse_files(&bad);
        assert!(par[0].is_err() && par[1..].iter().all(Result::is_ok));
    }

    /// checks/README.md must match the catalog.
    #[test]
    fn checks_readme_is_up_to_date() {
        let c = load(&embedded_sources(), Profile::Kisa).unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../checks/README.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == markdown(&c),
            "checks/README.md is out of date: run `jikimi catalog list --markdown --no-extra-checks > checks/README.md`"
        );
    }

    fn src(text: &str) -> Vec<SourceFile> {
        vec![SourceFile {
            name: "checks/t.toml".into(),
            text: text.into(),
            pre: None,
        }]
    }

    const GOOD: &str = r#"
area = "files"

[[check]]
id = "FILE-001"
title = "passwd mode"
severity = "high"
description = "d"
remediation = "chmod 644 /etc/passwd"
references = { kisa = ["U-07"], kisa2026 = ["U-16"], cis = { rhel9 = "7.1.1" }, cce = { rhel9 = "CCE-83931-6" } }
expect = { probe = "file", path = "/etc/passwd", owner = "root", mode_max = "0644" }
"#;

    #[test]
    fn loads_a_good_catalog() {
        let c = load(&src(GOOD), Profile::Kisa).unwrap();
        assert_eq!(c.checks.len(), 1);
        assert_eq!(c.checks[0].area, "files");
        assert_eq!(c.checks[0].origin, "checks/t.toml:4");
        assert_eq!(c.digest.len(), 64);
    }

    #[test]
    fn reports_every_error_with_file_line_and_id() {
        let bad = format!(
            "{GOOD}\n[[check]]\nid = \"FILE-001\"\ntitle = \"dup\"\nseverity = \"high\"\ndescription = \"\"\nremediation = \"x\"\nexpect = {{ probe = \"file\", path = \"/x\", ownr = \"root\" }}\n\n[[check]]\nid = \"FILE-002\"\ntitle = \"t\"\nseverity = \"urgent\"\ndescription = \"\"\nremediation = \"x\"\nexpect = {{ probe = \"nope\" }}\n"
        );
        let e = load(&src(&bad), Profile::Kisa).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("checks/t.toml:13: check FILE-001: duplicate id"),
            "{text}"
        );
        assert!(text.contains("unknown field `ownr`"), "{text}");
        assert!(text.contains("checks/t.toml:21: check FILE-002"), "{text}");
        assert!(text.contains("urgent"), "{text}");
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = load(&src("area = \"x\"\n[[check]\n"), Profile::Kisa).unwrap_err();
        assert_eq!(e.0[0].line, Some(2), "{e}");
    }

    #[test]
    fn bad_references_are_errors() {
        let r = References {
            kisa: vec!["U-99".into()],
            kisa2026: vec!["U-68".into()],
            cis: [("rhel9".to_string(), "5.x".to_string())].into(),
            cce: [("rhel9".to_string(), "CCE-1".to_string())].into(),
        };
        assert_eq!(validate_references(&r).len(), 4);
    }

    #[test]
    fn embedded_catalog_loads_for_both_profiles() {
        for p in [Profile::Kisa, Profile::Cis] {
            let c = load(&embedded_sources(), p).unwrap_or_else(|e| panic!("{e}"));
            assert!(!c.checks.is_empty());
        }
    }

    /// build.rs pre-parses every embedded file, and the JSON gives exactly the checks the
    /// TOML files give (conditions, fixes, texts, lines of origin) and the same digest.
    #[test]
    fn pre_parsed_embedded_files_load_like_their_toml() {
        let pre = embedded_sources();
        assert!(
            pre.iter().all(|s| s.pre.is_some()),
            "a file was not pre-parsed"
        );
        let toml = toml_sources();
        assert_eq!(pre.len(), toml.len());
        for p in [Profile::Kisa, Profile::Cis] {
            let a = load(&pre, p).unwrap_or_else(|e| panic!("{e}"));
            let b = load(&toml, p).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(a.digest, b.digest);
            assert_eq!(a.checks.len(), b.checks.len());
            for (x, y) in a.checks.iter().zip(&b.checks) {
                assert_eq!(format!("{x:?}"), format!("{y:?}"), "{}", x.id);
            }
        }
        // a pre-parsed form that does not read back is an error, never an empty file
        let broken = SourceFile {
            pre: Some(Embedded {
                json: "{not json",
                sha256: [0; 32],
            }),
            ..pre[0].clone()
        };
        let e = load(std::slice::from_ref(&broken), Profile::Kisa).unwrap_err();
        assert!(e.to_string().contains("pre-parsed"), "{e}");
    }
}

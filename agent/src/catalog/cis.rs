//! CIS benchmark coverage: the section list of CIS Debian Linux 12 v1.1.0
//! (`checks/cis/debian12.toml`, compiled in) against the catalog's `references.cis.debian12`,
//! for the coverage part of `checks/README.md` and for a test that keeps the two in step.
//!
//! Why: a user comparing a Jikimi report with a CIS audit needs to see which recommendation
//! each check implements, and which ones Jikimi leaves out and why. The section list is data,
//! not code, so a new benchmark release is a data change.

use super::Catalog;
use serde::Deserialize;
use std::collections::BTreeMap;

const DEBIAN12: &str = include_str!("../../../checks/cis/debian12.toml");

/// One benchmark section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    /// Server profile level: 1, 2, or 0 (workstation only).
    pub server: u8,
    /// CIS rates it automatable.
    pub automated: bool,
    pub title: String,
    /// Why an automatable Level 1 server section has no check.
    pub reason: Option<String>,
    /// Work on it is in progress elsewhere (another branch).
    pub pending: Option<String>,
}

/// A benchmark's section list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Benchmark {
    pub benchmark: String,
    pub version: String,
    pub section: Vec<Section>,
}

impl Section {
    /// Level 1 server and automatable: what coverage is measured against.
    pub fn in_scope(&self) -> bool {
        self.server == 1 && self.automated
    }
}

/// The compiled-in CIS Debian 12 section list.
pub fn debian12() -> Benchmark {
    toml::from_str(DEBIAN12).expect("checks/cis/debian12.toml is valid (tested)")
}

/// Expands a reference value (`5.1.20`, `1.1.2.5.2-4`, `4.2.7, 4.3.8`) to section ids.
pub fn expand(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for one in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match one.split_once('-') {
            Some((first, last)) => {
                let (prefix, start) = first.rsplit_once('.').unwrap_or(("", first));
                match (start.parse::<u32>(), last.parse::<u32>()) {
                    (Ok(a), Ok(b)) if a <= b && b - a < 100 => {
                        for n in a..=b {
                            out.push(if prefix.is_empty() {
                                n.to_string()
                            } else {
                                format!("{prefix}.{n}")
                            });
                        }
                    }
                    _ => out.push(one.to_string()),
                }
            }
            None => out.push(one.to_string()),
        }
    }
    out
}

/// Section id → ids of the checks referencing it for benchmark `bench`.
pub fn referenced(c: &Catalog, bench: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ch in &c.checks {
        if let Some(v) = ch.references.cis.get(bench) {
            for s in expand(v) {
                m.entry(s).or_default().push(ch.id.clone());
            }
        }
    }
    m
}

/// Problems between the section list and the catalog: a referenced section that does not
/// exist, an in-scope section neither referenced nor explained, a referenced section that
/// still carries a `reason` or `pending`.
pub fn problems(b: &Benchmark, c: &Catalog) -> Vec<String> {
    let refs = referenced(c, &b.benchmark);
    let mut out = Vec::new();
    for (id, checks) in &refs {
        if !b.section.iter().any(|s| &s.id == id) {
            out.push(format!(
                "{} reference {id} (by {}) is not a section of CIS {} v{}",
                b.benchmark,
                checks.join(", "),
                b.benchmark,
                b.version
            ));
        }
    }
    for s in &b.section {
        let by = refs.get(&s.id);
        let explained = s.reason.is_some() || s.pending.is_some();
        if s.in_scope() && by.is_none() && !explained {
            out.push(format!(
                "section {} ({}) is automatable Level 1 server but no check references it and it has no `reason`",
                s.id, s.title
            ));
        }
        if let (Some(by), true) = (by, explained) {
            out.push(format!(
                "section {} is referenced by {} but still has a `reason`/`pending`: delete it",
                s.id,
                by.join(", ")
            ));
        }
        if explained && !s.in_scope() {
            out.push(format!(
                "section {}: `reason`/`pending` are only for automatable Level 1 server sections",
                s.id
            ));
        }
    }
    out
}

/// The coverage section of `checks/README.md`.
pub fn markdown(c: &Catalog) -> String {
    use std::fmt::Write as _;
    let b = debian12();
    let refs = referenced(c, &b.benchmark);
    let scope: Vec<&Section> = b.section.iter().filter(|s| s.in_scope()).collect();
    let covered = scope.iter().filter(|s| refs.contains_key(&s.id)).count();
    let mut o = String::new();
    let _ = writeln!(o, "\n## CIS Debian Linux 12 v{} coverage\n", b.version);
    let _ = writeln!(
        o,
        "Section list: `checks/cis/debian12.toml` (from ComplianceAsCode `controls/cis_debian12.yml`). {covered} of the {} automatable Level 1 server sections are referenced by a check (`references.cis.debian12`); {} more sections of other levels are referenced too.\n",
        scope.len(),
        refs.keys()
            .filter(|id| b.section.iter().any(|s| &s.id == *id && !s.in_scope()))
            .count()
    );
    let _ = writeln!(o, "### Referenced Level 1 server sections\n");
    let _ = writeln!(o, "| section | title | checks |\n|---|---|---|");
    for s in scope.iter().filter(|s| refs.contains_key(&s.id)) {
        let _ = writeln!(o, "| {} | {} | {} |", s.id, s.title, refs[&s.id].join(", "));
    }
    let _ = writeln!(o, "\n### Automatable Level 1 server sections left out\n");
    let _ = writeln!(o, "| section | title | why |\n|---|---|---|");
    for s in scope.iter().filter(|s| !refs.contains_key(&s.id)) {
        let why = match (&s.reason, &s.pending) {
            (Some(r), _) => r.clone(),
            (None, Some(p)) => format!("pending: {p}"),
            (None, None) => "(no reason recorded)".into(),
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            s.id,
            s.title,
            why.replace('|', "\\|")
        );
    }
    let _ = writeln!(o, "\n### Level 1 server sections CIS rates Manual\n");
    let _ = writeln!(o, "| section | title | checks |\n|---|---|---|");
    for s in b.section.iter().filter(|s| s.server == 1 && !s.automated) {
        let by = refs.get(&s.id).map(|v| v.join(", ")).unwrap_or_default();
        let _ = writeln!(o, "| {} | {} | {} |", s.id, s.title, by);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{embedded_sources, load, Profile};

    #[test]
    fn ranges_and_lists_expand() {
        assert_eq!(expand("5.1.20"), ["5.1.20"]);
        assert_eq!(
            expand("1.1.2.5.2-4"),
            ["1.1.2.5.2", "1.1.2.5.3", "1.1.2.5.4"]
        );
        assert_eq!(expand("4.2.7, 4.3.8"), ["4.2.7", "4.3.8"]);
    }

    #[test]
    fn section_list_matches_the_benchmark() {
        let b = debian12();
        assert_eq!(
            (b.benchmark.as_str(), b.version.as_str()),
            ("debian12", "1.1.0")
        );
        assert_eq!(b.section.len(), 310);
        let l1: Vec<&Section> = b.section.iter().filter(|s| s.server == 1).collect();
        assert_eq!(l1.len(), 249);
        assert_eq!(l1.iter().filter(|s| s.automated).count(), 232);
        let mut ids: Vec<&str> = b.section.iter().map(|s| s.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 310, "duplicate section ids");
    }

    /// Every automatable Level 1 server section is referenced by a check or explained, no
    /// explanation is stale, and every referenced section exists.
    #[test]
    fn catalog_covers_or_explains_every_automatable_level1_section() {
        let c = load(&embedded_sources(), Profile::Kisa).unwrap();
        let p = problems(&debian12(), &c);
        assert!(p.is_empty(), "{}", p.join("\n"));
    }

    #[test]
    fn problems_are_found() {
        let c = load(&embedded_sources(), Profile::Kisa).unwrap();
        let mut b = debian12();
        // an unexplained gap
        b.section.retain(|s| s.id != "9.9");
        b.section.push(Section {
            id: "9.9".into(),
            server: 1,
            automated: true,
            title: "made up".into(),
            reason: None,
            pending: None,
        });
        // a stale reason on a referenced section
        let s = b.section.iter_mut().find(|s| s.id == "5.1.20").unwrap();
        s.reason = Some("x".into());
        // a reference to a section that does not exist
        b.section.retain(|s| s.id != "5.1.19");
        let p = problems(&b, &c).join("\n");
        assert!(p.contains("section 9.9"), "{p}");
        assert!(p.contains("5.1.20 is referenced by SSH-001"), "{p}");
        assert!(p.contains("reference 5.1.19"), "{p}");
    }
}

//! What the two sshd oracle tests share (`sshd_differential.rs` against the host's sshd,
//! `sshd_roots.rs` against each Debian root's own sshd): copying the corpus with `@DIR@`
//! substituted, the connections of `NAME.conn`, parsing `sshd -T` output and judging one
//! run of the real sshd against `jikimi::facts::sshd`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use jikimi::facts::sshd::{Effective, SshdError};

/// The outcome of one real `sshd -T` run: stdout on success, stderr on refusal.
pub struct Run {
    pub ok: bool,
    pub out: String,
}

impl Run {
    pub fn from_output(o: &std::process::Output) -> Run {
        let bytes = if o.status.success() {
            &o.stdout
        } else {
            &o.stderr
        };
        Run {
            ok: o.status.success(),
            out: String::from_utf8_lossy(bytes).into_owned(),
        }
    }
}

/// Copies a corpus directory, replacing `@DIR@` in every file with `dir`.
pub fn copy_tree(from: &Path, to: &Path, dir: &str) {
    std::fs::create_dir_all(to).unwrap();
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst, dir);
        } else {
            let text = String::from_utf8(std::fs::read(&src).unwrap()).expect("UTF-8 corpus");
            std::fs::write(&dst, text.replace("@DIR@", dir)).unwrap();
        }
    }
}

/// No connection, then every non-comment line of `CONF.conn` (a `-C` spec).
pub fn connection_specs(conf: &Path) -> Vec<Option<String>> {
    let mut specs = vec![None];
    if let Ok(t) = std::fs::read_to_string(conf.with_extension("conn")) {
        specs.extend(
            t.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| Some(l.to_string())),
        );
    }
    specs
}

/// `keyword -> values` in printed order.
pub fn parse_dump(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        m.entry(k.to_string()).or_default().push(v.to_string());
    }
    m
}

/// Where the judgements of a whole run go.
#[derive(Default)]
pub struct Verdicts {
    pub failures: Vec<String>,
    /// Configurations both sides refused, with both messages.
    pub refused: Vec<String>,
}

impl Verdicts {
    /// Judges one real run against ours. `key` is the throwaway host key given with `-h`:
    /// its `hostkey` line is left out. With `whole_text`, a plain run (no connection) must
    /// also print the same lines in the same order.
    pub fn judge(
        &mut self,
        label: &str,
        real: &Run,
        ours: Result<Effective, SshdError>,
        key: &str,
        whole_text: bool,
    ) {
        let eff = match (real.ok, ours) {
            (false, Err(e)) => {
                self.refused.push(format!(
                    "  {label}\n    sshd: {}\n    ours: {e}",
                    real.out.lines().last().unwrap_or("").trim()
                ));
                return;
            }
            (false, Ok(_)) => {
                self.failures.push(format!(
                    "{label}: sshd refused the configuration but we accepted it; sshd said: {}",
                    real.out.trim()
                ));
                return;
            }
            (true, Err(e)) => {
                self.failures.push(format!(
                    "{label}: sshd accepted the configuration but we refused it: {e}"
                ));
                return;
            }
            (true, Ok(eff)) => eff,
        };
        let before = self.failures.len();
        let mut want = parse_dump(&real.out);
        let mut got = parse_dump(&eff.render());
        // The throwaway key given with -h comes first; without any HostKey in the
        // configuration it replaces sshd's three defaults.
        if let Some(v) = want.get_mut("hostkey") {
            if v.first().map(String::as_str) == Some(key) {
                v.remove(0);
            }
            if v.is_empty() {
                want.remove("hostkey");
                if eff.get("hostkey").is_some_and(|s| s.is_default()) {
                    got.remove("hostkey");
                }
            }
        }
        let keys: BTreeSet<&String> = want.keys().chain(got.keys()).collect();
        for k in keys {
            let (w, g) = (want.get(k), got.get(k));
            if w != g {
                self.failures.push(format!(
                    "{label}: {k}: sshd={:?} ours={:?}",
                    w.map(Vec::as_slice).unwrap_or(&[]),
                    g.map(Vec::as_slice).unwrap_or(&[])
                ));
            }
        }
        if whole_text && self.failures.len() == before {
            let strip = |t: &str| {
                t.lines()
                    .filter(|l| !l.starts_with("hostkey "))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            if strip(&real.out) != strip(&eff.render()) {
                self.failures
                    .push(format!("{label}: same lines, different order"));
            }
        }
    }
}

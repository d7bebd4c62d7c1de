//! `jikimi walk`: the bounded filesystem walk alone, what it found and how fast.

use super::{open_root, print_out};
use crate::cli::FactsArgs;
use anyhow::{anyhow, Result};
use jikimi::config::Config;

pub fn run(a: FactsArgs) -> Result<i32> {
    let root = open_root(a.root.as_deref())?;
    let mut facts = jikimi::facts::Facts::new(&root);
    facts.walk_limits = Config::default().walk_limits();
    let w = facts.walk().map_err(|e| anyhow!("{e}"))?;
    let secs = w.elapsed.as_secs_f64().max(1e-9);
    let cats = [
        ("world_writable", &w.world_writable),
        (
            "world_writable_dirs_no_sticky",
            &w.world_writable_dirs_no_sticky,
        ),
        ("suid_sgid", &w.suid_sgid),
        ("unowned", &w.unowned),
        ("dev_regular_files", &w.dev_regular_files),
    ];
    if a.json {
        let mut found = serde_json::Map::new();
        for (k, f) in cats {
            found.insert(
                k.into(),
                serde_json::json!({
                    "count": f.count,
                    "paths": f.items.iter().map(|i| &i.0).collect::<Vec<_>>(),
                }),
            );
        }
        let v = serde_json::json!({
            "roots": w.roots, "entries": w.entries, "elapsed_ms": secs * 1000.0,
            "entries_per_sec": (w.entries as f64 / secs).round(), "unreadable_dirs": w.unreadable,
            "too_deep_dirs": w.too_deep, "mounts_skipped": w.mounts_skipped_paths,
            "mounts_entered": w.mounts_entered, "incomplete": w.incomplete(),
            "truncated": w.truncated, "found": found,
        });
        print_out(&(serde_json::to_string_pretty(&v)? + "\n"))?;
    } else {
        let mut s = format!(
            "walked {} entries under {} in {:.0} ms ({:.0} entries/s){}\n",
            w.entries,
            w.roots.join(", "),
            secs * 1000.0,
            w.entries as f64 / secs,
            w.incomplete()
                .map(|t| format!(" — {t}"))
                .unwrap_or_default()
        );
        for (k, f) in cats {
            s += &format!("{k:<30} {}\n", f.count);
        }
        print_out(&s)?;
    }
    Ok(0)
}

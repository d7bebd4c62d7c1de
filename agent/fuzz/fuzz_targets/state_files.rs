//! State files read back by the agent: a hostile history record (a file in the state
//! directory) through `state::read`, `history::load` and the report built and rendered from
//! it (Markdown, JSON, HTML). A record that does not parse counts as unreadable; nothing
//! panics.
#![no_main]
use jikimi::{history, sinks::report};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// A private state directory for this fuzzing process (mode 0700, as the agent's own).
fn dir() -> &'static std::path::Path {
    static D: OnceLock<std::path::PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        use std::os::unix::fs::DirBuilderExt;
        let d = std::env::temp_dir().join(format!("jikimi-fuzz-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::DirBuilder::new().mode(0o700).create(&d).expect("state dir");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let d = dir();
    let rec = d.join("1700000000000-1-1.json");
    std::fs::write(&rec, data).expect("write record");
    let _ = jikimi::state::read(&rec);
    if let Ok((records, bad)) = history::load(d) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_100);
        if let Ok(doc) = report::build(&records, bad, Duration::from_secs(86_400 * 365 * 60), "60y", now) {
            let _ = report::markdown(&doc);
            let _ = report::json(&doc);
            let _ = report::html(&doc);
        }
    }
});

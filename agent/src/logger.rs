//! A tiny `log` backend for the binary: what the linked crates (rustls, ureq) report through
//! the `log` facade goes to standard error, one line per record with a UTC timestamp, like
//! the daemon's own lines. `JIKIMI_LOG=off|error|warn` sets the level (default `warn`).
//! More verbose levels are refused: the HTTP and TLS crates log request details at debug
//! and trace, and nothing secret (SigV4 headers, session tokens) may reach a log.

use std::io::Write;

struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let line = format!(
            "{} jikimi: {}: {}: {}\n",
            jikimi::time::rfc3339(std::time::SystemTime::now()),
            r.level().as_str().to_ascii_lowercase(),
            r.target(),
            r.args()
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

static LOGGER: Stderr = Stderr;

/// The level `JIKIMI_LOG` names: off, error, else warn (never more verbose).
fn level(v: Option<&str>) -> log::LevelFilter {
    match v.map(str::trim) {
        Some("off") => log::LevelFilter::Off,
        Some("error") => log::LevelFilter::Error,
        _ => log::LevelFilter::Warn,
    }
}

/// Installs the backend once, at the level `JIKIMI_LOG` names (warn when unset or unknown).
pub fn init() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level(std::env::var("JIKIMI_LOG").ok().as_deref()));
    }
}

#[cfg(test)]
mod tests {
    use super::level;
    use log::LevelFilter;

    #[test]
    fn verbose_levels_are_capped_at_warn() {
        assert_eq!(level(Some("off")), LevelFilter::Off);
        assert_eq!(level(Some(" error ")), LevelFilter::Error);
        assert_eq!(level(Some("warn")), LevelFilter::Warn);
        assert_eq!(level(Some("debug")), LevelFilter::Warn);
        assert_eq!(level(Some("trace")), LevelFilter::Warn);
        assert_eq!(level(None), LevelFilter::Warn);
    }
}

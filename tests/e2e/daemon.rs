//! A daemon of the real binary for the end-to-end tests: started on 127.0.0.1:0 with its
//! stderr read line by line on a thread, killed when the test ends (or fails).

use super::{bin, KillOnDrop};
use std::io::{BufRead, BufReader};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// A running `jikimi check` daemon; its stderr lines arrive on `lines`, those read so far
/// are kept in `log`.
pub struct Daemon {
    pub guard: KillOnDrop,
    /// `host:port` of its metrics endpoint.
    pub addr: String,
    pub lines: Receiver<String>,
    pub log: Vec<String>,
}

impl Daemon {
    /// `jikimi check --listen 127.0.0.1:0 --no-extra-checks ARGS` with `envs`, no proxy
    /// and no IMDS reachable; returns once it listens (panics after `within`).
    pub fn start(args: &[&str], envs: &[(&str, &str)], within: Duration) -> Daemon {
        let mut cmd = bin();
        cmd.args(["check", "--listen", "127.0.0.1:0", "--no-extra-checks"])
            .args(args)
            .env("NO_COLOR", "1")
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stderr(std::process::Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut d = Daemon {
            guard: KillOnDrop(child),
            addr: String::new(),
            lines: rx,
            log: Vec::new(),
        };
        let started = d.wait_for("metrics on http://", within);
        d.addr = started
            .split("http://")
            .nth(1)
            .and_then(|r| r.strip_suffix("/metrics"))
            .unwrap_or_else(|| panic!("no address in {started}"))
            .to_string();
        d
    }

    pub fn pid(&self) -> u32 {
        self.guard.0.id()
    }

    /// The first stderr line containing `what` (panics after `within`).
    pub fn wait_for(&mut self, what: &str, within: Duration) -> String {
        let end = Instant::now() + within;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.log.push(l.clone());
                    if l.contains(what) {
                        return l;
                    }
                }
                Err(_) => panic!(
                    "no `{what}` within {within:?}; log:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// SIGTERM; the time until the process is gone, its exit code and the rest of its log.
    pub fn terminate(&mut self) -> (Duration, Option<i32>, String) {
        let child = &mut self.guard.0;
        let t0 = Instant::now();
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "the daemon did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = t0.elapsed();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.log.push(l);
        }
        (took, status.code(), self.log.join("\n"))
    }
}

//! Red Hat's system-wide crypto policy for sshd before OpenSSH 8.7 (RHEL 8, Fedora before
//! 33): `sshd.service` reads `CRYPTO_POLICY` from the policy back-end
//! `/etc/crypto-policies/back-ends/opensshserver.config`, then from `/etc/sysconfig/sshd`
//! (the later file wins; `CRYPTO_POLICY=` there opts out), and passes it as `-oKey=value`
//! options. Command-line options are read before `sshd_config`, so under sshd's
//! first-value-wins rule they override the file.
//!
//! From 8.7 (RHEL 9, Amazon Linux 2023) the policy is an ordinary
//! `Include /etc/crypto-policies/back-ends/opensshserver.config` in
//! `/etc/ssh/sshd_config.d/50-redhat.conf`, which the Include expansion already reads.

use super::lex::{parse, parse_legacy};
use super::profile::{Profile, Vendor};
use super::{Directive, SshdError};
use crate::fs::Root;

/// The policy back-end (an environment file before 8.7).
pub const BACKEND: &str = "/etc/crypto-policies/back-ends/opensshserver.config";
/// The administrator's environment file, read after the back-end.
pub const SYSCONFIG: &str = "/etc/sysconfig/sshd";

/// The last `CRYPTO_POLICY=` assignment of an environment file: (1-based line, value).
fn assignment(text: &str) -> Option<(usize, String)> {
    let mut found = None;
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        let Some(v) = l.strip_prefix("CRYPTO_POLICY=") else {
            continue;
        };
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('\'') && v.ends_with('\''))
                || (v.starts_with('"') && v.ends_with('"')))
        {
            &v[1..v.len() - 1]
        } else {
            v
        };
        found = Some((i + 1, v.to_string()));
    }
    found
}

/// The `-o` options as directives attributed to the file and line that set them.
pub fn options(
    value: &str,
    file: &str,
    line: usize,
    p: &Profile,
) -> Result<Vec<Directive>, SshdError> {
    let mut out = Vec::new();
    for word in value.split_whitespace() {
        let Some(opt) = word.strip_prefix("-o") else {
            return Err(SshdError::config(
                file,
                line,
                format!("CRYPTO_POLICY holds \"{word}\", not an -oKeyword=value option"),
            ));
        };
        let origin = file.to_string();
        let ds = if p.ge(807) {
            parse(opt, &origin)?
        } else {
            parse_legacy(opt, &origin)?
        };
        out.extend(ds.into_iter().map(|mut d| {
            d.line = line;
            d
        }));
    }
    Ok(out)
}

/// The `-o` options sshd gets from the crypto policy on this root (empty for other builds
/// and releases, or without a back-end file).
pub fn command_line(root: &Root, p: &Profile) -> Result<Vec<Directive>, SshdError> {
    if p.vendor != Vendor::RedHat || p.ge(807) {
        return Ok(Vec::new());
    }
    let mut chosen = None;
    for file in [BACKEND, SYSCONFIG] {
        match root.read_text(file) {
            Ok(t) => {
                if let Some((line, v)) = assignment(&t.content) {
                    chosen = Some((file, line, v));
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(SshdError::Read(e)),
        }
    }
    match chosen {
        Some((file, line, v)) => options(&v, file, line, p),
        None => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_and_options() {
        let text = "# comment\nCRYPTO_POLICY='-oCiphers=aes256-gcm@openssh.com,aes128-ctr -oMACs=hmac-sha2-256'\n";
        let (line, v) = assignment(text).unwrap();
        assert_eq!(line, 2);
        let p = Profile::new(800, Vendor::RedHat);
        let ds = options(&v, BACKEND, line, &p).unwrap();
        assert_eq!(ds.len(), 2);
        assert_eq!(ds[0].key, "ciphers");
        assert_eq!(ds[0].args, ["aes256-gcm@openssh.com,aes128-ctr"]);
        assert_eq!(ds[1].key, "macs");
        assert_eq!(ds[1].line, 2);
        // An empty assignment opts out.
        assert_eq!(assignment("CRYPTO_POLICY=\n").unwrap().1, "");
        assert!(options("", SYSCONFIG, 1, &p).unwrap().is_empty());
        assert!(options("Ciphers=x", SYSCONFIG, 1, &p).is_err());
    }
}

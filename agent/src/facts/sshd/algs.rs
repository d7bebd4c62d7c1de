//! The `+`/`-`/`^` modifiers and patterns of `kex_assemble_names`, over the algorithm
//! lists of the release being modelled ([`Profile`]).

use super::matcher::match_pattern_list;
use super::profile::Profile;

/// The 9.2 (Debian 12) lists, for tests that spell them out.
#[cfg(test)]
pub const DEFAULT_CIPHERS: &str = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,\
aes128-gcm@openssh.com,aes256-gcm@openssh.com";
#[cfg(test)]
pub const DEFAULT_MACS: &str = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,\
hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,\
umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1";
#[cfg(test)]
pub const DEFAULT_KEYS: &str =
    "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,\
ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,\
sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,\
rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,\
ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,\
sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";
/// Key type short names sshd accepts (case-insensitively) as valid key types.
const KEY_SHORTNAMES: &[&str] = &["DSA", "ECDSA-SK", "ECDSA", "ED25519-SK", "ED25519", "RSA"];

/// Which list a keyword's value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Cipher,
    Mac,
    Kex,
    Key,
    Sig,
}

impl Family {
    /// What the build supports, in `ssh -Q` order (patterns expand in this order).
    pub fn all(self, p: &Profile) -> Vec<&'static str> {
        match self {
            Family::Cipher => p.all_ciphers(),
            Family::Mac => p.all_macs(),
            Family::Kex => p.all_kex(),
            Family::Key => p.all_keys(),
            Family::Sig => p.all_sigs(),
        }
    }
    pub fn default_list(self, p: &Profile) -> String {
        match self {
            Family::Cipher => p.default_ciphers().to_string(),
            Family::Mac => p.default_macs().to_string(),
            Family::Kex => p.default_kex(),
            Family::Key => p.default_keys().to_string(),
            Family::Sig => p.default_sigs().to_string(),
        }
    }
}

/// sshd's strsep loops over name lists stop at the first empty element.
fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').take_while(|p| !p.is_empty())
}

/// The parse-time check of a value (after a leading `+`/`^`; `-` lists are not checked).
pub fn valid(prof: &Profile, family: Family, list: &str) -> bool {
    if list.is_empty() {
        return false;
    }
    let all = family.all(prof);
    let keys = prof.all_keys();
    let gss = if prof.gsskex() { prof.gss_kex() } else { &[] };
    names(list).all(|p| match family {
        Family::Cipher | Family::Mac => all.contains(&p),
        Family::Kex => all.contains(&p) || gss.iter().any(|g| p.starts_with(g)),
        Family::Key | Family::Sig => {
            keys.contains(&p)
                || KEY_SHORTNAMES.iter().any(|s| s.eq_ignore_ascii_case(p))
                || keys.iter().any(|k| match_pattern_list(k, p, false) != 0)
        }
    })
}

/// GSSAPIKexAlgorithms check: every name must be a known `gss-` method.
pub fn gss_valid(prof: &Profile, list: &str) -> bool {
    let all = prof.all_kex();
    !list.is_empty()
        && names(list).all(|p| {
            p.starts_with("gss-")
                && (all.contains(&p) || prof.gss_kex().iter().any(|g| p.starts_with(g)))
        })
}

/// `kex_names_cat`: `a` followed by the names of `b` not already in `a`.
fn names_cat(a: &str, b: &str) -> String {
    if a.is_empty() {
        return b.to_string();
    }
    if b.is_empty() {
        return a.to_string();
    }
    let mut out = a.to_string();
    for p in names(b) {
        if has_any(&out, p) {
            continue;
        }
        out.push(',');
        out.push_str(p);
    }
    out
}

/// `has_any_alg`: sshd's `match_list`, which only looks at the first 40 proposals.
fn has_any(proposal: &str, algs: &str) -> bool {
    let server: Vec<&str> = names(algs).take(40).collect();
    names(proposal).any(|c| server.contains(&c))
}

/// `filter_list`: keeps the names of `proposal` that `filter` (a pattern list) matches, or
/// with `deny`, those it does not.
fn filter(proposal: &str, filter: &str, deny: bool) -> String {
    let kept: Vec<&str> = proposal
        .split(',')
        .filter(|p| {
            let r = match_pattern_list(p, filter, false);
            if deny {
                r != 1
            } else {
                r == 1
            }
        })
        .collect();
    kept.join(",")
}

/// An algorithm list sshd refuses to start with.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlgListError {
    #[error("negated algorithm pattern \"{pattern}\" is not supported here")]
    Negated { pattern: String },
    #[error("\"{list}\" leaves no supported algorithm")]
    NoneLeft { list: String },
}
crate::error_text::debug_as_display!(AlgListError);

/// `kex_assemble_names`: the effective list for a configured value. Err for an empty result
/// or a negated pattern in an explicit list (sshd refuses to start).
///
/// Pure in its arguments, and an effective configuration is computed once per `Match`
/// combination the catalog asks about (with the same lists each time), so results are
/// remembered per thread (a few dozen at most; the memo is emptied when it fills).
pub fn assemble(
    prof: &Profile,
    family: Family,
    value: Option<&str>,
) -> Result<String, AlgListError> {
    type Memo = Vec<(
        Profile,
        Family,
        Option<String>,
        Result<String, AlgListError>,
    )>;
    thread_local!(static MEMO: std::cell::RefCell<Memo> = const { std::cell::RefCell::new(Vec::new()) });
    const MEMO_MAX: usize = 64;
    if let Some(hit) = MEMO.with_borrow(|m| {
        m.iter()
            .find(|(p, f, v, _)| *f == family && v.as_deref() == value && p == prof)
            .map(|e| e.3.clone())
    }) {
        return hit;
    }
    let r = assemble_uncached(prof, family, value);
    MEMO.with_borrow_mut(|m| {
        if m.len() >= MEMO_MAX {
            m.clear();
        }
        m.push((prof.clone(), family, value.map(str::to_string), r.clone()));
    });
    r
}

fn assemble_uncached(
    prof: &Profile,
    family: Family,
    value: Option<&str>,
) -> Result<String, AlgListError> {
    let def = family.default_list(prof);
    let def = def.as_str();
    let all = family.all(prof).join(",");
    let list = match value {
        None | Some("") => return Ok(def.to_string()),
        Some(v) => v,
    };
    let list = if let Some(rest) = list.strip_prefix('+') {
        names_cat(def, rest)
    } else if let Some(rest) = list.strip_prefix('-') {
        return Ok(filter(def, rest, true));
    } else if let Some(rest) = list.strip_prefix('^') {
        names_cat(rest, def)
    } else {
        list.to_string()
    };
    let mut ret = String::new();
    for cp in list.split(',') {
        if cp.starts_with('!') {
            return Err(AlgListError::Negated {
                pattern: cp.to_string(),
            });
        }
        let matching = filter(&all, cp, false);
        ret = names_cat(&ret, &matching);
    }
    if ret.is_empty() {
        return Err(AlgListError::NoneLeft { list });
    }
    Ok(ret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::sshd::profile::Vendor;
    const P: Profile = Profile::new(902, Vendor::Debian);

    #[test]
    fn modifiers() {
        let c = Family::Cipher;
        assert_eq!(assemble(&P, c, None).unwrap(), DEFAULT_CIPHERS);
        assert_eq!(assemble(&P, c, Some("aes128-ctr")).unwrap(), "aes128-ctr");
        assert_eq!(
            assemble(&P, c, Some("+aes128-cbc")).unwrap(),
            format!("{DEFAULT_CIPHERS},aes128-cbc")
        );
        assert_eq!(
            assemble(&P, c, Some("^aes256-ctr,3des-cbc")).unwrap(),
            "aes256-ctr,3des-cbc,chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
        );
        assert_eq!(
            assemble(&P, c, Some("-aes*-ctr,chacha*")).unwrap(),
            "aes128-gcm@openssh.com,aes256-gcm@openssh.com"
        );
        assert_eq!(assemble(&P, c, Some("-*")).unwrap(), "");
        assert_eq!(
            assemble(&P, c, Some("aes*-cbc,aes128-cbc")).unwrap(),
            "aes128-cbc,aes192-cbc,aes256-cbc"
        );
        assert!(assemble(&P, c, Some("!aes128-ctr")).is_err());
        assert_eq!(
            assemble(&P, Family::Key, Some("-ssh-rsa*,*-cert-v01@openssh.com")).unwrap(),
            "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
        );
    }

    #[test]
    fn validity() {
        assert!(valid(&P, Family::Cipher, "aes128-ctr,aes256-ctr"));
        assert!(!valid(&P, Family::Cipher, "aes*"));
        assert!(!valid(&P, Family::Cipher, "none"));
        assert!(valid(&P, Family::Key, "ssh-rsa*"));
        assert!(valid(&P, Family::Key, "rsa"));
        assert!(!valid(&P, Family::Key, "bogus"));
        assert!(valid(&P, Family::Kex, "gss-group14-sha256-"));
        assert!(valid(&P, Family::Mac, "hmac-sha1"));
    }
}

//! Algorithm lists of OpenSSH 9.2p1 (Debian 12 build, OpenSSL 3) and the `+`/`-`/`^`
//! modifiers of `kex_assemble_names`.

use super::matcher::match_pattern_list;

/// Everything `ssh -Q cipher` lists, in that order (patterns expand in this order).
pub const ALL_CIPHERS: &[&str] = &[
    "3des-cbc",
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
];
pub const DEFAULT_CIPHERS: &str = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,\
aes128-gcm@openssh.com,aes256-gcm@openssh.com";

pub const ALL_MACS: &[&str] = &[
    "hmac-sha1",
    "hmac-sha1-96",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-md5",
    "hmac-md5-96",
    "umac-64@openssh.com",
    "umac-128@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "hmac-sha1-96-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-md5-etm@openssh.com",
    "hmac-md5-96-etm@openssh.com",
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
];
pub const DEFAULT_MACS: &str = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,\
hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,\
umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1";

pub const ALL_KEX: &[&str] = &[
    "diffie-hellman-group1-sha1",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group-exchange-sha256",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "sntrup761x25519-sha512",
    "sntrup761x25519-sha512@openssh.com",
];
pub const DEFAULT_KEX: &str = "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,\
curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,\
ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,\
diffie-hellman-group18-sha512,diffie-hellman-group14-sha256";

/// GSSAPI key exchange method prefixes (Debian's GSSAPI patch).
pub const GSS_KEX: &[&str] = &[
    "gss-group1-sha1-",
    "gss-group14-sha1-",
    "gss-gex-sha1-",
    "gss-group14-sha256-",
    "gss-group16-sha512-",
    "gss-nistp256-sha256-",
    "gss-curve25519-sha256-",
];
pub const DEFAULT_GSS_KEX: &str = "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,\
gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-";

/// Key and signature algorithm names (`ssh -Q key-sig`): what HostKeyAlgorithms,
/// PubkeyAcceptedAlgorithms and HostbasedAcceptedAlgorithms expand against.
pub const ALL_KEYS: &[&str] = &[
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
    "ssh-dss-cert-v01@openssh.com",
    "ssh-rsa",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512",
    "rsa-sha2-512-cert-v01@openssh.com",
];
pub const DEFAULT_KEYS: &str =
    "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,\
ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,\
sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,\
rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,\
ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,\
sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";
/// Plain signature algorithms (`ssh -Q sig`): what CASignatureAlgorithms expands against.
pub const ALL_SIGS: &[&str] = &[
    "ssh-ed25519",
    "sk-ssh-ed25519@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "rsa-sha2-256",
    "rsa-sha2-512",
];
pub const DEFAULT_SIGS: &str = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,\
ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,\
rsa-sha2-512,rsa-sha2-256";
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
    pub fn all(self) -> &'static [&'static str] {
        match self {
            Family::Cipher => ALL_CIPHERS,
            Family::Mac => ALL_MACS,
            Family::Kex => ALL_KEX,
            Family::Key => ALL_KEYS,
            Family::Sig => ALL_SIGS,
        }
    }
    pub fn default_list(self) -> &'static str {
        match self {
            Family::Cipher => DEFAULT_CIPHERS,
            Family::Mac => DEFAULT_MACS,
            Family::Kex => DEFAULT_KEX,
            Family::Key => DEFAULT_KEYS,
            Family::Sig => DEFAULT_SIGS,
        }
    }
}

/// sshd's strsep loops over name lists stop at the first empty element.
fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').take_while(|p| !p.is_empty())
}

/// The parse-time check of a value (after a leading `+`/`^`; `-` lists are not checked).
pub fn valid(family: Family, list: &str) -> bool {
    if list.is_empty() {
        return false;
    }
    names(list).all(|p| match family {
        Family::Cipher | Family::Mac => family.all().contains(&p),
        Family::Kex => ALL_KEX.contains(&p) || GSS_KEX.iter().any(|g| p.starts_with(g)),
        Family::Key | Family::Sig => {
            ALL_KEYS.contains(&p)
                || KEY_SHORTNAMES.iter().any(|s| s.eq_ignore_ascii_case(p))
                || ALL_KEYS
                    .iter()
                    .any(|k| match_pattern_list(k, p, false) != 0)
        }
    })
}

/// GSSAPIKexAlgorithms check: every name must be a known `gss-` method.
pub fn gss_valid(list: &str) -> bool {
    !list.is_empty()
        && names(list).all(|p| {
            p.starts_with("gss-")
                && (ALL_KEX.contains(&p) || GSS_KEX.iter().any(|g| p.starts_with(g)))
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

/// `kex_assemble_names`: the effective list for a configured value. Err for an empty result
/// or a negated pattern in an explicit list (sshd refuses to start).
pub fn assemble(family: Family, value: Option<&str>) -> Result<String, String> {
    let def = family.default_list();
    let all = family.all().join(",");
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
            return Err(format!(
                "negated algorithm pattern \"{cp}\" is not supported here"
            ));
        }
        let matching = filter(&all, cp, false);
        ret = names_cat(&ret, &matching);
    }
    if ret.is_empty() {
        return Err(format!("\"{list}\" leaves no supported algorithm"));
    }
    Ok(ret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers() {
        let c = Family::Cipher;
        assert_eq!(assemble(c, None).unwrap(), DEFAULT_CIPHERS);
        assert_eq!(assemble(c, Some("aes128-ctr")).unwrap(), "aes128-ctr");
        assert_eq!(
            assemble(c, Some("+aes128-cbc")).unwrap(),
            format!("{DEFAULT_CIPHERS},aes128-cbc")
        );
        assert_eq!(
            assemble(c, Some("^aes256-ctr,3des-cbc")).unwrap(),
            "aes256-ctr,3des-cbc,chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
        );
        assert_eq!(
            assemble(c, Some("-aes*-ctr,chacha*")).unwrap(),
            "aes128-gcm@openssh.com,aes256-gcm@openssh.com"
        );
        assert_eq!(assemble(c, Some("-*")).unwrap(), "");
        assert_eq!(
            assemble(c, Some("aes*-cbc,aes128-cbc")).unwrap(),
            "aes128-cbc,aes192-cbc,aes256-cbc"
        );
        assert!(assemble(c, Some("!aes128-ctr")).is_err());
        assert_eq!(
            assemble(Family::Key, Some("-ssh-rsa*,*-cert-v01@openssh.com")).unwrap(),
            "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
        );
    }

    #[test]
    fn validity() {
        assert!(valid(Family::Cipher, "aes128-ctr,aes256-ctr"));
        assert!(!valid(Family::Cipher, "aes*"));
        assert!(!valid(Family::Cipher, "none"));
        assert!(valid(Family::Key, "ssh-rsa*"));
        assert!(valid(Family::Key, "rsa"));
        assert!(!valid(Family::Key, "bogus"));
        assert!(valid(Family::Kex, "gss-group14-sha256-"));
        assert!(valid(Family::Mac, "hmac-sha1"));
    }
}

//! The interpreter: sshd's `process_server_config_line`, the two passes over the
//! configuration (startup with no connection, then the Match re-processing for one
//! connection), `fill_default_server_options` and `copy_set_server_options`.
//!
//! Options are kept in a map of fields, one per variable of sshd's `ServerOptions`; a field
//! that is absent is "unset" (-1 or NULL in sshd). Every field remembers where it was set.

use super::algs::{self, Family};
use super::keywords::{self, Op, MATCH};
use super::lex::strdelim;
use super::matcher::{addr_match_list, match_hostname, match_pattern_list, user_pattern_valid};
use super::num::{atoi_err, convtime, scan_ints, scan_scaled, strtol, strtonum, INT_MAX};
use super::options::{
    lookup_ci, parse_ipqos, Opts, QueuedListen, Slot, ADDRESS_FAMILY, AUTH_METHODS, COMPRESSION,
    DIGESTS, F, FLAG, GATEWAY_PORTS, IGNORE_RHOSTS, LOG_FACILITIES, LOG_LEVELS, PERMIT_ROOT_LOGIN,
    PRIVSEP, TCP_FWD, TUN_MODE, V,
};
use super::profile::Profile;
use super::sysdb::SystemDb;
use super::{Connection, Directive, IncFile, Node, Origin, SshdError};

/// The arguments of one directive with sshd's `argv_next` cursor.
struct Args<'a> {
    v: &'a [String],
    i: usize,
}

impl<'a> Args<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let r = self.v.get(self.i).map(String::as_str);
        if r.is_some() {
            self.i += 1;
        }
        r
    }
    fn peek(&self) -> Option<&'a str> {
        self.v.get(self.i).map(String::as_str)
    }
    fn left(&self) -> usize {
        self.v.len() - self.i
    }
    fn consume(&mut self) {
        self.i = self.v.len();
    }
}

/// Include flags of sshd's parser.
pub(crate) const NEVERMATCH: u8 = 4;
pub(crate) const MATCH_ONLY: u8 = 8;

/// A directive's location.
pub(crate) fn origin(d: &Directive) -> Origin {
    Origin {
        file: d.file.clone(),
        line: d.line,
    }
}

fn err(d: &Directive, msg: impl Into<String>) -> SshdError {
    SshdError::config(&d.file, d.line, msg)
}

/// The environment one pass runs in.
pub(crate) struct Pass<'a> {
    pub sys: &'a SystemDb,
    /// None: the startup pass (Match conditions are only checked for syntax).
    pub ci: Option<&'a Connection>,
    /// Treat `Match LocalPort` without a local port as "no match" instead of failing.
    pub lenient_lport: bool,
    /// The release and build whose semantics apply.
    pub p: &'a Profile,
}

/// `a2port`: a number 0..65535 or a tcp service name; -1 when neither.
pub(crate) fn a2port(sys: &SystemDb, s: &str) -> i64 {
    match strtonum(s, 0, 65535) {
        Ok(v) => v,
        Err(_) => sys.tcp_port(s).map(i64::from).unwrap_or(-1),
    }
}

/// `tilde_expand_filename(path, 0)`.
fn tilde_expand(sys: &SystemDb, d: &Directive, path: &str) -> Result<String, SshdError> {
    let Some(rest) = path.strip_prefix('~') else {
        return Ok(path.to_string());
    };
    let (user, p) = if rest.is_empty() {
        (None, None)
    } else if let Some(r) = rest.strip_prefix('/') {
        let r = r.trim_start_matches('/');
        (None, (!r.is_empty()).then_some(r))
    } else {
        match rest.split_once('/') {
            Some((u, r)) => {
                let r = r.trim_start_matches('/');
                (Some(u), (!r.is_empty()).then_some(r))
            }
            None => (Some(rest), None),
        }
    };
    let pw = match user {
        Some(u) => sys
            .user(u)
            .ok_or_else(|| err(d, format!("tilde_expand: No such user {u}")))?,
        None => sys
            .user_by_uid(0)
            .ok_or_else(|| err(d, "tilde_expand: No such uid 0"))?,
    };
    let slash = if pw.home.ends_with('/') { "" } else { "/" };
    Ok(format!("{}{slash}{}", pw.home, p.unwrap_or("")))
}

/// `derelativise_path` with sshd's working directory being `/` (as under systemd).
fn derelativise(sys: &SystemDb, d: &Directive, path: &str) -> Result<String, SshdError> {
    if path.eq_ignore_ascii_case("none") {
        return Ok("none".into());
    }
    let e = tilde_expand(sys, d, path)?;
    if e.starts_with('/') {
        Ok(e)
    } else {
        Ok(format!("//{e}"))
    }
}

/// `hpdelim`: host and the rest after `:`. Err for a malformed `[...]` or a `/` delimiter.
fn hpdelim(s: &str) -> Result<(&str, Option<&str>), ()> {
    let idx = if s.starts_with('[') {
        match s.find(']') {
            Some(i) => i + 1,
            None => return Err(()),
        }
    } else {
        s.find([':', '/']).unwrap_or(s.len())
    };
    match s.as_bytes().get(idx) {
        None => Ok((s, None)),
        Some(b':') => Ok((&s[..idx], Some(&s[idx + 1..]))),
        _ => Err(()),
    }
}

fn cleanhostname(h: &str) -> &str {
    if h.len() >= 2 && h.starts_with('[') && h.ends_with(']') {
        &h[1..h.len() - 1]
    } else {
        h
    }
}

/// An `AuthenticationMethods` list sshd refuses, with the offending method.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
enum AuthMethodsError {
    #[error("empty authentication method list")]
    Empty,
    #[error("Unknown authentication method \"{name}\" in list")]
    Unknown { name: String },
    #[error("Disabled method \"{name}\" in list \"{list}\"")]
    Disabled { name: String, list: String },
}
crate::error_text::debug_as_display!(AuthMethodsError);

/// `auth2_methods_valid`: Err with the offending method.
fn auth_methods_valid(list: &str, enabled: Option<&Opts>) -> Result<(), AuthMethodsError> {
    if list.is_empty() {
        return Err(AuthMethodsError::Empty);
    }
    for m in list.split(',') {
        let name = m.split(':').next().unwrap_or("");
        if !AUTH_METHODS.contains(&name) {
            return Err(AuthMethodsError::Unknown {
                name: name.to_string(),
            });
        }
        if let Some(o) = enabled {
            let f = match name {
                "publickey" => Some(F::PubkeyAuthentication),
                "gssapi-keyex" | "gssapi-with-mic" => Some(F::GssAuthentication),
                "password" => Some(F::PasswordAuthentication),
                "keyboard-interactive" => Some(F::KbdInteractiveAuthentication),
                "hostbased" => Some(F::HostbasedAuthentication),
                _ => None,
            };
            if let Some(f) = f {
                if o.int(f).unwrap_or(0) == 0 {
                    return Err(AuthMethodsError::Disabled {
                        name: name.to_string(),
                        list: list.to_string(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// `argv_assemble`: arguments joined by spaces, `\\`, `'` and `"` escaped, an argument
/// with blanks double-quoted.
fn argv_assemble(args: &[&str]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let ws = a.contains([' ', '\t']);
        if ws {
            out.push('"');
        }
        for c in a.chars() {
            if matches!(c, '\\' | '\'' | '"') {
                out.push('\\');
            }
            out.push(c);
        }
        if ws {
            out.push('"');
        }
    }
    out
}

impl Pass<'_> {
    /// `PerSourcePenalties` (9.8): `yes`/`no` alone, or `class:duration` and limits.
    fn penalties(
        &self,
        o: &mut Opts,
        d: &Directive,
        a: &mut Args,
        act: bool,
    ) -> Result<(), SshdError> {
        let kw = d.keyword.as_str();
        let org = origin(d);
        let mut found = false;
        while let Some(arg) = a.next() {
            found = true;
            let yes = arg.eq_ignore_ascii_case("yes");
            if yes || arg.eq_ignore_ascii_case("no") {
                if a.left() > 0 {
                    return Err(err(
                        d,
                        format!("keyword {kw} \"{arg}\" argument must appear alone."),
                    ));
                }
                if act && !o.is_set(F::PspEnabled) {
                    o.set_int(F::PspEnabled, i64::from(yes), &org);
                }
                continue;
            }
            let mut times: Vec<(&str, F)> = vec![
                ("crash:", F::PspCrash),
                ("authfail:", F::PspAuthfail),
                ("noauth:", F::PspNoauth),
                ("grace-exceeded:", F::PspGrace),
            ];
            if self.p.ge(909) {
                times.push(("refuseconnection:", F::PspRefuse));
            }
            times.extend([("max:", F::PspMax), ("min:", F::PspMin)]);
            let (f, value) = if let Some((rest, f)) = times
                .iter()
                .find_map(|(pre, f)| arg.strip_prefix(pre).map(|r| (r, *f)))
            {
                let v =
                    convtime(rest).ok_or_else(|| err(d, format!("invalid {kw} time value.")))?;
                (f, v)
            } else if let Some(rest) = arg.strip_prefix("max-sources4:") {
                let v = atoi_err(Some(rest)).map_err(|e| err(d, format!("{kw} value {e}.")))?;
                (F::PspMaxSources4, v)
            } else if let Some(rest) = arg.strip_prefix("max-sources6:") {
                let v = atoi_err(Some(rest)).map_err(|e| err(d, format!("{kw} value {e}.")))?;
                (F::PspMaxSources6, v)
            } else {
                match arg {
                    "overflow:deny-all" => (F::PspOverflow, 1),
                    "overflow:permissive" => (F::PspOverflow, 2),
                    "overflow6:deny-all" => (F::PspOverflow6, 1),
                    "overflow6:permissive" => (F::PspOverflow6, 2),
                    _ => return Err(err(d, format!("unsupported {kw} keyword {arg}"))),
                }
            };
            if act && !o.is_set(f) {
                o.set_int(f, value, &org);
                o.set_int(F::PspEnabled, 1, &org);
            }
        }
        if !found {
            return Err(err(d, format!("no {kw} specified")));
        }
        Ok(())
    }

    /// Walks one file's nodes: `parse_server_config_depth`.
    pub fn walk(
        &self,
        o: &mut Opts,
        nodes: &[Node],
        mut flags: u8,
        active: &mut bool,
    ) -> Result<(), SshdError> {
        for n in nodes {
            match n {
                Node::Line(d) => self.line(o, d, &mut flags, active)?,
                Node::Include { dir, files } => {
                    // The keyword check of the Include line itself.
                    self.line(o, dir, &mut flags, active)?;
                    let oactive = *active;
                    let child = if flags & MATCH_ONLY != 0 {
                        MATCH_ONLY
                    } else if oactive {
                        0
                    } else {
                        NEVERMATCH
                    };
                    for IncFile { nodes, .. } in files {
                        self.walk(o, nodes, child, active)?;
                        *active = oactive;
                    }
                }
            }
        }
        Ok(())
    }

    /// One directive: `process_server_config_line_depth`.
    fn line(
        &self,
        o: &mut Opts,
        d: &Directive,
        flags: &mut u8,
        active: &mut bool,
    ) -> Result<(), SshdError> {
        let Some((op, kflags)) = keywords::lookup_in(self.p, &d.key) else {
            return Err(err(d, format!("Bad configuration option: {}", d.keyword)));
        };
        if !*active && kflags & MATCH == 0 {
            if self.ci.is_none() {
                return Err(err(
                    d,
                    format!(
                        "Directive '{}' is not allowed within a Match block",
                        d.keyword
                    ),
                ));
            }
            return Ok(());
        }
        let mut a = Args { v: &d.args, i: 0 };
        self.handle(o, d, op, &mut a, flags, active)?;
        if a.left() > 0 {
            return Err(err(
                d,
                format!("keyword {} extra arguments at end of line", d.keyword),
            ));
        }
        Ok(())
    }

    /// `match_cfg_line`: Ok((matched, rest of the line not consumed)).
    fn match_line<'s>(
        &self,
        d: &Directive,
        raw: &'s str,
        ci: Option<&Connection>,
    ) -> Result<(bool, Option<&'s str>), SshdError> {
        let bad = |m: String| err(d, format!("Bad Match condition: {m}"));
        let mut cp = Some(raw);
        let mut result = true;
        let mut attributes = 0;
        loop {
            let (attrib, rest) = strdelim(cp, true);
            cp = rest;
            let Some(attrib) = attrib else { break };
            if attrib.is_empty() {
                break;
            }
            if attrib.starts_with('#') {
                cp = None;
                break;
            }
            attributes += 1;
            // 9.9: `Match Invalid-User` takes no argument.
            if self.p.ge(909) && attrib.eq_ignore_ascii_case("invalid-user") {
                if !ci.is_some_and(|c| c.invalid_user) {
                    result = false;
                }
                continue;
            }
            if attrib.eq_ignore_ascii_case("all") {
                if attributes > 1 {
                    return Err(bad(
                        "'all' cannot be combined with other Match attributes".into()
                    ));
                }
                let (arg, rest) = strdelim(cp, true);
                cp = rest;
                if let Some(a) = &arg {
                    if !a.is_empty() && !a.starts_with('#') {
                        return Err(bad(
                            "'all' cannot be combined with other Match attributes".into()
                        ));
                    }
                    if a.starts_with('#') {
                        cp = None;
                    }
                }
                return Ok((true, cp));
            }
            let (arg, rest) = strdelim(cp, true);
            cp = rest;
            let arg = match arg {
                Some(a) if !a.is_empty() && !a.starts_with('#') => a,
                _ => return Err(bad(format!("Missing Match criteria for {attrib}"))),
            };
            let missing = |what: &str, field: &str| {
                err(
                    d,
                    format!(
                        "'Match {what}' in configuration but '{field}' not in connection test specification."
                    ),
                )
            };
            match attrib.to_ascii_lowercase().as_str() {
                "user" => match ci.and_then(|c| c.user.as_deref()) {
                    None => result = false,
                    Some(u) => {
                        if match_pattern_list(u, &arg, false) != 1 {
                            result = false;
                        }
                    }
                },
                "group" => match ci.and_then(|c| c.user.as_deref()) {
                    None => result = false,
                    Some(u) => {
                        let ok = match self.sys.groups_of(u) {
                            None => false,
                            Some(groups) => {
                                let mut found = false;
                                let mut negated = false;
                                for g in &groups {
                                    match match_pattern_list(g, &arg, false) {
                                        -1 => negated = true,
                                        1 => found = true,
                                        _ => {}
                                    }
                                }
                                found && !negated
                            }
                        };
                        if !ok {
                            result = false;
                        }
                    }
                },
                "host" => match ci.and_then(|c| c.host.as_deref()) {
                    None => result = false,
                    Some(h) => {
                        if match_hostname(h, &arg) != 1 {
                            result = false;
                        }
                    }
                },
                k @ ("address" | "localaddress") => {
                    let addr = ci.and_then(|c| {
                        if k == "address" {
                            c.addr.as_deref()
                        } else {
                            c.laddr.as_deref()
                        }
                    });
                    match addr {
                        None => {
                            if addr_match_list(None, &arg) != 0 {
                                return Err(bad(format!("Invalid Match {k} argument '{arg}'")));
                            }
                            result = false;
                        }
                        Some(a) => match addr_match_list(Some(a), &arg) {
                            1 => {}
                            -2 => return Err(bad(format!("Invalid Match {k} argument '{arg}'"))),
                            _ => result = false,
                        },
                    }
                }
                "localport" => {
                    let port = a2port(self.sys, &arg);
                    if port == -1 {
                        return Err(bad(format!("Invalid LocalPort '{arg}' on Match line")));
                    }
                    match ci {
                        None => result = false,
                        Some(c) => match c.lport.filter(|p| *p != 0) {
                            None if self.lenient_lport => result = false,
                            None => return Err(missing("LocalPort", "lport")),
                            Some(lp) => {
                                if i64::from(lp) != port {
                                    result = false;
                                }
                            }
                        },
                    }
                }
                "rdomain" => match ci.and_then(|c| c.rdomain.as_deref()) {
                    None => result = false,
                    Some(r) => {
                        if match_pattern_list(r, &arg, false) != 1 {
                            result = false;
                        }
                    }
                },
                // 10.0: the running sshd's release string, with or without a connection.
                "version" if self.p.ge(1000) => {
                    let rel = self.p.banner.as_deref().unwrap_or("");
                    if match_pattern_list(rel, &arg, false) != 1 {
                        result = false;
                    }
                }
                _ => return Err(bad(format!("Unsupported Match attribute {attrib}"))),
            }
        }
        if attributes == 0 {
            return Err(bad("One or more attributes required for Match".into()));
        }
        Ok((result, cp))
    }

    fn handle(
        &self,
        o: &mut Opts,
        d: &Directive,
        op: Op,
        a: &mut Args,
        flags: &mut u8,
        active: &mut bool,
    ) -> Result<(), SshdError> {
        let org = origin(d);
        let kw = d.keyword.as_str();
        let act = *active;
        let missing = |what: &str| err(d, format!("{kw} missing {what}."));
        // Shared shapes.
        let multistate = |o: &mut Opts, a: &mut Args, f: F, t: &[(&str, i64)]| {
            let arg = a
                .next()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| missing("argument"))?;
            let v = lookup_ci(t, arg)
                .ok_or_else(|| err(d, format!("unsupported option \"{arg}\".")))?;
            if act && !o.is_set(f) {
                o.set_int(f, v, &org);
            }
            Ok::<(), SshdError>(())
        };
        let time = |o: &mut Opts, a: &mut Args, f: F| {
            let arg = a
                .next()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| err(d, "missing time value."))?;
            let v = convtime(arg).ok_or_else(|| err(d, "invalid time value."))?;
            if act && !o.is_set(f) {
                o.set_int(f, v, &org);
            }
            Ok::<(), SshdError>(())
        };
        let int = |o: &mut Opts, a: &mut Args, f: F| {
            let v = atoi_err(a.next()).map_err(|e| err(d, format!("{kw} integer value {e}.")))?;
            if act && !o.is_set(f) {
                o.set_int(f, v, &org);
            }
            Ok::<(), SshdError>(())
        };
        let filename = |o: &mut Opts, a: &mut Args, f: F| {
            let arg = a
                .next()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| err(d, "missing file name."))?;
            if act && !o.is_set(f) {
                let p = derelativise(self.sys, d, arg)?;
                o.set_str(f, p, &org);
            }
            Ok::<(), SshdError>(())
        };
        let one_str = |o: &mut Opts, a: &mut Args, f: F| {
            let arg = a
                .next()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| missing("argument"))?;
            if act && !o.is_set(f) {
                o.set_str(f, arg.to_string(), &org);
            }
            Ok::<(), SshdError>(())
        };
        let algos = |o: &mut Opts, a: &mut Args, f: F, fam: Family, what: &str| {
            let arg = a
                .next()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| err(d, "Missing argument."))?;
            let body = arg.strip_prefix(['+', '^']).unwrap_or(arg);
            if !arg.starts_with('-') && !algs::valid(self.p, fam, body) {
                return Err(err(d, format!("Bad {what} '{arg}'.")));
            }
            if act && !o.is_set(f) {
                o.set_str(f, arg.to_string(), &org);
            }
            Ok::<(), SshdError>(())
        };
        match op {
            Op::Match => {
                let ci = if *flags & NEVERMATCH != 0 {
                    None
                } else {
                    self.ci
                };
                let (value, rest) = self.match_line(d, &d.rest, ci)?;
                *active = *flags & NEVERMATCH == 0 && value;
                *flags &= !MATCH_ONLY;
                if rest.is_none_or(str::is_empty) {
                    a.consume();
                }
            }
            Op::Include => {
                if d.args.iter().any(String::is_empty) {
                    return Err(err(d, format!("keyword {kw} empty argument")));
                }
                if d.args.is_empty() {
                    return Err(err(d, format!("{kw} missing filename argument")));
                }
                a.consume();
            }
            Op::UsePam => multistate(o, a, F::UsePam, FLAG)?,
            Op::Port => {
                if o.list(F::Ports).len() >= 256 {
                    return Err(err(d, "too many ports."));
                }
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| err(d, "missing port number."))?;
                let p = a2port(self.sys, arg);
                if p <= 0 {
                    return Err(err(d, "Badly formatted port number."));
                }
                o.push(F::Ports, p.to_string(), &org);
            }
            Op::LoginGraceTime => time(o, a, F::LoginGraceTime)?,
            Op::ListenAddress => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| err(d, "missing address"))?;
                let bare_v6 =
                    !arg.contains('[') && arg.find(':').is_some_and(|i| arg[i + 1..].contains(':'));
                let (host, port) = if bare_v6 {
                    (arg, 0)
                } else {
                    let (h, rest) = hpdelim(arg).map_err(|()| err(d, "bad address:port usage"))?;
                    let port = match rest {
                        None => 0,
                        Some(r) => {
                            let p = a2port(self.sys, r);
                            if p <= 0 {
                                return Err(err(d, "bad port number"));
                            }
                            p
                        }
                    };
                    (cleanhostname(h), port)
                };
                if let Some(x) = a.next() {
                    if x != "rdomain" || a.next().is_none() {
                        return Err(err(d, "bad ListenAddress syntax"));
                    }
                    return Err(err(
                        d,
                        "bad routing domain (not supported on this platform)",
                    ));
                }
                o.queued.push(QueuedListen {
                    addr: host.to_string(),
                    port,
                    origin: Some(org.clone()),
                });
            }
            Op::AddressFamily => multistate(o, a, F::AddressFamily, ADDRESS_FAMILY)?,
            Op::HostKey | Op::HostCertificate => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| err(d, "missing file name."))?;
                if act {
                    let p = derelativise(self.sys, d, arg)?;
                    let f = if op == Op::HostKey {
                        F::HostKeys
                    } else {
                        F::HostCerts
                    };
                    o.push(f, p, &org);
                }
            }
            Op::HostKeyAgent => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| err(d, "missing socket name."))?;
                if act && !o.is_set(F::HostKeyAgent) {
                    let v = if arg == "SSH_AUTH_SOCK" {
                        arg.to_string()
                    } else {
                        derelativise(self.sys, d, arg)?
                    };
                    o.set_str(F::HostKeyAgent, v, &org);
                }
            }
            Op::PidFile => filename(o, a, F::PidFile)?,
            Op::ModuliFile => filename(o, a, F::ModuliFile)?,
            Op::XAuthLocation => filename(o, a, F::XAuthLocation)?,
            Op::Banner => filename(o, a, F::Banner)?,
            Op::TrustedUserCaKeys => filename(o, a, F::TrustedUserCaKeys)?,
            Op::RevokedKeys => filename(o, a, F::RevokedKeysFile)?,
            Op::PermitRootLogin => multistate(o, a, F::PermitRootLogin, PERMIT_ROOT_LOGIN)?,
            Op::IgnoreRhosts => multistate(o, a, F::IgnoreRhosts, IGNORE_RHOSTS)?,
            Op::IgnoreUserKnownHosts => multistate(o, a, F::IgnoreUserKnownHosts, FLAG)?,
            Op::HostbasedAuthentication => multistate(o, a, F::HostbasedAuthentication, FLAG)?,
            Op::HostbasedUsesNameFromPacketOnly => {
                multistate(o, a, F::HostbasedUsesNameFromPacketOnly, FLAG)?
            }
            Op::HostbasedAcceptedAlgorithms => {
                algos(o, a, F::HostbasedAcceptedAlgos, Family::Key, "key types")?
            }
            Op::HostKeyAlgorithms => algos(o, a, F::HostKeyAlgorithms, Family::Key, "key types")?,
            Op::CaSignatureAlgorithms => {
                algos(o, a, F::CaSignAlgorithms, Family::Key, "key types")?
            }
            Op::PubkeyAcceptedAlgorithms => {
                algos(o, a, F::PubkeyAcceptedAlgos, Family::Key, "key types")?
            }
            Op::PubkeyAuthentication => multistate(o, a, F::PubkeyAuthentication, FLAG)?,
            Op::PubkeyAuthOptions => {
                let mut v = 0;
                while let Some(arg) = a.next() {
                    if arg.eq_ignore_ascii_case("none") {
                        continue;
                    } else if arg.eq_ignore_ascii_case("touch-required") {
                        v |= 1;
                    } else if arg.eq_ignore_ascii_case("verify-required") {
                        v |= 2;
                    } else {
                        return Err(err(d, format!("unsupported {kw} option {arg}")));
                    }
                }
                if act && !o.is_set(F::PubkeyAuthOptions) {
                    o.set_int(F::PubkeyAuthOptions, v, &org);
                }
            }
            Op::KerberosAuthentication => multistate(o, a, F::KerberosAuthentication, FLAG)?,
            Op::KerberosOrLocalPasswd => multistate(o, a, F::KerberosOrLocalPasswd, FLAG)?,
            Op::KerberosTicketCleanup => multistate(o, a, F::KerberosTicketCleanup, FLAG)?,
            Op::GssAuthentication => multistate(o, a, F::GssAuthentication, FLAG)?,
            Op::GssKeyEx => multistate(o, a, F::GssKeyex, FLAG)?,
            Op::GssCleanupCreds => multistate(o, a, F::GssCleanupCreds, FLAG)?,
            Op::GssStrictAcceptor => multistate(o, a, F::GssStrictAcceptor, FLAG)?,
            Op::GssStoreRekey => multistate(o, a, F::GssStoreRekey, FLAG)?,
            Op::GssKexAlgorithms => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| err(d, "Missing argument."))?;
                if !algs::gss_valid(self.p, arg) {
                    return Err(err(d, format!("Bad GSSAPI KexAlgorithms '{arg}'.")));
                }
                if act && !o.is_set(F::GssKexAlgorithms) {
                    o.set_str(F::GssKexAlgorithms, arg.to_string(), &org);
                }
            }
            Op::PasswordAuthentication => multistate(o, a, F::PasswordAuthentication, FLAG)?,
            Op::KbdInteractiveAuthentication => {
                multistate(o, a, F::KbdInteractiveAuthentication, FLAG)?
            }
            Op::PrintMotd => multistate(o, a, F::PrintMotd, FLAG)?,
            Op::PrintLastLog => multistate(o, a, F::PrintLastLog, FLAG)?,
            Op::X11Forwarding => multistate(o, a, F::X11Forwarding, FLAG)?,
            Op::X11DisplayOffset => int(o, a, F::X11DisplayOffset)?,
            Op::X11UseLocalhost => multistate(o, a, F::X11UseLocalhost, FLAG)?,
            Op::PermitTty => multistate(o, a, F::PermitTty, FLAG)?,
            Op::PermitUserRc => multistate(o, a, F::PermitUserRc, FLAG)?,
            Op::StrictModes => multistate(o, a, F::StrictModes, FLAG)?,
            Op::TcpKeepAlive => multistate(o, a, F::TcpKeepAlive, FLAG)?,
            Op::PermitEmptyPasswords => multistate(o, a, F::PermitEmptyPasswd, FLAG)?,
            Op::PermitUserEnvironment => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                let (v, p) = match arg {
                    "yes" => (1, None),
                    "no" => (0, None),
                    _ => (1, Some(arg)),
                };
                if act && !o.is_set(F::PermitUserEnv) {
                    o.set_int(F::PermitUserEnv, v, &org);
                    if let Some(p) = p {
                        o.set_str(F::PermitUserEnvAllowlist, p.to_string(), &org);
                    }
                }
            }
            Op::Compression => multistate(o, a, F::Compression, COMPRESSION)?,
            Op::RekeyLimit => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                let v = if arg == "default" {
                    0
                } else {
                    let v = scan_scaled(arg)
                        .ok_or_else(|| err(d, format!("Bad {kw} number '{arg}'")))?;
                    if v != 0 && v < 16 {
                        return Err(err(d, format!("{kw} too small")));
                    }
                    v
                };
                if act && !o.is_set(F::RekeyLimit) {
                    o.set_int(F::RekeyLimit, v, &org);
                }
                if a.left() > 0 {
                    if a.peek() == Some("none") {
                        a.next();
                    } else {
                        time(o, a, F::RekeyInterval)?;
                    }
                }
            }
            Op::GatewayPorts => multistate(o, a, F::GatewayPorts, GATEWAY_PORTS)?,
            Op::UseDns => multistate(o, a, F::UseDns, FLAG)?,
            Op::LogFacility => {
                let arg = a.next().unwrap_or("");
                let v = lookup_ci(LOG_FACILITIES, arg)
                    .ok_or_else(|| err(d, format!("unsupported log facility '{arg}'")))?;
                if !o.is_set(F::LogFacility) {
                    o.set_int(F::LogFacility, v, &org);
                }
            }
            Op::LogLevel => {
                let arg = a.next().unwrap_or("");
                let v = lookup_ci(LOG_LEVELS, arg)
                    .ok_or_else(|| err(d, format!("unsupported log level '{arg}'")))?;
                if act && !o.is_set(F::LogLevel) {
                    o.set_int(F::LogLevel, v, &org);
                }
            }
            Op::LogVerbose => {
                let found = !o.is_set(F::LogVerbose);
                let mut i = 0;
                while let Some(arg) = a.next() {
                    if arg.is_empty() {
                        return Err(err(d, format!("keyword {kw} empty argument")));
                    }
                    if arg.eq_ignore_ascii_case("none") && (i > 0 || a.left() > 0) {
                        return Err(err(
                            d,
                            format!("keyword {kw} \"none\" argument must appear alone."),
                        ));
                    }
                    i += 1;
                    if found && act {
                        o.push(F::LogVerbose, arg.to_string(), &org);
                    }
                }
            }
            Op::AllowTcpForwarding => multistate(o, a, F::AllowTcpForwarding, TCP_FWD)?,
            Op::AllowStreamLocalForwarding => {
                multistate(o, a, F::AllowStreamlocalForwarding, TCP_FWD)?
            }
            Op::AllowAgentForwarding => multistate(o, a, F::AllowAgentForwarding, FLAG)?,
            Op::DisableForwarding => multistate(o, a, F::DisableForwarding, FLAG)?,
            Op::AllowUsers | Op::DenyUsers => {
                let f = if op == Op::AllowUsers {
                    F::AllowUsers
                } else {
                    F::DenyUsers
                };
                while let Some(arg) = a.next() {
                    if arg.is_empty() || !user_pattern_valid(arg) {
                        return Err(err(d, format!("invalid {kw} pattern: \"{arg}\"")));
                    }
                    if act {
                        o.push(f, arg.to_string(), &org);
                    }
                }
            }
            Op::AllowGroups | Op::DenyGroups => {
                let f = if op == Op::AllowGroups {
                    F::AllowGroups
                } else {
                    F::DenyGroups
                };
                while let Some(arg) = a.next() {
                    if arg.is_empty() {
                        return Err(err(d, format!("empty {kw} pattern")));
                    }
                    if act {
                        o.push(f, arg.to_string(), &org);
                    }
                }
            }
            Op::Ciphers | Op::Macs | Op::KexAlgorithms => {
                let (f, fam, what) = match op {
                    Op::Ciphers => (F::Ciphers, Family::Cipher, "SSH2 cipher spec"),
                    Op::Macs => (F::Macs, Family::Mac, "SSH2 mac spec"),
                    _ => (F::KexAlgorithms, Family::Kex, "SSH2 KexAlgorithms"),
                };
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                let body = arg.strip_prefix(['+', '^']).unwrap_or(arg);
                if !arg.starts_with('-') && !algs::valid(self.p, fam, body) {
                    return Err(err(d, format!("Bad {what} '{arg}'.")));
                }
                if !o.is_set(f) {
                    o.set_str(f, arg.to_string(), &org);
                }
            }
            Op::Subsystem if self.p.ge(905) => {
                // 9.5: allowed in Match, a duplicate is ignored, the command keeps its
                // quoting (`argv_assemble`).
                let name = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                if !act || o.list(F::SubsystemNames).iter().any(|(n, _)| n == name) {
                    a.consume();
                } else {
                    let cmd = a
                        .next()
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| err(d, "Missing subsystem command."))?;
                    let rest: Vec<&str> = std::iter::from_fn(|| a.next()).collect();
                    let mut args = argv_assemble(&[cmd]);
                    let tail = argv_assemble(&rest);
                    if !tail.is_empty() {
                        args.push(' ');
                        args.push_str(&tail);
                    }
                    o.push(F::SubsystemNames, name.to_string(), &org);
                    o.push(F::SubsystemArgs, args, &org);
                }
            }
            Op::Subsystem => {
                if o.list(F::SubsystemNames).len() >= 256 {
                    return Err(err(d, "too many subsystems defined."));
                }
                let name = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                if !act {
                    a.next();
                } else {
                    if o.list(F::SubsystemNames).iter().any(|(n, _)| n == name) {
                        return Err(err(d, format!("Subsystem '{name}' already defined.")));
                    }
                    let cmd = a
                        .next()
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| err(d, "Missing subsystem command."))?;
                    let mut args = cmd.to_string();
                    while let Some(x) = a.next() {
                        args.push(' ');
                        args.push_str(x);
                    }
                    o.push(F::SubsystemNames, name.to_string(), &org);
                    o.push(F::SubsystemArgs, args, &org);
                }
            }
            Op::MaxStartups => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                let v = scan_ints(arg, 3);
                let bad = || err(d, format!("Invalid {kw} spec."));
                let fields = [F::MaxStartupsBegin, F::MaxStartupsRate, F::MaxStartups];
                for (f, x) in fields.iter().zip(&v) {
                    o.set_int(*f, *x, &org);
                }
                let get = |o: &Opts, f| o.int(f).unwrap_or(-1);
                if v.len() == 3 {
                    if v[0] > v[2] || v[1] > 100 || v[1] < 1 {
                        return Err(bad());
                    }
                } else if v.len() != 1 {
                    return Err(bad());
                } else {
                    o.set_int(F::MaxStartups, v[0], &org);
                }
                if get(o, F::MaxStartups) <= 0 || get(o, F::MaxStartupsBegin) <= 0 {
                    return Err(bad());
                }
            }
            Op::PerSourceNetBlockSize => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                let v = scan_ints(arg, 2);
                let ok = match v.len() {
                    2 => (0..=128).contains(&v[1]) && (0..=32).contains(&v[0]),
                    1 => (0..=32).contains(&v[0]),
                    _ => false,
                };
                if !ok {
                    return Err(err(d, format!("Invalid {kw} spec.")));
                }
                if act {
                    o.set_int(F::PerSourceMasklenV4, v[0], &org);
                    // sshd leaves the IPv6 length uninitialised here; this build prints 0.
                    o.set_int(F::PerSourceMasklenV6, v.get(1).copied().unwrap_or(0), &org);
                }
            }
            Op::PerSourceMaxStartups => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                let v = if arg == "none" {
                    INT_MAX
                } else {
                    atoi_err(Some(arg)).map_err(|e| err(d, format!("{kw} integer value {e}.")))?
                };
                // First match wins from 9.5; the last value before.
                if act && (!self.p.ge(905) || !o.is_set(F::PerSourceMaxStartups)) {
                    o.set_int(F::PerSourceMaxStartups, v, &org);
                }
            }
            Op::MaxAuthTries => int(o, a, F::MaxAuthTries)?,
            Op::MaxSessions => int(o, a, F::MaxSessions)?,
            Op::AuthorizedKeysFile => {
                let first = !o.is_set(F::AuthorizedKeysFiles);
                while let Some(arg) = a.next() {
                    if arg.is_empty() {
                        return Err(err(d, format!("keyword {kw} empty argument")));
                    }
                    let p = tilde_expand(self.sys, d, arg)?;
                    if act && first {
                        o.push(F::AuthorizedKeysFiles, p, &org);
                    }
                }
            }
            Op::AuthorizedPrincipalsFile => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                if act && !o.is_set(F::AuthorizedPrincipalsFile) {
                    let p = tilde_expand(self.sys, d, arg)?;
                    o.set_str(F::AuthorizedPrincipalsFile, p, &org);
                }
            }
            Op::ClientAliveInterval => time(o, a, F::ClientAliveInterval)?,
            Op::ClientAliveCountMax => int(o, a, F::ClientAliveCountMax)?,
            Op::AcceptEnv => {
                while let Some(arg) = a.next() {
                    if arg.is_empty() || arg.contains('=') {
                        return Err(err(d, "Invalid environment name."));
                    }
                    if act {
                        o.push(F::AcceptEnv, arg.to_string(), &org);
                    }
                }
            }
            Op::SetEnv => {
                let first = !o.is_set(F::SetEnv);
                while let Some(arg) = a.next() {
                    let Some((name, _)) = arg.split_once('=') else {
                        return Err(err(d, "Invalid environment."));
                    };
                    if !act || !first {
                        continue;
                    }
                    let dup = o
                        .list(F::SetEnv)
                        .iter()
                        .any(|(e, _)| e.split_once('=').is_some_and(|(n, _)| n == name));
                    if !dup {
                        o.push(F::SetEnv, arg.to_string(), &org);
                    }
                }
            }
            Op::PermitTunnel => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                let v = TUN_MODE
                    .iter()
                    .find(|(n, _)| *n == arg)
                    .map(|(_, v)| *v)
                    .ok_or_else(|| err(d, format!("bad {kw} argument {arg}")))?;
                if act && !o.is_set(F::PermitTun) {
                    o.set_int(F::PermitTun, v, &org);
                }
            }
            Op::PermitOpen | Op::PermitListen => {
                let f = if op == Op::PermitListen {
                    F::PermittedListens
                } else {
                    F::PermittedOpens
                };
                let first = !o.is_set(f);
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                if self.p.ge(907) {
                    // 9.7: every argument is read; "any"/"none" only first.
                    let mut cur = Some(arg);
                    let mut got: Vec<String> = Vec::new();
                    while let Some(arg) = cur {
                        if arg == "any" || arg == "none" {
                            if !got.is_empty() {
                                return Err(err(
                                    d,
                                    format!("{arg} must appear alone on a {kw} line."),
                                ));
                            }
                            got.push(arg.to_string());
                        } else {
                            let (entry, port) = if op == Op::PermitListen && !arg.contains(':') {
                                (format!("*:{arg}"), Some(arg))
                            } else {
                                let (_, rest) = hpdelim(arg)
                                    .map_err(|()| err(d, format!("{kw} missing host")))?;
                                (arg.to_string(), rest)
                            };
                            let port_ok = port.is_some_and(|p| p == "*" || a2port(self.sys, p) > 0);
                            if !port_ok {
                                return Err(err(d, format!("{kw} bad port number")));
                            }
                            got.push(entry);
                        }
                        cur = a.next();
                    }
                    if act && first {
                        for g in got {
                            o.push(f, g, &org);
                        }
                    }
                } else if arg == "any" || arg == "none" {
                    if act && first {
                        o.push(f, arg.to_string(), &org);
                    }
                } else {
                    let mut cur = Some(arg);
                    while let Some(arg) = cur.filter(|s| !s.is_empty()) {
                        let (entry, port) = if op == Op::PermitListen && !arg.contains(':') {
                            (format!("*:{arg}"), Some(arg))
                        } else {
                            let (_, rest) =
                                hpdelim(arg).map_err(|()| err(d, format!("{kw} missing host")))?;
                            (arg.to_string(), rest)
                        };
                        let port_ok = port.is_some_and(|p| p == "*" || a2port(self.sys, p) > 0);
                        if !port_ok {
                            return Err(err(d, format!("{kw} bad port number")));
                        }
                        if act && first {
                            o.push(f, entry, &org);
                        }
                        cur = a.next();
                    }
                }
            }
            Op::ForceCommand => {
                let v = d.rest.trim_start_matches([' ', '\t', '\r', '\n']);
                if act && !o.is_set(F::ForceCommand) {
                    o.set_str(F::ForceCommand, v.to_string(), &org);
                }
                a.consume();
            }
            Op::ChrootDirectory => one_str(o, a, F::ChrootDirectory)?,
            Op::SecurityKeyProvider => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                if act && !o.is_set(F::SkProvider) {
                    let v = if arg.eq_ignore_ascii_case("internal") {
                        arg.to_string()
                    } else {
                        derelativise(self.sys, d, arg)?
                    };
                    o.set_str(F::SkProvider, v, &org);
                }
            }
            Op::IpQos => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                // Debian's 10.0 (upstream 10.1) ignores the IPv4 TOS names: "none".
                let tos_gone = self.p.debian() && self.p.ge(1000);
                let q = |s: &str| {
                    let v = parse_ipqos(s).ok_or_else(|| err(d, format!("Bad {kw} value: {s}")))?;
                    let tos = ["lowdelay", "throughput", "reliability"]
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(s));
                    Ok::<i64, SshdError>(if tos_gone && tos { INT_MAX } else { v })
                };
                let v = q(arg)?;
                let v2 = match a.next() {
                    None => v,
                    Some(x) => q(x)?,
                };
                if act {
                    o.set_int(F::IpQosInteractive, v, &org);
                    o.set_int(F::IpQosBulk, v2, &org);
                }
            }
            Op::VersionAddendum => {
                let v = d.rest.trim_start_matches([' ', '\t', '\r', '\n']);
                if v.contains('\r') {
                    return Err(err(d, format!("Invalid {kw} argument")));
                }
                if act && !o.is_set(F::VersionAddendum) {
                    let v = if v.eq_ignore_ascii_case("none") {
                        ""
                    } else {
                        v
                    };
                    o.set_str(F::VersionAddendum, v.to_string(), &org);
                }
                a.consume();
            }
            Op::AuthorizedKeysCommand | Op::AuthorizedPrincipalsCommand => {
                let v = d.rest.trim_start_matches([' ', '\t', '\r', '\n']);
                if !v.starts_with('/') && !v.eq_ignore_ascii_case("none") {
                    return Err(err(d, format!("{kw} must be an absolute path")));
                }
                // sshd tests AuthorizedKeysCommand for both keywords: once it is set,
                // AuthorizedPrincipalsCommand is ignored, and until then the last one wins.
                let quirk = self.p.ge(807) && !self.p.ge(904);
                let f = if op == Op::AuthorizedKeysCommand || quirk {
                    F::AuthorizedKeysCommand
                } else {
                    F::AuthorizedPrincipalsCommand
                };
                if act && !o.is_set(f) {
                    let f = if op == Op::AuthorizedKeysCommand {
                        F::AuthorizedKeysCommand
                    } else {
                        F::AuthorizedPrincipalsCommand
                    };
                    o.set_str(f, v.to_string(), &org);
                }
                a.consume();
            }
            Op::AuthorizedKeysCommandUser => one_str(o, a, F::AuthorizedKeysCommandUser)?,
            Op::AuthorizedPrincipalsCommandUser => {
                one_str(o, a, F::AuthorizedPrincipalsCommandUser)?
            }
            Op::AuthenticationMethods => {
                let found = !o.is_set(F::AuthMethods);
                let mut any = false;
                let mut parsed = false;
                // Before 8.7 a line after the first is skipped unread.
                if !found && !self.p.ge(807) {
                    a.consume();
                }
                while let Some(arg) = a.next() {
                    if arg == "any" {
                        // 9.7 checks this line only; before, any value already set.
                        let before = if self.p.ge(907) {
                            parsed
                        } else {
                            o.is_set(F::AuthMethods)
                        };
                        if before {
                            return Err(err(d, format!("\"any\" must appear alone in {kw}")));
                        }
                        any = true;
                    } else if any {
                        return Err(err(d, format!("\"any\" must appear alone in {kw}")));
                    } else if let Err(e) = auth_methods_valid(arg, None) {
                        return Err(err(d, format!("invalid {kw} method list: {e}")));
                    }
                    parsed = true;
                    if found && act {
                        o.push(F::AuthMethods, arg.to_string(), &org);
                    }
                }
                if !parsed && (found || self.p.ge(807)) {
                    return Err(err(d, format!("no {kw} specified")));
                }
            }
            Op::StreamLocalBindMask => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                let v = match strtol(arg, 8) {
                    Some((v, _)) if (0..=0o777).contains(&v) => v,
                    _ => return Err(err(d, format!("Invalid {kw}."))),
                };
                if act {
                    o.set_int(F::StreamlocalBindMask, v, &org);
                }
            }
            Op::StreamLocalBindUnlink => multistate(o, a, F::StreamlocalBindUnlink, FLAG)?,
            Op::FingerprintHash => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("argument"))?;
                let v = lookup_ci(DIGESTS, arg)
                    .ok_or_else(|| err(d, format!("Invalid {kw} algorithm \"{arg}\".")))?;
                if act {
                    o.set_int(F::FingerprintHash, v, &org);
                }
            }
            Op::ExposeAuthInfo => multistate(o, a, F::ExposeAuthInfo, FLAG)?,
            Op::RDomain => {
                return Err(err(d, "setting RDomain not supported on this platform."));
            }
            Op::RequiredRsaSize => int(o, a, F::RequiredRsaSize)?,
            Op::ChannelTimeout => {
                let first = !o.is_set(F::ChannelTimeouts);
                while let Some(arg) = a.next() {
                    if arg.eq_ignore_ascii_case("none") {
                        // Before 9.7 sshd never advances its position counter here: only
                        // a "none" followed by more arguments is refused.
                        if a.left() > 0 || (self.p.ge(907) && a.i > 1) {
                            return Err(err(
                                d,
                                format!("keyword {kw} \"none\" argument must appear alone."),
                            ));
                        }
                    } else {
                        let ok = arg
                            .split_once('=')
                            .is_some_and(|(t, v)| !t.is_empty() && convtime(v).is_some());
                        if !ok {
                            return Err(err(d, format!("invalid channel timeout {arg}")));
                        }
                    }
                    if act && first {
                        o.push(F::ChannelTimeouts, arg.to_string(), &org);
                    }
                }
            }
            Op::UnusedConnectionTimeout => {
                if a.peek().is_some_and(|x| x.eq_ignore_ascii_case("none")) {
                    a.next();
                    if act {
                        o.set_int(F::UnusedConnectionTimeout, 0, &org);
                    }
                } else {
                    time(o, a, F::UnusedConnectionTimeout)?;
                }
            }
            Op::DebianBanner => multistate(o, a, F::DebianBanner, FLAG)?,
            Op::ChallengeResponse => multistate(o, a, F::ChallengeResponse, FLAG)?,
            Op::UsePrivilegeSeparation => multistate(o, a, F::UsePrivsep, PRIVSEP)?,
            Op::RefuseConnection => multistate(o, a, F::RefuseConnection, FLAG)?,
            Op::SshdSessionPath => filename(o, a, F::SshdSessionPath)?,
            Op::SshdAuthPath => filename(o, a, F::SshdAuthPath)?,
            Op::PamServiceName => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| err(d, "missing argument."))?;
                if act && !o.is_set(F::PamServiceName) {
                    o.set_str(F::PamServiceName, arg.to_string(), &org);
                }
            }
            Op::PerSourcePenaltyExemptList => {
                let arg = a
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| err(d, "missing argument."))?;
                if addr_match_list(None, arg) != 0 {
                    return Err(err(d, format!("keyword {kw} invalid address argument.")));
                }
                if act && !o.is_set(F::PerSourcePenaltyExempt) {
                    o.set_str(F::PerSourcePenaltyExempt, arg.to_string(), &org);
                }
            }
            Op::PerSourcePenalties => self.penalties(o, d, a, act)?,
            Op::Deprecated | Op::Ignore | Op::Unsupported => a.consume(),
        }
        Ok(())
    }
}

/// `process_queued_listen_addrs` plus the ListenAddress default of
/// `fill_default_server_options`: turns addresses and ports into printed lines.
fn process_listen(o: &mut Opts, defaults: bool) -> Result<(), SshdError> {
    if !o.is_set(F::Ports) {
        o.set(F::Ports, V::List(vec![("22".into(), None)]), None);
    }
    o.default_int(F::AddressFamily, 0);
    let family = o.int(F::AddressFamily).unwrap_or(0);
    let ports: Vec<String> = o.list(F::Ports).iter().map(|(p, _)| p.clone()).collect();
    let queued = std::mem::take(&mut o.queued);
    let add = |o: &mut Opts, addr: Option<&str>, port: &str, origin: &Option<Origin>| {
        let lines: Vec<String> = match addr {
            None => {
                let mut v = Vec::new();
                if family != 2 {
                    v.push(format!("[::]:{port}"));
                }
                if family != 10 {
                    v.push(format!("0.0.0.0:{port}"));
                }
                v
            }
            Some(a) => match super::matcher::addr_pton(a) {
                Some(x @ super::matcher::Addr::V4(_)) if family != 10 => {
                    vec![format!("{}:{port}", super::matcher::addr_ntop(x))]
                }
                Some(x @ super::matcher::Addr::V6(_)) if family != 2 => {
                    vec![format!("[{}]:{port}", super::matcher::addr_ntop(x))]
                }
                Some(_) => {
                    return Err(SshdError::Fatal(format!(
                        "bad addr or host: {a} (Address family for hostname not supported)"
                    )))
                }
                None => match a.split_once('%') {
                    // A scoped IPv6 address (fe80::1%eth0).
                    Some((ip, scope))
                        if ip.parse::<std::net::Ipv6Addr>().is_ok() && family != 2 =>
                    {
                        let ip: std::net::Ipv6Addr =
                            ip.parse().unwrap_or(std::net::Ipv6Addr::UNSPECIFIED);
                        vec![format!("[{ip}%{scope}]:{port}")]
                    }
                    // Host names are not resolved: the name is kept as written.
                    _ => vec![format!("{a}:{port}")],
                },
            },
        };
        for l in lines {
            o.listen.push((l, origin.clone()));
        }
        Ok(())
    };
    for q in &queued {
        if q.port > 0 {
            add(o, Some(&q.addr), &q.port.to_string(), &q.origin)?;
        } else {
            for p in &ports {
                add(o, Some(&q.addr), p, &q.origin)?;
            }
        }
    }
    if defaults && o.listen.is_empty() {
        for p in &ports {
            add(o, None, p, &None)?;
        }
    }
    Ok(())
}

/// Runs the startup pass: everything outside Match blocks (and `Match All`), then the
/// defaults and sshd's sanity checks.
pub(crate) fn startup(nodes: &[Node], sys: &SystemDb, p: &Profile) -> Result<Opts, SshdError> {
    let pass = Pass {
        sys,
        ci: None,
        lenient_lport: false,
        p,
    };
    let mut o = Opts::default();
    let mut active = true;
    pass.walk(&mut o, nodes, 0, &mut active)?;
    process_listen(&mut o, false)?;
    fill_defaults(&mut o, p)?;
    process_listen(&mut o, true)?;
    // Before 8.7 challenge-response is keyboard-interactive under another name: sshd
    // turns the latter on when the former is (once, after the defaults).
    if !p.ge(807) && o.int(F::ChallengeResponse) == Some(1) {
        let origin = o.origin(F::ChallengeResponse).cloned();
        if o.int(F::KbdInteractiveAuthentication) != Some(1) {
            o.set(F::KbdInteractiveAuthentication, V::Int(1), origin);
        }
    }
    let needs_user = |cmd: F, user: F| {
        o.str(cmd).is_some_and(|c| !c.eq_ignore_ascii_case("none")) && !o.is_set(user)
    };
    if needs_user(F::AuthorizedKeysCommand, F::AuthorizedKeysCommandUser) {
        return Err(SshdError::Fatal(
            "AuthorizedKeysCommand set without AuthorizedKeysCommandUser".into(),
        ));
    }
    if needs_user(
        F::AuthorizedPrincipalsCommand,
        F::AuthorizedPrincipalsCommandUser,
    ) {
        return Err(SshdError::Fatal(
            "AuthorizedPrincipalsCommand set without AuthorizedPrincipalsCommandUser".into(),
        ));
    }
    let methods = o.list(F::AuthMethods);
    if !methods.is_empty()
        && !methods
            .iter()
            .any(|(m, _)| auth_methods_valid(m, Some(&o)).is_ok())
    {
        return Err(SshdError::Fatal(
            "AuthenticationMethods cannot be satisfied by enabled authentication methods".into(),
        ));
    }
    Ok(o)
}

/// Re-processes the Match blocks for one connection and applies what they set:
/// `parse_server_match_config`.
pub(crate) fn for_connection(
    base: &Opts,
    nodes: &[Node],
    sys: &SystemDb,
    conn: &Connection,
    lenient_lport: bool,
    p: &Profile,
) -> Result<Opts, SshdError> {
    let pass = Pass {
        sys,
        ci: Some(conn),
        lenient_lport,
        p,
    };
    let mut mo = Opts::default();
    let mut active = false;
    pass.walk(&mut mo, nodes, MATCH_ONLY, &mut active)?;
    let mut dst = base.clone();
    copy_set(&mut dst, &mo, p)?;
    Ok(dst)
}

/// Fields a Match block can change, as `copy_set_server_options` copies them.
const COPY_INT: &[F] = &[
    F::PasswordAuthentication,
    F::GssAuthentication,
    F::PubkeyAuthentication,
    F::PubkeyAuthOptions,
    F::KerberosAuthentication,
    F::HostbasedAuthentication,
    F::HostbasedUsesNameFromPacketOnly,
    F::KbdInteractiveAuthentication,
    F::PermitRootLogin,
    F::PermitEmptyPasswd,
    F::IgnoreRhosts,
    F::AllowTcpForwarding,
    F::AllowStreamlocalForwarding,
    F::AllowAgentForwarding,
    F::DisableForwarding,
    F::ExposeAuthInfo,
    F::PermitTun,
    F::GatewayPorts,
    F::StreamlocalBindUnlink,
    F::X11DisplayOffset,
    F::X11Forwarding,
    F::X11UseLocalhost,
    F::PermitTty,
    F::PermitUserRc,
    F::MaxSessions,
    F::MaxAuthTries,
    F::ClientAliveCountMax,
    F::ClientAliveInterval,
    F::IpQosInteractive,
    F::IpQosBulk,
    F::RekeyLimit,
    F::RekeyInterval,
    F::LogLevel,
    F::RequiredRsaSize,
    F::UnusedConnectionTimeout,
    F::StreamlocalBindMask,
    // strings
    F::Banner,
    F::TrustedUserCaKeys,
    F::RevokedKeysFile,
    F::AuthorizedKeysCommand,
    F::AuthorizedKeysCommandUser,
    F::AuthorizedPrincipalsFile,
    F::AuthorizedPrincipalsCommand,
    F::AuthorizedPrincipalsCommandUser,
    F::HostbasedAcceptedAlgos,
    F::PubkeyAcceptedAlgos,
    F::CaSignAlgorithms,
    F::PermitUserEnvAllowlist,
    // arrays
    F::AuthorizedKeysFiles,
    F::AllowUsers,
    F::DenyUsers,
    F::AllowGroups,
    F::DenyGroups,
    F::AcceptEnv,
    F::SetEnv,
    F::AuthMethods,
    F::PermittedOpens,
    F::PermittedListens,
    F::ChannelTimeouts,
    F::LogVerbose,
    // after authentication
    F::ForceCommand,
    F::ChrootDirectory,
];

fn copy_set(dst: &mut Opts, src: &Opts, p: &Profile) -> Result<(), SshdError> {
    let mut extra = Vec::new();
    if p.ge(908) {
        extra.push(F::PamServiceName);
    }
    if p.ge(909) {
        extra.push(F::RefuseConnection);
    }
    for f in COPY_INT.iter().chain(&extra) {
        // SetEnv is applied from Match blocks from 9.1.
        if *f == F::SetEnv && !p.ge(901) {
            continue;
        }
        if src.is_set(*f) {
            if let Some(slot) = src.m.get(f) {
                dst.m.insert(*f, slot.clone());
            }
        }
    }
    assemble_all(dst, p)?;
    if p.ge(905) {
        merge_subsystems(dst, src);
    }
    for f in [F::ForceCommand, F::ChrootDirectory] {
        dst.clear_on_none(f);
    }
    Ok(())
}

/// `servconf_merge_subsystems` (9.5): a Match block's Subsystem replaces the command of
/// one with the same name or adds one.
fn merge_subsystems(dst: &mut Opts, src: &Opts) {
    let names = src.list(F::SubsystemNames).to_vec();
    let args = src.list(F::SubsystemArgs).to_vec();
    for (n, a) in names.into_iter().zip(args) {
        let pos = dst
            .list(F::SubsystemNames)
            .iter()
            .position(|(x, _)| *x == n.0);
        match pos {
            Some(i) => {
                if let Some(Slot { v: V::List(l), .. }) = dst.m.get_mut(&F::SubsystemArgs) {
                    l[i] = a;
                }
            }
            None => {
                for (f, x) in [(F::SubsystemNames, n), (F::SubsystemArgs, a)] {
                    let slot = dst.m.entry(f).or_insert(Slot {
                        v: V::List(Vec::new()),
                        origin: x.1.clone(),
                    });
                    if let V::List(l) = &mut slot.v {
                        l.push(x);
                    }
                }
            }
        }
    }
}

/// `assemble_algorithms`: expands `+`, `-`, `^` and patterns against the defaults.
fn assemble_all(o: &mut Opts, p: &Profile) -> Result<(), SshdError> {
    for (f, fam) in [
        (F::Ciphers, Family::Cipher),
        (F::Macs, Family::Mac),
        (F::KexAlgorithms, Family::Kex),
        (F::HostKeyAlgorithms, Family::Key),
        (F::HostbasedAcceptedAlgos, Family::Key),
        (F::PubkeyAcceptedAlgos, Family::Key),
        (F::CaSignAlgorithms, Family::Sig),
    ] {
        let cur = o.str(f).map(str::to_string);
        let v = algs::assemble(p, fam, cur.as_deref()).map_err(|e| match o.origin(f) {
            Some(org) => SshdError::config(&org.file, org.line, e.to_string()),
            None => SshdError::Fatal(e.to_string()),
        })?;
        let origin = o.origin(f).cloned();
        o.set(f, V::Str(Some(v)), origin);
    }
    Ok(())
}

/// `fill_default_server_options`.
fn fill_defaults(o: &mut Opts, p: &Profile) -> Result<(), SshdError> {
    o.default_int(F::UsePam, 0);
    if !o.is_set(F::HostKeys) {
        let mut keys = vec!["/etc/ssh/ssh_host_rsa_key"];
        if !p.ge(707) {
            keys.push("/etc/ssh/ssh_host_dsa_key");
        }
        keys.extend([
            "/etc/ssh/ssh_host_ecdsa_key",
            "/etc/ssh/ssh_host_ed25519_key",
        ]);
        let v = keys.iter().map(|k| (k.to_string(), None)).collect();
        o.set(F::HostKeys, V::List(v), None);
    }
    o.default_str(F::PidFile, "/run/sshd.pid");
    o.default_str(F::ModuliFile, "/etc/ssh/moduli");
    for (f, v) in [
        (F::LoginGraceTime, 120),
        (F::PermitRootLogin, 2),
        (F::IgnoreRhosts, 1),
        (F::IgnoreUserKnownHosts, 0),
        (F::PrintMotd, 1),
        (F::PrintLastLog, 1),
        (F::X11Forwarding, 0),
        (F::X11DisplayOffset, 10),
        (F::X11UseLocalhost, 1),
    ] {
        o.default_int(f, v);
    }
    o.default_str(F::XAuthLocation, "/usr/bin/xauth");
    for (f, v) in [
        (F::PermitTty, 1),
        (F::PermitUserRc, 1),
        (F::StrictModes, 1),
        (F::TcpKeepAlive, 1),
        (F::LogFacility, 2),
        (F::LogLevel, 3),
        (F::HostbasedAuthentication, 0),
        (F::HostbasedUsesNameFromPacketOnly, 0),
        (F::PubkeyAuthentication, 1),
        (F::PubkeyAuthOptions, 0),
        (F::KerberosAuthentication, 0),
        (F::KerberosOrLocalPasswd, 1),
        (F::KerberosTicketCleanup, 1),
        (F::GssAuthentication, 0),
        (F::GssKeyex, 0),
        (F::GssCleanupCreds, 1),
        (F::GssStrictAcceptor, i64::from(p.ge(705))),
        (F::GssStoreRekey, 0),
    ] {
        o.default_int(f, v);
    }
    o.default_str(F::GssKexAlgorithms, p.default_gss_kex());
    for (f, v) in [
        (F::PasswordAuthentication, 1),
        (F::KbdInteractiveAuthentication, i64::from(p.ge(807))),
        (F::ChallengeResponse, 1),
        (F::UsePrivsep, 1),
        (F::PermitEmptyPasswd, 0),
        (F::PermitUserEnv, 0),
        (F::Compression, 2),
        (F::RekeyLimit, 0),
        (F::RekeyInterval, 0),
        (F::AllowTcpForwarding, 3),
        (F::AllowStreamlocalForwarding, 3),
        (F::AllowAgentForwarding, 1),
        (F::GatewayPorts, 0),
        (F::MaxStartups, 100),
        (F::MaxStartupsRate, 30),
        (F::MaxStartupsBegin, 10),
        (F::PerSourceMaxStartups, INT_MAX),
        (F::PerSourceMasklenV4, 32),
        (F::PerSourceMasklenV6, 128),
        (F::MaxAuthTries, 6),
        (F::MaxSessions, 10),
        (F::UseDns, 0),
        (F::ClientAliveInterval, 0),
        (F::ClientAliveCountMax, 3),
    ] {
        o.default_int(f, v);
    }
    if !o.is_set(F::AuthorizedKeysFiles) {
        let v = vec![
            (".ssh/authorized_keys".to_string(), None),
            (".ssh/authorized_keys2".to_string(), None),
        ];
        o.set(F::AuthorizedKeysFiles, V::List(v), None);
    }
    o.default_int(F::PermitTun, 0);
    let (qi, qb) = p.default_ipqos();
    o.default_int(F::IpQosInteractive, qi);
    o.default_int(F::IpQosBulk, qb);
    o.default_str(F::VersionAddendum, "");
    for (f, v) in [
        (F::StreamlocalBindMask, 0o177),
        (F::StreamlocalBindUnlink, 0),
        (F::FingerprintHash, 2),
        (F::DisableForwarding, 0),
        (F::ExposeAuthInfo, 0),
    ] {
        o.default_int(f, v);
    }
    o.default_str(F::SkProvider, "internal");
    o.default_int(F::RequiredRsaSize, 1024);
    o.default_int(F::UnusedConnectionTimeout, 0);
    o.default_int(F::DebianBanner, 1);
    o.default_str(F::PamServiceName, "sshd");
    let libexec = match p.vendor {
        super::profile::Vendor::Debian => "/usr/lib/openssh",
        super::profile::Vendor::RedHat => "/usr/libexec/openssh",
        super::profile::Vendor::Upstream => "/usr/libexec",
    };
    o.default_str(F::SshdSessionPath, &format!("{libexec}/sshd-session"));
    o.default_str(F::SshdAuthPath, &format!("{libexec}/sshd-auth"));
    o.default_int(F::RefuseConnection, 0);
    for (f, v) in [
        (F::PspEnabled, 1),
        (F::PspMaxSources4, 65536),
        (F::PspMaxSources6, 65536),
        (F::PspOverflow, 2),
        (F::PspCrash, 90),
        (F::PspGrace, if p.ge(909) { 10 } else { 20 }),
        (F::PspAuthfail, 5),
        (F::PspNoauth, 1),
        (F::PspRefuse, 10),
        (F::PspMin, 15),
        (F::PspMax, 600),
    ] {
        o.default_int(f, v);
    }
    let overflow = o.int(F::PspOverflow).unwrap_or(2);
    o.default_int(F::PspOverflow6, overflow);
    assemble_all(o, p)?;
    for f in [
        F::PidFile,
        F::XAuthLocation,
        F::Banner,
        F::TrustedUserCaKeys,
        F::RevokedKeysFile,
        F::SkProvider,
        F::AuthorizedPrincipalsFile,
        F::ForceCommand,
        F::ChrootDirectory,
        F::HostKeyAgent,
        F::PerSourcePenaltyExempt,
    ] {
        o.clear_on_none(f);
    }
    for (f, none) in [(F::ChannelTimeouts, "none"), (F::AuthMethods, "any")] {
        let l = o.list(f);
        if l.len() == 1 && l[0].0.eq_ignore_ascii_case(none) {
            o.m.remove(&f);
        }
    }
    Ok(())
}

/// The value one directive would give its keyword on its own, as `sshd -T` prints it (for
/// comparing a Match block's value with the effective one).
pub(crate) fn normalize(d: &Directive, sys: &SystemDb, p: &Profile) -> Option<Vec<String>> {
    normalize_checked(d, sys, p).ok().flatten()
}

/// [`normalize`] with sshd's reason when it rejects the directive; `Ok(None)` for a keyword
/// `sshd -T` does not print.
pub(crate) fn normalize_checked(
    d: &Directive,
    sys: &SystemDb,
    p: &Profile,
) -> Result<Option<Vec<String>>, SshdError> {
    let pass = Pass {
        sys,
        ci: None,
        lenient_lport: true,
        p,
    };
    let mut o = Opts::default();
    let Some((op, _)) = keywords::lookup_in(p, &d.key) else {
        return Err(err(d, format!("unsupported option \"{}\"", d.keyword)));
    };
    let mut a = Args { v: &d.args, i: 0 };
    let mut flags = 0;
    let mut active = true;
    pass.handle(&mut o, d, op, &mut a, &mut flags, &mut active)?;
    process_listen(&mut o, false)?;
    fill_defaults(&mut o, p)?;
    process_listen(&mut o, true)?;
    let Some(name) = keywords::canonical_in(p, &d.key) else {
        return Ok(None);
    };
    Ok(super::render::settings(&o, p)
        .into_iter()
        .find(|s| s.keyword == name)
        .map(|s| s.values))
}

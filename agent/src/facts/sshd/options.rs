//! The options sshd keeps (`ServerOptions`): one field per variable, each remembering where
//! it was set, and the keyword tables that map option words to values. Shared by the
//! interpreter (`eval.rs`) and the `sshd -T` printer (`render.rs`), which both sit above it.

use super::num::{strtol, INT_MAX};
use super::Origin;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum F {
    UsePam,
    Ports,
    AddressFamily,
    HostKeys,
    HostCerts,
    HostKeyAgent,
    PidFile,
    ModuliFile,
    LoginGraceTime,
    PermitRootLogin,
    IgnoreRhosts,
    IgnoreUserKnownHosts,
    PrintMotd,
    PrintLastLog,
    X11Forwarding,
    X11DisplayOffset,
    X11UseLocalhost,
    XAuthLocation,
    PermitTty,
    PermitUserRc,
    StrictModes,
    TcpKeepAlive,
    LogFacility,
    LogLevel,
    LogVerbose,
    HostbasedAuthentication,
    HostbasedUsesNameFromPacketOnly,
    HostbasedAcceptedAlgos,
    HostKeyAlgorithms,
    PubkeyAuthentication,
    PubkeyAcceptedAlgos,
    PubkeyAuthOptions,
    CaSignAlgorithms,
    KerberosAuthentication,
    KerberosOrLocalPasswd,
    KerberosTicketCleanup,
    GssAuthentication,
    GssCleanupCreds,
    GssStrictAcceptor,
    GssKeyex,
    GssStoreRekey,
    GssKexAlgorithms,
    PasswordAuthentication,
    KbdInteractiveAuthentication,
    PermitEmptyPasswd,
    PermitUserEnv,
    PermitUserEnvAllowlist,
    Compression,
    RekeyLimit,
    RekeyInterval,
    AllowTcpForwarding,
    AllowStreamlocalForwarding,
    AllowAgentForwarding,
    DisableForwarding,
    GatewayPorts,
    UseDns,
    AllowUsers,
    DenyUsers,
    AllowGroups,
    DenyGroups,
    Ciphers,
    Macs,
    KexAlgorithms,
    SubsystemNames,
    SubsystemArgs,
    MaxStartupsBegin,
    MaxStartupsRate,
    MaxStartups,
    PerSourceMaxStartups,
    PerSourceMasklenV4,
    PerSourceMasklenV6,
    MaxAuthTries,
    MaxSessions,
    Banner,
    ClientAliveInterval,
    ClientAliveCountMax,
    AuthorizedKeysFiles,
    AuthorizedPrincipalsFile,
    AcceptEnv,
    SetEnv,
    PermitTun,
    PermittedOpens,
    PermittedListens,
    ForceCommand,
    ChrootDirectory,
    TrustedUserCaKeys,
    RevokedKeysFile,
    SkProvider,
    IpQosInteractive,
    IpQosBulk,
    VersionAddendum,
    AuthorizedKeysCommand,
    AuthorizedKeysCommandUser,
    AuthorizedPrincipalsCommand,
    AuthorizedPrincipalsCommandUser,
    AuthMethods,
    StreamlocalBindMask,
    StreamlocalBindUnlink,
    FingerprintHash,
    ExposeAuthInfo,
    RequiredRsaSize,
    ChannelTimeouts,
    UnusedConnectionTimeout,
    DebianBanner,
    ChallengeResponse,
    UsePrivsep,
    PamServiceName,
    PspEnabled,
    PspCrash,
    PspAuthfail,
    PspNoauth,
    PspGrace,
    PspRefuse,
    PspMax,
    PspMin,
    PspMaxSources4,
    PspMaxSources6,
    PspOverflow,
    PspOverflow6,
    PerSourcePenaltyExempt,
    SshdSessionPath,
    SshdAuthPath,
    RefuseConnection,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum V {
    Int(i64),
    /// None: NULL after a "none" was cleared.
    Str(Option<String>),
    List(Vec<(String, Option<Origin>)>),
}

#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub v: V,
    pub origin: Option<Origin>,
}

/// One `ListenAddress` waiting for the final `Port` and `AddressFamily`.
#[derive(Debug, Clone)]
pub(crate) struct QueuedListen {
    pub addr: String,
    pub port: i64,
    pub origin: Option<Origin>,
}

/// sshd's `ServerOptions`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Opts {
    pub m: BTreeMap<F, Slot>,
    pub queued: Vec<QueuedListen>,
    /// Rendered `listenaddress` values with their origin, in print order.
    pub listen: Vec<(String, Option<Origin>)>,
}

impl Opts {
    pub fn is_set(&self, f: F) -> bool {
        match self.m.get(&f) {
            None => false,
            Some(Slot { v: V::List(l), .. }) => !l.is_empty(),
            Some(_) => true,
        }
    }
    pub fn int(&self, f: F) -> Option<i64> {
        match self.m.get(&f) {
            Some(Slot { v: V::Int(i), .. }) => Some(*i),
            _ => None,
        }
    }
    pub fn str(&self, f: F) -> Option<&str> {
        match self.m.get(&f) {
            Some(Slot {
                v: V::Str(Some(s)), ..
            }) => Some(s),
            _ => None,
        }
    }
    pub fn list(&self, f: F) -> &[(String, Option<Origin>)] {
        match self.m.get(&f) {
            Some(Slot { v: V::List(l), .. }) => l,
            _ => &[],
        }
    }
    pub fn origin(&self, f: F) -> Option<&Origin> {
        self.m.get(&f).and_then(|s| s.origin.as_ref())
    }
    pub(crate) fn set(&mut self, f: F, v: V, origin: Option<Origin>) {
        self.m.insert(f, Slot { v, origin });
    }
    pub(crate) fn set_int(&mut self, f: F, v: i64, o: &Origin) {
        self.set(f, V::Int(v), Some(o.clone()));
    }
    pub(crate) fn set_str(&mut self, f: F, v: String, o: &Origin) {
        self.set(f, V::Str(Some(v)), Some(o.clone()));
    }
    pub(crate) fn push(&mut self, f: F, v: String, o: &Origin) {
        let slot = self.m.entry(f).or_insert(Slot {
            v: V::List(Vec::new()),
            origin: Some(o.clone()),
        });
        if let V::List(l) = &mut slot.v {
            if l.is_empty() {
                slot.origin = Some(o.clone());
            }
            l.push((v, Some(o.clone())));
        }
    }
    pub(crate) fn default_int(&mut self, f: F, v: i64) {
        if !self.m.contains_key(&f) {
            self.set(f, V::Int(v), None);
        }
    }
    pub(crate) fn default_str(&mut self, f: F, v: &str) {
        if !self.m.contains_key(&f) {
            self.set(f, V::Str(Some(v.to_string())), None);
        }
    }
    pub(crate) fn clear_on_none(&mut self, f: F) {
        match self.m.get_mut(&f) {
            Some(slot) => {
                if let V::Str(Some(s)) = &slot.v {
                    if s.eq_ignore_ascii_case("none") {
                        slot.v = V::Str(None);
                    }
                }
            }
            None => self.set(f, V::Str(None), None),
        }
    }
}

// Multistate tables: (name, value) in sshd's order; printing uses the first name.
pub(crate) const FLAG: &[(&str, i64)] = &[("yes", 1), ("no", 0)];
pub(crate) const IGNORE_RHOSTS: &[(&str, i64)] = &[("yes", 1), ("no", 0), ("shosts-only", 2)];
pub(crate) const ADDRESS_FAMILY: &[(&str, i64)] = &[("inet", 2), ("inet6", 10), ("any", 0)];
pub(crate) const PERMIT_ROOT_LOGIN: &[(&str, i64)] = &[
    ("without-password", 2),
    ("prohibit-password", 2),
    ("forced-commands-only", 1),
    ("yes", 3),
    ("no", 0),
];
pub(crate) const PRIVSEP: &[(&str, i64)] =
    &[("yes", 2), ("sandbox", 1), ("nosandbox", 2), ("no", 0)];
pub(crate) const COMPRESSION: &[(&str, i64)] = &[("yes", 2), ("delayed", 2), ("no", 0)];
pub(crate) const GATEWAY_PORTS: &[(&str, i64)] = &[("clientspecified", 2), ("yes", 1), ("no", 0)];
pub(crate) const TCP_FWD: &[(&str, i64)] = &[
    ("yes", 3),
    ("all", 3),
    ("no", 0),
    ("remote", 1),
    ("local", 2),
];
pub(crate) const TUN_MODE: &[(&str, i64)] = &[
    ("no", 0),
    ("point-to-point", 1),
    ("ethernet", 2),
    ("yes", 3),
];
pub(crate) const LOG_LEVELS: &[(&str, i64)] = &[
    ("SILENT", 0),
    ("QUIET", 0),
    ("FATAL", 1),
    ("ERROR", 2),
    ("INFO", 3),
    ("VERBOSE", 4),
    ("DEBUG", 5),
    ("DEBUG1", 5),
    ("DEBUG2", 6),
    ("DEBUG3", 7),
];
pub(crate) const LOG_FACILITIES: &[(&str, i64)] = &[
    ("DAEMON", 0),
    ("USER", 1),
    ("AUTH", 2),
    ("AUTHPRIV", 3),
    ("LOCAL0", 4),
    ("LOCAL1", 5),
    ("LOCAL2", 6),
    ("LOCAL3", 7),
    ("LOCAL4", 8),
    ("LOCAL5", 9),
    ("LOCAL6", 10),
    ("LOCAL7", 11),
];
pub(crate) const DIGESTS: &[(&str, i64)] = &[
    ("MD5", 0),
    ("SHA1", 1),
    ("SHA256", 2),
    ("SHA384", 3),
    ("SHA512", 4),
];
pub(crate) const IPQOS: &[(&str, i64)] = &[
    ("none", INT_MAX),
    ("af11", 0x28),
    ("af12", 0x30),
    ("af13", 0x38),
    ("af21", 0x48),
    ("af22", 0x50),
    ("af23", 0x58),
    ("af31", 0x68),
    ("af32", 0x70),
    ("af33", 0x78),
    ("af41", 0x88),
    ("af42", 0x90),
    ("af43", 0x98),
    ("cs0", 0x00),
    ("cs1", 0x20),
    ("cs2", 0x40),
    ("cs3", 0x60),
    ("cs4", 0x80),
    ("cs5", 0xa0),
    ("cs6", 0xc0),
    ("cs7", 0xe0),
    ("ef", 0xb8),
    ("le", 0x04),
    ("lowdelay", 0x10),
    ("throughput", 0x08),
    ("reliability", 0x04),
];
pub(crate) const AUTH_METHODS: &[&str] = &[
    "none",
    "publickey",
    "gssapi-keyex",
    "gssapi-with-mic",
    "password",
    "keyboard-interactive",
    "hostbased",
];

pub(crate) fn name_of(table: &[(&'static str, i64)], v: i64) -> &'static str {
    table
        .iter()
        .find(|(_, x)| *x == v)
        .map(|(n, _)| *n)
        .unwrap_or("UNKNOWN")
}

pub(crate) fn lookup_ci(table: &[(&str, i64)], s: &str) -> Option<i64> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, v)| *v)
}

/// `parse_ipqos`.
pub(crate) fn parse_ipqos(s: &str) -> Option<i64> {
    if let Some(v) = lookup_ci(IPQOS, s) {
        return Some(v);
    }
    match strtol(s, 0) {
        Some((v, n)) if n == s.len() && (0..=255).contains(&v) => Some(v),
        _ => None,
    }
}

/// `iptos2str`.
pub(crate) fn iptos2str(v: i64) -> String {
    match IPQOS.iter().find(|(_, x)| *x == v) {
        Some((n, _)) => n.to_string(),
        None => format!("0x{v:02x}"),
    }
}

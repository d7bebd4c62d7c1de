//! `dump_config`: the settings in the order and form `sshd -T` prints them, for the
//! release being modelled (lines appear and move between releases).

use super::num::INT_MAX;
use super::options::{
    iptos2str, name_of, Opts, ADDRESS_FAMILY, COMPRESSION, DIGESTS, F, FLAG, GATEWAY_PORTS,
    IGNORE_RHOSTS, LOG_FACILITIES, LOG_LEVELS, PERMIT_ROOT_LOGIN, PRIVSEP, TCP_FWD, TUN_MODE,
};
use super::profile::Profile;
use super::{Origin, Setting};

struct Out<'a> {
    o: &'a Opts,
    p: &'a Profile,
    v: Vec<Setting>,
}

impl Out<'_> {
    fn one(&mut self, keyword: &'static str, value: String, origin: Option<&Origin>) {
        self.v.push(Setting {
            keyword,
            values: vec![value],
            origins: vec![origin.cloned()],
        });
    }
    fn int(&mut self, keyword: &'static str, f: F) {
        let v = self.o.int(f).unwrap_or(-1);
        let s = if f == F::UnusedConnectionTimeout && v == 0 {
            "none".to_string()
        } else {
            v.to_string()
        };
        self.one(keyword, s, self.o.origin(f));
    }
    fn fmt(&mut self, keyword: &'static str, f: F, table: &[(&'static str, i64)]) {
        let s = match self.o.int(f) {
            None => "unset",
            Some(v) => name_of(table, v),
        };
        self.one(keyword, s.to_string(), self.o.origin(f));
    }
    fn string(&mut self, keyword: &'static str, f: F) {
        let s = self.o.str(f).unwrap_or("none").to_string();
        self.one(keyword, s, self.o.origin(f));
    }
    /// One line per element (nothing when empty).
    fn lines(&mut self, keyword: &'static str, f: F) {
        let l = self.o.list(f);
        if l.is_empty() {
            return;
        }
        let null = matches!(f, F::HostKeys | F::HostCerts);
        self.v.push(Setting {
            keyword,
            values: l
                .iter()
                .map(|(s, _)| {
                    if null && s == "none" {
                        "(null)".to_string()
                    } else {
                        s.clone()
                    }
                })
                .collect(),
            origins: l.iter().map(|(_, o)| o.clone()).collect(),
        });
    }
    /// All elements on one line (nothing when empty, except AuthenticationMethods).
    fn oneline(&mut self, keyword: &'static str, f: F) {
        let l = self.o.list(f);
        if l.is_empty() {
            if f == F::AuthMethods {
                self.one(keyword, "any".into(), None);
            }
            // 9.3 prints "channeltimeout none"; 9.2 printed nothing.
            if f == F::ChannelTimeouts && self.p.ge(903) {
                self.one(keyword, "none".into(), None);
            }
            return;
        }
        let s: Vec<&str> = l.iter().map(|(s, _)| s.as_str()).collect();
        self.one(keyword, s.join(" "), l[0].1.as_ref());
    }
}

/// The effective settings in `dump_config` order.
pub(crate) fn settings(o: &Opts, p: &Profile) -> Vec<Setting> {
    let mut w = Out {
        o,
        p,
        v: Vec::new(),
    };
    w.lines("port", F::Ports);
    w.fmt("addressfamily", F::AddressFamily, ADDRESS_FAMILY);
    if !o.listen.is_empty() {
        w.v.push(Setting {
            keyword: "listenaddress",
            values: o.listen.iter().map(|(s, _)| s.clone()).collect(),
            origins: o.listen.iter().map(|(_, o)| o.clone()).collect(),
        });
    }
    w.fmt("usepam", F::UsePam, FLAG);
    if p.ge(908) {
        w.string("pamservicename", F::PamServiceName);
    }
    w.int("logingracetime", F::LoginGraceTime);
    w.int("x11displayoffset", F::X11DisplayOffset);
    w.int("maxauthtries", F::MaxAuthTries);
    w.int("maxsessions", F::MaxSessions);
    w.int("clientaliveinterval", F::ClientAliveInterval);
    w.int("clientalivecountmax", F::ClientAliveCountMax);
    if p.ge(901) {
        w.int("requiredrsasize", F::RequiredRsaSize);
    }
    let mask = o.int(F::StreamlocalBindMask).unwrap_or(0);
    w.one(
        "streamlocalbindmask",
        format!("0{mask:o}"),
        o.origin(F::StreamlocalBindMask),
    );
    if p.ge(902) {
        w.int("unusedconnectiontimeout", F::UnusedConnectionTimeout);
    }

    w.fmt("permitrootlogin", F::PermitRootLogin, PERMIT_ROOT_LOGIN);
    w.fmt("ignorerhosts", F::IgnoreRhosts, IGNORE_RHOSTS);
    w.fmt("ignoreuserknownhosts", F::IgnoreUserKnownHosts, FLAG);
    w.fmt("hostbasedauthentication", F::HostbasedAuthentication, FLAG);
    w.fmt(
        "hostbasedusesnamefrompacketonly",
        F::HostbasedUsesNameFromPacketOnly,
        FLAG,
    );
    w.fmt("pubkeyauthentication", F::PubkeyAuthentication, FLAG);
    w.fmt("kerberosauthentication", F::KerberosAuthentication, FLAG);
    w.fmt("kerberosorlocalpasswd", F::KerberosOrLocalPasswd, FLAG);
    w.fmt("kerberosticketcleanup", F::KerberosTicketCleanup, FLAG);
    w.fmt("gssapiauthentication", F::GssAuthentication, FLAG);
    w.fmt("gssapicleanupcredentials", F::GssCleanupCreds, FLAG);
    if p.gsskex() {
        w.fmt("gssapikeyexchange", F::GssKeyex, FLAG);
        w.fmt("gssapistrictacceptorcheck", F::GssStrictAcceptor, FLAG);
        w.fmt("gssapistorecredentialsonrekey", F::GssStoreRekey, FLAG);
        if p.ge(800) {
            w.string("gssapikexalgorithms", F::GssKexAlgorithms);
        }
    }
    w.fmt("passwordauthentication", F::PasswordAuthentication, FLAG);
    w.fmt(
        "kbdinteractiveauthentication",
        F::KbdInteractiveAuthentication,
        FLAG,
    );
    if !p.ge(807) {
        w.fmt(
            "challengeresponseauthentication",
            F::ChallengeResponse,
            FLAG,
        );
    }
    w.fmt("printmotd", F::PrintMotd, FLAG);
    w.fmt("printlastlog", F::PrintLastLog, FLAG);
    w.fmt("x11forwarding", F::X11Forwarding, FLAG);
    w.fmt("x11uselocalhost", F::X11UseLocalhost, FLAG);
    w.fmt("permittty", F::PermitTty, FLAG);
    w.fmt("permituserrc", F::PermitUserRc, FLAG);
    w.fmt("strictmodes", F::StrictModes, FLAG);
    w.fmt("tcpkeepalive", F::TcpKeepAlive, FLAG);
    w.fmt("permitemptypasswords", F::PermitEmptyPasswd, FLAG);
    if !p.ge(708) {
        w.fmt("permituserenvironment", F::PermitUserEnv, FLAG);
    }
    w.fmt("compression", F::Compression, COMPRESSION);
    w.fmt("gatewayports", F::GatewayPorts, GATEWAY_PORTS);
    w.fmt("usedns", F::UseDns, FLAG);
    w.fmt("allowtcpforwarding", F::AllowTcpForwarding, TCP_FWD);
    w.fmt("allowagentforwarding", F::AllowAgentForwarding, FLAG);
    w.fmt("disableforwarding", F::DisableForwarding, FLAG);
    w.fmt(
        "allowstreamlocalforwarding",
        F::AllowStreamlocalForwarding,
        TCP_FWD,
    );
    w.fmt("streamlocalbindunlink", F::StreamlocalBindUnlink, FLAG);
    if !p.ge(705) {
        w.fmt("useprivilegeseparation", F::UsePrivsep, PRIVSEP);
    }
    w.fmt("fingerprinthash", F::FingerprintHash, DIGESTS);
    if p.ge(706) {
        w.fmt("exposeauthinfo", F::ExposeAuthInfo, FLAG);
    }
    if p.ge(909) {
        w.fmt("refuseconnection", F::RefuseConnection, FLAG);
    }
    // Debian's patch prints DebianBanner from 10.0 (known: not in 9.2, in 10.0).
    if p.debian() && p.ge(1000) {
        w.fmt("debianbanner", F::DebianBanner, FLAG);
    }

    w.string("pidfile", F::PidFile);
    if p.ge(806) {
        w.string("modulifile", F::ModuliFile);
    }
    w.string("xauthlocation", F::XAuthLocation);
    w.string("ciphers", F::Ciphers);
    w.string("macs", F::Macs);
    w.string("banner", F::Banner);
    w.string("forcecommand", F::ForceCommand);
    w.string("chrootdirectory", F::ChrootDirectory);
    w.string("trustedusercakeys", F::TrustedUserCaKeys);
    w.string("revokedkeys", F::RevokedKeysFile);
    if p.ge(802) {
        w.string("securitykeyprovider", F::SkProvider);
    }
    w.string("authorizedprincipalsfile", F::AuthorizedPrincipalsFile);
    let va = o.str(F::VersionAddendum).unwrap_or("");
    let va = if va.is_empty() { "none" } else { va };
    w.one(
        "versionaddendum",
        va.to_string(),
        o.origin(F::VersionAddendum),
    );
    w.string("authorizedkeyscommand", F::AuthorizedKeysCommand);
    w.string("authorizedkeyscommanduser", F::AuthorizedKeysCommandUser);
    w.string(
        "authorizedprincipalscommand",
        F::AuthorizedPrincipalsCommand,
    );
    w.string(
        "authorizedprincipalscommanduser",
        F::AuthorizedPrincipalsCommandUser,
    );
    w.string("hostkeyagent", F::HostKeyAgent);
    w.string("kexalgorithms", F::KexAlgorithms);
    if p.ge(709) {
        w.string("casignaturealgorithms", F::CaSignAlgorithms);
    }
    let renamed = p.ge(805);
    w.string(
        if renamed {
            "hostbasedacceptedalgorithms"
        } else {
            "hostbasedacceptedkeytypes"
        },
        F::HostbasedAcceptedAlgos,
    );
    w.string("hostkeyalgorithms", F::HostKeyAlgorithms);
    w.string(
        if renamed {
            "pubkeyacceptedalgorithms"
        } else {
            "pubkeyacceptedkeytypes"
        },
        F::PubkeyAcceptedAlgos,
    );
    // 7.7 to 8.2 print the routing domain on every platform.
    if p.ge(707) && !p.ge(803) {
        w.one("rdomain", "none".into(), None);
    }
    if p.ge(908) {
        w.string("sshdsessionpath", F::SshdSessionPath);
    }
    if p.ge(1000) {
        w.string("sshdauthpath", F::SshdAuthPath);
    }
    if p.ge(908) {
        w.string("persourcepenaltyexemptlist", F::PerSourcePenaltyExempt);
    }

    w.one(
        "loglevel",
        name_of(LOG_LEVELS, o.int(F::LogLevel).unwrap_or(3)).to_string(),
        o.origin(F::LogLevel),
    );
    w.one(
        "syslogfacility",
        name_of(LOG_FACILITIES, o.int(F::LogFacility).unwrap_or(2)).to_string(),
        o.origin(F::LogFacility),
    );

    w.oneline("authorizedkeysfile", F::AuthorizedKeysFiles);
    w.lines("hostkey", F::HostKeys);
    w.lines("hostcertificate", F::HostCerts);
    w.lines("allowusers", F::AllowUsers);
    w.lines("denyusers", F::DenyUsers);
    w.lines("allowgroups", F::AllowGroups);
    w.lines("denygroups", F::DenyGroups);
    w.lines("acceptenv", F::AcceptEnv);
    if p.ge(708) {
        w.lines("setenv", F::SetEnv);
    }
    w.oneline("authenticationmethods", F::AuthMethods);
    if p.ge(805) {
        w.oneline("logverbose", F::LogVerbose);
    }
    if p.ge(902) {
        w.oneline("channeltimeout", F::ChannelTimeouts);
    }

    let names = o.list(F::SubsystemNames);
    let args = o.list(F::SubsystemArgs);
    if !names.is_empty() {
        w.v.push(Setting {
            keyword: "subsystem",
            values: names
                .iter()
                .zip(args)
                .map(|((n, _), (a, _))| format!("{n} {a}"))
                .collect(),
            origins: names.iter().map(|(_, o)| o.clone()).collect(),
        });
    }

    let i = |f| o.int(f).unwrap_or(-1);
    w.one(
        "maxstartups",
        format!(
            "{}:{}:{}",
            i(F::MaxStartupsBegin),
            i(F::MaxStartupsRate),
            i(F::MaxStartups)
        ),
        o.origin(F::MaxStartupsBegin),
    );
    if p.ge(805) {
        let psm = i(F::PerSourceMaxStartups);
        w.one(
            "persourcemaxstartups",
            if psm == INT_MAX {
                "none".into()
            } else {
                psm.to_string()
            },
            o.origin(F::PerSourceMaxStartups),
        );
        w.one(
            "persourcenetblocksize",
            format!("{}:{}", i(F::PerSourceMasklenV4), i(F::PerSourceMasklenV6)),
            o.origin(F::PerSourceMasklenV4),
        );
    }
    w.one(
        "permittunnel",
        TUN_MODE
            .iter()
            .find(|(_, v)| *v == i(F::PermitTun))
            .map(|(n, _)| *n)
            .unwrap_or("none")
            .to_string(),
        o.origin(F::PermitTun),
    );
    w.one(
        "ipqos",
        format!(
            "{} {}",
            iptos2str(i(F::IpQosInteractive)),
            iptos2str(i(F::IpQosBulk))
        ),
        o.origin(F::IpQosInteractive),
    );
    w.one(
        "rekeylimit",
        format!("{} {}", i(F::RekeyLimit), i(F::RekeyInterval)),
        o.origin(F::RekeyLimit).or(o.origin(F::RekeyInterval)),
    );
    let opens: &[(&'static str, F)] = if p.ge(708) {
        &[
            ("permitopen", F::PermittedOpens),
            ("permitlisten", F::PermittedListens),
        ]
    } else {
        &[("permitopen", F::PermittedOpens)]
    };
    for &(kw, f) in opens {
        let l = o.list(f);
        let v = if l.is_empty() {
            "any".to_string()
        } else {
            l.iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        w.one(kw, v, l.first().and_then(|(_, o)| o.as_ref()));
    }
    match o.str(F::PermitUserEnvAllowlist) {
        _ if !p.ge(708) => {}
        Some(list) => w.one(
            "permituserenvironment",
            list.to_string(),
            o.origin(F::PermitUserEnvAllowlist),
        ),
        None => w.fmt("permituserenvironment", F::PermitUserEnv, FLAG),
    }
    let pao = i(F::PubkeyAuthOptions);
    let mut s = Vec::new();
    if pao == 0 {
        s.push("none");
    }
    if pao & 1 != 0 {
        s.push("touch-required");
    }
    if pao & 2 != 0 {
        s.push("verify-required");
    }
    if p.ge(802) {
        w.one(
            "pubkeyauthoptions",
            s.join(" "),
            o.origin(F::PubkeyAuthOptions),
        );
    }
    if p.ge(908) {
        let v = if i(F::PspEnabled) == 0 {
            "no".to_string()
        } else {
            let mode = |f| if i(f) == 1 { "deny-all" } else { "permissive" };
            let refuse = if p.ge(909) {
                format!(" refuseconnection:{}", i(F::PspRefuse))
            } else {
                String::new()
            };
            format!(
                "crash:{} authfail:{} noauth:{} grace-exceeded:{}{refuse} max:{} min:{} \
max-sources4:{} max-sources6:{} overflow:{} overflow6:{}",
                i(F::PspCrash),
                i(F::PspAuthfail),
                i(F::PspNoauth),
                i(F::PspGrace),
                i(F::PspMax),
                i(F::PspMin),
                i(F::PspMaxSources4),
                i(F::PspMaxSources6),
                mode(F::PspOverflow),
                mode(F::PspOverflow6)
            )
        };
        w.one("persourcepenalties", v, o.origin(F::PspEnabled));
    }
    w.v
}

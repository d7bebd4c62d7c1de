//! The credential chain, in the order AWS SDKs use, and the profile types of the shared
//! files. [`plan`] decides *where* credentials come from without any network call;
//! [`crate::aws::Session`] then fetches them (STS calls need its signed HTTP client).
//!
//! Order: environment keys; the selected profile (`aws.profile`, `AWS_PROFILE`, else
//! `default`) when it is an assume-role or web-identity profile; web identity from
//! `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`; the profile's static keys or
//! `credential_process`; ECS/EKS container credentials; the EC2 instance profile (IMDSv2).
//!
//! A profile that was asked for and cannot be used is an error, never a silent fall-through
//! to another principal: a missing explicitly named profile, an SSO profile (not supported),
//! a `role_arn` without a source, a source that yields nothing.
//!
//! The shared files live under `HOME`, or, when `HOME` is unset (systemd units), under the
//! effective user's home directory from the passwd database (`getpwuid_r`): the SSM Agent
//! writes a hybrid instance's credentials to `/root/.aws/credentials`.

use super::env;
use super::http::ApiError;
use super::imds::{Imds, ImdsError};
pub use super::sigv4::parse_json_credentials;
use super::sigv4::{Credentials, JsonCredentialsError};
use crate::net::{Client, HttpError, UrlError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest shared credentials/config file or token file read.
const MAX_FILE: u64 = 1 << 20;
/// How long a `credential_process` may run.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest `credential_process` output read.
const MAX_PROCESS_OUTPUT: usize = 64 * 1024;
/// Longest chain of `source_profile` hops followed.
const MAX_CHAIN: usize = 5;

/// Where a profile setting is written: a shared file and a line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// Why a shared file or a token file cannot be read.
#[derive(thiserror::Error)]
pub enum FileError {
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a regular file", path.display())]
    NotRegular { path: PathBuf },
    #[error("{}: larger than {limit} bytes", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
}
crate::error_text::debug_as_display!(FileError);

/// Why a `credential_process` command line cannot be split.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandLineError {
    #[error("unterminated single quote")]
    UnterminatedSingleQuote,
    #[error("unterminated double quote")]
    UnterminatedDoubleQuote,
    #[error("trailing backslash")]
    TrailingBackslash,
    #[error("empty command")]
    Empty,
}
crate::error_text::debug_as_display!(CommandLineError);

/// What is wrong with a selected profile (the kind; [`CredentialsError::Profile`] says which
/// profile and where).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileProblem {
    #[error("source_profile loop ({chain})")]
    SourceLoop { chain: String },
    #[error("more than {max} source_profile hops")]
    TooManyHops { max: usize },
    #[error("duration_seconds `{value}` is not within 900..=43200")]
    BadDuration { value: String },
    #[error("both source_profile and credential_source are set")]
    TwoSources,
    #[error("source_profile {source_profile} not found")]
    SourceNotFound { source_profile: String },
    #[error("source_profile {source_profile} has no credentials")]
    SourceWithoutCredentials { source_profile: String },
    #[error(
        "credential_source Environment, but AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set"
    )]
    EnvironmentUnset,
    #[error(
        "credential_source `{value}` is not supported (Environment, Ec2InstanceMetadata, \
         EcsContainer)"
    )]
    UnsupportedCredentialSource { value: String },
    #[error("role_arn needs source_profile, credential_source or web_identity_token_file")]
    RoleWithoutSource,
    #[error(
        "IAM Identity Center (SSO) profiles are not supported; use credential_process, an \
         assume-role profile or static keys"
    )]
    Sso,
    #[error("credential_process: {0}")]
    CommandLine(CommandLineError),
    #[error("aws_access_key_id and aws_secret_access_key must both be set")]
    HalfKeys,
    #[error("{key} = `{value}` is neither true nor false")]
    NotBool { key: String, value: String },
}
crate::error_text::debug_as_display!(ProfileProblem);

/// Why a `credential_process` gave no credentials. Its stderr is never shown (it may hold
/// secrets), nor its output.
#[derive(thiserror::Error)]
pub enum ProcessError {
    #[error("cannot be started")]
    Spawn(#[source] std::io::Error),
    #[error("waiting for it")]
    Wait(#[source] std::io::Error),
    #[error("no answer within {} s", secs)]
    Timeout { secs: u64 },
    #[error("cancelled")]
    Cancelled,
    #[error("reader failed")]
    ReaderFailed,
    #[error("reading its output")]
    Read(#[source] std::io::Error),
    #[error("exited with {0}")]
    Exit(std::process::ExitStatus),
    #[error("output larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error(transparent)]
    Output(#[from] ProcessOutputError),
}
crate::error_text::debug_as_display!(ProcessError);

/// What is wrong with a `credential_process`'s JSON.
#[derive(thiserror::Error)]
pub enum ProcessOutputError {
    #[error("output is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("Version {0} is not supported (1)")]
    Version(u64),
    #[error("no Version in the output")]
    NoVersion,
    #[error("Expiration `{0}` is not an RFC 3339 time")]
    BadExpiration(String),
    #[error("the credentials it returned have already expired")]
    Expired,
    #[error("no {0}")]
    Missing(&'static str),
}
crate::error_text::debug_as_display!(ProcessOutputError);

/// What is wrong with an STS AssumeRole / AssumeRoleWithWebIdentity answer.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum StsAnswerError {
    #[error("STS answer without {0}")]
    Missing(&'static str),
    #[error("STS Expiration `{0}` is not a time")]
    BadExpiration(String),
}
crate::error_text::debug_as_display!(StsAnswerError);

/// Why no credentials could be had: which source of the chain failed, and for profiles
/// which profile and, when known, which file and line. Never holds a key or a token.
#[derive(thiserror::Error)]
pub enum CredentialsError {
    #[error(transparent)]
    SharedFile(#[from] FileError),
    #[error("{}profile {profile}: {problem}", at.as_ref().map(|a| format!("{a}: ")).unwrap_or_default())]
    Profile {
        profile: String,
        at: Option<Location>,
        problem: ProfileProblem,
    },
    #[error("profile {profile} not found{}", not_found_where(files, home.as_deref()))]
    ProfileNotFound {
        profile: String,
        /// The shared files that exist (and were searched).
        files: Vec<PathBuf>,
        home: Option<PathBuf>,
    },
    #[error("profile {profile} has no credentials (in {})", paths(files))]
    ProfileWithoutCredentials {
        profile: String,
        files: Vec<PathBuf>,
    },
    #[error("profile {profile}: credential_process `{program}`")]
    Process {
        profile: String,
        program: String,
        #[source]
        source: ProcessError,
    },
    #[error(
        "container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI are not set"
    )]
    ContainerUnset,
    #[error("AWS_CONTAINER_CREDENTIALS_FULL_URI")]
    ContainerUri(#[source] UrlError),
    /// `url` shows scheme and host only.
    #[error(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI {url}: plain http is allowed only to loopback, \
         169.254.170.2, 169.254.170.23 or fd00:ec2::23 (use https)"
    )]
    ContainerUriNotAllowed { url: String },
    #[error("container authorization token")]
    ContainerTokenFile(#[source] FileError),
    #[error("{}: not found", path.display())]
    ContainerTokenFileMissing { path: PathBuf },
    #[error("container authorization token contains a line break")]
    ContainerTokenLineBreak,
    /// `url` shows scheme and host only.
    #[error("container credentials {url}: HTTP {status}")]
    ContainerStatus { url: String, status: u16 },
    #[error("container credentials {url}")]
    ContainerRequest {
        url: String,
        #[source]
        source: HttpError,
    },
    #[error(transparent)]
    ContainerAnswer(JsonCredentialsError),
    #[error("web identity token file")]
    TokenFile(#[source] FileError),
    #[error("web identity token file {}: not found", path.display())]
    TokenFileMissing { path: PathBuf },
    #[error("web identity token file {}: empty", path.display())]
    TokenFileEmpty { path: PathBuf },
    #[error(
        "no AWS credentials: none in the environment, in the shared credentials file, from a \
         container endpoint, and the instance has no instance profile"
    )]
    NoInstanceProfile,
    #[error(
        "no AWS credentials: none in the environment (AWS_ACCESS_KEY_ID), in the shared \
         credentials file (HOME {}), from a container endpoint, nor from the instance profile",
        home.as_ref().map_or("unknown".into(), |h| h.display().to_string())
    )]
    NoCredentials {
        home: Option<PathBuf>,
        #[source]
        source: Box<ImdsError>,
    },
    /// STS AssumeRole failed; `with` names the source credentials (never their keys).
    #[error("profile {profile}: AssumeRole {role_arn} (with {with})")]
    AssumeRole {
        profile: String,
        role_arn: String,
        with: String,
        #[source]
        source: Box<ApiError>,
    },
    #[error("profile {profile}: AssumeRole {role_arn}")]
    AssumeRoleAnswer {
        profile: String,
        role_arn: String,
        #[source]
        source: StsAnswerError,
    },
    #[error("AssumeRoleWithWebIdentity {role_arn}")]
    WebIdentity {
        role_arn: String,
        #[source]
        source: Box<ApiError>,
    },
    #[error("AssumeRoleWithWebIdentity {role_arn}")]
    WebIdentityAnswer {
        role_arn: String,
        #[source]
        source: StsAnswerError,
    },
}
crate::error_text::debug_as_display!(CredentialsError);

fn paths(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn not_found_where(files: &[PathBuf], home: Option<&Path>) -> String {
    if files.is_empty() {
        format!(
            ": no shared credentials or config file (HOME {})",
            home.map_or("unknown".into(), |h| h.display().to_string())
        )
    } else {
        format!(" in {}", paths(files))
    }
}

fn problem(profile: &str, at: Option<Location>, problem: ProfileProblem) -> CredentialsError {
    CredentialsError::Profile {
        profile: profile.to_string(),
        at,
        problem,
    }
}

/// Static keys from the environment.
pub fn from_env() -> Option<Credentials> {
    Some(Credentials {
        access_key_id: env("AWS_ACCESS_KEY_ID")?,
        secret_access_key: env("AWS_SECRET_ACCESS_KEY")?,
        session_token: env("AWS_SESSION_TOKEN"),
        expires: None,
        source: "environment".into(),
    })
}

/// One `key = value` line of a shared file.
#[derive(Debug, Clone)]
struct Entry {
    key: String,
    value: String,
    /// 1-based line number.
    line: usize,
}

/// The key/value pairs of one section of an INI file (`#` and `;` comments).
fn ini_section(text: &str, section: &str) -> Option<Vec<Entry>> {
    let mut found = None;
    let mut current: Option<&str> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim());
            if current == Some(section) {
                found.get_or_insert_with(Vec::new);
            }
            continue;
        }
        // Nested sub-sections (`s3 =` followed by indented lines) are not credential keys.
        if raw.starts_with([' ', '\t']) {
            continue;
        }
        if current == Some(section) {
            if let Some((k, v)) = line.split_once('=') {
                found.get_or_insert_with(Vec::new).push(Entry {
                    key: k.trim().to_ascii_lowercase(),
                    value: v.trim().to_string(),
                    line: n + 1,
                });
            }
        }
    }
    found
}

fn static_keys(pairs: &[Entry], source: String) -> Option<Credentials> {
    let get = |k: &str| get(pairs, k);
    Some(Credentials {
        access_key_id: get("aws_access_key_id")?,
        secret_access_key: get("aws_secret_access_key")?,
        session_token: get("aws_session_token"),
        expires: None,
        source,
    })
}

/// The last non-empty value of `k`.
fn entry<'a>(pairs: &'a [Entry], k: &str) -> Option<&'a Entry> {
    pairs
        .iter()
        .rev()
        .find(|e| e.key == k && !e.value.is_empty())
}

fn get(pairs: &[Entry], k: &str) -> Option<String> {
    entry(pairs, k).map(|e| e.value.clone())
}

/// `HOME`, else the passwd database's home of the effective user.
pub fn home_dir() -> Option<PathBuf> {
    env("HOME")
        .map(PathBuf::from)
        .or_else(crate::fs::passwd_home)
}

/// Reads a small regular file (never blocks on a FIFO, never reads a device); `Ok(None)`
/// when it does not exist.
pub fn read_small(path: &Path) -> Result<Option<String>, FileError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags({
            use rustix::fs::OFlags;
            (OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC).bits() as i32
        })
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(FileError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let io = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > MAX_FILE {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_FILE,
        });
    }
    let mut text = String::new();
    f.take(MAX_FILE + 1).read_to_string(&mut text).map_err(io)?;
    Ok(Some(text))
}

/// The shared credentials and config files, read once per resolution.
#[derive(Debug, Default, Clone)]
pub struct SharedFiles {
    pub credentials: Option<(PathBuf, String)>,
    pub config: Option<(PathBuf, String)>,
}

impl SharedFiles {
    /// `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`, else `~/.aws/credentials` and
    /// `~/.aws/config` under [`home_dir`].
    pub fn load() -> Result<SharedFiles, FileError> {
        let home = home_dir();
        let pick = |var: &str, rel: &str| {
            env(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(rel)))
        };
        let read = |p: Option<PathBuf>| -> Result<Option<(PathBuf, String)>, FileError> {
            match p {
                None => Ok(None),
                Some(p) => Ok(read_small(&p)?.map(|t| (p, t))),
            }
        };
        Ok(SharedFiles {
            credentials: read(pick("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"))?,
            config: read(pick("AWS_CONFIG_FILE", ".aws/config"))?,
        })
    }

    /// A profile's keys: the credentials file's `[name]` over the config file's
    /// `[profile name]` (`[default]` for the default profile); `None` when neither has it.
    pub fn profile(&self, name: &str) -> Option<Profile> {
        let from_creds = self
            .credentials
            .as_ref()
            .and_then(|(p, t)| Some((p.clone(), ini_section(t, name)?)));
        let cfg_section = if name == "default" {
            "default".to_string()
        } else {
            format!("profile {name}")
        };
        let from_cfg = self.config.as_ref().and_then(|(p, t)| {
            ini_section(t, &cfg_section)
                .or_else(|| (name == "default").then(|| ini_section(t, "profile default"))?)
                .map(|s| (p.clone(), s))
        });
        if from_creds.is_none() && from_cfg.is_none() {
            return None;
        }
        Some(Profile {
            name: name.to_string(),
            credentials: from_creds,
            config: from_cfg,
        })
    }
}

/// One profile's settings from both files.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    credentials: Option<(PathBuf, Vec<Entry>)>,
    config: Option<(PathBuf, Vec<Entry>)>,
}

impl Profile {
    /// A setting: the credentials file's value first, as the SDKs merge them.
    pub fn get(&self, k: &str) -> Option<String> {
        self.credentials
            .as_ref()
            .and_then(|(_, s)| get(s, k))
            .or_else(|| self.config.as_ref().and_then(|(_, s)| get(s, k)))
    }

    /// Where the setting [`Profile::get`] returns is written.
    pub fn at(&self, k: &str) -> Option<Location> {
        [&self.credentials, &self.config]
            .into_iter()
            .flatten()
            .find_map(|(path, s)| {
                entry(s, k).map(|e| Location {
                    path: path.clone(),
                    line: e.line,
                })
            })
    }

    fn static_keys(&self) -> Option<Credentials> {
        for (path, s) in [&self.credentials, &self.config].into_iter().flatten() {
            if let Some(c) = static_keys(s, format!("{} [{}]", path.display(), self.name)) {
                return Some(c);
            }
        }
        None
    }
}

/// Where credentials come from (decided without network calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Keys at hand (environment, static profile keys).
    Static(Credentials),
    /// `credential_process`: the command line, split like the SDKs do, run without a shell.
    Process { profile: String, argv: Vec<String> },
    /// STS AssumeRole with the credentials of `source`.
    AssumeRole(Box<AssumeRole>),
    /// STS AssumeRoleWithWebIdentity (unsigned) with a token file.
    WebIdentity {
        role_arn: String,
        token_file: PathBuf,
        session_name: String,
        region: Option<String>,
    },
    /// ECS task role / EKS pod identity.
    Container,
    /// The EC2 instance profile.
    InstanceProfile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    pub profile: String,
    pub role_arn: String,
    pub source: Source,
    pub external_id: Option<String>,
    pub session_name: String,
    pub duration_secs: Option<u32>,
    /// The profile's `region` (STS is called there), if any.
    pub region: Option<String>,
}

impl Source {
    /// For messages: what kind of source this is.
    pub fn describe(&self) -> String {
        match self {
            Source::Static(c) => c.source.clone(),
            Source::Process { profile, .. } => format!("credential_process of profile {profile}"),
            Source::AssumeRole(a) => format!(
                "role {} (profile {}) from {}",
                a.role_arn,
                a.profile,
                a.source.describe()
            ),
            Source::WebIdentity { role_arn, .. } => format!("web identity for role {role_arn}"),
            Source::Container => "container credentials".into(),
            Source::InstanceProfile => "instance profile".into(),
        }
    }
}

/// The default session name, like the SDKs' `botocore-session-<time>`: fixed for the
/// process (the time of first use), so the cached role credentials stay keyed to one source.
fn session_name() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        format!(
            "jikimi-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        )
    })
    .clone()
}

/// Splits a command line the way the SDKs do on POSIX (shlex rules): whitespace separates
/// words; single quotes keep everything literally; double quotes keep everything but
/// `\"`, `\\`, `\$` and `` \` `` escapes; a backslash outside quotes escapes the next
/// character. No expansion of any kind, and the result is executed without a shell.
pub fn split_command(line: &str) -> Result<Vec<String>, CommandLineError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err(CommandLineError::UnterminatedSingleQuote),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some('\n') => {}
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err(CommandLineError::UnterminatedDoubleQuote),
                        },
                        Some(x) => cur.push(x),
                        None => return Err(CommandLineError::UnterminatedDoubleQuote),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(x) => cur.push(x),
                    None => return Err(CommandLineError::TrailingBackslash),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err(CommandLineError::Empty);
    }
    Ok(words)
}

/// What the selected profile says (`None`: it has no credential settings at all).
fn from_profile(
    files: &SharedFiles,
    name: &str,
    seen: &mut Vec<String>,
) -> Result<Option<Source>, CredentialsError> {
    let hop_at = || files.profile(name).and_then(|p| p.at("source_profile"));
    if seen.iter().any(|s| s == name) {
        let chain = format!("{} -> {name}", seen.join(" -> "));
        return Err(problem(
            name,
            hop_at(),
            ProfileProblem::SourceLoop { chain },
        ));
    }
    if seen.len() >= MAX_CHAIN {
        let max = MAX_CHAIN;
        return Err(problem(name, hop_at(), ProfileProblem::TooManyHops { max }));
    }
    seen.push(name.to_string());
    let Some(p) = files.profile(name) else {
        return Ok(None);
    };
    let role_arn = p.get("role_arn");
    let sso = [
        "sso_start_url",
        "sso_session",
        "sso_account_id",
        "sso_role_name",
    ]
    .iter()
    .find(|k| p.get(k).is_some());
    if let Some(role_arn) = role_arn {
        let region = p.get("region");
        let session_name = p.get("role_session_name").unwrap_or_else(session_name);
        if let Some(token_file) = p.get("web_identity_token_file") {
            return Ok(Some(Source::WebIdentity {
                role_arn,
                token_file: PathBuf::from(token_file),
                session_name,
                region,
            }));
        }
        let duration_secs = match p.get("duration_seconds") {
            None => None,
            Some(d) => match d.parse::<u32>() {
                Ok(n) if (900..=43_200).contains(&n) => Some(n),
                _ => {
                    return Err(problem(
                        name,
                        p.at("duration_seconds"),
                        ProfileProblem::BadDuration { value: d },
                    ))
                }
            },
        };
        let source = match (p.get("source_profile"), p.get("credential_source")) {
            (Some(_), Some(_)) => {
                return Err(problem(
                    name,
                    p.at("credential_source"),
                    ProfileProblem::TwoSources,
                ))
            }
            (Some(src), None) => {
                // A source profile's own static keys win over its role (the SDKs' rule
                // for a profile that is its own source).
                let at = || p.at("source_profile");
                let sp = files.profile(&src).ok_or_else(|| {
                    let source_profile = src.clone();
                    problem(
                        name,
                        at(),
                        ProfileProblem::SourceNotFound { source_profile },
                    )
                })?;
                match sp.static_keys() {
                    Some(c) => Source::Static(c),
                    None => from_profile(files, &src, seen)?.ok_or_else(|| {
                        let source_profile = src.clone();
                        problem(
                            name,
                            at(),
                            ProfileProblem::SourceWithoutCredentials { source_profile },
                        )
                    })?,
                }
            }
            (None, Some(cs)) => match cs.as_str() {
                "Environment" => Source::Static(from_env().ok_or_else(|| {
                    let at = p.at("credential_source");
                    problem(name, at, ProfileProblem::EnvironmentUnset)
                })?),
                "Ec2InstanceMetadata" => Source::InstanceProfile,
                "EcsContainer" => Source::Container,
                other => {
                    return Err(problem(
                        name,
                        p.at("credential_source"),
                        ProfileProblem::UnsupportedCredentialSource {
                            value: other.to_string(),
                        },
                    ))
                }
            },
            (None, None) => {
                return Err(problem(
                    name,
                    p.at("role_arn"),
                    ProfileProblem::RoleWithoutSource,
                ))
            }
        };
        return Ok(Some(Source::AssumeRole(Box::new(AssumeRole {
            profile: name.to_string(),
            role_arn,
            source,
            external_id: p.get("external_id"),
            session_name,
            duration_secs,
            region,
        }))));
    }
    if let Some(k) = sso {
        return Err(problem(name, p.at(k), ProfileProblem::Sso));
    }
    if let Some(c) = p.static_keys() {
        return Ok(Some(Source::Static(c)));
    }
    if let Some(cmd) = p.get("credential_process") {
        let argv = split_command(&cmd).map_err(|e| {
            let at = p.at("credential_process");
            problem(name, at, ProfileProblem::CommandLine(e))
        })?;
        return Ok(Some(Source::Process {
            profile: name.to_string(),
            argv,
        }));
    }
    if let Some(at) = p
        .at("aws_access_key_id")
        .or_else(|| p.at("aws_secret_access_key"))
    {
        return Err(problem(name, Some(at), ProfileProblem::HalfKeys));
    }
    Ok(None)
}

/// Decides where credentials come from. `profile` is `aws.profile` (which takes precedence
/// over environment keys); `AWS_PROFILE` applies when it is unset. An explicitly selected
/// profile must exist and yield credentials.
pub fn plan(profile: Option<&str>) -> Result<Source, CredentialsError> {
    // A profile named in the agent's configuration negates the environment keys (as an
    // explicit profile does in the SDKs); `AWS_PROFILE` does not.
    if profile.is_none() {
        if let Some(c) = from_env() {
            return Ok(Source::Static(c));
        }
    }
    let explicit = profile.map(String::from).or_else(|| env("AWS_PROFILE"));
    let name = explicit.clone().unwrap_or_else(|| "default".into());
    let files = SharedFiles::load()?;
    let from_files = from_profile(&files, &name, &mut Vec::new())?;
    // SDK order: a role profile, then web identity from the environment, then the
    // profile's static keys or credential_process.
    if let Some(s @ (Source::AssumeRole(_) | Source::WebIdentity { .. })) = &from_files {
        return Ok(s.clone());
    }
    if let (Some(token_file), Some(role_arn)) =
        (env("AWS_WEB_IDENTITY_TOKEN_FILE"), env("AWS_ROLE_ARN"))
    {
        return Ok(Source::WebIdentity {
            role_arn,
            token_file: PathBuf::from(token_file),
            session_name: env("AWS_ROLE_SESSION_NAME").unwrap_or_else(session_name),
            region: None,
        });
    }
    if let Some(s) = from_files {
        return Ok(s);
    }
    if let Some(n) = &explicit {
        let found: Vec<PathBuf> = [&files.credentials, &files.config]
            .into_iter()
            .flatten()
            .map(|(p, _)| p.clone())
            .collect();
        return Err(if files.profile(n).is_some() {
            CredentialsError::ProfileWithoutCredentials {
                profile: n.clone(),
                files: found,
            }
        } else {
            CredentialsError::ProfileNotFound {
                profile: n.clone(),
                files: found,
                home: home_dir(),
            }
        });
    }
    if env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
        || env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
    {
        return Ok(Source::Container);
    }
    Ok(Source::InstanceProfile)
}

/// Is a container credentials `FULL_URI` allowed, as the SDKs decide: https anywhere, http
/// only to loopback or the ECS (169.254.170.2) and EKS (169.254.170.23, fd00:ec2::23)
/// link-local addresses.
pub fn container_uri_allowed(url: &str) -> Result<(), CredentialsError> {
    let ep = crate::net::Endpoint::parse(url).map_err(CredentialsError::ContainerUri)?;
    if ep.https {
        return Ok(());
    }
    let host = ep.host.trim_start_matches('[').trim_end_matches(']');
    let ok = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => {
            ip.is_loopback()
                || ip == std::net::IpAddr::from([169, 254, 170, 2])
                || ip == std::net::IpAddr::from([169, 254, 170, 23])
                || ip
                    == "fd00:ec2::23"
                        .parse::<std::net::IpAddr>()
                        .expect("valid address")
        }
        // Names are not resolved here: only `localhost` itself is accepted.
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    if ok {
        Ok(())
    } else {
        Err(CredentialsError::ContainerUriNotAllowed {
            url: crate::redact::shown(url),
        })
    }
}

/// ECS task role / EKS pod identity: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on the ECS
/// agent address) or `AWS_CONTAINER_CREDENTIALS_FULL_URI` with an optional authorization
/// token (`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or `..._TOKEN`).
pub fn from_container() -> Result<Credentials, CredentialsError> {
    let url = match (
        env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        env("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
    ) {
        (Some(rel), _) => format!("http://169.254.170.2{rel}"),
        (None, Some(full)) => {
            container_uri_allowed(&full)?;
            full
        }
        (None, None) => return Err(CredentialsError::ContainerUnset),
    };
    let token = match env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(f) => match read_small(Path::new(&f)) {
            Ok(Some(t)) => Some(t.trim().to_string()),
            Ok(None) => return Err(CredentialsError::ContainerTokenFileMissing { path: f.into() }),
            Err(e) => return Err(CredentialsError::ContainerTokenFile(e)),
        },
        None => env("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    };
    if token.as_deref().is_some_and(|t| t.contains(['\r', '\n'])) {
        return Err(CredentialsError::ContainerTokenLineBreak);
    }
    let client = Client::metadata(Duration::from_secs(1), Duration::from_secs(3));
    let headers: Vec<(&str, &str)> = token
        .as_deref()
        .map(|t| vec![("authorization", t)])
        .unwrap_or_default();
    let shown = crate::redact::shown(&url);
    match client.send("GET", &url, &headers, None) {
        Ok(r) if r.status == 200 => {
            parse_json_credentials(&String::from_utf8_lossy(&r.body), "container credentials")
                .map_err(CredentialsError::ContainerAnswer)
        }
        Ok(r) => Err(CredentialsError::ContainerStatus {
            url: shown,
            status: r.status,
        }),
        Err(source) => Err(CredentialsError::ContainerRequest { url: shown, source }),
    }
}

/// Runs a `credential_process` (no shell, stdin closed, [`PROCESS_TIMEOUT`]) and parses
/// its JSON (`Version` 1). The helper's stderr is not echoed: it may hold secrets.
pub fn from_process(profile: &str, argv: &[String]) -> Result<Credentials, CredentialsError> {
    run_process(profile, argv).map_err(|source| CredentialsError::Process {
        profile: profile.to_string(),
        program: argv[0].clone(),
        source,
    })
}

fn run_process(profile: &str, argv: &[String]) -> Result<Credentials, ProcessError> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(ProcessError::Spawn)?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = (&mut stdout)
            .take(MAX_PROCESS_OUTPUT as u64 + 1)
            .read_to_end(&mut buf);
        r.map(|_| buf)
    });
    let start = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) => return Err(ProcessError::Wait(e)),
        }
        if start.elapsed() > PROCESS_TIMEOUT || crate::cancel::requested() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(if crate::cancel::requested() {
                ProcessError::Cancelled
            } else {
                ProcessError::Timeout {
                    secs: PROCESS_TIMEOUT.as_secs(),
                }
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = reader
        .join()
        .map_err(|_| ProcessError::ReaderFailed)?
        .map_err(ProcessError::Read)?;
    if !status.success() {
        return Err(ProcessError::Exit(status));
    }
    if out.len() > MAX_PROCESS_OUTPUT {
        return Err(ProcessError::TooLarge {
            limit: MAX_PROCESS_OUTPUT,
        });
    }
    Ok(parse_process_output(
        &out,
        &format!("credential_process of profile {profile}"),
    )?)
}

/// The `credential_process` JSON: `Version` 1, `AccessKeyId`, `SecretAccessKey`, optional
/// `SessionToken` and `Expiration` (RFC 3339; credentials already expired are refused).
pub fn parse_process_output(out: &[u8], source: &str) -> Result<Credentials, ProcessOutputError> {
    let v: serde_json::Value = serde_json::from_slice(out).map_err(ProcessOutputError::NotJson)?;
    match v.get("Version").and_then(|x| x.as_u64()) {
        Some(1) => {}
        Some(n) => return Err(ProcessOutputError::Version(n)),
        None => return Err(ProcessOutputError::NoVersion),
    }
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).filter(|x| !x.is_empty());
    let expires = match s("Expiration") {
        None => None,
        Some(e) => Some(
            crate::time::parse_rfc3339(e)
                .ok_or_else(|| ProcessOutputError::BadExpiration(e.to_string()))?,
        ),
    };
    if expires.is_some_and(|e| e <= std::time::SystemTime::now()) {
        return Err(ProcessOutputError::Expired);
    }
    let need = |k: &'static str| s(k).ok_or(ProcessOutputError::Missing(k));
    Ok(Credentials {
        access_key_id: need("AccessKeyId")?.to_string(),
        secret_access_key: need("SecretAccessKey")?.to_string(),
        session_token: s("SessionToken").map(String::from),
        expires,
        source: source.to_string(),
    })
}

/// Reads a web identity token file (bounded, regular file).
pub fn read_token_file(p: &Path) -> Result<String, CredentialsError> {
    let t = read_small(p)
        .map_err(CredentialsError::TokenFile)?
        .ok_or_else(|| CredentialsError::TokenFileMissing {
            path: p.to_path_buf(),
        })?;
    let t = t.trim().to_string();
    if t.is_empty() {
        return Err(CredentialsError::TokenFileEmpty {
            path: p.to_path_buf(),
        });
    }
    Ok(t)
}

/// The `<Credentials>` of an STS AssumeRole / AssumeRoleWithWebIdentity answer.
pub fn parse_sts_credentials(xml: &str, source: &str) -> Result<Credentials, StsAnswerError> {
    let field = |tag: &str| -> Option<String> {
        let open = format!("<{tag}>");
        let s = xml.find(&open)? + open.len();
        let e = xml[s..].find(&format!("</{tag}>"))? + s;
        Some(super::http::xml_unescape(xml[s..e].trim()))
    };
    let need = |tag: &'static str| field(tag).ok_or(StsAnswerError::Missing(tag));
    let exp = need("Expiration")?;
    Ok(Credentials {
        access_key_id: need("AccessKeyId")?,
        secret_access_key: need("SecretAccessKey")?,
        session_token: Some(need("SessionToken")?),
        expires: Some(crate::time::parse_rfc3339(&exp).ok_or(StsAnswerError::BadExpiration(exp))?),
        source: source.to_string(),
    })
}

/// Fetches credentials of the sources that need no STS call.
pub fn fetch_simple(src: &Source, imds: &Imds) -> Option<Result<Credentials, CredentialsError>> {
    Some(match src {
        Source::Static(c) => Ok(c.clone()),
        Source::Process { profile, argv } => from_process(profile, argv),
        Source::Container => from_container(),
        Source::InstanceProfile => match imds.role_credentials() {
            Ok(Some(c)) => Ok(c),
            Ok(None) => Err(CredentialsError::NoInstanceProfile),
            Err(source) => Err(CredentialsError::NoCredentials {
                home: home_dir(),
                source: Box::new(source),
            }),
        },
        Source::AssumeRole(_) | Source::WebIdentity { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections_and_static_keys() {
        let text = "# c\n[default]\naws_access_key_id = AK1\naws_secret_access_key=S1\n\
                    [prod] \n[profile prod]\naws_access_key_id = AK2\n; x\naws_secret_access_key = S2\n\
                    aws_session_token = T2\ns3 =\n  max_concurrent_requests = 2\n";
        let d = ini_section(text, "default").unwrap();
        let c = static_keys(&d, "f".into()).unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.secret_access_key.as_str()),
            ("AK1", "S1")
        );
        assert!(c.session_token.is_none());
        let p = ini_section(text, "profile prod").unwrap();
        assert!(!p.iter().any(|e| e.key == "max_concurrent_requests"));
        assert_eq!(
            static_keys(&p, "f".into())
                .unwrap()
                .session_token
                .as_deref(),
            Some("T2")
        );
        assert!(static_keys(&ini_section(text, "prod").unwrap(), "f".into()).is_none());
        assert!(ini_section(text, "nope").is_none());
    }

    #[test]
    fn json_credentials() {
        let c = parse_json_credentials(
            r#"{"Code":"Success","AccessKeyId":"ASIA1","SecretAccessKey":"s","Token":"t",
                "Expiration":"2026-11-22T16:35:19Z"}"#,
            "imds",
        )
        .unwrap();
        assert_eq!(c.session_token.as_deref(), Some("t"));
        assert!(c.expires.is_some());
        assert!(parse_json_credentials(r#"{"Code":"Failure"}"#, "imds").is_err());
        assert!(parse_json_credentials("{", "imds").is_err());
    }

    #[test]
    fn command_lines_split_like_shlex() {
        let ok = |s: &str| split_command(s).unwrap();
        assert_eq!(ok("/bin/helper --a b"), ["/bin/helper", "--a", "b"]);
        assert_eq!(
            ok(r#"h 'x y' "a \"q\" \$HOME \n" c\ d"#),
            ["h", "x y", r#"a "q" $HOME \n"#, "c d"]
        );
        assert_eq!(ok("a ''"), ["a", ""]);
        assert_eq!(ok("a;b |c"), ["a;b", "|c"], "no shell operators");
        for bad in ["", "  ", "a 'b", "a \"b", "a\\"] {
            assert!(split_command(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn process_output_versions_and_expiry() {
        let c = parse_process_output(
            br#"{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"S","SessionToken":"T",
                 "Expiration":"2999-01-01T00:00:00Z"}"#,
            "p",
        )
        .unwrap();
        assert_eq!(c.session_token.as_deref(), Some("T"));
        assert!(c.expires.is_some());
        for (bad, why) in [
            (r#"{"AccessKeyId":"AK","SecretAccessKey":"S"}"#, "Version"),
            (
                r#"{"Version":2,"AccessKeyId":"AK","SecretAccessKey":"S"}"#,
                "Version 2",
            ),
            (
                r#"{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"S","Expiration":"2001-01-01T00:00:00Z"}"#,
                "expired",
            ),
            (
                r#"{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"S","Expiration":"soon"}"#,
                "RFC 3339",
            ),
            (r#"{"Version":1,"AccessKeyId":"AK"}"#, "SecretAccessKey"),
            ("nope", "not JSON"),
        ] {
            let e = parse_process_output(bad.as_bytes(), "p").unwrap_err();
            let e = crate::error_text::chain(&e);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn sts_answers_parse() {
        let xml = "<AssumeRoleResponse><AssumeRoleResult><Credentials>\
                   <AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>s&amp;k</SecretAccessKey>\
                   <SessionToken>tok</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>\
                   </Credentials></AssumeRoleResult></AssumeRoleResponse>";
        let c = parse_sts_credentials(xml, "role").unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.secret_access_key.as_str()),
            ("ASIAROLE", "s&k")
        );
        assert!(parse_sts_credentials("<x/>", "role").is_err());
    }

    #[test]
    fn container_addresses() {
        for ok in [
            "http://127.0.0.1:8080/creds",
            "http://169.254.170.2/v2/credentials",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "http://[::1]:1/x",
            "http://localhost/x",
            "https://creds.example.com/x",
        ] {
            assert!(container_uri_allowed(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1/creds",
            "http://169.254.169.254/latest",
            "http://creds.example.com/x",
            "http://localhost.evil.com/x",
            "ftp://127.0.0.1/x",
        ] {
            assert!(container_uri_allowed(bad).is_err(), "{bad}");
        }
    }

    fn files(creds: &str, config: &str) -> SharedFiles {
        SharedFiles {
            credentials: Some((PathBuf::from("/c"), creds.to_string())),
            config: Some((PathBuf::from("/f"), config.to_string())),
        }
    }

    #[test]
    fn profile_types() {
        let f = files(
            "[base]\naws_access_key_id = AKB\naws_secret_access_key = SB\n",
            "[profile role]\nrole_arn = arn:aws:iam::111122223333:role/r\nsource_profile = base\n\
             external_id = ext\nrole_session_name = s1\nduration_seconds = 1800\nregion = eu-west-1\n\
             [profile chain]\nrole_arn = arn:aws:iam::111122223333:role/c\nsource_profile = role\n\
             [profile imds]\nrole_arn = arn:aws:iam::1:role/i\ncredential_source = Ec2InstanceMetadata\n\
             [profile proc]\ncredential_process = /usr/bin/helper --x 'a b'\n\
             [profile web]\nrole_arn = arn:aws:iam::1:role/w\nweb_identity_token_file = /t\n\
             [profile sso]\nsso_start_url = https://x\nsso_account_id = 1\n\
             [profile loop1]\nrole_arn = a\nsource_profile = loop2\n\
             [profile loop2]\nrole_arn = b\nsource_profile = loop1\n\
             [profile nosrc]\nrole_arn = a\n\
             [profile both]\nrole_arn = a\nsource_profile = base\ncredential_source = Environment\n\
             [profile badsrc]\nrole_arn = a\ncredential_source = Ec2\n\
             [profile half]\naws_access_key_id = AK\n\
             [profile regiononly]\nregion = us-east-1\n",
        );
        let p = |n: &str| from_profile(&f, n, &mut Vec::new());
        match p("role").unwrap().unwrap() {
            Source::AssumeRole(a) => {
                assert_eq!(a.role_arn, "arn:aws:iam::111122223333:role/r");
                assert_eq!(a.external_id.as_deref(), Some("ext"));
                assert_eq!(a.session_name, "s1");
                assert_eq!(a.duration_secs, Some(1800));
                assert_eq!(a.region.as_deref(), Some("eu-west-1"));
                assert!(matches!(&a.source, Source::Static(c) if c.access_key_id == "AKB"));
            }
            s => panic!("{s:?}"),
        }
        match p("chain").unwrap().unwrap() {
            Source::AssumeRole(a) => assert!(matches!(a.source, Source::AssumeRole(_))),
            s => panic!("{s:?}"),
        }
        match p("imds").unwrap().unwrap() {
            Source::AssumeRole(a) => assert_eq!(a.source, Source::InstanceProfile),
            s => panic!("{s:?}"),
        }
        assert!(matches!(p("proc").unwrap().unwrap(),
            Source::Process { argv, .. } if argv == ["/usr/bin/helper", "--x", "a b"]));
        assert!(matches!(
            p("web").unwrap().unwrap(),
            Source::WebIdentity { .. }
        ));
        for (n, why) in [
            ("sso", "SSO"),
            ("loop1", "loop"),
            ("nosrc", "needs source_profile"),
            ("both", "both"),
            ("badsrc", "not supported"),
            ("half", "both be set"),
        ] {
            let e = p(n).unwrap_err().to_string();
            assert!(e.contains(why), "{n}: {e}");
        }
        assert!(p("regiononly").unwrap().is_none());
        assert!(p("absent").unwrap().is_none());
        // The file and line of the setting at fault come first.
        for (n, want) in [
            (
                "badsrc",
                "/f:36: profile badsrc: credential_source `Ec2` is not supported",
            ),
            ("sso", "/f:20: profile sso: IAM Identity Center (SSO)"),
            (
                "loop1",
                "/f:24: profile loop1: source_profile loop (loop1 -> loop2 -> loop1)",
            ),
            (
                "both",
                "/f:33: profile both: both source_profile and credential_source",
            ),
        ] {
            let e = p(n).unwrap_err().to_string();
            assert!(e.starts_with(want), "{n}: {e}");
        }
        match p("half").unwrap_err() {
            CredentialsError::Profile {
                at: Some(at),
                problem: ProfileProblem::HalfKeys,
                ..
            } => assert_eq!(at.to_string(), "/f:38"),
            e => panic!("{e:?}"),
        }
    }

    const KEY: &str = "wJalrXUtnFEMI/K7MDENG/SECRETKEY";
    const TOKEN: &str = "FwoGZXIvYXdzEJr/SESSIONTOKEN";

    /// Every error the credential sources can end in, as `chain` shows it, never contains
    /// the secret key or the session token that were in reach when it was made.
    #[test]
    fn credential_errors_never_show_keys_or_tokens() {
        let mut texts: Vec<String> = Vec::new();
        let mut add = |e: &dyn std::error::Error| texts.push(crate::error_text::chain(e));
        let json = |extra: &str| {
            format!(
                r#"{{"AccessKeyId":"AKID","SecretAccessKey":"{KEY}","SessionToken":"{TOKEN}",
                    "Token":"{TOKEN}"{extra}}}"#
            )
        };
        for extra in [
            r#","Version":1,"Expiration":"2001-01-01T00:00:00Z""#,
            r#","Version":1,"Expiration":"soon""#,
            r#","Version":2"#,
            "",
        ] {
            add(&parse_process_output(json(extra).as_bytes(), "p").unwrap_err());
        }
        let cut = json("");
        add(&parse_process_output(&cut.as_bytes()[..cut.len() - 3], "p").unwrap_err());
        add(&parse_json_credentials(&json(r#","Code":"Failure""#), "imds").unwrap_err());
        add(&parse_json_credentials(&cut[..cut.len() - 3], "imds").unwrap_err());
        let xml = format!(
            "<Credentials><AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>{KEY}</SecretAccessKey>\
             <SessionToken>{TOKEN}</SessionToken><Expiration>never</Expiration></Credentials>"
        );
        add(&parse_sts_credentials(&xml, "role").unwrap_err());
        let f = files(
            &format!("[base]\naws_access_key_id = AKB\naws_secret_access_key = {KEY}\n"),
            &format!(
                "[profile half]\naws_secret_access_key = {KEY}\naws_session_token = {TOKEN}\n\
                 [profile r]\nrole_arn = a\nsource_profile = base\nduration_seconds = 5\n\
                 [profile p]\ncredential_process = '{KEY}\n"
            ),
        );
        for n in ["half", "r", "p"] {
            add(&from_profile(&f, n, &mut Vec::new()).unwrap_err());
        }
        let base = match from_profile(&f, "base", &mut Vec::new()).unwrap() {
            Some(Source::Static(c)) => c,
            s => panic!("{s:?}"),
        };
        add(&CredentialsError::AssumeRole {
            profile: "r".into(),
            role_arn: "a".into(),
            with: base.source.clone(),
            source: Box::new(ApiError {
                status: Some(403),
                code: "AccessDenied".into(),
                message: "not authorized".into(),
                retryable: false,
                attempts: 1,
            }),
        });
        assert_eq!(texts.len(), 12);
        for t in &texts {
            assert!(!t.contains(KEY) && !t.contains(TOKEN), "{t}");
            assert!(
                !t.contains("SECRETKEY") && !t.contains("SESSIONTOKEN"),
                "{t}"
            );
        }
    }

    #[test]
    fn process_errors_name_profile_and_program_and_keep_the_cause() {
        let e = from_process("ci", &["/nonexistent/helper".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "profile ci: credential_process `/nonexistent/helper`"
        );
        let cause = std::error::Error::source(&e).expect("the spawn error");
        assert_eq!(cause.to_string(), "cannot be started");
        assert!(cause.source().is_some(), "the io error is kept");
        let e = from_process("ci", &["false".into()]).unwrap_err();
        assert_eq!(
            crate::error_text::chain(&e),
            "profile ci: credential_process `false`: exited with exit status: 1"
        );
    }

    #[test]
    fn file_errors_keep_the_io_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(read_small(&d.path().join("none")).unwrap().is_none());
        let e = read_small(d.path()).unwrap_err();
        assert!(matches!(e, FileError::NotRegular { .. }), "{e:?}");
        let e = read_token_file(&d.path().join("none")).unwrap_err();
        assert!(e.to_string().ends_with("none: not found"), "{e}");
        let empty = d.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        assert!(matches!(
            read_token_file(&empty),
            Err(CredentialsError::TokenFileEmpty { .. })
        ));
    }

    #[test]
    fn passwd_home_of_this_user() {
        let h = crate::fs::passwd_home().expect("the test user has a passwd entry");
        assert!(h.is_absolute());
    }
}

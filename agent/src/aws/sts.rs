//! STS calls of the credential chain: AssumeRole (signed with the source profile's or the
//! credential source's credentials) and AssumeRoleWithWebIdentity (unsigned: the token is
//! the proof). Both are Query-protocol POSTs to the regional STS endpoint (the profile's
//! `region`, else `aws.region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`, else
//! `us-east-1`); `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL` override it like every
//! endpoint. The role credentials are cached by the [`Session`] until shortly before they
//! expire.

use super::credentials::{parse_sts_credentials, AssumeRole, CredentialsError};
use super::sigv4::Credentials;
use super::{query_body, Session};

const VERSION: &str = "2011-06-15";

fn region(session: &Session, profile_region: Option<&str>) -> String {
    profile_region
        .map(String::from)
        .or_else(|| session.config().region.clone())
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| super::config::valid_region(r))
        .unwrap_or_else(|| "us-east-1".into())
}

/// STS AssumeRole for an assume-role profile, signed with `base`.
pub fn assume_role(
    session: &Session,
    role: &AssumeRole,
    base: &Credentials,
) -> Result<Credentials, CredentialsError> {
    let mut params = vec![
        ("RoleArn".to_string(), role.role_arn.clone()),
        ("RoleSessionName".to_string(), role.session_name.clone()),
    ];
    if let Some(d) = role.duration_secs {
        params.push(("DurationSeconds".into(), d.to_string()));
    }
    if let Some(x) = &role.external_id {
        params.push(("ExternalId".into(), x.clone()));
    }
    let body = query_body("AssumeRole", VERSION, &params);
    let region = region(session, role.region.as_deref());
    let xml = session
        .call_sts(&region, &body, Some(base))
        .map_err(|source| CredentialsError::AssumeRole {
            profile: role.profile.clone(),
            role_arn: role.role_arn.clone(),
            with: base.source.clone(),
            source: Box::new(source),
        })?;
    parse_sts_credentials(
        &xml,
        &format!("role {} (profile {})", role.role_arn, role.profile),
    )
    .map_err(|source| CredentialsError::AssumeRoleAnswer {
        profile: role.profile.clone(),
        role_arn: role.role_arn.clone(),
        source,
    })
}

/// STS AssumeRoleWithWebIdentity (unsigned).
pub fn assume_role_with_web_identity(
    session: &Session,
    role_arn: &str,
    session_name: &str,
    token: &str,
    profile_region: Option<&str>,
) -> Result<Credentials, CredentialsError> {
    let body = query_body(
        "AssumeRoleWithWebIdentity",
        VERSION,
        &[
            ("RoleArn".into(), role_arn.into()),
            ("RoleSessionName".into(), session_name.into()),
            ("WebIdentityToken".into(), token.into()),
        ],
    );
    let region = region(session, profile_region);
    let xml =
        session
            .call_sts(&region, &body, None)
            .map_err(|source| CredentialsError::WebIdentity {
                role_arn: role_arn.to_string(),
                source: Box::new(source),
            })?;
    parse_sts_credentials(&xml, &format!("web identity role {role_arn}")).map_err(|source| {
        CredentialsError::WebIdentityAnswer {
            role_arn: role_arn.to_string(),
            source,
        }
    })
}

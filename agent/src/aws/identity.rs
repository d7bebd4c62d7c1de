//! Who and where the host is for AWS: account, region, partition and the resource the
//! findings are about. On EC2 this comes from the IMDSv2 instance identity document; the
//! `[aws]` configuration overrides any part of it and is the only source off EC2.

use super::config::{valid_region, valid_resource_id, AwsConfig};
use super::imds::{IdentityDocument, Imds, ImdsError};
use crate::report::HostInfo;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why the host's AWS identity is not known or not valid.
#[derive(thiserror::Error)]
pub enum IdentityError {
    /// Neither IMDS nor the configuration says; `imds` is why IMDS could not be asked.
    #[error(
        "the AWS {what} is unknown: not on EC2 (or IMDSv2 unreachable) and `aws.{key}` is not \
         set in the configuration"
    )]
    Unknown {
        what: &'static str,
        key: &'static str,
        #[source]
        imds: Option<Arc<ImdsError>>,
    },
    #[error("AWS account id `{0}` is not 12 digits")]
    BadAccount(String),
    #[error("AWS region `{0}` is not valid")]
    BadRegion(String),
    #[error(
        "no resource id for this host: not on EC2, `aws.resource_id` is not set and there is \
         no /etc/machine-id"
    )]
    NoResource,
    #[error("resource id `{0}` is not valid")]
    BadResource(String),
}
crate::error_text::debug_as_display!(IdentityError);

/// What kind of resource the host is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResourceKind {
    /// An EC2 instance (`i-...`).
    Ec2Instance,
    /// An SSM hybrid managed instance (`mi-...`).
    ManagedInstance,
    /// Anything else, named by the configuration or the machine id.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: String,
    pub account_id: String,
    pub region: String,
    pub kind: ResourceKind,
    /// `i-...`, `mi-...`, or the configured / machine-id name.
    pub resource_id: String,
    /// The identity document, when the resource is the instance IMDS describes.
    pub ec2: Option<IdentityDocument>,
    /// Instance tags (only with instance metadata tags enabled).
    pub tags: BTreeMap<String, String>,
}

/// The partition of a region (`aws`, `aws-cn`, `aws-us-gov`, `aws-eusc`, `aws-iso*`), from
/// the partition table ([`super::partitions`]).
pub fn partition(region: &str) -> &'static str {
    &super::partitions::of(region).id
}

impl Identity {
    /// The resource's id as Security Hub shows it: the instance or managed-instance ARN, or
    /// the plain name for other resources.
    pub fn resource_arn(&self) -> String {
        let (p, r, a, id) = (
            &self.partition,
            &self.region,
            &self.account_id,
            &self.resource_id,
        );
        match self.kind {
            ResourceKind::Ec2Instance => format!("arn:{p}:ec2:{r}:{a}:instance/{id}"),
            ResourceKind::ManagedInstance => format!("arn:{p}:ssm:{r}:{a}:managed-instance/{id}"),
            ResourceKind::Other => id.clone(),
        }
    }

    /// From explicit parts (configuration and/or an identity document).
    pub fn from_parts(
        cfg: &AwsConfig,
        doc: Option<IdentityDocument>,
        tags: BTreeMap<String, String>,
        env_region: Option<String>,
        machine_id: &str,
    ) -> Result<Identity, IdentityError> {
        let off_ec2 = |what, key| IdentityError::Unknown {
            what,
            key,
            imds: None,
        };
        let account_id = match (&cfg.account_id, &doc) {
            (Some(a), _) => a.clone(),
            (None, Some(d)) => d.account_id.clone(),
            (None, None) => return Err(off_ec2("account", "account_id")),
        };
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentityError::BadAccount(account_id));
        }
        let region = cfg
            .region
            .clone()
            .or_else(|| doc.as_ref().map(|d| d.region.clone()))
            .or(env_region)
            .ok_or_else(|| off_ec2("region", "region"))?;
        if !valid_region(&region) {
            return Err(IdentityError::BadRegion(region));
        }
        let from_imds = doc.as_ref().map(|d| d.instance_id.clone());
        let resource_id = cfg
            .resource_id
            .clone()
            .or_else(|| from_imds.clone())
            .or_else(|| (!machine_id.is_empty()).then(|| machine_id.to_string()))
            .ok_or(IdentityError::NoResource)?;
        if !valid_resource_id(&resource_id) {
            return Err(IdentityError::BadResource(resource_id));
        }
        let kind = if resource_id.starts_with("i-") {
            ResourceKind::Ec2Instance
        } else if resource_id.starts_with("mi-") {
            ResourceKind::ManagedInstance
        } else {
            ResourceKind::Other
        };
        // Instance details and tags describe the IMDS instance only.
        let same = from_imds.as_deref() == Some(resource_id.as_str());
        Ok(Identity {
            partition: partition(&region).to_string(),
            account_id,
            region,
            kind,
            resource_id,
            ec2: if same { doc } else { None },
            tags: if same { tags } else { BTreeMap::new() },
        })
    }

    /// Configuration first; IMDSv2 for whatever it leaves open (skipped entirely when the
    /// configuration names account, region and resource).
    pub fn resolve(
        cfg: &AwsConfig,
        imds: &Imds,
        host: &HostInfo,
    ) -> Result<Identity, IdentityError> {
        let complete =
            cfg.account_id.is_some() && cfg.region.is_some() && cfg.resource_id.is_some();
        let (doc, tags) = if complete {
            (None, BTreeMap::new())
        } else {
            match imds.identity_document() {
                Ok(d) => {
                    // Tags are optional: a failure here leaves them out.
                    let tags = imds.tags().unwrap_or_default();
                    (Some(d), tags)
                }
                Err(_) => (None, BTreeMap::new()),
            }
        };
        let env_region = std::env::var("AWS_REGION")
            .ok()
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|r| !r.is_empty());
        Identity::from_parts(cfg, doc, tags, env_region, &host.machine_id).map_err(|e| match e {
            IdentityError::Unknown { what, key, .. } => IdentityError::Unknown {
                what,
                key,
                imds: imds.unavailable(),
            },
            e => e,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> IdentityDocument {
        IdentityDocument {
            account_id: "111122223333".into(),
            region: "ap-northeast-2".into(),
            instance_id: "i-0abc".into(),
            instance_type: Some("t3.micro".into()),
            ..Default::default()
        }
    }

    #[test]
    fn ec2_from_imds_and_overrides() {
        let tags = BTreeMap::from([("Name".to_string(), "web".to_string())]);
        let id = Identity::from_parts(&AwsConfig::default(), Some(doc()), tags.clone(), None, "")
            .unwrap();
        assert_eq!(id.kind, ResourceKind::Ec2Instance);
        assert_eq!(
            id.resource_arn(),
            "arn:aws:ec2:ap-northeast-2:111122223333:instance/i-0abc"
        );
        assert_eq!(id.tags, tags);
        // A configured hybrid id replaces the instance, and the instance's details go.
        let cfg = AwsConfig {
            resource_id: Some("mi-0123".into()),
            region: Some("cn-north-1".into()),
            ..Default::default()
        };
        let id = Identity::from_parts(&cfg, Some(doc()), tags, None, "").unwrap();
        assert_eq!(id.kind, ResourceKind::ManagedInstance);
        assert!(id.ec2.is_none() && id.tags.is_empty());
        assert_eq!(
            id.resource_arn(),
            "arn:aws-cn:ssm:cn-north-1:111122223333:managed-instance/mi-0123"
        );
    }

    #[test]
    fn off_ec2_needs_configuration() {
        let e = Identity::from_parts(&AwsConfig::default(), None, BTreeMap::new(), None, "m")
            .unwrap_err();
        assert!(e.to_string().contains("aws.account_id"), "{e}");
        let cfg = AwsConfig {
            account_id: Some("123456789012".into()),
            ..Default::default()
        };
        let e = Identity::from_parts(&cfg, None, BTreeMap::new(), None, "m").unwrap_err();
        assert!(e.to_string().contains("aws.region"), "{e}");
        let id = Identity::from_parts(&cfg, None, BTreeMap::new(), Some("us-east-1".into()), "abc")
            .unwrap();
        assert_eq!(
            (id.kind, id.resource_arn().as_str()),
            (ResourceKind::Other, "abc")
        );
        assert!(
            Identity::from_parts(&cfg, None, BTreeMap::new(), Some("us-east-1".into()), "")
                .is_err()
        );
    }

    #[test]
    fn unknown_parts_say_why_imds_could_not_tell() {
        let imds = Imds::new(None).unwrap();
        let host = HostInfo {
            hostname: "h".into(),
            machine_id: "m".into(),
            os_id: "debian".into(),
            os_version: "12".into(),
            os_name: "Debian".into(),
            kernel: None,
            root: "/".into(),
            live: false,
        };
        let e = Identity::resolve(&AwsConfig::default(), &imds, &host).unwrap_err();
        assert!(
            matches!(
                e,
                IdentityError::Unknown {
                    key: "account_id",
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            crate::error_text::chain(&e),
            "the AWS account is unknown: not on EC2 (or IMDSv2 unreachable) and \
             `aws.account_id` is not set in the configuration: IMDS is disabled"
        );
        let e = Identity::from_parts(
            &AwsConfig {
                account_id: Some("12345".into()),
                ..Default::default()
            },
            None,
            BTreeMap::new(),
            None,
            "m",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "AWS account id `12345` is not 12 digits");
    }

    #[test]
    fn partitions() {
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("eu-central-1"), "aws");
        assert_eq!(partition("eusc-de-east-1"), "aws-eusc");
        assert_eq!(partition("us-isof-south-1"), "aws-iso-f");
    }
}

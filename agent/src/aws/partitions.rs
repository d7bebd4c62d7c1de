//! AWS partitions: which partition a region belongs to, its DNS suffixes (plain and
//! dual-stack) and whether it offers FIPS and dual-stack endpoints. ARNs carry the partition
//! name (`arn:aws-cn:...`) and endpoints its suffix (`amazonaws.eu` for `aws-eusc`).
//!
//! The table (`partitions.json`, beside this file) is projected from botocore's
//! `data/partitions.json` by `tests/aws/partitions.py`; `tests/aws/test_partitions.py`
//! fails when it differs from the botocore installed for the tests, so a new partition is
//! one regeneration away. It is parsed once, on first use.

use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Partition {
    pub id: String,
    region_regex: String,
    regions: Vec<String>,
    pub dns_suffix: String,
    pub dual_stack_dns_suffix: String,
    #[serde(rename = "supportsFIPS")]
    pub supports_fips: bool,
    pub supports_dual_stack: bool,
    pub implicit_global_region: String,
}

#[derive(Deserialize)]
struct Table {
    partitions: Vec<Partition>,
}

struct Compiled {
    partitions: Vec<(Partition, regex::Regex)>,
}

fn table() -> &'static Compiled {
    static T: OnceLock<Compiled> = OnceLock::new();
    T.get_or_init(|| {
        let t: Table = serde_json::from_str(include_str!("partitions.json"))
            .expect("the checked-in partition table parses (unit-tested)");
        Compiled {
            partitions: t
                .partitions
                .into_iter()
                .map(|p| {
                    let re = regex::Regex::new(&p.region_regex)
                        .expect("the checked-in region patterns compile (unit-tested)");
                    (p, re)
                })
                .collect(),
        }
    })
}

/// The partition of a region: the one listing it, else the one whose pattern matches, else
/// `aws` (as the SDKs default).
pub fn of(region: &str) -> &'static Partition {
    let t = table();
    t.partitions
        .iter()
        .find(|(p, _)| p.regions.iter().any(|r| r == region))
        .or_else(|| t.partitions.iter().find(|(_, re)| re.is_match(region)))
        .or_else(|| t.partitions.iter().find(|(p, _)| p.id == "aws"))
        .map(|(p, _)| p)
        .expect("the table has the aws partition")
}

/// Which endpoint variant to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Variant {
    pub fips: bool,
    pub dual_stack: bool,
}

/// A region whose partition has no endpoint of the variant asked for.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    #[error("partition {partition} (region {region}) has no FIPS endpoints")]
    NoFips { partition: String, region: String },
    #[error("partition {partition} (region {region}) has no dual-stack endpoints")]
    NoDualStack { partition: String, region: String },
}
crate::error_text::debug_as_display!(PartitionError);

/// The regional endpoint of a service: `https://{service}[-fips].{region}.{suffix}`, the
/// suffix being the dual-stack one when asked for. An error when the partition offers no
/// such variant.
pub fn endpoint(service: &str, region: &str, v: Variant) -> Result<String, PartitionError> {
    endpoint_in(of(region), service, region, v)
}

fn endpoint_in(
    p: &Partition,
    service: &str,
    region: &str,
    v: Variant,
) -> Result<String, PartitionError> {
    let (partition, region_) = (p.id.clone(), region.to_string());
    if v.fips && !p.supports_fips {
        return Err(PartitionError::NoFips {
            partition,
            region: region_,
        });
    }
    if v.dual_stack && !p.supports_dual_stack {
        return Err(PartitionError::NoDualStack {
            partition,
            region: region_,
        });
    }
    let suffix = if v.dual_stack {
        &p.dual_stack_dns_suffix
    } else {
        &p.dns_suffix
    };
    let fips = if v.fips { "-fips" } else { "" };
    Ok(format!("https://{service}{fips}.{region}.{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_map_to_partitions() {
        for (region, id, suffix) in [
            ("us-east-1", "aws", "amazonaws.com"),
            ("ap-northeast-2", "aws", "amazonaws.com"),
            ("ap-southeast-99", "aws", "amazonaws.com"),
            ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
            ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
            ("us-iso-east-1", "aws-iso", "c2s.ic.gov"),
            ("us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov"),
            ("eu-isoe-west-1", "aws-iso-e", "cloud.adc-e.uk"),
            ("us-isof-south-1", "aws-iso-f", "csp.hci.ic.gov"),
            ("eusc-de-east-1", "aws-eusc", "amazonaws.eu"),
            ("xx-nowhere-1", "aws", "amazonaws.com"),
        ] {
            let p = of(region);
            assert_eq!(
                (p.id.as_str(), p.dns_suffix.as_str()),
                (id, suffix),
                "{region}"
            );
        }
    }

    #[test]
    fn endpoint_variants() {
        let e = |r: &str, fips, dual_stack| {
            endpoint("securityhub", r, Variant { fips, dual_stack }).unwrap()
        };
        assert_eq!(
            e("eu-central-1", false, false),
            "https://securityhub.eu-central-1.amazonaws.com"
        );
        assert_eq!(
            e("us-east-1", true, false),
            "https://securityhub-fips.us-east-1.amazonaws.com"
        );
        assert_eq!(
            e("us-east-1", false, true),
            "https://securityhub.us-east-1.api.aws"
        );
        assert_eq!(
            e("us-gov-west-1", true, true),
            "https://securityhub-fips.us-gov-west-1.api.aws"
        );
        assert_eq!(
            e("eusc-de-east-1", false, false),
            "https://securityhub.eusc-de-east-1.amazonaws.eu"
        );
        assert_eq!(
            e("cn-north-1", false, true),
            "https://securityhub.cn-north-1.api.amazonwebservices.com.cn"
        );
    }

    #[test]
    fn missing_variants_name_partition_and_region() {
        // Every partition of the table offers both variants today; a made-up one does not.
        let p = Partition {
            id: "aws-test".into(),
            region_regex: String::new(),
            regions: Vec::new(),
            dns_suffix: String::new(),
            dual_stack_dns_suffix: String::new(),
            supports_fips: false,
            supports_dual_stack: false,
            implicit_global_region: String::new(),
        };
        let e = |fips, dual_stack| {
            endpoint_in(&p, "ssm", "xx-test-1", Variant { fips, dual_stack }).unwrap_err()
        };
        assert_eq!(
            e(true, false).to_string(),
            "partition aws-test (region xx-test-1) has no FIPS endpoints"
        );
        assert!(matches!(e(false, true), PartitionError::NoDualStack { .. }));
        assert!(endpoint_in(&p, "ssm", "xx-test-1", Variant::default()).is_ok());
    }
}

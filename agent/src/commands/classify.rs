//! `jikimi classify`: the asset tags of this host (or an image) and why.

use super::{open_root, print_out};
use crate::cli::ClassifyArgs;
use anyhow::{anyhow, Result};

pub fn run(a: ClassifyArgs) -> Result<i32> {
    let cfg = jikimi::config::Config::load_from(a.config.as_deref()).map_err(|e| anyhow!(e))?;
    let rules =
        jikimi::classify::rules_for(&cfg.asset, a.rules_dir.as_deref()).map_err(|e| anyhow!(e))?;
    let root = open_root(a.root.as_deref())?;
    let facts = jikimi::facts::Facts::new(&root);
    let prefix = cfg.ec2_tags.prefix();
    let mut asset = jikimi::classify::classify(&rules, &facts, &cfg.asset, prefix);
    // Instance tags describe this host, not an image.
    if a.root.is_none() && cfg.asset.instance_tags != Some(false) {
        let ep =
            jikimi::aws::imds::Imds::endpoint_from(cfg.aws.imds, cfg.aws.imds_endpoint.as_deref());
        if let Some(tags) = jikimi::aws::imds::Imds::new(ep.as_deref())
            .ok()
            .and_then(|i| i.tags().ok())
        {
            asset.apply_instance_tags(&tags, prefix);
        }
    }
    if a.json {
        print_out(&(serde_json::to_string_pretty(&asset)? + "\n"))?;
    } else {
        print_out(&asset.render())?;
    }
    Ok(0)
}

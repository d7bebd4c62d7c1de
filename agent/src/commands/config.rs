//! `jikimi config validate`: parse and validate the configuration (and its waivers).

use crate::cli::ConfigCmd;
use anyhow::{anyhow, Result};
use std::path::Path;

pub fn run(c: ConfigCmd) -> Result<i32> {
    match c {
        ConfigCmd::Validate { config } => jikimi::config::Config::load_from(config.as_deref())
            .map_err(|e| anyhow!(e))
            .and_then(|cfg| super::waivers::validate(&cfg))
            .map(|_| {
                println!(
                    "configuration OK: {}",
                    config
                        .as_deref()
                        .unwrap_or(Path::new(jikimi::config::DEFAULT_PATH))
                        .display()
                );
                0
            }),
    }
}

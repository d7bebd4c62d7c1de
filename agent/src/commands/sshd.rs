//! `jikimi sshd effective`: the effective sshd configuration as `sshd -T` prints it.

use super::{open_root, print_out};
use crate::cli::SshdCmd;
use anyhow::{anyhow, bail, Result};

pub fn run(c: SshdCmd) -> Result<i32> {
    match c {
        SshdCmd::Effective { root, config, conn } => {
            if !config.starts_with('/') {
                bail!("--config {config}: must be an absolute path inside the root");
            }
            let root = open_root(root.as_deref())?;
            let (text, about) =
                jikimi::facts::sshd::effective_report(&root, &config, conn.as_deref()).map_err(
                    |e| match e {
                        jikimi::facts::sshd::SshdError::Fatal(m) => anyhow!("{config}: {m}"),
                        e => anyhow!("{}", e.located()),
                    },
                )?;
            // Standard output stays byte-compatible with `sshd -T`.
            eprintln!("jikimi: sshd semantics: {about}");
            print_out(&text)?;
        }
    }
    Ok(0)
}

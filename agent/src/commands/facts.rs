//! `jikimi facts`: the host facts (OS, CPU, memory, filesystems, processes, sockets, accounts).

use super::{open_root, print_out};
use crate::cli::FactsArgs;
use anyhow::Result;

pub fn run(a: FactsArgs) -> Result<i32> {
    let root = open_root(a.root.as_deref())?;
    let facts = jikimi::facts::Facts::new(&root);
    let all = jikimi::facts::summary::collect(&facts);
    if a.json {
        print_out(&(serde_json::to_string_pretty(&all)? + "\n"))?;
    } else {
        print_out(&jikimi::facts::summary::render(&all))?;
    }
    Ok(0)
}

//! Host facts: one collector per area. Collectors read through the scan [`Root`]; the parsers
//! they call are pure (text in, typed facts out) so they can be tested and fuzzed alone.

pub mod sshd;

use crate::fs::Root;

#[allow(dead_code, reason = "placeholder import until collectors land")]
fn _root(_r: &Root) {}

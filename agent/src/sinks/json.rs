//! The JSON document (`--format json`): the [`crate::report::Report`] serialised as is. Its
//! schema is documented in docs/output.md; `schema_version` changes on any
//! incompatible change.

use crate::report::Report;

pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        // Serialising plain structs of strings and numbers cannot fail; say so if it does.
        format!("{{\"error\": \"cannot serialise report: {e}\"}}")
    });
    s.push('\n');
    s
}

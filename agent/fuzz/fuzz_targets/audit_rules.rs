//! Audit rules (auditctl syntax, augenrules rearrangement) and the coverage question.
#![no_main]
use jikimi::facts::audit::{augenrules, parse, parse_line, Line};
use jikimi::facts::origin::Origin;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(rules) = parse(&text, "/etc/audit/audit.rules") {
        // every parsed rule must cover itself once loaded, unless a never rule precedes it
        for (i, l) in text.lines().enumerate() {
            if let Ok(Some(Line::Rule(r))) = parse_line(l, Origin::new("f", i + 1)) {
                let _ = rules.covers(&r);
            }
        }
    }
    let lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (l.to_string(), Origin::new("f", i + 1)))
        .collect();
    let _ = augenrules(lines);
});

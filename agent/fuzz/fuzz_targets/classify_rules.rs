//! The asset classification rules (`classify.d/*.toml`): a hostile user rules file loaded over
//! the built-in rules (ids, patterns, tags); errors, never a panic or a hang.
#![no_main]
use jikimi::catalog::SourceFile;
use jikimi::classify::{embedded_sources, load};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let user = [SourceFile {
        name: "/etc/jikimi/classify.d/fuzz.toml".into(),
        text: text.to_string(),
        pre: None,
    }];
    let _ = load(&embedded_sources(), &user);
});

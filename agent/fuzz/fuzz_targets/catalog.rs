//! The TOML catalog loader (`checks/*.toml`, `checks.d`): one hostile catalog file, loaded
//! under both profiles; every error must be a typed catalog error, never a panic or a hang.
#![no_main]
use jikimi::catalog::{load, Profile, SourceFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let src = [SourceFile {
        name: "checks.d/fuzz.toml".into(),
        text: text.to_string(),
        pre: None,
    }];
    for p in [Profile::Kisa, Profile::Cis] {
        let _ = load(&src, p);
    }
});

//! Embeds the check catalog (`checks/*.toml` at the workspace root) and the asset
//! classification rules (`checks/classify/*.toml`) into the binary.
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    embed(&manifest.join("../checks"), "embedded_catalog.rs");
    embed(&manifest.join("../checks/classify"), "embedded_classify.rs");
}

/// Writes `OUT_DIR/out` with `FILES`: (file name, contents) of every `*.toml` in `dir`.
fn embed(checks: &std::path::Path, out_name: &str) {
    println!("cargo:rerun-if-changed={}", checks.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(checks)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    files.sort();
    let mut out = String::from("pub static FILES: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().expect("file name").to_string_lossy();
        let abs = f.canonicalize().expect("canonical path");
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            abs.display().to_string()
        )
        .expect("write");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join(out_name);
    std::fs::write(dest, out).expect("write embedded files");
}

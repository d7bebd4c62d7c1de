//! Embeds the check catalog (`checks/*.toml` at the workspace root) and the asset
//! classification rules (`checks/classify/*.toml`) into the binary.
//!
//! Each catalog file is embedded pre-parsed: the TOML document as JSON with the line of each
//! `[[check]]`, and the SHA-256 of the TOML text (for the catalog digest). The agent reads
//! JSON about three times faster than TOML (issue 10: the whole catalog in under 25 ms); the
//! JSON is only an encoding: every check is still validated at load, and this script checks
//! that the tables read back equal the TOML's. A file it cannot parse is embedded as TOML, so
//! the agent reports its error with file and line as for any other catalog file.
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    embed(&manifest.join("../checks"), "embedded_catalog.rs", true);
    embed(
        &manifest.join("../checks/classify"),
        "embedded_classify.rs",
        false,
    );
}

/// A catalog file as the agent's loader sees it (`catalog::RawFile`): the area, and each
/// check's table with its position.
#[derive(Deserialize)]
struct CatalogFile {
    area: toml::Value,
    #[serde(default)]
    check: Vec<toml::Spanned<toml::Table>>,
}

/// The pre-parsed form: `{"area":…,"check":[…],"lines":[…]}`, or `None` when the file does
/// not parse (or has keys besides `area` and `check`): then the loader reads the TOML and
/// reports the problem.
fn pre_parse(text: &str) -> Option<String> {
    let top: toml::Table = toml::from_str(text).ok()?;
    if top.keys().any(|k| k != "area" && k != "check") {
        return None;
    }
    let f: CatalogFile = toml::from_str(text).ok()?;
    let lines: Vec<usize> = f
        .check
        .iter()
        .map(|c| line_of(text, c.span().start))
        .collect();
    let checks: Vec<toml::Table> = f.check.into_iter().map(|c| c.into_inner()).collect();
    let v = serde_json::json!({ "area": f.area, "check": checks, "lines": lines });
    let json = serde_json::to_string(&v).ok()?;
    // only an encoding: the tables read back from the JSON must equal the TOML's
    #[derive(Deserialize)]
    struct Back {
        check: Vec<toml::Table>,
    }
    let back: Back = serde_json::from_str(&json).ok()?;
    (back.check == checks).then_some(json)
}

/// 1-based line of a byte offset (as the loader computes it).
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Writes `OUT_DIR/out` with `FILES`: (file name, contents) of every `*.toml` in `dir`, or
/// with `pre`, (file name, TOML text or "", the pre-parsed form).
fn embed(checks: &Path, out_name: &str, pre: bool) {
    println!("cargo:rerun-if-changed={}", checks.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(checks)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    files.sort();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut out = if pre {
        String::from("pub static FILES: &[(&str, &str, Option<super::Embedded>)] = &[\n")
    } else {
        String::from("pub static FILES: &[(&str, &str)] = &[\n")
    };
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().expect("file name").to_string_lossy();
        let abs = f.canonicalize().expect("canonical path");
        if !pre {
            writeln!(
                out,
                "    ({name:?}, include_str!({:?})),",
                abs.display().to_string()
            )
            .expect("write");
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap_or_default();
        match pre_parse(&text) {
            Some(j) => {
                let dest = out_dir.join(format!("{name}.json"));
                std::fs::write(&dest, j).expect("write pre-parsed catalog file");
                let sha: [u8; 32] = Sha256::digest(text.as_bytes()).into();
                writeln!(
                    out,
                    "    ({name:?}, \"\", Some(super::Embedded {{ json: include_str!({:?}), sha256: {sha:?} }})),",
                    dest.display().to_string()
                )
            }
            None => writeln!(
                out,
                "    ({name:?}, include_str!({:?}), None),",
                abs.display().to_string()
            ),
        }
        .expect("write");
    }
    out.push_str("];\n");
    std::fs::write(out_dir.join(out_name), out).expect("write embedded files");
}

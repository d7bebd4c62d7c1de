//! `jikimi report`: the scan history summarised over a period (Markdown, HTML or JSON), or
//! the latest scan in KISA form; in the language of `--lang` / `[report] lang`.

use super::{print_out, write_atomic};
use crate::cli::{ReportArgs, ReportFormat};
use anyhow::{anyhow, bail, Result};
use jikimi::i18n::CheckTexts;

/// The catalog (embedded and the checks directory) for check text and KISA references of
/// stored records.
fn catalog(cfg: &jikimi::config::Config) -> Result<jikimi::catalog::Catalog> {
    let mut sources = jikimi::catalog::embedded_sources();
    sources
        .extend(jikimi::catalog::dir_sources(&cfg.checks_dir(), true).map_err(|e| anyhow!("{e}"))?);
    let profile = cfg.profile().map_err(|e| anyhow!(e))?;
    jikimi::catalog::load(&sources, profile).map_err(|e| anyhow!("{e}"))
}

pub fn run(a: ReportArgs) -> Result<i32> {
    use jikimi::sinks::report;
    let since = report::parse_since(&a.since).map_err(|e| anyhow!(e))?;
    let cfg = jikimi::config::Config::load_from(a.config.as_deref()).map_err(|e| anyhow!(e))?;
    let kisa_form = matches!(a.format, ReportFormat::Kisa | ReportFormat::KisaHtml);
    let lang = a.lang.resolve(cfg.report.lang, kisa_form);
    let dir = a.state_dir.clone().unwrap_or_else(|| cfg.state_dir());
    let (mut records, bad) = jikimi::history::load(&dir.join("history")).map_err(|e| anyhow!(e))?;
    let cat = catalog(&cfg)?;
    let texts = CheckTexts::new(&cat.checks);
    if kisa_form {
        use jikimi::kisa;
        let Some(last) = records
            .iter()
            .max_by(|x, y| x.started_at.cmp(&y.started_at))
        else {
            bail!("{}: no scan recorded yet", dir.join("history").display());
        };
        let refs = kisa::refs_of(&cat.checks);
        let lines: Vec<kisa::CheckLine> = last
            .checks
            .iter()
            .filter_map(|c| kisa::CheckLine::from_record(c, &refs, &texts, lang))
            .collect();
        let hd = kisa::Header {
            hostname: last.host.hostname.clone(),
            os: last.host.os_name.clone(),
            scanned_at: last.started_at.clone(),
            profile: last.profile.clone(),
            catalog_digest: last.catalog_digest.clone(),
        };
        let text = if a.format == ReportFormat::Kisa {
            kisa::markdown(&hd, a.lang.kisa_edition, &lines)
        } else {
            kisa::html(&hd, a.lang.kisa_edition, &lines)
        };
        return output(&a, &text);
    }
    jikimi::i18n::localize_records(&mut records, &texts, lang);
    let mut doc = report::build(&records, bad, since, &a.since, std::time::SystemTime::now())
        .map_err(|e| anyhow!("{}: {e}", dir.join("history").display()))?;
    doc.lang = lang;
    let text = match a.format {
        ReportFormat::Md => report::markdown(&doc),
        ReportFormat::Html => report::html(&doc),
        ReportFormat::Json => report::json(&doc),
        ReportFormat::Kisa | ReportFormat::KisaHtml => unreachable!("handled above"),
    };
    output(&a, &text)
}

fn output(a: &ReportArgs, text: &str) -> Result<i32> {
    match &a.output {
        Some(p) => write_atomic(p, text.as_bytes())?,
        None => print_out(text)?,
    }
    Ok(0)
}

//! `jikimi check`: one scan with `--once` (classify, waivers, remote sinks, history, alerts
//! and mail, textfile, output), else the daemon; `setup` is also what the daemon rebuilds on
//! SIGHUP.

use super::{load_catalog, open_root, print_out, write_atomic};
use crate::cli::{CheckArgs, ColorWhen, Format, Submit};
use anyhow::{anyhow, bail, Context, Result};
use jikimi::findings::Severity;
use jikimi::run::{self, Selection};
use jikimi::sinks;
use std::io::IsTerminal;

pub fn setup(a: &CheckArgs) -> Result<jikimi::daemon::Setup> {
    let mut cfg = jikimi::config::Config::load_from(a.config.as_deref()).map_err(|e| anyhow!(e))?;
    let mut catalog = load_catalog(&a.cat, &cfg)?;
    cfg.report.lang = a.lang.resolve(
        cfg.report.lang,
        matches!(a.format, Format::Kisa | Format::KisaHtml),
    );
    // every result, finding, mail and alert built from the catalog is in this language
    jikimi::i18n::localize_catalog(&mut catalog.checks, cfg.report.lang);
    cfg.waivers = cfg.load_waivers(&catalog).map_err(|e| anyhow!(e))?;
    let min_severity = match &a.min_severity {
        Some(s) => Some(s.parse::<Severity>().map_err(|e| anyhow!(e))?),
        None => cfg.min_severity().map_err(|e| anyhow!(e))?,
    };
    let mut skip = a.skip.clone();
    skip.extend(cfg.agent.skip.iter().cloned());
    let selection = Selection {
        only: a.only.clone(),
        skip,
        min_severity,
        no_walks: a.no_walks,
    };
    // fail early on unknown ids rather than at the first scan
    run::select(&catalog, &selection).map_err(|e| anyhow!(e))?;
    let rules = jikimi::classify::rules_for(&cfg.asset, None)?;
    Ok(jikimi::daemon::Setup {
        config: cfg,
        catalog,
        selection,
        rules,
    })
}

pub fn run(a: CheckArgs) -> Result<i32> {
    if !a.once {
        let opts = jikimi::daemon::Options {
            root: a.root.clone(),
            listen: a.listen.clone(),
            textfile: a.textfile.clone(),
            interval_secs: a.interval,
            state_dir: a.state_dir.clone(),
        };
        jikimi::daemon::run(opts, &|| setup(&a).map_err(|e| format!("{e:#}")))
            .map_err(|e| anyhow!(e))?;
        return Ok(0);
    }
    let s = setup(&a)?;
    let (cfg, catalog, sel) = (&s.config, &s.catalog, &s.selection);
    let root = open_root(a.root.as_deref())?;
    let mut facts = jikimi::facts::Facts::new(&root);
    facts.walk_limits = cfg.walk_limits();
    let mut report = run::scan_facts(catalog, &facts, sel).map_err(|e| anyhow!(e))?;
    report.asset = Some(jikimi::classify::classify(
        &s.rules,
        &facts,
        &cfg.asset,
        cfg.ec2_tags.prefix(),
    ));
    jikimi::waivers::apply(&mut report, &cfg.waivers, jikimi::waivers::today(), None);
    // Remote sinks run before rendering, so the outputs include what they did.
    let remote = sinks::remote::Remote {
        securityhub: a.submit.contains(&Submit::Securityhub) || cfg.securityhub.enabled,
        ssm_compliance: a.submit.contains(&Submit::SsmCompliance) || cfg.ssm_compliance.enabled,
        ssm_inventory: a.submit.contains(&Submit::SsmInventory) || cfg.ssm_inventory.enabled,
        ec2_tags: a.submit.contains(&Submit::Ec2Tags) || cfg.ec2_tags.enabled,
        format_needs: match a.format {
            Format::Asff => sinks::remote::IdentityNeed::Required,
            Format::Ocsf => sinks::remote::IdentityNeed::Optional,
            _ => sinks::remote::IdentityNeed::None,
        },
        state_dir: a.state_dir.clone().unwrap_or_else(|| cfg.state_dir()),
        catalog_ids: catalog.checks.iter().map(|c| c.id.clone()).collect(),
    };
    let identity =
        sinks::remote::run(&mut report, &cfg.remote(), &remote).map_err(|e| anyhow!(e))?;
    // history first: the mailed daily report includes this scan
    if let Err(e) = jikimi::history::record_scan(
        &report,
        Some(&facts),
        cfg.history_settings(a.state_dir.as_deref(), report.host.live)
            .as_ref(),
    ) {
        eprintln!("jikimi: warning: {e}");
    }
    let email = a.submit.contains(&Submit::Email) || cfg.email.enabled;
    sinks::alerts::run_local(&mut report, &cfg.local(), &remote.state_dir, email);
    for (name, s) in &report.sinks {
        for e in &s.errors {
            eprintln!("jikimi: warning: {name}: {e}");
        }
    }
    if let Some(p) = a.textfile.as_ref().or(cfg.daemon.textfile.as_ref()) {
        let opts = sinks::prometheus::Options {
            per_check: cfg.daemon.per_check_metrics.unwrap_or(false),
        };
        let counters = sinks::prometheus::Counters {
            scans_ok: 1,
            ..Default::default()
        };
        let text = sinks::prometheus::render(Some(&report), Some(&facts), &counters, opts);
        jikimi::daemon::write_textfile(p, &text)
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    let text = match a.format {
        Format::Asff => match &identity {
            Some(id) => sinks::asff::render(&sinks::asff::findings(&report, id)),
            None => bail!("--format asff needs the AWS identity"),
        },
        Format::Ocsf => sinks::ocsf::render(&sinks::ocsf::events(&report, identity.as_ref())),
        Format::Json => sinks::json::render(&report),
        Format::Kisa | Format::KisaHtml => {
            use jikimi::kisa;
            let lines: Vec<kisa::CheckLine> = report
                .results
                .iter()
                .map(kisa::CheckLine::from_result)
                .collect();
            let h = &report.host;
            let hd = kisa::Header {
                hostname: h.hostname.clone(),
                os: if h.os_name.is_empty() {
                    h.os_id.clone()
                } else {
                    h.os_name.clone()
                },
                scanned_at: report.started_at.clone(),
                profile: report.catalog.profile.as_str().to_string(),
                catalog_digest: report.catalog.digest.clone(),
            };
            if a.format == Format::Kisa {
                kisa::markdown(&hd, a.lang.kisa_edition, &lines)
            } else {
                kisa::html(&hd, a.lang.kisa_edition, &lines)
            }
        }
        Format::Table => {
            let color = match a.color {
                ColorWhen::Always => true,
                ColorWhen::Never => false,
                ColorWhen::Auto => {
                    a.output.is_none()
                        && std::io::stdout().is_terminal()
                        && std::env::var_os("NO_COLOR").is_none()
                }
            };
            sinks::table::render(&report, color, cfg.report.lang)
        }
    };
    match &a.output {
        Some(p) => write_atomic(p, text.as_bytes())?,
        None => print_out(&text)?,
    }
    Ok(report.exit_code())
}

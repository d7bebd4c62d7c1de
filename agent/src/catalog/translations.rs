//! The rule that every check carries its Korean text (`title_ko`, `description_ko`,
//! `rationale_ko`, `remediation_ko`): Korean reports fall back to English per field, and the
//! auditors who read them should never meet that fallback. `catalog lint` calls
//! [`missing_translations`]; loading does not, so user checks in `checks.d` may stay English.

use super::{CatalogError, CatalogProblem, Check};

/// One error per check that lacks Korean text for a field its English text has (`rationale`
/// is optional in English, so `rationale_ko` is required only when `rationale` is set). Each
/// error names the check's file and line and every missing key.
pub fn missing_translations(checks: &[Check]) -> Vec<CatalogError> {
    let mut out = Vec::new();
    for c in checks {
        let missing: Vec<&str> = [
            ("title_ko", &c.title, &c.ko.title),
            ("description_ko", &c.description, &c.ko.description),
            ("rationale_ko", &c.rationale, &c.ko.rationale),
            ("remediation_ko", &c.remediation, &c.ko.remediation),
        ]
        .into_iter()
        .filter(|(_, en, ko)| !en.trim().is_empty() && ko.trim().is_empty())
        .map(|(k, _, _)| k)
        .collect();
        if missing.is_empty() {
            continue;
        }
        let (file, line) = match c.origin.rsplit_once(':') {
            Some((f, l)) if l.parse::<usize>().is_ok() => (f.to_string(), l.parse().ok()),
            _ => (c.origin.clone(), None),
        };
        out.push(CatalogError {
            file,
            line,
            check: Some(c.id.clone()),
            problem: Box::new(CatalogProblem::MissingKorean {
                keys: missing.join(", "),
            }),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{load, Profile, SourceFile};

    const EXPECT: &str = "expect = { probe = 'file', path = '/etc/passwd', exists = true }\n";

    fn checks(body: &str) -> Vec<Check> {
        let src = SourceFile {
            name: "checks/t.toml".into(),
            text: format!("area = 't'\n{body}"),
            pre: None,
        };
        load(&[src], Profile::Kisa).unwrap().checks
    }

    #[test]
    fn complete_korean_text_passes() {
        let c = checks(&format!(
            "[[check]]\nid = 'T-001'\ntitle = 'T'\ntitle_ko = '제목'\nseverity = 'low'\n\
             description = 'D'\ndescription_ko = '설명'\nrationale = 'R'\nrationale_ko = '근거'\n\
             remediation = 'M'\nremediation_ko = '조치'\n{EXPECT}"
        ));
        assert!(missing_translations(&c).is_empty());
        // no English rationale: no Korean one needed
        let c = checks(&format!(
            "[[check]]\nid = 'T-002'\ntitle = 'T'\ntitle_ko = '제목'\nseverity = 'low'\n\
             description = 'D'\ndescription_ko = '설명'\nremediation = 'M'\nremediation_ko = '조치'\n{EXPECT}"
        ));
        assert!(missing_translations(&c).is_empty());
    }

    #[test]
    fn missing_fields_are_named_with_file_and_line() {
        let c = checks(&format!(
            "[[check]]\nid = 'T-001'\ntitle = 'T'\ntitle_ko = '제목'\nseverity = 'low'\n\
             description = 'D'\ndescription_ko = '설명'\nremediation = 'M'\nremediation_ko = '조치'\n{EXPECT}\
             \n[[check]]\nid = 'T-002'\ntitle = 'T'\nseverity = 'low'\ndescription = 'D'\n\
             rationale = 'R'\nremediation = 'M'\nremediation_ko = '조치'\n{EXPECT}"
        ));
        let e = missing_translations(&c);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].file, "checks/t.toml");
        assert_eq!(e[0].line, Some(13));
        assert_eq!(e[0].check.as_deref(), Some("T-002"));
        assert_eq!(
            e[0].to_string(),
            "checks/t.toml:13: check T-002: no Korean text: title_ko, description_ko, rationale_ko missing"
        );
    }
}

//! Typed errors of the catalog's probe, condition and fix validation, so that a catalog
//! author reads which field of which condition is wrong and what was expected, and code can
//! match on the kind of mistake instead of on message text.

use std::borrow::Cow;
use std::fmt;

/// One mistake in a probe, comparison or fix table (without its place; see [`LocatedError`]).
#[derive(Clone, thiserror::Error)]
pub enum ProbeError {
    /// The table does not fit the probe's schema (unknown field, wrong type): toml's words.
    #[error("{message}")]
    Schema { message: String },
    /// A required field, or one of a set of fields, is missing.
    #[error("{subject} needs {needs}")]
    Missing {
        subject: Cow<'static, str>,
        needs: &'static str,
    },
    /// Fields given where they mean nothing, or together where they exclude each other.
    #[error("{fields} {rule}")]
    Misplaced {
        fields: Cow<'static, str>,
        rule: &'static str,
    },
    /// A field whose value has the wrong shape (`platforms` must be a list...).
    #[error("{field} must {rule}")]
    Shape {
        field: Cow<'static, str>,
        rule: &'static str,
    },
    /// A field the table's kind does not take (`fix action `sshd` takes no `path``).
    #[error("{owner} takes no `{field}`")]
    NotTaken { owner: String, field: String },
    /// A path that must be absolute is not.
    #[error("{field} `{path}` must be absolute")]
    NotAbsolute { field: &'static str, path: String },
    /// A value that is not of the expected kind (`0999` is not an octal mode).
    #[error("`{given}` is not {expected}")]
    NotA {
        given: String,
        expected: Cow<'static, str>,
    },
    /// A name outside a closed set.
    #[error("unknown {what} `{given}` (expected {expected})")]
    Unknown {
        what: Cow<'static, str>,
        given: String,
        expected: Cow<'static, str>,
    },
    /// A combination the probe cannot judge; `rule` says what to write instead.
    #[error("{rule}")]
    Rule { rule: &'static str },
    /// A value table (`{ kisa = .., cis = .. }`) without a value for the active profile.
    #[error("no value for profile `{profile}` (and no `default`)")]
    NoProfileValue { profile: &'static str },
    /// A catalog pattern that cannot be compiled when first used (beyond the size limit).
    #[error(transparent)]
    Pattern(#[from] crate::catalog::pattern::PatternError),
    /// A regular expression that does not compile.
    #[error("bad {role} `{pattern}`")]
    BadRegex {
        role: &'static str,
        pattern: String,
        #[source]
        source: crate::catalog::pattern::PatternError,
    },
    /// An sudoers parameter that takes one value, used with a test that needs another kind.
    #[error("`{name}` is not a flag: use test = \"value\" with `op` and `value`")]
    NotAFlag { name: String },
    /// A sudoers flag or list used with the `value` test.
    #[error("`{name}` is a {kind}: test = \"value\" needs a parameter with one value")]
    NotSingleValued { name: String, kind: &'static str },
    /// An sshd keyword `sshd -T` does not print.
    #[error("`{keyword}` is not part of what sshd -T prints, so it cannot be checked")]
    NotPrinted { keyword: String },
    /// `forbid` on a keyword that is not an algorithm list.
    #[error("`forbid` needs an algorithm-list keyword ({allowed}), not `{keyword}`")]
    NotAlgorithmList { keyword: String, allowed: String },
    /// An sshd value sshd itself would refuse.
    #[error(transparent)]
    SshdValue(#[from] crate::facts::sshd::PrintedValueError),
    /// An audit rule of `require` that auditctl would refuse or that is not a rule.
    #[error("require[{index}] `{rule}`{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_else(|| " is not an audit rule".into()))]
    AuditRule {
        index: usize,
        rule: String,
        /// The parser's reason; `None`: the line parses but is not a rule (a control line).
        reason: Option<String>,
    },
    /// An actual value that the comparison cannot judge (a number expected).
    #[error("`{actual}` is not {expected}")]
    Uncomparable {
        actual: String,
        expected: &'static str,
    },
}
crate::error_text::debug_as_display!(ProbeError);

/// A [`ProbeError`] with the place it was found (`expect.all[1]`, `fix[0]`).
#[derive(Debug, Clone)]
pub struct LocatedError {
    pub at: String,
    pub problem: ProbeError,
}

impl fmt::Display for LocatedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.problem)
    }
}

impl std::error::Error for LocatedError {
    // The problem's own text is part of ours; its cause comes next in the chain.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.problem)
    }
}

impl ProbeError {
    /// This error at a place.
    pub fn at(self, at: impl Into<String>) -> LocatedError {
        LocatedError {
            at: at.into(),
            problem: self,
        }
    }
}

/// An error and its causes, joined by `: ` (one line, as catalog messages are shown).
pub use crate::error_text::chain as chain_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn located_regex_error_reads_as_one_line_with_its_cause() {
        let unclosed = String::from("(");
        let source = crate::catalog::pattern::Pattern::new(&unclosed).unwrap_err();
        let e = ProbeError::BadRegex {
            role: "pattern",
            pattern: "(".into(),
            source: source.clone(),
        }
        .at("expect.any[0]");
        let text = chain_text(&e);
        assert!(
            text.starts_with("expect.any[0]: bad pattern `(`: "),
            "{text}"
        );
        assert!(text.ends_with(&source.to_string()), "{text}");
        assert_eq!(text.matches("bad pattern").count(), 1, "{text}");
    }

    #[test]
    fn audit_rule_texts() {
        let e = ProbeError::AuditRule {
            index: 2,
            rule: "-e 2".into(),
            reason: None,
        };
        assert_eq!(e.to_string(), "require[2] `-e 2` is not an audit rule");
        let e = ProbeError::AuditRule {
            index: 0,
            rule: "-w".into(),
            reason: Some("no path".into()),
        };
        assert_eq!(e.to_string(), "require[0] `-w`: no path");
    }
}

//! A catalog regular expression that is checked when the catalog loads and compiled when a
//! check first uses it.
//!
//! Why: compiling every pattern of the catalog (a `regex::Regex` builds NFAs, prefilters and
//! a one-pass DFA) was most of the catalog load, and a run with `--only SSH-001` or `--no-walks`
//! uses only some of them. Loading still parses each pattern with `regex-syntax` (the parser
//! `regex` itself uses, with the same Unicode features), so a bad pattern is a load error
//! with `file:line`, as before. The one failure a parse cannot see, a pattern whose compiled
//! program exceeds `regex`'s size limit, is reported when the pattern is first used and
//! makes the check ERROR with that reason (never PASS) and a fix step refuse to plan.

use regex::Regex;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Why a pattern was refused (at load) or cannot be used (on first use).
#[derive(Clone, PartialEq, thiserror::Error)]
pub enum PatternError {
    /// Not a regular expression; the text is `regex`'s own message.
    #[error(transparent)]
    Syntax(Box<regex_syntax::Error>),
    /// Parses, but the compiled program exceeds `regex`'s size limit.
    #[error("pattern `{pattern}` cannot be compiled: {reason}")]
    Compile {
        pattern: String,
        reason: regex::Error,
    },
}
crate::error_text::debug_as_display!(PatternError);

/// A validated, lazily compiled regular expression. Clones share the compiled program.
#[derive(Clone)]
pub struct Pattern(Arc<Inner>);

struct Inner {
    source: String,
    compiled: OnceLock<Result<Regex, PatternError>>,
}

impl Pattern {
    /// Validates the syntax of `source` (as `Regex::new` would parse it); compiles nothing.
    pub fn new(source: &str) -> Result<Pattern, PatternError> {
        regex_syntax::Parser::new()
            .parse(source)
            .map_err(|e| PatternError::Syntax(Box::new(e)))?;
        Ok(Pattern(Arc::new(Inner {
            source: source.to_string(),
            compiled: OnceLock::new(),
        })))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0.source
    }

    /// The compiled expression (compiled on the first call).
    pub fn regex(&self) -> Result<&Regex, PatternError> {
        self.0
            .compiled
            .get_or_init(|| {
                Regex::new(&self.0.source).map_err(|reason| PatternError::Compile {
                    pattern: self.0.source.clone(),
                    reason,
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Whether `text` matches; `Err` when the pattern cannot be compiled.
    pub fn is_match(&self, text: &str) -> Result<bool, PatternError> {
        Ok(self.regex()?.is_match(text))
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.0.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_at_construction_with_regex_message() {
        for bad in [
            "(",
            "a{2,1}",
            "[z-a]",
            r"\p{NoSuchClass}",
            "(?P<n>a)(?P<n>b)",
        ] {
            let ours = Pattern::new(bad).expect_err(bad).to_string();
            let theirs = Regex::new(bad).expect_err(bad).to_string();
            assert_eq!(ours, theirs, "{bad}");
        }
    }

    #[test]
    fn compiles_on_first_use_and_matches() {
        let p = Pattern::new(r"(?i)^\s*permitrootlogin\s+yes").unwrap();
        assert!(p.0.compiled.get().is_none(), "nothing compiled at load");
        assert_eq!(p.is_match("  PermitRootLogin yes"), Ok(true));
        assert_eq!(p.is_match("PermitRootLogin no"), Ok(false));
        let q = p.clone();
        assert!(q.0.compiled.get().is_some(), "clones share the program");
        assert_eq!(p.as_str(), r"(?i)^\s*permitrootlogin\s+yes");
    }

    #[test]
    fn size_limit_is_an_error_on_use_never_a_match() {
        // parses, but its compiled program is far beyond regex's default size limit
        let p = Pattern::new(r"\w{1000}\w{1000}\w{1000}").unwrap();
        let e = p.is_match("x").unwrap_err().to_string();
        assert!(e.contains("cannot be compiled"), "{e}");
        assert!(p.is_match("y").is_err(), "the failure is remembered");
    }
}

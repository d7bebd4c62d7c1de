//! One-line text of an error and its `source()` chain: the form errors take where they end
//! up as text (catalog load messages, sink summaries, evidence), so that typed errors can
//! keep their cause as a source instead of pasting it into their own `Display`.

/// `error: cause: cause of the cause`.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// `impl Debug` for error types that writes their `Display` text, as `Debug` would have
/// shown nothing more useful: the cause stays reachable through `source()`. A derived
/// `Debug` is kept in the binary by every `dyn Error` vtable and costs 1 to 7 KB per large
/// enum (issue 14: `AwsError`, `CredentialsError` and `ImdsError` were 24 KB together).
macro_rules! debug_as_display {
    ($($t:ty),+ $(,)?) => {$(
        impl ::std::fmt::Debug for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(self, f)
            }
        }
    )+};
}
pub(crate) use debug_as_display;

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("reading /x")]
    struct Outer {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn causes_follow_the_error() {
        let e = Outer {
            source: std::io::Error::other("disk on fire"),
        };
        assert_eq!(super::chain(&e), "reading /x: disk on fire");
    }
}

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

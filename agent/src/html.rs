//! The one HTML escape of every page the agent renders (host report, fleet report, KISA
//! form). Evidence, host names and check text come from hosts anyone may have edited, so
//! every text that goes into markup passes through [`h`]; control characters become spaces
//! (a NUL or an escape sequence has no place in a mail body).

/// Text made safe for an HTML element or a quoted attribute value.
pub fn h(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\n' | '\t' => o.push(c),
            c if c.is_control() => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::h;

    #[test]
    fn markup_quotes_and_controls_are_neutralised() {
        assert_eq!(
            h("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(h("a\u{1b}[31mb\0c"), "a [31mb c");
        assert_eq!(h("line\nnext\ttab 한글"), "line\nnext\ttab 한글");
    }
}

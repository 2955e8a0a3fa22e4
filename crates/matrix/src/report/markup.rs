//! Text placed in XML and HTML: escaped so that a printer name, a status description or an
//! error message can never break the markup, whatever bytes it holds.

/// Escapes the five markup characters and drops the control characters XML 1.0 forbids.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_and_forbidden_controls_cannot_break_out() {
        assert_eq!(
            escape("<a href=\"x\">R&D's</a>\u{0}\u{1b}\n"),
            "&lt;a href=&quot;x&quot;&gt;R&amp;D&apos;s&lt;/a&gt;\u{FFFD}\u{FFFD}\n"
        );
    }
}

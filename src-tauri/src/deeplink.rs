//! `tel:` / `callto:` links and numbers from the clipboard.
//!
//! On Linux and Windows a link arrives as a command-line argument: at first
//! launch through [`crate::cli`], and when Ringside is already running through
//! the single-instance plugin, which hands the second launch's argv to the
//! running instance ([`numbers_in_argv`]). `ringside.desktop` registers the
//! schemes (`MimeType=x-scheme-handler/tel;x-scheme-handler/callto;`).

use percent_encoding::percent_decode_str;

/// The longest number we dial (E.164 allows 15 digits; extensions and
/// feature codes are shorter).
const MAX_DIGITS: usize = 20;

/// The number in a `tel:` or `callto:` link, digits with an optional leading
/// `+`, or `None` when `link` is not such a link or holds no dialable number.
///
/// Accepts `tel:+34%20647%2046%2001%2097`, `tel:+34-647-460-197`,
/// `tel:647460197;phone-context=+34`, `callto://+34647460197`,
/// `callto:+34 (647) 46.01.97`, any case of the scheme.
pub fn parse_dial_link(link: &str) -> Option<String> {
    let link = link.trim();
    let (scheme, rest) = link.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("tel") && !scheme.eq_ignore_ascii_case("callto") {
        return None;
    }
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    // RFC 3966 parameters (`;ext=`, `;phone-context=`) and query strings are not part of the number.
    let rest = rest.split([';', '?', '#']).next().unwrap_or("");
    let decoded = percent_decode_str(rest).decode_utf8().ok()?;
    let decoded = decoded.trim().trim_end_matches('/');
    normalize_number(decoded)
}

/// Digits with an optional leading `+`, from a number written with visual
/// separators (spaces, `-`, `.`, `(`, `)`, `/`). `None` when anything else is
/// in it (letters: a Skype name, not a number) or there are no digits.
pub fn normalize_number(text: &str) -> Option<String> {
    let text = text.trim();
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        match c {
            '0'..='9' => out.push(c),
            '+' if i == 0 => out.push(c),
            ' ' | '\u{a0}' | '-' | '.' | '(' | ')' | '/' | '\t' => {}
            _ => return None,
        }
    }
    let digits = out.trim_start_matches('+').len();
    (1..=MAX_DIGITS).contains(&digits).then_some(out)
}

/// The number to dial from whatever text is on the clipboard: a link, a bare
/// number, or the first number-looking run inside other text
/// ("Lucía: +34 647 46 01 97"). At least 3 digits.
pub fn number_from_text(text: &str) -> Option<String> {
    let text = text.trim();
    if let Some(n) = parse_dial_link(text) {
        return Some(n);
    }
    if let Some(n) = normalize_number(text).filter(|n| digit_count(n) >= 3) {
        return Some(n);
    }
    let is_part = |c: char| c.is_ascii_digit() || " \u{a0}-.()/+".contains(c);
    let mut best: Option<String> = None;
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once('\n')) {
        if is_part(c) {
            run.push(c);
            continue;
        }
        let candidate = run
            .trim()
            .trim_start_matches(['(', ')', '.', '-', '/'])
            .to_string();
        run.clear();
        // a `+` is only meaningful first: "a+b" is not a number
        let candidate = match candidate.rfind('+') {
            Some(i) => candidate[i..].to_string(),
            None => candidate,
        };
        if let Some(n) = normalize_number(&candidate).filter(|n| digit_count(n) >= 3) {
            best = Some(n);
            break;
        }
    }
    best
}

fn digit_count(n: &str) -> usize {
    n.chars().filter(char::is_ascii_digit).count()
}

/// The number of the first `tel:`/`callto:` argument (skipping `argv[0]`).
pub fn number_in_argv<S: AsRef<str>>(argv: &[S]) -> Option<String> {
    argv.iter()
        .skip(1)
        .find_map(|a| parse_dial_link(a.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        let cases: &[(&str, Option<&str>)] = &[
            ("tel:+34%20647%2046%2001%2097", Some("+34647460197")),
            ("tel:+34 647 46 01 97", Some("+34647460197")),
            ("tel:+34-647-460-197", Some("+34647460197")),
            ("TEL:+34.647.460.197", Some("+34647460197")),
            ("tel:647460197;phone-context=+34", Some("647460197")),
            ("tel:+34911234567;ext=12", Some("+34911234567")),
            ("tel://+34647460197", Some("+34647460197")),
            ("callto://+34647460197", Some("+34647460197")),
            ("callto://+34647460197/", Some("+34647460197")),
            ("callto:+34%20(647)%2046%2001%2097", Some("+34647460197")),
            ("callto:0034647460197?call", Some("0034647460197")),
            ("tel:203", Some("203")),
            ("  tel:301  ", Some("301")),
            ("callto://lucia.fernandez", None),
            ("tel:", None),
            ("tel:+", None),
            ("tel:12+34", None),
            ("tel:%FF%FE", None),
            ("tel:123456789012345678901", None),
            ("https://example.com/tel:123", None),
            ("mailto:x@example.com", None),
            ("+34647460197", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_dial_link(input).as_deref(), *want, "{input}");
        }
    }

    #[test]
    fn argv() {
        let argv = [
            "/usr/bin/ringside-desktop",
            "--demo",
            "tel:+34%20647%2046%2001%2097",
        ];
        assert_eq!(number_in_argv(&argv).as_deref(), Some("+34647460197"));
        assert_eq!(number_in_argv(&["ringside-desktop"]), None);
        // argv[0] is never a link
        assert_eq!(number_in_argv(&["tel:1234", "--demo"]), None);
    }

    #[test]
    fn clipboard() {
        let cases: &[(&str, Option<&str>)] = &[
            ("+34 647 46 01 97", Some("+34647460197")),
            ("  (91) 123-45-67\n", Some("911234567")),
            ("Lucía: +34 647 46 01 97 (mobile)", Some("+34647460197")),
            ("tel:+34%20647%2046%2001%2097", Some("+34647460197")),
            ("call 203 please", Some("203")),
            ("ext. 12", None),
            ("hello", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(number_from_text(input).as_deref(), *want, "{input:?}");
        }
    }
}

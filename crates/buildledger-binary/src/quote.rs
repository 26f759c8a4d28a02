//! Go string literal quoting (`strconv.Quote`, `Unquote`, `QuotedPrefix`),
//! as used by `build` lines in Go build info.

/// Quote `s` as Go's `strconv.Quote` does.
///
/// Go decides printability with its Unicode tables; this uses an
/// approximation for non-ASCII characters (controls, white space, format and
/// private-use characters are escaped). Build settings are nearly always ASCII.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if is_print(c) => out.push(c),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(u,
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
        | 0x202a..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb
        | 0xe000..=0xf8ff | 0xe0001 | 0xe0020..=0xe007f | 0xf0000..)
}

/// The leading quoted string of `s` (Go's `strconv.QuotedPrefix`), or `None`.
pub fn go_quoted_prefix(s: &str) -> Option<&str> {
    let (_, used) = unquote_bytes(s.as_bytes())?;
    s.get(..used)
}

/// Unquote a whole Go string literal (`strconv.Unquote`); `None` if it is not
/// exactly one valid literal. Bytes that are not UTF-8 become U+FFFD.
pub fn go_unquote(s: &str) -> Option<String> {
    let (bytes, used) = unquote_bytes(s.as_bytes())?;
    if used != s.len() {
        return None;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Decode one `"…"` or `` `…` `` literal at the start of `b`; returns the
/// value and the number of bytes the literal spans.
fn unquote_bytes(b: &[u8]) -> Option<(Vec<u8>, usize)> {
    let quote = *b.first()?;
    match quote {
        b'`' => {
            let end = b[1..].iter().position(|&c| c == b'`')? + 1;
            let value = b[1..end].iter().copied().filter(|&c| c != b'\r').collect();
            Some((value, end + 1))
        }
        b'"' => {
            let mut out = Vec::new();
            let mut i = 1;
            loop {
                let c = *b.get(i)?;
                match c {
                    b'"' => return Some((out, i + 1)),
                    b'\n' => return None,
                    b'\\' => {
                        let e = *b.get(i + 1)?;
                        i += 2;
                        match e {
                            b'a' => out.push(0x07),
                            b'b' => out.push(0x08),
                            b'f' => out.push(0x0c),
                            b'n' => out.push(b'\n'),
                            b'r' => out.push(b'\r'),
                            b't' => out.push(b'\t'),
                            b'v' => out.push(0x0b),
                            b'\\' => out.push(b'\\'),
                            b'"' => out.push(b'"'),
                            b'x' => {
                                let v = hex(b.get(i..i + 2)?)?;
                                out.push(u8::try_from(v).ok()?);
                                i += 2;
                            }
                            b'u' | b'U' => {
                                let n = if e == b'u' { 4 } else { 8 };
                                let v = hex(b.get(i..i + n)?)?;
                                let ch = char::from_u32(v)?;
                                let mut buf = [0u8; 4];
                                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                                i += n;
                            }
                            b'0'..=b'7' => {
                                let digits = b.get(i - 1..i + 2)?;
                                let mut v: u32 = 0;
                                for &d in digits {
                                    if !(b'0'..=b'7').contains(&d) {
                                        return None;
                                    }
                                    v = v * 8 + u32::from(d - b'0');
                                }
                                out.push(u8::try_from(v).ok()?);
                                i += 2;
                            }
                            _ => return None,
                        }
                    }
                    _ => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
        }
        _ => None,
    }
}

fn hex(digits: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &d in digits {
        v = v.checked_mul(16)? + char::from(d).to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in [
            "-ldflags=-s -w",
            "a\"b`c\\",
            "tab\there\nnl",
            "\u{7f}\u{1}",
            "é ü",
        ] {
            let q = go_quote(s);
            assert_eq!(go_unquote(&q).as_deref(), Some(s), "{q}");
        }
        assert_eq!(go_quote("-s -w"), "\"-s -w\"");
        assert_eq!(go_quote("\u{1}\u{ad}"), "\"\\x01\\u00ad\"");
        assert_eq!(go_unquote("`a\rb`").as_deref(), Some("ab"));
        assert_eq!(go_unquote("\"\\101\\x41\\u0041\""), Some("AAA".into()));
        assert_eq!(go_unquote("\"\\777\""), None);
        assert_eq!(go_unquote("\"\\ud800\""), None);
        assert_eq!(go_unquote("\"abc"), None);
        assert_eq!(go_unquote("\"a\"b"), None);
        assert_eq!(go_quoted_prefix("\"k=v\"=x"), Some("\"k=v\""));
    }
}

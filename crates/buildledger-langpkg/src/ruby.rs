//! Ruby gems: the specification RubyGems writes for every installed gem
//! (`…/specifications/NAME-VERSION.gemspec`, and `specifications/default/`
//! for the gems that ship with Ruby), Ruby source read as text.

/// Is `path` an installed gem's specification?
pub fn is_gemspec(path: &str) -> bool {
    let Some((dir, file)) = path.rsplit_once('/') else {
        return false;
    };
    // `specifications/default/` holds the gems that ship with Ruby itself.
    let dir = dir.strip_suffix("/default").unwrap_or(dir);
    (dir == "specifications" || dir.ends_with("/specifications"))
        && file.ends_with(".gemspec")
        && file.len() > ".gemspec".len()
}

/// The first double- or single-quoted string after `=` on a line.
fn quoted_value(line: &str) -> Option<&str> {
    let rest = line.split_once('=')?.1.trim_start();
    let q = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &rest[1..];
    body.find(q).map(|end| &body[..end])
}

fn plausible(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `(name, version)` from a gemspec's `s.name = "…"` and
/// `s.version = "…"` lines (RubyGems writes them with `.freeze`); `None`
/// when either is missing or implausible. The Ruby is never evaluated.
pub fn parse_gemspec(bytes: &[u8]) -> Option<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let (mut name, mut version) = (None, None);
    for line in text.lines() {
        let l = line.trim();
        let Some((lhs, _)) = l.split_once('=') else {
            continue;
        };
        let lhs = lhs.trim();
        if name.is_none() && lhs.ends_with(".name") {
            name = quoted_value(l);
        } else if version.is_none() && lhs.ends_with(".version") {
            version = quoted_value(l);
        }
    }
    let (n, v) = (name?, version?);
    (plausible(n) && plausible(v)).then(|| (n.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemspecs() {
        assert!(is_gemspec(
            "usr/local/bundle/specifications/rack-2.2.3.gemspec"
        ));
        assert!(is_gemspec(
            "var/lib/gems/3.1.0/specifications/default/json-2.6.1.gemspec"
        ));
        assert!(!is_gemspec("app/rack.gemspec"));
        let spec = b"# -*- encoding: utf-8 -*-\nGem::Specification.new do |s|\n  s.name = \"rack\".freeze\n  s.version = \"2.2.3\"\n  s.required_rubygems_version = Gem::Requirement.new(\">= 0\".freeze)\nend\n";
        assert_eq!(parse_gemspec(spec), Some(("rack".into(), "2.2.3".into())));
        assert_eq!(parse_gemspec(b"s.name = 'x'\n"), None);
        assert_eq!(parse_gemspec(b"s.name = x\ns.version = \"1\"\n"), None);
    }
}

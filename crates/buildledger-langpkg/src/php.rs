//! PHP: the `vendor/composer/installed.json` Composer writes when it
//! installs an application's dependencies. Composer 1 writes a JSON array of
//! packages; Composer 2 an object whose `packages` member is that array.
//! Each package has `name` (`vendor/package`, lower case) and `version` as
//! the tag was written (`v5.4.0`, `1.2.3`); branch installs (`dev-main`) are
//! kept, with their version as written, since advisories cannot name them
//! and a reader should see them.

/// Most packages read from one file.
pub const MAX_COMPOSER_PACKAGES: usize = 100_000;

/// Is `path` Composer's record of installed packages?
pub fn is_composer_installed(path: &str) -> bool {
    path == "vendor/composer/installed.json" || path.ends_with("/vendor/composer/installed.json")
}

fn plausible_name(s: &str) -> bool {
    let Some((vendor, name)) = s.split_once('/') else {
        return false;
    };
    let part = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    s.len() <= 256 && part(vendor) && part(name)
}

fn plausible_version(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `(name, version)` of every package in an `installed.json` (either
/// Composer's format), sorted and deduplicated, names lower-cased as
/// Packagist treats them; empty when the bytes are not such a document.
pub fn parse_composer_installed(bytes: &[u8]) -> Vec<(String, String)> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    let list = match &v {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(o) => match o.get("packages") {
            Some(serde_json::Value::Array(a)) => a,
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    let mut out: Vec<(String, String)> = list
        .iter()
        .take(MAX_COMPOSER_PACKAGES)
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?.trim().to_ascii_lowercase();
            let version = p.get("version")?.as_str()?.trim();
            (plausible_name(&name) && plausible_version(version))
                .then(|| (name, version.to_string()))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(is_composer_installed(
            "var/www/html/vendor/composer/installed.json"
        ));
        assert!(is_composer_installed("vendor/composer/installed.json"));
        assert!(!is_composer_installed("var/www/html/composer.json"));
        assert!(!is_composer_installed(
            "var/www/html/vendor/composer/installed.php"
        ));
        assert!(!is_composer_installed("x/myvendor/composer/installed.json"));
    }

    #[test]
    fn both_formats() {
        let v2 = br#"{"packages": [
            {"name": "symfony/console", "version": "v5.4.0", "version_normalized": "5.4.0.0", "type": "library"},
            {"name": "Monolog/Monolog", "version": "2.3.5"},
            {"name": "acme/app-helpers", "version": "dev-main"},
            {"name": "nonamespace", "version": "1.0.0"},
            {"name": "a/b", "version": 3}
          ], "dev": true, "dev-package-names": []}"#;
        let want = vec![
            ("acme/app-helpers".to_string(), "dev-main".to_string()),
            ("monolog/monolog".to_string(), "2.3.5".to_string()),
            ("symfony/console".to_string(), "v5.4.0".to_string()),
        ];
        assert_eq!(parse_composer_installed(v2), want);
        let v1 = br#"[
            {"name": "symfony/console", "version": "v5.4.0"},
            {"name": "monolog/monolog", "version": "2.3.5"},
            {"name": "acme/app-helpers", "version": "dev-main"}
          ]"#;
        assert_eq!(parse_composer_installed(v1), want);
    }

    #[test]
    fn not_installed_json() {
        assert!(parse_composer_installed(b"").is_empty());
        assert!(parse_composer_installed(b"{}").is_empty());
        assert!(parse_composer_installed(br#"{"packages": {}}"#).is_empty());
        assert!(parse_composer_installed(b"\"x\"").is_empty());
        assert!(parse_composer_installed(&[b'{'; 10_000]).is_empty());
    }
}

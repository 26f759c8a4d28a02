//! Node.js packages installed under `node_modules`: their `package.json`.

/// Is `path` the manifest of a package installed in a `node_modules`
/// directory (`…/node_modules/NAME/package.json` or
/// `…/node_modules/@SCOPE/NAME/package.json`)?
pub fn is_node_manifest(path: &str) -> bool {
    let Some(dir) = path.strip_suffix("/package.json") else {
        return false;
    };
    let parts: Vec<&str> = dir.rsplitn(3, '/').collect();
    match parts.as_slice() {
        [name, "node_modules", ..] => !name.starts_with('@') && !name.starts_with('.'),
        [name, scope, rest] => {
            scope.starts_with('@')
                && (*rest == "node_modules" || rest.ends_with("/node_modules"))
                && !name.starts_with('.')
        }
        _ => false,
    }
}

/// `(name, version)` from a `package.json`; `None` when it is not a JSON
/// object with string `name` and `version`.
pub fn parse_package_json(bytes: &[u8]) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let name = v.get("name")?.as_str()?.trim();
    let version = v.get("version")?.as_str()?.trim();
    let ok = |s: &str| {
        !s.is_empty() && s.len() <= 214 && !s.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    (ok(name) && ok(version)).then(|| (name.to_string(), version.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(is_node_manifest("srv/app/node_modules/lodash/package.json"));
        assert!(is_node_manifest(
            "srv/app/node_modules/@babel/parser/package.json"
        ));
        assert!(is_node_manifest(
            "srv/app/node_modules/a/node_modules/b/package.json"
        ));
        assert!(is_node_manifest("node_modules/lodash/package.json"));
        assert!(!is_node_manifest("srv/app/package.json"));
        assert!(!is_node_manifest(
            "srv/app/node_modules/@babel/package.json"
        ));
        assert!(!is_node_manifest("srv/app/node_modules/.bin/package.json"));
        assert!(!is_node_manifest(
            "srv/app/node_modules/lodash/fp/package.json"
        ));
        assert!(!is_node_manifest("usr/share/nodejs/lodash/package.json"));
    }

    #[test]
    fn manifests() {
        assert_eq!(
            parse_package_json(br#"{"name":"@babel/parser","version":"7.0.0"}"#),
            Some(("@babel/parser".into(), "7.0.0".into()))
        );
        assert_eq!(parse_package_json(br#"{"name":"x"}"#), None);
        assert_eq!(parse_package_json(br#"{"name":"x","version":1}"#), None);
        assert_eq!(parse_package_json(b"[1,2]"), None);
        assert_eq!(parse_package_json(b"{"), None);
    }
}

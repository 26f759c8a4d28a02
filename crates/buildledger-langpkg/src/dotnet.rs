//! .NET: the `*.deps.json` file the SDK writes beside every application
//! (`app.deps.json`) and every shared framework
//! (`shared/Microsoft.NETCore.App/8.0.1/Microsoft.NETCore.App.deps.json`).
//!
//! Its `libraries` map names each NuGet package the application was
//! published with (`"Newtonsoft.Json/13.0.1": {"type": "package", …}`) and,
//! in a self-contained application or a shared framework, the runtime pack
//! (`"Microsoft.NETCore.App.Runtime.linux-x64/8.0.1": {"type":
//! "runtimepack"}`), which is how .NET runtime advisories name the runtime.
//! `project` entries (the application itself and projects it references)
//! and `reference` entries (plain assemblies) are not NuGet packages and are
//! left out.

/// Most `libraries` entries read from one file.
pub const MAX_DEPS_ENTRIES: usize = 100_000;

/// Is `path` a .NET dependency manifest (`….deps.json`)?
pub fn is_deps_json(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.len() > ".deps.json".len() && file.ends_with(".deps.json")
}

fn plausible(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
}

/// `(name, version)` of every NuGet package and runtime pack in a
/// `deps.json`, sorted and deduplicated; empty when the bytes are not such
/// a document.
pub fn parse_deps_json(bytes: &[u8]) -> Vec<(String, String)> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    let Some(libs) = v.get("libraries").and_then(|l| l.as_object()) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = libs
        .iter()
        .take(MAX_DEPS_ENTRIES)
        .filter(|(_, lib)| {
            matches!(
                lib.get("type").and_then(|t| t.as_str()),
                Some("package" | "runtimepack")
            )
        })
        .filter_map(|(key, _)| {
            let (name, version) = key.split_once('/')?;
            (plausible(name) && plausible(version)).then(|| (name.to_string(), version.to_string()))
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
        assert!(is_deps_json("app/MyApp.deps.json"));
        assert!(is_deps_json(
            "usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.1/Microsoft.NETCore.App.deps.json"
        ));
        assert!(!is_deps_json("app/.deps.json"));
        assert!(!is_deps_json("app/deps.json"));
        assert!(!is_deps_json("app/MyApp.runtimeconfig.json"));
    }

    #[test]
    fn libraries() {
        let doc = br#"{
          "runtimeTarget": {"name": ".NETCoreApp,Version=v8.0/linux-x64", "signature": ""},
          "targets": {".NETCoreApp,Version=v8.0/linux-x64": {}},
          "libraries": {
            "MyApp/1.0.0": {"type": "project", "serviceable": false, "sha512": ""},
            "Newtonsoft.Json/13.0.1": {"type": "package", "serviceable": true,
               "sha512": "sha512-ppPF", "path": "newtonsoft.json/13.0.1"},
            "Microsoft.NETCore.App.Runtime.linux-x64/8.0.1": {"type": "runtimepack", "serviceable": false, "sha512": ""},
            "System.Web/4.0.0.0": {"type": "reference"},
            "Bad Name/1.0": {"type": "package"},
            "NoVersion": {"type": "package"}
          }
        }"#;
        assert_eq!(
            parse_deps_json(doc),
            vec![
                (
                    "Microsoft.NETCore.App.Runtime.linux-x64".to_string(),
                    "8.0.1".to_string()
                ),
                ("Newtonsoft.Json".to_string(), "13.0.1".to_string()),
            ]
        );
    }

    #[test]
    fn not_a_manifest() {
        assert!(parse_deps_json(b"").is_empty());
        assert!(parse_deps_json(b"[]").is_empty());
        assert!(parse_deps_json(br#"{"libraries": []}"#).is_empty());
        assert!(parse_deps_json(br#"{"libraries": {"a/1": {"type": 5}}}"#).is_empty());
        assert!(parse_deps_json(&[b'['; 10_000]).is_empty());
    }
}

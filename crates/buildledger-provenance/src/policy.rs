//! The trust policy: which keys may sign provenance for which builder id,
//! and which keys may sign VEX documents for which author.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use crate::{ProvenanceError, PublicKey};

/// Largest policy file accepted, in bytes.
pub const MAX_POLICY_SIZE: usize = 1024 * 1024;

/// Builder id → public keys trusted to sign provenance for that builder.
///
/// # File format (JSON)
///
/// ```json
/// {
///   "builders": {
///     "https://ci.example/builders/release@v1": [
///       { "pem": "-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----\n" },
///       { "path": "keys/release-2025.pub" }
///     ]
///   },
///   "vex_authors": {
///     "Security Team <security@example.com>": [ { "path": "keys/vex.pub" } ]
///   }
/// }
/// ```
///
/// Either section may be left out, not both. `vex_authors` pins keys to OpenVEX document authors, compared
/// byte for byte with the document's `author`, with the same rules as
/// builders. Each key is exactly one of `pem` (inline SPKI PEM) or `path` (an SPKI
/// PEM file; relative paths are resolved against the directory of the
/// policy file). Builder ids are compared byte for byte with
/// `runDetails.builder.id`. Unknown fields, duplicate builder ids and
/// builders without keys are errors: a policy is written by people and a
/// typo must not silently trust or distrust anyone. The same key may be
/// listed for several builders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustPolicy {
    builders: BTreeMap<String, Vec<PublicKey>>,
    authors: BTreeMap<String, Vec<PublicKey>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WirePolicy {
    #[serde(default)]
    builders: Option<UniqueMap>,
    #[serde(default)]
    vex_authors: Option<UniqueMap>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireKey {
    #[serde(default)]
    pem: Option<String>,
    #[serde(default)]
    path: Option<PathBuf>,
}

/// A JSON object that refuses duplicate keys.
struct UniqueMap(Vec<(String, Vec<WireKey>)>);

impl<'de> Deserialize<'de> for UniqueMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UniqueMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object mapping builder ids (or VEX authors) to lists of keys")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueMap, A::Error> {
                let mut out: Vec<(String, Vec<WireKey>)> = Vec::new();
                while let Some((id, keys)) = map.next_entry::<String, Vec<WireKey>>()? {
                    if out.iter().any(|(seen, _)| *seen == id) {
                        return Err(serde::de::Error::custom(format!("{id:?} is listed twice")));
                    }
                    out.push((id, keys));
                }
                Ok(UniqueMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl TrustPolicy {
    /// An empty policy: trusts nobody.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trust `key` for `builder_id` (in addition to keys already trusted).
    pub fn insert(&mut self, builder_id: impl Into<String>, key: PublicKey) {
        let keys = self.builders.entry(builder_id.into()).or_default();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }

    /// Trust `key` for VEX documents by `author`.
    pub fn insert_author(&mut self, author: impl Into<String>, key: PublicKey) {
        let keys = self.authors.entry(author.into()).or_default();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }

    /// Keys trusted for VEX documents by exactly this author (empty if none).
    pub fn keys_for_author(&self, author: &str) -> &[PublicKey] {
        self.authors.get(author).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Read a policy file; key paths are relative to its directory.
    pub fn load(path: &Path) -> Result<Self, ProvenanceError> {
        let text = read_bounded(path, MAX_POLICY_SIZE, "trust policy")?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base, &path.display().to_string())
    }

    /// Parse policy text; relative key paths are resolved against `base_dir`.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(s: &str, base_dir: &Path) -> Result<Self, ProvenanceError> {
        Self::parse(s, base_dir, "<inline>")
    }

    fn parse(s: &str, base_dir: &Path, source_name: &str) -> Result<Self, ProvenanceError> {
        let err = |reason: String| ProvenanceError::Policy {
            source_name: source_name.to_owned(),
            reason,
        };
        if s.len() > MAX_POLICY_SIZE {
            return Err(err(format!(
                "{} bytes, more than the limit of {MAX_POLICY_SIZE}",
                s.len()
            )));
        }
        let wire: WirePolicy = serde_json::from_str(s).map_err(|e| err(e.to_string()))?;
        let mut policy = TrustPolicy::new();
        if wire.builders.is_none() && wire.vex_authors.is_none() {
            return Err(err(
                "neither `builders` nor `vex_authors`: a trust policy pins at least one of them"
                    .into(),
            ));
        }
        let sections = wire
            .builders
            .map(|b| ("builder", b.0))
            .into_iter()
            .chain(wire.vex_authors.map(|a| ("VEX author", a.0)));
        for (what, entries) in sections {
            for (name, keys) in entries {
                if name.is_empty() {
                    return Err(err(format!("empty {what} id")));
                }
                if keys.is_empty() {
                    return Err(err(format!("{what} {name:?} has no keys")));
                }
                for (i, k) in keys.into_iter().enumerate() {
                    let key = match (k.pem, k.path) {
                        (Some(pem), None) => PublicKey::from_pem(&pem).map_err(|e| {
                            err(format!("{what} {name:?} key {i} (inline pem): {e}"))
                        })?,
                        (None, Some(p)) => {
                            let full = base_dir.join(&p);
                            let pem =
                                read_bounded(&full, crate::keys::MAX_KEY_PEM_SIZE, "public key")?;
                            PublicKey::from_pem(&pem).map_err(|e| {
                                err(format!("{what} {name:?} key {i} ({}): {e}", full.display()))
                            })?
                        }
                        _ => {
                            return Err(err(format!(
                                "{what} {name:?} key {i}: give exactly one of `pem` or `path`"
                            )));
                        }
                    };
                    if what == "builder" {
                        policy.insert(name.clone(), key);
                    } else {
                        policy.insert_author(name.clone(), key);
                    }
                }
            }
        }
        Ok(policy)
    }

    /// Keys trusted for exactly this builder id (empty if none).
    pub fn keys_for(&self, builder_id: &str) -> &[PublicKey] {
        self.builders
            .get(builder_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Builder ids that trust a key with this key id.
    pub fn builders_for_key(&self, key_id: &str) -> Vec<&str> {
        self.builders
            .iter()
            .filter(|(_, keys)| keys.iter().any(|k| k.key_id() == key_id))
            .map(|(b, _)| b.as_str())
            .collect()
    }

    /// All builder ids in the policy, sorted.
    pub fn builder_ids(&self) -> impl Iterator<Item = &str> {
        self.builders.keys().map(String::as_str)
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = (&str, &PublicKey)> {
        self.builders
            .iter()
            .flat_map(|(b, ks)| ks.iter().map(move |k| (b.as_str(), k)))
    }
}

fn read_bounded(path: &Path, limit: usize, what: &'static str) -> Result<String, ProvenanceError> {
    use buildledger_input::InputError;
    let io = |source| ProvenanceError::Io {
        path: path.to_owned(),
        source,
    };
    // Regular files only, and never more than `limit` bytes read: a FIFO or
    // /dev/zero named as a policy or key fails at once.
    let bytes = buildledger_input::read_file(path, limit as u64).map_err(|e| match e {
        InputError::TooLarge { .. } => ProvenanceError::TooLarge {
            what,
            size: std::fs::metadata(path)
                .ok()
                .and_then(|m| usize::try_from(m.len()).ok())
                .filter(|&n| n > limit)
                .unwrap_or(limit + 1),
            limit,
        },
        InputError::NotRegular { kind, .. } => io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file ({kind})"),
        )),
        InputError::Io { source, .. } => io(source),
    })?;
    String::from_utf8(bytes).map_err(|_| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text",
        ))
    })
}

//! [`Digest`]: an OCI content digest, `sha256:<64 lowercase hex>`.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ModelError;

/// A content digest of an OCI object: `sha256:` followed by 64 lowercase hex
/// digits. Upper-case hex is accepted on input and normalised to lower case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl JsonSchema for Digest {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Digest".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^sha256:[0-9a-fA-F]{64}$",
            "description": "OCI content digest: sha256 followed by 64 hex digits"
        })
    }
}

impl Digest {
    /// Parse `sha256:<64 hex>`.
    pub fn parse(s: &str) -> Result<Digest, ModelError> {
        let s = s.trim();
        let Some(hex) = s.strip_prefix("sha256:") else {
            let algo = s.split(':').next().unwrap_or("");
            return Err(if s.contains(':') {
                ModelError::new(
                    "",
                    format!(
                        "unsupported digest algorithm {algo:?} in {s:?} (only sha256 is accepted)"
                    ),
                )
            } else {
                ModelError::new(
                    "",
                    format!("{s:?} is not a digest: expected sha256:<64 hex digits>"),
                )
            });
        };
        if hex.len() != 64 {
            return Err(ModelError::new(
                "",
                format!(
                    "{s:?} is not a digest: sha256 needs 64 hex digits, found {}",
                    hex.len()
                ),
            ));
        }
        if let Some(c) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(ModelError::new(
                "",
                format!("{s:?} is not a digest: {c:?} is not a hex digit"),
            ));
        }
        Ok(Digest(format!("sha256:{}", hex.to_ascii_lowercase())))
    }

    /// A digest from its 64 hex digits.
    pub fn of_hex(hex64: &str) -> Result<Digest, ModelError> {
        Digest::parse(&format!("sha256:{hex64}"))
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Digest {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl TryFrom<String> for Digest {
    type Error = ModelError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

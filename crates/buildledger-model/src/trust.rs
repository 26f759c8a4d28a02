//! Where a record's facts came from ([`Origin`]) and how far they can be
//! trusted ([`TrustState`], [`Trust`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a record's facts came from.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Claimed by a CI pipeline (`buildledger record`).
    #[default]
    Ci,
    /// Imported from an SBOM document.
    Sbom,
    /// Taken from a signed attestation (in-toto/SLSA in DSSE).
    Attestation,
    /// Observed by indexing the image itself.
    Indexer,
}

impl Origin {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Ci => "ci",
            Origin::Sbom => "sbom",
            Origin::Attestation => "attestation",
            Origin::Indexer => "indexer",
        }
    }

    /// The origin named by [`Origin::as_str`]'s output, if any.
    pub fn parse(s: &str) -> Option<Origin> {
        [
            Origin::Ci,
            Origin::Sbom,
            Origin::Attestation,
            Origin::Indexer,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// How far a record can be trusted.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TrustState {
    /// Nobody vouched for it (a plain CI claim, an SBOM).
    #[default]
    Unverified,
    /// Signed by a key pinned to the builder that claims it.
    Verified,
    /// Read from the image itself by the indexer.
    Observed,
}

impl TrustState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustState::Unverified => "unverified",
            TrustState::Verified => "verified",
            TrustState::Observed => "observed",
        }
    }

    /// The state named by [`TrustState::as_str`]'s output, if any.
    pub fn parse(s: &str) -> Option<TrustState> {
        [
            TrustState::Unverified,
            TrustState::Verified,
            TrustState::Observed,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// Trust state of a record and, when verified, by which key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trust {
    /// unverified, verified or observed.
    pub state: TrustState,
    /// Key id (hex SHA-256 of the public key's SPKI DER) that verified it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Why verification failed, for an unverified attestation kept by choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

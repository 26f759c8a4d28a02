//! OpenVEX 0.2.0 documents, plain or signed.
//!
//! A signed document is a DSSE envelope whose payload is either the
//! document itself (`payloadType` [`OPENVEX_PAYLOAD_TYPE`]) or an in-toto
//! Statement v1 whose predicate is the document (`predicateType` under
//! `https://openvex.dev/ns`); the statement's subjects are then the products
//! of statements that name none (the specification's inheritance from the
//! encapsulating document). The document's `author` is verified as a
//! builder id is: some signature, over the DSSE PAE, must verify with a key
//! that the trust policy pins to exactly that author.
//!
//! Parsing is strict where a wrong reading would change a decision (the
//! `@context`, `status`, `justification`, the rule that `not_affected`
//! carries a justification or an impact statement, timestamps, products)
//! and lenient elsewhere: fields this version does not know are ignored,
//! as JSON-LD extensions must be.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::{Envelope, IN_TOTO_PAYLOAD_TYPE, ProvenanceError, Statement, TrustPolicy};

/// DSSE payload type of a bare OpenVEX document.
pub const OPENVEX_PAYLOAD_TYPE: &str = "application/vnd.openvex+json";

/// Prefix of the OpenVEX context and of in-toto predicate types carrying it.
pub const OPENVEX_NAMESPACE: &str = "https://openvex.dev/ns";

/// Most statements one document may hold.
pub const MAX_VEX_STATEMENTS: usize = 10_000;

/// Most products (or subcomponents) one statement may name.
pub const MAX_VEX_PRODUCTS: usize = 1_000;

/// Longest string field accepted.
const MAX_FIELD: usize = 8 * 1024;

/// A status label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    /// No remediation is required.
    NotAffected,
    /// Actions are recommended.
    Affected,
    /// These versions contain a fix.
    Fixed,
    /// Not yet known.
    UnderInvestigation,
}

impl VexStatus {
    /// The label.
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Affected => "affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }
}

/// A justification label for `not_affected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexJustification {
    /// The component is not included.
    ComponentNotPresent,
    /// The vulnerable code is not present.
    VulnerableCodeNotPresent,
    /// The vulnerable code cannot be executed.
    VulnerableCodeNotInExecutePath,
    /// An attacker cannot control the vulnerable code.
    VulnerableCodeCannotBeControlledByAdversary,
    /// Built-in protections prevent exploitation.
    InlineMitigationsAlreadyExist,
}

impl VexJustification {
    /// The label.
    pub fn as_str(self) -> &'static str {
        match self {
            VexJustification::ComponentNotPresent => "component_not_present",
            VexJustification::VulnerableCodeNotPresent => "vulnerable_code_not_present",
            VexJustification::VulnerableCodeNotInExecutePath => {
                "vulnerable_code_not_in_execute_path"
            }
            VexJustification::VulnerableCodeCannotBeControlledByAdversary => {
                "vulnerable_code_cannot_be_controlled_by_adversary"
            }
            VexJustification::InlineMitigationsAlreadyExist => "inline_mitigations_already_exist",
        }
    }
}

/// A product or subcomponent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VexComponent {
    /// IRI: a purl, or anything else.
    #[serde(rename = "@id", default)]
    pub id: Option<String>,
    /// Identifier type → identifier (`purl`, `cpe23`, …).
    #[serde(default)]
    pub identifiers: BTreeMap<String, String>,
    /// Hash algorithm → hex.
    #[serde(default)]
    pub hashes: BTreeMap<String, String>,
    /// Subcomponents (products only).
    #[serde(default)]
    pub subcomponents: Vec<VexComponent>,
}

impl VexComponent {
    /// Its package URL: `identifiers.purl`, else an `@id` that is a purl.
    pub fn purl(&self) -> Option<&str> {
        self.identifiers
            .get("purl")
            .map(String::as_str)
            .or(self.id.as_deref().filter(|i| i.starts_with("pkg:")))
    }
}

/// The vulnerability a statement is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VexVulnerability {
    /// Its main identifier (CVE, GHSA, GO-…).
    pub name: String,
    /// Other names.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VexStatement {
    /// The vulnerability.
    pub vulnerability: VexVulnerability,
    /// When it was true (inherited from the document when absent).
    #[serde(default)]
    pub timestamp: Option<DateTime<FixedOffset>>,
    /// Products (inherited from the encapsulating attestation's subjects when absent).
    #[serde(default)]
    pub products: Vec<VexComponent>,
    /// Status.
    pub status: VexStatus,
    /// Justification (for `not_affected`).
    #[serde(default)]
    pub justification: Option<VexJustification>,
    /// Impact statement.
    #[serde(default)]
    pub impact_statement: Option<String>,
    /// Action statement (for `affected`).
    #[serde(default)]
    pub action_statement: Option<String>,
}

/// An OpenVEX document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VexDocument {
    /// `https://openvex.dev/ns/v0.2.0` (or another version of that namespace).
    #[serde(rename = "@context")]
    pub context: String,
    /// The document's IRI.
    #[serde(rename = "@id")]
    pub id: String,
    /// Its author.
    pub author: String,
    /// When it was issued.
    pub timestamp: DateTime<FixedOffset>,
    /// Its version.
    pub version: u64,
    /// Its statements.
    pub statements: Vec<VexStatement>,
}

/// Whether the document's author signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VexSignature {
    /// A plain document: no signature at all.
    Unsigned,
    /// A key pinned to the author signed it.
    Verified {
        /// The key that verified.
        key_id: String,
    },
    /// Signed, but not by a key pinned to the author.
    Unverified {
        /// Why, for people.
        reason: String,
    },
}

/// A document as read, with its signature state and, for an attestation,
/// the subjects its statements inherit as products.
#[derive(Debug, Clone)]
pub struct ReadVex {
    /// The document.
    pub document: VexDocument,
    /// Signature state.
    pub signature: VexSignature,
    /// `sha256:…` digests of the attestation's subjects (empty for a bare
    /// document or envelope).
    pub subjects: Vec<String>,
}

fn bad(reason: impl Into<String>) -> ProvenanceError {
    ProvenanceError::Vex(reason.into())
}

impl VexDocument {
    /// Parse and check a document.
    pub fn from_json(bytes: &[u8]) -> Result<VexDocument, ProvenanceError> {
        let doc: VexDocument = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        doc.check(false)?;
        Ok(doc)
    }

    fn check(&self, inherits_products: bool) -> Result<(), ProvenanceError> {
        if !self.context.starts_with(OPENVEX_NAMESPACE) {
            return Err(bad(format!(
                "@context is {:?}, not an OpenVEX context ({OPENVEX_NAMESPACE}/v…)",
                self.context
            )));
        }
        for (field, v) in [("@id", &self.id), ("author", &self.author)] {
            if v.trim().is_empty() || v.len() > MAX_FIELD || v.chars().any(char::is_control) {
                return Err(bad(format!(
                    "{field} must be 1 to {MAX_FIELD} printable characters"
                )));
            }
        }
        if self.statements.len() > MAX_VEX_STATEMENTS {
            return Err(bad(format!(
                "{} statements, more than the limit of {MAX_VEX_STATEMENTS}",
                self.statements.len()
            )));
        }
        for (i, s) in self.statements.iter().enumerate() {
            let at = |f: &str| format!("statements[{i}].{f}");
            let name = &s.vulnerability.name;
            if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
                return Err(bad(format!(
                    "{}: must be 1 to 200 printable characters",
                    at("vulnerability.name")
                )));
            }
            if s.vulnerability.aliases.len() > MAX_VEX_PRODUCTS
                || s.vulnerability
                    .aliases
                    .iter()
                    .any(|a| a.len() > 200 || a.chars().any(char::is_control))
            {
                return Err(bad(format!(
                    "{}: too many or too long",
                    at("vulnerability.aliases")
                )));
            }
            if s.products.is_empty() && !inherits_products {
                return Err(bad(format!(
                    "{}: a statement must name a product (none here, and no attestation subject to inherit)",
                    at("products")
                )));
            }
            if s.products.len() > MAX_VEX_PRODUCTS
                || s.products
                    .iter()
                    .any(|p| p.subcomponents.len() > MAX_VEX_PRODUCTS)
            {
                return Err(bad(format!(
                    "{}: more than {MAX_VEX_PRODUCTS} products or subcomponents",
                    at("products")
                )));
            }
            if s.status == VexStatus::NotAffected
                && s.justification.is_none()
                && s.impact_statement
                    .as_deref()
                    .is_none_or(|t| t.trim().is_empty())
            {
                return Err(bad(format!(
                    "{}: a not_affected statement needs a justification or an impact_statement",
                    at("justification")
                )));
            }
            for (f, v) in [
                ("impact_statement", &s.impact_statement),
                ("action_statement", &s.action_statement),
            ] {
                if v.as_ref().is_some_and(|t| t.len() > MAX_FIELD) {
                    return Err(bad(format!("{}: over {MAX_FIELD} bytes", at(f))));
                }
            }
        }
        Ok(())
    }
}

/// Read a VEX document: a bare document (unsigned), or a DSSE envelope
/// carrying one, checked against the authors `policy` pins.
pub fn read_vex(bytes: &[u8], policy: &TrustPolicy) -> Result<ReadVex, ProvenanceError> {
    let probe: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
    let is_envelope = probe.get("payloadType").is_some() || probe.get("signatures").is_some();
    if !is_envelope {
        return Ok(ReadVex {
            document: VexDocument::from_json(bytes)?,
            signature: VexSignature::Unsigned,
            subjects: Vec::new(),
        });
    }
    let envelope = Envelope::from_json(bytes)?;
    let (document, subjects) = if envelope.payload_type == OPENVEX_PAYLOAD_TYPE {
        (VexDocument::from_json(&envelope.payload)?, Vec::new())
    } else if envelope.payload_type == IN_TOTO_PAYLOAD_TYPE {
        let st = Statement::from_json(&envelope.payload)?;
        if !st.predicate_type.starts_with(OPENVEX_NAMESPACE) {
            return Err(bad(format!(
                "the attestation's predicateType is {:?}, not OpenVEX ({OPENVEX_NAMESPACE}/v…)",
                st.predicate_type
            )));
        }
        let subjects: Vec<String> = st
            .subject
            .iter()
            .filter_map(|s| s.digest.get("sha256").map(|h| format!("sha256:{h}")))
            .collect();
        let doc: VexDocument =
            serde_json::from_value(st.predicate).map_err(|e| bad(format!("predicate: {e}")))?;
        doc.check(!subjects.is_empty())?;
        (doc, subjects)
    } else {
        return Err(bad(format!(
            "DSSE payloadType is {:?}, expected {OPENVEX_PAYLOAD_TYPE:?} or {IN_TOTO_PAYLOAD_TYPE:?}",
            envelope.payload_type
        )));
    };
    let signature = verify(&envelope, &document.author, policy);
    Ok(ReadVex {
        document,
        signature,
        subjects,
    })
}

fn verify(envelope: &Envelope, author: &str, policy: &TrustPolicy) -> VexSignature {
    if envelope.signatures.is_empty() {
        return VexSignature::Unverified {
            reason: "the envelope has no signatures".into(),
        };
    }
    let pae = envelope.pae();
    let keys = policy.keys_for_author(author);
    for sig in &envelope.signatures {
        for key in keys {
            if key.verify(&pae, &sig.sig) {
                return VexSignature::Verified {
                    key_id: key.key_id(),
                };
            }
        }
    }
    VexSignature::Unverified {
        reason: if keys.is_empty() {
            format!("the trust policy pins no key to the VEX author {author:?}")
        } else {
            format!(
                "none of the {} signature(s) verifies with the {} key(s) pinned to the VEX author {author:?}",
                envelope.signatures.len(),
                keys.len()
            )
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyAlgorithm, SigningKey};

    const DOC: &str = r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example/vex-1",
        "author":"Sec <sec@example>","timestamp":"2023-01-08T18:02:03-06:00","version":1,
        "statements":[{"vulnerability":{"name":"CVE-2023-1"},"products":[{"@id":"pkg:golang/x@v1.0.0"}],
        "status":"not_affected","justification":"vulnerable_code_not_present"}]}"#;

    #[test]
    fn signed_by_the_pinned_author_only() {
        let k = SigningKey::generate(KeyAlgorithm::Ed25519);
        let other = SigningKey::generate(KeyAlgorithm::Ed25519);
        let mut p = TrustPolicy::new();
        p.insert_author("Sec <sec@example>", k.public_key());
        // A builder key is not a VEX author key.
        p.insert("Sec <sec@example>-builder", other.public_key());
        let env = k
            .sign_envelope(OPENVEX_PAYLOAD_TYPE, DOC.as_bytes())
            .to_json();
        let r = read_vex(&env, &p).unwrap();
        assert!(matches!(r.signature, VexSignature::Verified { .. }));
        let env = other
            .sign_envelope(OPENVEX_PAYLOAD_TYPE, DOC.as_bytes())
            .to_json();
        assert!(matches!(
            read_vex(&env, &p).unwrap().signature,
            VexSignature::Unverified { .. }
        ));
        assert_eq!(
            read_vex(DOC.as_bytes(), &p).unwrap().signature,
            VexSignature::Unsigned
        );
    }

    #[test]
    fn refuses_what_would_change_a_decision() {
        for (from, to, why) in [
            ("\"not_affected\"", "\"not-affected\"", "status"),
            (
                "\"vulnerable_code_not_present\"",
                "\"because\"",
                "justification",
            ),
            (
                "https://openvex.dev/ns/v0.2.0",
                "https://example/ns",
                "@context",
            ),
            (
                "\"products\":[{\"@id\":\"pkg:golang/x@v1.0.0\"}],",
                "",
                "products",
            ),
            (
                ",\"justification\":\"vulnerable_code_not_present\"",
                "",
                "justification",
            ),
        ] {
            let doc = DOC.replace(from, to);
            assert_ne!(doc, DOC);
            let e = VexDocument::from_json(doc.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(why) || e.contains("unknown variant"),
                "{why}: {e}"
            );
        }
    }
}

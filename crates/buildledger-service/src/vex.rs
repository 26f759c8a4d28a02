//! OpenVEX 0.2.0: an author's statement that a product is `not_affected`
//! (with its justification), `affected`, `fixed` or `under_investigation`
//! for a vulnerability. Products are image digests (a bare digest or
//! `pkg:oci/…@sha256:…`) or packages (any other purl), optionally narrowed
//! to subcomponents.
//!
//! A statement counts only when its author is trusted: the document was
//! signed (DSSE) by a key that the trust policy pins to exactly that
//! author, the mechanism that pins builders. Unsigned documents are taken
//! only on request and stay marked untrusted; a signed document that does
//! not verify is refused and the refusal logged. A finding with a VEX
//! statement is shown with it (`vulns`, `affected`, posture), never hidden.

use std::path::Path;

use buildledger_model::{Digest, Purl};
use buildledger_provenance as prov;
use buildledger_store::{ImageFinding, NewVexDocument, NewVexStatement, Store, VexInsert};
use serde::{Deserialize, Serialize};

use crate::limits::{self, Settings};
use crate::{Error, Result};

/// Most statement rows (name × product × subcomponent) one document may expand to.
pub const MAX_ROWS: usize = 100_000;

/// Largest plain VEX document read (the envelope limit bounds signed ones).
pub const VEX: limits::Limit = limits::Limit {
    what: "VEX document",
    var: "BUILDLEDGER_MAX_VEX_BYTES",
    default: 16 << 20,
};

/// How to take a document.
#[derive(Debug, Clone, Default)]
pub struct VexOptions {
    /// Take a document that is not signed at all, marked untrusted.
    pub allow_unsigned: bool,
}

/// What an import did: the JSON of `vex import`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VexImport {
    /// The document's `@id`.
    pub document: String,
    /// Its author.
    pub author: String,
    /// Its version.
    pub version: u64,
    /// Whether a key pinned to the author signed it.
    pub trusted: bool,
    /// The key that verified it.
    pub key_id: Option<String>,
    /// `added`, `replaced` (a newer version of a stored document) or `unchanged`.
    pub outcome: String,
    /// Statement rows stored (one per name, product and subcomponent).
    pub rows: usize,
    /// Products or subcomponents named in a way this ledger cannot match
    /// (a CPE, a file hash): kept out, listed here.
    pub unmatched: Vec<String>,
}

fn product_of(c: &prov::VexComponent) -> Option<(String, String)> {
    if let Some(p) = c.purl() {
        if let Some(rest) = p.strip_prefix("pkg:oci/") {
            let version = rest.split_once('@').map(|(_, v)| v)?;
            let version = version.split(['?', '#']).next().unwrap_or("");
            let version = version.replace("%3A", ":").replace("%3a", ":");
            return Digest::parse(&version)
                .ok()
                .map(|d| ("digest".into(), d.to_string()));
        }
        return Purl::parse(p).ok().map(|p| ("purl".into(), p.to_string()));
    }
    c.id.as_deref()
        .and_then(|i| Digest::parse(i).ok())
        .map(|d| ("digest".into(), d.to_string()))
}

fn describe(c: &prov::VexComponent) -> String {
    c.id.clone()
        .or_else(|| c.identifiers.values().next().cloned())
        .or_else(|| c.hashes.values().next().cloned())
        .unwrap_or_else(|| "(a product with no identifier)".into())
}

fn refused(store: &mut Store, name: &str, sha: &str, reason: &str) -> Error {
    let _ = store.transaction(|s| {
        s.audit(
            "vex.rejected",
            None,
            &serde_json::json!({"file": name, "sha256": sha, "reason": reason}),
        )
        .map(|_| ())
    });
    Error::bad_input(format!("{name}: rejected: {reason}")).at(name.to_string())
}

/// Import the VEX document (plain or a DSSE envelope) in `bytes`, named
/// `name` in messages, against the authors `policy` pins.
pub fn import(
    store: &mut Store,
    bytes: &[u8],
    name: &str,
    policy: Option<&prov::TrustPolicy>,
    opts: &VexOptions,
) -> Result<VexImport> {
    let sha = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(bytes))
    };
    let empty = prov::TrustPolicy::new();
    let read = prov::read_vex(bytes, policy.unwrap_or(&empty))
        .map_err(|e| Error::bad_input(format!("{name}: {e}")).at(name.to_string()))?;
    let (trusted, key_id) = match &read.signature {
        prov::VexSignature::Verified { key_id } => (true, Some(key_id.clone())),
        prov::VexSignature::Unsigned if opts.allow_unsigned => (false, None),
        prov::VexSignature::Unsigned => {
            return Err(refused(
                store,
                name,
                &sha,
                "the document is not signed: a VEX statement counts only when its author signed it \
                 (use --allow-unsigned to keep it, marked untrusted)",
            ));
        }
        prov::VexSignature::Unverified { reason } if policy.is_none() => {
            return Err(refused(
                store,
                name,
                &sha,
                &format!("{reason} (no trust policy given: --policy FILE pins VEX authors' keys)"),
            ));
        }
        prov::VexSignature::Unverified { reason } => {
            return Err(refused(store, name, &sha, reason));
        }
    };
    let doc = &read.document;
    let mut statements = Vec::new();
    let mut unmatched = Vec::new();
    let mut rows = 0usize;
    for s in &doc.statements {
        let mut names = vec![s.vulnerability.name.clone()];
        names.extend(s.vulnerability.aliases.iter().cloned());
        let stated_at = s.timestamp.unwrap_or(doc.timestamp).timestamp_millis();
        let mut products: Vec<(String, String, Vec<String>)> = Vec::new();
        if s.products.is_empty() {
            for d in &read.subjects {
                if let Ok(d) = Digest::parse(d) {
                    products.push(("digest".into(), d.to_string(), vec![]));
                }
            }
        }
        for p in &s.products {
            let Some((kind, value)) = product_of(p) else {
                unmatched.push(describe(p));
                continue;
            };
            let mut subs = Vec::new();
            for sc in &p.subcomponents {
                match sc.purl().and_then(|u| Purl::parse(u).ok()) {
                    Some(u) => subs.push(u.to_string()),
                    None => unmatched.push(describe(sc)),
                }
            }
            if !p.subcomponents.is_empty() && subs.is_empty() {
                // Narrowed to subcomponents none of which we can match:
                // widening it to the whole product would overstate it.
                continue;
            }
            products.push((kind, value, subs));
        }
        for (kind, value, subs) in products {
            let subs: Vec<Option<String>> = if subs.is_empty() {
                vec![None]
            } else {
                subs.into_iter().map(Some).collect()
            };
            for sub in subs {
                rows += names.len();
                if rows > MAX_ROWS {
                    return Err(Error::bad_input(format!(
                        "{name}: expands to more than {MAX_ROWS} statement rows (names × products × subcomponents)"
                    ))
                    .at(name.to_string()));
                }
                statements.push(NewVexStatement {
                    names: names.clone(),
                    vulnerability: s.vulnerability.name.clone(),
                    product_kind: kind.clone(),
                    product: value.clone(),
                    subcomponent: sub,
                    status: s.status.as_str().into(),
                    justification: s.justification.map(|j| j.as_str().to_string()),
                    impact_statement: s.impact_statement.clone(),
                    action_statement: s.action_statement.clone(),
                    stated_at,
                });
            }
        }
    }
    let version = doc.version;
    let outcome = store.insert_vex_document(&NewVexDocument {
        doc_id: doc.id.clone(),
        author: doc.author.clone(),
        version: i64::try_from(version)
            .map_err(|_| Error::bad_field(format!("{name}: version"), "too large"))?,
        trusted,
        key_id: key_id.clone(),
        sha256: sha,
        issued_at: doc.timestamp.timestamp_millis(),
        statements,
    })?;
    let outcome = match outcome {
        VexInsert::Added { replaced: None, .. } => "added",
        VexInsert::Added { .. } => "replaced",
        VexInsert::Unchanged { .. } => "unchanged",
        VexInsert::Stale { stored } => {
            return Err(Error::new(crate::ErrorKind::Conflict, format!(
                "{name}: version {version} of {:?} by {:?} is not newer than the stored version {stored}",
                doc.id, doc.author
            ))
            .at(name.to_string()));
        }
    };
    Ok(VexImport {
        document: doc.id.clone(),
        author: doc.author.clone(),
        version,
        trusted,
        key_id,
        outcome: outcome.into(),
        rows,
        unmatched,
    })
}

/// Read a VEX file (within the envelope limit for envelopes, else
/// [`VEX`]) and import it.
pub fn import_file(
    store: &mut Store,
    file: &Path,
    policy: Option<&Path>,
    opts: &VexOptions,
    settings: &Settings,
) -> Result<VexImport> {
    let bytes = settings.read(file, VEX)?;
    let policy = policy.map(crate::provenance::load_policy).transpose()?;
    import(
        store,
        &bytes,
        &buildledger_input::display_name(file),
        policy.as_ref(),
        opts,
    )
}

fn purl_covers(pattern: &str, purl: &str) -> bool {
    let (Ok(p), Ok(f)) = (Purl::parse(pattern), Purl::parse(purl)) else {
        return false;
    };
    p.ty() == f.ty()
        && p.package() == f.package()
        && p.version().is_none_or(|v| Some(v) == f.version())
}

/// Attach to each finding the VEX statement in force for it: statements
/// from trusted authors before unsigned ones, then the newest.
pub fn annotate(store: &mut Store, findings: &mut [ImageFinding]) -> Result<()> {
    if findings.is_empty() || !store.has_vex()? {
        return Ok(());
    }
    let mut names: Vec<String> = findings
        .iter()
        .flat_map(|f| std::iter::once(f.advisory.clone()).chain(f.aliases.iter().cloned()))
        .collect();
    names.sort();
    names.dedup();
    let all = store.vex_for_names(&names)?;
    if all.is_empty() {
        return Ok(());
    }
    for f in findings.iter_mut() {
        let best = all
            .iter()
            .filter(|s| s.name == f.advisory || f.aliases.contains(&s.name))
            .filter(|s| match s.product_kind.as_str() {
                "digest" => {
                    s.product == f.digest
                        && s.subcomponent
                            .as_deref()
                            .is_none_or(|sc| purl_covers(sc, &f.purl))
                }
                "purl" => purl_covers(&s.product, &f.purl) && s.subcomponent.is_none(),
                _ => false,
            })
            .max_by_key(|s| (s.trusted, s.stated_at, s.version));
        f.vex = best.cloned();
    }
    Ok(())
}

/// Stored VEX documents, newest first (superseded versions included).
pub fn list(store: &mut Store) -> Result<Vec<buildledger_store::VexDocument>> {
    Ok(store.vex_documents()?)
}

/// Sign an OpenVEX document (checked first: a document this ledger would
/// refuse is not signed) as a DSSE envelope of payload type
/// `application/vnd.openvex+json`, with the author's private key.
pub fn sign(document: &Path, key: &Path, settings: &Settings) -> Result<crate::keys::Signed> {
    let bytes = settings.read(document, VEX)?;
    let name = buildledger_input::display_name(document);
    prov::VexDocument::from_json(&bytes)
        .map_err(|e| Error::bad_input(format!("{name}: {e}")).at(name.clone()))?;
    let signing = crate::keys::read_signing_key(key, "--key", settings)?;
    Ok(crate::keys::Signed {
        envelope: signing
            .sign_envelope(prov::OPENVEX_PAYLOAD_TYPE, &bytes)
            .to_json(),
        key_id: signing.public_key().key_id(),
    })
}

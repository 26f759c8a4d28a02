//! Vulnerability feeds for buildledger: read them into plain, tolerant data types, and decide
//! whether a version is affected.
//!
//! This crate owns three things:
//!
//! * **Feed readers.** [`load_osv_path`] reads OSV advisories from a `.json` file, a directory
//!   tree or a zip dump (OSV's `all.zip`, per-ecosystem zips); [`parse_osv`] parses one record.
//!   [`load_alpine_secdb`] converts Alpine's secdb into the same model (see [`alpine`] for the
//!   shape). Readers are lenient where OSV evolves (unknown fields, ecosystems, range and severity
//!   types are kept as strings) and strict where a record would be meaningless; a bad record
//!   never stops a load, it becomes a [`FeedError`] in the [`LoadReport`] next to the good ones.
//!   [`load_paths`] reads any mix of both, recognising the format per file ([`Format::Auto`]).
//!   Every read is bounded and only regular files are read: see [`Limits`] and the `load`
//!   module; each record's shape is bounded too ([`MAX_EVENTS`], [`MAX_VERSION_LEN`], ...).
//!   Several records with one id resolve the same whatever the input order: the newest
//!   `modified` wins, and equally new ones that differ are all refused and reported.
//! * **Range evaluation.** [`evaluate`] implements the OSV evaluation algorithm over an
//!   [`Affected`] entry with a caller-supplied version comparator, so this crate does not depend
//!   on any version-ordering implementation.
//! * **CVSS scores.** Severity vectors get a computed base score ([`cvss::base_score`]).
//!
//! Matching advisories to images and storing them is done elsewhere.

pub mod alpine;
pub mod cvss;
mod load;
mod model;
mod osv;
mod range;

pub use alpine::{is_explicitly_not_affected, load_alpine_secdb};
pub use load::{Format, Limits, load_osv_path, load_paths};
pub use model::{Advisory, Affected, Event, FeedError, LoadReport, Range, RangeKind, Severity};
pub use osv::{
    KNOWN_ECOSYSTEMS, MAX_ADVISORY_BYTES, MAX_AFFECTED, MAX_DIR_DEPTH, MAX_EVENTS, MAX_ID_LEN,
    MAX_LIST, MAX_RANGES, MAX_RECORDS, MAX_VERSION_LEN, MAX_VERSIONS, is_semver, osv_warnings,
    parse_osv,
};
pub use range::{Comparator, Verdict, evaluate};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The SHA-256 (lower-case hex) of `adv`'s canonical JSON: every field except `content_hash`,
/// object keys sorted at every level, no insignificant whitespace. Independent of the order in
/// which the feed wrote its keys.
pub fn content_hash(adv: &Advisory) -> String {
    let mut value = match serde_json::to_value(adv) {
        Ok(v) => v,
        // Serializing plain data to a Value cannot fail (all map keys are strings).
        Err(_) => Value::Null,
    };
    if let Value::Object(m) = &mut value {
        m.remove("content_hash");
    }
    let mut out = Vec::with_capacity(4096);
    write_canonical(&value, &mut out);
    hex::encode(Sha256::digest(&out))
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(k.clone()), out);
                out.push(b':');
                if let Some(child) = m.get(k) {
                    write_canonical(child, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, child) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(child, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(v: &Value, out: &mut Vec<u8>) {
    // Writing a scalar into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, v);
}

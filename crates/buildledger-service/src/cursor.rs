//! The HTTP API's opaque list cursors: a kind and a keyset position (a record
//! position for `query` and `affected`, a digest for `table`, a time and
//! event for `changes`), base64url so they travel in a
//! URL unchanged. One encoding for every keyset list, so a cursor of one list
//! is never taken for another's.

use base64::Engine as _;

/// The cursor of a `query` page (position `RECORD.SKIP`).
pub const QUERY: &str = "k";
/// The cursor of a `table` page (position: the last digest shown).
pub const TABLE: &str = "t";
/// The cursor of an `affected` page (position `RECORD.SKIP`).
pub const AFFECTED: &str = "a";
/// The cursor of a `changes` page (position `AT.EVENT`).
pub const CHANGES: &str = "c";

/// The opaque cursor for `position` in a list of `kind`.
pub fn encode(kind: &str, position: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{position}"))
}

/// The position in a cursor of `kind`; `None` when `cursor` is not one.
pub fn decode(kind: &str, cursor: &str) -> Option<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.strip_prefix(kind)
                .and_then(|r| r.strip_prefix(':'))
                .map(String::from)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_keep_to_their_list() {
        let c = encode(QUERY, "48213.1");
        assert_eq!(decode(QUERY, &c).as_deref(), Some("48213.1"));
        assert_eq!(decode(TABLE, &c), None);
        assert_eq!(decode(QUERY, "not base64!"), None);
        assert_eq!(decode(QUERY, &encode("kk", "1.0")), None);
        // URL-safe: no `+`, `/` or `=`.
        let c = encode(TABLE, &format!("sha256:{}", "f".repeat(64)));
        assert!(!c.contains(['+', '/', '=']), "{c}");
    }
}

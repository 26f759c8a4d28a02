//! Layer chains and base-image lineage.
//!
//! Each indexed image's layer diff IDs are stored in order. An image B is a
//! base of image A when B's chain is a proper prefix of A's: A was built
//! `FROM` B (or from an image built from B). This finds an inherited
//! vulnerable base even when nothing else is known about the image.

use serde::Serialize;

use crate::{Result, Store, Val};

/// An indexed image whose layer chain is a prefix of another's.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema, serde::Deserialize)]
pub struct Ancestor {
    /// Its digest.
    pub digest: String,
    /// How many layers it has (all shared).
    pub layers: usize,
    /// References it was seen under.
    pub references: Vec<String>,
}

impl Store {
    /// Store the layer chain (diff IDs, base first) of `digest`, replacing any
    /// earlier chain (a digest's layers never change; a re-scan rewrites the
    /// same rows). Call inside a transaction.
    pub fn set_layers(&mut self, digest: &str, diff_ids: &[String]) -> Result<()> {
        let iid = self.image_id(digest, None)?;
        self.db.exec(
            "DELETE FROM image_layers WHERE image_id = ?",
            &[Val::Int(iid)],
        )?;
        let rows: Vec<Val> = diff_ids
            .iter()
            .enumerate()
            .flat_map(|(i, d)| [Val::Int(iid), Val::Int(i as i64), Val::from(d.as_str())])
            .collect();
        self.insert_rows("image_layers (image_id, position, diff_id)", 3, rows, "")
    }

    /// The stored layer chain of `digest`.
    pub fn layers(&mut self, digest: &str) -> Result<Vec<String>> {
        Ok(self
            .db
            .query(
                "SELECT l.diff_id FROM image_layers l JOIN images i ON i.id = l.image_id
                 WHERE i.digest = ? ORDER BY l.position",
                &[digest.into()],
            )?
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
            .collect())
    }

    /// Indexed images whose chain is a proper prefix of `digest`'s, longest
    /// (closest base) first. Empty when `digest` has no stored chain.
    pub fn lineage(&mut self, digest: &str) -> Result<Vec<Ancestor>> {
        let chain = self.layers(digest)?;
        if chain.is_empty() {
            return Ok(Vec::new());
        }
        // Candidates share our first layer at position 0.
        let cands = self.db.query(
            "SELECT i.id, i.digest FROM image_layers l JOIN images i ON i.id = l.image_id
             WHERE l.position = 0 AND l.diff_id = ? AND i.digest <> ?",
            &[chain[0].as_str().into(), digest.into()],
        )?;
        let mut out = Vec::new();
        for c in cands {
            let id = c[0].int().unwrap_or_default();
            let theirs: Vec<String> = self
                .db
                .query(
                    "SELECT diff_id FROM image_layers WHERE image_id = ? ORDER BY position",
                    &[Val::Int(id)],
                )?
                .into_iter()
                .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
                .collect();
            if theirs.len() < chain.len() && chain.starts_with(&theirs) {
                let references = self
                    .db
                    .query(
                        "SELECT reference FROM image_refs WHERE image_id = ? ORDER BY reference",
                        &[Val::Int(id)],
                    )?
                    .into_iter()
                    .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
                    .collect();
                out.push(Ancestor {
                    digest: c[1].text().unwrap_or("").to_string(),
                    layers: theirs.len(),
                    references,
                });
            }
        }
        out.sort_by(|a, b| b.layers.cmp(&a.layers).then(a.digest.cmp(&b.digest)));
        Ok(out)
    }

    /// Indexed images built on `digest` (its chain is a proper prefix of theirs).
    pub fn descendants(&mut self, digest: &str) -> Result<Vec<String>> {
        let chain = self.layers(digest)?;
        if chain.is_empty() {
            return Ok(Vec::new());
        }
        let n = chain.len();
        let rows = self.db.query(
            "SELECT i.digest FROM images i WHERE i.digest <> ? AND i.id IN (
                SELECT l.image_id FROM image_layers l WHERE l.position = ? AND l.diff_id = ?)
             AND (SELECT COUNT(*) FROM image_layers m WHERE m.image_id = i.id) > ?
             ORDER BY i.digest",
            &[
                digest.into(),
                Val::Int(n as i64 - 1),
                chain[n - 1].as_str().into(),
                Val::Int(n as i64),
            ],
        )?;
        let mut out = Vec::new();
        for r in rows {
            let d = r[0].text().unwrap_or("").to_string();
            let theirs = self.layers(&d)?;
            if theirs.starts_with(&chain) {
                out.push(d);
            }
        }
        Ok(out)
    }
}

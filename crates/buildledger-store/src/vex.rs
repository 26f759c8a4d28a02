//! OpenVEX statements: what an author says of a vulnerability in a product
//! (an image digest or a package), kept per document version. A newer
//! version of a document replaces the older one (which stays, marked
//! superseded); the trust of a document (signed by a key pinned to its
//! author, or imported unsigned on request) is part of its identity, so an
//! unsigned copy can never replace a signed one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Result, Store, Val, ms_to_time, now_ms, placeholders};

/// One statement row to store: one vulnerability, one product, at most one
/// subcomponent (the caller expands a statement into rows).
#[derive(Debug, Clone)]
pub struct NewVexStatement {
    /// The names it is found under (the vulnerability's name and aliases).
    pub names: Vec<String>,
    /// The vulnerability's name as the statement gives it.
    pub vulnerability: String,
    /// `digest` or `purl`.
    pub product_kind: String,
    /// The image digest or package URL.
    pub product: String,
    /// A subcomponent package URL, if the statement names subcomponents.
    pub subcomponent: Option<String>,
    /// `not_affected`, `affected`, `fixed` or `under_investigation`.
    pub status: String,
    /// Justification label (for `not_affected`).
    pub justification: Option<String>,
    /// Free-text impact statement.
    pub impact_statement: Option<String>,
    /// Action statement (for `affected`).
    pub action_statement: Option<String>,
    /// When the statement was true (Unix ms).
    pub stated_at: i64,
}

/// A VEX document to store.
#[derive(Debug, Clone)]
pub struct NewVexDocument {
    /// The document's `@id`.
    pub doc_id: String,
    /// Its author.
    pub author: String,
    /// Its version.
    pub version: i64,
    /// Whether a key pinned to the author signed it.
    pub trusted: bool,
    /// The key that verified it.
    pub key_id: Option<String>,
    /// SHA-256 of the bytes imported.
    pub sha256: String,
    /// The document's timestamp (Unix ms).
    pub issued_at: i64,
    /// Its statements, expanded.
    pub statements: Vec<NewVexStatement>,
}

/// What storing a document did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VexInsert {
    /// Stored as document `id`, replacing `replaced` if that was an older version.
    Added {
        /// Row id of the new document.
        id: i64,
        /// Row id of the version it replaced.
        replaced: Option<i64>,
    },
    /// The same bytes were already stored as document `id`.
    Unchanged {
        /// Row id.
        id: i64,
    },
    /// A version at least as new is stored already; nothing was stored.
    Stale {
        /// The version stored.
        stored: i64,
    },
}

/// A stored statement as findings show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct VexStatement {
    /// `not_affected`, `affected`, `fixed` or `under_investigation`.
    pub status: String,
    /// Justification label (for `not_affected`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// Impact statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact_statement: Option<String>,
    /// Action statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_statement: Option<String>,
    /// The document's author.
    pub author: String,
    /// Whether a key the trust policy pins to that author signed the
    /// document (false: imported unsigned on request).
    pub trusted: bool,
    /// The key that verified it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The document's `@id`.
    pub document: String,
    /// The document's version.
    pub version: i64,
    /// The vulnerability as the statement names it.
    pub vulnerability: String,
    /// `digest` or `purl`.
    pub product_kind: String,
    /// The product.
    pub product: String,
    /// The subcomponent, if one is named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subcomponent: Option<String>,
    /// When the statement was true.
    pub stated_at: DateTime<Utc>,
    /// The name it matched under (the finding's advisory or an alias).
    #[serde(skip)]
    pub name: String,
}

/// A stored document, for listing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct VexDocument {
    /// Row id.
    pub id: i64,
    /// The document's `@id`.
    pub document: String,
    /// Author.
    pub author: String,
    /// Version.
    pub version: i64,
    /// Signed by a key pinned to the author.
    pub trusted: bool,
    /// The key that verified it.
    pub key_id: Option<String>,
    /// SHA-256 of the imported bytes.
    pub sha256: String,
    /// The document's timestamp.
    pub issued_at: DateTime<Utc>,
    /// When it was imported.
    pub imported_at: DateTime<Utc>,
    /// The row of the newer version that replaced it.
    pub superseded_by: Option<i64>,
    /// Number of statement rows.
    pub statements: i64,
}

const STATEMENT_COLUMNS: &str = "s.status, s.justification, s.impact_statement, s.action_statement, \
     d.author, d.trusted, d.key_id, d.doc_id, d.version, s.vulnerability, s.product_kind, s.product, \
     s.subcomponent, s.stated_at, s.name";

fn statement(r: Vec<Val>) -> VexStatement {
    let mut it = r.into_iter();
    let mut next = || it.next().unwrap_or(Val::Null);
    VexStatement {
        status: next().into_text().unwrap_or_default(),
        justification: next().into_text(),
        impact_statement: next().into_text(),
        action_statement: next().into_text(),
        author: next().into_text().unwrap_or_default(),
        trusted: next().int() == Some(1),
        key_id: next().into_text(),
        document: next().into_text().unwrap_or_default(),
        version: next().int().unwrap_or_default(),
        vulnerability: next().into_text().unwrap_or_default(),
        product_kind: next().into_text().unwrap_or_default(),
        product: next().into_text().unwrap_or_default(),
        subcomponent: next().into_text(),
        stated_at: ms_to_time(next().int().unwrap_or_default()),
        name: next().into_text().unwrap_or_default(),
    }
}

impl Store {
    /// Store a VEX document (and log it), unless the same or a newer
    /// version of it (same author, `@id` and trust) is stored already.
    pub fn insert_vex_document(&mut self, doc: &NewVexDocument) -> Result<VexInsert> {
        self.transaction(|s| {
            let live = s.db.query(
                "SELECT id, version, sha256 FROM vex_documents
                 WHERE author = ? AND doc_id = ? AND trusted = ? AND superseded_by IS NULL",
                &[
                    doc.author.as_str().into(),
                    doc.doc_id.as_str().into(),
                    Val::Int(i64::from(doc.trusted)),
                ],
            )?;
            let mut replaced = None;
            if let Some(r) = live.into_iter().next() {
                let id = r[0].int().unwrap_or_default();
                let version = r[1].int().unwrap_or_default();
                if r[2].clone().into_text().as_deref() == Some(doc.sha256.as_str()) {
                    return Ok(VexInsert::Unchanged { id });
                }
                if version >= doc.version {
                    return Ok(VexInsert::Stale { stored: version });
                }
                replaced = Some(id);
            }
            let rows = s.db.query(
                "INSERT INTO vex_documents (doc_id, author, version, trusted, key_id, sha256, issued_at, imported_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                &[
                    doc.doc_id.as_str().into(),
                    doc.author.as_str().into(),
                    Val::Int(doc.version),
                    Val::Int(i64::from(doc.trusted)),
                    doc.key_id.as_deref().map(Val::from).unwrap_or(Val::Null),
                    doc.sha256.as_str().into(),
                    Val::Int(doc.issued_at),
                    Val::Int(now_ms()),
                ],
            )?;
            let id = rows
                .first()
                .and_then(|r| r.first())
                .and_then(Val::int)
                .unwrap_or_default();
            if let Some(old) = replaced {
                s.db.exec(
                    "UPDATE vex_documents SET superseded_by = ? WHERE id = ?",
                    &[Val::Int(id), Val::Int(old)],
                )?;
            }
            let opt = |v: &Option<String>| v.as_deref().map(Val::from).unwrap_or(Val::Null);
            let mut rows = 0usize;
            for st in &doc.statements {
                let mut names = st.names.clone();
                names.sort();
                names.dedup();
                for n in names {
                    s.db.exec(
                        "INSERT INTO vex_statements (document, name, vulnerability, product_kind, product,
                            subcomponent, status, justification, impact_statement, action_statement, stated_at)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &[
                            Val::Int(id),
                            n.into(),
                            st.vulnerability.as_str().into(),
                            st.product_kind.as_str().into(),
                            st.product.as_str().into(),
                            opt(&st.subcomponent),
                            st.status.as_str().into(),
                            opt(&st.justification),
                            opt(&st.impact_statement),
                            opt(&st.action_statement),
                            Val::Int(st.stated_at),
                        ],
                    )?;
                    rows += 1;
                }
            }
            s.audit(
                "vex.imported",
                Some(&format!("vex:{id}")),
                &serde_json::json!({
                    "document": doc.doc_id,
                    "author": doc.author,
                    "version": doc.version,
                    "trusted": doc.trusted,
                    "key_id": doc.key_id,
                    "sha256": doc.sha256,
                    "statement_rows": rows,
                    "replaced": replaced,
                }),
            )?;
            Ok(VexInsert::Added { id, replaced })
        })
    }

    /// Statements of live (not superseded) documents found under any of `names`.
    pub fn vex_for_names(&mut self, names: &[String]) -> Result<Vec<VexStatement>> {
        let mut out = Vec::new();
        for chunk in names.chunks(crate::postings::CHUNK) {
            let params: Vec<Val> = chunk.iter().map(|n| Val::from(n.as_str())).collect();
            let sql = format!(
                "SELECT {STATEMENT_COLUMNS} FROM vex_statements s JOIN vex_documents d ON d.id = s.document
                 WHERE d.superseded_by IS NULL AND s.name IN ({}) ORDER BY s.id",
                placeholders(chunk.len())
            );
            out.extend(self.db.query(&sql, &params)?.into_iter().map(statement));
        }
        Ok(out)
    }

    /// Whether any VEX statement is stored at all (a cheap check before annotating).
    pub fn has_vex(&mut self) -> Result<bool> {
        Ok(!self
            .db
            .query("SELECT 1 FROM vex_statements LIMIT 1", &[])?
            .is_empty())
    }

    /// The newest VEX document row (0 when none).
    pub fn vex_seq(&mut self) -> Result<i64> {
        Ok(self
            .db
            .query("SELECT MAX(id) FROM vex_documents", &[])?
            .first()
            .and_then(|r| r.first())
            .and_then(Val::int)
            .unwrap_or(0))
    }

    /// The vulnerability names touched by documents stored after row
    /// `after` (their own and those of the versions they replaced), and
    /// the newest document row.
    pub fn vex_names_since(&mut self, after: i64) -> Result<(Vec<String>, i64)> {
        let rows = self.db.query(
            "SELECT DISTINCT s.name FROM vex_statements s
             WHERE s.document > ? OR s.document IN (SELECT id FROM vex_documents WHERE superseded_by > ?)",
            &[Val::Int(after), Val::Int(after)],
        )?;
        let names = rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
            .collect();
        Ok((names, self.vex_seq()?))
    }

    /// Every stored document, newest first.
    pub fn vex_documents(&mut self) -> Result<Vec<VexDocument>> {
        let rows = self.db.query(
            "SELECT d.id, d.doc_id, d.author, d.version, d.trusted, d.key_id, d.sha256, d.issued_at,
                    d.imported_at, d.superseded_by,
                    (SELECT COUNT(*) FROM vex_statements s WHERE s.document = d.id)
             FROM vex_documents d ORDER BY d.id DESC",
            &[],
        )?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let mut it = r.into_iter();
                let mut next = || it.next().unwrap_or(Val::Null);
                VexDocument {
                    id: next().int().unwrap_or_default(),
                    document: next().into_text().unwrap_or_default(),
                    author: next().into_text().unwrap_or_default(),
                    version: next().int().unwrap_or_default(),
                    trusted: next().int() == Some(1),
                    key_id: next().into_text(),
                    sha256: next().into_text().unwrap_or_default(),
                    issued_at: ms_to_time(next().int().unwrap_or_default()),
                    imported_at: ms_to_time(next().int().unwrap_or_default()),
                    superseded_by: next().int(),
                    statements: next().int().unwrap_or_default(),
                }
            })
            .collect())
    }
}

//! API tokens and what they allow: creation (the secret is returned once and
//! only its SHA-256 is stored), listing, revocation, authentication of a
//! bearer token, and the authorisation rules every interface applies the
//! same way.
//!
//! Scopes: `read` (every read use case), `builder:write` (records and
//! attestations, bound to one builder id: a record must name that builder,
//! an attestation must be verified for it), `feed:write` (feed imports),
//! `registry:notify` (registry events), `inventory:write` (cluster
//! snapshots), `waiver:write` (waivers), `vex:write` (VEX documents), `admission:review` (the admission webhook), `admin` (everything, and token
//! management). A token is `blt_` and 64 hex digits (256 random bits), so a
//! plain SHA-256 is a sufficient password hash: there is nothing to guess.

use std::collections::BTreeSet;

use buildledger_model::BuildRecord;
use buildledger_store::{Store, TokenRow};
use serde::Serialize;

use crate::{Error, ErrorKind, Result};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Every read.
    Read,
    /// Submit records and attestations for one builder id.
    BuilderWrite,
    /// Import feeds.
    FeedWrite,
    /// Send registry events.
    RegistryNotify,
    /// Report a cluster's inventory (what runs where).
    InventoryWrite,
    /// Add and revoke waivers.
    WaiverWrite,
    /// Import VEX documents.
    VexWrite,
    /// Send AdmissionReviews (the Kubernetes API server): admitted objects
    /// are recorded in the inventory.
    AdmissionReview,
    /// Everything, including token management.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 9] = [
        Scope::Read,
        Scope::BuilderWrite,
        Scope::FeedWrite,
        Scope::RegistryNotify,
        Scope::InventoryWrite,
        Scope::WaiverWrite,
        Scope::VexWrite,
        Scope::AdmissionReview,
        Scope::Admin,
    ];

    /// The scope's name (`read`, `builder:write`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::BuilderWrite => "builder:write",
            Scope::FeedWrite => "feed:write",
            Scope::RegistryNotify => "registry:notify",
            Scope::InventoryWrite => "inventory:write",
            Scope::WaiverWrite => "waiver:write",
            Scope::VexWrite => "vex:write",
            Scope::AdmissionReview => "admission:review",
            Scope::Admin => "admin",
        }
    }

    /// A scope by name; anything else is bad input naming `--scope`.
    pub fn parse(s: &str) -> Result<Scope> {
        Scope::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| {
                Error::bad_field(
                    "--scope",
                    format!(
                        "{s:?} is not a scope; expected one of {}",
                        Scope::ALL.map(Scope::as_str).join(", ")
                    ),
                )
            })
    }
}

/// A token just created: the one time its secret is shown. The JSON of
/// `token create --json` (the secret is under `token`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NewToken {
    /// The secret: give it as `Authorization: Bearer …`. Not stored, not shown again.
    pub token: String,
    /// The stored token (its id, name, scopes, builder).
    #[serde(flatten)]
    pub stored: TokenRow,
}

/// Who is calling: an authenticated token.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Token id.
    pub token_id: i64,
    /// Token name.
    pub name: String,
    /// Scopes granted.
    pub scopes: BTreeSet<Scope>,
    /// The builder a `builder:write` token is bound to.
    pub builder_id: Option<String>,
}

/// Prefix of every token.
pub const TOKEN_PREFIX: &str = "blt_";

fn hash(token: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// Create a token with `scopes` (at least one; `builder:write` needs a
/// builder id, and a builder id goes only with `builder:write`).
pub fn create(
    store: &mut Store,
    name: &str,
    scopes: &[String],
    builder_id: Option<&str>,
) -> Result<NewToken> {
    let mut parsed = BTreeSet::new();
    for s in scopes {
        parsed.insert(Scope::parse(s)?);
    }
    if parsed.is_empty() {
        return Err(Error::bad_field("--scope", "give at least one scope"));
    }
    let builder_id = builder_id.map(str::trim).filter(|b| !b.is_empty());
    match (parsed.contains(&Scope::BuilderWrite), builder_id) {
        (true, None) => {
            return Err(Error::bad_field(
                "--builder-id",
                "a builder:write token is bound to one builder: give --builder-id",
            ));
        }
        (false, Some(_)) => {
            return Err(Error::bad_field(
                "--builder-id",
                "only a builder:write token is bound to a builder",
            ));
        }
        _ => {}
    }
    let name = name.trim();
    if name.is_empty() || name.chars().any(char::is_control) || name.len() > 200 {
        return Err(Error::bad_field(
            "--name",
            "a token name is 1 to 200 printable characters",
        ));
    }
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret)
        .map_err(|e| Error::unavailable(format!("no randomness for a token: {e}")))?;
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
    let names: Vec<String> = parsed.iter().map(|s| s.as_str().to_string()).collect();
    let stored = store.insert_token(name, &hash(&token), &names, builder_id)?;
    Ok(NewToken { token, stored })
}

/// Every token (never a secret).
pub fn list(store: &mut Store) -> Result<Vec<TokenRow>> {
    Ok(store.tokens()?)
}

/// Revoke token `id`; not found when there is no such live token.
pub fn revoke(store: &mut Store, id: i64) -> Result<()> {
    if store.revoke_token(id)? {
        Ok(())
    } else {
        Err(Error::not_found(format!(
            "no live token with id {id} (see `buildledger token list`)"
        )))
    }
}

/// The principal of a bearer token; a malformed, unknown or revoked token
/// is unauthenticated (and the message never repeats the token).
pub fn authenticate(store: &mut Store, bearer: &str) -> Result<Principal> {
    let unauth = |why: &str| Error::new(ErrorKind::Unauthenticated, why.to_string());
    let t = bearer.trim();
    let well_formed = t
        .strip_prefix(TOKEN_PREFIX)
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed {
        return Err(unauth("malformed token"));
    }
    let row = store
        .token_by_hash(&hash(t))?
        .ok_or_else(|| unauth("unknown token"))?;
    if row.revoked_at.is_some() {
        return Err(unauth("revoked token"));
    }
    let scopes = row
        .scopes
        .iter()
        .filter_map(|s| Scope::parse(s).ok())
        .collect();
    Ok(Principal {
        token_id: row.id,
        name: row.name,
        scopes,
        builder_id: row.builder_id,
    })
}

impl Principal {
    /// Whether the token has `scope` (admin has every scope).
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }

    /// Forbidden unless the token has `scope`.
    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Forbidden,
                format!("token {:?} lacks the {} scope", self.name, scope.as_str()),
            ))
        }
    }

    /// Forbidden unless the token may submit a record about `builder`:
    /// admin may submit any; a builder token only records naming its own
    /// builder id.
    pub fn may_submit_for(&self, builder: Option<&str>) -> Result<()> {
        if self.scopes.contains(&Scope::Admin) {
            return Ok(());
        }
        self.require(Scope::BuilderWrite)?;
        match (self.builder_id.as_deref(), builder) {
            (Some(mine), Some(theirs)) if mine == theirs => Ok(()),
            (mine, theirs) => Err(Error::new(
                ErrorKind::Forbidden,
                format!(
                    "token {:?} may submit for builder {:?} only; this names {}",
                    self.name,
                    mine.unwrap_or(""),
                    theirs.map_or_else(|| "no builder".to_string(), |t| format!("{t:?}"))
                ),
            )
            .at("builder.id")),
        }
    }

    /// [`Principal::may_submit_for`] the builder a record names.
    pub fn may_submit(&self, rec: &BuildRecord) -> Result<()> {
        self.may_submit_for(rec.builder.as_ref().map(|b| b.id.as_str()))
    }
}

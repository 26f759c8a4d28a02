//! Write transactions: begin, commit (appending the transaction's audit
//! entries first), roll back (forgetting ids cached inside it).

use crate::backend::BackendKind;
use crate::{Result, Store};

impl Store {
    /// Begin a write transaction. Pair with [`Store::commit`] or [`Store::rollback`].
    pub fn begin(&mut self) -> Result<()> {
        match self.db.kind() {
            BackendKind::Sqlite => self.db.batch("BEGIN IMMEDIATE")?,
            BackendKind::Postgres => self.db.batch("BEGIN")?,
        }
        self.in_tx = true;
        self.tx_audit.clear();
        Ok(())
    }

    /// Commit the open transaction.
    pub fn commit(&mut self) -> Result<()> {
        self.findings_snapshot = None;
        let entries = std::mem::take(&mut self.tx_audit);
        if let Err(e) = self.append_audit(entries) {
            let _ = self.rollback();
            return Err(e);
        }
        // The generations move last, after the audit append: on PostgreSQL a
        // transaction that appended holds the audit lock from then to its
        // commit, and the generation row's lock is only ever taken after
        // it, so two committing transactions never wait on each other in
        // opposite orders.
        let bumps = [
            (
                std::mem::take(&mut self.tx_advisories_changed),
                crate::BUMP_ADVISORIES,
            ),
            (
                std::mem::take(&mut self.tx_findings_changed),
                crate::BUMP_FINDINGS,
            ),
        ];
        for (changed, bump) in bumps {
            if changed && let Err(e) = self.db.exec(bump, &[]) {
                let _ = self.rollback();
                return Err(e);
            }
        }
        let r = self.db.batch("COMMIT");
        self.in_tx = false;
        if r.is_err() {
            self.forget_tx_ids();
        } else {
            self.tx_new_components.clear();
            self.tx_new_images.clear();
        }
        if std::mem::take(&mut self.vacuum_pending) && r.is_ok() {
            // Every fold inserts and deletes thousands of pending rows; left
            // to autovacuum (or, where it is off, to nobody) their dead
            // tuples pile up, and at a million records reading the smallest
            // pending id cost milliseconds to plan and run. Vacuuming the
            // small table after the fold commits keeps it small. Best effort:
            // the commit has happened either way.
            let _ = self.db.batch("VACUUM postings_pending");
        }
        r
    }

    /// Roll back the open transaction.
    pub fn rollback(&mut self) -> Result<()> {
        self.in_tx = false;
        self.vacuum_pending = false;
        self.tx_advisories_changed = false;
        self.tx_findings_changed = false;
        self.findings_snapshot = None;
        self.tx_audit.clear();
        self.forget_tx_ids();
        self.db.batch("ROLLBACK")
    }

    fn forget_tx_ids(&mut self) {
        for p in self.tx_new_components.drain(..) {
            self.component_ids.remove(&p);
        }
        for d in self.tx_new_images.drain(..) {
            self.image_ids.remove(&d);
        }
        // A rolled-back update may have left an image untyped again.
        self.image_typed.clear();
        // A rolled-back insert may have been the first of a version.
        self.toolchain_versions_seen.clear();
        // Ids of components inserted by the rolled-back transaction may be
        // reused for other purls.
        self.seal_components.clear();
        self.purl_cache.clear();
    }

    /// Run `f` in a transaction: committed when it returns Ok, rolled back otherwise.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.begin()?;
        match f(self) {
            Ok(v) => {
                self.commit()?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.rollback();
                Err(e)
            }
        }
    }
}

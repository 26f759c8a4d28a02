//! The runtime inventory: which image digests run where (cluster,
//! namespace, workload, container), from cluster snapshots. A snapshot
//! replaces its cluster's rows in one transaction, keeping when each
//! container was first seen running its image, and is logged.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Result, Store, Val, ms_to_time, now_ms};

/// One container of one pod, and what it runs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct InventoryRow {
    /// Cluster name.
    pub cluster: String,
    /// Namespace.
    pub namespace: String,
    /// Environment of the namespace (label or configuration), if known.
    pub environment: Option<String>,
    /// Workload kind (`Deployment`, `StatefulSet`, `DaemonSet`, `Job`, `Pod`, …).
    pub workload_kind: String,
    /// Workload name.
    pub workload_name: String,
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// `container`, `init` or `ephemeral`.
    pub container_kind: String,
    /// The image as the pod spec names it.
    pub image: String,
    /// The image id the kubelet reported, if any.
    pub image_id: Option<String>,
    /// The platform manifest digest it runs (None: unresolved).
    pub digest: Option<String>,
    /// When this container was first seen running this image.
    pub first_seen: DateTime<Utc>,
    /// When it was last seen (the latest snapshot).
    pub last_seen: DateTime<Utc>,
}

const COLUMNS: &str = "cluster, namespace, environment, workload_kind, workload_name, pod, container, \
                       container_kind, image, image_id, digest, first_seen, last_seen";

fn row(r: Vec<Val>) -> InventoryRow {
    let mut it = r.into_iter();
    let mut next = || it.next().unwrap_or(Val::Null);
    InventoryRow {
        cluster: next().into_text().unwrap_or_default(),
        namespace: next().into_text().unwrap_or_default(),
        environment: next().into_text(),
        workload_kind: next().into_text().unwrap_or_default(),
        workload_name: next().into_text().unwrap_or_default(),
        pod: next().into_text().unwrap_or_default(),
        container: next().into_text().unwrap_or_default(),
        container_kind: next().into_text().unwrap_or_default(),
        image: next().into_text().unwrap_or_default(),
        image_id: next().into_text(),
        digest: next().into_text(),
        first_seen: ms_to_time(next().int().unwrap_or_default()),
        last_seen: ms_to_time(next().int().unwrap_or_default()),
    }
}

/// What stays the same while a container keeps running an image.
fn key(r: &InventoryRow) -> (String, String, String, String, String, String) {
    (
        r.namespace.clone(),
        r.workload_kind.clone(),
        r.workload_name.clone(),
        r.container.clone(),
        r.container_kind.clone(),
        r.digest.clone().unwrap_or_else(|| r.image.clone()),
    )
}

/// What replacing a cluster's snapshot changed.
#[derive(
    Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema,
)]
pub struct InventoryDelta {
    /// Containers (by workload, container and image) not in the previous snapshot.
    pub added: u64,
    /// Containers of the previous snapshot that are gone.
    pub removed: u64,
}

fn insert(s: &mut Store, r: &InventoryRow, first_seen: i64, now: i64) -> Result<()> {
    let opt = |v: &Option<String>| v.as_deref().map(Val::from).unwrap_or(Val::Null);
    s.db.exec(
        "INSERT INTO inventory (cluster, namespace, environment, workload_kind, workload_name, pod,
            container, container_kind, image, image_id, digest, first_seen, last_seen)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            r.cluster.as_str().into(),
            r.namespace.as_str().into(),
            opt(&r.environment),
            r.workload_kind.as_str().into(),
            r.workload_name.as_str().into(),
            r.pod.as_str().into(),
            r.container.as_str().into(),
            r.container_kind.as_str().into(),
            r.image.as_str().into(),
            opt(&r.image_id),
            opt(&r.digest),
            Val::Int(first_seen),
            Val::Int(now),
        ],
    )?;
    Ok(())
}

impl Store {
    /// Replace `cluster`'s inventory with `rows` (their `first_seen` and
    /// `last_seen` are set here).
    pub fn replace_inventory(
        &mut self,
        cluster: &str,
        rows: &[InventoryRow],
    ) -> Result<InventoryDelta> {
        self.transaction(|s| {
            let now = now_ms();
            let old: HashMap<_, i64> = s
                .db
                .query(
                    &format!("SELECT {COLUMNS} FROM inventory WHERE cluster = ?"),
                    &[cluster.into()],
                )?
                .into_iter()
                .map(row)
                .map(|r| (key(&r), r.first_seen.timestamp_millis()))
                .collect();
            s.db.exec("DELETE FROM inventory WHERE cluster = ?", &[cluster.into()])?;
            let mut delta = InventoryDelta::default();
            let mut seen = std::collections::HashSet::new();
            for r in rows {
                let k = key(r);
                let first = old.get(&k).copied();
                if first.is_none() && seen.insert(k.clone()) {
                    delta.added += 1;
                }
                let r = InventoryRow {
                    cluster: cluster.to_string(),
                    ..r.clone()
                };
                insert(s, &r, first.unwrap_or(now), now)?;
            }
            let new_keys: std::collections::HashSet<_> = rows.iter().map(key).collect();
            delta.removed = old.keys().filter(|k| !new_keys.contains(*k)).count() as u64;
            s.audit(
                "inventory.replaced",
                Some(&format!("cluster:{cluster}")),
                &serde_json::json!({"rows": rows.len(), "added": delta.added, "removed": delta.removed}),
            )?;
            Ok(delta)
        })
    }

    /// Record what an admitted object runs: `rows` (one object's containers:
    /// same cluster, namespace, workload and pod) replace the rows of that
    /// object, keeping when each container was first seen running its image.
    /// The next snapshot of the cluster replaces them with what runs.
    pub fn record_admitted(&mut self, rows: &[InventoryRow]) -> Result<InventoryDelta> {
        let Some(first) = rows.first() else {
            return Ok(InventoryDelta::default());
        };
        self.transaction(|s| {
            let now = now_ms();
            let scope = [
                Val::from(first.cluster.as_str()),
                Val::from(first.namespace.as_str()),
                Val::from(first.workload_kind.as_str()),
                Val::from(first.workload_name.as_str()),
                Val::from(first.pod.as_str()),
            ];
            let old: HashMap<_, i64> = s
                .db
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM inventory WHERE cluster = ? AND namespace = ?
                         AND workload_kind = ? AND workload_name = ? AND pod = ?"
                    ),
                    &scope,
                )?
                .into_iter()
                .map(row)
                .map(|r| (key(&r), r.first_seen.timestamp_millis()))
                .collect();
            s.db.exec(
                "DELETE FROM inventory WHERE cluster = ? AND namespace = ?
                 AND workload_kind = ? AND workload_name = ? AND pod = ?",
                &scope,
            )?;
            let mut delta = InventoryDelta::default();
            for r in rows {
                let first_seen = old.get(&key(r)).copied();
                if first_seen.is_none() {
                    delta.added += 1;
                }
                insert(s, r, first_seen.unwrap_or(now), now)?;
            }
            let new_keys: std::collections::HashSet<_> = rows.iter().map(key).collect();
            delta.removed = old.keys().filter(|k| !new_keys.contains(*k)).count() as u64;
            if delta.added + delta.removed > 0 {
                s.audit(
                    "inventory.admitted",
                    Some(&format!(
                        "cluster:{}/{}/{}/{}",
                        first.cluster, first.namespace, first.workload_kind, first.workload_name
                    )),
                    &serde_json::json!({"pod": first.pod, "rows": rows.len(), "added": delta.added, "removed": delta.removed}),
                )?;
            }
            Ok(delta)
        })
    }

    /// The environment the inventory gives `namespace` of `cluster` (from
    /// the namespace's label or the configuration at its last snapshot).
    pub fn environment_of_namespace(
        &mut self,
        cluster: &str,
        namespace: &str,
    ) -> Result<Option<String>> {
        let rows = self.db.query(
            "SELECT environment FROM inventory WHERE cluster = ? AND namespace = ?
             AND environment IS NOT NULL LIMIT 1",
            &[cluster.into(), namespace.into()],
        )?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .and_then(Val::into_text))
    }

    /// The inventory, optionally of one cluster and/or one digest.
    pub fn inventory(
        &mut self,
        cluster: Option<&str>,
        digest: Option<&str>,
    ) -> Result<Vec<InventoryRow>> {
        let mut sql = format!("SELECT {COLUMNS} FROM inventory WHERE 1 = 1");
        let mut params = Vec::new();
        if let Some(c) = cluster {
            sql.push_str(" AND cluster = ?");
            params.push(Val::from(c));
        }
        if let Some(d) = digest {
            sql.push_str(" AND digest = ?");
            params.push(Val::from(d));
        }
        sql.push_str(" ORDER BY cluster, namespace, workload_kind, workload_name, pod, container_kind, container");
        Ok(self.db.query(&sql, &params)?.into_iter().map(row).collect())
    }

    /// The digest an image reference (`registry/repo:tag`) was recorded
    /// under, when exactly one image carries it.
    pub fn digest_of_reference(&mut self, reference: &str) -> Result<Option<String>> {
        let rows = self.db.query(
            "SELECT DISTINCT i.digest FROM image_refs r JOIN images i ON i.id = r.image_id
             WHERE r.reference = ? LIMIT 2",
            &[reference.into()],
        )?;
        Ok(if rows.len() == 1 {
            rows.into_iter()
                .next()
                .and_then(|r| r.into_iter().next())
                .and_then(Val::into_text)
        } else {
            None
        })
    }
}

//! Group commit of record submissions.
//!
//! A durable commit costs a disk flush (about 2 ms on PostgreSQL here), and
//! the audit log's hash chain lets one transaction at a time append, so one
//! commit per submission caps a server at a few hundred submissions a
//! second however many clients send them. Submissions that arrive while a
//! commit is in flight wait in a queue instead, and the next round stores
//! all of them in one transaction ([`record::record_group`]): the more
//! clients, the larger the round, with no added wait when the server is idle.
//!
//! One round runs at a time per server. The request that finds no round
//! running starts one; a round that leaves submissions behind starts the
//! next before it ends, so nothing waits in the queue without a round to
//! take it. Every submission is answered only after the commit that stored
//! it (or with the error that kept it out).

use std::sync::Mutex;

use buildledger_service::record::{self, Recorded};
use buildledger_service::types::BuildRecord;
use tokio::sync::oneshot;

use crate::app::AppState;
use crate::problem::ApiError;

/// Submissions per round, at most (and records per round, about).
const ROUND_SUBMISSIONS: usize = 256;
const ROUND_RECORDS: usize = 2_000;

type Reply = oneshot::Sender<Result<Vec<Recorded>, ApiError>>;

/// The queue of submissions and whether a round is running.
#[derive(Default)]
pub struct Committer {
    state: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<(Vec<(String, BuildRecord)>, Reply)>,
    running: bool,
}

impl Committer {
    /// The queue, locked (a panic elsewhere never strands it).
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the next round's submissions; `None` (and no round running)
    /// when the queue is empty.
    #[allow(clippy::type_complexity)]
    fn next_round(&self) -> Option<Vec<(Vec<(String, BuildRecord)>, Reply)>> {
        let mut q = self.queue();
        if q.waiting.is_empty() {
            q.running = false;
            return None;
        }
        let mut records = 0;
        let mut n = 0;
        for (sub, _) in &q.waiting {
            if n > 0 && (n >= ROUND_SUBMISSIONS || records + sub.len() > ROUND_RECORDS) {
                break;
            }
            records += sub.len();
            n += 1;
        }
        Some(q.waiting.drain(..n).collect())
    }

    /// Answer everything still queued with `e` (the ledger could not be
    /// reached), and let the next submission start a round.
    fn fail_all(&self, e: &ApiError) {
        let waiting = {
            let mut q = self.queue();
            q.running = false;
            std::mem::take(&mut q.waiting)
        };
        for (_, reply) in waiting {
            let _ = reply.send(Err(e.clone()));
        }
    }
}

/// Store one submission's records (each as `record::record_all` would) in
/// the next group commit, and answer once it is durable.
pub async fn submit(
    st: &AppState,
    records: Vec<(String, BuildRecord)>,
) -> Result<Vec<Recorded>, ApiError> {
    let (tx, rx) = oneshot::channel();
    let start = {
        let mut q = st.committer().queue();
        q.waiting.push((records, tx));
        !std::mem::replace(&mut q.running, true)
    };
    if start {
        // A task of its own: a client that goes away mid-round must not
        // cancel the round (or the next one) for everyone else.
        tokio::spawn(run_round(st.clone()));
    }
    rx.await.map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the submission was dropped before it was stored (shutting down?)",
        )
    })?
}

/// One round: store the queued submissions with one commit and answer
/// them; when more are queued by then, start the next round.
fn run_round(st: AppState) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(round(st))
}

async fn round(st: AppState) {
    let me = st.clone();
    let r = st
        .with_store(move |s| {
            let Some(round) = me.committer().next_round() else {
                return Ok(false);
            };
            let (subs, replies): (Vec<_>, Vec<_>) = round.into_iter().unzip();
            let results = record::record_group(s, &subs);
            for (reply, r) in replies.into_iter().zip(results) {
                let _ = reply.send(r.map_err(ApiError::from));
            }
            me.metrics().group_commit(subs.len());
            Ok(true)
        })
        .await;
    match r {
        Ok(false) => {}
        Ok(true) => {
            // Whatever arrived during this round starts the next one (or,
            // with none, ends the run).
            let more = {
                let mut q = st.committer().queue();
                if q.waiting.is_empty() {
                    q.running = false;
                    false
                } else {
                    true
                }
            };
            if more {
                tokio::spawn(run_round(st));
            }
        }
        Err(e) => st.committer().fail_all(&e),
    }
}

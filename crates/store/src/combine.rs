//! Write combining: requests that arrive together share one database transaction, so a
//! commit's fixed cost (the WAL write and sync, the round trips) is paid once per batch
//! instead of once per request. Used for card stage transitions, which officers make in
//! bursts at the counter, and for the transactions of public-service applications
//! (submissions and moves, [`crate::exec::SqlExec::transaction_combined`]): each request's
//! statements run under a savepoint of their own, so one that fails is rolled back alone
//! (on PostgreSQL only once a plain run of the whole batch has failed, `postgres::exec`).

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use crate::{Result, StoreError};

type Job<Req, Resp> = (Req, oneshot::Sender<Result<Resp>>);

/// A queue in front of a batch function. The batch function gets the requests in arrival
/// order and answers each one; it must leave nothing of a request it answers with an error.
pub(crate) struct Combiner<Req, Resp> {
    tx: mpsc::Sender<Job<Req, Resp>>,
}

impl<Req: Send + 'static, Resp: Send + 'static> Combiner<Req, Resp> {
    /// Starts the queue's task, which runs up to `parallel` batches at a time (1 for a
    /// single-writer database); it ends when the combiner is dropped.
    pub(crate) fn start<F, Fut>(max_batch: usize, parallel: usize, run: F) -> Self
    where
        F: Fn(Vec<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Result<Resp>>> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::channel::<Job<Req, Resp>>(max_batch * 4);
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel));
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(max_batch);
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else { break };
                if rx.recv_many(&mut buf, max_batch).await == 0 {
                    break;
                }
                let (reqs, answers): (Vec<Req>, Vec<_>) = buf.drain(..).unzip();
                let batch = run(reqs);
                tokio::spawn(async move {
                    let results = batch.await;
                    drop(slot);
                    for (answer, r) in answers.into_iter().zip(results) {
                        let _ = answer.send(r);
                    }
                });
            }
        });
        Combiner { tx }
    }

    pub(crate) async fn call(&self, req: Req) -> Result<Resp> {
        let (done, wait) = oneshot::channel();
        let gone = || StoreError::Backend("write queue stopped".into());
        self.tx.send((req, done)).await.map_err(|_| gone())?;
        wait.await.map_err(|_| gone())?
    }
}

/// A card stage transition request.
#[derive(Debug, Clone)]
pub(crate) struct TransitionReq {
    pub id: i64,
    pub to: dancu_identity::Stage,
    pub reason: Option<String>,
    pub expected_version: i64,
    pub change: crate::model::Change,
    pub scope: crate::model::Scope,
}

impl TransitionReq {
    /// The request for one move, as both backends' `transition_card_application_in` take it.
    pub(crate) fn new(
        id: i64,
        to: &dancu_identity::Stage,
        reason: Option<&str>,
        expected_version: i64,
        change: &crate::model::Change,
        scope: &crate::model::Scope,
    ) -> Self {
        TransitionReq {
            id,
            to: to.clone(),
            reason: reason.map(str::to_string),
            expected_version,
            change: change.clone(),
            scope: scope.clone(),
        }
    }

    /// Refuses an application outside the request's scope.
    pub(crate) fn check_scope(&self, app: &crate::model::CardApplication) -> Result<()> {
        if self.scope.covers(&app.scope_province, &app.scope_commune) {
            Ok(())
        } else {
            Err(StoreError::OutOfScope { subject: app.personal_id.to_string() })
        }
    }
}

/// One request's statements (a transaction of [`crate::exec::SqlExec::transaction_combined`]).
pub(crate) type Group = Vec<crate::exec::Stmt>;

/// What a run of groups in one transaction gives back: the groups (for a retry), an answer
/// for each group run so far (an error leaves nothing of its group: it was rolled back to
/// its savepoint), and how the shared transaction ended.
pub(crate) type GroupRun = (Vec<Group>, Vec<Result<()>>, Result<()>);

/// Answers every group of a batch run by `run` (all groups in one transaction). When the
/// shared transaction itself fails (its commit, a deadlock, a lost connection), the groups
/// that had not failed on their own are run again, each alone, so that one request's
/// trouble cannot fail the others.
pub(crate) async fn settle<F, Fut>(groups: Vec<Group>, run: F) -> Vec<Result<()>>
where
    F: Fn(Vec<Group>) -> Fut,
    Fut: Future<Output = GroupRun>,
{
    let n = groups.len();
    let (groups, mut answers, batch) = run(groups).await;
    if batch.is_ok() && answers.len() == n {
        return answers;
    }
    if groups.len() != n {
        // The run did not even give the groups back (the store closed, a task panicked).
        let why = batch.err().map_or_else(|| "transaction not run".to_string(), |e| e.to_string());
        return (0..n).map(|_| Err(StoreError::Backend(why.clone()))).collect();
    }
    if n == 1 {
        let e = batch.err().unwrap_or_else(|| StoreError::Backend("transaction not run".into()));
        return vec![answers.pop().filter(Result::is_err).unwrap_or(Err(e))];
    }
    let mut out = Vec::with_capacity(n);
    for (i, g) in groups.into_iter().enumerate() {
        match answers.get_mut(i) {
            // Refused on its own: nothing of it was stored, whatever became of the batch.
            Some(a @ Err(_)) => out.push(std::mem::replace(a, Ok(()))),
            _ => {
                let (_, mut a, b) = run(vec![g]).await;
                out.push(match (a.pop(), b) {
                    (Some(Err(e)), _) | (_, Err(e)) => Err(e),
                    (Some(Ok(())), Ok(())) => Ok(()),
                    (None, Ok(())) => Err(StoreError::Backend("transaction not run".into())),
                });
            }
        }
    }
    out
}

//! Write combining: requests that arrive together share one database transaction, so a
//! commit's fixed cost (the WAL write and sync, the round trips) is paid once per batch
//! instead of once per request. Used for card stage transitions, which officers make in
//! bursts at the counter.

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

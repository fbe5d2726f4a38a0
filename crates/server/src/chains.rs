//! The linked procedures' worker (issue 15, parts 1 and 2; docs/CHAINS.md): one per server.
//! Each round claims the chains whose failed step is due again (a lease: on PostgreSQL
//! `FOR UPDATE SKIP LOCKED`, so two servers never run one chain's step at once; a crashed
//! server's lease expires) and runs each as far as it goes. A step that fails again waits
//! twice as long as before, up to `max_backoff`.

use std::time::Duration;

use dancu_store::chains::Timing;

use crate::AppState;

/// The worker's settings.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// Run a worker in this server.
    pub enabled: bool,
    pub timing: Timing,
    /// The pause between rounds with nothing to do.
    pub poll: Duration,
    /// Chains claimed per round.
    pub batch: u32,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig { enabled: true, timing: Timing::default(), poll: Duration::from_millis(500), batch: 32 }
    }
}

/// Starts the worker; it runs until the task is aborted.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let c = state.config.chains.clone();
        loop {
            match state.registry.chain_round(&c.timing, c.batch).await {
                Ok(n) if n >= c.batch as usize => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "linked-procedure round failed; retrying"),
            }
            tokio::time::sleep(c.poll).await;
        }
    })
}

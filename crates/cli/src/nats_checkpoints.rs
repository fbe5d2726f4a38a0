//! Audit checkpoints mirrored to NATS JetStream (`audit_checkpoint_nats_url`): every signed
//! checkpoint line is also published to a subject captured by a stream, and verification
//! reads the newest one back. The stream lives on the NATS servers, not beside the
//! database, so a truncation hidden by rewriting both the database and the checkpoint file
//! is still caught (docs/OPERATIONS.md).

use std::time::Duration;

use anyhow::{Context, Result};
use async_nats::jetstream::{self, stream::LastRawMessageErrorKind};
use dancu_store::registry::CheckpointMirror;

/// The default subject checkpoints are published to.
pub const DEFAULT_SUBJECT: &str = "dancu.audit.checkpoints";

#[derive(Debug)]
pub struct NatsCheckpoints {
    url: String,
    subject: String,
    stream: String,
    js: jetstream::Context,
}

impl NatsCheckpoints {
    /// Connects and makes sure a stream captures `subject` (created if missing, named after
    /// the subject: `DANCU_AUDIT_CHECKPOINTS`).
    pub async fn connect(url: &str, subject: &str) -> Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .name("dancu audit checkpoints")
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .with_context(|| format!("connecting to NATS at {url} for audit checkpoints"))?;
        let js = jetstream::new(client);
        let stream = subject.replace(['.', '*', '>'], "_").to_uppercase();
        js.get_or_create_stream(jetstream::stream::Config {
            name: stream.clone(),
            subjects: vec![subject.to_string()],
            ..Default::default()
        })
        .await
        .with_context(|| format!("the JetStream stream {stream} for {subject} at {url}"))?;
        Ok(NatsCheckpoints { url: url.into(), subject: subject.into(), stream, js })
    }
}

#[async_trait::async_trait]
impl CheckpointMirror for NatsCheckpoints {
    fn describe(&self) -> String {
        format!("{} {}", self.url, self.subject)
    }

    async fn publish(&self, line: &str) -> Result<(), String> {
        let ack = self
            .js
            .publish(self.subject.clone(), line.to_string().into())
            .await
            .map_err(|e| e.to_string())?;
        ack.await.map_err(|e| format!("not acknowledged: {e}"))?;
        Ok(())
    }

    async fn latest(&self) -> Result<Option<String>, String> {
        let stream = self.js.get_stream(&self.stream).await.map_err(|e| e.to_string())?;
        match stream.get_last_raw_message_by_subject(&self.subject).await {
            Ok(m) => String::from_utf8(m.payload.to_vec())
                .map(Some)
                .map_err(|_| "a checkpoint is not UTF-8".into()),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

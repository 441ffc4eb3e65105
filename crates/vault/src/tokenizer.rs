//! Group commit for one-card tokenizations.
//!
//! Each checkout request tokenizes one card, and each must be durable
//! (committed) before the request goes on to the store. One commit per
//! card would cap a node at a few hundred cards a second (one disk flush
//! each); a [`Tokenizer`] instead hands cards to one task that stores
//! whatever has queued up while the previous commit ran, in one
//! transaction, and answers each caller once that transaction committed.
//! Under no load a card is committed alone, at once.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::{Card, Token, Vault, VaultError};

type Reply = oneshot::Sender<Result<Token, VaultError>>;

/// A handle to the committing task; cheap to clone.
#[derive(Clone, Debug)]
pub struct Tokenizer {
    queue: mpsc::Sender<(Card, Reply)>,
}

impl Tokenizer {
    /// Starts the committing task on the current tokio runtime; it stops
    /// when the last handle is dropped. At most `max_batch` cards go in
    /// one transaction.
    pub fn spawn(vault: Arc<Vault>, max_batch: usize) -> Tokenizer {
        let max_batch = max_batch.max(1);
        let (queue, mut rx) = mpsc::channel::<(Card, Reply)>(max_batch * 4);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(max_batch);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < max_batch {
                    match rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                // Callers that gave up meanwhile are left out.
                batch.retain(|(_, reply)| !reply.is_closed());
                let cards: Vec<Card> = batch.iter().map(|(c, _)| c.clone()).collect();
                match vault.tokenize_batch(&cards).await {
                    Ok(tokens) => {
                        for ((_, reply), token) in batch.drain(..).zip(tokens) {
                            let _ = reply.send(Ok(token));
                        }
                    }
                    Err(_) => {
                        // Nothing of the batch was stored: each card goes
                        // alone, so each caller gets its own answer.
                        for (card, reply) in batch.drain(..) {
                            let _ = reply.send(vault.tokenize(&card).await);
                        }
                    }
                }
            }
        });
        Tokenizer { queue }
    }

    /// Tokenizes one card; returns once its token is committed.
    pub async fn tokenize(&self, card: Card) -> Result<Token, VaultError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((card, reply))
            .await
            .map_err(|_| VaultError::Stopped)?;
        answer.await.map_err(|_| VaultError::Stopped)?
    }
}

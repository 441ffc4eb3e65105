//! The event bus: stages emit, a dispatcher thread fans out to sinks.
//!
//! Emitting never blocks a request: the queue is bounded and, when a flood
//! fills it, further events are counted as dropped instead of growing
//! memory. Sinks run on one dedicated thread and receive events in batches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::event::Event;

/// A consumer of events.
pub trait Sink: Send {
    /// Short name for logs.
    fn name(&self) -> &'static str;
    /// Handles a batch, in emission order. An error is logged and the sink
    /// keeps receiving later batches.
    fn write(&mut self, batch: &[Event]) -> Result<(), String>;
    /// Makes everything written so far durable.
    fn flush(&mut self) -> Result<(), String> {
        Ok(())
    }
}

enum Message {
    Event(Box<Event>),
    Flush(mpsc::Sender<()>),
}

/// Handle to emit events; cheap to clone.
#[derive(Clone)]
pub struct EventBus {
    tx: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
}

/// Owns the dispatcher thread; dropping all buses and calling
/// [`Dispatcher::shutdown`] drains and flushes every sink.
pub struct Dispatcher {
    handle: Option<JoinHandle<()>>,
}

const QUEUE: usize = 65_536;
const BATCH: usize = 512;

impl EventBus {
    /// Starts the dispatcher thread with `sinks`.
    pub fn start(sinks: Vec<Box<dyn Sink>>) -> (EventBus, Dispatcher) {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let handle = std::thread::Builder::new()
            .name("rampart-events".into())
            .spawn(move || dispatch(rx, sinks))
            .expect("spawning the event dispatcher thread");
        (
            EventBus {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            Dispatcher {
                handle: Some(handle),
            },
        )
    }

    /// Emits one event; never blocks. Card numbers anywhere in it (a
    /// query string, a rule's logged data) are masked first: no sink ever
    /// writes one in clear.
    pub fn emit(&self, mut event: Event) {
        event.mask_card_numbers();
        match self.tx.try_send(Message::Event(Box::new(event))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until every event emitted before this call has been written
    /// and flushed by every sink (used by tests and at shutdown).
    pub fn flush(&self) {
        let (done_tx, done_rx) = mpsc::channel();
        if self.tx.send(Message::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(Duration::from_secs(10));
        }
    }
}

impl Dispatcher {
    /// Waits for the dispatcher to drain; call after the last bus clone is
    /// dropped.
    pub fn shutdown(mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn dispatch(rx: Receiver<Message>, mut sinks: Vec<Box<dyn Sink>>) {
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    loop {
        let first = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut flush_waiters = Vec::new();
        let mut take = |m: Message, batch: &mut Vec<Event>| match m {
            Message::Event(e) => batch.push(*e),
            Message::Flush(w) => flush_waiters.push(w),
        };
        if let Some(m) = first {
            take(m, &mut batch);
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(m) => take(m, &mut batch),
                    Err(_) => break,
                }
            }
        }
        let wrote = !batch.is_empty();
        if wrote {
            for sink in sinks.iter_mut() {
                if let Err(e) = sink.write(&batch) {
                    tracing::error!(sink = sink.name(), error = %e, "event sink failed");
                }
            }
            batch.clear();
        }
        // Every batch is handed to the OS at once: a crash loses nothing
        // that a sink acknowledged.
        if wrote || !flush_waiters.is_empty() {
            for sink in sinks.iter_mut() {
                if let Err(e) = sink.flush() {
                    tracing::error!(sink = sink.name(), error = %e, "event sink flush failed");
                }
            }
        }
        for w in flush_waiters {
            let _ = w.send(());
        }
    }
    for sink in sinks.iter_mut() {
        let _ = sink.flush();
    }
}

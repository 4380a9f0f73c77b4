//! A session's view of the server: who the client is, LISTEN/NOTIFY, the
//! transaction status, parameter reports; and the server-wide notification
//! broker and cancel registry behind them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use postwire_codec::backend::TransactionStatus;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::handler::ClientInfo;

/// A notification on its way to a listening session.
#[derive(Debug, Clone)]
pub(crate) struct Notification {
    pub(crate) process_id: i32,
    pub(crate) channel: Arc<str>,
    pub(crate) payload: Arc<str>,
}

/// A listening session: its process id and notification queue.
type Listener = (i32, mpsc::Sender<Notification>);

/// LISTEN/NOTIFY across the sessions of one server: channel → listeners.
#[derive(Debug, Default)]
pub(crate) struct Broker {
    channels: Mutex<HashMap<String, Vec<Listener>>>,
}

impl Broker {
    fn listen(&self, channel: &str, process_id: i32, inbox: &mpsc::Sender<Notification>) {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let listeners = channels.entry(channel.to_owned()).or_default();
        if !listeners.iter().any(|(pid, _)| *pid == process_id) {
            listeners.push((process_id, inbox.clone()));
        }
    }

    fn unlisten(&self, channel: &str, process_id: i32) {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(listeners) = channels.get_mut(channel) {
            listeners.retain(|(pid, _)| *pid != process_id);
            if listeners.is_empty() {
                channels.remove(channel);
            }
        }
    }

    /// Queues a notification for every listener of `channel` (the sender
    /// included, as in PostgreSQL). A listener whose queue is full misses it.
    pub(crate) fn notify(&self, process_id: i32, channel: &str, payload: &str) {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(listeners) = channels.get(channel) else { return };
        let note = Notification { process_id, channel: channel.into(), payload: payload.into() };
        for (pid, inbox) in listeners {
            if inbox.try_send(note.clone()).is_err() {
                tracing::warn!(listener = pid, channel, "notification queue full or closed: notification dropped");
            }
        }
    }
}

/// One session's entry in the cancel registry.
#[derive(Debug)]
pub(crate) struct CancelSlot {
    secret: Vec<u8>,
    running: Mutex<Option<CancellationToken>>,
}

impl CancelSlot {
    /// Marks a command as running; a cancel request cancels the token.
    pub(crate) fn start(&self) -> CancellationToken {
        let token = CancellationToken::new();
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
        token
    }

    /// The command ended: later cancel requests do nothing.
    pub(crate) fn finish(&self) {
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Sessions by process id, with the secret a CancelRequest must quote.
#[derive(Debug, Default)]
pub(crate) struct CancelRegistry {
    sessions: Mutex<HashMap<i32, Arc<CancelSlot>>>,
}

impl CancelRegistry {
    pub(crate) fn register(&self, process_id: i32, secret: &[u8]) -> Arc<CancelSlot> {
        let slot = Arc::new(CancelSlot { secret: secret.to_vec(), running: Mutex::new(None) });
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).insert(process_id, slot.clone());
        slot
    }

    pub(crate) fn unregister(&self, process_id: i32) {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).remove(&process_id);
    }

    /// Cancels the running command of `process_id` if `secret` matches.
    /// Returns whether a command was cancelled.
    pub(crate) fn cancel(&self, process_id: i32, secret: &[u8]) -> bool {
        let slot = self.sessions.lock().unwrap_or_else(PoisonError::into_inner).get(&process_id).cloned();
        let Some(slot) = slot else { return false };
        if !constant_time_eq(&slot.secret, secret) {
            return false;
        }
        match &*slot.running.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

/// Compares secrets without an early exit on the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a [`Session`](crate::Session) method may do besides answering: read
/// who the client is, LISTEN/UNLISTEN/NOTIFY, set the transaction status the
/// next ReadyForQuery reports, and report parameter changes.
#[derive(Debug)]
pub struct Context {
    client: Arc<ClientInfo>,
    broker: Arc<Broker>,
    inbox: mpsc::Sender<Notification>,
    listening: HashSet<String>,
    pub(crate) status: TransactionStatus,
    pub(crate) parameters: Vec<(String, String)>,
}

impl Context {
    pub(crate) fn new(client: Arc<ClientInfo>, broker: Arc<Broker>, inbox: mpsc::Sender<Notification>) -> Self {
        Context {
            client,
            broker,
            inbox,
            listening: HashSet::new(),
            status: TransactionStatus::Idle,
            parameters: Vec::new(),
        }
    }

    /// The client.
    pub fn client(&self) -> &ClientInfo {
        &self.client
    }

    /// LISTEN: this session receives NOTIFYs on `channel` (between commands,
    /// outside transactions).
    pub fn listen(&mut self, channel: &str) {
        if self.listening.insert(channel.to_owned()) {
            self.broker.listen(channel, self.client.process_id, &self.inbox);
        }
    }

    /// UNLISTEN `channel`.
    pub fn unlisten(&mut self, channel: &str) {
        if self.listening.remove(channel) {
            self.broker.unlisten(channel, self.client.process_id);
        }
    }

    /// UNLISTEN *.
    pub fn unlisten_all(&mut self) {
        for channel in std::mem::take(&mut self.listening) {
            self.broker.unlisten(&channel, self.client.process_id);
        }
    }

    /// The channels this session listens to.
    pub fn listening(&self) -> impl Iterator<Item = &str> {
        self.listening.iter().map(String::as_str)
    }

    /// NOTIFY `channel` with `payload`, from this session, to every listener
    /// (this session too, if it listens). Delivered at once: a session that
    /// defers NOTIFY to COMMIT, as PostgreSQL does, queues it itself.
    pub fn notify(&self, channel: &str, payload: &str) {
        self.broker.notify(self.client.process_id, channel, payload);
    }

    /// The transaction status the next ReadyForQuery reports.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.status
    }

    /// Sets the transaction status (after BEGIN, COMMIT, ROLLBACK…). An error
    /// inside a transaction sets Failed by itself.
    pub fn set_transaction_status(&mut self, status: TransactionStatus) {
        self.status = status;
    }

    /// Reports a changed run-time parameter to the client (ParameterStatus),
    /// sent once the current command's answer is.
    pub fn report_parameter(&mut self, name: &str, value: &str) {
        self.parameters.push((name.to_owned(), value.to_owned()));
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        self.unlisten_all();
    }
}

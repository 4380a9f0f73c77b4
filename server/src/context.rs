//! A session's view of the server: who the client is, LISTEN/NOTIFY, the
//! transaction status, parameter reports; and the server-wide notification
//! broker and the session registry (cancel requests, shutdown) behind them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;

use futures_util::task::AtomicWaker;
use postwire_codec::backend::TransactionStatus;
use tokio::sync::mpsc;

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

/// One session's entry in the registry: the secret a CancelRequest must
/// quote, and how cancel requests and shutdown reach the session's task.
/// Checking for them is a few atomic loads, so the connection loop can ask
/// on every command without registering with anything shared.
#[derive(Debug)]
pub(crate) struct SessionSignals {
    secret: Vec<u8>,
    /// The latest command's number times two, plus one while it runs.
    command: AtomicU64,
    /// The number of the command a cancel request hit (commands count from 1).
    cancelled: AtomicU64,
    /// The session's task while it waits for work, input or a signal.
    waker: AtomicWaker,
}

impl SessionSignals {
    /// Marks a new command as running; returns its number for
    /// [`is_cancelled`](Self::is_cancelled). Only the session's task calls it.
    pub(crate) fn start(&self) -> u64 {
        let number = (self.command.load(Ordering::Relaxed) >> 1) + 1;
        self.command.store(number << 1 | 1, Ordering::SeqCst);
        number
    }

    /// The command ended: later cancel requests do nothing.
    pub(crate) fn finish(&self) {
        let running = self.command.load(Ordering::Relaxed);
        self.command.store(running & !1, Ordering::SeqCst);
    }

    /// Whether a cancel request hit command `number`.
    pub(crate) fn is_cancelled(&self, number: u64) -> bool {
        self.cancelled.load(Ordering::SeqCst) == number
    }

    /// Wakes `waker` on the next cancel request or shutdown step. Check for
    /// them after registering, so one that came just before is not missed.
    pub(crate) fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }

    /// Cancels the running command, if any; returns whether one ran.
    fn cancel(&self) -> bool {
        let running = self.command.load(Ordering::SeqCst);
        if running & 1 == 0 {
            return false;
        }
        // A command that finished meanwhile has a lower number than the next
        // one's: the request then hits neither, as with a finished command.
        self.cancelled.store(running >> 1, Ordering::SeqCst);
        self.waker.wake();
        true
    }
}

/// How far the server's shutdown has gone, as the sessions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Serving = 0,
    /// End sessions once idle.
    Draining = 1,
    /// End every session now, running commands included.
    Forced = 2,
}

/// Sessions by process id, and the shutdown phase they all watch.
#[derive(Debug, Default)]
pub(crate) struct SessionRegistry {
    sessions: Mutex<HashMap<i32, Arc<SessionSignals>>>,
    phase: AtomicU8,
}

impl SessionRegistry {
    pub(crate) fn register(&self, process_id: i32, secret: &[u8]) -> Arc<SessionSignals> {
        let signals = Arc::new(SessionSignals {
            secret: secret.to_vec(),
            command: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            waker: AtomicWaker::new(),
        });
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).insert(process_id, signals.clone());
        signals
    }

    pub(crate) fn unregister(&self, process_id: i32) {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).remove(&process_id);
    }

    /// Cancels the running command of `process_id` if `secret` matches.
    /// Returns whether a command was cancelled.
    pub(crate) fn cancel(&self, process_id: i32, secret: &[u8]) -> bool {
        let signals = self.sessions.lock().unwrap_or_else(PoisonError::into_inner).get(&process_id).cloned();
        let Some(signals) = signals else { return false };
        constant_time_eq(&signals.secret, secret) && signals.cancel()
    }

    pub(crate) fn phase(&self) -> Phase {
        match self.phase.load(Ordering::SeqCst) {
            0 => Phase::Serving,
            1 => Phase::Draining,
            _ => Phase::Forced,
        }
    }

    /// Moves shutdown on to `phase` (never back) and wakes every session to
    /// look. A session registered after this sees the phase on its first
    /// check.
    pub(crate) fn shut_down(&self, phase: Phase) {
        self.phase.fetch_max(phase as u8, Ordering::SeqCst);
        for signals in self.sessions.lock().unwrap_or_else(PoisonError::into_inner).values() {
            signals.waker.wake();
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

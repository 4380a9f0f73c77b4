//! The queue of requests from the handles to the connection task.
//!
//! A locked deque that the task takes whole (swapping in its own empty one,
//! so neither allocates again), one waker for the task, and a bound: a
//! sender that finds [`CAPACITY`] requests waiting waits until the task takes
//! them, and then as many waiting senders as there is room for wake
//! together. A bounded channel with a permit per request instead wakes one
//! sender per request taken: a long pipeline turns into a ping-pong between
//! the caller's thread and the task's.

use std::collections::VecDeque;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;

use super::ClientError;
use super::connection::Request;

/// Requests waiting for the task before senders wait.
pub(super) const CAPACITY: usize = 1024;

struct Inbox {
    state: Mutex<State>,
    /// The connection task, woken by a request or the last handle's drop.
    task: AtomicWaker,
    /// Senders waiting for room.
    room: Notify,
}

struct State {
    requests: VecDeque<Request>,
    /// Handles alive.
    senders: usize,
    /// The task has ended: nothing sent will be taken.
    closed: bool,
    /// Senders that found the queue full and wait for room (at least as
    /// many as wait: one cancelled while waiting is not taken off).
    waiting: usize,
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned one is still
        // consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The handles' end; the task sees when the last is dropped.
pub(super) struct Sender {
    inbox: Arc<Inbox>,
}

/// The task's end; dropping it closes the queue and drops what waits in it
/// (its callers hear [`ClientError::Closed`]).
pub(super) struct Receiver {
    inbox: Arc<Inbox>,
}

/// A new queue.
pub(super) fn inbox() -> (Sender, Receiver) {
    let inbox = Arc::new(Inbox {
        state: Mutex::new(State { requests: VecDeque::new(), senders: 1, closed: false, waiting: 0 }),
        task: AtomicWaker::new(),
        room: Notify::new(),
    });
    (Sender { inbox: inbox.clone() }, Receiver { inbox })
}

impl Sender {
    /// Queues `request`, waiting while the queue is full.
    pub(super) async fn send(&self, request: Request) -> Result<(), ClientError> {
        let inbox = &*self.inbox;
        let mut request = match self.try_push(request) {
            Ok(()) => return Ok(()),
            Err(request) => request?,
        };
        loop {
            // Registered before looking again, so the task's notification
            // after it takes the queue cannot be missed.
            let mut room = pin!(inbox.room.notified());
            room.as_mut().enable();
            request = match self.try_push(request) {
                Ok(()) => return Ok(()),
                Err(request) => request?,
            };
            room.await;
        }
    }

    /// Queues `request` unless the queue is full (then hands it back) or
    /// closed.
    fn try_push(&self, request: Request) -> Result<(), Result<Request, ClientError>> {
        let mut state = self.inbox.lock();
        if state.closed {
            return Err(Err(ClientError::Closed));
        }
        if state.requests.len() >= CAPACITY {
            state.waiting += 1;
            return Err(Ok(request));
        }
        state.requests.push_back(request);
        drop(state);
        self.inbox.task.wake();
        Ok(())
    }

    /// Whether the task has ended.
    pub(super) fn is_closed(&self) -> bool {
        self.inbox.lock().closed
    }
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        self.inbox.lock().senders += 1;
        Sender { inbox: self.inbox.clone() }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut state = self.inbox.lock();
        state.senders -= 1;
        let last = state.senders == 0;
        drop(state);
        if last {
            self.inbox.task.wake();
        }
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl Receiver {
    /// Moves every queued request into `into` (empty: the two swap) and
    /// answers `Ready(true)`; `Ready(false)` when none is queued and every
    /// handle is gone; else `Pending`, and the task wakes on the next.
    pub(super) fn poll_take(&self, cx: &mut Context<'_>, into: &mut VecDeque<Request>) -> Poll<bool> {
        self.inbox.task.register(cx.waker());
        self.try_take(into)
    }

    /// Like [`Receiver::poll_take`] without registering for a wake-up.
    pub(super) fn try_take(&self, into: &mut VecDeque<Request>) -> Poll<bool> {
        debug_assert!(into.is_empty());
        let mut state = self.inbox.lock();
        if state.requests.is_empty() {
            return if state.senders == 0 { Poll::Ready(false) } else { Poll::Pending };
        }
        std::mem::swap(&mut state.requests, into);
        let wake = state.waiting.min(into.len());
        state.waiting -= wake;
        drop(state);
        // One notification per free place: a woken sender that was
        // cancelled passes its notification on to the next.
        for _ in 0..wake {
            self.inbox.room.notify_one();
        }
        Poll::Ready(true)
    }

    /// Refuses further requests and hands back those still queued.
    pub(super) fn close(&self) -> VecDeque<Request> {
        let mut state = self.inbox.lock();
        state.closed = true;
        let requests = std::mem::take(&mut state.requests);
        drop(state);
        self.inbox.room.notify_waiters();
        requests
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.close());
    }
}

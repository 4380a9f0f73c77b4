//! LISTEN/NOTIFY and notices.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::mpsc;

use super::DbError;

/// Called with every NoticeResponse.
pub(crate) type NoticeHandler = Arc<dyn Fn(&DbError) + Send + Sync>;

/// A NOTIFY on a channel the session LISTENs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The notifying backend's process id.
    pub process_id: i32,
    /// The channel.
    pub channel: String,
    /// The payload (empty if none).
    pub payload: String,
}

/// The bounded channel of notifications ([`Client::notifications`](super::Client::notifications)).
/// Also a [`Stream`].
#[derive(Debug)]
pub struct Notifications {
    pub(crate) rx: mpsc::Receiver<Notification>,
}

impl Notifications {
    /// The next notification; `None` once the connection has closed.
    pub async fn recv(&mut self) -> Option<Notification> {
        self.rx.recv().await
    }

    /// A notification already received, if any, without waiting.
    pub fn try_recv(&mut self) -> Option<Notification> {
        self.rx.try_recv().ok()
    }
}

impl Stream for Notifications {
    type Item = Notification;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Notification>> {
        self.get_mut().rx.poll_recv(cx)
    }
}

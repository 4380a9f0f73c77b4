//! Cancelling a running query from elsewhere.

use std::sync::Arc;

use super::{ClientConfig, ClientError};

/// Cancels whatever the connection is running ([`Client::cancel_token`](super::Client::cancel_token)):
/// a CancelRequest with the session's key, on a new connection to the same
/// server. The query fails with SQLSTATE 57014 if it was still running.
///
/// ```no_run
/// # async fn demo(client: postwire_server::client::Client) -> Result<(), postwire_server::client::ClientError> {
/// let token = client.cancel_token().expect("the server sent a cancel key");
/// tokio::spawn(async move {
///     tokio::time::sleep(std::time::Duration::from_secs(1)).await;
///     let _ = token.cancel().await;
/// });
/// let err = client.simple_query("SELECT pg_sleep(60)").await.unwrap_err();
/// assert_eq!(err.code(), Some("57014"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CancelToken {
    pub(crate) config: Arc<ClientConfig>,
    /// The encoded CancelRequest.
    pub(crate) request: Arc<[u8]>,
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken").field("host", &self.config.host).field("port", &self.config.port).finish()
    }
}

impl CancelToken {
    /// Sends the cancel request. Success means it was delivered, not that
    /// a query was running.
    pub async fn cancel(&self) -> Result<(), ClientError> {
        super::connect::send_cancel(&self.config, &self.request).await
    }
}

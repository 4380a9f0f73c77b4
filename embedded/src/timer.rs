//! Timeouts without tying the serve loop to one runtime.

use core::future::Future;

/// A deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TimedOut;

/// Runs a future with a deadline. The serve loop runs on one executor task,
/// so the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Timer {
    /// Runs `future` for at most `ms` milliseconds.
    async fn with_timeout<F: Future>(&mut self, ms: u64, future: F) -> Result<F::Output, TimedOut>;
}

/// Never times out (host tests, or when the transport has its own timeouts).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTimer;

impl Timer for NoTimer {
    async fn with_timeout<F: Future>(&mut self, _ms: u64, future: F) -> Result<F::Output, TimedOut> {
        Ok(future.await)
    }
}

/// Timeouts from `embassy-time`.
#[cfg(feature = "embassy-time")]
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbassyTimer;

#[cfg(feature = "embassy-time")]
impl Timer for EmbassyTimer {
    async fn with_timeout<F: Future>(&mut self, ms: u64, future: F) -> Result<F::Output, TimedOut> {
        embassy_time::with_timeout(embassy_time::Duration::from_millis(ms), future).await.map_err(|_| TimedOut)
    }
}

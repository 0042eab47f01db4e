//! The [`Timer`] trait.

use core::future::Future;
use core::time::Duration;

/// Something that can sleep: makes a future that completes after `duration`.
///
/// Implemented for every `Fn(Duration) -> impl Future<Output = ()>`:
///
/// ```
/// use async_patterns::time::Timer;
/// use std::time::Duration;
///
/// let tokio_timer = |d: Duration| tokio::time::sleep(d);
/// # let _ = &tokio_timer;
/// fn takes_timer(_: &impl Timer) {}
/// takes_timer(&tokio_timer);
/// ```
pub trait Timer {
    /// The future of one sleep.
    type Sleep: Future<Output = ()>;

    /// A future that completes once `duration` has passed.
    fn sleep(&self, duration: Duration) -> Self::Sleep;
}

impl<F, S> Timer for F
where
    F: Fn(Duration) -> S,
    S: Future<Output = ()>,
{
    type Sleep = S;

    fn sleep(&self, duration: Duration) -> S {
        self(duration)
    }
}

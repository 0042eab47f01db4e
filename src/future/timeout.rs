//! [`timeout`]: a future with a deadline, on any [`Timer`].

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;

use crate::time::Timer;

/// Runs `future` for at most `duration` of `timer`'s time: `Ok(output)` if it
/// finished first, `Err(Elapsed)` if the time ran out (the future is dropped with
/// the `Timeout`). asyncio's `wait_for` and `timeout`.
///
/// The future is polled before the timer, so one that is ready at the deadline
/// still counts as finished.
///
/// # Errors
///
/// The output is `Err(Elapsed)` when `duration` passed before `future` finished.
///
/// ```
/// use async_patterns::future::{timeout, Elapsed};
/// use std::time::Duration;
///
/// # futures_lite::future::block_on(async {
/// // Any `Fn(Duration) -> impl Future<Output = ()>` is a timer; here one whose
/// // sleeps end at once, and one whose sleeps never end.
/// let instant = |_: Duration| async {};
/// let never = |_: Duration| std::future::pending::<()>();
/// let slow = std::future::pending::<u8>();
/// assert_eq!(timeout(&instant, Duration::from_secs(1), slow).await, Err(Elapsed));
/// assert_eq!(timeout(&never, Duration::from_secs(1), async { 7 }).await, Ok(7));
/// # });
/// ```
///
/// # Cancel safety
///
/// Dropping it drops the future and the sleep.
pub fn timeout<T, F>(timer: &T, duration: Duration, future: F) -> Timeout<F, T::Sleep>
where
    T: Timer + ?Sized,
    F: Future,
{
    Timeout {
        future,
        sleep: timer.sleep(duration),
    }
}

pin_project! {
    /// Future of [`timeout`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the future and the sleep.
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F, S> {
        #[pin]
        future: F,
        #[pin]
        sleep: S,
    }
}

impl<F: Future, S: Future<Output = ()>> Future for Timeout<F, S> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        this.sleep.poll(cx).map(|()| Err(Elapsed))
    }
}

impl<F, S> fmt::Debug for Timeout<F, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout").finish_non_exhaustive()
    }
}

/// The error of [`timeout`]: the time ran out first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline elapsed")
    }
}

impl core::error::Error for Elapsed {}

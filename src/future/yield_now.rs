//! [`yield_now`]: let the other tasks run (asyncio's `sleep(0)`).

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// Yields to the executor once: the first poll wakes the task and returns
/// `Pending`, the second returns `Ready` (asyncio's `await asyncio.sleep(0)`).
///
/// # Cancel safety
///
/// Dropping the future loses nothing: it holds nothing.
///
/// ```
/// # futures_lite::future::block_on(async {
/// async_patterns::future::yield_now().await;
/// # });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future of [`yield_now`].
///
/// # Cancel safety
///
/// Dropping it loses nothing: it holds nothing.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

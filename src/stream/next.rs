//! [`next`]: the next item of a stream, for users without `StreamExt`.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;

/// A future of the next item of `stream` (`None` once it ended): asyncio's
/// `anext`, and `async for` as a `while let` loop. A stream that is not `Unpin`
/// (such as a [`generate`](super::generate)d one) is pinned first, e.g. with
/// `std::pin::pin!`.
///
/// ```
/// use async_patterns::stream::{iter, next};
///
/// # futures_lite::future::block_on(async {
/// let mut numbers = iter([1, 2, 3]);
/// let mut sum = 0;
/// while let Some(n) = next(&mut numbers).await {
///     sum += n;
/// }
/// assert_eq!(sum, 6);
/// # });
/// ```
///
/// # Cancel safety
///
/// Dropping it loses nothing: an item is only taken from the stream when it is
/// returned.
pub fn next<S: Stream + Unpin + ?Sized>(stream: &mut S) -> Next<'_, S> {
    Next { stream }
}

/// Future of [`next`].
///
/// # Cancel safety
///
/// Dropping it loses nothing the stream handed out (an item is only taken when
/// it is returned).
#[must_use = "futures do nothing unless polled"]
pub struct Next<'a, S: ?Sized> {
    stream: &'a mut S,
}

impl<S: Stream + Unpin + ?Sized> Future for Next<'_, S> {
    type Output = Option<S::Item>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.stream).poll_next(cx)
    }
}

impl<S: ?Sized> fmt::Debug for Next<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next").finish_non_exhaustive()
    }
}

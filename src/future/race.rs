//! [`race`]: the first of many futures to finish.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::pin_index;
use crate::sync_facade::next_seed;

/// Runs all `futures` until the first one finishes: `Some((index, output))`, with
/// `index` its position in the input; the others are dropped then (cancelled).
/// `None` at once if there are no futures (asyncio's `wait(FIRST_COMPLETED)` with
/// the rest cancelled).
///
/// Fair: each poll starts with a different future (rotating, from a start that
/// differs between calls), so a future that is always ready cannot starve the
/// others. The futures live in one allocation.
///
/// ```
/// use async_patterns::future::{race, yield_now};
///
/// # futures_lite::future::block_on(async {
/// let mirrors = [3, 1, 2].map(|hops| async move {
///     for _ in 0..hops {
///         yield_now().await;
///     }
///     hops
/// });
/// assert_eq!(race(mirrors).await, Some((1, 1))); // the second mirror won
/// # });
/// ```
///
/// # Cancel safety
///
/// Dropping it drops every future.
pub fn race<I>(futures: I) -> Race<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let futures: Box<[I::Item]> = futures.into_iter().collect();
    let start = match futures.len() {
        0 => 0,
        n => next_seed() % n,
    };
    Race {
        futures: Box::into_pin(futures),
        next: start,
    }
}

/// Future of [`race`].
///
/// # Cancel safety
///
/// Dropping it drops every future.
#[must_use = "futures do nothing unless polled"]
pub struct Race<F> {
    futures: Pin<Box<[F]>>,
    /// Index polled first next time.
    next: usize,
}

impl<F: Future> Future for Race<F> {
    type Output = Option<(usize, F::Output)>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let n = this.futures.len();
        if n == 0 {
            return Poll::Ready(None);
        }
        let start = this.next;
        this.next = if start + 1 == n { 0 } else { start + 1 };
        for k in 0..n {
            let i = if start + k >= n {
                start + k - n
            } else {
                start + k
            };
            if let Poll::Ready(output) = pin_index(&mut this.futures, i).poll(cx) {
                // The losers are dropped now, not when the `Race` is.
                this.futures = Box::into_pin(Vec::new().into_boxed_slice());
                return Poll::Ready(Some((i, output)));
            }
        }
        Poll::Pending
    }
}

impl<F> fmt::Debug for Race<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Race")
            .field("futures", &self.futures.len())
            .finish()
    }
}

//! [`select`]: the first of two futures of different types.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::sync_facade::next_seed;

/// One of two values: the output of [`select`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Either<L, R> {
    /// The first future finished first.
    Left(L),
    /// The second future finished first.
    Right(R),
}

impl<L, R> Either<L, R> {
    /// Whether this is `Left`.
    #[must_use]
    pub fn is_left(&self) -> bool {
        matches!(self, Self::Left(_))
    }

    /// Whether this is `Right`.
    #[must_use]
    pub fn is_right(&self) -> bool {
        matches!(self, Self::Right(_))
    }

    /// The `Left` value, if it is one.
    pub fn left(self) -> Option<L> {
        match self {
            Self::Left(l) => Some(l),
            Self::Right(_) => None,
        }
    }

    /// The `Right` value, if it is one.
    pub fn right(self) -> Option<R> {
        match self {
            Self::Left(_) => None,
            Self::Right(r) => Some(r),
        }
    }
}

impl<T> Either<T, T> {
    /// The value, whichever side it came from.
    pub fn into_inner(self) -> T {
        match self {
            Self::Left(v) | Self::Right(v) => v,
        }
    }
}

/// Runs `a` and `b` until one finishes: `Either::Left` with `a`'s output or
/// `Either::Right` with `b`'s. The other future is dropped with the `Select`.
///
/// Fair: the side polled first alternates from poll to poll, and fresh `select`s
/// (say, one per loop round) start on different sides, so a side that is always
/// ready does not starve the other.
///
/// ```
/// use async_patterns::future::{Either, select, yield_now};
///
/// # futures_lite::future::block_on(async {
/// let slow = async {
///     yield_now().await;
///     "slow"
/// };
/// let fast = async { 1 };
/// assert_eq!(select(slow, fast).await, Either::Right(1));
/// # });
/// ```
///
/// # Cancel safety
///
/// Dropping it drops both futures.
pub fn select<A: Future, B: Future>(a: A, b: B) -> Select<A, B> {
    Select {
        a,
        b,
        left_first: next_seed() % 2 == 0,
    }
}

pin_project! {
    /// Future of [`select`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops both futures.
    #[must_use = "futures do nothing unless polled"]
    pub struct Select<A, B> {
        #[pin]
        a: A,
        #[pin]
        b: B,
        left_first: bool,
    }
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let left_first = *this.left_first;
        *this.left_first = !left_first;
        if left_first {
            if let Poll::Ready(a) = this.a.poll(cx) {
                return Poll::Ready(Either::Left(a));
            }
            this.b.poll(cx).map(Either::Right)
        } else {
            if let Poll::Ready(b) = this.b.poll(cx) {
                return Poll::Ready(Either::Right(b));
            }
            this.a.poll(cx).map(Either::Left)
        }
    }
}

impl<A, B> fmt::Debug for Select<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select").finish_non_exhaustive()
    }
}

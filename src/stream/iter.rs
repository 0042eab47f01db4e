//! [`iter`]: an iterator as a stream that lets other tasks run between items.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;
use futures_core::stream::FusedStream;

/// A stream of the items of `iterable` that yields to the executor between items
/// (the first item comes at once, each next one after a wake-up), so a long
/// iteration inside a task does not keep the other tasks from running: the loop
/// with `await asyncio.sleep(0)` in it. Once the iterator returned `None`, the
/// stream drops it and returns `None` from then on.
///
/// ```
/// use async_patterns::stream::{iter, next};
///
/// # futures_lite::future::block_on(async {
/// let mut letters = iter("abc".chars());
/// assert_eq!(next(&mut letters).await, Some('a'));
/// assert_eq!(next(&mut letters).await, Some('b'));
/// # });
/// ```
///
/// # Cancel safety
///
/// A dropped `next()` on the stream loses nothing; dropping the stream drops the
/// iterator with the items it has not yielded (see [`Iter`]).
pub fn iter<I: IntoIterator>(iterable: I) -> Iter<I::IntoIter> {
    Iter {
        iter: Some(iterable.into_iter()),
        yield_first: false,
    }
}

/// Stream of [`iter`].
///
/// # Cancel safety
///
/// A `next()` on it that is dropped loses nothing: an item is taken from the
/// iterator only to be returned at once. Dropping the stream drops the iterator
/// with the items it has not yielded yet.
#[must_use = "streams do nothing unless polled"]
pub struct Iter<I> {
    /// `None` once the iterator ended.
    iter: Option<I>,
    /// The previous poll returned an item: yield before the next one.
    yield_first: bool,
}

impl<I> Unpin for Iter<I> {}

impl<I: Iterator> Stream for Iter<I> {
    type Item = I::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<I::Item>> {
        if self.yield_first {
            self.yield_first = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let item = self.iter.as_mut().and_then(Iterator::next);
        self.yield_first = item.is_some();
        if item.is_none() {
            self.iter = None;
        }
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.as_ref().map_or((0, Some(0)), Iterator::size_hint)
    }
}

/// Ended once the iterator returned `None`.
impl<I: Iterator> FusedStream for Iter<I> {
    fn is_terminated(&self) -> bool {
        self.iter.is_none()
    }
}

impl<I> fmt::Debug for Iter<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

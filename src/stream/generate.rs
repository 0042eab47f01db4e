//! [`generate`] and [`try_generate`]: async generators.

use core::fmt;
use core::future::Future;
use core::mem::MaybeUninit;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::sync_facade::{Arc, AtomicBool, Ordering, UnsafeCell};

/// The one-item hand-over between an [`Emitter`] (the only putter: it is not
/// `Clone`, and `emit` takes `&mut self`) and its stream (the only taker). `full`
/// says who may touch `item`: the putter while it is `false`, the taker while it is
/// `true`; each hands over with a release store that the other acquires. So the
/// slot is sound even if the emitter is moved to another thread, and costs no lock.
///
/// Why `unsafe` here: the same slot as a `Mutex<Option<T>>` (no unsafe code) made a
/// 1 000 000-item stream take 16.5-24.8 ms against 5.2 ms for this one (a scratch
/// binary, 5 rounds, async-stream 4.6-8.7 ms in the same rounds). The slot's tests
/// run under Miri and its hand-over is a loom model.
///
/// `full` is also the item's tag: `item` holds a value exactly while it is `true`
/// (an `Option` there cost two more stores per item, measured in the bench).
struct Slot<T> {
    full: AtomicBool,
    item: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: `item` is reached by one side at a time, as `full` says (see above), and
// the value moves between threads only when `T: Send`.
unsafe impl<T: Send> Send for Slot<T> {}
// SAFETY: as above: shared access never touches `item` from two sides at once.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    fn new() -> Self {
        Self {
            full: AtomicBool::new(false),
            item: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Puts `item` if the slot is empty; gives it back otherwise.
    fn put(&self, item: T) -> Result<(), T> {
        if self.full.load(Ordering::Acquire) {
            return Err(item);
        }
        // SAFETY: the slot is empty, so the taker leaves `item` alone until the
        // store below; the putter is unique (`&mut Emitter`). An empty slot holds no
        // value, so nothing is overwritten.
        self.item.with_mut(|p| unsafe { (*p).write(item) });
        self.full.store(true, Ordering::Release);
        Ok(())
    }

    /// Takes the item if there is one.
    fn take(&self) -> Option<T> {
        if !self.full.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: the slot is full, so the putter leaves `item` alone until the
        // store below, and `item` holds a value; the taker is unique (`Pin<&mut>`
        // of the stream). Clearing `full` marks the value as moved out.
        let item = self.item.with_mut(|p| unsafe { (*p).assume_init_read() });
        self.full.store(false, Ordering::Release);
        Some(item)
    }
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        // `take` drops an item left in the slot; `&mut self`: no other side.
        drop(self.take());
    }
}

/// The generator body's handle for yielding items; see [`generate`].
pub struct Emitter<T> {
    slot: Arc<Slot<T>>,
}

impl<T> Emitter<T> {
    /// Hands `item` to the stream's consumer (asyncio's `yield item`); completes
    /// when the item has been taken, i.e. when the consumer asks for the next one.
    ///
    /// Call it from the generator body only: the body runs when the stream is
    /// polled, which is also what completes `emit`. (Precisely: an emit completes
    /// at its first poll after the one that handed its item over, and the body is
    /// polled again only after the stream took the item. An emit polled twice in
    /// one run of the body, as in a `select` loop whose other branch is ready at
    /// once, completes with its item still in the slot; the item comes out when
    /// the body pauses, before any later emit's.)
    ///
    /// # Cancel safety
    ///
    /// An emit hands its item over at its first poll, into a one-item slot that the
    /// stream empties each time the body pauses. Dropped after that, the item still
    /// comes out of the stream; dropped before its first poll, the item is dropped
    /// with it. One edge: an emit first polled while an earlier item still waits in
    /// the slot (handed over in the same run of the body by an emit that was then
    /// dropped or completed, as in a `select` loop) keeps its item until a later
    /// poll, and drops it if dropped before that.
    pub fn emit(&mut self, item: T) -> Emit<'_, T> {
        Emit {
            slot: &self.slot,
            item: Some(item),
        }
    }
}

impl<T> fmt::Debug for Emitter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emitter").finish_non_exhaustive()
    }
}

/// Future of [`Emitter::emit`].
#[must_use = "futures do nothing unless polled; an item is emitted only by awaiting"]
pub struct Emit<'a, T> {
    slot: &'a Slot<T>,
    item: Option<T>,
}

impl<T> Unpin for Emit<'_, T> {}

impl<T> Future for Emit<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if let Some(item) = self.item.take() {
            // Pending either way: the stream takes the item out after this poll and
            // polls the body again when the next item is wanted.
            if let Err(item) = self.slot.put(item) {
                self.item = Some(item);
            }
            return Poll::Pending;
        }
        // Handed over at an earlier poll: the stream has taken the item since (it
        // empties the slot each time the body pauses), unless this emit is polled
        // twice in one run of the body (see `Emitter::emit`). Checking the slot here
        // too cost about a quarter of generate's time per item (benches/README.md).
        Poll::Ready(())
    }
}

impl<T> fmt::Debug for Emit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emit")
            .field("handed_over", &self.item.is_none())
            .finish()
    }
}

/// An async generator: a stream of the items `body` emits (asyncio's `async def`
/// with `yield`).
///
/// `body` gets an [`Emitter`] and returns the future that produces the items with
/// `emitter.emit(item).await`. The body runs only while the stream is polled: it
/// starts at the first poll, runs until it emits an item, and continues when the
/// next item is asked for. (`body` itself is called at once, by `generate`, to
/// build that future: keep the work inside its `async` block.) The stream ends
/// when the body returns. Dropping the stream drops the body wherever it stands
/// (its `Drop` cleanup runs). No item is boxed and no lock is taken per item.
///
/// ```
/// use async_patterns::stream::{generate, next};
///
/// # futures_lite::future::block_on(async {
/// // async def async_range(n):
/// //     for i in range(n):
/// //         yield i
/// let async_range = |n: u32| generate(move |mut out| async move {
///     for i in 0..n {
///         out.emit(i).await;
///     }
/// });
/// let mut squares = Vec::new(); // [i * i async for i in async_range(4)]
/// let mut numbers = std::pin::pin!(async_range(4)); // `next` needs `Unpin`
/// while let Some(i) = next(&mut numbers).await {
///     squares.push(i * i);
/// }
/// assert_eq!(squares, [0, 1, 4, 9]);
/// # });
/// ```
pub fn generate<T, F, Fut>(body: F) -> Generate<T, Fut>
where
    F: FnOnce(Emitter<T>) -> Fut,
    Fut: Future<Output = ()>,
{
    let slot = Arc::new(Slot::new());
    let body = body(Emitter {
        slot: Arc::clone(&slot),
    });
    Generate {
        slot,
        body,
        done: false,
    }
}

pin_project! {
    /// Stream of [`generate`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the stream drops the body wherever it stands (its `Drop` cleanup
    /// runs), and with it every item not yet returned. A `next()` on it that is
    /// dropped loses nothing: a poll takes an item out of the slot only to return
    /// it at once, so an item not yet returned stays with the stream.
    #[must_use = "streams do nothing unless polled"]
    pub struct Generate<T, Fut> {
        slot: Arc<Slot<T>>,
        #[pin]
        body: Fut,
        done: bool,
    }
}

impl<T, Fut: Future<Output = ()>> Stream for Generate<T, Fut> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.project();
        if !*this.done {
            if this.body.poll(cx).is_pending() {
                return match this.slot.take() {
                    Some(item) => Poll::Ready(Some(item)),
                    None => Poll::Pending,
                };
            }
            *this.done = true;
        }
        // An item handed over by an `emit` that was then dropped still comes out.
        Poll::Ready(this.slot.take())
    }
}

impl<T, Fut> fmt::Debug for Generate<T, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generate")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// An async generator that can fail: items are `Ok(item)`, and an error returned
/// by `body` comes out as a last `Err(error)` before the stream ends.
///
/// ```
/// use async_patterns::stream::{next, try_generate};
///
/// # futures_lite::future::block_on(async {
/// let mut lines = std::pin::pin!(try_generate(|mut out| async move {
///     out.emit("header").await;
///     Err("disk error")?;
///     out.emit("never").await;
///     Ok(())
/// }));
/// assert_eq!(next(&mut lines).await, Some(Ok("header")));
/// assert_eq!(next(&mut lines).await, Some(Err("disk error")));
/// assert_eq!(next(&mut lines).await, None);
/// # });
/// ```
pub fn try_generate<T, E, F, Fut>(body: F) -> TryGenerate<T, E, Fut>
where
    F: FnOnce(Emitter<T>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let slot = Arc::new(Slot::new());
    let body = body(Emitter {
        slot: Arc::clone(&slot),
    });
    TryGenerate {
        slot,
        body,
        done: false,
        error: None,
    }
}

pin_project! {
    /// Stream of [`try_generate`].
    ///
    /// # Cancel safety
    ///
    /// As for [`Generate`]: dropping the stream drops the body wherever it stands,
    /// and with it every item not yet returned. A `next()` on it that is dropped
    /// loses nothing: an item or the error is taken out only to be returned at
    /// once, so what was not returned stays with the stream.
    #[must_use = "streams do nothing unless polled"]
    pub struct TryGenerate<T, E, Fut> {
        slot: Arc<Slot<T>>,
        #[pin]
        body: Fut,
        done: bool,
        error: Option<E>,
    }
}

impl<T, E, Fut: Future<Output = Result<(), E>>> Stream for TryGenerate<T, E, Fut> {
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T, E>>> {
        let this = self.project();
        if !*this.done {
            match this.body.poll(cx) {
                Poll::Pending => {
                    return match this.slot.take() {
                        Some(item) => Poll::Ready(Some(Ok(item))),
                        None => Poll::Pending,
                    };
                }
                Poll::Ready(result) => {
                    *this.done = true;
                    *this.error = result.err();
                }
            }
        }
        if let Some(item) = this.slot.take() {
            return Poll::Ready(Some(Ok(item)));
        }
        Poll::Ready(this.error.take().map(Err))
    }
}

impl<T, E, Fut> fmt::Debug for TryGenerate<T, E, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGenerate")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

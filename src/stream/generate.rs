//! [`generate`] and [`try_generate`]: async generators.

use core::fmt;
use core::future::Future;
use core::mem::MaybeUninit;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use futures_core::Stream;
use futures_core::stream::FusedStream;
use pin_project_lite::pin_project;

use crate::sync_facade::{Arc, AtomicU8, AtomicUsize, Ordering, UnsafeCell};

/// The one-item hand-over between an [`Emitter`] (the only putter: it is not
/// `Clone`, and `emit` takes `&mut self`) and its stream (the only taker). `state`
/// says who may touch `item` and `parked`: the putter while it is [`EMPTY`], the
/// taker otherwise; each hands over with a release store that the other acquires.
/// So the slot is sound even if the emitter is moved to another thread, and costs
/// no lock.
///
/// Why `unsafe` here: the same slot as a `Mutex<Option<T>>` (no unsafe code) made a
/// 1 000 000-item stream take 16.5-24.8 ms against 5.2 ms for this one (a scratch
/// binary, 5 rounds, async-stream 4.6-8.7 ms in the same rounds). The slot's tests
/// run under Miri and its hand-over is a loom model.
///
/// `state` is also the item's tag: `item` holds a value exactly while it is not
/// [`EMPTY`] (an `Option` there cost two more stores per item, measured in the
/// bench), and `parked` holds a waker exactly while it is [`FULL_PARKED`]: that of
/// an `Emit` polled inside a combinator with wakers of its own, which polls again
/// only what woke; the stream wakes it when it takes the item. `poller` tells such
/// an `Emit` apart: it is the address of the `Waker` the stream polls the body
/// with (noted at each poll), and a nested `Emit` is polled with another one.
struct Slot<T> {
    state: AtomicU8,
    poller: AtomicUsize,
    item: UnsafeCell<MaybeUninit<T>>,
    parked: UnsafeCell<MaybeUninit<Waker>>,
}

/// [`Slot::state`]: no item.
const EMPTY: u8 = 0;
/// [`Slot::state`]: an item.
const FULL: u8 = 1;
/// [`Slot::state`]: an item, and the waker of the `Emit` that put it.
const FULL_PARKED: u8 = 2;

// SAFETY: `item` and `parked` are reached by one side at a time, as `state` says
// (see above), and the item moves between threads only when `T: Send` (a `Waker`
// is `Send`).
unsafe impl<T: Send> Send for Slot<T> {}
// SAFETY: as above: shared access never touches `item` or `parked` from two sides
// at once.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    fn new() -> Self {
        Self {
            state: AtomicU8::new(EMPTY),
            poller: AtomicUsize::new(0),
            item: UnsafeCell::new(MaybeUninit::uninit()),
            parked: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Puts `item` if the slot is empty; gives it back otherwise.
    #[inline]
    fn put(&self, item: T) -> Result<(), T> {
        if self.state.load(Ordering::Acquire) != EMPTY {
            return Err(item);
        }
        // SAFETY: the slot is empty, so the taker leaves `item` alone until the
        // store below; the putter is unique (`&mut Emitter`). An empty slot holds
        // no value, so nothing is overwritten.
        self.item.with_mut(|p| unsafe { (*p).write(item) });
        self.state.store(FULL, Ordering::Release);
        Ok(())
    }

    /// As [`put`](Self::put), with a clone of `waker` to wake when the item is
    /// taken (for an `Emit` polled inside a combinator). Out of line, as is every
    /// path of the nested case: a `poll_next` small enough to be inlined into the
    /// consumer's loop is what makes the common case fast (benches/README.md,
    /// "`generate` after the nested-emit fix").
    #[cold]
    #[inline(never)]
    fn put_parked(&self, item: T, waker: &Waker) -> Result<(), T> {
        if self.state.load(Ordering::Acquire) != EMPTY {
            return Err(item);
        }
        let waker = waker.clone(); // before the item goes in: it may panic
        // SAFETY: as in `put`, for `parked` too (empty: it holds no waker).
        self.item.with_mut(|p| unsafe { (*p).write(item) });
        self.parked.with_mut(|p| unsafe { (*p).write(waker) });
        self.state.store(FULL_PARKED, Ordering::Release);
        Ok(())
    }

    /// Whether no item is in the slot.
    fn is_empty(&self) -> bool {
        self.state.load(Ordering::Acquire) == EMPTY
    }

    /// Notes the waker the stream polls the body with, before it does.
    #[inline]
    fn polling_with(&self, waker: &Waker) {
        self.poller.store(address(waker), Ordering::Relaxed);
    }

    /// Whether `waker` is the one the stream polls the body with.
    #[inline]
    fn polled_by_stream(&self, waker: &Waker) -> bool {
        self.poller.load(Ordering::Relaxed) == address(waker)
    }

    /// Takes the item if there is one (and wakes the `Emit` parked with it).
    #[inline]
    fn take(&self) -> Option<T> {
        let state = self.state.load(Ordering::Acquire);
        if state == EMPTY {
            return None;
        }
        // SAFETY: the slot is full, so the putter leaves `item` alone until the
        // slot is emptied below, and `item` holds a value; the taker is unique
        // (`Pin<&mut>` of the stream, or `&mut` in `drop`). Emptying the slot
        // marks the value as moved out.
        let item = self.item.with_mut(|p| unsafe { (*p).assume_init_read() });
        if state == FULL_PARKED {
            self.empty_parked_and_wake();
        } else {
            self.state.store(EMPTY, Ordering::Release);
        }
        Some(item)
    }

    /// Empties a slot in state [`FULL_PARKED`] whose item was taken, and wakes
    /// the parked waker.
    #[cold]
    #[inline(never)]
    fn empty_parked_and_wake(&self) {
        // SAFETY: as in `take`: the slot is still full, and in this state `parked`
        // holds a waker.
        let waker = self.parked.with_mut(|p| unsafe { (*p).assume_init_read() });
        self.state.store(EMPTY, Ordering::Release);
        waker.wake();
    }
}

/// The nested `Emit`'s wake when it finds the slot full, out of line.
#[cold]
#[inline(never)]
fn wake_now(waker: &Waker) {
    waker.wake_by_ref();
}

/// Which `Waker` this is, for as long as it lives: its address.
#[inline]
fn address(waker: &Waker) -> usize {
    core::ptr::from_ref(waker) as usize
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        // `&mut self`: no other side. An item left in the slot is dropped, and
        // the waker parked with it (nobody waits for a stream that is gone).
        let state = self.state.load(Ordering::Acquire);
        // SAFETY: `parked` holds a waker in this state, and `item` a value in
        // every state but `EMPTY`. The waker first: an item whose `Drop` panics
        // leaks nothing else.
        if state == FULL_PARKED {
            self.parked.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
        if state != EMPTY {
            self.item.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
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
    /// the body pauses, before any later emit's.) An emit may also be awaited
    /// inside a combinator in the body, even one that polls again only the
    /// futures that woke (a [`TaskSet`](crate::task::TaskSet), `FuturesUnordered`):
    /// polled with a waker other than the stream's, it leaves that waker with its
    /// item, and the stream wakes it when it takes the item, so the combinator
    /// polls the emit again when the body next runs (and the emit completes then,
    /// as it does in the body itself).
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

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(item) = self.item.take() {
            // Pending either way: the stream takes the item out after this poll and
            // polls the body again when the next item is wanted. Polled through a
            // combinator with wakers of its own (a `TaskSet`, `FuturesUnordered`),
            // which polls again only what woke, this emit has the stream wake it
            // when the item is taken.
            let nested = !self.slot.polled_by_stream(cx.waker());
            let put = if nested {
                self.slot.put_parked(item, cx.waker())
            } else {
                self.slot.put(item)
            };
            if let Err(item) = put {
                self.item = Some(item);
                // An earlier item is still in the slot (see `Emitter::emit`): a
                // nested emit asks to be polled again at once.
                if nested {
                    wake_now(cx.waker());
                }
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
///
/// # Cancel safety
///
/// Dropping the stream drops the body wherever it stands; a dropped `next()` on
/// it loses nothing (see [`Generate`]).
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

    // Inlined into the consumer's loop, the body's state stays where the loop
    // works on it; the nested case grew the function past where the compiler did
    // so on its own (benches/README.md).
    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.project();
        if !*this.done {
            this.slot.polling_with(cx.waker());
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

/// Ended once the body returned and its last item went out. (An [`Emitter`]
/// smuggled out of the body and used after that, against the advice on
/// [`emit`](Emitter::emit), can still put an item in, which the next poll returns.)
impl<T, Fut: Future<Output = ()>> FusedStream for Generate<T, Fut> {
    fn is_terminated(&self) -> bool {
        self.done && self.slot.is_empty()
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
///
/// # Cancel safety
///
/// Dropping the stream drops the body wherever it stands; a dropped `next()` on
/// it loses nothing (see [`TryGenerate`]).
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
            this.slot.polling_with(cx.waker());
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

/// Ended once the body returned and its last item (or its error) went out (with
/// the same caveat as [`Generate`]'s: an emitter used outside the body).
impl<T, E, Fut: Future<Output = Result<(), E>>> FusedStream for TryGenerate<T, E, Fut> {
    fn is_terminated(&self) -> bool {
        self.done && self.slot.is_empty() && self.error.is_none()
    }
}

impl<T, E, Fut> fmt::Debug for TryGenerate<T, E, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGenerate")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

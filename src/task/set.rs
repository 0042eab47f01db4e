//! [`TaskSet`]: an owner-driven set of futures that polls only the ones that woke.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::sync::waiters::{store_waker, with_stale};
use crate::sync_facade::{AtomicBool, BlockingMutex, Ordering, WakerArc};

/// How many futures one poll of the set polls without an output before it yields
/// to the executor (it wakes itself, so nothing is lost): a future that wakes itself
/// every time cannot keep the set's owner from returning.
const POLL_BUDGET: usize = 32;

/// A set of futures of one type, driven by its owner: asyncio's `wait` and the
/// structured half of its task groups.
///
/// [`push`](Self::push) adds a future; [`join_next`](Self::join_next) runs them all
/// until one finishes and returns its output, the others staying in the set. The
/// futures run inside the owner's task (no executor needed; use
/// [`BackgroundTasks`](super::BackgroundTasks) for tasks of their own), concurrently
/// but not in parallel. Dropping the set, or [`cancel_all`](Self::cancel_all), drops
/// every future still in it, which cancels them.
///
/// Each future gets its own waker: a wake queues that future only, so one
/// completion costs the same whatever the size of the set (like `futures`'
/// `FuturesUnordered`). Futures of different types go in as
/// `Pin<Box<dyn Future<Output = T> + Send>>`. New futures are polled before the
/// ones that woke, but at most 32 in a row while one waits: a loop that pushes a
/// future for each output cannot starve a future that woke.
///
/// # Implementation note
///
/// The futures are stored in place, pinned in chunks of 32 entries, and the wakers of a
/// chunk share one allocation (a waker is a pointer to it tagged with the entry's
/// place). So `push` allocates only when it opens a new chunk, every 32 futures: two
/// allocations, the entries and their wakers (the two lists of chunks also grow now
/// and then). A freed entry is reused. Polling builds the waker without touching a
/// reference count. This is the crate's most `unsafe` code; its tests run under Miri
/// and its wake path is a loom model. A wake takes a short lock (a spin lock, which
/// yields to the OS after a short spin with `std`): on `no_std`, don't wake a set's
/// futures from an interrupt handler that may preempt the set's owner on the same
/// core.
///
/// A future that panics while polled leaves the set: it is dropped as the panic
/// goes on to the caller of `join_next`, and the set stays usable (if its `Drop`
/// panics too, that is a panic during a panic, which aborts, as with
/// `FuturesUnordered`).
///
/// # asyncio.wait
///
/// `FIRST_COMPLETED`: take the first output, keep the rest running.
///
/// ```
/// use async_patterns::future::yield_now;
/// use async_patterns::task::TaskSet;
///
/// # futures_lite::future::block_on(async {
/// let mut set = TaskSet::new();
/// for n in [3, 1, 2] {
///     set.push(async move {
///         for _ in 0..n {
///             yield_now().await;
///         }
///         n
///     });
/// }
/// assert_eq!(set.join_next().await, Some(1)); // the quickest
/// assert_eq!(set.len(), 2); // the others are still running
/// # });
/// ```
///
/// `FIRST_EXCEPTION`: stop at the first error, cancelling the rest.
///
/// ```
/// use async_patterns::task::TaskSet;
///
/// # futures_lite::future::block_on(async {
/// let mut set: TaskSet<_> = (0..5)
///     .map(|n| async move { if n == 3 { Err(n) } else { Ok(n) } })
///     .collect();
/// let mut done = Vec::new();
/// while let Some(result) = set.join_next().await {
///     match result {
///         Ok(n) => done.push(n),
///         Err(failed) => {
///             set.cancel_all(); // the remaining futures are dropped
///             assert_eq!(failed, 3);
///             break;
///         }
///     }
/// }
/// assert!(set.is_empty());
/// # });
/// ```
///
/// `ALL_COMPLETED`: every output, in the order they finished.
///
/// ```
/// use async_patterns::task::TaskSet;
///
/// # futures_lite::future::block_on(async {
/// let mut set: TaskSet<_> = (1..=3).map(|n| async move { n * 10 }).collect();
/// let mut all = set.join_all().await;
/// all.sort();
/// assert_eq!(all, [10, 20, 30]);
/// # });
/// ```
pub struct TaskSet<F> {
    /// The entries, in chunks of [`CHUNK`] that never move: a future lives pinned
    /// in its entry (no allocation of its own), and a freed entry is reused with
    /// its waker.
    chunks: Vec<Pin<Box<[Entry<F>]>>>,
    /// The wakers' side of each chunk: one allocation per [`CHUNK`] entries.
    nodes: Vec<WakerArc<Nodes>>,
    /// Entries in use or freed (the next new entry's index).
    entries: usize,
    /// Head of the list of free entries, linked through `Meta::next`.
    free: usize,
    /// Futures in the set.
    len: usize,
    /// The id the next `push` returns.
    next_id: usize,
    /// Entries queued by the owner itself (new futures), linked through
    /// `Meta::next` (an entry is never free and queued at once).
    local_head: usize,
    local_tail: usize,
    /// Entries taken from the local queue since the woken ones were last looked
    /// at: at [`LOCAL_RUN`], they are, so a stream of new futures that finish at
    /// once cannot starve a future that woke.
    local_run: usize,
    /// Entries woken by wakers, taken from `ready` in one swap, and how far they
    /// have been polled.
    woken: Vec<usize>,
    woken_at: usize,
    /// Entries queued by wakers, and the owner's waker.
    ready: WakerArc<Ready>,
}

/// How many new futures are polled in a row, at most, while futures that woke
/// wait (see [`TaskSet::local_run`]).
const LOCAL_RUN: usize = 32;

/// Entries per chunk.
const CHUNK: usize = 32;
/// No entry.
const NONE: usize = usize::MAX;

struct Entry<F> {
    /// Structurally pinned: only reached through [`TaskSet::entry`].
    cell: Cell<F>,
    meta: Meta,
}

pin_project! {
    #[project = CellProj]
    enum Cell<F> {
        Empty,
        Running { #[pin] future: F },
    }
}

struct Meta {
    id: usize,
    /// The next entry of the free list or of the local queue.
    next: usize,
    /// In the local queue: a woken index of the entry is stale (a wake of the
    /// future that had it before), and the entry is polled from that queue.
    local: bool,
}

/// What the wakers of one chunk's futures point at: a waker is a pointer to this
/// (an `Arc`, which each cloned waker holds a count of) tagged with the entry's
/// place in the chunk, so an entry needs no allocation of its own.
#[repr(align(64))]
struct Nodes {
    /// Index of the chunk's first entry.
    base: usize,
    /// Entry `base + i` is in a ready queue (or about to be): a wake adds nothing.
    queued: [AtomicBool; CHUNK],
    ready: WakerArc<Ready>,
}

// The tag (an entry's place in its chunk) lives in the pointer's low bits.
const _: () = assert!(CHUNK <= core::mem::align_of::<Nodes>());

impl Nodes {
    fn wake(&self, i: usize) {
        if self.queued[i].swap(true, Ordering::AcqRel) {
            return;
        }
        let owner = self.ready.state.with(|state| {
            state.indices.push(self.base + i);
            state.owner.take()
        });
        if let Some(owner) = owner {
            owner.wake();
        }
    }

    /// A waker of entry `base + i` that borrows `nodes`' count: it is never
    /// dropped (hence `ManuallyDrop`), and a clone of it takes a count of its own.
    fn waker(nodes: &WakerArc<Nodes>, i: usize) -> ManuallyDrop<Waker> {
        let tagged = WakerArc::as_ptr(nodes)
            .map_addr(|addr| addr | i)
            .cast::<()>();
        // SAFETY: `tagged` is an `Arc<Nodes>` pointer tagged with `i < CHUNK`, as
        // the vtable expects, and `nodes` outlives the borrowed waker.
        ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(tagged, &VTABLE)) })
    }
}

/// Splits a waker's data pointer into its `Nodes` and the entry's place.
fn untag(data: *const ()) -> (*const Nodes, usize) {
    let i = data.addr() & (CHUNK - 1);
    (data.map_addr(|addr| addr & !(CHUNK - 1)).cast::<Nodes>(), i)
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_raw, wake_raw, wake_by_ref_raw, drop_raw);

// The four functions below get a `data` made by `Nodes::waker` or `clone_raw`: a
// tagged pointer to a live `Arc<Nodes>` allocation, of which every waker made by
// `clone_raw` holds one strong count (the borrowed waker of a poll holds none and
// is never dropped or woken by value).

/// # Safety
/// `data` as described above.
unsafe fn clone_raw(data: *const ()) -> RawWaker {
    // SAFETY: the allocation is alive (the caller's waker keeps it); the new waker
    // takes a count of its own.
    unsafe { WakerArc::increment_strong_count(untag(data).0) };
    RawWaker::new(data, &VTABLE)
}

/// # Safety
/// `data` as described above, of a waker holding a count.
unsafe fn wake_raw(data: *const ()) {
    // SAFETY: the waker is alive during the wake; its count is released after.
    unsafe {
        wake_by_ref_raw(data);
        drop_raw(data);
    }
}

/// # Safety
/// `data` as described above.
unsafe fn wake_by_ref_raw(data: *const ()) {
    let (nodes, i) = untag(data);
    // SAFETY: the allocation is alive while the waker is.
    unsafe { (*nodes).wake(i) };
}

/// # Safety
/// `data` as described above, of a waker holding a count.
unsafe fn drop_raw(data: *const ()) {
    // SAFETY: releases the count this waker holds.
    unsafe { WakerArc::decrement_strong_count(untag(data).0) };
}

struct Ready {
    state: BlockingMutex<ReadyState>,
}

struct ReadyState {
    indices: Vec<usize>,
    /// The set's owner, taken by the first wake after it registered.
    owner: Option<Waker>,
}

impl<F> TaskSet<F> {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self {
            chunks: Vec::new(),
            nodes: Vec::new(),
            entries: 0,
            free: NONE,
            len: 0,
            next_id: 0,
            local_head: NONE,
            local_tail: NONE,
            local_run: 0,
            woken: Vec::new(),
            woken_at: 0,
            ready: WakerArc::new(Ready {
                state: BlockingMutex::new(ReadyState {
                    indices: Vec::new(),
                    owner: None,
                }),
            }),
        }
    }

    /// Futures in the set (pushed and not finished or cancelled).
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set holds no future.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entry `index`: its pinned cell and its metadata.
    fn entry(&mut self, index: usize) -> Option<(Pin<&mut Cell<F>>, &mut Meta)> {
        Self::entry_in(&mut self.chunks, index)
    }

    /// [`entry`](Self::entry), borrowing only the chunks.
    fn entry_in(
        chunks: &mut [Pin<Box<[Entry<F>]>>],
        index: usize,
    ) -> Option<(Pin<&mut Cell<F>>, &mut Meta)> {
        let chunk = chunks.get_mut(index / CHUNK)?;
        // SAFETY: the entries of a chunk never move: chunks are boxed slices that
        // are never reallocated and are dropped whole, and a cell's value is only
        // replaced through `Pin::set`. So the cell may be pinned (it is the only
        // structurally pinned field), and `meta` is reached as a plain reference.
        let entry = unsafe { &mut chunk.as_mut().get_unchecked_mut()[index % CHUNK] };
        // SAFETY: as above; `cell` is never moved out of `entry`.
        let cell = unsafe { Pin::new_unchecked(&mut entry.cell) };
        Some((cell, &mut entry.meta))
    }

    /// Adds `future` and returns its id (the ids of one set are distinct), which
    /// [`join_next_with_id`](Self::join_next_with_id) reports with its output. The
    /// future is first polled by the next `join_next`.
    pub fn push(&mut self, future: F) -> usize {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let index = match self.free {
            NONE => {
                let index = self.entries;
                if index % CHUNK == 0 {
                    let chunk: Box<[Entry<F>]> = (0..CHUNK)
                        .map(|_| Entry {
                            cell: Cell::Empty,
                            meta: Meta {
                                id: 0,
                                next: NONE,
                                local: false,
                            },
                        })
                        .collect();
                    self.chunks.push(Box::into_pin(chunk));
                    self.nodes.push(WakerArc::new(Nodes {
                        base: index,
                        queued: core::array::from_fn(|_| AtomicBool::new(false)),
                        ready: WakerArc::clone(&self.ready),
                    }));
                }
                self.entries += 1;
                index
            }
            index => index,
        };
        let (mut cell, meta) = self.entry(index).expect("the entry exists");
        let next_free = meta.next;
        meta.id = id;
        meta.next = NONE;
        meta.local = true;
        cell.set(Cell::Running { future });
        self.nodes[index / CHUNK].queued[index % CHUNK].store(true, Ordering::Relaxed);
        if self.free == index {
            self.free = next_free;
        }
        // Queued locally, at the back.
        match self.local_tail {
            NONE => self.local_head = index,
            tail => self.entry(tail).expect("queued entries exist").1.next = index,
        }
        self.local_tail = index;
        self.len += 1;
        id
    }

    /// Drops every future in the set (their `Drop` runs now, in entry order) and
    /// leaves it empty and reusable.
    ///
    /// # Panics
    ///
    /// If the `Drop` of a future panics, the panic goes on to the caller; the set
    /// is left empty and reusable all the same.
    pub fn cancel_all(&mut self) {
        // Every field is reset before a future is dropped, so a `Drop` that panics
        // leaves an empty, usable set. The entries go too: a waker a dropped future
        // left somewhere may still fire, and it must find no entry (or a new one,
        // which then sees a spurious poll).
        let chunks = core::mem::take(&mut self.chunks);
        let nodes = core::mem::take(&mut self.nodes);
        self.entries = 0;
        self.free = NONE;
        self.local_head = NONE;
        self.local_tail = NONE;
        self.local_run = 0;
        self.woken.clear();
        self.woken_at = 0;
        self.len = 0;
        self.ready.state.with(|state| state.indices.clear());
        drop(nodes);
        drop(chunks);
    }

    /// A future of the next output of any future in the set, `None` if the set is
    /// empty. The finished future leaves the set.
    ///
    /// # Panics
    ///
    /// If a future of the set panics while polled, the panic goes on through this
    /// future; that future has left the set, the others stay.
    ///
    /// # Cancel safety
    ///
    /// Dropping it loses nothing: an output is only taken out of the set when it
    /// is returned.
    pub fn join_next(&mut self) -> JoinNext<'_, F> {
        JoinNext { set: self }
    }

    /// [`join_next`](Self::join_next), with the id [`push`](Self::push) returned for
    /// the future that finished.
    ///
    /// # Panics
    ///
    /// As for [`join_next`](Self::join_next): if a future of the set panics while
    /// polled, the panic goes on through this future; the set stops counting that
    /// future, the others stay.
    ///
    /// # Cancel safety
    ///
    /// As for [`join_next`](Self::join_next).
    pub fn join_next_with_id(&mut self) -> JoinNextWithId<'_, F> {
        JoinNextWithId { set: self }
    }

    /// The next entry to poll: the local queue first (up to [`LOCAL_RUN`] in a
    /// row), then the woken ones; `None` (with `owner`, if any, registered) when
    /// nothing is queued.
    fn next_queued(&mut self, owner: Option<&Waker>) -> Option<usize> {
        if self.local_head != NONE && self.local_run < LOCAL_RUN {
            self.local_run += 1;
            return Some(self.pop_local());
        }
        self.local_run = 0;
        if self.local_head == NONE {
            return self.next_woken(owner);
        }
        // The owner is registered only when nothing at all is queued.
        Some(self.next_woken(None).unwrap_or_else(|| self.pop_local()))
    }

    /// The first entry of the local queue, which is not empty.
    fn pop_local(&mut self) -> usize {
        let index = self.local_head;
        let meta = self.entry(index).expect("queued entries exist").1;
        meta.local = false;
        self.local_head = core::mem::replace(&mut meta.next, NONE);
        if self.local_head == NONE {
            self.local_tail = NONE;
        }
        index
    }

    /// The next woken entry; `None` (with `owner`, if any, registered) when none
    /// woke.
    fn next_woken(&mut self, owner: Option<&Waker>) -> Option<usize> {
        loop {
            if self.woken_at == self.woken.len() {
                self.woken.clear();
                self.woken_at = 0;
                let woken = &mut self.woken;
                let any = with_stale(&self.ready.state, |state, stale| {
                    if state.indices.is_empty() {
                        if let Some(owner) = owner {
                            store_waker(&mut state.owner, owner, stale);
                        }
                        false
                    } else {
                        core::mem::swap(woken, &mut state.indices);
                        true
                    }
                });
                if !any {
                    return None;
                }
            }
            let index = self.woken[self.woken_at];
            self.woken_at += 1;
            // Polled out of the local queue's turn, a new future could finish and
            // free its entry while still linked in that queue.
            if !self.entry(index).is_some_and(|(_, meta)| meta.local) {
                return Some(index);
            }
        }
    }
}

impl<F: Future> TaskSet<F> {
    /// A future that runs every future of the set to its end and returns the
    /// outputs in the order they finished (asyncio's `ALL_COMPLETED`).
    ///
    /// # Panics
    ///
    /// As for [`join_next`](Self::join_next): if a future of the set panics while
    /// polled, the panic goes on through this future; the set stops counting that
    /// future, the others stay.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the outputs gathered so far; the futures not finished yet
    /// stay in the set.
    pub fn join_all(&mut self) -> JoinAll<'_, F> {
        JoinAll {
            set: self,
            outputs: Vec::new(),
        }
    }

    /// Polls the futures that woke until one finishes: its id and output.
    /// `Ready(None)` when the set is empty.
    ///
    /// # Panics
    ///
    /// As for [`join_next`](Self::join_next): if a future of the set panics while
    /// polled, the panic goes on to the caller; the set stops counting that future,
    /// the others stay.
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<(usize, F::Output)>> {
        self.poll_woken(Some(cx.waker()))
    }

    /// The output of a future that finishes when polled now, without waiting:
    /// polls the futures that woke (at most 32, as one poll of
    /// [`join_next`](Self::join_next) does) and returns the first output. `None`
    /// if none of them finished or the set is empty. Unlike `join_next` it leaves
    /// no waker behind (tokio's `JoinSet::try_join_next`).
    ///
    /// # Panics
    ///
    /// As for [`join_next`](Self::join_next): if a future of the set panics while
    /// polled, the panic goes on to the caller; the set stops counting that future,
    /// the others stay.
    ///
    /// ```
    /// use async_patterns::task::TaskSet;
    /// use std::future::Future;
    /// use std::pin::Pin;
    ///
    /// let mut set: TaskSet<Pin<Box<dyn Future<Output = u8>>>> = TaskSet::new();
    /// set.push(Box::pin(std::future::pending()));
    /// assert_eq!(set.try_join_next(), None); // nothing finished yet
    /// set.push(Box::pin(async { 7 }));
    /// assert_eq!(set.try_join_next(), Some(7));
    /// assert_eq!(set.len(), 1);
    /// ```
    pub fn try_join_next(&mut self) -> Option<F::Output> {
        self.try_join_next_with_id().map(|(_, output)| output)
    }

    /// [`try_join_next`](Self::try_join_next), with the id [`push`](Self::push)
    /// returned for the future that finished.
    ///
    /// # Panics
    ///
    /// As for [`try_join_next`](Self::try_join_next).
    ///
    /// ```
    /// use async_patterns::task::TaskSet;
    /// use std::future::Ready;
    ///
    /// let mut set: TaskSet<Ready<&str>> = TaskSet::new();
    /// let id = set.push(std::future::ready("done"));
    /// assert_eq!(set.try_join_next_with_id(), Some((id, "done")));
    /// assert_eq!(set.try_join_next_with_id(), None);
    /// ```
    pub fn try_join_next_with_id(&mut self) -> Option<(usize, F::Output)> {
        match self.poll_woken(None) {
            Poll::Ready(next) => next,
            Poll::Pending => None,
        }
    }

    /// [`poll_join_next_with_id`](Self::poll_join_next_with_id), registering
    /// `owner` (if any) to be woken when a future wakes.
    fn poll_woken(&mut self, owner: Option<&Waker>) -> Poll<Option<(usize, F::Output)>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        let mut polled = 0;
        while let Some(index) = self.next_queued(owner) {
            let Some((cell, meta)) = Self::entry_in(&mut self.chunks, index) else {
                continue; // a stale wake from before `cancel_all`
            };
            if let Cell::Empty = *cell {
                continue; // a stale wake of a finished future
            }
            let nodes = &self.nodes[index / CHUNK];
            // Cleared before the poll: a wake during it queues the entry again. A
            // swap, not a store: it reads the last waker's swap, so this poll sees
            // everything written before any wake that found the entry queued.
            nodes.queued[index % CHUNK].swap(false, Ordering::AcqRel);
            let waker = Nodes::waker(nodes, index % CHUNK);
            // Out of the count while it is polled: if the poll panics, the set does
            // not wait for it any more, and `Leave` drops it and frees its entry
            // as the panic unwinds.
            self.len -= 1;
            let mut leave = Leave {
                cell,
                meta,
                index,
                free: &mut self.free,
            };
            let CellProj::Running { future } = leave.cell.as_mut().project() else {
                unreachable!("checked above");
            };
            let polled_now = future.poll(&mut Context::from_waker(&waker));
            if let Poll::Ready(output) = polled_now {
                let id = leave.meta.id;
                // `leave` frees the entry; the future's `Drop` runs last, so the
                // state is whole even if it panics.
                drop(leave);
                return Poll::Ready(Some((id, output)));
            }
            core::mem::forget(leave);
            self.len += 1;
            polled += 1;
            if polled == POLL_BUDGET {
                if let Some(owner) = owner {
                    owner.wake_by_ref();
                }
                return Poll::Pending;
            }
        }
        Poll::Pending
    }

    /// Polls the futures that woke until one finishes: its output. `Ready(None)`
    /// when the set is empty.
    ///
    /// # Panics
    ///
    /// As for [`join_next`](Self::join_next): if a future of the set panics while
    /// polled, the panic goes on to the caller; the set stops counting that future,
    /// the others stay.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        self.poll_join_next_with_id(cx)
            .map(|next| next.map(|(_, output)| output))
    }
}

/// Takes a future out of its entry when dropped: after it finished, or while a
/// panic of its poll unwinds (forgotten when it is still pending).
struct Leave<'a, F> {
    cell: Pin<&'a mut Cell<F>>,
    meta: &'a mut Meta,
    index: usize,
    free: &'a mut usize,
}

impl<F> Drop for Leave<'_, F> {
    fn drop(&mut self) {
        self.meta.next = *self.free;
        *self.free = self.index;
        self.cell.set(Cell::Empty);
    }
}

impl<F> Default for TaskSet<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F> fmt::Debug for TaskSet<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet").field("len", &self.len).finish()
    }
}

impl<F> Unpin for TaskSet<F> {}

impl<F: Future> Stream for TaskSet<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        self.get_mut().poll_join_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len, Some(self.len))
    }
}

impl<F> FromIterator<F> for TaskSet<F> {
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = Self::new();
        set.extend(iter);
        set
    }
}

impl<F> Extend<F> for TaskSet<F> {
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for future in iter {
            self.push(future);
        }
    }
}

/// Future of [`TaskSet::join_next`].
#[must_use = "futures do nothing unless polled"]
pub struct JoinNext<'a, F> {
    set: &'a mut TaskSet<F>,
}

impl<F: Future> Future for JoinNext<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().set.poll_join_next(cx)
    }
}

impl<F> fmt::Debug for JoinNext<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinNext").field("set", &self.set).finish()
    }
}

/// Future of [`TaskSet::join_next_with_id`].
#[must_use = "futures do nothing unless polled"]
pub struct JoinNextWithId<'a, F> {
    set: &'a mut TaskSet<F>,
}

impl<F: Future> Future for JoinNextWithId<'_, F> {
    type Output = Option<(usize, F::Output)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().set.poll_join_next_with_id(cx)
    }
}

impl<F> fmt::Debug for JoinNextWithId<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinNextWithId")
            .field("set", &self.set)
            .finish()
    }
}

/// Future of [`TaskSet::join_all`].
#[must_use = "futures do nothing unless polled"]
pub struct JoinAll<'a, F: Future> {
    set: &'a mut TaskSet<F>,
    outputs: Vec<F::Output>,
}

impl<F: Future> Unpin for JoinAll<'_, F> {}

impl<F: Future> Future for JoinAll<'_, F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        while let Some(output) = core::task::ready!(this.set.poll_join_next(cx)) {
            this.outputs.push(output);
        }
        Poll::Ready(core::mem::take(&mut this.outputs))
    }
}

impl<F: Future> fmt::Debug for JoinAll<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll")
            .field("set", &self.set)
            .field("done", &self.outputs.len())
            .finish()
    }
}

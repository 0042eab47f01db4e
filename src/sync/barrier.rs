//! [`Barrier`]: a cyclic meeting point for a fixed number of tasks (asyncio.Barrier).

use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use super::waiters::{Slab, WakeList, keep_stale, update_waker, with_stale};
use crate::sync_facade::{BlockingMutex, LazyBox, const_fn};

/// A cyclic barrier: asyncio's `Barrier` (Python 3.11), with withdrawal on
/// cancellation.
///
/// A round fills up with [`wait`](Self::wait)ing tasks; when the `parties`-th one
/// arrives the round *trips* and all of them go on. Then the next `parties` arrivals
/// form the next round, and so on: a task never passes a round it did not arrive in.
///
/// Each task of a round gets a distinct [`index`](BarrierWaitResult::index) in
/// `0..parties`: an arrival takes the lowest index nobody in its round holds. The
/// task with index `parties - 1` (the one whose arrival tripped the round) is the
/// [leader](BarrierWaitResult::is_leader). Indices stay distinct also when arrivals
/// are withdrawn: a withdrawn index is free again for the next arrival (asyncio can
/// hand out one index twice in that case).
///
/// [`abort`](Self::abort) breaks the barrier: the tasks waiting now and every later
/// `wait` fail with [`BrokenBarrierError`] until [`reset`](Self::reset), which fails
/// the tasks waiting now and makes the barrier empty and usable again. A round that
/// already tripped is not affected by either: all its tasks succeed.
///
/// # Implementation note
///
/// The state lives in a small block allocated on first use, behind a lock held for a
/// few instructions, never across a wake-up (a spin lock, which yields to the OS after
/// a short spin with `std`, so on `no_std` don't call `abort` or `reset` from an
/// interrupt handler that may preempt a task of the same core while it waits). Wakers
/// are cloned under the lock, and woken and dropped after it (a waker's drop may run
/// any code, even a wait on this barrier). Waiting takes a reusable slot; a round of
/// more than two tasks collects the wakers to wake in one vector when it ends.
///
/// # Examples
///
/// ```
/// use async_patterns::sync::Barrier;
/// use futures_lite::future;
///
/// # future::block_on(async {
/// let barrier = Barrier::new(3);
/// let task = |name| {
///     let barrier = &barrier;
///     async move {
///         let result = barrier.wait().await.expect("nobody aborts");
///         (name, result.index(), result.is_leader())
///     }
/// };
/// let (a, (b, c)) = future::zip(task("a"), future::zip(task("b"), task("c"))).await;
/// let mut indices = [a.1, b.1, c.1];
/// indices.sort();
/// assert_eq!(indices, [0, 1, 2]);
/// assert_eq!([a, b, c].iter().filter(|t| t.2).count(), 1);
/// # });
/// ```
pub struct Barrier {
    parties: usize,
    state: LazyBox<BlockingMutex<State>>,
}

struct State {
    /// Tasks waiting in the round that is filling now.
    arrived: usize,
    /// The lowest index never handed out in this round.
    next_index: usize,
    /// Indices below `next_index` given back by withdrawn arrivals.
    free_indices: Vec<usize>,
    broken: bool,
    /// One slot per waiting task (of the round filling now) and per task whose round
    /// ended but that has not seen it yet.
    waiters: Slab<Waiter>,
}

enum Waiter {
    Waiting(Waker),
    Passed,
    Failed,
}

impl State {
    const fn new() -> Self {
        Self {
            arrived: 0,
            next_index: 0,
            free_indices: Vec::new(),
            broken: false,
            waiters: Slab::new(),
        }
    }

    /// The smallest index nobody in this round holds. So the arrival that fills the
    /// round always gets `parties - 1`: until then the held indices are below it.
    fn take_index(&mut self) -> usize {
        let lowest = self
            .free_indices
            .iter()
            .enumerate()
            .min_by_key(|&(_, &index)| index)
            .map(|(at, _)| at);
        match lowest {
            Some(at) => self.free_indices.swap_remove(at),
            None => {
                self.next_index += 1;
                self.next_index - 1
            }
        }
    }

    /// Ends the round that is filling: its waiting tasks get `outcome`; their
    /// wakers go to `wakes`, which the caller wakes after unlocking.
    fn end_round(&mut self, outcome: fn() -> Waiter, wakes: &mut WakeList) {
        for waiter in self.waiters.iter_mut() {
            if let Waiter::Waiting(_) = waiter {
                if let Waiter::Waiting(waker) = core::mem::replace(waiter, outcome()) {
                    wakes.push(Some(waker));
                }
            }
        }
        self.arrived = 0;
        self.next_index = 0;
        self.free_indices.clear();
    }
}

impl Barrier {
    const_fn! {
        /// Creates a barrier for rounds of `parties` tasks. `Barrier::new(0)` behaves
        /// as `Barrier::new(1)` (as `std::sync::Barrier`): every `wait` passes at once
        /// as the leader. Allocates nothing, so it can be a `static`.
        ///
        /// ```
        /// use async_patterns::sync::Barrier;
        ///
        /// static START: Barrier = Barrier::new(4);
        /// assert_eq!(START.parties(), 4);
        /// assert_eq!(Barrier::new(0).parties(), 1);
        /// ```
        pub const fn new(parties: usize) -> Self {
            Self {
                parties: if parties == 0 { 1 } else { parties },
                state: LazyBox::new(),
            }
        }
    }

    /// How many tasks make up a round.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many tasks are waiting in the round that is filling now (a snapshot).
    ///
    /// ```
    /// use async_patterns::sync::Barrier;
    /// use std::pin::pin;
    /// use std::future::Future;
    /// use std::task::{Context, Waker};
    ///
    /// let barrier = Barrier::new(2);
    /// let mut first = pin!(barrier.wait());
    /// assert!(first.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    /// assert_eq!(barrier.n_waiting(), 1);
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.snapshot(|state| state.arrived).unwrap_or(0)
    }

    /// Whether the barrier is broken (by [`abort`](Self::abort)).
    pub fn is_broken(&self) -> bool {
        self.snapshot(|state| state.broken).unwrap_or(false)
    }

    /// Breaks the barrier: the tasks waiting in the round that is filling now fail
    /// with [`BrokenBarrierError`], and so does every `wait` until
    /// [`reset`](Self::reset). A round that already tripped is not affected.
    ///
    /// ```
    /// use async_patterns::sync::Barrier;
    ///
    /// # futures_lite::future::block_on(async {
    /// let barrier = Barrier::new(2);
    /// barrier.abort();
    /// assert!(barrier.is_broken());
    /// assert!(barrier.wait().await.is_err());
    /// barrier.reset();
    /// assert!(!barrier.is_broken());
    /// # });
    /// ```
    pub fn abort(&self) {
        self.fail_round(true);
    }

    /// Fails the tasks waiting in the round that is filling now with
    /// [`BrokenBarrierError`] and makes the barrier empty and usable again (also
    /// after [`abort`](Self::abort)).
    pub fn reset(&self) {
        self.fail_round(false);
    }

    /// Waits until `parties` tasks are waiting, then returns this task's place in the
    /// round.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] if the barrier is broken when the wait starts, or if
    /// it is aborted or reset before this task's round trips.
    ///
    /// # Panics
    ///
    /// The future panics if it is polled again after it completed (it would
    /// otherwise count as a new arrival).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before its round tripped withdraws the arrival:
    /// [`n_waiting`](Self::n_waiting) drops by one, the round waits for one more task,
    /// and the index is handed to the next arrival. Dropping it after its round
    /// tripped changes nothing for the others (they all pass).
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            arrival: Arrival::NotYet,
        }
    }

    /// Blocks the thread until the round trips (for synchronous code only).
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    ///
    /// ```
    /// use async_patterns::sync::Barrier;
    ///
    /// let barrier = Barrier::new(2);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| barrier.wait_blocking().unwrap());
    ///     barrier.wait_blocking().unwrap();
    /// });
    /// ```
    #[cfg(feature = "std")]
    pub fn wait_blocking(&self) -> Result<BarrierWaitResult, BrokenBarrierError> {
        crate::sync_facade::block_on(self.wait())
    }

    fn state(&self) -> &BlockingMutex<State> {
        self.state.get_or_init(|| BlockingMutex::new(State::new()))
    }

    /// Reads the state without allocating it (`None`: never used, still empty).
    fn snapshot<R>(&self, f: impl FnOnce(&mut State) -> R) -> Option<R> {
        self.state.get().map(|state| state.with(f))
    }

    fn fail_round(&self, broken: bool) {
        let mut wakes = WakeList::new();
        self.state().with(|state| {
            state.end_round(|| Waiter::Failed, &mut wakes);
            state.broken = broken;
        });
        wakes.wake();
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n_waiting, broken) = self
            .snapshot(|state| (state.arrived, state.broken))
            .unwrap_or((0, false));
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &n_waiting)
            .field("is_broken", &broken)
            .finish()
    }
}

/// What [`Barrier::wait`] returns when the round trips: the task's place in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BarrierWaitResult {
    index: usize,
    leader: bool,
}

impl BarrierWaitResult {
    /// The task's place in its round: the tasks of one round get exactly
    /// `0..parties`, each once.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether this task is the round's leader: true for exactly one task per round,
    /// the one with index `parties - 1`, whose arrival tripped the round.
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

/// The error of a [`Barrier::wait`] on a broken barrier, or one whose round was
/// aborted or reset before it tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BrokenBarrierError;

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier is broken (aborted or reset)")
    }
}

impl core::error::Error for BrokenBarrierError {}

/// The future returned by [`Barrier::wait`].
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    arrival: Arrival,
}

#[derive(Clone, Copy)]
enum Arrival {
    NotYet,
    /// Arrived and waiting: our index and our slot in the wait list.
    Waiting {
        index: usize,
        slot: usize,
    },
    Done,
}

impl Future for BarrierWait<'_> {
    type Output = Result<BarrierWaitResult, BrokenBarrierError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let barrier = this.barrier;
        let parties = barrier.parties;
        let mut wakes = WakeList::new();
        if let Arrival::Done = this.arrival {
            panic!("BarrierWait polled after completion");
        }
        let poll = with_stale(barrier.state(), |state, stale| match this.arrival {
            Arrival::Done => unreachable!("checked above"),
            Arrival::NotYet => {
                if state.broken {
                    this.arrival = Arrival::Done;
                    return Poll::Ready(Err(BrokenBarrierError));
                }
                // A waiter's waker is cloned before it is counted: a clone that
                // panics leaves the round as it was.
                let waker = (state.arrived + 1 < parties).then(|| cx.waker().clone());
                let index = state.take_index();
                state.arrived += 1;
                let Some(waker) = waker else {
                    debug_assert_eq!(index, parties - 1);
                    state.end_round(|| Waiter::Passed, &mut wakes);
                    this.arrival = Arrival::Done;
                    return Poll::Ready(Ok(BarrierWaitResult {
                        index,
                        leader: true,
                    }));
                };
                let slot = state.waiters.insert(Waiter::Waiting(waker));
                this.arrival = Arrival::Waiting { index, slot };
                Poll::Pending
            }
            Arrival::Waiting { index, slot } => match state.waiters.get_mut(slot) {
                Waiter::Waiting(waker) => {
                    update_waker(waker, cx.waker(), stale);
                    Poll::Pending
                }
                Waiter::Passed => {
                    state.waiters.remove(slot);
                    this.arrival = Arrival::Done;
                    Poll::Ready(Ok(BarrierWaitResult {
                        index,
                        leader: false,
                    }))
                }
                Waiter::Failed => {
                    state.waiters.remove(slot);
                    this.arrival = Arrival::Done;
                    Poll::Ready(Err(BrokenBarrierError))
                }
            },
        });
        wakes.wake();
        poll
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let Arrival::Waiting { index, slot } = self.arrival else {
            return;
        };
        with_stale(self.barrier.state(), |state, stale| {
            if let Waiter::Waiting(waker) = state.waiters.remove(slot) {
                keep_stale(stale, Some(waker));
                // Still in the round that is filling: withdraw.
                state.arrived -= 1;
                if index + 1 == state.next_index {
                    state.next_index -= 1;
                } else {
                    state.free_indices.push(index);
                }
            }
        });
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("waiting", &matches!(self.arrival, Arrival::Waiting { .. }))
            .finish()
    }
}

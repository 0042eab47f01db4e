//! [`Event`]: a manual-reset flag that tasks wait for (asyncio.Event).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use super::waiters::{Slab, WakeList, keep_stale, update_waker, with_stale};
use crate::sync_facade::{AtomicUsize, BlockingMutex, LazyBox, Ordering, const_fn};

/// The flag is set.
const SET: usize = 1;
/// Waiters may be registered in the wait list: a `set` must lock it. Set and
/// cleared only with the list locked.
const WAITERS: usize = 2;
/// One unit of the generation (the bits above `WAITERS`), counted up by every `set`
/// that turns a clear event into a set one.
const GENERATION: usize = 4;

/// A manual-reset event: asyncio's `Event`.
///
/// [`set`](Self::set) raises the flag and wakes every task waiting for it;
/// [`clear`](Self::clear) lowers it again; [`wait`](Self::wait) resolves once the
/// flag is raised.
///
/// asyncio's rule holds: `set()` releases every task that is waiting at that moment,
/// even if `clear()` follows at once, before the woken tasks run. A waiter does not
/// re-check a flag that was already cleared again: it notes the event's generation
/// when it starts waiting (at its first poll, as futures are lazy), and any `set`
/// after that lets it through.
///
/// # Implementation note
///
/// `set` with nobody waiting and a `wait` on a set event are one atomic operation
/// each. Waiting tasks are kept in a list allocated on first wait, whose slots are
/// reused, so waiting allocates nothing in steady use. The list is guarded by a lock
/// held for a few instructions, never across a wake-up (a spin lock, which yields
/// to the OS after a short spin with `std`, so on `no_std` don't call `set` from
/// an interrupt handler that may preempt a task of the same core while it starts or
/// drops a wait). Wakers are cloned under the lock, and woken and dropped after it
/// (a waker's drop may run any code, even a wait on this event); a `set` that
/// releases more than one task collects their wakers in a vector.
///
/// # Examples
///
/// ```
/// use async_patterns::sync::Event;
///
/// # futures_lite::future::block_on(async {
/// let ready = Event::new();
/// let waiter = async {
///     ready.wait().await;
///     "done"
/// };
/// let setter = async { ready.set() };
/// let (out, ()) = futures_lite::future::zip(waiter, setter).await;
/// assert_eq!(out, "done");
/// assert!(ready.is_set());
/// # });
/// ```
pub struct Event {
    /// `SET` | `WAITERS` | generation × `GENERATION`.
    state: AtomicUsize,
    /// The wakers of the tasks waiting for the current generation, allocated on
    /// first wait. A `set` that moves to the next generation empties it.
    waiters: LazyBox<BlockingMutex<Slab<Waiter>>>,
}

/// A registered waiter: its waker, and the generation it waits for (to recognise its
/// own slot even after the generation counter wrapped).
struct Waiter {
    generation: usize,
    waker: Waker,
}

impl Event {
    const_fn! {
        /// Creates a clear event. Allocates nothing, so it can be a `static`.
        ///
        /// ```
        /// use async_patterns::sync::Event;
        ///
        /// static SHUTDOWN: Event = Event::new();
        /// assert!(!SHUTDOWN.is_set());
        /// ```
        pub const fn new() -> Self {
            Self { state: AtomicUsize::new(0), waiters: LazyBox::new() }
        }
    }

    /// Raises the flag and wakes every task waiting for it. Does nothing if the flag
    /// is already set.
    ///
    /// ```
    /// use async_patterns::sync::Event;
    ///
    /// let event = Event::new();
    /// event.set();
    /// assert!(event.is_set());
    /// ```
    pub fn set(&self) {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & SET != 0 {
                return;
            }
            if s & WAITERS != 0 {
                return self.set_and_wake();
            }
            // Nobody is registered, and registering needs `WAITERS` set first, so a
            // plain compare-and-swap is the whole `set`. The generation wraps after
            // usize::MAX / 4 sets; a waiter would have to sleep through a multiple of
            // exactly that many to miss one (and would still never touch another
            // waiter's slot: slots carry their generation).
            let next = s.wrapping_add(GENERATION) | SET;
            match self
                .state
                .compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
    }

    /// `set` with waiters registered: the generation moves on with the list locked,
    /// so each registered waiter is either woken here or sees the new generation.
    #[cold]
    fn set_and_wake(&self) {
        let mut wakes = WakeList::new();
        self.list().with(|waiters| {
            // Under the lock only `clear` (the `SET` bit) and `set` itself change
            // the state, and `WAITERS` stays set until a `set` empties the list.
            let mut s = self.state.load(Ordering::Relaxed);
            loop {
                if s & SET != 0 {
                    return;
                }
                let next = (s.wrapping_add(GENERATION) | SET) & !WAITERS;
                match self
                    .state
                    .compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Relaxed)
                {
                    Ok(_) => break,
                    Err(actual) => s = actual,
                }
            }
            waiters
                .drain()
                .for_each(|waiter| wakes.push(Some(waiter.waker)));
        });
        wakes.wake();
    }

    /// Lowers the flag. Tasks released by an earlier `set` still complete.
    ///
    /// ```
    /// use async_patterns::sync::Event;
    ///
    /// let event = Event::new();
    /// event.set();
    /// event.clear();
    /// assert!(!event.is_set());
    /// ```
    pub fn clear(&self) {
        self.state.fetch_and(!SET, Ordering::AcqRel);
    }

    /// Whether the flag is set (a snapshot).
    pub fn is_set(&self) -> bool {
        self.state.load(Ordering::Acquire) & SET != 0
    }

    /// Waits until the flag is set: ready at once if it is set now, otherwise after
    /// the next `set` (even if the flag was cleared again before this task ran).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `wait` holds nothing, and every `set` wakes all
    /// waiters, so no other waiter depends on it.
    ///
    /// ```
    /// use async_patterns::sync::Event;
    ///
    /// # futures_lite::future::block_on(async {
    /// let event = Event::new();
    /// event.set();
    /// event.wait().await; // set: ready at once
    /// # });
    /// ```
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            generation: None,
            slot: None,
        }
    }

    /// Blocks the thread until the flag is set (for synchronous code only).
    ///
    /// ```
    /// use async_patterns::sync::Event;
    ///
    /// let event = Event::new();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| event.set());
    ///     event.wait_blocking();
    /// });
    /// ```
    #[cfg(feature = "std")]
    pub fn wait_blocking(&self) {
        crate::sync_facade::block_on(self.wait())
    }

    fn list(&self) -> &BlockingMutex<Slab<Waiter>> {
        self.waiters.get_or_init(|| BlockingMutex::new(Slab::new()))
    }
}

/// Whether a waiter that started at `generation` may go: the flag is set, or a
/// `set` happened since.
#[inline]
fn released(state: usize, generation: usize) -> bool {
    state & SET != 0 || state / GENERATION != generation
}

impl Default for Event {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}

/// The future returned by [`Event::wait`].
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct EventWait<'a> {
    event: &'a Event,
    /// The generation seen when the wait started (the event was clear then).
    generation: Option<usize>,
    /// Our slot in the wait list, valid while the generation has not moved on.
    slot: Option<usize>,
}

impl Future for EventWait<'_> {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let s = this.event.state.load(Ordering::Acquire);
        let generation = match this.generation {
            Some(generation) => generation,
            None if s & SET != 0 => return Poll::Ready(()),
            None => *this.generation.insert(s / GENERATION),
        };
        if released(s, generation) {
            // The `set` that moved the generation on emptied the list.
            this.slot = None;
            return Poll::Ready(());
        }
        this.register(generation, cx.waker())
    }
}

impl EventWait<'_> {
    #[cold]
    fn register(&mut self, generation: usize, waker: &Waker) -> Poll<()> {
        let event = self.event;
        with_stale(event.list(), |waiters, stale| {
            let mut s = event.state.load(Ordering::Acquire);
            loop {
                if released(s, generation) {
                    self.slot = None;
                    return Poll::Ready(());
                }
                if let Some(slot) = self.slot {
                    match waiters.get(slot) {
                        Some(entry) if entry.generation == generation => {
                            update_waker(&mut entry.waker, waker, stale);
                            return Poll::Pending;
                        }
                        // Our slot is gone although the generation looks unchanged:
                        // the counter wrapped while we slept (2^30 sets on a 32-bit
                        // target). Queue again rather than touch another's slot.
                        _ => self.slot = None,
                    }
                }
                if s & WAITERS != 0 {
                    break;
                }
                // A lock-free `set` may race with this; whichever wins, the loser
                // sees it.
                match event.state.compare_exchange_weak(
                    s,
                    s | WAITERS,
                    Ordering::Acquire,
                    Ordering::Acquire,
                ) {
                    Ok(_) => break,
                    Err(actual) => s = actual,
                }
            }
            self.slot = Some(waiters.insert(Waiter {
                generation,
                waker: waker.clone(),
            }));
            Poll::Pending
        })
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        let (Some(slot), Some(generation)) = (self.slot, self.generation) else {
            return;
        };
        let event = self.event;
        with_stale(event.list(), |waiters, stale| {
            let s = event.state.load(Ordering::Relaxed);
            let ours = matches!(waiters.get(slot), Some(entry) if entry.generation == generation);
            if !released(s, generation) && ours {
                keep_stale(stale, Some(waiters.remove(slot).waker));
                if waiters.len() == 0 {
                    // Let the next `set` skip the lock again.
                    event.state.fetch_and(!WAITERS, Ordering::Relaxed);
                }
            }
        });
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("waiting", &self.slot.is_some())
            .finish()
    }
}

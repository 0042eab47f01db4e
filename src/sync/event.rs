//! [`Event`]: a manual-reset flag that tasks wait for (asyncio.Event).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use event_listener::{Event as Listeners, EventListener};

use crate::sync_facade::{AtomicUsize, Ordering, const_fn};

/// The flag is set.
const SET: usize = 1;
/// One unit of the generation (the bits above `SET`), counted up by every `set` that
/// turns a clear event into a set one.
const GENERATION: usize = 2;

/// A manual-reset event: asyncio's `Event`.
///
/// [`set`](Self::set) raises the flag and wakes every task waiting for it;
/// [`clear`](Self::clear) lowers it again; [`wait`](Self::wait) resolves once the
/// flag is raised.
///
/// asyncio's rule holds: `set()` releases every task that is waiting at that moment,
/// even if `clear()` follows at once, before the woken tasks run. A waiter does not
/// re-check a flag that was already cleared again: it notes the event's generation
/// when it starts waiting, and any `set` after that lets it through.
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
    /// `SET` | generation × `GENERATION`.
    state: AtomicUsize,
    waiters: Listeners,
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
            Self { state: AtomicUsize::new(0), waiters: Listeners::new() }
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
            // The generation wraps after usize::MAX / 2 sets; a waiter would have to
            // sleep through exactly that many to miss one.
            let next = s.wrapping_add(GENERATION) | SET;
            match self
                .state
                .compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        self.waiters.notify(usize::MAX);
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
            listener: None,
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

    /// Whether a waiter that started at `generation` may go: the flag is set, or a
    /// `set` happened since.
    fn released(&self, generation: usize) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s & SET != 0 || s / GENERATION != generation
    }
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
    listener: Option<EventListener>,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let event = this.event;
        let generation = match this.generation {
            Some(generation) => generation,
            None => {
                let s = event.state.load(Ordering::Acquire);
                if s & SET != 0 {
                    return Poll::Ready(());
                }
                this.generation = Some(s / GENERATION);
                s / GENERATION
            }
        };
        loop {
            if event.released(generation) {
                this.listener = None;
                return Poll::Ready(());
            }
            match &mut this.listener {
                // Listen, then check again: a `set` in between is not missed.
                None => this.listener = Some(event.waiters.listen()),
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.listener = None;
                }
            }
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("waiting", &self.listener.is_some())
            .finish()
    }
}

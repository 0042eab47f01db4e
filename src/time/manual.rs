//! [`ManualTimer`]: a virtual clock for deterministic tests.

use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use super::Timer;
use crate::sync::waiters::{Slab, keep_stale, store_waker, with_stale};
use crate::sync_facade::{Arc, BlockingMutex};

/// A clock that moves only when told to: sleeps on it end when
/// [`advance`](Self::advance) passes their deadline. Tests of code that sleeps
/// (retry, debounce, timeouts) run instantly and give the same result every run.
///
/// Clones share one clock. A sleep's deadline is fixed when
/// [`sleep`](Timer::sleep) is called (`now() + duration`); a zero-length sleep is
/// ready at once. The clock never moves backwards.
///
/// ```
/// use async_patterns::future::timeout;
/// use async_patterns::time::ManualTimer;
/// use std::time::Duration;
///
/// let timer = ManualTimer::new();
/// let mut waiting = Box::pin(timeout(&timer, Duration::from_secs(5), std::future::pending::<()>()));
/// let waker = std::task::Waker::noop();
/// let mut cx = std::task::Context::from_waker(&waker);
/// assert!(waiting.as_mut().poll(&mut cx).is_pending());
/// assert_eq!(timer.pending(), 1);
/// timer.advance(Duration::from_secs(5)); // five virtual seconds, no real wait
/// assert!(waiting.as_mut().poll(&mut cx).is_ready());
/// assert_eq!(timer.now(), Duration::from_secs(5));
/// ```
#[derive(Clone)]
pub struct ManualTimer {
    clock: Arc<BlockingMutex<Clock>>,
}

struct Clock {
    now: Duration,
    /// Sleeps polled at least once and not finished.
    sleeps: Slab<Entry>,
    /// Registration order, to wake sleeps with equal deadlines in that order.
    next_seq: u64,
}

struct Entry {
    deadline: Duration,
    seq: u64,
    /// `None` once `advance` woke it.
    waker: Option<Waker>,
}

impl ManualTimer {
    /// A clock at zero with no sleeps.
    #[must_use]
    pub fn new() -> Self {
        Self {
            clock: Arc::new(BlockingMutex::new(Clock {
                now: Duration::ZERO,
                sleeps: Slab::new(),
                next_seq: 0,
            })),
        }
    }

    /// The time on the clock: the sum of every `advance` so far.
    #[must_use]
    pub fn now(&self) -> Duration {
        self.clock.with(|clock| clock.now)
    }

    /// Moves the clock forward by `by` and wakes every sleep that is due then, in
    /// deadline order (equal deadlines in the order the sleeps were first polled).
    /// The woken tasks run when their executor next polls them.
    ///
    /// The clock jumps in one step: a sleep that a woken task starts afterwards
    /// (a retry's next delay, say) counts from the new `now`. So `advance(10 s)`
    /// over delays of 1 s, 2 s and 4 s ends the first sleep only, and the second
    /// then ends at 12 s. To let chained sleeps run at their own times, advance in
    /// steps no longer than the shortest delay, or to each next deadline, running
    /// the woken tasks in between.
    ///
    /// The clock saturates at `Duration::MAX` instead of overflowing.
    pub fn advance(&self, by: Duration) {
        let mut due: Vec<(Duration, u64, Waker)> = Vec::new();
        self.clock.with(|clock| {
            clock.now = clock.now.saturating_add(by);
            let now = clock.now;
            for entry in clock.sleeps.iter_mut() {
                if entry.deadline <= now {
                    if let Some(waker) = entry.waker.take() {
                        due.push((entry.deadline, entry.seq, waker));
                    }
                }
            }
        });
        due.sort_unstable_by_key(|&(deadline, seq, _)| (deadline, seq));
        for (_, _, waker) in due {
            waker.wake();
        }
    }

    /// Sleeps that were polled at least once and are not due yet.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.clock.with(|clock| {
            let now = clock.now;
            clock.sleeps.iter_mut().filter(|e| e.deadline > now).count()
        })
    }
}

impl Default for ManualTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ManualTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualTimer")
            .field("now", &self.now())
            .field("pending", &self.pending())
            .finish()
    }
}

impl Timer for ManualTimer {
    type Sleep = ManualSleep;

    fn sleep(&self, duration: Duration) -> ManualSleep {
        ManualSleep {
            clock: Arc::clone(&self.clock),
            deadline: self.now().saturating_add(duration),
            key: None,
        }
    }
}

/// A borrowed clock sleeps as the clock does, so `retry(&timer, ..)` and
/// `Debouncer::new(&timer, ..)` work without a clone.
impl Timer for &ManualTimer {
    type Sleep = ManualSleep;

    fn sleep(&self, duration: Duration) -> ManualSleep {
        (**self).sleep(duration)
    }
}

/// A sleep on a [`ManualTimer`].
///
/// # Cancel safety
///
/// Dropping it removes it from the clock.
#[must_use = "futures do nothing unless polled"]
pub struct ManualSleep {
    clock: Arc<BlockingMutex<Clock>>,
    deadline: Duration,
    key: Option<usize>,
}

impl ManualSleep {
    /// When the sleep ends, on its clock.
    #[must_use]
    pub fn deadline(&self) -> Duration {
        self.deadline
    }
}

impl Future for ManualSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        with_stale(&this.clock, |clock, stale| {
            if clock.now >= this.deadline {
                if let Some(k) = this.key.take() {
                    keep_stale(stale, clock.sleeps.remove(k).waker);
                }
                return Poll::Ready(());
            }
            match this.key {
                Some(k) => store_waker(&mut clock.sleeps.get_mut(k).waker, cx.waker(), stale),
                None => {
                    let seq = clock.next_seq;
                    clock.next_seq += 1;
                    this.key = Some(clock.sleeps.insert(Entry {
                        deadline: this.deadline,
                        seq,
                        waker: Some(cx.waker().clone()),
                    }));
                }
            }
            Poll::Pending
        })
    }
}

impl Drop for ManualSleep {
    fn drop(&mut self) {
        if let Some(k) = self.key {
            with_stale(&self.clock, |clock, stale| {
                keep_stale(stale, clock.sleeps.remove(k).waker);
            });
        }
    }
}

impl fmt::Debug for ManualSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualSleep")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

//! [`Condvar`]: a condition variable for [`Mutex`](super::Mutex) guards
//! (asyncio.Condition).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::mutex::{Lock, MutexGuard};
#[cfg(target_has_atomic = "ptr")]
use super::mutex::{LockArc, MutexGuardArc};
use super::waiters::{WaitQueue, WakeList, with_stale};
use crate::sync_facade::{AtomicUsize, BlockingMutex, LazyBox, Ordering, const_fn};

/// A condition variable: asyncio's `Condition`, paired with a [`Mutex`](super::Mutex).
///
/// A task holding the mutex calls [`wait`](Self::wait) (or
/// [`wait_until`](Self::wait_until)) with its guard: the lock is released while the
/// task waits and taken again before the guard is handed back. Another task changes
/// the protected data and calls [`notify_one`](Self::notify_one),
/// [`notify`](Self::notify) or [`notify_all`](Self::notify_all).
///
/// - Releasing the lock and registering as a waiter happen as one step: a notify
///   issued after the lock was released cannot be missed.
/// - A `wait` returns only after a notify issued after it began (there are no
///   spurious wake-ups), but the condition may have changed again by the time the
///   lock is re-taken: check it in a loop, or use [`wait_until`](Self::wait_until).
/// - Notifications count like asyncio's: `notify(n)` wakes up to `n` waiters that
///   were *not already notified*, in the order they started waiting, so two
///   `notify_one()` calls wake two waiters.
/// - A notified waiter that is dropped before it got the lock back passes its
///   notification to the waiter now first in line (as asyncio does), which may
///   have started waiting after the original notify; with nobody queued it is
///   dropped, like any notify.
///
/// Use one `Condvar` with one `Mutex` (as with `std::sync::Condvar`).
///
/// # Implementation note
///
/// The wait list is a FIFO queue allocated on first wait, behind a lock held for a
/// few instructions, never across a wake-up or the `wait_until` condition (a spin
/// lock, which yields to the OS after a short spin with `std`, so on `no_std` don't
/// notify from an interrupt handler that may preempt a task of the same core while it
/// starts or drops a wait). Wakers are cloned under it, and woken and dropped after
/// it (a waker's drop may run any code, even a wait on this condvar). A waiter's place
/// in it is reused, so waiting allocates nothing in steady use, and a notify with
/// nobody waiting is one atomic load.
///
/// # Examples
///
/// ```
/// use async_patterns::sync::{Condvar, Mutex};
/// use futures_lite::future;
///
/// # future::block_on(async {
/// let items = Mutex::new(Vec::new());
/// let changed = Condvar::new();
/// let consumer = async {
///     let guard = items.lock().await;
///     let mut guard = changed.wait_until(guard, |items| !items.is_empty()).await;
///     guard.pop()
/// };
/// let producer = async {
///     items.lock().await.push("job");
///     changed.notify_one();
/// };
/// let (job, ()) = future::zip(consumer, producer).await;
/// assert_eq!(job, Some("job"));
/// # });
/// ```
pub struct Condvar {
    /// How many waiters are queued and not notified yet (the queue's `linked()`,
    /// mirrored so that a notify with nobody waiting skips the lock). Written only
    /// with the queue locked.
    waiting: AtomicUsize,
    queue: LazyBox<BlockingMutex<WaitQueue>>,
}

impl Condvar {
    const_fn! {
        /// Creates a condition variable. Allocates nothing, so it can be a `static`.
        ///
        /// ```
        /// use async_patterns::sync::Condvar;
        ///
        /// static CHANGED: Condvar = Condvar::new();
        /// assert_eq!(CHANGED.notify_all(), 0);
        /// ```
        pub const fn new() -> Self {
            Self { waiting: AtomicUsize::new(0), queue: LazyBox::new() }
        }
    }

    /// Wakes the longest-waiting task that was not notified yet. Returns whether
    /// there was one.
    pub fn notify_one(&self) -> bool {
        self.notify(1) == 1
    }

    /// Wakes up to `n` waiting tasks that were not notified yet, in the order they
    /// started waiting; returns how many were woken. `notify(0)` wakes nobody and
    /// returns 0. With nobody waiting it does nothing (the notification is not
    /// stored).
    ///
    /// ```
    /// use async_patterns::sync::{Condvar, Mutex};
    /// use std::future::Future;
    /// use std::pin::pin;
    /// use std::task::{Context, Waker};
    ///
    /// let (lock, cv) = (Mutex::new(()), Condvar::new());
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let mut a = pin!(cv.wait(lock.try_lock().unwrap()));
    /// assert!(a.as_mut().poll(&mut cx).is_pending());
    /// let mut b = pin!(cv.wait(lock.try_lock().unwrap()));
    /// assert!(b.as_mut().poll(&mut cx).is_pending());
    ///
    /// assert_eq!(cv.notify(1), 1); // a
    /// assert_eq!(cv.notify(5), 1); // b: a is already notified
    /// assert_eq!(cv.notify(5), 0);
    /// ```
    pub fn notify(&self, n: usize) -> usize {
        // A waiter registers before it unlocks the mutex; a notifier that locked the
        // mutex after that sees the count (acquire/release through the mutex).
        if n == 0 || self.waiting.load(Ordering::Acquire) == 0 {
            return 0;
        }
        self.notify_slow(n)
    }

    #[cold]
    fn notify_slow(&self, n: usize) -> usize {
        let mut wakes = WakeList::new();
        let notified = self.queue().with(|queue| {
            let mut notified = 0;
            while notified < n {
                let Some(waker) = queue.notify_front() else {
                    break;
                };
                notified += 1;
                wakes.push(Some(waker));
            }
            self.waiting.store(queue.linked(), Ordering::Relaxed);
            notified
        });
        wakes.wake();
        notified
    }

    fn queue(&self) -> &BlockingMutex<WaitQueue> {
        self.queue
            .get_or_init(|| BlockingMutex::new(WaitQueue::new()))
    }

    /// Wakes every waiting task that was not notified yet; returns how many.
    pub fn notify_all(&self) -> usize {
        self.notify(usize::MAX)
    }

    /// Releases the lock of `guard`, waits for a notification, takes the lock again
    /// and returns the guard.
    ///
    /// The wait begins at the first poll: that poll registers the task and releases
    /// the lock in one step. Until then the future holds the guard (and dropping it
    /// just unlocks).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future releases what it holds: the guard (before the first poll)
    /// or its place in the wait list. If it was already notified, the notification
    /// passes to the next waiter (also when it was dropped while re-taking the lock),
    /// so a `notify_one` is never lost to a cancelled waiter.
    ///
    /// ```
    /// use async_patterns::sync::{Condvar, Mutex};
    /// use futures_lite::future;
    ///
    /// # future::block_on(async {
    /// let (ready, cv) = (Mutex::new(false), Condvar::new());
    /// let waiter = async {
    ///     let mut guard = ready.lock().await;
    ///     while !*guard {
    ///         guard = cv.wait(guard).await;
    ///     }
    /// };
    /// let setter = async {
    ///     *ready.lock().await = true;
    ///     cv.notify_all();
    /// };
    /// future::zip(waiter, setter).await;
    /// # });
    /// ```
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> CondvarWait<'_, 'a, T> {
        CondvarWait {
            raw: RawWait::new(self, guard),
        }
    }

    /// Waits until `condition` holds for the protected data, and returns the guard
    /// (asyncio's `wait_for`).
    ///
    /// `condition` runs with the lock held: first at once, then after each
    /// notification, once the lock is taken again. If it holds at the first poll, the
    /// future is ready without releasing the lock.
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Self::wait): a notification taken by a dropped future passes on.
    pub fn wait_until<'a, T: ?Sized, F>(
        &self,
        guard: MutexGuard<'a, T>,
        condition: F,
    ) -> CondvarWaitUntil<'_, 'a, T, F>
    where
        F: FnMut(&mut T) -> bool,
    {
        CondvarWaitUntil {
            raw: RawWait::new(self, guard),
            condition,
        }
    }

    /// [`wait`](Self::wait) that blocks the thread (for synchronous code only).
    #[cfg(feature = "std")]
    pub fn wait_blocking<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        crate::sync_facade::block_on(self.wait(guard))
    }

    /// [`wait_until`](Self::wait_until) that blocks the thread (for synchronous code
    /// only).
    #[cfg(feature = "std")]
    pub fn wait_until_blocking<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        crate::sync_facade::block_on(self.wait_until(guard, condition))
    }
}

#[cfg(target_has_atomic = "ptr")]
impl Condvar {
    /// [`wait`](Self::wait) for an owning [`MutexGuardArc`].
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Self::wait).
    ///
    /// ```
    /// use async_patterns::sync::{Condvar, Mutex};
    /// use std::sync::Arc;
    ///
    /// # futures_lite::future::block_on(async {
    /// let (lock, cv) = (Arc::new(Mutex::new(0)), Arc::new(Condvar::new()));
    /// let waiter = {
    ///     let (lock, cv) = (lock.clone(), cv.clone());
    ///     async move {
    ///         let mut guard = lock.lock_arc().await;
    ///         while *guard == 0 {
    ///             guard = cv.wait_arc(guard).await;
    ///         }
    ///         *guard
    ///     }
    /// };
    /// let setter = async {
    ///     *lock.lock().await = 7;
    ///     cv.notify_one();
    /// };
    /// assert_eq!(futures_lite::future::zip(waiter, setter).await.0, 7);
    /// # });
    /// ```
    pub fn wait_arc<T: ?Sized>(&self, guard: MutexGuardArc<T>) -> CondvarWaitArc<'_, T> {
        CondvarWaitArc {
            raw: RawWait::new(self, guard),
        }
    }

    /// [`wait_until`](Self::wait_until) for an owning [`MutexGuardArc`].
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Self::wait).
    pub fn wait_until_arc<T: ?Sized, F>(
        &self,
        guard: MutexGuardArc<T>,
        condition: F,
    ) -> CondvarWaitUntilArc<'_, T, F>
    where
        F: FnMut(&mut T) -> bool,
    {
        CondvarWaitUntilArc {
            raw: RawWait::new(self, guard),
            condition,
        }
    }

    /// [`wait_arc`](Self::wait_arc) that blocks the thread (for synchronous code
    /// only).
    #[cfg(feature = "std")]
    pub fn wait_arc_blocking<T: ?Sized>(&self, guard: MutexGuardArc<T>) -> MutexGuardArc<T> {
        crate::sync_facade::block_on(self.wait_arc(guard))
    }

    /// [`wait_until_arc`](Self::wait_until_arc) that blocks the thread (for
    /// synchronous code only).
    #[cfg(feature = "std")]
    pub fn wait_until_arc_blocking<T: ?Sized>(
        &self,
        guard: MutexGuardArc<T>,
        condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuardArc<T> {
        crate::sync_facade::block_on(self.wait_until_arc(guard, condition))
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// The wait engine, shared by the four futures
// ---------------------------------------------------------------------------

/// A guard that can give up its lock and get it back through a lock future.
trait Relock: Sized {
    type Lock: Future<Output = Self> + Unpin;
    /// Unlocks, returning an (unpolled) future that locks the same mutex again.
    fn unlock(self) -> Self::Lock;
}

impl<'a, T: ?Sized> Relock for MutexGuard<'a, T> {
    type Lock = Lock<'a, T>;
    fn unlock(self) -> Lock<'a, T> {
        MutexGuard::source(&self).lock()
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> Relock for MutexGuardArc<T> {
    type Lock = LockArc<T>;
    fn unlock(self) -> LockArc<T> {
        MutexGuardArc::source(&self).lock_arc()
    }
}

enum Phase<G: Relock> {
    /// Holding the lock, not waiting (yet, or again).
    Locked(G),
    /// Queued (under this key) and unlocked; waiting for a notification.
    Waiting(usize, G::Lock),
    /// Notified (the notification is ours now); taking the lock back.
    Relocking(G::Lock),
    Done,
}

struct RawWait<'c, G: Relock> {
    condvar: &'c Condvar,
    phase: Phase<G>,
}

impl<'c, G: Relock> RawWait<'c, G> {
    fn new(condvar: &'c Condvar, guard: G) -> Self {
        Self {
            condvar,
            phase: Phase::Locked(guard),
        }
    }

    /// Runs one wait, or (with `condition`) waits until it holds.
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        mut condition: Option<&mut dyn FnMut(&mut G) -> bool>,
    ) -> Poll<G> {
        loop {
            match core::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Locked(mut guard) => {
                    if let Some(condition) = condition.as_mut() {
                        if condition(&mut guard) {
                            return Poll::Ready(guard);
                        }
                    }
                    // Queue first, then unlock: a notify after the unlock finds us.
                    let condvar = self.condvar;
                    let key = condvar.queue().with(|queue| {
                        let key = queue.push_back(cx.waker().clone());
                        condvar.waiting.store(queue.linked(), Ordering::Release);
                        key
                    });
                    self.phase = Phase::Waiting(key, guard.unlock());
                    return Poll::Pending;
                }
                Phase::Waiting(key, lock) => {
                    let notified = with_stale(self.condvar.queue(), |queue, stale| {
                        queue
                            .take_if_notified(&mut Some(key), cx.waker(), stale)
                            .is_ready()
                    });
                    if !notified {
                        self.phase = Phase::Waiting(key, lock);
                        return Poll::Pending;
                    }
                    self.phase = Phase::Relocking(lock);
                }
                Phase::Relocking(mut lock) => match Pin::new(&mut lock).poll(cx) {
                    Poll::Pending => {
                        self.phase = Phase::Relocking(lock);
                        return Poll::Pending;
                    }
                    Poll::Ready(guard) if condition.is_some() => {
                        self.phase = Phase::Locked(guard);
                    }
                    Poll::Ready(guard) => return Poll::Ready(guard),
                },
                Phase::Done => panic!("Condvar wait future polled after completion"),
            }
        }
    }
}

impl<G: Relock> Drop for RawWait<'_, G> {
    fn drop(&mut self) {
        let notified = match self.phase {
            Phase::Waiting(key, _) => {
                let condvar = self.condvar;
                with_stale(condvar.queue(), |queue, stale| {
                    let (notified, ()) = queue.remove(key, stale);
                    condvar.waiting.store(queue.linked(), Ordering::Relaxed);
                    notified
                })
            }
            Phase::Relocking(_) => true,
            Phase::Locked(_) | Phase::Done => false,
        };
        if notified {
            // A notification we took but did not use goes to the next waiter.
            self.condvar.notify(1);
        }
    }
}

impl<G: Relock> fmt::Debug for RawWait<'_, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.phase {
            Phase::Locked(_) => "locked",
            Phase::Waiting(..) => "waiting",
            Phase::Relocking(_) => "relocking",
            Phase::Done => "done",
        })
    }
}

macro_rules! wait_futures {
    (
        $(#[$attr:meta])*
        $wait:ident, $until:ident, [$($lt:lifetime)?], $guard:ty, $doc:literal, $doc_until:literal
    ) => {
        #[doc = concat!("The future returned by [`Condvar::", $doc, "`].")]
        ///
        /// # Panics
        ///
        /// Panics if polled again after it returned the guard.
        $(#[$attr])*
        #[must_use = "futures do nothing unless you .await or poll them"]
        pub struct $wait<'c, $($lt,)? T: ?Sized> {
            raw: RawWait<'c, $guard>,
        }

        $(#[$attr])*
        impl<$($lt,)? T: ?Sized> Future for $wait<'_, $($lt,)? T> {
            type Output = $guard;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<$guard> {
                self.get_mut().raw.poll(cx, None)
            }
        }

        $(#[$attr])*
        impl<$($lt,)? T: ?Sized> fmt::Debug for $wait<'_, $($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($wait)).field("phase", &self.raw).finish()
            }
        }

        #[doc = concat!("The future returned by [`Condvar::", $doc_until, "`].")]
        ///
        /// # Panics
        ///
        /// Panics if polled again after it returned the guard.
        $(#[$attr])*
        #[must_use = "futures do nothing unless you .await or poll them"]
        pub struct $until<'c, $($lt,)? T: ?Sized, F> {
            raw: RawWait<'c, $guard>,
            condition: F,
        }

        // The condition is only ever called through `&mut`, never pinned.
        $(#[$attr])*
        impl<$($lt,)? T: ?Sized, F> Unpin for $until<'_, $($lt,)? T, F> {}

        $(#[$attr])*
        impl<$($lt,)? T: ?Sized, F: FnMut(&mut T) -> bool> Future for $until<'_, $($lt,)? T, F> {
            type Output = $guard;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<$guard> {
                let this = self.get_mut();
                let condition = &mut this.condition;
                this.raw.poll(cx, Some(&mut |guard: &mut $guard| condition(&mut **guard)))
            }
        }

        $(#[$attr])*
        impl<$($lt,)? T: ?Sized, F> fmt::Debug for $until<'_, $($lt,)? T, F> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($until)).field("phase", &self.raw).finish()
            }
        }
    };
}

wait_futures!(
    CondvarWait,
    CondvarWaitUntil,
    ['a],
    MutexGuard<'a, T>,
    "wait",
    "wait_until"
);
wait_futures!(
    #[cfg(target_has_atomic = "ptr")]
    CondvarWaitArc,
    CondvarWaitUntilArc,
    [],
    MutexGuardArc<T>,
    "wait_arc",
    "wait_until_arc"
);

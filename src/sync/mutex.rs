//! [`Mutex`]: an async mutual-exclusion lock that owns its data (asyncio.Lock).

use core::fmt;
use core::future::Future;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::task::{Context, Poll};

use event_listener::{Event, EventListener};

#[cfg(target_has_atomic = "ptr")]
use crate::sync_facade::PublicArc as Arc;
use crate::sync_facade::{Access, AtomicUsize, Ordering, UnsafeCell, const_fn};

// ---------------------------------------------------------------------------
// The raw engine, shared with `RwLock`
// ---------------------------------------------------------------------------

/// The lock is held.
const LOCKED: usize = 1;
/// Waiters may be sleeping: the next unlock must notify one. Set by a waiter (after
/// it registered its listener) while the lock is held, and conservatively by every
/// waiter that takes the lock, because others may still be queued behind it.
const CONTENDED: usize = 2;
/// One unit of the count of *starving* waiters (the bits above `CONTENDED`). While it
/// is non-zero, a newcomer never takes the lock: only waiters that were already
/// woken for it may, so the queue drains even while another task relocks in a loop.
const STARVING: usize = 4;
/// A waiter starts starving after being woken this many times and finding the lock
/// taken each time. Below it, newcomers may barge in, which keeps the lock hot on one
/// core (throughput); past it, the lock is handed over in queue order (fairness).
const STARVE_AFTER: u8 = 4;

/// The state machine behind [`Mutex`]: one atomic word and one event.
///
/// `state`: bit 0 [`LOCKED`], bit 1 [`CONTENDED`], the rest counts starving waiters.
/// Invariant: while waiters exist and the lock is free, at least one of them holds
/// an unconsumed notification (the unlock that freed it sent one, and
/// `event-listener` passes the notification of a dropped listener on).
pub(crate) struct RawMutex {
    state: AtomicUsize,
    lock_ops: Event,
}

impl RawMutex {
    const_fn! {
        pub(crate) const fn new() -> Self {
            Self { state: AtomicUsize::new(0), lock_ops: Event::new() }
        }
    }

    /// Takes the lock if it is free and no starving waiter is queued.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        self.state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[inline]
    pub(crate) fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }

    /// Releases the lock.
    ///
    /// # Safety
    /// The caller holds the lock (it was taken by `try_lock` or a completed
    /// [`RawLock`]) and gives it up now.
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        if self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_slow();
        }
    }

    #[cold]
    fn unlock_slow(&self) {
        // AcqRel: the Acquire half makes the listener that the waiter registered
        // before setting CONTENDED visible to the notify below.
        let prev = self
            .state
            .fetch_and(!(LOCKED | CONTENDED), Ordering::AcqRel);
        if prev & CONTENDED != 0 {
            // Wakes one waiter unless one is already woken and has not run yet. If
            // that waiter is dropped first, event-listener passes this notification
            // on to the next listener, so it cannot be lost.
            self.lock_ops.notify(1);
        }
    }

    /// One attempt from a waiter: takes the lock, or arranges to be woken.
    ///
    /// `woken`: the waiter was notified before (it may take a lock reserved for
    /// starving waiters); `starving`: it counts in the starving count (which taking
    /// the lock decrements). Returns `true` when the lock was taken.
    fn acquire_or_contend(&self, woken: bool, starving: bool) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let next = if s & LOCKED == 0 {
                if !woken && s != 0 {
                    // Free, but reserved for starving waiters: one of them holds a
                    // notification and its unlock (CONTENDED) will wake us.
                    return false;
                }
                let s = if starving { s - STARVING } else { s };
                s | LOCKED | CONTENDED
            } else if s & CONTENDED == 0 {
                s | CONTENDED
            } else {
                return false;
            };
            match self
                .state
                .compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return s & LOCKED == 0,
                Err(actual) => s = actual,
            }
        }
    }
}

/// The waiting part of a lock operation, without the data: a listener, the number of
/// futile wake-ups, and whether it counts as starving.
///
/// Dropping it undoes everything: its starving unit is given back and
/// `event-listener` hands an unconsumed notification to the next listener.
pub(crate) struct RawLock {
    listener: Option<EventListener>,
    wakeups: u8,
    starving: bool,
}

impl RawLock {
    pub(crate) const fn new() -> Self {
        Self {
            listener: None,
            wakeups: 0,
            starving: false,
        }
    }

    /// Polls for the lock. Once it returns `Ready`, the caller holds the lock and must
    /// not poll again.
    #[inline]
    pub(crate) fn poll(&mut self, mutex: &RawMutex, cx: &mut Context<'_>) -> Poll<()> {
        if self.listener.is_none() && mutex.try_lock() {
            return Poll::Ready(());
        }
        self.poll_slow(mutex, cx)
    }

    #[cold]
    fn poll_slow(&mut self, mutex: &RawMutex, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match &mut self.listener {
                None => {
                    if mutex.try_lock() {
                        return Poll::Ready(());
                    }
                    // Listen, then check again: an unlock between the failed attempt
                    // and the registration would otherwise be missed.
                    self.listener = Some(mutex.lock_ops.listen());
                    if mutex.acquire_or_contend(self.wakeups > 0, self.starving) {
                        self.acquired();
                        return Poll::Ready(());
                    }
                }
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    // Woken: the notification is consumed, so either take the lock or
                    // listen again (in the next loop turn) before returning.
                    self.listener = None;
                    if mutex.acquire_or_contend(true, self.starving) {
                        self.acquired();
                        return Poll::Ready(());
                    }
                    self.wakeups = self.wakeups.saturating_add(1);
                    if self.wakeups >= STARVE_AFTER && !self.starving {
                        let prev = mutex.state.fetch_add(STARVING, Ordering::Relaxed);
                        if prev > usize::MAX / 2 {
                            // More starving waiters than memory could hold: a bug or
                            // leaked futures; wrapping would break mutual exclusion.
                            crate::abort("async-patterns: Mutex starving-waiter count overflow");
                        }
                        self.starving = true;
                    }
                }
            }
        }
    }

    fn acquired(&mut self) {
        // The starving unit was removed by the acquiring compare-exchange.
        self.starving = false;
        // A notification this listener may have received meanwhile passes on.
        self.listener = None;
    }

    /// Gives the starving unit back; to be called from the owner's `Drop` with the
    /// mutex this `RawLock` was polled against.
    #[inline]
    pub(crate) fn cancel(&mut self, mutex: &RawMutex) {
        if self.starving {
            self.starving = false;
            mutex.state.fetch_sub(STARVING, Ordering::Relaxed);
        }
        self.listener = None;
    }
}

impl fmt::Debug for RawLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawLock")
            .field("waiting", &self.listener.is_some())
            .field("starving", &self.starving)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Mutex
// ---------------------------------------------------------------------------

/// An async mutex: asyncio's `Lock`, holding the data it protects like
/// `std::sync::Mutex`.
///
/// Locking returns a guard; the lock is released when the guard is dropped, also
/// during a panic (there is no poisoning).
///
/// # Fairness
///
/// A task that finds the lock free takes it at once, which keeps an uncontended or
/// lightly contended lock fast. A waiting task that was woken four times and found
/// the lock taken again each time starts *starving*: from then on newcomers queue up
/// behind it and the lock goes to the waiters, roughly in order (a waiter woken
/// when another took the lock first waits again at the back), so no waiter
/// starves, even while another task relocks the mutex in a tight loop. This is
/// `async-lock`'s policy; tokio's `Mutex` and asyncio's `Lock` are strictly
/// first come, first served instead: there a newcomer never overtakes a waiter
/// (tokio's `try_lock` fails while anybody waits), here it may, and
/// [`try_lock`](Self::try_lock) may succeed while tasks wait.
///
/// # Examples
///
/// ```
/// use async_patterns::sync::Mutex;
///
/// # futures_lite::future::block_on(async {
/// let counter = Mutex::new(0);
/// *counter.lock().await += 1;
/// assert_eq!(*counter.lock().await, 1);
/// # });
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one thread at a time, so it can be
// shared when `T` can be sent; it can be sent when `T` can.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    const_fn! {
        /// Creates a new, unlocked mutex. Allocates nothing, so it can be a `static`.
        ///
        /// ```
        /// use async_patterns::sync::Mutex;
        ///
        /// static COUNTER: Mutex<u64> = Mutex::new(0);
        /// ```
        pub const fn new(data: T) -> Self {
            Self { raw: RawMutex::new(), data: UnsafeCell::new(data) }
        }
    }

    /// Consumes the mutex and returns the data.
    ///
    /// ```
    /// use async_patterns::sync::Mutex;
    ///
    /// assert_eq!(Mutex::new(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock and returns a guard that releases it on drop.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe. Dropping the future before it completes gives up
    /// its place: it never holds the lock afterwards, and a wake-up it was sent but
    /// did not use passes to the next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use async_patterns::sync::Mutex;
    ///
    /// # futures_lite::future::block_on(async {
    /// let names = Mutex::new(Vec::new());
    /// names.lock().await.push("ada");
    /// assert_eq!(names.lock().await.len(), 1);
    /// # });
    /// ```
    #[inline]
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: self,
            raw: RawLock::new(),
        }
    }

    /// Takes the lock if it is free now.
    ///
    /// Returns `None` when the lock is held, or when it was just released to a
    /// starving waiter (see [Fairness](Mutex#fairness)).
    ///
    /// ```
    /// use async_patterns::sync::Mutex;
    ///
    /// let lock = Mutex::new(1);
    /// let guard = lock.try_lock().unwrap();
    /// assert!(lock.try_lock().is_none());
    /// drop(guard);
    /// assert!(lock.try_lock().is_some());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        if self.raw.try_lock() {
            Some(MutexGuard::new(self))
        } else {
            None
        }
    }

    /// Blocks the current thread until the lock is taken. For bridging synchronous
    /// code; don't call it from async code, where it would block the executor.
    ///
    /// ```
    /// use async_patterns::sync::Mutex;
    ///
    /// let lock = Mutex::new(5);
    /// assert_eq!(*lock.lock_blocking(), 5);
    /// ```
    #[cfg(feature = "std")]
    pub fn lock_blocking(&self) -> MutexGuard<'_, T> {
        crate::sync_facade::block_on(self.lock())
    }

    /// Whether the lock is held at this moment (a snapshot).
    ///
    /// ```
    /// use async_patterns::sync::Mutex;
    ///
    /// let lock = Mutex::new(());
    /// let guard = lock.try_lock();
    /// assert!(lock.is_locked());
    /// drop(guard);
    /// assert!(!lock.is_locked());
    /// ```
    #[inline]
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// A mutable reference to the data; `&mut self` proves no guard exists.
    ///
    /// ```
    /// use async_patterns::sync::Mutex;
    ///
    /// let mut lock = Mutex::new(1);
    /// *lock.get_mut() = 2;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> Mutex<T> {
    /// Like [`lock`](Self::lock), for a mutex in an `Arc`: the guard owns a clone of
    /// the `Arc` and is `'static`, so it can be moved into spawned tasks.
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`lock`](Self::lock).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::Mutex;
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = Arc::new(Mutex::new(0));
    /// let mut guard = lock.lock_arc().await;
    /// *guard += 1;
    /// drop(guard);
    /// assert_eq!(*lock.lock().await, 1);
    /// # });
    /// ```
    pub fn lock_arc(self: &Arc<Self>) -> LockArc<T> {
        LockArc {
            mutex: Some(Arc::clone(self)),
            raw: RawLock::new(),
        }
    }

    /// Like [`try_lock`](Self::try_lock), returning an owning guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::Mutex;
    ///
    /// let lock = Arc::new(Mutex::new(()));
    /// let guard = lock.try_lock_arc().unwrap();
    /// assert!(lock.try_lock_arc().is_none());
    /// drop(guard);
    /// ```
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<MutexGuardArc<T>> {
        if self.raw.try_lock() {
            Some(MutexGuardArc::new(Arc::clone(self)))
        } else {
            None
        }
    }

    /// Like [`lock_blocking`](Self::lock_blocking), returning an owning guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::Mutex;
    ///
    /// let lock = Arc::new(Mutex::new(3));
    /// assert_eq!(*lock.lock_arc_blocking(), 3);
    /// ```
    #[cfg(feature = "std")]
    pub fn lock_arc_blocking(self: &Arc<Self>) -> MutexGuardArc<T> {
        crate::sync_facade::block_on(self.lock_arc())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(data: T) -> Self {
        Self::new(data)
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

// ---------------------------------------------------------------------------
// Futures
// ---------------------------------------------------------------------------

/// The future returned by [`Mutex::lock`].
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Lock<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    raw: RawLock,
}

impl<'a, T: ?Sized> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this.raw.poll(&this.mutex.raw, cx) {
            Poll::Ready(()) => Poll::Ready(MutexGuard::new(this.mutex)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: ?Sized> Drop for Lock<'_, T> {
    fn drop(&mut self) {
        self.raw.cancel(&self.mutex.raw);
    }
}

impl<T: ?Sized> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").field("raw", &self.raw).finish()
    }
}

/// The future returned by [`Mutex::lock_arc`].
#[cfg(target_has_atomic = "ptr")]
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct LockArc<T: ?Sized> {
    // `None` once the guard was handed out.
    mutex: Option<Arc<Mutex<T>>>,
    raw: RawLock,
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> Future for LockArc<T> {
    type Output = MutexGuardArc<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mutex = this
            .mutex
            .as_ref()
            .expect("LockArc polled after completion");
        match this.raw.poll(&mutex.raw, cx) {
            Poll::Ready(()) => Poll::Ready(MutexGuardArc::new(this.mutex.take().unwrap())),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> Drop for LockArc<T> {
    fn drop(&mut self) {
        if let Some(mutex) = &self.mutex {
            self.raw.cancel(&mutex.raw);
        }
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> fmt::Debug for LockArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockArc").field("raw", &self.raw).finish()
    }
}

// ---------------------------------------------------------------------------
// Guards
// ---------------------------------------------------------------------------

/// A guard that releases the [`Mutex`] when dropped; derefs to the data.
#[must_use = "if unused the Mutex will immediately unlock"]
#[clippy::has_significant_drop]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    _access: Access<T>,
}

// SAFETY: the guard gives `&mut T` (needs `T: Send` to move across threads with it)
// and `&T` (needs `T: Sync` to share the guard). A shared guard also gives the
// `&'a Mutex<T>` of `source`, which outlives the borrow of the guard and may lock
// the mutex on that thread once the guard is gone: `Mutex<T>: Sync`, so `T: Send`.
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Called with the lock held.
    #[inline]
    fn new(mutex: &'a Mutex<T>) -> Self {
        Self {
            mutex,
            _access: mutex.data.exclusive(),
        }
    }

    /// The mutex this guard locks (an associated function, so it does not shadow a
    /// method of `T`).
    ///
    /// ```
    /// use async_patterns::sync::{Mutex, MutexGuard};
    ///
    /// let lock = Mutex::new(());
    /// let guard = lock.try_lock().unwrap();
    /// assert!(std::ptr::eq(MutexGuard::source(&guard), &lock));
    /// ```
    pub fn source(guard: &Self) -> &'a Mutex<T> {
        guard.mutex
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self._access.end();
        // SAFETY: a guard exists only while its lock is held, and is dropped once.
        unsafe { self.mutex.raw.unlock() }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so no other reference to the data exists.
        unsafe { &*self.mutex.data.raw(&self._access) }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this reference unique.
        unsafe { &mut *self.mutex.data.raw(&self._access) }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// An owning guard of a [`Mutex`] in an `Arc` (`'static`); releases it on drop.
#[cfg(target_has_atomic = "ptr")]
#[must_use = "if unused the Mutex will immediately unlock"]
#[clippy::has_significant_drop]
pub struct MutexGuardArc<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
    _access: Access<T>,
}

// SAFETY: as for `MutexGuard`; the Arc itself is Send + Sync when `Mutex<T>` is.
#[cfg(target_has_atomic = "ptr")]
unsafe impl<T: ?Sized + Send> Send for MutexGuardArc<T> {}
#[cfg(target_has_atomic = "ptr")]
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuardArc<T> {}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> MutexGuardArc<T> {
    /// Called with the lock held.
    fn new(mutex: Arc<Mutex<T>>) -> Self {
        let _access = mutex.data.exclusive();
        Self { mutex, _access }
    }

    /// The mutex this guard locks.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::{Mutex, MutexGuardArc};
    ///
    /// let lock = Arc::new(Mutex::new(()));
    /// let guard = lock.try_lock_arc().unwrap();
    /// assert!(Arc::ptr_eq(MutexGuardArc::source(&guard), &lock));
    /// ```
    pub fn source(guard: &Self) -> &Arc<Mutex<T>> {
        &guard.mutex
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> Drop for MutexGuardArc<T> {
    fn drop(&mut self) {
        self._access.end();
        // SAFETY: a guard exists only while its lock is held, and is dropped once.
        unsafe { self.mutex.raw.unlock() }
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> Deref for MutexGuardArc<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.mutex.data.raw(&self._access) }
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> DerefMut for MutexGuardArc<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock and `&mut self` makes this unique.
        unsafe { &mut *self.mutex.data.raw(&self._access) }
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

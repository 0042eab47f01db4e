//! [`RwLock`]: many readers or one writer, with upgradable reads.

use core::fmt;
use core::future::Future;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::task::{Context, Poll};

use event_listener::{Event, EventListener};

use super::mutex::{RawLock, RawMutex};
#[cfg(target_has_atomic = "ptr")]
use crate::sync_facade::PublicArc as Arc;
use crate::sync_facade::{Access, AtomicUsize, Ordering, UnsafeCell, const_fn};

// ---------------------------------------------------------------------------
// The raw engine
// ---------------------------------------------------------------------------

/// A writer holds the lock, or is waiting for the readers to leave. New readers wait.
const WRITER: usize = 1;
/// One unit of the reader count (the bits above `WRITER`).
const ONE_READER: usize = 2;

/// The state machine behind [`RwLock`].
///
/// Writers and upgradable readers first take `mutex` (so there is at most one of them
/// and they queue fairly); a writer then sets [`WRITER`], which stops new readers, and
/// waits on `no_readers` until the reader count is zero. Because a waiting writer
/// blocks new readers, a stream of readers cannot starve it.
pub(crate) struct RawRwLock {
    mutex: RawMutex,
    /// [`WRITER`] | reader count × [`ONE_READER`]. `WRITER` changes only with `mutex` held.
    state: AtomicUsize,
    /// Notified when the last reader leaves while a writer waits.
    no_readers: Event,
    /// Notified (all listeners) when a writer leaves.
    no_writer: Event,
}

impl RawRwLock {
    const_fn! {
        const fn new() -> Self {
            Self {
                mutex: RawMutex::new(),
                state: AtomicUsize::new(0),
                no_readers: Event::new(),
                no_writer: Event::new(),
            }
        }
    }

    #[inline]
    fn try_read(&self) -> bool {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & WRITER != 0 {
                return false;
            }
            if s > usize::MAX / 2 {
                crate::abort("async-patterns: RwLock reader count overflow");
            }
            match self.state.compare_exchange_weak(
                s,
                s + ONE_READER,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// # Safety
    /// The caller holds a read lock and gives it up.
    #[inline]
    unsafe fn read_unlock(&self) {
        let prev = self.state.fetch_sub(ONE_READER, Ordering::AcqRel);
        if prev == ONE_READER | WRITER {
            // The last reader leaves and a writer waits for exactly this.
            self.no_readers.notify(1);
        }
    }

    fn try_write(&self) -> bool {
        if !self.mutex.try_lock() {
            return false;
        }
        if self
            .state
            .compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return true;
        }
        // SAFETY: taken just above.
        unsafe { self.mutex.unlock() };
        false
    }

    /// # Safety
    /// The caller holds the write lock and gives it up.
    unsafe fn write_unlock(&self) {
        self.state.fetch_and(!WRITER, Ordering::Release);
        self.no_writer.notify(usize::MAX);
        // SAFETY: a writer holds `mutex`.
        unsafe { self.mutex.unlock() };
    }

    fn try_upgradable_read(&self) -> bool {
        if !self.mutex.try_lock() {
            return false;
        }
        self.add_upgradable_reader();
        true
    }

    /// With `mutex` held (so no writer exists), counts the upgradable reader.
    fn add_upgradable_reader(&self) {
        let prev = self.state.fetch_add(ONE_READER, Ordering::Acquire);
        if prev > usize::MAX / 2 {
            crate::abort("async-patterns: RwLock reader count overflow");
        }
    }

    /// # Safety
    /// The caller holds the upgradable read lock and gives it up.
    unsafe fn upgradable_unlock(&self) {
        // No writer can wait (it would need `mutex`), so nobody needs a notification.
        self.state.fetch_sub(ONE_READER, Ordering::Release);
        // SAFETY: an upgradable reader holds `mutex`.
        unsafe { self.mutex.unlock() };
    }

    /// Turns the caller's upgradable read into a pending write (it keeps `mutex`).
    fn start_upgrade(&self) {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let next = (s - ONE_READER) | WRITER;
            match self
                .state
                .compare_exchange_weak(s, next, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
    }

    fn try_upgrade(&self) -> bool {
        self.state
            .compare_exchange(ONE_READER, WRITER, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Write lock -> read lock (or upgradable read, if `keep_mutex`).
    ///
    /// # Safety
    /// The caller holds the write lock.
    unsafe fn downgrade(&self, keep_mutex: bool) {
        // WRITER (1) + 1 == ONE_READER (2): the writer becomes a reader in one step;
        // readers cannot have changed the state while WRITER was set.
        self.state.fetch_add(ONE_READER - WRITER, Ordering::Release);
        self.no_writer.notify(usize::MAX);
        if !keep_mutex {
            // SAFETY: a writer holds `mutex`.
            unsafe { self.mutex.unlock() };
        }
    }

    /// Upgradable read -> plain read: only `mutex` is released.
    ///
    /// # Safety
    /// The caller holds the upgradable read lock.
    unsafe fn downgrade_upgradable(&self) {
        // SAFETY: an upgradable reader holds `mutex`.
        unsafe { self.mutex.unlock() };
    }
}

/// A pending read: waits while a writer holds or waits for the lock.
struct RawRead {
    listener: Option<EventListener>,
}

impl RawRead {
    const fn new() -> Self {
        Self { listener: None }
    }

    #[inline]
    fn poll(&mut self, lock: &RawRwLock, cx: &mut Context<'_>) -> Poll<()> {
        if self.listener.is_none() && lock.try_read() {
            return Poll::Ready(());
        }
        self.poll_slow(lock, cx)
    }

    #[cold]
    fn poll_slow(&mut self, lock: &RawRwLock, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if lock.try_read() {
                self.listener = None;
                return Poll::Ready(());
            }
            match &mut self.listener {
                // Listen, then try again before sleeping (no missed `no_writer`).
                None => self.listener = Some(lock.no_writer.listen()),
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.listener = None;
                }
            }
        }
    }
}

/// A pending write (or upgrade): first the inner mutex, then the readers' exit.
enum RawWrite {
    Mutex(RawLock),
    /// `mutex` is held and `WRITER` is set; waiting for the reader count to hit zero.
    Readers(Option<EventListener>),
    Done,
}

impl RawWrite {
    const fn new() -> Self {
        Self::Mutex(RawLock::new())
    }

    /// For an upgrade: `start_upgrade` was called, the rest is waiting for readers.
    const fn upgrading() -> Self {
        Self::Readers(None)
    }

    fn poll(&mut self, lock: &RawRwLock, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self {
                Self::Mutex(raw) => {
                    if raw.poll(&lock.mutex, cx).is_pending() {
                        return Poll::Pending;
                    }
                    lock.state.fetch_or(WRITER, Ordering::Acquire);
                    *self = Self::Readers(None);
                }
                Self::Readers(listener) => {
                    if lock.state.load(Ordering::Acquire) == WRITER {
                        *self = Self::Done;
                        return Poll::Ready(());
                    }
                    match listener {
                        None => *listener = Some(lock.no_readers.listen()),
                        Some(l) => {
                            if Pin::new(l).poll(cx).is_pending() {
                                return Poll::Pending;
                            }
                            *listener = None;
                        }
                    }
                }
                Self::Done => panic!("RwLock write future polled after completion"),
            }
        }
    }

    /// Undoes a pending write: releases what it already holds.
    fn cancel(&mut self, lock: &RawRwLock) {
        match core::mem::replace(self, Self::Done) {
            Self::Mutex(mut raw) => raw.cancel(&lock.mutex),
            // SAFETY: in this phase we hold `mutex` and set `WRITER`, which is exactly
            // what `write_unlock` releases; readers that queued behind us wake up.
            Self::Readers(_) => unsafe { lock.write_unlock() },
            Self::Done => {}
        }
    }
}

/// A pending upgradable read: the inner mutex, then one reader unit.
struct RawUpgradable(RawLock);

impl RawUpgradable {
    const fn new() -> Self {
        Self(RawLock::new())
    }

    fn poll(&mut self, lock: &RawRwLock, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.poll(&lock.mutex, cx).is_pending() {
            return Poll::Pending;
        }
        lock.add_upgradable_reader();
        Poll::Ready(())
    }

    fn cancel(&mut self, lock: &RawRwLock) {
        self.0.cancel(&lock.mutex);
    }
}

// ---------------------------------------------------------------------------
// RwLock
// ---------------------------------------------------------------------------

/// An async reader-writer lock: any number of readers, or one writer.
///
/// Also offers an *upgradable read*: a read lock that coexists with plain readers
/// (but not with another upgradable reader or a writer) and can later be turned into
/// a write lock without letting another writer in between.
///
/// # Fairness
///
/// A waiting writer stops new readers from entering, so a stream of readers cannot
/// starve it; writers (and upgradable readers) queue on a fair [`Mutex`](super::Mutex).
/// The other way round, readers wait while writers keep coming (writers are
/// preferred), as in `async-lock`.
///
/// So a task that holds a read guard must not wait for a second read of the same
/// lock: if a writer queued in between, the second read waits for the writer,
/// which waits for the first read, for ever (tokio's `RwLock` has the same rule).
/// There is no poisoning: a guard dropped while a panic unwinds releases the lock
/// like any other.
///
/// # Examples
///
/// ```
/// use async_patterns::sync::RwLock;
///
/// # futures_lite::future::block_on(async {
/// let lock = RwLock::new(5);
/// {
///     let r1 = lock.read().await;
///     let r2 = lock.read().await;
///     assert_eq!(*r1 + *r2, 10);
/// }
/// *lock.write().await += 1;
/// assert_eq!(*lock.read().await, 6);
/// # });
/// ```
pub struct RwLock<T: ?Sized> {
    raw: RawRwLock,
    data: UnsafeCell<T>,
}

// SAFETY: readers share `&T` across threads (T: Sync), a writer gets `&mut T` on any
// thread (T: Send).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    const_fn! {
        /// Creates a new, unlocked lock. Allocates nothing, so it can be a `static`.
        ///
        /// ```
        /// use async_patterns::sync::RwLock;
        ///
        /// static CONFIG: RwLock<u32> = RwLock::new(0);
        /// ```
        pub const fn new(data: T) -> Self {
            Self { raw: RawRwLock::new(), data: UnsafeCell::new(data) }
        }
    }

    /// Consumes the lock and returns the data.
    ///
    /// ```
    /// use async_patterns::sync::RwLock;
    ///
    /// assert_eq!(RwLock::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for a read lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `read` holds nothing, and writers are woken by the
    /// readers that actually leave, so nobody waits for it.
    ///
    /// ```
    /// use async_patterns::sync::RwLock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = RwLock::new(1);
    /// assert_eq!(*lock.read().await, 1);
    /// # });
    /// ```
    pub fn read(&self) -> Read<'_, T> {
        Read {
            lock: self,
            raw: RawRead::new(),
        }
    }

    /// Takes a read lock unless a writer holds the lock or is waiting for the
    /// readers to leave.
    ///
    /// ```
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let reader = lock.try_read().unwrap();
    /// assert!(lock.try_write().is_none());
    /// drop(reader);
    /// ```
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.raw.try_read().then(|| RwLockReadGuard::new(self))
    }

    /// Waits for the write lock.
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `write` gives back what it held so far (its place in
    /// the writers' queue, or the lock it held while waiting for readers to leave),
    /// and readers it held back are woken.
    ///
    /// ```
    /// use async_patterns::sync::RwLock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = RwLock::new(1);
    /// *lock.write().await = 2;
    /// assert_eq!(*lock.read().await, 2);
    /// # });
    /// ```
    pub fn write(&self) -> Write<'_, T> {
        Write {
            lock: self,
            raw: RawWrite::new(),
        }
    }

    /// Takes the write lock if the lock is entirely free.
    ///
    /// Returns `None` when the lock is held, or when it was just released to a
    /// starving writer or upgradable reader (see [Fairness](RwLock#fairness)).
    ///
    /// ```
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let writer = lock.try_write().unwrap();
    /// assert!(lock.try_read().is_none());
    /// drop(writer);
    /// ```
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.raw.try_write().then(|| RwLockWriteGuard::new(self))
    }

    /// Waits for an upgradable read lock (one at a time; coexists with readers).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`write`](Self::write) before it holds anything.
    ///
    /// ```
    /// use async_patterns::sync::{RwLock, RwLockUpgradableReadGuard};
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = RwLock::new(1);
    /// let up = lock.upgradable_read().await;
    /// let reader = lock.read().await; // readers still get in
    /// assert_eq!(*up + *reader, 2);
    /// drop(reader);
    /// let mut writer = RwLockUpgradableReadGuard::upgrade(up).await;
    /// *writer = 3;
    /// # });
    /// ```
    pub fn upgradable_read(&self) -> UpgradableRead<'_, T> {
        UpgradableRead {
            lock: self,
            raw: RawUpgradable::new(),
        }
    }

    /// Takes an upgradable read lock if no writer or upgradable reader holds it.
    ///
    /// Returns `None` when one does (a writer also while it waits for the readers
    /// to leave), or when the lock was just released to a starving writer or
    /// upgradable reader (see [Fairness](RwLock#fairness)).
    ///
    /// ```
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let up = lock.try_upgradable_read().unwrap();
    /// assert!(lock.try_upgradable_read().is_none());
    /// assert!(lock.try_read().is_some());
    /// drop(up);
    /// ```
    pub fn try_upgradable_read(&self) -> Option<RwLockUpgradableReadGuard<'_, T>> {
        self.raw
            .try_upgradable_read()
            .then(|| RwLockUpgradableReadGuard::new(self))
    }

    /// Blocks the thread for a read lock (for synchronous code only).
    ///
    /// ```
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// assert_eq!(*lock.read_blocking(), 1);
    /// ```
    #[cfg(feature = "std")]
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T> {
        crate::sync_facade::block_on(self.read())
    }

    /// Blocks the thread for the write lock (for synchronous code only).
    ///
    /// ```
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// *lock.write_blocking() = 2;
    /// ```
    #[cfg(feature = "std")]
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T> {
        crate::sync_facade::block_on(self.write())
    }

    /// Blocks the thread for an upgradable read lock (for synchronous code only).
    ///
    /// ```
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// assert_eq!(*lock.upgradable_read_blocking(), 1);
    /// ```
    #[cfg(feature = "std")]
    pub fn upgradable_read_blocking(&self) -> RwLockUpgradableReadGuard<'_, T> {
        crate::sync_facade::block_on(self.upgradable_read())
    }

    /// A mutable reference to the data; `&mut self` proves no guard exists.
    ///
    /// ```
    /// use async_patterns::sync::RwLock;
    ///
    /// let mut lock = RwLock::new(1);
    /// *lock.get_mut() += 1;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> RwLock<T> {
    /// [`read`](Self::read) for a lock in an `Arc`; the guard is `'static`.
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`read`](Self::read).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::RwLock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = Arc::new(RwLock::new(1));
    /// assert_eq!(*lock.read_arc().await, 1);
    /// # });
    /// ```
    pub fn read_arc(self: &Arc<Self>) -> ReadArc<T> {
        ReadArc {
            lock: Some(Arc::clone(self)),
            raw: RawRead::new(),
        }
    }

    /// [`try_read`](Self::try_read) returning an owning guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// assert_eq!(*lock.try_read_arc().unwrap(), 1);
    /// ```
    pub fn try_read_arc(self: &Arc<Self>) -> Option<RwLockReadGuardArc<T>> {
        self.raw
            .try_read()
            .then(|| RwLockReadGuardArc::new(Arc::clone(self)))
    }

    /// [`write`](Self::write) for a lock in an `Arc`; the guard is `'static`.
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`write`](Self::write).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::RwLock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = Arc::new(RwLock::new(1));
    /// *lock.write_arc().await = 2;
    /// # });
    /// ```
    pub fn write_arc(self: &Arc<Self>) -> WriteArc<T> {
        WriteArc {
            lock: Some(Arc::clone(self)),
            raw: RawWrite::new(),
        }
    }

    /// [`try_write`](Self::try_write) returning an owning guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// assert!(lock.try_write_arc().is_some());
    /// ```
    pub fn try_write_arc(self: &Arc<Self>) -> Option<RwLockWriteGuardArc<T>> {
        self.raw
            .try_write()
            .then(|| RwLockWriteGuardArc::new(Arc::clone(self)))
    }

    /// [`upgradable_read`](Self::upgradable_read) for a lock in an `Arc`.
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`upgradable_read`](Self::upgradable_read).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::{RwLock, RwLockUpgradableReadGuardArc};
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = Arc::new(RwLock::new(1));
    /// let up = lock.upgradable_read_arc().await;
    /// *RwLockUpgradableReadGuardArc::upgrade(up).await = 2;
    /// # });
    /// ```
    pub fn upgradable_read_arc(self: &Arc<Self>) -> UpgradableReadArc<T> {
        UpgradableReadArc {
            lock: Some(Arc::clone(self)),
            raw: RawUpgradable::new(),
        }
    }

    /// [`try_upgradable_read`](Self::try_upgradable_read) returning an owning guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// assert!(lock.try_upgradable_read_arc().is_some());
    /// ```
    pub fn try_upgradable_read_arc(self: &Arc<Self>) -> Option<RwLockUpgradableReadGuardArc<T>> {
        self.raw
            .try_upgradable_read()
            .then(|| RwLockUpgradableReadGuardArc::new(Arc::clone(self)))
    }

    /// Blocking [`read_arc`](Self::read_arc) (for synchronous code only).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// assert_eq!(*lock.read_arc_blocking(), 1);
    /// ```
    #[cfg(feature = "std")]
    pub fn read_arc_blocking(self: &Arc<Self>) -> RwLockReadGuardArc<T> {
        crate::sync_facade::block_on(self.read_arc())
    }

    /// Blocking [`write_arc`](Self::write_arc) (for synchronous code only).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// *lock.write_arc_blocking() = 2;
    /// ```
    #[cfg(feature = "std")]
    pub fn write_arc_blocking(self: &Arc<Self>) -> RwLockWriteGuardArc<T> {
        crate::sync_facade::block_on(self.write_arc())
    }

    /// Blocking [`upgradable_read_arc`](Self::upgradable_read_arc).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// assert_eq!(*lock.upgradable_read_arc_blocking(), 1);
    /// ```
    #[cfg(feature = "std")]
    pub fn upgradable_read_arc_blocking(self: &Arc<Self>) -> RwLockUpgradableReadGuardArc<T> {
        crate::sync_facade::block_on(self.upgradable_read_arc())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(data: T) -> Self {
        Self::new(data)
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

// ---------------------------------------------------------------------------
// Futures: one template for the borrowed and the `Arc` flavour of each
// ---------------------------------------------------------------------------

macro_rules! lock_future {
    (
        $(#[$doc:meta])*
        $name:ident, $raw:ty, $guard:ident,
        borrowed<$lt:lifetime>
    ) => {
        $(#[$doc])*
        #[must_use = "futures do nothing unless you .await or poll them"]
        pub struct $name<$lt, T: ?Sized> {
            lock: &$lt RwLock<T>,
            raw: $raw,
        }

        impl<$lt, T: ?Sized> Future for $name<$lt, T> {
            type Output = $guard<$lt, T>;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let this = self.get_mut();
                match this.raw.poll(&this.lock.raw, cx) {
                    Poll::Ready(()) => Poll::Ready($guard::new(this.lock)),
                    Poll::Pending => Poll::Pending,
                }
            }
        }

        impl<T: ?Sized> fmt::Debug for $name<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($name))
            }
        }
    };
    (
        $(#[$doc:meta])*
        $name:ident, $raw:ty, $guard:ident,
        arc
    ) => {
        $(#[$doc])*
        #[cfg(target_has_atomic = "ptr")]
        #[must_use = "futures do nothing unless you .await or poll them"]
        pub struct $name<T: ?Sized> {
            // `None` once the guard was handed out.
            lock: Option<Arc<RwLock<T>>>,
            raw: $raw,
        }

        #[cfg(target_has_atomic = "ptr")]
        impl<T: ?Sized> Future for $name<T> {
            type Output = $guard<T>;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let this = self.get_mut();
                let lock = this.lock.as_ref().expect(concat!(stringify!($name), " polled after completion"));
                match this.raw.poll(&lock.raw, cx) {
                    Poll::Ready(()) => Poll::Ready($guard::new(this.lock.take().unwrap())),
                    Poll::Pending => Poll::Pending,
                }
            }
        }

        #[cfg(target_has_atomic = "ptr")]
        impl<T: ?Sized> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($name))
            }
        }
    };
}

lock_future!(
    /// The future returned by [`RwLock::read`].
    Read, RawRead, RwLockReadGuard, borrowed<'a>
);
lock_future!(
    /// The future returned by [`RwLock::read_arc`].
    ReadArc, RawRead, RwLockReadGuardArc, arc
);
lock_future!(
    /// The future returned by [`RwLock::write`].
    Write, RawWrite, RwLockWriteGuard, borrowed<'a>
);
lock_future!(
    /// The future returned by [`RwLock::write_arc`].
    WriteArc, RawWrite, RwLockWriteGuardArc, arc
);
lock_future!(
    /// The future returned by [`RwLock::upgradable_read`].
    UpgradableRead, RawUpgradable, RwLockUpgradableReadGuard, borrowed<'a>
);
lock_future!(
    /// The future returned by [`RwLock::upgradable_read_arc`].
    UpgradableReadArc, RawUpgradable, RwLockUpgradableReadGuardArc, arc
);
lock_future!(
    /// The future returned by [`RwLockUpgradableReadGuard::upgrade`].
    Upgrade, RawWrite, RwLockWriteGuard, borrowed<'a>
);
lock_future!(
    /// The future returned by [`RwLockUpgradableReadGuardArc::upgrade`].
    UpgradeArc, RawWrite, RwLockWriteGuardArc, arc
);

// A pending write or upgradable read undoes itself on drop; a pending read holds
// nothing but its listener.
impl<T: ?Sized> Drop for Write<'_, T> {
    fn drop(&mut self) {
        self.raw.cancel(&self.lock.raw);
    }
}
impl<T: ?Sized> Drop for Upgrade<'_, T> {
    fn drop(&mut self) {
        self.raw.cancel(&self.lock.raw);
    }
}
impl<T: ?Sized> Drop for UpgradableRead<'_, T> {
    fn drop(&mut self) {
        self.raw.cancel(&self.lock.raw);
    }
}
#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> Drop for WriteArc<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            self.raw.cancel(&lock.raw);
        }
    }
}
#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> Drop for UpgradeArc<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            self.raw.cancel(&lock.raw);
        }
    }
}
#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> Drop for UpgradableReadArc<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            self.raw.cancel(&lock.raw);
        }
    }
}

// ---------------------------------------------------------------------------
// Guards: one template for the borrowed and the `Arc` flavour of each
// ---------------------------------------------------------------------------

macro_rules! guard {
    (
        #[cfg($cfg:meta)]
        $(#[$doc:meta])*
        $name:ident, $unlock:ident, $access:ident, $holder:ty, [$($lt:lifetime)?],
        send: [$($send:tt)*], sync: [$($sync:tt)*]
    ) => {
        #[cfg($cfg)]
        $(#[$doc])*
        #[must_use = "if unused the RwLock will immediately unlock"]
        #[clippy::has_significant_drop]
        pub struct $name<$($lt,)? T: ?Sized> {
            lock: $holder,
            _access: Access<T>,
        }

        // SAFETY: the guard gives the access its name says; it may move to another
        // thread when that access may (see the bounds), and be shared when `&T` may.
        #[cfg($cfg)]
        unsafe impl<$($lt,)? T: ?Sized + $($send)*> Send for $name<$($lt,)? T> {}
        #[cfg($cfg)]
        unsafe impl<$($lt,)? T: ?Sized + $($sync)*> Sync for $name<$($lt,)? T> {}

        #[cfg($cfg)]
        impl<$($lt,)? T: ?Sized> $name<$($lt,)? T> {
            /// Called with the lock held in the guard's mode.
            fn new(lock: $holder) -> Self {
                let _access = lock.data.$access();
                Self { lock, _access }
            }
        }

        #[cfg($cfg)]
        impl<$($lt,)? T: ?Sized> Drop for $name<$($lt,)? T> {
            fn drop(&mut self) {
                self._access.end();
                // SAFETY: the guard holds the lock in this mode, and drops once.
                unsafe { self.lock.raw.$unlock() }
            }
        }

        #[cfg($cfg)]
        impl<$($lt,)? T: ?Sized> Deref for $name<$($lt,)? T> {
            type Target = T;
            fn deref(&self) -> &T {
                // SAFETY: the guard's lock mode excludes writers other than itself.
                unsafe { &*self.lock.data.raw(&self._access) }
            }
        }

        #[cfg($cfg)]
        impl<$($lt,)? T: ?Sized + fmt::Debug> fmt::Debug for $name<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        #[cfg($cfg)]
        impl<$($lt,)? T: ?Sized + fmt::Display> fmt::Display for $name<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    };
}

guard!(
    #[cfg(all())]
    /// A read guard of a [`RwLock`]; releases the read lock on drop.
    RwLockReadGuard, read_unlock, shared, &'a RwLock<T>, ['a],
    send: [Sync], sync: [Sync]
);
guard!(
    #[cfg(all())]
    /// A write guard of a [`RwLock`]; releases the write lock on drop.
    RwLockWriteGuard, write_unlock, exclusive, &'a RwLock<T>, ['a],
    // `Send + Sync`: a write guard sent to another thread can be downgraded there to
    // a read guard, while this thread also reads.
    send: [Send + Sync], sync: [Sync]
);
guard!(
    #[cfg(all())]
    /// An upgradable read guard of a [`RwLock`]; releases it on drop.
    RwLockUpgradableReadGuard, upgradable_unlock, shared, &'a RwLock<T>, ['a],
    send: [Send + Sync], sync: [Sync]
);

guard!(
    #[cfg(target_has_atomic = "ptr")]
    /// An owning read guard of a [`RwLock`] in an `Arc`.
    RwLockReadGuardArc, read_unlock, shared, Arc<RwLock<T>>, [],
    send: [Send + Sync], sync: [Send + Sync]
);
guard!(
    #[cfg(target_has_atomic = "ptr")]
    /// An owning write guard of a [`RwLock`] in an `Arc`.
    RwLockWriteGuardArc, write_unlock, exclusive, Arc<RwLock<T>>, [],
    send: [Send + Sync], sync: [Send + Sync]
);
guard!(
    #[cfg(target_has_atomic = "ptr")]
    /// An owning upgradable read guard of a [`RwLock`] in an `Arc`.
    RwLockUpgradableReadGuardArc, upgradable_unlock, shared, Arc<RwLock<T>>, [],
    send: [Send + Sync], sync: [Send + Sync]
);

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write guard is the only access, and `&mut self` makes this unique.
        unsafe { &mut *self.lock.data.raw(&self._access) }
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> DerefMut for RwLockWriteGuardArc<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write guard is the only access, and `&mut self` makes this unique.
        unsafe { &mut *self.lock.data.raw(&self._access) }
    }
}

/// Moves the lock out of a guard without running its `Drop` (the caller takes over
/// the lock it holds).
macro_rules! take_lock {
    ($guard:expr) => {{
        let mut guard = core::mem::ManuallyDrop::new($guard);
        // SAFETY: `guard` is never used or dropped again; the field is read once and
        // the access token is dropped in place, ending this guard's tracked access.
        unsafe {
            core::ptr::drop_in_place(&mut guard._access);
            core::ptr::read(&guard.lock)
        }
    }};
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns the write lock into a read lock, letting waiting readers in, without
    /// letting a writer in between.
    ///
    /// ```
    /// use async_patterns::sync::{RwLock, RwLockWriteGuard};
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = RwLock::new(1);
    /// let mut w = lock.write().await;
    /// *w = 2;
    /// let r = RwLockWriteGuard::downgrade(w);
    /// assert_eq!(*r, 2);
    /// assert!(lock.try_read().is_some());
    /// # });
    /// ```
    pub fn downgrade(guard: Self) -> RwLockReadGuard<'a, T> {
        let lock = take_lock!(guard);
        // SAFETY: the guard held the write lock, which we now own.
        unsafe { lock.raw.downgrade(false) };
        RwLockReadGuard::new(lock)
    }

    /// Turns the write lock into an upgradable read lock.
    ///
    /// ```
    /// use async_patterns::sync::{RwLock, RwLockWriteGuard};
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = RwLock::new(1);
    /// let up = RwLockWriteGuard::downgrade_to_upgradable(lock.write().await);
    /// assert!(lock.try_read().is_some());
    /// assert!(lock.try_upgradable_read().is_none());
    /// drop(up);
    /// # });
    /// ```
    pub fn downgrade_to_upgradable(guard: Self) -> RwLockUpgradableReadGuard<'a, T> {
        let lock = take_lock!(guard);
        // SAFETY: the guard held the write lock, which we now own.
        unsafe { lock.raw.downgrade(true) };
        RwLockUpgradableReadGuard::new(lock)
    }
}

impl<'a, T: ?Sized> RwLockUpgradableReadGuard<'a, T> {
    /// Waits for the readers to leave and turns this into the write lock.
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Cancel safety
    ///
    /// The guard is moved into the future: dropping the future before it completes
    /// releases the lock entirely (no write, no upgradable read is left), and wakes
    /// the readers that waited behind the upgrade.
    ///
    /// ```
    /// use async_patterns::sync::{RwLock, RwLockUpgradableReadGuard};
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = RwLock::new(1);
    /// let up = lock.upgradable_read().await;
    /// *RwLockUpgradableReadGuard::upgrade(up).await += 1;
    /// assert_eq!(*lock.read().await, 2);
    /// # });
    /// ```
    pub fn upgrade(guard: Self) -> Upgrade<'a, T> {
        let lock = take_lock!(guard);
        lock.raw.start_upgrade();
        Upgrade {
            lock,
            raw: RawWrite::upgrading(),
        }
    }

    /// [`upgrade`](Self::upgrade) that blocks the thread (for synchronous code
    /// only).
    ///
    /// ```
    /// use async_patterns::sync::{RwLock, RwLockUpgradableReadGuard};
    ///
    /// let lock = RwLock::new(1);
    /// let up = lock.upgradable_read_blocking();
    /// *RwLockUpgradableReadGuard::upgrade_blocking(up) += 1;
    /// assert_eq!(*lock.read_blocking(), 2);
    /// ```
    #[cfg(feature = "std")]
    pub fn upgrade_blocking(guard: Self) -> RwLockWriteGuard<'a, T> {
        crate::sync_facade::block_on(Self::upgrade(guard))
    }

    /// Upgrades at once if this is the only reader, or gives the guard back.
    ///
    /// # Errors
    ///
    /// Returns the unchanged guard when other readers still hold the lock.
    ///
    /// ```
    /// use async_patterns::sync::{RwLock, RwLockUpgradableReadGuard};
    ///
    /// let lock = RwLock::new(1);
    /// let up = lock.try_upgradable_read().unwrap();
    /// let reader = lock.try_read().unwrap();
    /// let up = RwLockUpgradableReadGuard::try_upgrade(up).unwrap_err();
    /// drop(reader);
    /// assert!(RwLockUpgradableReadGuard::try_upgrade(up).is_ok());
    /// ```
    pub fn try_upgrade(guard: Self) -> Result<RwLockWriteGuard<'a, T>, Self> {
        if guard.lock.raw.try_upgrade() {
            let lock = take_lock!(guard);
            Ok(RwLockWriteGuard::new(lock))
        } else {
            Err(guard)
        }
    }

    /// Gives up the upgradable part and keeps a plain read lock.
    ///
    /// ```
    /// use async_patterns::sync::{RwLock, RwLockUpgradableReadGuard};
    ///
    /// let lock = RwLock::new(1);
    /// let up = lock.try_upgradable_read().unwrap();
    /// let r = RwLockUpgradableReadGuard::downgrade(up);
    /// assert!(lock.try_upgradable_read().is_some());
    /// drop(r);
    /// ```
    pub fn downgrade(guard: Self) -> RwLockReadGuard<'a, T> {
        let lock = take_lock!(guard);
        // SAFETY: the guard held the upgradable read lock, which we now own.
        unsafe { lock.raw.downgrade_upgradable() };
        RwLockReadGuard::new(lock)
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> RwLockWriteGuardArc<T> {
    /// [`RwLockWriteGuard::downgrade`] for the owning guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::{RwLock, RwLockWriteGuardArc};
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let r = RwLockWriteGuardArc::downgrade(lock.try_write_arc().unwrap());
    /// assert_eq!(*r, 1);
    /// ```
    pub fn downgrade(guard: Self) -> RwLockReadGuardArc<T> {
        let lock = take_lock!(guard);
        // SAFETY: the guard held the write lock, which we now own.
        unsafe { lock.raw.downgrade(false) };
        RwLockReadGuardArc::new(lock)
    }

    /// [`RwLockWriteGuard::downgrade_to_upgradable`] for the owning guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::{RwLock, RwLockWriteGuardArc};
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let up = RwLockWriteGuardArc::downgrade_to_upgradable(lock.try_write_arc().unwrap());
    /// assert_eq!(*up, 1);
    /// ```
    pub fn downgrade_to_upgradable(guard: Self) -> RwLockUpgradableReadGuardArc<T> {
        let lock = take_lock!(guard);
        // SAFETY: the guard held the write lock, which we now own.
        unsafe { lock.raw.downgrade(true) };
        RwLockUpgradableReadGuardArc::new(lock)
    }
}

#[cfg(target_has_atomic = "ptr")]
impl<T: ?Sized> RwLockUpgradableReadGuardArc<T> {
    /// [`RwLockUpgradableReadGuard::upgrade`] for the owning guard.
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Cancel safety
    ///
    /// As [`RwLockUpgradableReadGuard::upgrade`]: a dropped upgrade releases the lock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::{RwLock, RwLockUpgradableReadGuardArc};
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = Arc::new(RwLock::new(1));
    /// let up = lock.upgradable_read_arc().await;
    /// *RwLockUpgradableReadGuardArc::upgrade(up).await = 5;
    /// # });
    /// ```
    pub fn upgrade(guard: Self) -> UpgradeArc<T> {
        let lock = take_lock!(guard);
        lock.raw.start_upgrade();
        UpgradeArc {
            lock: Some(lock),
            raw: RawWrite::upgrading(),
        }
    }

    /// [`upgrade`](Self::upgrade) that blocks the thread (for synchronous code
    /// only).
    #[cfg(feature = "std")]
    pub fn upgrade_blocking(guard: Self) -> RwLockWriteGuardArc<T> {
        crate::sync_facade::block_on(Self::upgrade(guard))
    }

    /// [`RwLockUpgradableReadGuard::try_upgrade`] for the owning guard.
    ///
    /// # Errors
    ///
    /// Returns the unchanged guard when other readers still hold the lock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::{RwLock, RwLockUpgradableReadGuardArc};
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let up = lock.try_upgradable_read_arc().unwrap();
    /// assert!(RwLockUpgradableReadGuardArc::try_upgrade(up).is_ok());
    /// ```
    pub fn try_upgrade(guard: Self) -> Result<RwLockWriteGuardArc<T>, Self> {
        if guard.lock.raw.try_upgrade() {
            let lock = take_lock!(guard);
            Ok(RwLockWriteGuardArc::new(lock))
        } else {
            Err(guard)
        }
    }

    /// [`RwLockUpgradableReadGuard::downgrade`] for the owning guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::{RwLock, RwLockUpgradableReadGuardArc};
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let up = lock.try_upgradable_read_arc().unwrap();
    /// let r = RwLockUpgradableReadGuardArc::downgrade(up);
    /// assert_eq!(*r, 1);
    /// ```
    pub fn downgrade(guard: Self) -> RwLockReadGuardArc<T> {
        let lock = take_lock!(guard);
        // SAFETY: the guard held the upgradable read lock, which we now own.
        unsafe { lock.raw.downgrade_upgradable() };
        RwLockReadGuardArc::new(lock)
    }
}

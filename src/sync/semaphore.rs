//! [`Semaphore`]: a fair counting semaphore (asyncio.Semaphore) with
//! `acquire_many`.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use super::waiters::{WakeBatch, keep_stale, update_waker, with_stale};
#[cfg(target_has_atomic = "ptr")]
use crate::sync_facade::PublicArc;
use crate::sync_facade::{Arc, AtomicUsize, BlockingMutex, LazyBox, Ordering, const_fn};

/// Waiters are queued: permits go to them in order, nobody else may take any.
/// Invariant: while `QUEUED` is set, the permit count in the state is zero and the
/// state changes only with the wait list locked.
const QUEUED: usize = 1;
/// The permit count is stored above the `QUEUED` bit.
const SHIFT: u32 = 1;

/// A counting semaphore: asyncio's `Semaphore`, with RAII guards.
///
/// `acquire` takes one permit, `acquire_many(n)` takes `n` at once; the guard gives
/// them back when dropped. Waiters are served strictly in FIFO order, and
/// `try_acquire*` never takes permits ahead of a queued waiter, so a waiting
/// `acquire_many(5)` is never overtaken by later `acquire()` calls: permits released
/// while it waits are set aside for it until it has all five.
///
/// asyncio's `BoundedSemaphore` exists to catch releasing more often than acquiring;
/// here a permit can only be released by dropping the guard that holds it, so that
/// mistake cannot be written. [`add_permits`](Self::add_permits) adds permits on
/// purpose.
///
/// # Implementation note
///
/// Uncontended `acquire`/release are one compare-and-swap each. The wait list of a
/// contended semaphore is allocated on first use and guarded by a lock held for a few
/// instructions, never across a wake-up (a spin lock, which yields to the OS after a
/// short spin with `std`, so on `no_std` don't release permits from an interrupt
/// handler that may preempt a task of the same core while it edits the list). Waiters
/// keep their place across partial grants, which `event-listener`'s one-shot listeners
/// cannot express, so the semaphore keeps its own queue.
///
/// # Examples
///
/// ```
/// use async_patterns::sync::Semaphore;
///
/// # futures_lite::future::block_on(async {
/// let connections = Semaphore::new(2);
/// let a = connections.acquire().await;
/// let b = connections.acquire().await;
/// assert!(connections.try_acquire().is_none());
/// drop(a);
/// assert_eq!(connections.available_permits(), 1);
/// # drop(b);
/// # });
/// ```
pub struct Semaphore {
    /// permits << SHIFT | QUEUED.
    state: AtomicUsize,
    waiters: LazyBox<BlockingMutex<WaitList>>,
}

struct WaitList {
    queue: VecDeque<Waiter>,
    /// Nodes of granted waiters, kept for reuse once their future let go of them, so
    /// a waiter that has to queue usually allocates nothing.
    spare: Vec<Arc<Node>>,
}

impl WaitList {
    /// How many granted nodes are kept for reuse.
    const SPARE_NODES: usize = 8;

    /// A node for a new waiter: a spare one that nobody else holds, or a new one.
    fn node(&mut self, missing: usize) -> Arc<Node> {
        // `get_mut` succeeds only for a node no future holds any more, and orders
        // that future's last use of it before ours.
        if let Some(i) = self
            .spare
            .iter_mut()
            .position(|n| Arc::get_mut(n).is_some())
        {
            let node = self.spare.swap_remove(i);
            node.remaining.store(missing, Ordering::Relaxed);
            return node;
        }
        Arc::new(Node {
            remaining: AtomicUsize::new(missing),
        })
    }

    /// Keeps the node of a granted waiter for reuse (its future may still hold it).
    fn recycle(&mut self, node: Arc<Node>) {
        if self.spare.len() < Self::SPARE_NODES {
            self.spare.push(node);
        }
    }
}

struct Waiter {
    node: Arc<Node>,
    waker: Waker,
}

/// A queued acquire, shared between its future and the wait list.
struct Node {
    /// Permits still missing. Written with the list locked; 0 means the acquire was
    /// granted in full and removed from the list.
    remaining: AtomicUsize,
}

impl Semaphore {
    /// The largest number of permits a semaphore can hold.
    pub const MAX_PERMITS: usize = usize::MAX >> 2;

    const_fn! {
        /// Creates a semaphore with `permits` permits. Allocates nothing, so it can
        /// be a `static`.
        ///
        /// # Panics
        ///
        /// Panics if `permits` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS).
        ///
        /// ```
        /// use async_patterns::sync::Semaphore;
        ///
        /// static LIMIT: Semaphore = Semaphore::new(8);
        /// assert_eq!(LIMIT.available_permits(), 8);
        /// ```
        pub const fn new(permits: usize) -> Self {
            assert!(
                permits <= Self::MAX_PERMITS,
                "Semaphore::new: permits exceed Semaphore::MAX_PERMITS"
            );
            Self { state: AtomicUsize::new(permits << SHIFT), waiters: LazyBox::new() }
        }
    }

    /// The number of permits free right now (a snapshot; zero while waiters queue).
    #[inline]
    pub fn available_permits(&self) -> usize {
        self.state.load(Ordering::Acquire) >> SHIFT
    }

    /// Adds `n` permits, handing them to queued waiters first.
    ///
    /// # Panics
    ///
    /// Panics if `n` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS), or if the free
    /// permits would then exceed it (permits that go to queued waiters are not
    /// counted). Permits held by guards are not counted either: a guard dropped
    /// later panics in its `Drop` if giving its permits back would take the free
    /// permits past `MAX_PERMITS`.
    ///
    /// ```
    /// use async_patterns::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(0);
    /// sem.add_permits(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    pub fn add_permits(&self, n: usize) {
        assert!(
            n <= Self::MAX_PERMITS,
            "Semaphore::add_permits: adding {n} permits exceeds Semaphore::MAX_PERMITS"
        );
        self.release(n);
    }

    /// Takes one permit if one is free and nobody is queued.
    ///
    /// ```
    /// use async_patterns::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// let guard = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(guard);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits at once if they are free and nobody is queued. An `n`
    /// above [`MAX_PERMITS`](Self::MAX_PERMITS) is never free: `None`.
    ///
    /// ```
    /// use async_patterns::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(3);
    /// let guard = sem.try_acquire_many(2).unwrap();
    /// assert_eq!(guard.permits(), 2);
    /// assert!(sem.try_acquire_many(2).is_none());
    /// ```
    #[inline]
    pub fn try_acquire_many(&self, n: usize) -> Option<SemaphoreGuard<'_>> {
        self.try_take(n).then(|| SemaphoreGuard {
            sem: self,
            permits: n,
        })
    }

    /// Waits for one permit.
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `acquire` leaves the queue, and a permit that was
    /// already set aside for it goes to the next waiter (or back to the semaphore).
    ///
    /// ```
    /// use async_patterns::sync::Semaphore;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sem = Semaphore::new(1);
    /// let guard = sem.acquire().await;
    /// assert_eq!(sem.available_permits(), 0);
    /// drop(guard);
    /// assert_eq!(sem.available_permits(), 1);
    /// # });
    /// ```
    #[inline]
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits, taken all at once. Later `acquire` calls queue behind
    /// it (FIFO), even when they would fit in the permits that are free.
    ///
    /// # Panics
    ///
    /// Panics if `n` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS) (it could never be
    /// granted). The future panics if polled again after it completed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives back every permit that was already
    /// set aside for it (they go to the next waiters in order), and it leaves the
    /// queue.
    ///
    /// ```
    /// use async_patterns::sync::Semaphore;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sem = Semaphore::new(5);
    /// let guard = sem.acquire_many(5).await;
    /// assert_eq!(guard.permits(), 5);
    /// # });
    /// ```
    #[inline]
    pub fn acquire_many(&self, n: usize) -> Acquire<'_> {
        assert!(
            n <= Self::MAX_PERMITS,
            "Semaphore::acquire_many: n exceeds Semaphore::MAX_PERMITS and could never be granted"
        );
        Acquire {
            sem: self,
            raw: RawAcquire::new(n),
        }
    }

    /// Blocks the thread until a permit is free (for synchronous code only).
    ///
    /// ```
    /// use async_patterns::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// let guard = sem.acquire_blocking();
    /// assert_eq!(sem.available_permits(), 0);
    /// drop(guard);
    /// ```
    #[cfg(feature = "std")]
    pub fn acquire_blocking(&self) -> SemaphoreGuard<'_> {
        crate::sync_facade::block_on(self.acquire())
    }

    /// Blocks the thread until `n` permits are free (for synchronous code only).
    ///
    /// # Panics
    ///
    /// Panics if `n` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS), as
    /// [`acquire_many`](Self::acquire_many) does.
    ///
    /// ```
    /// use async_patterns::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(2);
    /// assert_eq!(sem.acquire_many_blocking(2).permits(), 2);
    /// ```
    #[cfg(feature = "std")]
    pub fn acquire_many_blocking(&self, n: usize) -> SemaphoreGuard<'_> {
        crate::sync_facade::block_on(self.acquire_many(n))
    }

    // -- engine ------------------------------------------------------------

    /// Takes `n` permits if they are free and nobody is queued.
    #[inline]
    fn try_take(&self, n: usize) -> bool {
        if n > Self::MAX_PERMITS {
            // Never free; and `n << SHIFT` below would drop `n`'s top bit.
            return false;
        }
        let need = n << SHIFT;
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & QUEUED != 0 || s < need {
                return false;
            }
            match self.state.compare_exchange_weak(
                s,
                s - need,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// Gives `n` permits back: to the queued waiters first, in order.
    #[inline]
    fn release(&self, n: usize) {
        let mut s = self.state.load(Ordering::Relaxed);
        while s & QUEUED == 0 {
            let permits = s >> SHIFT;
            if permits + n > Self::MAX_PERMITS {
                // (No overflow above: both are at most MAX_PERMITS = usize::MAX >> 2.)
                too_many_permits();
            }
            match self.state.compare_exchange_weak(
                s,
                (permits + n) << SHIFT,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
        self.release_to_queue(n);
    }

    #[cold]
    fn release_to_queue(&self, n: usize) {
        self.grant(self.list(), n, WakeBatch::new());
    }

    /// The wait list, allocated on first use. Always reached through here: a thread
    /// that sees `QUEUED` with a relaxed load may not see the list's pointer yet
    /// through a plain load, but `get_or_init`'s compare-and-swap finds it.
    fn list(&self) -> &BlockingMutex<WaitList> {
        self.waiters.get_or_init(|| {
            BlockingMutex::new(WaitList {
                queue: VecDeque::new(),
                spare: Vec::new(),
            })
        })
    }

    /// Hands `left` permits to the queue in order, waking the granted waiters
    /// outside the lock, a batch at a time.
    fn grant(&self, list: &BlockingMutex<WaitList>, left: usize, batch: WakeBatch) {
        let mut granting = Granting {
            sem: self,
            list,
            left,
            batch,
        };
        loop {
            granting.batch.wake_all();
            if granting.left == 0 {
                return;
            }
            // Taken out first: if `grant_locked` panics (too many permits), the
            // guard must not try the same again while unwinding.
            let left = core::mem::take(&mut granting.left);
            list.with(|list| granting.left = self.grant_locked(list, left, &mut granting.batch));
        }
    }

    /// With the list locked: hands `avail` permits to the waiters in order, stops
    /// early when `batch` is full, and returns the permits not yet placed. When the
    /// queue runs empty, the rest goes back to the state and `QUEUED` is cleared.
    fn grant_locked(&self, list: &mut WaitList, mut avail: usize, batch: &mut WakeBatch) -> usize {
        while avail > 0 && !batch.is_full() {
            let Some(front) = list.queue.front() else {
                break;
            };
            let missing = front.node.remaining.load(Ordering::Relaxed);
            let give = missing.min(avail);
            avail -= give;
            front
                .node
                .remaining
                .store(missing - give, Ordering::Release);
            if give == missing {
                let waiter = list.queue.pop_front().unwrap();
                batch.push(waiter.waker);
                list.recycle(waiter.node);
            }
        }
        if list.queue.is_empty() {
            // Clear QUEUED and keep the rest. (If another release emptied the queue
            // and cleared QUEUED before we took the lock, this adds to the count.)
            let mut s = self.state.load(Ordering::Relaxed);
            loop {
                let next = match (s >> SHIFT).checked_add(avail) {
                    Some(total) if total <= Self::MAX_PERMITS => total << SHIFT,
                    _ => too_many_permits(),
                };
                match self.state.compare_exchange_weak(
                    s,
                    next,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return 0,
                    Err(actual) => s = actual,
                }
            }
        }
        avail
    }

    /// With the list locked: takes `n` permits if possible, otherwise takes what is
    /// free as a partial grant and returns how many are still missing.
    fn take_or_queue_locked(&self, n: usize) -> usize {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & QUEUED != 0 {
                return n; // others are ahead; the count is zero
            }
            let free = s >> SHIFT;
            let (next, missing) = if free >= n {
                ((free - n) << SHIFT, 0)
            } else {
                (QUEUED, n - free)
            };
            match self
                .state
                .compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return missing,
                Err(actual) => s = actual,
            }
        }
    }
}

/// The permits [`Semaphore::grant`] has not placed yet. Some are left when it is
/// dropped only if a waker's `wake` panicked: they are still handed to the queue
/// (or back to the semaphore), so none is lost, but no more waiters are woken
/// while the panic unwinds (a second panic would abort). Those waiters hold their
/// permits, and give them back if they are dropped.
struct Granting<'a> {
    sem: &'a Semaphore,
    list: &'a BlockingMutex<WaitList>,
    left: usize,
    batch: WakeBatch,
}

impl Drop for Granting<'_> {
    fn drop(&mut self) {
        while self.left > 0 {
            let mut unwoken = WakeBatch::new(); // dropped after the lock
            self.list
                .with(|list| self.left = self.sem.grant_locked(list, self.left, &mut unwoken));
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("Semaphore")
            .field("available_permits", &(s >> SHIFT))
            .field("waiters_queued", &(s & QUEUED != 0))
            .finish()
    }
}

#[cfg(target_has_atomic = "ptr")]
impl Semaphore {
    /// [`acquire`](Self::acquire) for a semaphore in an `Arc`; the guard is
    /// `'static`.
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Self::acquire).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::Semaphore;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sem = Arc::new(Semaphore::new(1));
    /// let guard = sem.acquire_arc().await;
    /// assert_eq!(guard.permits(), 1);
    /// # });
    /// ```
    #[inline]
    pub fn acquire_arc(self: &PublicArc<Self>) -> AcquireArc {
        self.acquire_many_arc(1)
    }

    /// [`acquire_many`](Self::acquire_many) for a semaphore in an `Arc`.
    ///
    /// # Panics
    ///
    /// As [`acquire_many`](Self::acquire_many).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire_many`](Self::acquire_many).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::Semaphore;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sem = Arc::new(Semaphore::new(3));
    /// assert_eq!(sem.acquire_many_arc(3).await.permits(), 3);
    /// # });
    /// ```
    #[inline]
    pub fn acquire_many_arc(self: &PublicArc<Self>, n: usize) -> AcquireArc {
        assert!(
            n <= Self::MAX_PERMITS,
            "Semaphore::acquire_many_arc: n exceeds Semaphore::MAX_PERMITS and could never be granted"
        );
        AcquireArc {
            sem: Some(PublicArc::clone(self)),
            raw: RawAcquire::new(n),
        }
    }

    /// [`acquire_arc`](Self::acquire_arc) that blocks the thread (for synchronous
    /// code only).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(1));
    /// let guard = sem.acquire_arc_blocking();
    /// std::thread::spawn(move || drop(guard)).join().unwrap(); // 'static
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    #[cfg(feature = "std")]
    pub fn acquire_arc_blocking(self: &PublicArc<Self>) -> SemaphoreGuardArc {
        crate::sync_facade::block_on(self.acquire_arc())
    }

    /// [`acquire_many_arc`](Self::acquire_many_arc) that blocks the thread (for
    /// synchronous code only).
    ///
    /// # Panics
    ///
    /// As [`acquire_many`](Self::acquire_many).
    #[cfg(feature = "std")]
    pub fn acquire_many_arc_blocking(self: &PublicArc<Self>, n: usize) -> SemaphoreGuardArc {
        crate::sync_facade::block_on(self.acquire_many_arc(n))
    }

    /// [`try_acquire`](Self::try_acquire) returning an owning guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(1));
    /// assert!(sem.try_acquire_arc().is_some());
    /// ```
    #[inline]
    pub fn try_acquire_arc(self: &PublicArc<Self>) -> Option<SemaphoreGuardArc> {
        self.try_acquire_many_arc(1)
    }

    /// [`try_acquire_many`](Self::try_acquire_many) returning an owning guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(2));
    /// assert_eq!(sem.try_acquire_many_arc(2).unwrap().permits(), 2);
    /// ```
    #[inline]
    pub fn try_acquire_many_arc(self: &PublicArc<Self>, n: usize) -> Option<SemaphoreGuardArc> {
        self.try_take(n).then(|| SemaphoreGuardArc {
            sem: Some(PublicArc::clone(self)),
            permits: n,
        })
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn too_many_permits() -> ! {
    panic!("Semaphore: adding permits exceeds Semaphore::MAX_PERMITS")
}

// ---------------------------------------------------------------------------
// The acquire engine
// ---------------------------------------------------------------------------

/// A pending acquire of `n` permits: not yet queued, queued (`node`), or done.
struct RawAcquire {
    n: usize,
    node: Option<Arc<Node>>,
    done: bool,
}

impl RawAcquire {
    #[inline]
    const fn new(n: usize) -> Self {
        Self {
            n,
            node: None,
            done: false,
        }
    }

    #[inline]
    fn poll(&mut self, sem: &Semaphore, cx: &mut Context<'_>) -> Poll<()> {
        if self.node.is_none() && !self.done && sem.try_take(self.n) {
            self.done = true;
            return Poll::Ready(());
        }
        self.poll_slow(sem, cx)
    }

    #[cold]
    fn poll_slow(&mut self, sem: &Semaphore, cx: &mut Context<'_>) -> Poll<()> {
        assert!(
            !self.done,
            "Semaphore acquire future polled after completion"
        );
        match &self.node {
            None => {
                if sem.try_take(self.n) {
                    self.done = true;
                    return Poll::Ready(());
                }
                let list = sem.list();
                let n = self.n;
                // Cloned before the lock: a clone that panics must not leave the
                // permits taken below with nobody to give them back.
                let mut waker = Some(cx.waker().clone());
                let node = list.with(|list| {
                    let missing = sem.take_or_queue_locked(n);
                    if missing == 0 {
                        return None;
                    }
                    let node = list.node(missing);
                    list.queue.push_back(Waiter {
                        node: Arc::clone(&node),
                        waker: waker.take().expect("cloned above"),
                    });
                    Some(node)
                });
                drop(waker); // unused if every permit was there: dropped after the lock
                match node {
                    None => {
                        self.done = true;
                        Poll::Ready(())
                    }
                    Some(node) => {
                        self.node = Some(node);
                        Poll::Pending
                    }
                }
            }
            Some(node) => {
                if node.remaining.load(Ordering::Acquire) == 0 {
                    self.node = None;
                    self.done = true;
                    return Poll::Ready(());
                }
                let list = sem.list();
                let granted = with_stale(list, |list, stale| {
                    if node.remaining.load(Ordering::Acquire) == 0 {
                        return true;
                    }
                    if let Some(w) = list.queue.iter_mut().find(|w| Arc::ptr_eq(&w.node, node)) {
                        update_waker(&mut w.waker, cx.waker(), stale);
                    }
                    false
                });
                if granted {
                    self.node = None;
                    self.done = true;
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
        }
    }

    /// Undoes a pending acquire: leaves the queue and gives back what was granted.
    #[inline]
    fn cancel(&mut self, sem: &Semaphore) {
        if self.node.is_some() {
            self.cancel_queued(sem);
        }
    }

    #[cold]
    fn cancel_queued(&mut self, sem: &Semaphore) {
        let Some(node) = self.node.take() else { return };
        let n = self.n;
        let list = sem.list();
        let mut batch = WakeBatch::new();
        let left = with_stale(list, |list, stale| {
            let missing = node.remaining.load(Ordering::Acquire);
            if missing == 0 {
                // Granted in full (and already off the list) but never observed:
                // give everything back below.
                return n;
            }
            let pos = list
                .queue
                .iter()
                .position(|w| Arc::ptr_eq(&w.node, &node))
                .expect("a waiter missing permits is queued");
            keep_stale(stale, list.queue.remove(pos).map(|waiter| waiter.waker));
            // Pass the partial grant on (this also clears QUEUED if we were last).
            sem.grant_locked(list, n - missing, &mut batch)
        });
        if node.remaining.load(Ordering::Relaxed) == 0 {
            batch.wake_all();
            sem.release(left);
        } else {
            sem.grant(list, left, batch);
        }
    }
}

// ---------------------------------------------------------------------------
// Futures
// ---------------------------------------------------------------------------

/// The future returned by [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    raw: RawAcquire,
}

impl<'a> Future for Acquire<'a> {
    type Output = SemaphoreGuard<'a>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this.raw.poll(this.sem, cx) {
            Poll::Ready(()) => Poll::Ready(SemaphoreGuard {
                sem: this.sem,
                permits: this.raw.n,
            }),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Acquire<'_> {
    #[inline]
    fn drop(&mut self) {
        self.raw.cancel(self.sem);
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("permits", &self.raw.n)
            .field("queued", &self.raw.node.is_some())
            .finish()
    }
}

/// The future returned by [`Semaphore::acquire_arc`] and
/// [`Semaphore::acquire_many_arc`].
#[cfg(target_has_atomic = "ptr")]
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct AcquireArc {
    // `None` once the guard was handed out.
    sem: Option<PublicArc<Semaphore>>,
    raw: RawAcquire,
}

#[cfg(target_has_atomic = "ptr")]
impl Future for AcquireArc {
    type Output = SemaphoreGuardArc;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let sem = this
            .sem
            .as_ref()
            .expect("AcquireArc polled after completion");
        match this.raw.poll(sem, cx) {
            Poll::Ready(()) => Poll::Ready(SemaphoreGuardArc {
                sem: this.sem.take(),
                permits: this.raw.n,
            }),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(target_has_atomic = "ptr")]
impl Drop for AcquireArc {
    fn drop(&mut self) {
        if let Some(sem) = &self.sem {
            self.raw.cancel(sem);
        }
    }
}

#[cfg(target_has_atomic = "ptr")]
impl fmt::Debug for AcquireArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireArc")
            .field("permits", &self.raw.n)
            .field("queued", &self.raw.node.is_some())
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Guards
// ---------------------------------------------------------------------------

/// Permits taken from a [`Semaphore`]; given back when dropped.
///
/// # Panics
///
/// Dropping it panics if giving its permits back would take the free permits
/// past [`Semaphore::MAX_PERMITS`] (only after [`add_permits`](Semaphore::add_permits)
/// added that many while the permits were held).
#[must_use = "if unused the permits are released at once"]
#[clippy::has_significant_drop]
pub struct SemaphoreGuard<'a> {
    sem: &'a Semaphore,
    permits: usize,
}

impl<'a> SemaphoreGuard<'a> {
    /// The semaphore the permits came from.
    ///
    /// ```
    /// use async_patterns::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// let guard = sem.try_acquire().unwrap();
    /// assert!(std::ptr::eq(guard.semaphore(), &sem));
    /// ```
    pub fn semaphore(&self) -> &'a Semaphore {
        self.sem
    }

    /// How many permits this guard holds.
    #[inline]
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// Keeps the permits out of the semaphore for good (its capacity shrinks).
    ///
    /// ```
    /// use async_patterns::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(2);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }
}

impl Drop for SemaphoreGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.sem.release(self.permits);
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard")
            .field("permits", &self.permits)
            .finish()
    }
}

/// Permits taken from a [`Semaphore`] in an `Arc` (`'static`); given back when
/// dropped.
///
/// # Panics
///
/// As [`SemaphoreGuard`]: dropping it panics if giving its permits back would
/// take the free permits past [`Semaphore::MAX_PERMITS`].
#[cfg(target_has_atomic = "ptr")]
#[must_use = "if unused the permits are released at once"]
#[clippy::has_significant_drop]
pub struct SemaphoreGuardArc {
    // Always `Some` until drop.
    sem: Option<PublicArc<Semaphore>>,
    permits: usize,
}

#[cfg(target_has_atomic = "ptr")]
impl SemaphoreGuardArc {
    /// How many permits this guard holds.
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// Keeps the permits out of the semaphore for good (its capacity shrinks).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_patterns::sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(2));
    /// sem.try_acquire_arc().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &PublicArc<Semaphore> {
        self.sem.as_ref().unwrap()
    }
}

#[cfg(target_has_atomic = "ptr")]
impl Drop for SemaphoreGuardArc {
    #[inline]
    fn drop(&mut self) {
        if let Some(sem) = self.sem.take() {
            sem.release(self.permits);
        }
    }
}

#[cfg(target_has_atomic = "ptr")]
impl fmt::Debug for SemaphoreGuardArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuardArc")
            .field("permits", &self.permits)
            .finish()
    }
}

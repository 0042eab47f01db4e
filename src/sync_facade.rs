//! The one place that picks where atomics, `Arc`, cells, the internal blocking lock
//! and `block_on` come from: `core`/`alloc`/`std`, `portable-atomic`, or `loom`
//! under `--cfg loom`. Nothing else in `src/` imports `core::sync::atomic`,
//! `alloc::sync::Arc` or `loom` directly.

// ---------------------------------------------------------------------------
// Atomics and Arc
// ---------------------------------------------------------------------------

#[allow(unused_imports)]
#[cfg(all(not(loom), not(feature = "portable-atomic")))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
#[allow(unused_imports)]
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
#[allow(unused_imports)]
#[cfg(all(not(loom), feature = "portable-atomic"))]
pub(crate) use portable_atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};

/// The `Arc` that the crate's internals share state with (loom's under loom, so loom
/// tracks its reference counts; `portable-atomic-util`'s with `portable-atomic`).
#[cfg(all(not(loom), not(feature = "portable-atomic")))]
pub(crate) use alloc::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(all(not(loom), feature = "portable-atomic"))]
pub(crate) use portable_atomic_util::Arc;

/// The `Arc` that public signatures name (`lock_arc(self: &Arc<Self>)`, ...): always
/// `alloc::sync::Arc`, which exists where the target has pointer-sized atomics.
#[cfg(target_has_atomic = "ptr")]
pub(crate) use alloc::sync::Arc as PublicArc;

/// The `Arc` behind the task set's hand-made wakers, which count through raw
/// pointers: `alloc`'s where the target has pointer-sized atomics (also under
/// loom, as its `Arc` has no raw counts), else `portable-atomic-util`'s.
#[cfg(target_has_atomic = "ptr")]
pub(crate) use alloc::sync::Arc as WakerArc;
#[cfg(all(not(target_has_atomic = "ptr"), feature = "portable-atomic"))]
pub(crate) use portable_atomic_util::Arc as WakerArc;

/// A well-mixed number that changes from call to call: where `race` and `select`
/// start polling. A relaxed counter (load and store only, so every target has it;
/// a lost update under a race only repeats a number) through a SplitMix64
/// finaliser, so that code making several fresh `select`s per loop round does not
/// give each of them the same side every round.
pub(crate) fn next_seed() -> usize {
    static COUNTER: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.load(core::sync::atomic::Ordering::Relaxed);
    COUNTER.store(n.wrapping_add(1), core::sync::atomic::Ordering::Relaxed);
    let mut z = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as usize
}

// ---------------------------------------------------------------------------
// const fn that stays const except under loom (loom's types have no const `new`)
// ---------------------------------------------------------------------------

/// Declares a function `const` except under `cfg(loom)`.
macro_rules! const_fn {
    ($(#[$attr:meta])* $vis:vis const fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attr])*
        $vis const fn $($rest)*

        #[cfg(loom)]
        $(#[$attr])*
        $vis fn $($rest)*
    };
}
pub(crate) use const_fn;

// ---------------------------------------------------------------------------
// UnsafeCell with loom's `with`/`with_mut` API, plus access tokens for guards
// ---------------------------------------------------------------------------

/// An `UnsafeCell` whose accesses loom can check.
///
/// Short accesses go through [`with`](Self::with)/[`with_mut`](Self::with_mut). A
/// guard that hands out references for as long as it lives takes an access token
/// ([`shared`](Self::shared) / [`exclusive`](Self::exclusive)) when it is created and
/// dereferences [`raw`](Self::raw) with it: under loom the token is a tracked
/// pointer, so loom reports two guards that overlap; otherwise it is a zero-sized
/// marker.
#[derive(Debug)]
pub(crate) struct UnsafeCell<T: ?Sized>(Inner<T>);

#[cfg(not(loom))]
type Inner<T> = core::cell::UnsafeCell<T>;
#[cfg(loom)]
type Inner<T> = loom::cell::UnsafeCell<T>;

impl<T> UnsafeCell<T> {
    const_fn! {
        pub(crate) const fn new(value: T) -> Self {
            Self(Inner::new(value))
        }
    }

    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

impl<T: ?Sized> UnsafeCell<T> {
    #[allow(dead_code)]
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        #[cfg(not(loom))]
        return f(self.0.get());
        #[cfg(loom)]
        return self.0.with(f);
    }

    #[allow(dead_code)]
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(not(loom))]
        return f(self.0.get());
        #[cfg(loom)]
        return self.0.with_mut(f);
    }

    /// A reference through `&mut self`: no other access can exist.
    #[inline]
    pub(crate) fn get_mut(&mut self) -> &mut T {
        #[cfg(not(loom))]
        return self.0.get_mut();
        // SAFETY: `&mut self` excludes every other access for the borrow's lifetime.
        #[cfg(loom)]
        return self.0.with_mut(|p| unsafe { &mut *p });
    }

    /// The pointer to the value, for the holder of `access` (a token taken from this
    /// cell). Under loom it comes from the token, so it adds no access of its own.
    #[inline]
    pub(crate) fn raw(&self, access: &Access<T>) -> *mut T {
        #[cfg(not(loom))]
        {
            let _ = access;
            self.0.get()
        }
        #[cfg(loom)]
        match access {
            Access::Shared(p) => p.with(|p| p.cast_mut()),
            Access::Exclusive(p) => p.with(|p| p),
            Access::Ended => unreachable!("a guard used its access after ending it"),
        }
    }

    /// Starts a shared access that lasts as long as the returned token.
    #[inline]
    pub(crate) fn shared(&self) -> Access<T> {
        #[cfg(not(loom))]
        return Access(core::marker::PhantomData);
        #[cfg(loom)]
        return Access::Shared(self.0.get());
    }

    /// Starts an exclusive access that lasts as long as the returned token.
    #[inline]
    pub(crate) fn exclusive(&self) -> Access<T> {
        #[cfg(not(loom))]
        return Access(core::marker::PhantomData);
        #[cfg(loom)]
        return Access::Exclusive(self.0.get_mut());
    }
}

/// A token for an access to an [`UnsafeCell`]; zero-sized outside loom.
#[cfg(not(loom))]
pub(crate) struct Access<T: ?Sized>(core::marker::PhantomData<fn() -> *const T>);
/// A token for an access to an [`UnsafeCell`]: loom's tracked pointer.
#[cfg(loom)]
pub(crate) enum Access<T: ?Sized> {
    Shared(loom::cell::ConstPtr<T>),
    Exclusive(loom::cell::MutPtr<T>),
    Ended,
}

impl<T: ?Sized> Access<T> {
    /// Ends the tracked access. A guard calls it *before* releasing its lock, so the
    /// next holder's access is ordered after this one's end.
    #[inline]
    pub(crate) fn end(&mut self) {
        #[cfg(loom)]
        {
            *self = Access::Ended;
        }
    }
}

impl<T: ?Sized> core::fmt::Debug for Access<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Access")
    }
}

// ---------------------------------------------------------------------------
// A short blocking lock for internal wait lists
// ---------------------------------------------------------------------------

/// A lock for critical sections of a few instructions that run no user code.
///
/// Under loom it is loom's mutex. Otherwise it is a spin lock (test, then
/// test-and-set) whose unlock is a plain release store: the sections it guards
/// are a few dozen instructions long and never wait, so a thread that finds it
/// taken is better off spinning for a moment than sleeping in the kernel, whose
/// wait and wake cost microseconds (`std::sync::Mutex` here measured 174 ns per
/// message in `benches/queue.rs`' 2-worker 4P/4C bounded(100) row, this lock 74
/// ns). A waiting thread backs off exponentially, and with `std` yields its time
/// slice after a few rounds, so a lock holder that was preempted gets the CPU
/// back. It never sleeps: with more runnable threads than cores, or real-time
/// priorities under which `yield_now` does not let the holder run, a waiter burns
/// its time slices until the holder is scheduled again. The flag comes first
/// (`repr(C)`), next to the start of the data, so a small guarded state shares its
/// cache line.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct BlockingMutex<T> {
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
    #[cfg(not(loom))]
    locked: AtomicBool,
    #[cfg(not(loom))]
    inner: UnsafeCell<T>,
}

// SAFETY: `inner` is only reached while `locked` is held, which gives one thread at
// a time exclusive access; under loom the inner mutex is Sync.
#[cfg(not(loom))]
unsafe impl<T: Send> Sync for BlockingMutex<T> {}

// Unwind-safe like `std::sync::Mutex` (which the primitives used before, so they
// stay `UnwindSafe`/`RefUnwindSafe`): the guard releases the lock as a panic
// unwinds, and the critical sections leave their state consistent when a user
// `Ord` or waker panics in them (the crate docs, "Wakers that panic";
// `tests/panicking_wakers.rs`).
#[cfg(not(loom))]
impl<T> core::panic::UnwindSafe for BlockingMutex<T> {}
#[cfg(not(loom))]
impl<T> core::panic::RefUnwindSafe for BlockingMutex<T> {}

impl<T> BlockingMutex<T> {
    const_fn! {
        pub(crate) const fn new(value: T) -> Self {
            Self {
                #[cfg(loom)]
                inner: loom::sync::Mutex::new(value),
                #[cfg(not(loom))]
                locked: AtomicBool::new(false),
                #[cfg(not(loom))]
                inner: UnsafeCell::new(value),
            }
        }
    }

    /// Runs `f` with the lock held.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        #[cfg(loom)]
        {
            f(&mut self.inner.lock().unwrap())
        }
        #[cfg(not(loom))]
        {
            if !self.try_lock() {
                self.lock_contended();
            }
            struct Unlock<'a>(&'a AtomicBool);
            impl Drop for Unlock<'_> {
                #[inline]
                fn drop(&mut self) {
                    self.0.store(false, Ordering::Release);
                }
            }
            let _unlock = Unlock(&self.locked);
            // SAFETY: `locked` is held until `_unlock` drops, after `f` returns.
            self.inner.with_mut(|p| f(unsafe { &mut *p }))
        }
    }

    /// Waits for the lock: reads until it looks free (no cache-line traffic while
    /// it is held), backing off exponentially, then tries to take it.
    #[cfg(not(loom))]
    #[cold]
    #[inline(never)]
    fn lock_contended(&self) {
        /// Rounds of spinning (1, 2, 4, ... 64 hints) before yielding.
        const SPIN_ROUNDS: u32 = 7;
        let mut round = 0;
        loop {
            while self.locked.load(Ordering::Relaxed) {
                if round < SPIN_ROUNDS {
                    for _ in 0..1u32 << round {
                        core::hint::spin_loop();
                    }
                    round += 1;
                } else {
                    #[cfg(feature = "std")]
                    std::thread::yield_now();
                    #[cfg(not(feature = "std"))]
                    core::hint::spin_loop();
                }
            }
            if self.try_lock() {
                return;
            }
        }
    }

    /// Takes the lock if it is free (may fail spuriously: callers retry).
    #[cfg(not(loom))]
    #[inline]
    fn try_lock(&self) -> bool {
        self.locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }
}

// ---------------------------------------------------------------------------
// A lazily allocated box (keeps primitives small and `new` allocation-free)
// ---------------------------------------------------------------------------

/// A `Box<T>` allocated on first use and freed on drop.
pub(crate) struct LazyBox<T> {
    ptr: AtomicPtr<T>,
    _owns: core::marker::PhantomData<alloc::boxed::Box<T>>,
}

// SAFETY: a `LazyBox<T>` owns a `T` and hands out `&T` to every thread that shares it,
// exactly like a `Box<T>` behind a `OnceLock`.
unsafe impl<T: Send> Send for LazyBox<T> {}
unsafe impl<T: Send + Sync> Sync for LazyBox<T> {}

impl<T> LazyBox<T> {
    const_fn! {
        pub(crate) const fn new() -> Self {
            Self { ptr: AtomicPtr::new(core::ptr::null_mut()), _owns: core::marker::PhantomData }
        }
    }

    /// The value, if it was allocated and this thread already sees the pointer (for
    /// snapshots only: a waiter must use `get_or_init`, whose compare-and-swap sees
    /// an allocation a plain load may miss).
    #[inline]
    pub(crate) fn get(&self) -> Option<&T> {
        let ptr = self.ptr.load(Ordering::Acquire);
        // SAFETY: a non-null pointer came from `Box::into_raw` in `get_or_init`, was
        // published with Release, and is freed only in `drop`, which has `&mut self`.
        unsafe { ptr.as_ref() }
    }

    /// The value, allocated with `init` if this is the first use.
    #[inline]
    pub(crate) fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        match self.get() {
            Some(value) => value,
            None => self.init(init),
        }
    }

    #[cold]
    fn init(&self, init: impl FnOnce() -> T) -> &T {
        let new = alloc::boxed::Box::into_raw(alloc::boxed::Box::new(init()));
        match self.ptr.compare_exchange(
            core::ptr::null_mut(),
            new,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: `new` is the live allocation we just published.
            Ok(_) => unsafe { &*new },
            Err(existing) => {
                // SAFETY: `new` was never published; we still own it. `existing`
                // was published by the winner and lives until `drop`.
                unsafe {
                    drop(alloc::boxed::Box::from_raw(new));
                    &*existing
                }
            }
        }
    }
}

impl<T> Drop for LazyBox<T> {
    fn drop(&mut self) {
        let ptr = self.ptr.load(Ordering::Acquire);
        if !ptr.is_null() {
            // SAFETY: the pointer came from `Box::into_raw` and `&mut self` means no
            // reference handed out by `get` is alive any more.
            drop(unsafe { alloc::boxed::Box::from_raw(ptr) });
        }
    }
}

impl<T> core::fmt::Debug for LazyBox<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LazyBox")
    }
}

// ---------------------------------------------------------------------------
// block_on for the `*_blocking` twins
// ---------------------------------------------------------------------------

/// Runs a future to completion on this thread, parking between polls.
#[cfg(all(feature = "std", not(loom)))]
pub(crate) fn block_on<F: core::future::Future>(future: F) -> F::Output {
    use alloc::sync::Arc as StdArc;
    use alloc::task::Wake;
    use core::task::{Context, Poll};
    use std::thread::{self, Thread};

    struct Unparker(Thread);
    impl Wake for Unparker {
        fn wake(self: StdArc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &StdArc<Self>) {
            self.0.unpark();
        }
    }

    let waker = StdArc::new(Unparker(thread::current())).into();
    let mut cx = Context::from_waker(&waker);
    let mut future = core::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}

/// Runs a future to completion under loom's scheduler.
#[cfg(loom)]
pub(crate) fn block_on<F: core::future::Future>(future: F) -> F::Output {
    loom::future::block_on(future)
}

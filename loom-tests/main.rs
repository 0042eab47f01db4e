//! Loom models of the state machines behind `Mutex`, `RwLock`, `Semaphore`,
//! `Event`, `Condvar`, `Barrier`, `Queue`, the task module's
//! `CancellationToken`, `JoinHandle`, `BackgroundTasks` and `TaskSet`, the
//! lock-free item hand-over of `stream::generate`, and the time module's
//! `Debouncer` and `ManualTimer`.
//!
//! ```text
//! CARGO_TARGET_DIR=target/loom RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test --release --test loom
//! ```
//!
//! (A separate target dir keeps the normal build cache intact.) Every model spawns
//! real loom threads (but one sanity model of `generate` on a single thread),
//! drives futures with `loom::future::block_on`, and checks one property. The data a lock protects lives in a loom-tracked [`Shared`] cell next
//! to the lock, so loom itself reports two critical sections that are not ordered
//! by the lock; the guards' own access tokens add the same check on the lock's data.
//! A waiter that is never woken shows up as a loom deadlock ("all threads blocked"),
//! so "completes under `block_on`" is a checked property, not a hope.
//! Steps that must happen in a given order across threads are sequenced with a
//! blocking [`Signal`]; a task that waits for another thread awaits a [`Bell`]. The queue models also count items: every item put comes
//! out exactly once (received, drained, or handed back by a failed put or by
//! `shutdown_now`), and no slot stays held once every permit is gone; the
//! `generate` models check that every emitted item comes out exactly once and in
//! order, with loom tracking the slot's cell. The time models move a `ManualTimer`
//! themselves.
//!
//! A blind spot of loom 0.7 (the symptom of tokio-rs/loom#392): each atomic
//! records one last access, so when a thread loads an atomic and later stores
//! it, its own load hides an earlier load of the same atomic by another thread,
//! and loom never runs the store before that earlier load. A lock-free fast path
//! (a load, then return) on the thread that runs first (the main thread runs
//! until it blocks) is therefore never shown the other thread's store. Models
//! put such an observer on a spawned thread, or run both ways round (the
//! semaphore models with `_first` variants); the load-then-store side may stay
//! on the main thread. Accesses under a lock are not affected (every lock
//! operation depends on every other).
//! Without `--cfg loom` this file compiles to nothing.
#![cfg(loom)]

mod barrier;
mod condvar;
mod event;
mod mutex;
mod queue;
mod rwlock;
mod semaphore;
mod stream;
mod task;
mod time;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use loom::sync::Mutex;
use loom::sync::atomic::{AtomicBool, Ordering};

/// Runs `f` under loom with `LOOM_MAX_PREEMPTIONS` (or loom's default) as the bound.
pub(crate) fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    check(loom::model::Builder::new(), f);
}

/// Explores `f` and reports how many executions that took (`--nocapture` shows it).
fn check<F: Fn() + Sync + Send + 'static>(builder: loom::model::Builder, f: F) {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let start = std::time::Instant::now();
    builder.check(move || {
        counter.fetch_add(1, Relaxed);
        f();
    });
    eprintln!(
        "{}: {} executions, preemption bound {:?}, {:.2?}",
        std::thread::current().name().unwrap_or("model"),
        runs.load(Relaxed),
        builder.preemption_bound,
        start.elapsed()
    );
}

/// Polls `future` exactly once with a no-op waker: enough to make it register as a
/// waiter, without anybody ever being woken for it.
pub(crate) fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// `future`, boxed and polled once: it must be pending (waiting in line, before
/// the model spawns anything).
#[track_caller]
pub(crate) fn waiting<F: Future>(future: F) -> Pin<Box<F>> {
    let mut future = Box::pin(future);
    assert!(poll_once(future.as_mut()).is_pending(), "not waiting");
    future
}

/// A one-shot signal that sequences one thread's step after another's: [`wait`]
/// blocks (it does not spin) until [`set`], and everything before `set` happens
/// before everything after `wait`.
///
/// Blocking rather than spinning matters: two threads spinning on flags at once
/// (each `yield_now`ing to the other) give loom schedules that starve the thread
/// both wait for, and the model fails with "exceeded maximum number of branches"
/// instead of exploring anything. A blocked thread is simply not scheduled.
///
/// [`wait`]: Self::wait
/// [`set`]: Self::set
pub(crate) struct Signal {
    set: AtomicBool,
    notify: loom::sync::Notify,
}

impl Signal {
    pub(crate) fn new() -> Self {
        Self {
            set: AtomicBool::new(false),
            notify: loom::sync::Notify::new(),
        }
    }

    pub(crate) fn set(&self) {
        self.set.store(true, Ordering::Release);
        self.notify.notify();
    }

    /// Whether `set` happened (a snapshot).
    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Blocks until `set`; one thread at a time may wait.
    pub(crate) fn wait(&self) {
        // `Notify` may wake spuriously: check the flag again.
        while !self.is_set() {
            self.notify.wait();
        }
    }
}

/// Runs `f` with a `'static` reference to `value`, which is dropped when `f`
/// returns: the model's main thread can then create futures that borrow the shared
/// state, poll them into a known state *before* spawning anything (so loom does not
/// explore the set-up), and move them into spawned threads.
///
/// If `f` panics, `value` is leaked rather than dropped under a thread that may still
/// use it.
///
/// # Safety
/// `f` must join every thread it gave the reference to, and keep no copy of it
/// past its return.
pub(crate) unsafe fn with_static<T: Sync + 'static, R>(
    value: T,
    f: impl FnOnce(&'static T) -> R,
) -> R {
    let value = Box::into_raw(Box::new(value));
    // SAFETY: `value` stays allocated until `f` returned, and `f` joined every thread
    // that borrowed it (the caller's contract), so no reference outlives the drop.
    let result = f(unsafe { &*value });
    drop(unsafe { Box::from_raw(value) });
    result
}

/// Data protected by the lock under test, in a loom-tracked cell: an access that is
/// not ordered after the previous conflicting one (by the lock's acquire/release)
/// fails the model as a causality violation.
pub(crate) struct Shared<T>(loom::cell::UnsafeCell<T>);

// SAFETY: every access goes through `get`/`set`, whose callers hold the lock that
// makes them exclusive (or shared-read-only); loom checks that claim.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T: Copy> Shared<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::cell::UnsafeCell::new(value))
    }

    /// Reads the value.
    ///
    /// # Safety
    /// The caller holds a lock that excludes writers.
    pub(crate) unsafe fn get(&self) -> T {
        // SAFETY: the caller excludes writers.
        self.0.with(|p| unsafe { *p })
    }

    /// Writes the value.
    ///
    /// # Safety
    /// The caller holds a lock that excludes every other access.
    pub(crate) unsafe fn set(&self, value: T) {
        // SAFETY: the caller excludes every other access.
        self.0.with_mut(|p| unsafe { *p = value })
    }
}

/// A waker slot that one side registers in and the other rings, plus an `open`
/// flag that stays set. Loom's own lock, so loom sees both sides.
pub(crate) struct Bell(Mutex<(bool, Option<Waker>)>);

impl Bell {
    pub(crate) fn new() -> Self {
        Self(Mutex::new((false, None)))
    }

    /// Wakes the task registered last, if any.
    pub(crate) fn ring(&self) {
        let waker = self.0.lock().unwrap().1.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Sets the flag for good and wakes the registered task.
    pub(crate) fn open(&self) {
        let waker = {
            let mut state = self.0.lock().unwrap();
            state.0 = true;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Registers `cx`'s task, to be woken by the next `ring` or `open`.
    pub(crate) fn register(&self, cx: &Context<'_>) -> bool {
        let mut state = self.0.lock().unwrap();
        state.1 = Some(cx.waker().clone());
        state.0
    }

    /// A future that completes once the bell is open.
    pub(crate) fn opened(&self) -> Opened<'_> {
        Opened(self)
    }
}

/// Future of [`Bell::opened`]: completes once the bell is open.
pub(crate) struct Opened<'a>(&'a Bell);

impl Future for Opened<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.register(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

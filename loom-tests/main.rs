//! Loom models of the state machines behind `Mutex`, `RwLock`, `Semaphore` and
//! `Event`.
//!
//! ```text
//! CARGO_TARGET_DIR=target/loom RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test --release --test loom
//! ```
//!
//! (A separate target dir keeps the normal build cache intact.) Every model spawns
//! real loom threads, drives futures with `loom::future::block_on`, and checks one
//! property. The data a lock protects lives in a loom-tracked [`Shared`] cell next
//! to the lock, so loom itself reports two critical sections that are not ordered
//! by the lock; the guards' own access tokens add the same check on the lock's data.
//! Without `--cfg loom` this file compiles to nothing.
#![cfg(loom)]

mod event;
mod mutex;
mod rwlock;
mod semaphore;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

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

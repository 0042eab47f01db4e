//! Python asyncio's concurrency toolbox for Rust, on any executor.
//!
//! `async-patterns` gives you the primitives asyncio programs are built from —
//! locks, semaphores, queues, events, conditions, barriers, cancellation, task sets,
//! timeouts, retry and debounce — as runtime-agnostic building blocks. They are
//! plain futures that only use the `Waker` they are polled with (the locks queue on
//! [`event-listener`](https://docs.rs/event-listener); the semaphore, event,
//! condition variable and barrier keep their own wait lists, which allocate
//! nothing per wait in steady use), so
//! they run under tokio, smol, async-std, embassy, a hand-written `block_on`, and on
//! `no_std` targets with an allocator. Their state machines are model-checked with
//! [loom](https://docs.rs/loom), and every waiting method is cancel safe: dropping
//! its future never loses a lock, a permit or a wake-up, and an item goes only
//! with the future that still holds it (a dropped `put` drops its own item;
//! `reserve` first to keep it).
//!
//! # From asyncio to async-patterns
//!
//! | asyncio | async-patterns | status |
//! | --- | --- | --- |
//! | `Lock` | [`sync::Mutex`] (owns its data) | built |
//! | (none; `aiorwlock`) | [`sync::RwLock`] | built |
//! | `Semaphore`, `BoundedSemaphore` | [`sync::Semaphore`] (FIFO, `acquire_many`) | built |
//! | `Event` | [`sync::Event`] | built |
//! | `Condition` | [`sync::Condvar`] (with [`sync::Mutex`]) | built |
//! | `Barrier` | [`sync::Barrier`] | built |
//! | `Queue`, `LifoQueue`, `PriorityQueue` | [`queue::Queue`] | built |
//! | `Task.cancel`, `CancelledError` | [`task::JoinHandle::abort`], [`task::JoinError::Cancelled`], [`task::CancellationToken`] | built |
//! | `Task.add_done_callback` | [`task::JoinHandle::on_complete`] | built |
//! | background task set | [`task::BackgroundTasks`] | built |
//! | async generators, async comprehensions | [`stream::generate`], [`stream::try_generate`], [`stream::next`] | built |
//! | `create_task` | [`task::spawn`] on your executor ([`task::Spawn`]); [`task::spawn_local`] ([`task::LocalSpawn`]) for futures that are not `Send` | built |
//! | `shield` | [`task::shield`] | built |
//! | `sleep(0)` | [`future::yield_now`] | built |
//! | `wait(FIRST_COMPLETED)` | [`task::TaskSet`], [`future::race`], [`future::select`] | built |
//! | `gather` | [`future::join_all`], [`future::try_join_all`] | built |
//! | `wait_for`, `timeout` | [`future::timeout`] (on any [`time::Timer`]) | built |
//! | retry with backoff | [`time::retry`] with [`time::Backoff`] (and [`time::ManualTimer`] for tests) | built |
//! | debounce | [`time::Debouncer`], [`time::debounce`] | built |
//!
//! # Cancellation is dropping
//!
//! In asyncio a task is cancelled by raising `CancelledError` at its `await`. In
//! Rust a future is cancelled by dropping it. Every future of this crate undoes
//! what it started when dropped, and says so under `# Cancel safety`.
//!
//! # Polling a finished future
//!
//! Like most futures, the futures of this crate must not be polled again after
//! they returned `Ready`; what they do then is not part of their contract. Many
//! panic, with a message naming the future. Others start over: a [`time::Retry`]
//! retries after an error, a queue `get` takes another item, a `join_all` returns
//! an empty `Vec`. Nothing is lost either way.
//!
//! # Wakers are woken and dropped outside the locks
//!
//! The primitives with a wait list of their own (queue, semaphore, event,
//! condition variable, barrier, cancellation token, task handles and sets, the
//! manual timer, the debouncer) guard it with a short internal lock. They wake a
//! waker, and drop one that a new poll replaced or that a dropped future left
//! behind, only after that lock is released: a waker's drop may run any code,
//! even the `Drop` of another wait on the same primitive (the last reference to
//! a task drops its future), which would otherwise spin on the lock for ever
//! (`tests/reentrant_wakers.rs`). [`sync::Mutex`] and [`sync::RwLock`] wait
//! through `event-listener` 5, which drops a replaced waker, and wakes one,
//! under its own lock: don't poll their futures with a waker whose drop waits on
//! the same lock.
//!
//! # Wakers that panic
//!
//! A waker should not panic; an executor's that does is broken. If one panics in
//! `clone`, `wake` or `wake_by_ref` all the same, the panic comes out of the call
//! that cloned or woke it, and the primitives with a wait list of their own stay
//! consistent: no item, permit, notification, arrival or place in line is lost,
//! and they go on working for everybody else (`tests/panicking_wakers.rs`). What
//! may be lost is the wake-up of the other waiters due to be woken after the
//! panicking one in the same call: each keeps what it was given (an item,
//! permits, a notification) and gets it when it is polled again, or passes it on
//! when it is dropped. `event-listener` 5, which [`sync::Mutex`] and
//! [`sync::RwLock`] wait through, counts a listener as notified only after its
//! `wake` returned; after a `wake` that panics, those two locks may stop waking
//! the tasks that wait for them.
//!
//! # Example
//!
//! ```
//! use async_patterns::sync::{Mutex, Semaphore};
//!
//! # futures_lite::future::block_on(async {
//! let total = Mutex::new(0);
//! let slots = Semaphore::new(2); // at most two jobs inside at once
//! let (total, slots) = (&total, &slots);
//! let job = |n| async move {
//!     let _slot = slots.acquire().await;
//!     assert!(slots.available_permits() < 2);
//!     *total.lock().await += n;
//! };
//! futures_lite::future::zip(job(1), futures_lite::future::zip(job(2), job(3))).await;
//! assert_eq!(*total.lock().await, 6);
//! assert_eq!(slots.available_permits(), 2);
//! # });
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `std` | yes | `*_blocking` methods (parking the thread), panics in spawned tasks caught as `JoinError::Panicked`, jitter seeds that differ between processes |
//! | `portable-atomic` | no | targets without compare-and-swap (via `portable-atomic`) |
//! | `tokio` | no | [`task::Spawn`] for `tokio::runtime::Handle`, `time::TokioTimer` |
//! | `async-io` | no | `time::AsyncIoTimer` (smol, async-std) |
//!
//! The crate is `#![no_std]` in every build and always needs `alloc`; the `std`
//! feature links `std` in for what it adds. Without it,
//! `cargo build --no-default-features --target thumbv7em-none-eabihf` builds.
#![no_std]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(
    clippy::alloc_instead_of_core,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(any(feature = "std", loom))]
extern crate std;

pub mod future;
pub mod queue;
pub mod stream;
pub mod sync;
mod sync_facade;
pub mod task;
pub mod time;

/// Aborts the process: used where continuing would break an invariant (a counter
/// about to wrap). Without `std`, a panic while panicking aborts.
#[cold]
#[inline(never)]
pub(crate) fn abort(msg: &str) -> ! {
    #[cfg(feature = "std")]
    {
        std::eprintln!("{msg}");
        std::process::abort()
    }
    #[cfg(not(feature = "std"))]
    {
        struct Abort;
        impl Drop for Abort {
            fn drop(&mut self) {
                panic!("async-patterns: aborting");
            }
        }
        let _abort = Abort;
        panic!("{}", msg)
    }
}

//! `Semaphore`: FIFO against a queued `acquire_many`, cancellation of a partial
//! grant, release vs a queued waiter, and a granted waiter dropped vs release.

use std::task::Poll;

use async_patterns::sync::Semaphore;
use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::thread;

use crate::{model, poll_once, waiting};

/// Once an `acquire_many(2)` is queued (polled `Pending`), a later `acquire()` does
/// not get a permit before it, although one would fit.
#[test]
fn queued_acquire_many_is_not_overtaken() {
    model(|| {
        let sem = Arc::new(Semaphore::new(2));
        let held = sem.try_acquire().unwrap();
        // Set by A once its acquire_many(2) is queued, and once it completed.
        let queued = Arc::new(AtomicBool::new(false));
        let many_done = Arc::new(AtomicBool::new(false));

        let a = {
            let (sem, queued, many_done) = (sem.clone(), queued.clone(), many_done.clone());
            thread::spawn(move || {
                let mut many = Box::pin(sem.acquire_many(2));
                let guard = match poll_once(many.as_mut()) {
                    Poll::Ready(guard) => guard,
                    Poll::Pending => {
                        queued.store(true, SeqCst);
                        block_on(many.as_mut())
                    }
                };
                assert_eq!(guard.permits(), 2);
                many_done.store(true, SeqCst);
                drop(guard);
            })
        };
        let b = {
            let (sem, queued, many_done) = (sem.clone(), queued.clone(), many_done.clone());
            thread::spawn(move || {
                let after_queued = queued.load(SeqCst);
                let guard = block_on(sem.acquire());
                if after_queued {
                    assert!(
                        many_done.load(SeqCst),
                        "acquire() overtook a queued acquire_many(2)"
                    );
                }
                drop(guard);
            })
        };

        drop(held);
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(sem.available_permits(), 2);
    });
}

/// An `acquire_many(2)` on a semaphore of one permit takes that permit as a partial
/// grant and queues; dropped, it gives the permit back (to the next waiter or the
/// semaphore), so a concurrent `acquire()` completes and no permit is lost while
/// another one is added.
#[test]
fn cancelled_acquire_many_returns_partial_grant() {
    model(|| {
        let sem = Arc::new(Semaphore::new(1));

        let a = {
            let sem = sem.clone();
            thread::spawn(move || {
                let mut many = Box::pin(sem.acquire_many(2));
                if let Poll::Ready(guard) = poll_once(many.as_mut()) {
                    drop(guard);
                }
                drop(many);
            })
        };
        let b = {
            let sem = sem.clone();
            thread::spawn(move || drop(block_on(sem.acquire())))
        };

        sem.add_permits(1);
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(
            sem.available_permits(),
            2,
            "permits were lost or duplicated"
        );
        assert!(sem.try_acquire_many(2).is_some());
    });
}

/// A permit released while a waiter queues always reaches it: the waiter wakes.
#[test]
fn release_wakes_queued_waiter() {
    model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire().unwrap();

        let waiter = {
            let sem = sem.clone();
            thread::spawn(move || drop(block_on(sem.acquire())))
        };

        drop(held);
        waiter.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}

/// Queue nodes are recycled: a waiter that queues twice in a row (reusing the node
/// of its first wait once that future let go of it) races a thread that releases
/// twice. Both waits complete and no permit is lost or duplicated. The waiter runs
/// on the model's main thread or on the spawned one: loom 0.7 explores a lock-free
/// load of the thread that runs first against the other's later store only when
/// the other does not load that atomic first (see main.rs), and the acquire's
/// fast path is such a load.
fn recycled_queue_node_vs_release(waiter_on_main: bool) {
    model(move || {
        let sem = Arc::new(Semaphore::new(0));
        let release = {
            let sem = sem.clone();
            move || {
                sem.add_permits(1);
                sem.add_permits(1);
            }
        };
        let wait = {
            let sem = sem.clone();
            move || {
                block_on(sem.acquire()).forget();
                block_on(sem.acquire()).forget();
            }
        };
        if waiter_on_main {
            let releaser = thread::spawn(release);
            wait();
            releaser.join().unwrap();
        } else {
            let waiter = thread::spawn(wait);
            release();
            waiter.join().unwrap();
        }
        assert_eq!(sem.available_permits(), 0);
    });
}

/// [`recycled_queue_node_vs_release`], the waiter on the main thread.
#[test]
fn recycled_queue_node_vs_release_waiter_first() {
    recycled_queue_node_vs_release(true);
}

/// [`recycled_queue_node_vs_release`], the releaser on the main thread.
#[test]
fn recycled_queue_node_vs_release_releaser_first() {
    recycled_queue_node_vs_release(false);
}

/// Two waiters queued in a known order (the first polled first); a permit is added
/// on one thread while the first waiter is dropped on another: whether the
/// permit reached the first waiter before its drop (a full grant it gives back)
/// or not, the second waiter gets it (a lost permit or wake-up is a loom
/// deadlock), and once its guard is gone the permit is free again. The second
/// waiter is driven on the main thread or on a spawned one (see
/// [`recycled_queue_node_vs_release`]: its fast path is a lock-free load).
fn granted_waiter_dropped_vs_release_passes_on(second_on_main: bool) {
    model(move || {
        // The owning waits take a std `Arc` (the crate's own, under loom too).
        let sem = std::sync::Arc::new(Semaphore::new(0));
        let first = waiting(sem.acquire_arc());
        let second = waiting(sem.acquire_arc());
        let guard = if second_on_main {
            let adder = {
                let sem = sem.clone();
                thread::spawn(move || sem.add_permits(1))
            };
            let dropper = thread::spawn(move || drop(first));
            let guard = block_on(second);
            adder.join().unwrap();
            dropper.join().unwrap();
            guard
        } else {
            let dropper = thread::spawn(move || drop(first));
            let waiter = thread::spawn(move || block_on(second));
            sem.add_permits(1);
            dropper.join().unwrap();
            waiter.join().unwrap()
        };
        assert_eq!(sem.available_permits(), 0);
        drop(guard);
        assert_eq!(sem.available_permits(), 1);
    });
}

/// [`granted_waiter_dropped_vs_release_passes_on`], the second waiter on the main
/// thread.
#[test]
fn granted_waiter_dropped_vs_release_passes_on_waiter_first() {
    granted_waiter_dropped_vs_release_passes_on(true);
}

/// [`granted_waiter_dropped_vs_release_passes_on`], the release on the main thread.
#[test]
fn granted_waiter_dropped_vs_release_passes_on_release_first() {
    granted_waiter_dropped_vs_release_passes_on(false);
}

//! `Mutex`: exclusion, wake-ups, cancellation of a pending `lock`, and of a
//! starving waiter vs a newcomer.

use std::task::Poll;

use async_patterns::sync::{Mutex, MutexGuard};
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;

use crate::{Shared, model, poll_once, waiting, with_static};

/// A mutex and the counter it protects. The counter sits next to the mutex rather
/// than in it, in its own loom-tracked cell, so loom checks the ordering the lock
/// gives independently of the guard's access token (`guard_data_is_exclusive`
/// checks the mutex's own data).
struct Counter {
    lock: Mutex<()>,
    count: Shared<usize>,
}

impl Counter {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            lock: Mutex::new(()),
            count: Shared::new(0),
        })
    }

    /// Increments inside a critical section; `_guard` must hold `lock`.
    fn bump(&self, _guard: &MutexGuard<'_, ()>) {
        // SAFETY: the guard holds the lock.
        unsafe { self.count.set(self.count.get() + 1) }
    }

    /// The final count, once every other thread was joined.
    fn total(&self) -> usize {
        // SAFETY: all other threads were joined (happens-before every access).
        unsafe { self.count.get() }
    }
}

/// Three tasks lock, increment a plain counter and unlock: no two critical sections
/// overlap (loom checks the counter's accesses and the guards' tokens), every waiter
/// is woken (no deadlock), and no increment is lost.
#[test]
fn lock_excludes_and_wakes_every_waiter() {
    model(|| {
        let c = Counter::new();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let c = c.clone();
                thread::spawn(move || {
                    let guard = block_on(c.lock.lock());
                    c.bump(&guard);
                })
            })
            .collect();
        let guard = block_on(c.lock.lock());
        c.bump(&guard);
        drop(guard);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(c.total(), 3);
        assert!(c.lock.try_lock().is_some(), "the mutex stayed locked");
    });
}

/// A `lock` future that registered as a waiter and is dropped while the owner
/// unlocks does not strand a third task: a notification it was sent passes on.
#[test]
fn dropped_pending_lock_does_not_strand_other_waiter() {
    model(|| {
        let c = Counter::new();
        let held = c.lock.try_lock().unwrap();

        let a = {
            let c = c.clone();
            thread::spawn(move || {
                let mut lock = Box::pin(c.lock.lock());
                // Registers as a waiter (or takes the lock if the owner left already).
                let entered = match poll_once(lock.as_mut()) {
                    Poll::Ready(guard) => {
                        c.bump(&guard);
                        1
                    }
                    Poll::Pending => 0,
                };
                drop(lock);
                entered
            })
        };
        let b = {
            let c = c.clone();
            thread::spawn(move || {
                let guard = block_on(c.lock.lock());
                c.bump(&guard);
            })
        };

        drop(held);
        let a_entered = a.join().unwrap();
        b.join().unwrap();
        assert_eq!(c.total(), 1 + a_entered);
        assert!(c.lock.try_lock().is_some(), "the mutex stayed locked");
    });
}

/// `try_lock` racing a `lock` waiter and the owner's unlock: it never enters while
/// another holds the lock, never strands the waiter, and leaves the mutex unlocked.
#[test]
fn try_lock_vs_lock_vs_unlock() {
    model(|| {
        let c = Counter::new();
        let held = c.lock.try_lock().unwrap();

        let a = {
            let c = c.clone();
            thread::spawn(move || match c.lock.try_lock() {
                Some(guard) => {
                    c.bump(&guard);
                    1
                }
                None => 0,
            })
        };
        let b = {
            let c = c.clone();
            thread::spawn(move || {
                let guard = block_on(c.lock.lock());
                c.bump(&guard);
            })
        };

        c.bump(&held);
        drop(held);
        let a_entered = a.join().unwrap();
        b.join().unwrap();
        assert_eq!(c.total(), 2 + a_entered);
        assert!(c.lock.try_lock().is_some(), "the mutex stayed locked");
    });
}

/// The guard's own data access: two threads increment the value inside the mutex
/// (loom tracks the guards' access tokens, so overlapping guards would fail), one of
/// them through `lock_arc`.
#[test]
fn guard_data_is_exclusive() {
    model(|| {
        let m = std::sync::Arc::new(Mutex::new(0usize));
        let t = {
            let m = m.clone();
            thread::spawn(move || *block_on(m.lock_arc()) += 1)
        };
        *block_on(m.lock()) += 1;
        t.join().unwrap();
        assert_eq!(*m.try_lock().unwrap(), 2);
    });
}

/// A waiter starves (it was woken four times and found the lock taken each time):
/// the lock is then kept free for it, and newcomers queue. It is dropped on one
/// thread while a newcomer waits for the lock on another: the dropped waiter gives
/// its priority back and passes its wake-up on, so the newcomer gets the lock (a
/// lock kept free for nobody is a loom deadlock), and the mutex ends up free.
#[test]
fn starving_waiter_dropped_vs_newcomer() {
    model(|| {
        // SAFETY: the closure joins every thread it gives the reference to.
        unsafe {
            with_static(Counter::new(), |c| {
                let mut held = Some(c.lock.try_lock().unwrap());
                let mut starving = waiting(c.lock.lock());
                // The set-up, on this thread alone: unlock and relock at once until
                // a newcomer is refused.
                for _ in 0..10 {
                    drop(held.take());
                    match c.lock.try_lock() {
                        Some(again) => {
                            held = Some(again);
                            assert!(poll_once(starving.as_mut()).is_pending());
                        }
                        None => break,
                    }
                }
                assert!(held.is_none(), "the waiter never starved");
                assert!(!c.lock.is_locked(), "kept free for the starving waiter");
                let dropper = thread::spawn(move || drop(starving));
                let newcomer = thread::spawn(move || {
                    let guard = block_on(c.lock.lock());
                    c.bump(&guard);
                });
                dropper.join().unwrap();
                newcomer.join().unwrap();
                assert_eq!(c.total(), 1);
                assert!(c.lock.try_lock().is_some(), "the mutex stayed reserved");
            })
        };
    });
}

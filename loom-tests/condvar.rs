//! `Condvar`: no lost wake-up between unlocking and waiting, notifications of
//! dropped waiters passing on (while waiting and while re-locking), and
//! `notify_all` counting only the waiters that were there.
//!
//! The counter protected by the mutex is the mutex's own data: the guards carry
//! loom access tokens, so loom fails a model whose critical sections overlap.
//! Waiters that must be queued in a known order are set up on the main thread
//! before anything is spawned ([`with_static`]), so loom spends its schedules on
//! the race itself.

use async_patterns::sync::{Condvar, Mutex};
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;

use crate::{Signal, model, poll_once, waiting, with_static};

/// A mutex-protected counter and its condition variable.
struct Cv {
    lock: Mutex<usize>,
    cv: Condvar,
}

impl Cv {
    fn new() -> Self {
        Self {
            lock: Mutex::new(0),
            cv: Condvar::new(),
        }
    }

    /// The counter, once every other thread was joined.
    fn total(&self) -> usize {
        *self.lock.try_lock().expect("the mutex stayed locked")
    }
}

/// The classic loop: A locks and waits `while !flag`, B locks, raises the flag,
/// unlocks and calls `notify_one`. A always finishes: its registration and its
/// unlock are one step, so B's notify cannot fall between them.
#[test]
fn wait_vs_notify_one_no_lost_wakeup() {
    model(|| {
        let s = Arc::new((Mutex::new(false), Condvar::new()));
        let a = {
            let s = s.clone();
            thread::spawn(move || {
                let (lock, cv) = &*s;
                let mut guard = block_on(lock.lock());
                while !*guard {
                    guard = block_on(cv.wait(guard));
                }
            })
        };
        let (lock, cv) = &*s;
        *block_on(lock.lock()) = true;
        cv.notify_one();
        a.join().unwrap();
        assert!(*lock.try_lock().unwrap());
    });
}

/// Two waiters queued in order (each poll queued it and released the lock). One
/// thread calls `notify_one` while another drops the first waiter, still in its
/// waiting phase (before or after the notification reached it), and a third
/// drives the second waiter: the notification ends up with the second waiter,
/// which completes without any further notify.
#[test]
fn dropped_waiting_waiter_passes_notification_on() {
    model(|| {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Cv::new(), |s| {
                let first = waiting(s.cv.wait(s.lock.try_lock().unwrap()));
                let second = waiting(s.cv.wait(s.lock.try_lock().unwrap()));

                let dropper = thread::spawn(move || drop(first));
                let waiter = thread::spawn(move || *block_on(second) += 1);
                assert!(s.cv.notify_one(), "two waiters were queued");
                dropper.join().unwrap();
                waiter.join().unwrap();
                assert_eq!(s.total(), 1);
            })
        };
    });
}

/// The first of two queued waiters was notified and is re-locking while a third
/// party holds the mutex. It is dropped in that phase while the third party
/// unlocks and the second waiter is driven: its notification passes to the second
/// waiter (and a mutex wake-up its `Lock` may have got passes on inside the
/// mutex), so the second waiter completes without any further notify, and sees the
/// third party's change.
#[test]
fn dropped_relocking_waiter_passes_notification_on() {
    model(|| {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Cv::new(), |s| {
                let mut first = waiting(s.cv.wait(s.lock.try_lock().unwrap()));
                let second = waiting(s.cv.wait(s.lock.try_lock().unwrap()));
                // The third party.
                let mut held = s.lock.try_lock().expect("both waiters unlocked");
                *held += 10;
                assert!(s.cv.notify_one(), "two waiters were queued");
                // Notified (it is first in line), so this poll goes on to re-lock, and
                // waits for the mutex.
                assert!(poll_once(first.as_mut()).is_pending());
                assert!(
                    format!("{first:?}").contains("relocking"),
                    "the notified waiter is not re-locking: {first:?}"
                );

                let dropper = thread::spawn(move || drop(first));
                let waiter = thread::spawn(move || {
                    let mut guard = block_on(second);
                    assert_eq!(*guard, 10, "woken before the third party's change");
                    *guard += 1;
                });
                drop(held);
                dropper.join().unwrap();
                waiter.join().unwrap();
                assert_eq!(s.total(), 11);
            })
        };
    });
}

/// The first of two queued waiters is polled and dropped while another thread
/// calls `notify_one`, with a third party holding the mutex: the poll finds it
/// still waiting or notified (then it moves on to re-locking, and waits for the
/// mutex), so the drop happens in either phase, racing the notify. Once the third
/// party unlocks, the second waiter completes without any further notify.
#[test]
fn dropped_waiter_passes_notification_on_in_either_phase() {
    model(|| {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Cv::new(), |s| {
                let mut first = waiting(s.cv.wait(s.lock.try_lock().unwrap()));
                let second = waiting(s.cv.wait(s.lock.try_lock().unwrap()));
                let held = s.lock.try_lock().expect("both waiters unlocked");

                let dropper = thread::spawn(move || {
                    // The mutex is held: whatever phase this poll ends in, it is pending.
                    assert!(poll_once(first.as_mut()).is_pending());
                    drop(first);
                });
                let waiter = thread::spawn(move || *block_on(second) += 1);
                assert!(s.cv.notify_one(), "a waiter was queued");
                dropper.join().unwrap();
                drop(held);
                waiter.join().unwrap();
                assert_eq!(s.total(), 1);
            })
        };
    });
}

/// `notify_all` races a second waiter's registration: it returns exactly the number
/// of waiters queued when it ran (1 or 2), wakes all of them, and a waiter that
/// queued after it is not woken by it: a later `notify_one` finds that waiter still
/// un-notified (and finds nobody if `notify_all` counted both). Every waiter sees
/// the change made before the notify.
#[test]
fn notify_all_wakes_exactly_the_earlier_waiters() {
    model(|| {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static((Cv::new(), Signal::new()), |(s, b_queued)| {
                let a = waiting(s.cv.wait(s.lock.try_lock().unwrap()));
                // The change that the notify announces.
                *s.lock.try_lock().expect("A unlocked") += 1;

                let a = thread::spawn(move || {
                    let mut guard = block_on(a);
                    assert!(*guard >= 1, "woken before the change that was notified");
                    *guard += 1;
                });
                let b = thread::spawn(move || {
                    let guard = block_on(s.lock.lock());
                    let mut wait = Box::pin(s.cv.wait(guard));
                    // The first poll of a wait always queues and returns Pending.
                    assert!(poll_once(wait.as_mut()).is_pending());
                    b_queued.set();
                    let mut guard = block_on(wait);
                    // Both notifies follow the change.
                    assert!(*guard >= 1, "woken before the change that was notified");
                    *guard += 1;
                });

                let b_was_queued = b_queued.is_set();
                let n = s.cv.notify_all();
                assert!(n == 1 || n == 2, "notify_all counted {n} waiters");
                if b_was_queued {
                    assert_eq!(n, 2, "notify_all missed a queued waiter");
                }
                b_queued.wait();
                // B is queued and not notified yet exactly if notify_all did not count it.
                assert_eq!(
                    s.cv.notify_one(),
                    n == 1,
                    "notify_all counted {n}, but a later notify_one disagrees"
                );
                a.join().unwrap();
                b.join().unwrap();
                assert_eq!(s.total(), 3);
            })
        };
    });
}

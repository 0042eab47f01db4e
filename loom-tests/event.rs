//! `Event`: set/clear vs wait, the lock-free `set`, and dropped waiters.

use std::sync::Arc;

use async_patterns::sync::Event;
use loom::future::block_on;
use loom::thread;

use loom::sync::atomic::{AtomicBool, Ordering};

use crate::{Shared, Signal, model, poll_once, waiting};

/// A waiter that began waiting before `set(); clear()` is never left behind, in
/// whichever order loom runs the wake-up, the `clear` and the waiter's re-check.
/// (A wait that *starts* after the `clear` rightly waits for the next `set`, so the
/// waiter signals once it has registered.)
#[test]
fn set_then_clear_vs_wait() {
    model(|| {
        let e = Arc::new(Event::new());
        let registered = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (e, registered) = (e.clone(), registered.clone());
            thread::spawn(move || {
                let wait = waiting(e.wait());
                registered.store(true, Ordering::Release);
                block_on(wait);
            })
        };
        while !registered.load(Ordering::Acquire) {
            thread::yield_now();
        }
        e.set();
        e.clear();
        waiter.join().unwrap();
        assert!(!e.is_set());
    });
}

/// Two waiters and a setter on another thread: both are released by one `set`.
#[test]
fn one_set_releases_every_waiter() {
    model(|| {
        let e = Arc::new(Event::new());
        let setter = {
            let e = e.clone();
            thread::spawn(move || e.set())
        };
        let waiter = {
            let e = e.clone();
            thread::spawn(move || block_on(e.wait()))
        };
        block_on(e.wait());
        setter.join().unwrap();
        waiter.join().unwrap();
        assert!(e.is_set());
    });
}

/// A waiter's first poll races a `set` on the lock-free path (nobody else waits):
/// whichever of the waiter's registration (setting `WAITERS`) and the `set`'s
/// compare-and-swap wins, the waiter completes; it never sleeps through the `set`.
/// What the setter wrote before `set` is visible to the waiter afterwards.
#[test]
fn first_wait_vs_lock_free_set() {
    model(|| {
        let s = Arc::new((Event::new(), Shared::new(0)));
        let waiter = {
            let s = s.clone();
            thread::spawn(move || {
                let (e, data) = &*s;
                block_on(e.wait());
                // SAFETY: the only write happened before `set`, which this wait
                // observed (Release in `set`, Acquire in the wait).
                assert_eq!(unsafe { data.get() }, 1, "wait returned before the set");
            })
        };
        let (e, data) = &*s;
        // SAFETY: the waiter reads only after its wait completed, i.e. after `set`.
        unsafe { data.set(1) };
        e.set();
        waiter.join().unwrap();
        assert!(e.is_set());
    });
}

/// A registered (pending) waiter is dropped while another thread `set`s, and a
/// second waiter waits meanwhile: the drop unlinks its slot or finds the list
/// already emptied by the `set`, nothing panics, and the second waiter is released
/// (also when the drop emptied the list and cleared `WAITERS` just as the second
/// waiter registered).
#[test]
fn dropped_waiter_vs_set_releases_other_waiter() {
    model(|| {
        let e = Arc::new(Event::new());
        let registered = Arc::new(Signal::new());
        let dropper = {
            let (e, registered) = (e.clone(), registered.clone());
            thread::spawn(move || {
                let wait = waiting(e.wait());
                registered.set();
                drop(wait);
            })
        };
        let waiter = {
            let e = e.clone();
            thread::spawn(move || block_on(e.wait()))
        };
        registered.wait();
        e.set();
        dropper.join().unwrap();
        waiter.join().unwrap();
        assert!(e.is_set());
    });
}

/// A waiter of an old generation is dropped after `set(); clear()` emptied the
/// list, while a new waiter registers (reusing the freed slot) and a second `set`
/// follows: the stale drop must not unlink the new waiter's slot (or clear
/// `WAITERS` under it, which would let the second `set` skip the lock), so the new
/// waiter is woken.
#[test]
fn stale_waiter_drop_does_not_unlink_new_waiter() {
    model(|| {
        let e = Arc::new(Event::new());
        let [old_registered, cleared, new_registered] = [(); 3].map(|()| Arc::new(Signal::new()));
        let old = {
            let (e, old_registered) = (e.clone(), old_registered.clone());
            thread::spawn(move || {
                let wait = waiting(e.wait());
                old_registered.set();
                drop(wait);
            })
        };
        let new = {
            let (e, cleared, new_registered) = (e.clone(), cleared.clone(), new_registered.clone());
            thread::spawn(move || {
                cleared.wait();
                let mut wait = Box::pin(e.wait());
                assert!(
                    poll_once(wait.as_mut()).is_pending(),
                    "a wait that began after clear() passed"
                );
                new_registered.set();
                block_on(wait);
            })
        };
        old_registered.wait();
        e.set();
        e.clear();
        cleared.set();
        new_registered.wait();
        e.set();
        old.join().unwrap();
        new.join().unwrap();
    });
}

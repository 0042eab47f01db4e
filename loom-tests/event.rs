//! `Event`: set/clear vs wait.

use std::sync::Arc;

use async_patterns::sync::Event;
use loom::future::block_on;
use loom::thread;

use loom::sync::atomic::{AtomicBool, Ordering};

use crate::{model, poll_once};

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
                let mut wait = Box::pin(e.wait());
                assert!(poll_once(wait.as_mut()).is_pending());
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

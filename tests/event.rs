//! `sync::Event`: asyncio semantics at poll level, cancel safety, threads.

mod common;

use std::sync::Arc;

use async_patterns::sync::Event;
use common::{drop_at_pending, now, pending};

#[test]
fn set_clear_is_set() {
    let e = Event::new();
    assert!(!e.is_set());
    e.set();
    assert!(e.is_set());
    e.set(); // idempotent
    assert!(e.is_set());
    e.clear();
    assert!(!e.is_set());
    assert_eq!(format!("{e:?}"), "Event { is_set: false }");
}

#[test]
fn wait_on_a_set_event_is_ready_on_the_first_poll() {
    let e = Event::new();
    e.set();
    now(e.wait());
    now(e.wait());
}

#[test]
fn set_wakes_every_waiter() {
    let e = Event::new();
    let mut waiters: Vec<_> = (0..5).map(|_| pending(e.wait())).collect();
    for w in &mut waiters {
        assert!(!w.is_woken());
        w.assert_pending();
    }
    e.set();
    for w in &mut waiters {
        assert_eq!(w.wakes(), 1);
        w.assert_ready();
    }
}

#[test]
fn set_then_clear_still_releases_the_waiters_of_that_moment() {
    let e = Event::new();
    let mut a = pending(e.wait());
    let mut b = pending(e.wait());
    e.set();
    e.clear(); // before the woken tasks run
    assert!(a.is_woken() && b.is_woken());
    a.assert_ready();
    b.assert_ready();
    // A wait that starts after the clear waits for the next set.
    let mut c = pending(e.wait());
    c.assert_pending();
    e.set();
    c.assert_ready();
}

#[test]
fn a_waiter_that_started_after_set_and_clear_waits() {
    let e = Event::new();
    e.set();
    e.clear();
    let mut w = pending(e.wait());
    assert!(!w.is_woken());
    w.assert_pending();
}

#[test]
fn spurious_polls_do_not_release() {
    let e = Event::new();
    let mut w = pending(e.wait());
    for _ in 0..3 {
        w.assert_pending();
    }
    e.clear(); // a clear without a set releases nobody
    w.assert_pending();
    assert!(!w.is_woken());
}

#[test]
fn dropped_wait_leaves_the_others_alone() {
    let e = Event::new();
    let mut a = pending(e.wait());
    drop_at_pending(e.wait());
    let notified = pending(e.wait());
    e.set();
    drop(notified); // woken, dropped before it ran
    assert!(a.is_woken());
    a.assert_ready();
    now(e.wait());
}

#[test]
fn wait_blocking_across_threads() {
    let e = Arc::new(Event::new());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let e = e.clone();
            std::thread::spawn(move || e.wait_blocking())
        })
        .collect();
    // (No `clear` here: a thread that starts waiting after `set(); clear()` would
    // rightly wait for the next `set`; that rule is tested at poll level above.)
    e.set();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
#[cfg(not(miri))] // a multi-thread tokio runtime: covered natively, too slow for miri
fn ping_pong_on_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let (ping, pong) = (Arc::new(Event::new()), Arc::new(Event::new()));
        let other = {
            let (ping, pong) = (ping.clone(), pong.clone());
            tokio::spawn(async move {
                for _ in 0..1000 {
                    ping.wait().await;
                    ping.clear();
                    pong.set();
                }
            })
        };
        for _ in 0..1000 {
            ping.set();
            pong.wait().await;
            pong.clear();
        }
        other.await.unwrap();
    });
}

#[test]
fn static_event_and_size() {
    static E: Event = Event::new();
    E.set();
    now(E.wait());
    assert!(std::mem::size_of::<Event>() <= 16);
}

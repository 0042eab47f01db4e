//! `sync::Condvar`: asyncio.Condition semantics at poll level (lock release and
//! re-take, notify counting, FIFO, no stored notifications), `wait_until`, cancel
//! safety with pass-on of notifications, the `*_arc` twins, threads.

mod common;

use std::collections::VecDeque;
use std::fmt::Debug;
use std::future::Future;
use std::ops::Deref;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use async_patterns::sync::{Condvar, Mutex, MutexGuard, MutexGuardArc};
use common::{Rng, Task, counting_waker, drop_at_pending, now, pending};

/// Items per producer in the threaded tests (fewer under miri, which is slow).
const ITEMS: u64 = if cfg!(miri) { 20 } else { 2000 };

// ---- wait: the lock ------------------------------------------------------

#[test]
fn wait_releases_the_lock_at_first_poll_and_returns_it_locked() {
    let (m, cv) = (Mutex::new(1), Condvar::new());
    let mut w = Task::new(cv.wait(m.try_lock().unwrap()));
    assert!(
        m.is_locked(),
        "before its first poll the future holds the guard"
    );
    w.assert_pending();
    assert!(!m.is_locked(), "the first poll released the lock");
    *m.try_lock()
        .expect("the lock is free while the wait is pending") = 2;
    w.assert_pending();
    assert!(!w.is_woken());
    assert!(cv.notify_one());
    assert_eq!(w.wakes(), 1);
    let mut g = w.assert_ready();
    assert!(std::ptr::eq(MutexGuard::source(&g), &m));
    assert_eq!(*g, 2, "the guard sees what was written while it waited");
    assert!(m.is_locked(), "the guard comes back locked");
    assert!(m.try_lock().is_none());
    *g = 3;
    drop(g);
    assert!(!m.is_locked());
    assert_eq!(*m.try_lock().unwrap(), 3);
}

#[test]
fn notified_wait_waits_for_the_lock() {
    let (m, cv) = (Mutex::new(0), Condvar::new());
    let mut w = pending(cv.wait(m.try_lock().unwrap()));
    let mut holder = m.try_lock().unwrap();
    assert!(cv.notify_one());
    assert_eq!(w.wakes(), 1);
    w.assert_pending(); // notified, but the mutex is held by someone else
    assert_eq!(w.wakes(), 1);
    *holder = 5;
    drop(holder);
    assert_eq!(
        w.wakes(),
        2,
        "the unlock wakes the waiter that re-takes the lock"
    );
    let g = w.assert_ready();
    assert_eq!(*g, 5);
    assert!(m.is_locked());
}

#[test]
fn unpolled_wait_just_unlocks_when_dropped() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let w = cv.wait(m.try_lock().unwrap());
    assert!(m.is_locked());
    drop(w);
    assert!(!m.is_locked());
    assert_eq!(cv.notify_all(), 0, "an unpolled wait never registered");
}

#[test]
fn spurious_polls_do_not_release() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let mut w = pending(cv.wait(m.try_lock().unwrap()));
    for _ in 0..5 {
        w.assert_pending();
    }
    assert!(!w.is_woken());
    assert!(!m.is_locked());
    // Unlocking the mutex is not a notification either.
    drop(m.try_lock().unwrap());
    w.assert_pending();
    assert!(!w.is_woken());
}

// ---- notify counts -------------------------------------------------------

#[test]
fn notify_one_returns_whether_it_woke_a_waiter() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    assert!(!cv.notify_one(), "nobody waits");
    let mut w = pending(cv.wait(m.try_lock().unwrap()));
    assert!(cv.notify_one());
    assert!(!cv.notify_one(), "the only waiter is already notified");
    assert_eq!(w.wakes(), 1);
    drop(w.assert_ready());
    assert!(!cv.notify_one(), "the waiter is gone");
}

#[test]
fn two_notify_one_calls_wake_two_waiters() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let mut a = pending(cv.wait(m.try_lock().unwrap()));
    let mut b = pending(cv.wait(m.try_lock().unwrap()));
    let mut c = pending(cv.wait(m.try_lock().unwrap()));
    assert!(cv.notify_one());
    assert!(cv.notify_one());
    assert_eq!((a.wakes(), b.wakes(), c.wakes()), (1, 1, 0));
    c.assert_pending();
    drop(a.assert_ready());
    drop(b.assert_ready());
    c.assert_pending();
    assert!(!c.is_woken());
    assert_eq!(cv.notify_all(), 1);
    drop(c.assert_ready());
}

#[test]
fn notify_n_counts_only_waiters_not_yet_notified() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let mut a = pending(cv.wait(m.try_lock().unwrap()));
    let mut b = pending(cv.wait(m.try_lock().unwrap()));
    assert_eq!(cv.notify(1), 1);
    assert_eq!(cv.notify(5), 1, "a is already notified: only b is left");
    assert_eq!(cv.notify(5), 0);
    assert_eq!((a.wakes(), b.wakes()), (1, 1));
    drop(a.assert_ready());
    drop(b.assert_ready());
}

#[test]
fn notify_n_counts_after_the_notified_waiter_left_the_list() {
    // The first waiter already consumed its notification and is re-taking the lock.
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let mut a = pending(cv.wait(m.try_lock().unwrap()));
    let mut b = pending(cv.wait(m.try_lock().unwrap()));
    let holder = m.try_lock().unwrap();
    assert_eq!(cv.notify(1), 1);
    a.assert_pending(); // re-taking the lock
    assert_eq!(cv.notify(5), 1);
    assert_eq!(b.wakes(), 1);
    assert_eq!(cv.notify(5), 0);
    drop(holder);
    drop(a.assert_ready());
    drop(b.assert_ready());
}

#[test]
fn notify_returns_how_many_it_woke() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let mut ws: Vec<_> = (0..5)
        .map(|_| pending(cv.wait(m.try_lock().unwrap())))
        .collect();
    assert_eq!(cv.notify(2), 2);
    assert_eq!(
        ws.iter().map(|w| w.wakes()).collect::<Vec<_>>(),
        [1, 1, 0, 0, 0]
    );
    assert_eq!(cv.notify(10), 3, "only three left to notify");
    assert!(ws.iter().all(|w| w.wakes() == 1));
    for w in &mut ws {
        drop(w.assert_ready());
    }
}

#[test]
fn notify_zero_wakes_nobody() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let mut w = pending(cv.wait(m.try_lock().unwrap()));
    assert_eq!(cv.notify(0), 0);
    assert!(!w.is_woken());
    w.assert_pending();
    assert_eq!(
        cv.notify(1),
        1,
        "the waiter was still waiting after notify(0)"
    );
    drop(w.assert_ready());
}

#[test]
fn notify_without_waiters_is_not_stored() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    assert!(!cv.notify_one());
    assert_eq!(cv.notify(3), 0);
    assert_eq!(cv.notify_all(), 0);
    let mut w = pending(cv.wait(m.try_lock().unwrap()));
    assert!(!w.is_woken(), "earlier notifies were not stored");
    w.assert_pending();
    assert!(cv.notify_one());
    drop(w.assert_ready());
}

#[test]
fn notify_all_returns_the_count_and_wakes_everyone() {
    let (m, cv) = (Mutex::new(0), Condvar::new());
    let mut ws: Vec<_> = (0..4)
        .map(|_| pending(cv.wait(m.try_lock().unwrap())))
        .collect();
    assert!(cv.notify_one());
    assert_eq!(cv.notify_all(), 3, "one of the four was already notified");
    assert_eq!(cv.notify_all(), 0);
    assert!(ws.iter().all(|w| w.wakes() == 1));
    // They all come back, one lock holder at a time.
    let mut first = ws[0].assert_ready();
    for w in &mut ws[1..] {
        w.assert_pending(); // the lock is held by the first
    }
    *first += 1;
    drop(first);
    for w in &mut ws[1..] {
        let mut g = w.assert_ready();
        *g += 1;
    }
    assert_eq!(*m.try_lock().unwrap(), 4);
}

#[test]
fn notify_one_is_fifo() {
    let (m, cv) = (Mutex::new(Vec::new()), Condvar::new());
    let mut ws: Vec<_> = (0..4)
        .map(|_| pending(cv.wait(m.try_lock().unwrap())))
        .collect();
    for round in 0..4 {
        assert!(cv.notify_one());
        let wakes: Vec<_> = ws.iter().map(|w| w.wakes()).collect();
        let expected: Vec<_> = (0..4).map(|i| usize::from(i <= round)).collect();
        assert_eq!(wakes, expected, "notify_one #{round} wakes waiter {round}");
        // Only the notified one comes back: the later ones are still pending.
        for w in &mut ws[round + 1..] {
            w.assert_pending();
        }
        ws[round].assert_ready().push(round);
    }
    assert_eq!(*m.try_lock().unwrap(), [0, 1, 2, 3]);
    assert!(!cv.notify_one());
}

// ---- a wait begins at its first poll -------------------------------------

#[test]
fn a_notify_before_the_first_poll_does_not_release() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let mut w = Task::new(cv.wait(m.try_lock().unwrap()));
    assert!(!cv.notify_one(), "the wait has not begun");
    assert_eq!(cv.notify_all(), 0);
    w.assert_pending();
    assert!(!w.is_woken());
    w.assert_pending();
    assert!(cv.notify_one());
    drop(w.assert_ready());
}

#[test]
fn a_wait_is_not_released_by_a_notify_that_came_before_it() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let mut a = pending(cv.wait(m.try_lock().unwrap()));
    assert!(cv.notify_one()); // for `a`
    let mut b = pending(cv.wait(m.try_lock().unwrap()));
    assert!(!b.is_woken());
    drop(a.assert_ready());
    b.assert_pending();
    assert!(!b.is_woken(), "b began after the only notify");
    assert!(cv.notify_one());
    drop(b.assert_ready());
}

// ---- wait_until ------------------------------------------------------------

#[test]
fn wait_until_is_ready_at_once_without_unlocking() {
    let (m, cv) = (Mutex::new(5), Condvar::new());
    let calls = AtomicUsize::new(0);
    let g = m.try_lock().unwrap();
    // A queued lock() would be woken if the lock were released and taken again.
    let mut queued = pending(m.lock());
    let mut g = now(cv.wait_until(g, |v| {
        calls.fetch_add(1, Ordering::Relaxed);
        *v > 0
    }));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert!(!queued.is_woken(), "the lock was never released");
    assert!(m.is_locked());
    *g += 1;
    drop(g);
    assert!(queued.is_woken());
    assert_eq!(*queued.assert_ready(), 6);
    assert_eq!(cv.notify_all(), 0, "it never registered");
}

#[test]
fn wait_until_rechecks_under_the_lock_after_each_notify() {
    let (m, cv) = (Mutex::new(0), Condvar::new());
    let calls = AtomicUsize::new(0);
    let mut w = pending(cv.wait_until(m.try_lock().unwrap(), |v| {
        assert!(m.is_locked(), "the condition runs with the lock held");
        calls.fetch_add(1, Ordering::Relaxed);
        *v >= 2
    }));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert!(!m.is_locked());

    *m.try_lock().unwrap() = 1;
    assert!(cv.notify_one());
    assert_eq!(w.wakes(), 1);
    w.assert_pending(); // 1 < 2: waits again
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    assert!(!m.is_locked(), "the lock is free again while it waits");
    assert!(m.try_lock().is_some());
    w.assert_pending();
    assert_eq!(calls.load(Ordering::Relaxed), 2, "no notify, no re-check");

    assert!(cv.notify_one(), "it registered again");
    w.assert_pending(); // still 1
    assert_eq!(calls.load(Ordering::Relaxed), 3);

    *m.try_lock().unwrap() = 2;
    assert!(cv.notify_one());
    let g = w.assert_ready();
    assert_eq!(*g, 2);
    assert!(m.is_locked());
    assert_eq!(calls.load(Ordering::Relaxed), 4);
}

#[test]
fn wait_until_condition_can_mutate_the_data() {
    let (m, cv) = (Mutex::new(Vec::new()), Condvar::new());
    let mut w = pending(cv.wait_until(m.try_lock().unwrap(), |v| {
        v.push('c');
        v.len() >= 3
    }));
    assert_eq!(*m.try_lock().unwrap(), ['c']);
    m.try_lock().unwrap().push('x');
    assert!(cv.notify_one());
    let g = w.assert_ready();
    assert_eq!(*g, ['c', 'x', 'c']);
}

#[test]
fn wait_until_waits_for_the_lock_before_checking() {
    let (m, cv) = (Mutex::new(false), Condvar::new());
    let mut w = pending(cv.wait_until(m.try_lock().unwrap(), |ready| *ready));
    let mut holder = m.try_lock().unwrap();
    assert!(cv.notify_one());
    w.assert_pending(); // notified, re-taking the lock
    *holder = true;
    drop(holder);
    assert!(w.is_woken());
    assert!(*w.assert_ready());
}

#[test]
fn wait_until_on_unsized_data() {
    let m: &Mutex<[u8]> = &Mutex::new([0u8; 3]);
    let cv = Condvar::new();
    let mut w = pending(cv.wait_until(m.try_lock().unwrap(), |s| s[1] == 7));
    m.try_lock().unwrap()[1] = 7;
    assert!(cv.notify_one());
    assert_eq!(&*w.assert_ready(), &[0, 7, 0]);
}

// ---- cancel safety, for each of the four waits ---------------------------

/// Runs `$check` once for each of the four ways to wait, each time on a fresh
/// `Arc<Mutex<u32>>` (starting at 0) and `Condvar`; the `wait_until` conditions wait
/// for a non-zero value. Afterwards nothing may hold the mutex's `Arc`.
macro_rules! each_wait {
    ($check:ident) => {{
        let (m, cv) = (Arc::new(Mutex::new(0u32)), Condvar::new());
        $check("wait", &m, &cv, || cv.wait(m.try_lock().unwrap()));
        let (m, cv) = (Arc::new(Mutex::new(0u32)), Condvar::new());
        $check("wait_until", &m, &cv, || {
            cv.wait_until(m.try_lock().unwrap(), |v| *v > 0)
        });
        let (m, cv) = (Arc::new(Mutex::new(0u32)), Condvar::new());
        $check("wait_arc", &m, &cv, || {
            cv.wait_arc(m.try_lock_arc().unwrap())
        });
        assert_eq!(Arc::strong_count(&m), 1, "wait_arc: an Arc was leaked");
        let (m, cv) = (Arc::new(Mutex::new(0u32)), Condvar::new());
        $check("wait_until_arc", &m, &cv, || {
            cv.wait_until_arc(m.try_lock_arc().unwrap(), |v| *v > 0)
        });
        assert_eq!(
            Arc::strong_count(&m),
            1,
            "wait_until_arc: an Arc was leaked"
        );
    }};
}

/// Dropped while waiting (not notified): the lock is free, the waiter is gone, and
/// a later notification goes to the other waiter.
fn check_dropped_waiting<F, G>(
    kind: &str,
    m: &Mutex<u32>,
    cv: &Condvar,
    mut make: impl FnMut() -> F,
) where
    F: Future<Output = G> + Debug,
    G: Deref<Target = u32>,
{
    drop_at_pending(make());
    assert!(!m.is_locked(), "{kind}: the lock is free after the drop");
    assert_eq!(cv.notify_all(), 0, "{kind}: no waiter left registered");

    drop(make()); // never polled: it only held the guard
    assert!(
        !m.is_locked(),
        "{kind}: an unpolled future unlocks when dropped"
    );

    let a = pending(make());
    let mut b = pending(make());
    drop(a);
    *m.try_lock().unwrap() = 1;
    assert!(cv.notify_one(), "{kind}: b still waits");
    assert_eq!(
        b.wakes(),
        1,
        "{kind}: the notify skipped the dropped waiter"
    );
    assert_eq!(*b.assert_ready(), 1);
    assert!(!m.is_locked());
    assert_eq!(cv.notify_all(), 0, "{kind}: no waiter left registered");
}

/// Notified, then dropped before it was polled again: the notification passes on.
fn check_dropped_notified<F, G>(
    kind: &str,
    m: &Mutex<u32>,
    cv: &Condvar,
    mut make: impl FnMut() -> F,
) where
    F: Future<Output = G> + Debug,
    G: Deref<Target = u32>,
{
    let a = pending(make());
    let mut b = pending(make());
    *m.try_lock().unwrap() = 1;
    assert!(cv.notify_one());
    assert!(a.is_woken() && !b.is_woken(), "{kind}: FIFO");
    drop(a);
    assert_eq!(
        b.wakes(),
        1,
        "{kind}: the dropped waiter passed its notification on"
    );
    assert_eq!(
        cv.notify_all(),
        0,
        "{kind}: b holds the passed-on notification"
    );
    assert_eq!(*b.assert_ready(), 1);
    assert!(!m.is_locked());
}

/// Notified, polled while the mutex is held by someone else (so it is re-taking the
/// lock), then dropped: the notification passes on, and the lock is not lost.
fn check_dropped_relocking<F, G>(
    kind: &str,
    m: &Mutex<u32>,
    cv: &Condvar,
    mut make: impl FnMut() -> F,
) where
    F: Future<Output = G> + Debug,
    G: Deref<Target = u32>,
{
    for unlock_first in [false, true] {
        let mut a = pending(make());
        let mut b = pending(make());
        let mut holder = m.try_lock().unwrap();
        *holder = 1;
        assert!(cv.notify_one());
        a.assert_pending();
        let phase = format!("{:?}", a.future());
        assert!(
            phase.contains("relocking"),
            "{kind}: a should be re-taking the lock, its Debug is {phase}"
        );
        assert!(!b.is_woken());
        if unlock_first {
            // The unlock wakes a's lock future, which is dropped before it runs:
            // the lock must pass on too.
            drop(holder);
            assert_eq!(
                a.wakes(),
                2,
                "{kind}: the unlock woke the re-locking waiter"
            );
            drop(a);
        } else {
            drop(a);
            drop(holder);
        }
        assert!(
            b.is_woken(),
            "{kind} (unlock first: {unlock_first}): the notification passed on"
        );
        assert_eq!(
            cv.notify_all(),
            0,
            "{kind}: b holds the passed-on notification"
        );
        let g = b.assert_ready();
        assert_eq!(*g, 1);
        drop(g);
        assert!(!m.is_locked(), "{kind}: the lock is free");
        *m.try_lock().unwrap() = 0;
    }
}

#[test]
fn dropped_waiting_future_leaves_nothing_behind() {
    each_wait!(check_dropped_waiting);
}

#[test]
fn dropped_notified_future_passes_the_notification_on() {
    each_wait!(check_dropped_notified);
}

#[test]
fn dropped_relocking_future_passes_the_notification_on() {
    each_wait!(check_dropped_relocking);
}

#[test]
fn passed_on_notification_is_not_stored_without_waiters() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let mut a = pending(cv.wait(m.try_lock().unwrap()));
    let holder = m.try_lock().unwrap();
    assert!(cv.notify_one());
    a.assert_pending(); // re-taking the lock
    drop(a); // passes its notification on: nobody is there
    drop(holder);
    let mut late = pending(cv.wait(m.try_lock().unwrap()));
    assert!(!late.is_woken());
    late.assert_pending();
    assert!(cv.notify_one());
    drop(late.assert_ready());
}

#[test]
fn passed_on_notification_skips_waiters_already_notified() {
    // notify_all, then one of them is cancelled: the others keep exactly one
    // notification each and nobody else gets one.
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let a = pending(cv.wait(m.try_lock().unwrap()));
    let mut b = pending(cv.wait(m.try_lock().unwrap()));
    assert_eq!(cv.notify_all(), 2);
    let mut c = pending(cv.wait(m.try_lock().unwrap()));
    drop(a);
    assert_eq!(
        c.wakes(),
        1,
        "a's notification passed to the next waiter not yet notified"
    );
    assert_eq!(b.wakes(), 1);
    drop(b.assert_ready());
    drop(c.assert_ready());
    assert_eq!(cv.notify_all(), 0);
}

// ---- the Arc variants ------------------------------------------------------

#[test]
fn wait_arc_with_mutex_guard_arc() {
    let (m, cv) = (Arc::new(Mutex::new(0)), Condvar::new());
    let mut w = pending(cv.wait_arc(m.try_lock_arc().unwrap()));
    assert!(!m.is_locked());
    *m.try_lock().unwrap() = 9;
    assert!(cv.notify_one());
    let g: MutexGuardArc<i32> = w.assert_ready();
    assert!(Arc::ptr_eq(MutexGuardArc::source(&g), &m));
    assert_eq!(*g, 9);
    assert!(m.is_locked());
    drop(g);
    drop(w);
    assert_eq!(Arc::strong_count(&m), 1);
}

#[test]
fn wait_until_arc_with_mutex_guard_arc() {
    let (m, cv) = (Arc::new(Mutex::new(0)), Condvar::new());
    let mut w = pending(cv.wait_until_arc(m.try_lock_arc().unwrap(), |v| {
        *v += 1;
        *v >= 3
    }));
    assert_eq!(*m.try_lock().unwrap(), 1);
    assert!(cv.notify_one());
    w.assert_pending();
    assert_eq!(*m.try_lock().unwrap(), 2);
    assert!(cv.notify_one());
    let g = w.assert_ready();
    assert_eq!(*g, 3);
    assert!(m.is_locked());
    drop(g);
    drop(w);
    assert_eq!(Arc::strong_count(&m), 1);
}

#[test]
fn wait_until_arc_ready_at_once() {
    let (m, cv) = (Arc::new(Mutex::new(1)), Condvar::new());
    let g = now(cv.wait_until_arc(m.try_lock_arc().unwrap(), |v| *v == 1));
    assert!(m.is_locked());
    drop(g);
    assert_eq!(Arc::strong_count(&m), 1);
}

// ---- wakers ----------------------------------------------------------------

#[test]
fn notify_wakes_the_latest_waker() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let mut w = pin!(cv.wait(m.try_lock().unwrap()));
    let (old, old_count) = counting_waker();
    let (new, new_count) = counting_waker();
    assert!(w.as_mut().poll(&mut Context::from_waker(&old)).is_pending());
    assert!(w.as_mut().poll(&mut Context::from_waker(&new)).is_pending());
    assert!(cv.notify_one());
    assert_eq!((old_count.count(), new_count.count()), (0, 1));
    assert!(matches!(
        w.as_mut().poll(&mut Context::from_waker(&new)),
        Poll::Ready(_)
    ));
}

// ---- many waiters, and a model ---------------------------------------------

#[test]
fn notify_all_wakes_more_waiters_than_fit_in_a_batch() {
    let (m, cv) = (Mutex::new(0), Condvar::new());
    for n in [16, 17, 40] {
        let mut ws: Vec<_> = (0..n)
            .map(|_| pending(cv.wait(m.try_lock().unwrap())))
            .collect();
        assert_eq!(cv.notify(n - 10), n - 10);
        assert_eq!(cv.notify_all(), 10, "{n} waiters");
        for (i, w) in ws.iter_mut().enumerate() {
            assert_eq!(w.wakes(), 1, "{n} waiters: waiter {i}");
            *w.assert_ready() += 1;
        }
        assert_eq!(cv.notify_all(), 0);
    }
    assert_eq!(*m.try_lock().unwrap(), 16 + 17 + 40);
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Model {
    /// Waiting, not notified.
    Queued,
    /// Notified, not polled since.
    Notified,
    /// Notified and polled while the mutex was held: re-taking the lock (its wake
    /// count is the mutex's business from here on).
    Relocking,
}

#[test]
fn random_waits_notifies_and_drops_match_a_fifo_model() {
    // Random sequences of waits, notify(n), drops (queued, notified or re-locking)
    // and polls, checked against a model of asyncio's rules: notify(n) notifies
    // the first min(n, queued) queued waiters in arrival order and returns how many;
    // a dropped waiter that held a notification passes it to the first queued one;
    // a queued waiter never completes.
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let steps = if cfg!(miri) { 400 } else { 20_000 };
    // (waiter, state, expected wakes while queued or notified), in arrival order.
    let mut ws: Vec<(Task<_>, Model, usize)> = Vec::new();
    let mut holder = None;
    // Gives the notification of a dropped waiter to the first queued one.
    fn pass_on(ws: &mut [(Task<impl Future>, Model, usize)]) {
        if let Some(w) = ws.iter_mut().find(|w| w.1 == Model::Queued) {
            w.1 = Model::Notified;
            w.2 += 1;
        }
    }
    for step in 0..steps {
        match rng.below(10) {
            0..=2 => {
                if let Some(g) = m.try_lock() {
                    ws.push((pending(cv.wait(g)), Model::Queued, 0));
                }
            }
            3 | 4 => {
                let n = [0, 1, 1, 2, 3, usize::MAX][rng.below(6)];
                let queued = ws.iter().filter(|w| w.1 == Model::Queued).count();
                let expected = n.min(queued);
                assert_eq!(cv.notify(n), expected, "step {step}: notify({n})");
                for w in ws
                    .iter_mut()
                    .filter(|w| w.1 == Model::Queued)
                    .take(expected)
                {
                    w.1 = Model::Notified;
                    w.2 += 1;
                }
            }
            5 if !ws.is_empty() => {
                let (_, state, _) = ws.remove(rng.below(ws.len()));
                if state != Model::Queued {
                    pass_on(&mut ws);
                }
            }
            6 | 7 if !ws.is_empty() => {
                let at = rng.below(ws.len());
                let w = &mut ws[at];
                match (w.1, w.0.poll()) {
                    (Model::Queued, Poll::Ready(_)) => {
                        panic!("step {step}: a waiter that was not notified completed")
                    }
                    (Model::Queued, Poll::Pending) => {}
                    (_, Poll::Ready(guard)) => {
                        drop(guard);
                        ws.remove(at);
                    }
                    (_, Poll::Pending) => w.1 = Model::Relocking,
                }
            }
            8 => holder = if holder.is_some() { None } else { m.try_lock() },
            _ => {}
        }
        for (i, w) in ws.iter().enumerate() {
            if w.1 != Model::Relocking {
                assert_eq!(
                    w.0.wakes(),
                    w.2,
                    "step {step}: waiter {i} in state {:?}",
                    w.1
                );
            }
        }
        let queued = ws.iter().filter(|w| w.1 == Model::Queued).count();
        assert!(ws.len() >= queued);
    }
    // Everyone left gets through.
    drop(holder);
    cv.notify_all();
    for round in 0.. {
        assert!(
            round < 1000,
            "waiters left hanging: {:?}",
            ws.iter().map(|w| w.1).collect::<Vec<_>>()
        );
        ws.retain_mut(|w| w.0.poll().is_pending());
        if ws.is_empty() {
            break;
        }
    }
    assert_eq!(cv.notify_all(), 0);
    assert!(!m.is_locked());
}

// ---- threads -------------------------------------------------------------

/// The queue of the producer/consumer tests: `None` tells a consumer to stop.
type Queue = Mutex<VecDeque<Option<u64>>>;

fn check_consumed(mut consumed: Vec<u64>, producers: u64) {
    consumed.sort_unstable();
    let expected: Vec<u64> = (0..producers * ITEMS).collect();
    assert_eq!(consumed.len(), expected.len(), "items lost or duplicated");
    assert!(consumed == expected, "every item consumed exactly once");
}

#[test]
#[cfg(not(miri))] // a multi-thread tokio runtime: covered natively, too slow for miri
fn producer_consumer_on_tokio() {
    const PRODUCERS: u64 = 2;
    const CONSUMERS: usize = 4;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let consumed = rt.block_on(async {
        let queue = Arc::new(Queue::new(VecDeque::new()));
        let cv = Arc::new(Condvar::new());
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|id| {
                let (queue, cv) = (queue.clone(), cv.clone());
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        // Each of the four waits, one consumer each.
                        let item = match id % 4 {
                            0 => {
                                let g = queue.lock().await;
                                let mut g = cv.wait_until(g, |q| !q.is_empty()).await;
                                g.pop_front().unwrap()
                            }
                            1 => {
                                let mut g = queue.lock().await;
                                while g.is_empty() {
                                    g = cv.wait(g).await;
                                }
                                g.pop_front().unwrap()
                            }
                            2 => {
                                let g = queue.lock_arc().await;
                                let mut g = cv.wait_until_arc(g, |q| !q.is_empty()).await;
                                g.pop_front().unwrap()
                            }
                            _ => {
                                let mut g = queue.lock_arc().await;
                                while g.is_empty() {
                                    g = cv.wait_arc(g).await;
                                }
                                g.pop_front().unwrap()
                            }
                        };
                        match item {
                            Some(item) => got.push(item),
                            None => return got,
                        }
                    }
                })
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (queue, cv) = (queue.clone(), cv.clone());
                tokio::spawn(async move {
                    for i in 0..ITEMS {
                        queue.lock().await.push_back(Some(p * ITEMS + i));
                        if i % 2 == 0 {
                            cv.notify_one();
                        } else {
                            cv.notify(1);
                        }
                        if i % 16 == 0 {
                            common::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        let all = async {
            for p in producers {
                p.await.unwrap();
            }
            for _ in 0..CONSUMERS {
                queue.lock().await.push_back(None);
                cv.notify_one();
            }
            let mut consumed = Vec::new();
            for c in consumers {
                consumed.extend(c.await.unwrap());
            }
            consumed
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), all)
            .await
            .expect("a consumer missed a notification (hung for 60 s)")
    });
    check_consumed(consumed, PRODUCERS);
}

#[test]
fn producer_consumer_on_threads_blocking() {
    const PRODUCERS: u64 = 2;
    const CONSUMERS: usize = 4;
    let queue = Arc::new(Queue::new(VecDeque::new()));
    let cv = Arc::new(Condvar::new());
    let consumed = {
        let (queue, cv) = (queue.clone(), cv.clone());
        common::within_a_minute(move || {
            std::thread::scope(|s| {
                let consumers: Vec<_> = (0..CONSUMERS)
                    .map(|id| {
                        let (queue, cv) = (&queue, &cv);
                        s.spawn(move || {
                            let mut got = Vec::new();
                            loop {
                                let item = match id % 4 {
                                    0 => {
                                        let mut g = queue.lock_blocking();
                                        g = cv.wait_until_blocking(g, |q| !q.is_empty());
                                        g.pop_front()
                                    }
                                    1 => {
                                        let mut g = queue.lock_blocking();
                                        while g.is_empty() {
                                            g = cv.wait_blocking(g);
                                        }
                                        g.pop_front()
                                    }
                                    2 => {
                                        let g = queue.lock_arc_blocking();
                                        let mut g =
                                            cv.wait_until_arc_blocking(g, |q| !q.is_empty());
                                        g.pop_front()
                                    }
                                    _ => {
                                        let mut g = queue.lock_arc_blocking();
                                        while g.is_empty() {
                                            g = cv.wait_arc_blocking(g);
                                        }
                                        g.pop_front()
                                    }
                                };
                                match item.unwrap() {
                                    Some(item) => got.push(item),
                                    None => return got,
                                }
                            }
                        })
                    })
                    .collect();
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|p| {
                        let (queue, cv) = (&queue, &cv);
                        s.spawn(move || {
                            for i in 0..ITEMS {
                                queue.lock_blocking().push_back(Some(p * ITEMS + i));
                                cv.notify_one();
                            }
                        })
                    })
                    .collect();
                for p in producers {
                    p.join().unwrap();
                }
                for _ in 0..CONSUMERS {
                    queue.lock_blocking().push_back(None);
                    cv.notify_one();
                }
                consumers
                    .into_iter()
                    .flat_map(|c| c.join().unwrap())
                    .collect::<Vec<_>>()
            })
        })
    };
    check_consumed(consumed, PRODUCERS);
    assert!(queue.try_lock().unwrap().is_empty());
    assert_eq!(cv.notify_all(), 0);
}

// ---- misc --------------------------------------------------------------------

#[test]
fn debug_default_and_static() {
    static CV: Condvar = Condvar::new();
    assert_eq!(CV.notify_all(), 0);
    let cv = Condvar::default();
    assert_eq!(format!("{cv:?}"), "Condvar { .. }");
    let m = Mutex::new(0);
    let w = cv.wait(m.try_lock().unwrap());
    assert!(format!("{w:?}").starts_with("CondvarWait"));
    let mut w = Task::new(w);
    w.assert_pending();
    assert!(format!("{:?}", w.future()).contains("waiting"));
    let u = cv.wait_until(m.try_lock().unwrap(), |_| true);
    assert!(format!("{u:?}").starts_with("CondvarWaitUntil"));
    drop(u);
    drop(w);
    let m = Arc::new(m);
    let a = cv.wait_arc(m.try_lock_arc().unwrap());
    assert!(format!("{a:?}").starts_with("CondvarWaitArc"));
    drop(a);
    let ua = cv.wait_until_arc(m.try_lock_arc().unwrap(), |_| true);
    assert!(format!("{ua:?}").starts_with("CondvarWaitUntilArc"));
}

/// The guard that comes back lives as long as the mutex borrow, not as long as the
/// borrow of the condvar (which may be shorter).
async fn first_item<'m>(items: &'m Mutex<Vec<u8>>, cv: &Condvar) -> MutexGuard<'m, Vec<u8>> {
    let guard = items.lock().await;
    cv.wait_until(guard, |items| !items.is_empty()).await
}

#[test]
fn the_guard_outlives_the_condvar_borrow() {
    let items = Mutex::new(vec![7]);
    let guard = {
        let cv = Condvar::new();
        now(first_item(&items, &cv))
    };
    assert_eq!(*guard, [7]);
}

#[test]
fn wait_panics_when_polled_again() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let mut wait = pending(cv.wait(m.try_lock().unwrap()));
    cv.notify(1);
    drop(wait.assert_ready());
    common::assert_panics_when_polled_again(wait, "Condvar wait future polled after completion");
    assert!(!m.is_locked());
}

//! Waiting allocates nothing in steady use, as the docs of `Semaphore`, `Event`,
//! `Condvar` and the queue's wait lists say (and a `ManualTimer`'s sleeps leave
//! no entry behind): once a primitive has had waiters, a
//! round of waiting (a future queues, is released, completes) makes no
//! allocation (`cargo mutants` found that a semaphore that never reused its nodes
//! passed every other test); and a primitive nobody waited on has allocated no
//! wait list at all. A counting global allocator keeps a per-thread tally of
//! allocations, so the harness's other threads don't disturb the figures.
//!
//! The futures are pinned on the stack and polled with `Waker::noop()`, whose
//! clones allocate nothing, so every allocation counted is the primitive's.

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use async_patterns::queue::Queue;
use async_patterns::sync::{Barrier, Condvar, Event, Mutex, Semaphore};
use async_patterns::time::{ManualTimer, Timer};
use counting_alloc::{Counting, allocations};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Polls `future` once with a waker that allocates nothing.
fn poll<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// The allocations of 100 rounds of `round`, after 4 rounds to warm up.
fn steady_allocations(mut round: impl FnMut()) -> usize {
    for _ in 0..4 {
        round();
    }
    let before = allocations();
    for _ in 0..100 {
        round();
    }
    allocations() - before
}

/// Nobody waits: the wait lists, allocated on first wait, are never allocated.
/// Notifies, sets and uncontended acquires are the atomic fast paths the docs
/// describe (`cargo mutants` found that a `Condvar::notify` sent down its locked
/// path with nobody waiting, which allocates the list, passed every other test).
#[test]
fn primitives_nobody_waits_on_allocate_nothing() {
    let before = allocations();
    let cv = Condvar::new();
    assert!(!cv.notify_one());
    assert_eq!(cv.notify(3), 0);
    assert_eq!(cv.notify_all(), 0);
    let e = Event::new();
    e.set();
    assert!(poll(pin!(e.wait())).is_ready(), "set: no wait");
    e.clear();
    let s = Semaphore::new(1);
    let guard = s.try_acquire().expect("a permit is free");
    drop(guard);
    let Poll::Ready(guard) = poll(pin!(s.acquire())) else {
        panic!("a permit is free")
    };
    drop(guard);
    s.add_permits(2);
    let m = Mutex::new(0);
    *m.try_lock().expect("free") += 1;
    let b = Barrier::new(2);
    assert_eq!((b.n_waiting(), b.is_broken()), (0, false));
    assert_eq!(
        allocations() - before,
        0,
        "a primitive nobody waited on allocated"
    );
}

#[test]
fn semaphore_waiters_reuse_their_queue_nodes() {
    let s = Semaphore::new(0);
    let allocated = steady_allocations(|| {
        // Two waiters: the first is granted in two parts, the second in one.
        let mut a = pin!(s.acquire_many(2));
        let mut b = pin!(s.acquire());
        assert!(poll(a.as_mut()).is_pending());
        assert!(poll(b.as_mut()).is_pending());
        s.add_permits(1);
        assert!(poll(a.as_mut()).is_pending(), "one of two permits");
        s.add_permits(2);
        let Poll::Ready(ga) = poll(a) else {
            panic!("a was granted")
        };
        let Poll::Ready(gb) = poll(b) else {
            panic!("b was granted")
        };
        ga.forget();
        gb.forget();
    });
    assert_eq!(allocated, 0, "queueing on a warm semaphore allocates");
}

#[test]
fn event_waits_reuse_their_slots() {
    let e = Event::new();
    let allocated = steady_allocations(|| {
        e.clear();
        let mut w = pin!(e.wait());
        assert!(poll(w.as_mut()).is_pending());
        e.set();
        assert!(poll(w).is_ready());
    });
    assert_eq!(allocated, 0, "waiting on a warm event allocates");
}

#[test]
fn condvar_waits_reuse_their_slots() {
    let (m, cv) = (Mutex::new(0u64), Condvar::new());
    let allocated = steady_allocations(|| {
        let guard = m.try_lock().expect("free");
        let mut w = pin!(cv.wait(guard));
        assert!(poll(w.as_mut()).is_pending());
        assert_eq!(cv.notify(1), 1);
        let Poll::Ready(mut guard) = poll(w) else {
            panic!("notified, the mutex free")
        };
        *guard += 1;
    });
    assert_eq!(
        allocated, 0,
        "waiting on a warm condition variable allocates"
    );
    assert_eq!(*m.try_lock().unwrap(), 104);
}

#[test]
fn queue_gets_and_puts_reuse_their_slots() {
    let q = Queue::bounded(1);
    let allocated = steady_allocations(|| {
        // A get waits for an item.
        let mut get = pin!(q.get());
        assert!(poll(get.as_mut()).is_pending());
        q.try_put(1).unwrap();
        assert_eq!(poll(get), Poll::Ready(Ok(1)));
        // A put waits for room.
        q.try_put(2).unwrap();
        let mut put = pin!(q.put(3));
        assert!(poll(put.as_mut()).is_pending());
        assert_eq!(q.try_get(), Ok(2));
        assert_eq!(poll(put), Poll::Ready(Ok(())));
        assert_eq!(q.try_get(), Ok(3));
    });
    assert_eq!(allocated, 0, "waiting on a warm queue allocates");
}

/// Sleeps on a `ManualTimer` that come and go leave no entry behind: one dropped
/// while pending, one woken by `advance` and dropped without being polled again,
/// one that completes. (`pending()` does not count entries that are due, so a
/// leaked entry of a woken sleep shows only as the clock's list growing.)
#[test]
fn manual_timer_sleeps_leave_no_entry_behind() {
    let timer = ManualTimer::new();
    let second = std::time::Duration::from_secs(1);
    let allocated = steady_allocations(|| {
        let mut completes = pin!(timer.sleep(second));
        assert!(poll(completes.as_mut()).is_pending());
        {
            let mut dropped = pin!(timer.sleep(second));
            assert!(poll(dropped.as_mut()).is_pending());
        }
        {
            let mut woken = pin!(timer.sleep(second));
            assert!(poll(woken.as_mut()).is_pending());
            timer.advance(second);
        }
        assert!(poll(completes.as_mut()).is_ready());
    });
    // The clock's own list allocates nothing once grown: the one allocation of a
    // round is `advance`'s list of the due wakers (woken after its lock).
    assert_eq!(allocated, 100);
}

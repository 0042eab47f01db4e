//! `queue::Queue`: the three orders, backpressure and permits, `task_done`/`join`,
//! graceful and immediate shutdown, cancel safety with pass-on of wake-ups, the
//! `Sender`/`Receiver` split, the blocking twins, threads, and a property test of
//! random operation sequences against a plain model.

mod common;

use std::cmp::Ordering as CmpOrdering;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use async_patterns::queue::{
    Get, Join, Put, PutError, PutPermit, Queue, QueueStream, Reserve, ShutdownError, TaskDoneError,
    TryGetError, TryPutError,
};
use common::{
    StreamTask, Task, drop_at_pending, drop_at_pending_releasing_waker, now, panics, pending,
    within_a_minute,
};
use futures::StreamExt;
use futures::stream::StreamFuture;
use proptest::prelude::*;

/// Items per producer in the threaded tests (fewer under miri, which is slow).
const ITEMS: u64 = if cfg!(miri) { 20 } else { 2000 };

/// An item ordered by `key` only: `id` tells items with equal keys apart, so a test
/// can see in which order equal items come out.
#[derive(Debug, Clone, Copy)]
struct Job {
    key: u8,
    id: u32,
}

impl PartialEq for Job {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Job {}

impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Job {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.key.cmp(&other.key)
    }
}

fn job(key: u8, id: u32) -> Job {
    Job { key, id }
}

/// Takes every item with `try_get`, as `(key, id)` pairs.
fn drain(q: &Queue<Job>) -> Vec<(u8, u32)> {
    std::iter::from_fn(|| q.try_get().ok())
        .map(|j| (j.key, j.id))
        .collect()
}

/// Every constructor, named, with the capacity it should report.
fn every_kind<T: Ord>() -> Vec<(&'static str, Queue<T>, Option<usize>)> {
    vec![
        ("bounded", Queue::bounded(8), Some(8)),
        ("unbounded", Queue::unbounded(), None),
        ("bounded_lifo", Queue::bounded_lifo(8), Some(8)),
        ("unbounded_lifo", Queue::unbounded_lifo(), None),
        ("bounded_priority", Queue::bounded_priority(8), Some(8)),
        ("unbounded_priority", Queue::unbounded_priority(), None),
    ]
}

// ---- order -----------------------------------------------------------------

/// Keys put in this order (ids 0, 1, 2, ...).
const KEYS: [u8; 7] = [3, 1, 3, 2, 1, 0, 3];

#[test]
fn fifo_lifo_and_priority_order() {
    for (name, q, _) in every_kind::<Job>() {
        for (id, key) in KEYS.into_iter().enumerate() {
            q.try_put(job(key, id as u32)).unwrap();
        }
        let ids: Vec<u32> = drain(&q).into_iter().map(|(_, id)| id).collect();
        let expected: &[u32] = if name.ends_with("lifo") {
            &[6, 5, 4, 3, 2, 1, 0]
        } else if name.ends_with("priority") {
            // Smallest key first; equal keys in the order they were put.
            &[5, 1, 4, 3, 0, 2, 6]
        } else {
            &[0, 1, 2, 3, 4, 5, 6]
        };
        assert_eq!(ids, expected, "{name}");
    }
}

#[test]
fn priority_order_holds_across_interleaved_puts_and_gets() {
    let q: Queue<Job> = Queue::unbounded_priority();
    let mut model: Vec<(u8, u32)> = Vec::new();
    let mut rng = common::Rng(0x9e37_79b9_7f4a_7c15);
    let steps = if cfg!(miri) { 300 } else { 5000 };
    for id in 0..steps {
        if rng.below(3) == 0 {
            // Stable: the smallest key, the earliest of equal ones.
            let expected = model
                .iter()
                .enumerate()
                .min_by_key(|(at, (key, _))| (*key, *at))
                .map(|(at, _)| at)
                .map(|at| model.remove(at));
            assert_eq!(q.try_get().ok().map(|j| (j.key, j.id)), expected);
        } else {
            let key = rng.below(5) as u8;
            q.try_put(job(key, id)).unwrap();
            model.push((key, id));
        }
        assert_eq!(q.len(), model.len());
    }
}

#[test]
fn equal_priority_items_keep_insertion_order_after_the_heap_empties() {
    let q = Queue::bounded_priority(4);
    for round in 0..3 {
        for id in 0..4 {
            q.try_put(job(7, round * 10 + id)).unwrap();
        }
        let ids: Vec<u32> = drain(&q).into_iter().map(|(_, id)| id).collect();
        assert_eq!(ids, (0..4).map(|id| round * 10 + id).collect::<Vec<_>>());
    }
}

#[test]
#[should_panic(expected = "Queue::unbounded()")]
fn bounded_zero_panics_pointing_to_unbounded() {
    let _ = Queue::<u32>::bounded(0);
}

#[test]
#[should_panic(expected = "unbounded_lifo")]
fn bounded_lifo_zero_panics_pointing_to_unbounded_lifo() {
    let _ = Queue::<u32>::bounded_lifo(0);
}

#[test]
#[should_panic(expected = "unbounded_priority")]
fn bounded_priority_zero_panics_pointing_to_unbounded_priority() {
    let _ = Queue::<u32>::bounded_priority(0);
}

// ---- sizes and counts ------------------------------------------------------

#[test]
fn capacity_len_is_empty_is_full_unfinished_tasks() {
    for (name, q, cap) in every_kind::<u32>() {
        assert_eq!(q.capacity(), cap, "{name}");
        assert!(q.is_empty() && !q.is_full() && !q.is_shutdown(), "{name}");
        assert_eq!((q.len(), q.unfinished_tasks()), (0, 0), "{name}");
        for i in 0..8 {
            q.try_put(i).unwrap();
        }
        assert_eq!(q.len(), 8, "{name}");
        assert!(!q.is_empty(), "{name}");
        assert_eq!(q.is_full(), cap.is_some(), "{name}: full at capacity");
        match q.try_put(99) {
            Err(TryPutError::Full(99)) => assert!(cap.is_some(), "{name}"),
            Ok(()) => assert!(cap.is_none(), "{name}"),
            Err(e) => panic!("{name}: {e:?}"),
        }
        let queued = if cap.is_some() { 8 } else { 9 };
        assert_eq!(q.len(), queued, "{name}");
        let _ = q.try_get().unwrap();
        assert_eq!(q.len(), queued - 1, "{name}");
        assert!(!q.is_full(), "{name}");
        assert_eq!(
            q.unfinished_tasks(),
            queued,
            "{name}: a taken item is unfinished until task_done"
        );
        q.task_done().unwrap();
        assert_eq!(q.unfinished_tasks(), queued - 1, "{name}");
        assert_eq!(q.len(), queued - 1, "{name}");
    }
}

#[test]
fn a_held_permit_counts_against_the_capacity() {
    let q = Queue::bounded(2);
    let first = now(q.reserve()).unwrap();
    assert!(!q.is_full());
    assert!(q.is_empty(), "a permit holds a slot, not an item");
    assert_eq!((q.len(), q.unfinished_tasks()), (0, 0));
    let second = now(q.reserve()).unwrap();
    assert!(q.is_full());
    assert!(q.try_put('x').unwrap_err().is_full());
    first.put('a');
    assert!(q.is_full(), "the permit's slot became the item's");
    assert_eq!((q.len(), q.unfinished_tasks()), (1, 1));
    drop(second);
    assert!(!q.is_full(), "a dropped permit frees its slot");
    q.try_put('b').unwrap();
    assert!(q.is_full());
    assert_eq!(q.shutdown_now(), ['a', 'b']);
}

#[test]
fn permits_on_an_unbounded_queue_never_fill_it() {
    let q = Queue::unbounded();
    let permits: Vec<_> = (0..10).map(|_| now(q.reserve()).unwrap()).collect();
    assert!(!q.is_full());
    for (i, p) in permits.into_iter().enumerate() {
        p.put(i);
    }
    assert_eq!(q.len(), 10);
    assert_eq!(q.try_get(), Ok(0));
}

#[test]
fn debug_output() {
    let q = Queue::bounded(2);
    q.try_put(1).unwrap();
    assert_eq!(
        format!("{q:?}"),
        "Queue { len: 1, capacity: Some(2), unfinished_tasks: 1, is_shutdown: false, .. }"
    );
    let p = now(q.reserve()).unwrap();
    assert_eq!(format!("{p:?}"), "PutPermit { .. }");
    let put = pending(q.put(2));
    assert_eq!(format!("{:?}", put.future()), "Put { waiting: true }");
    assert_eq!(format!("{:?}", q.put(3)), "Put { waiting: false }");
    assert_eq!(format!("{:?}", q.reserve()), "Reserve { waiting: false }");
    drop((put, p));
    let u = Queue::<u8>::unbounded();
    let get = pending(u.get());
    assert_eq!(format!("{:?}", get.future()), "Get { waiting: true }");
    u.try_put(1).unwrap();
    let join = pending(u.join());
    assert_eq!(format!("{:?}", join.future()), "Join { waiting: true }");
    assert_eq!(
        format!("{:?}", u.stream()),
        "QueueStream { waiting: false }"
    );
    u.shutdown();
    assert!(format!("{u:?}").contains("capacity: None"));
    assert!(format!("{u:?}").contains("is_shutdown: true"));
}

#[test]
fn error_types() {
    assert_eq!(PutError(5).into_inner(), 5);
    assert_eq!(format!("{:?}", PutError(5)), "PutError(..)");
    assert_eq!(PutError(5).to_string(), "put on a shut-down queue");
    assert_eq!(TryPutError::Full(1).into_inner(), 1);
    assert_eq!(TryPutError::Shutdown(2).into_inner(), 2);
    assert!(TryPutError::Full(1).is_full());
    assert!(!TryPutError::Shutdown(1).is_full());
    assert!(TryPutError::Shutdown(1).is_shutdown());
    assert!(!TryPutError::Full(1).is_shutdown());
    assert!(TryGetError::Empty.is_empty() && !TryGetError::Empty.is_shutdown());
    assert!(TryGetError::Shutdown.is_shutdown() && !TryGetError::Shutdown.is_empty());
    assert_eq!(format!("{:?}", TryPutError::Full(1)), "Full(..)");
    assert_eq!(TryPutError::Full(1).to_string(), "the queue is full");
    assert_eq!(
        TryPutError::Shutdown(1).to_string(),
        "put on a shut-down queue"
    );
    assert_eq!(ShutdownError.to_string(), "the queue is shut down");
    assert_eq!(TryGetError::Empty.to_string(), "the queue is empty");
    assert_eq!(TryGetError::Shutdown.to_string(), "the queue is shut down");
    assert!(TaskDoneError.to_string().contains("task_done"));
    // Usable with `?` into the usual boxed error.
    let boxed: Vec<Box<dyn std::error::Error + Send + Sync>> = vec![
        PutError(1).into(),
        TryPutError::Full(1).into(),
        ShutdownError.into(),
        TryGetError::Empty.into(),
        TaskDoneError.into(),
    ];
    assert_eq!(boxed.len(), 5);
}

#[test]
fn the_default_queue_is_unbounded_fifo() {
    let queue: Queue<u32> = Queue::default();
    assert_eq!(queue.capacity(), None);
    for i in 0..1000 {
        queue.try_put(i).unwrap();
    }
    assert_eq!(queue.try_get(), Ok(0));
    assert_eq!(queue.try_get(), Ok(1));
}

// ---- backpressure ----------------------------------------------------------

#[test]
fn put_waits_while_full_and_completes_after_a_get() {
    let q = Queue::bounded(1);
    q.try_put(1).unwrap();
    let mut p = pending(q.put(2));
    p.assert_pending();
    assert!(!p.is_woken());
    assert_eq!(q.len(), 1, "the waiting item is not in the queue");
    assert_eq!(q.unfinished_tasks(), 1);
    assert_eq!(q.try_get(), Ok(1));
    assert_eq!(p.wakes(), 1, "the get woke the put");
    assert_eq!(p.assert_ready(), Ok(()));
    assert_eq!(q.len(), 1);
    assert_eq!(q.unfinished_tasks(), 2);
    assert_eq!(q.try_get(), Ok(2));
}

#[test]
fn get_waits_while_empty_and_completes_after_a_put() {
    let q = Queue::bounded(3);
    let mut g = pending(q.get());
    g.assert_pending();
    assert!(!g.is_woken());
    q.try_put('a').unwrap();
    assert_eq!(g.wakes(), 1);
    assert_eq!(g.assert_ready(), Ok('a'));
    assert!(q.is_empty());
}

#[test]
fn waiting_putters_are_served_fifo() {
    let q = Queue::bounded(1);
    q.try_put(0).unwrap();
    let mut puts: Vec<_> = (1..=3).map(|i| pending(q.put(i))).collect();
    for round in 0..3 {
        assert_eq!(q.try_get(), Ok(round));
        for (i, p) in puts.iter().enumerate().skip(round as usize) {
            assert_eq!(p.is_woken(), i == round as usize, "round {round}: put {i}");
        }
        assert_eq!(puts[round as usize].assert_ready(), Ok(()));
        for p in &mut puts[round as usize + 1..] {
            p.assert_pending(); // polled again, not woken: keeps its place
        }
    }
    assert_eq!(q.try_get(), Ok(3));
}

#[test]
fn waiting_getters_are_served_fifo() {
    let q = Queue::unbounded();
    let mut gets: Vec<_> = (0..3).map(|_| pending(q.get())).collect();
    for round in 0..3 {
        q.try_put(round).unwrap();
        for (i, g) in gets.iter().enumerate().skip(round) {
            assert_eq!(g.is_woken(), i == round, "round {round}: get {i}");
        }
        assert_eq!(gets[round].assert_ready(), Ok(round));
        for g in &mut gets[round + 1..] {
            g.assert_pending();
        }
    }
}

#[test]
fn mixed_puts_and_reserves_queue_in_one_line() {
    let q = Queue::bounded(1);
    q.try_put(0).unwrap();
    let mut r = pending(q.reserve());
    let mut p = pending(q.put(1));
    assert_eq!(q.try_get(), Ok(0));
    assert!(r.is_woken() && !p.is_woken(), "the reserve came first");
    let permit = r.assert_ready().unwrap();
    p.assert_pending();
    drop(permit);
    assert!(p.is_woken(), "the dropped permit's slot goes to the put");
    assert_eq!(p.assert_ready(), Ok(()));
    assert_eq!(q.try_get(), Ok(1));
}

/// DESIGN: "Waiting getters and putters are each served in FIFO order of their
/// arrival" (only a task that finds an item on its *first* try may take it ahead of
/// sleeping waiters). A later waiter that is polled without being woken (a sibling
/// in `join!`/`select!`, or a spurious wake-up) must not take the item that was
/// handed to the first one.
#[test]
fn a_later_getter_polled_early_does_not_overtake_the_notified_one() {
    let q = Queue::unbounded();
    let mut a = pending(q.get());
    let mut b = pending(q.get());
    q.try_put(1).unwrap();
    assert!(a.is_woken() && !b.is_woken());
    let b_poll = b.poll();
    assert!(
        b_poll.is_pending(),
        "the second getter, never woken, took the item meant for the first: {b_poll:?}"
    );
    assert_eq!(a.assert_ready(), Ok(1));
}

/// The same for putters (see above).
#[test]
fn a_later_putter_polled_early_does_not_overtake_the_notified_one() {
    let q = Queue::bounded(1);
    q.try_put(0).unwrap();
    let mut a = pending(q.put(1));
    let mut b = pending(q.put(2));
    assert_eq!(q.try_get(), Ok(0));
    assert!(a.is_woken() && !b.is_woken());
    let b_poll = b.poll();
    assert!(
        b_poll.is_pending(),
        "the second putter, never woken, took the slot freed for the first: {b_poll:?}"
    );
    assert_eq!(a.assert_ready(), Ok(()));
    assert_eq!(q.try_get(), Ok(1));
}

#[test]
fn a_put_hands_its_item_to_the_waiting_getter_before_any_first_try() {
    // Documented: a waiting getter is given the item by the put itself, so a task
    // trying later cannot take it first, and the woken getter finds it at once.
    let q = Queue::unbounded();
    let mut a = pending(q.get());
    q.try_put(1).unwrap();
    assert!(a.is_woken());
    assert_eq!(
        q.len(),
        0,
        "the item went to the getter, not into the queue"
    );
    assert_eq!(q.try_get(), Err(TryGetError::Empty));
    let mut late = pending(q.get());
    assert_eq!(a.assert_ready(), Ok(1));
    assert_eq!(q.unfinished_tasks(), 1);
    q.try_put(2).unwrap();
    assert_eq!(late.assert_ready(), Ok(2));
    assert_eq!(a.wakes(), 1, "one item, one wake-up");
}

#[test]
fn reserve_holds_a_slot_and_the_permit_never_waits() {
    let q = Queue::bounded(2);
    let a = now(q.reserve()).unwrap();
    let b = now(q.reserve()).unwrap();
    assert!(q.is_full());
    let mut waiting = pending(q.reserve());
    let mut getter = pending(q.get());
    a.put(10); // never waits, though the queue is "full"
    assert!(getter.is_woken(), "the permit's item goes to the getter");
    assert!(
        waiting.is_woken(),
        "the item went straight to the getter, so the permit's slot frees at once"
    );
    assert_eq!(getter.assert_ready(), Ok(10));
    let c = waiting.assert_ready().unwrap();
    assert!(q.is_full());
    b.put(20);
    c.put(30);
    assert_eq!(q.shutdown_now(), [20, 30]);
}

#[test]
fn try_reserve_holds_a_free_slot_or_says_why_not() {
    let q = Queue::bounded(2);
    q.try_put(1).unwrap();
    let permit = q.try_reserve().expect("one slot is free");
    assert!(q.is_full(), "the slot is held");
    assert_eq!(q.try_reserve().err(), Some(TryPutError::Full(())));
    assert_eq!(q.try_put(2), Err(TryPutError::Full(2)));
    // A put waiting behind the held slot gets it when the permit is dropped.
    let mut waiting = pending(q.put(3));
    drop(permit);
    assert!(waiting.is_woken());
    assert_eq!(waiting.assert_ready(), Ok(()));
    assert_eq!(q.try_get(), Ok(1));
    // A held slot is not taken by a waiting put: the permit's item comes next.
    let permit = q.try_reserve().expect("the get freed a slot");
    let mut behind = pending(q.put(5));
    permit.put(4);
    assert_eq!(q.try_get(), Ok(3));
    assert!(behind.is_woken());
    assert_eq!(behind.assert_ready(), Ok(()));
    q.shutdown();
    assert_eq!(q.try_reserve().err(), Some(TryPutError::Shutdown(())));
    assert_eq!(q.shutdown_now(), [4, 5]);
    // Unbounded: always a slot, and held slots count for nothing visible.
    let u = Queue::unbounded();
    let held: Vec<_> = (0..3).map(|_| u.try_reserve().unwrap()).collect();
    for (i, permit) in held.into_iter().enumerate() {
        permit.put(i);
    }
    assert_eq!(u.shutdown_now(), [0, 1, 2]);
}

#[test]
fn a_dropped_permit_frees_its_slot_and_wakes_a_waiting_put() {
    let q = Queue::bounded(1);
    let permit = now(q.reserve()).unwrap();
    let mut p = pending(q.put('p'));
    let mut r = pending(q.reserve());
    drop(permit);
    assert!(
        p.is_woken() && !r.is_woken(),
        "one slot, one wake-up, in order"
    );
    assert_eq!(p.assert_ready(), Ok(()));
    assert_eq!(q.try_get(), Ok('p'));
    assert!(r.is_woken());
    drop(r.assert_ready().unwrap());
    // Nothing is left held: the whole capacity is usable.
    q.try_put('q').unwrap();
    assert!(q.is_full());
    assert_eq!((q.len(), q.unfinished_tasks()), (1, 2));
}

// ---- task_done and join ----------------------------------------------------

#[test]
fn task_done_more_often_than_items_were_taken_is_an_error() {
    let q = Queue::bounded(4);
    assert_eq!(q.task_done(), Err(TaskDoneError), "nothing taken yet");
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    assert_eq!(q.task_done(), Err(TaskDoneError), "put, but not taken");
    assert_eq!(q.unfinished_tasks(), 2);
    assert_eq!(q.try_get(), Ok(1));
    assert_eq!(q.task_done(), Ok(()));
    assert_eq!(q.task_done(), Err(TaskDoneError));
    assert_eq!(q.unfinished_tasks(), 1, "the failed calls changed nothing");
    assert_eq!(now(q.get()), Ok(2));
    assert_eq!(q.task_done(), Ok(()));
    assert_eq!(q.task_done(), Err(TaskDoneError));
    assert_eq!(q.unfinished_tasks(), 0);
}

#[test]
fn join_is_immediate_when_nothing_is_unfinished() {
    for (name, q, _) in every_kind::<u32>() {
        now(q.join()); // never used
        q.try_put(1).unwrap();
        let _ = q.try_get().unwrap();
        q.task_done().unwrap();
        now(q.join()); // used, all done
        assert_eq!(q.unfinished_tasks(), 0, "{name}");
    }
}

#[test]
fn join_waits_for_every_task_done() {
    let q = Queue::bounded(4);
    q.try_put('a').unwrap();
    q.try_put('b').unwrap();
    let mut j = pending(q.join());
    assert_eq!(q.try_get(), Ok('a'));
    assert_eq!(q.try_get(), Ok('b'));
    assert!(q.is_empty());
    j.assert_pending(); // empty is not done
    assert!(!j.is_woken());
    q.task_done().unwrap();
    assert!(!j.is_woken(), "one item still in progress");
    j.assert_pending();
    q.task_done().unwrap();
    assert_eq!(j.wakes(), 1);
    j.assert_ready();
}

#[test]
fn join_with_several_joiners() {
    let q = Queue::unbounded();
    q.try_put(1).unwrap();
    let mut joins: Vec<_> = (0..5).map(|_| pending(q.join())).collect();
    let _ = q.try_get().unwrap();
    assert!(joins.iter().all(|j| !j.is_woken()));
    q.task_done().unwrap();
    for j in &mut joins {
        assert_eq!(j.wakes(), 1, "every joiner is woken");
        j.assert_ready();
    }
    now(q.join());
}

#[test]
fn a_woken_join_completes_even_if_new_work_arrived() {
    // asyncio: once every task was done, the joiners return, even if more items are
    // put before they run.
    let q = Queue::unbounded();
    q.try_put(1).unwrap();
    let mut j = pending(q.join());
    let _ = q.try_get().unwrap();
    q.task_done().unwrap();
    q.try_put(2).unwrap();
    j.assert_ready();
    drop_at_pending(q.join()); // a new join waits for the new item
}

// ---- graceful shutdown -----------------------------------------------------

#[test]
fn puts_after_shutdown_fail_with_the_item_back() {
    let token = Arc::new(());
    let q = Queue::bounded(4);
    q.try_put(Arc::clone(&token)).unwrap();
    q.shutdown();
    assert!(q.is_shutdown());
    match q.try_put(Arc::clone(&token)) {
        Err(TryPutError::Shutdown(item)) => assert!(Arc::ptr_eq(&item, &token)),
        other => panic!("expected Shutdown(item), got {other:?}"),
    }
    let PutError(item) = now(q.put(Arc::clone(&token))).unwrap_err();
    assert!(Arc::ptr_eq(&item, &token));
    drop(item);
    assert_eq!(now(q.reserve()).unwrap_err(), ShutdownError);
    assert_eq!(Arc::strong_count(&token), 2, "only the queued one is left");
    assert_eq!(q.len(), 1);
    assert_eq!(q.unfinished_tasks(), 1, "failed puts are not counted");
    q.shutdown(); // twice is harmless
    assert!(Arc::ptr_eq(&q.try_get().unwrap(), &token));
}

#[test]
fn a_waiting_put_is_woken_and_gets_its_item_back() {
    let q = Queue::bounded(1);
    q.try_put(String::from("queued")).unwrap();
    let mut p = pending(q.put(String::from("waiting")));
    let mut r = pending(q.reserve());
    q.shutdown();
    assert_eq!(p.wakes(), 1);
    assert_eq!(r.wakes(), 1);
    assert_eq!(p.assert_ready(), Err(PutError(String::from("waiting"))));
    assert_eq!(r.assert_ready().unwrap_err(), ShutdownError);
    assert_eq!(q.try_get().as_deref(), Ok("queued"));
}

#[test]
fn gets_drain_the_queue_then_fail() {
    for (name, q, _) in every_kind::<u32>() {
        for i in [2, 1, 3] {
            q.try_put(i).unwrap();
        }
        q.shutdown();
        let mut out = vec![now(q.get()).unwrap()];
        out.push(q.try_get().unwrap());
        out.push(now(q.get()).unwrap());
        out.sort_unstable();
        assert_eq!(out, [1, 2, 3], "{name}");
        assert_eq!(q.try_get(), Err(TryGetError::Shutdown), "{name}");
        assert_eq!(now(q.get()), Err(ShutdownError), "{name}");
        assert_eq!(q.unfinished_tasks(), 3, "{name}: taken, not done");
    }
}

#[test]
fn waiting_getters_are_woken_by_shutdown() {
    let q = Queue::<u8>::bounded(2);
    let mut gets: Vec<_> = (0..3).map(|_| pending(q.get())).collect();
    let mut stream = pending(q.stream().into_future());
    q.shutdown();
    for g in &mut gets {
        assert_eq!(g.wakes(), 1);
        assert_eq!(g.assert_ready(), Err(ShutdownError));
    }
    assert_eq!(stream.wakes(), 1);
    assert!(stream.assert_ready().0.is_none(), "the stream ends");
}

#[test]
fn shutdown_wakes_every_getter_and_each_item_goes_to_one() {
    let q = Queue::unbounded();
    let mut gets: Vec<_> = (0..3).map(|_| pending(q.get())).collect();
    q.try_put(7).unwrap(); // wakes the first getter
    q.shutdown(); // wakes the rest
    let results: Vec<_> = gets.iter_mut().map(|g| g.assert_ready()).collect();
    assert_eq!(results, [Ok(7), Err(ShutdownError), Err(ShutdownError)]);
}

#[test]
fn a_permit_still_puts_after_shutdown() {
    let q = Queue::bounded(2);
    let permit = now(q.reserve()).unwrap();
    q.shutdown();
    permit.put('x'); // never fails
    assert_eq!(q.try_get(), Ok('x'), "drained like any queued item");
    assert_eq!(q.try_get(), Err(TryGetError::Shutdown));
}

#[test]
fn stream_yields_the_items_and_ends_at_shutdown() {
    let q = Queue::bounded(4);
    let mut next = pending(q.stream().into_future());
    q.try_put(1).unwrap();
    let (item, stream) = next.assert_ready();
    assert_eq!(item, Some(1));
    q.try_put(2).unwrap();
    q.try_put(3).unwrap();
    q.shutdown();
    let rest: Vec<_> = futures::executor::block_on(stream.collect());
    assert_eq!(rest, [2, 3]);
    let mut ended = q.stream();
    assert_eq!(now(ended.next()), None);
    assert_eq!(now(ended.next()), None, "stays ended");
}

// ---- shutdown_now ------------------------------------------------------------

#[test]
fn shutdown_now_returns_the_items_in_the_order_they_would_come_out() {
    for (name, q, _) in every_kind::<Job>() {
        for (id, key) in KEYS.into_iter().enumerate() {
            q.try_put(job(key, id as u32)).unwrap();
        }
        let _ = q.try_get().unwrap();
        let ids: Vec<u32> = q.shutdown_now().into_iter().map(|j| j.id).collect();
        let expected: &[u32] = if name.ends_with("lifo") {
            &[5, 4, 3, 2, 1, 0]
        } else if name.ends_with("priority") {
            &[1, 4, 3, 0, 2, 6]
        } else {
            &[1, 2, 3, 4, 5, 6]
        };
        assert_eq!(ids, expected, "{name}");
        assert!(q.is_shutdown() && q.is_empty(), "{name}");
        assert_eq!(q.try_get().unwrap_err(), TryGetError::Shutdown, "{name}");
        assert!(q.shutdown_now().is_empty(), "{name}: nothing left");
    }
}

#[test]
fn shutdown_now_counts_the_items_as_done_and_releases_join() {
    let q = Queue::bounded(8);
    for i in 0..4 {
        q.try_put(i).unwrap();
    }
    let mut j = pending(q.join());
    assert_eq!(q.try_get(), Ok(0)); // taken before the shutdown, in progress
    assert_eq!(q.shutdown_now(), [1, 2, 3]);
    assert_eq!(q.unfinished_tasks(), 1, "only the taken item is unfinished");
    assert!(!j.is_woken());
    j.assert_pending();
    q.task_done().unwrap();
    assert_eq!(j.wakes(), 1);
    j.assert_ready();
    assert_eq!(
        q.task_done(),
        Err(TaskDoneError),
        "returned items are not taken"
    );
}

/// An item handed to a getter that is then dropped after `shutdown_now` is not
/// queued again in the shut-down queue, where `join` would wait for it.
#[test]
fn shutdown_now_takes_back_handed_items_so_join_is_released() {
    let q = Queue::unbounded();
    let handed = pending(q.get());
    let mut kept = pending(q.get());
    q.try_put("a").unwrap();
    q.try_put("b").unwrap(); // both handed over, neither getter has run
    let mut j = pending(q.join());
    let mut returned = q.shutdown_now();
    returned.sort_unstable(); // handed items come back in no set order
    assert_eq!(returned, ["a", "b"]);
    assert_eq!(q.unfinished_tasks(), 0);
    j.assert_ready();
    drop(handed);
    assert_eq!(q.len(), 0, "the dropped getter gave nothing back");
    assert_eq!(kept.assert_ready(), Err(ShutdownError));
    now(q.join());
}

#[test]
fn shutdown_now_releases_join_at_once_when_nothing_was_taken() {
    let q = Queue::unbounded_lifo();
    q.try_put(1).unwrap();
    let mut j = pending(q.join());
    assert_eq!(q.shutdown_now(), [1]);
    assert_eq!(j.wakes(), 1);
    j.assert_ready();
    now(q.join());
}

#[test]
fn shutdown_now_fails_waiting_gets_and_puts() {
    let q = Queue::bounded(1);
    let mut handed = pending(q.get());
    q.try_put(1).unwrap(); // given to `handed`, which has not run yet
    q.try_put(2).unwrap(); // queued
    let mut p = pending(q.put(3));
    assert_eq!(
        q.shutdown_now(),
        [1, 2],
        "an item handed to a getter that has not run yet is returned too, first"
    );
    assert!(handed.is_woken());
    assert_eq!(handed.assert_ready(), Err(ShutdownError), "that get fails");
    assert!(p.is_woken());
    assert_eq!(
        p.assert_ready(),
        Err(PutError(3)),
        "the item was handed back"
    );
    let q = Queue::<u8>::bounded(1);
    let mut g = pending(q.get());
    let mut g2 = pending(q.get());
    assert!(q.shutdown_now().is_empty());
    assert!(g.is_woken() && g2.is_woken());
    assert_eq!(g.assert_ready(), Err(ShutdownError));
    assert_eq!(g2.assert_ready(), Err(ShutdownError));
}

#[test]
fn a_permit_put_after_shutdown_now_is_still_there_to_take() {
    let q = Queue::bounded(2);
    let permit = now(q.reserve()).unwrap();
    assert!(q.shutdown_now().is_empty());
    permit.put('l');
    assert_eq!(q.unfinished_tasks(), 1);
    assert_eq!(q.try_get(), Ok('l'));
    q.task_done().unwrap();
    now(q.join());
}

#[test]
fn after_a_graceful_shutdown_gets_and_streams_wait_for_the_held_permits() {
    // A permit's item comes out before the end (tokio's `Receiver` after `close`
    // waits for the permits too): before, the get failed at once and the item,
    // put later, was left where nobody read it, so `join` never returned.
    let q = Queue::bounded(2);
    let permit = now(q.reserve()).unwrap();
    let other = now(q.reserve()).unwrap();
    q.shutdown();
    assert_eq!(q.try_get(), Err(TryGetError::Empty), "not the end yet");
    let mut get = pending(q.get());
    let mut stream = StreamTask::new(q.stream());
    stream.assert_pending();
    permit.put(7);
    assert!(get.is_woken());
    assert_eq!(get.assert_ready(), Ok(7));
    q.task_done().unwrap();
    stream.assert_pending(); // the other permit may still put
    let mut late = pending(q.get());
    drop(other); // given up: nothing more can come
    assert!(late.is_woken());
    assert_eq!(late.assert_ready(), Err(ShutdownError));
    assert!(stream.wakes() > 0, "the stream is woken to see the end");
    assert_eq!(stream.assert_next(), None);
    now(q.join());

    // A stream alone gets the permit's item, then the end.
    let q = Queue::bounded(1);
    let permit = now(q.reserve()).unwrap();
    q.shutdown();
    let mut stream = StreamTask::new(q.stream());
    stream.assert_pending();
    permit.put(8);
    assert!(stream.wakes() > 0, "woken for the item");
    assert_eq!(stream.assert_next(), Some(8));
    assert_eq!(stream.assert_next(), None);

    // A reserve that was given a slot and dropped before it ran gives it up too.
    let q = Queue::bounded(1);
    q.try_put(1).unwrap();
    let reserve = pending(q.reserve());
    assert_eq!(q.try_get(), Ok(1)); // the slot goes to the waiting reserve
    assert!(reserve.is_woken());
    q.shutdown();
    let mut get = pending(q.get());
    drop(reserve);
    assert!(get.is_woken());
    assert_eq!(get.assert_ready(), Err(ShutdownError));

    // After `shutdown_now`, gets fail at once, held permits or not, also one
    // that was waiting for a permit after a graceful shutdown.
    let q: Queue<u8> = Queue::bounded(1);
    let permit = now(q.reserve()).unwrap();
    q.shutdown();
    let mut waiting = pending(q.get());
    assert!(q.shutdown_now().is_empty());
    assert!(waiting.is_woken());
    assert_eq!(waiting.assert_ready(), Err(ShutdownError));
    assert_eq!(now(q.get()), Err(ShutdownError));
    drop(permit);
}

// ---- cancel safety -----------------------------------------------------------

/// Checks that nothing is held: every slot of the bounded(`cap`) queue `q` (empty)
/// can be filled at once.
#[track_caller]
fn check_fully_usable(q: &Queue<u32>, cap: usize) {
    assert!(q.is_empty() && !q.is_full());
    for i in 0..cap as u32 {
        q.try_put(i).unwrap();
    }
    assert!(q.is_full());
    for i in 0..cap as u32 {
        assert_eq!(q.try_get(), Ok(i));
        q.task_done().unwrap();
    }
}

#[test]
fn dropped_put_drops_its_item_and_holds_nothing() {
    let token = Arc::new(());
    let q = Queue::bounded(1);
    q.try_put(Arc::clone(&token)).unwrap();
    drop_at_pending(q.put(Arc::clone(&token)));
    assert_eq!(
        Arc::strong_count(&token),
        2,
        "the waiting item went with it"
    );
    assert_eq!((q.len(), q.unfinished_tasks()), (1, 1));
    drop(q.try_get().unwrap());
    q.task_done().unwrap();
    q.try_put(Arc::clone(&token)).unwrap();
    assert!(q.is_full(), "its slot was never held");
    drop(q);
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "a dropped queue drops its items"
    );
}

#[test]
fn dropped_waits_hold_nothing() {
    let q = Queue::bounded(3);
    for i in 0..3 {
        q.try_put(i).unwrap();
    }
    drop_at_pending(q.put(9));
    drop_at_pending(q.reserve());
    let mut taken = vec![];
    while let Ok(i) = q.try_get() {
        taken.push(i);
        q.task_done().unwrap();
    }
    assert_eq!(taken, [0, 1, 2], "no item lost, none added");
    drop_at_pending(q.get());
    drop_at_pending(q.stream().into_future());
    q.try_put(5).unwrap();
    drop_at_pending_releasing_waker(q.join(), 1);
    assert_eq!(q.try_get(), Ok(5), "a dropped get never took the item");
    q.task_done().unwrap();
    check_fully_usable(&q, 3);
    assert!(q.task_done().is_err());
    q.try_put(0).unwrap();
    let _ = q.try_get();
    let mut j = pending(q.join());
    q.task_done().unwrap();
    assert!(
        j.is_woken(),
        "a dropped join left no stale joiner in the way"
    );
    j.assert_ready();
}

#[test]
fn a_served_put_dropped_before_it_runs_has_its_item_queued() {
    let q = Queue::bounded(1);
    q.try_put(0).unwrap();
    let first = pending(q.put(1));
    let mut second = pending(q.put(2));
    assert_eq!(q.try_get(), Ok(0)); // queues 1 for `first` and wakes it
    assert!(first.is_woken() && !second.is_woken());
    drop(first);
    assert_eq!(q.len(), 1, "the put was done before it was dropped");
    assert!(!second.is_woken(), "no slot to pass on");
    assert_eq!(q.try_get(), Ok(1));
    assert_eq!(second.wakes(), 1);
    assert_eq!(second.assert_ready(), Ok(()));
    assert_eq!(q.try_get(), Ok(2));
    check_fully_usable(&q, 1);
}

#[test]
fn a_served_reserve_dropped_before_it_runs_passes_the_slot_on() {
    let q = Queue::bounded(1);
    q.try_put(0).unwrap();
    let first = pending(q.reserve());
    let mut second = pending(q.put(2));
    let mut third = pending(q.put(3));
    assert_eq!(q.try_get(), Ok(0)); // holds the slot for `first`
    assert!(q.is_full() && !second.is_woken());
    drop(first);
    assert_eq!(second.wakes(), 1, "the slot passes to the next put");
    assert!(!third.is_woken(), "one slot, one wake-up");
    assert_eq!(second.assert_ready(), Ok(()));
    assert_eq!(q.try_get(), Ok(2));
    assert_eq!(third.assert_ready(), Ok(()));
    assert_eq!(q.try_get(), Ok(3));
    check_fully_usable(&q, 1);
}

#[test]
fn a_queued_put_dropped_before_it_is_notified_leaves_the_line() {
    let q = Queue::bounded(1);
    q.try_put(0).unwrap();
    let first = pending(q.put(1));
    let mut second = pending(q.put(2));
    drop(first);
    assert!(!second.is_woken(), "nothing to pass on");
    assert_eq!(q.try_get(), Ok(0));
    assert_eq!(second.wakes(), 1);
    assert_eq!(second.assert_ready(), Ok(()));
}

#[test]
fn a_notified_reserve_dropped_passes_the_slot_to_a_reserve() {
    let q = Queue::<u8>::bounded(1);
    let permit = now(q.reserve()).unwrap();
    let first = pending(q.reserve());
    let mut second = pending(q.reserve());
    drop(permit);
    drop(first);
    assert!(second.is_woken());
    second.assert_ready().unwrap().put(1);
    assert_eq!(q.try_get(), Ok(1));
}

#[test]
fn a_notified_get_dropped_before_it_runs_passes_the_item_on() {
    let q = Queue::bounded(2);
    let first = pending(q.get());
    let mut second = pending(q.get());
    let mut third = pending(q.get());
    q.try_put('x').unwrap(); // notifies `first`
    assert!(first.is_woken() && !second.is_woken());
    drop(first);
    assert_eq!(second.wakes(), 1, "the item passes to the next getter");
    assert!(!third.is_woken(), "one item, one wake-up");
    assert_eq!(second.assert_ready(), Ok('x'));
    third.assert_pending();
    q.try_put('y').unwrap();
    assert_eq!(third.assert_ready(), Ok('y'));
}

#[test]
fn a_get_dropped_with_its_item_and_no_getter_left_puts_it_back_in_front() {
    let q = Queue::bounded(1);
    let first = pending(q.get());
    q.try_put(1).unwrap(); // given to `first`
    q.try_put(2).unwrap(); // the queue is full again
    drop(first);
    assert_eq!(q.len(), 2, "back in the queue, past the bound for a moment");
    assert!(q.is_full());
    assert_eq!(q.try_get(), Ok(1), "first out, as it was put first");
    assert_eq!(q.try_get(), Ok(2));
    assert_eq!(q.unfinished_tasks(), 2);
    check_fully_usable(&q, 1);
}

#[test]
fn a_notified_stream_dropped_passes_the_wake_up_on() {
    let q = Queue::unbounded();
    let first = pending(q.stream().into_future());
    let mut second = pending(q.stream().into_future());
    q.try_put(1).unwrap();
    assert!(
        first.is_woken() && !second.is_woken(),
        "one item, one wake-up"
    );
    assert_eq!(q.len(), 1, "a stream is woken, not handed the item");
    drop(first);
    assert_eq!(second.wakes(), 1, "the wake-up passes to the next stream");
    assert_eq!(second.assert_ready().0, Some(1));
}

#[test]
fn a_stream_left_alone_holds_no_item_back() {
    // A stream polled once, then neither polled nor dropped (a `next()` that lost
    // a `select`): the items stay queued, for anyone.
    let q = Queue::unbounded();
    let mut stream = q.stream();
    drop_at_pending(stream.next());
    q.try_put(1).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q.try_get(), Ok(1));
    q.try_put(2).unwrap();
    assert_eq!(now(q.get()), Ok(2));
    // The stream still works.
    q.try_put(3).unwrap();
    assert_eq!(now(stream.next()), Some(3));

    // The same for a Receiver: its `recv` is not stuck behind its own stream.
    let (tx, mut rx) = Queue::unbounded().split();
    drop_at_pending(rx.next());
    let mut recv = pending(rx.recv());
    tx.try_send(4).unwrap();
    assert_eq!(recv.wakes(), 1);
    assert_eq!(recv.assert_ready(), Ok(4));
    tx.try_send(5).unwrap();
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
fn a_waiting_get_is_handed_the_item_before_a_waiting_stream_is_woken() {
    let q = Queue::unbounded();
    let mut next = pending(q.stream().into_future());
    let mut get = pending(q.get());
    q.try_put(1).unwrap();
    assert!(get.is_woken() && !next.is_woken());
    assert_eq!(get.assert_ready(), Ok(1));
    next.assert_pending();
    q.try_put(2).unwrap();
    assert_eq!(next.wakes(), 1);
    assert_eq!(next.assert_ready().0, Some(2));
}

#[test]
fn the_put_a_stream_lets_in_wakes_a_stream_still_waiting() {
    // Full, a put waiting, three streams waiting. The first is woken for the
    // queued item and never polls again; the second, polled, takes that item
    // and lets the put's item in: that one wakes the third stream, not the
    // second (busy with its item) and not the first.
    let q = Queue::bounded(1);
    let mut streams: Vec<_> = (0..3).map(|_| StreamTask::new(q.stream())).collect();
    for s in &mut streams {
        s.assert_pending();
    }
    q.try_put(3).unwrap();
    assert_eq!(streams[0].wakes(), 1, "woken for 3, and left alone");
    let mut put = pending(q.put(4));
    assert_eq!(streams[1].assert_next(), Some(3));
    assert_eq!(put.assert_ready(), Ok(()));
    assert_eq!(streams[1].wakes(), 0);
    assert_eq!(streams[2].wakes(), 1, "woken for 4");
    assert_eq!(streams[2].assert_next(), Some(4));
}

#[test]
fn a_woken_stream_beaten_to_its_item_waits_again() {
    let q = Queue::unbounded();
    let mut next = pending(q.stream().into_future());
    q.try_put(1).unwrap();
    assert!(next.is_woken());
    assert_eq!(q.try_get(), Ok(1), "somebody faster");
    next.assert_pending();
    q.try_put(2).unwrap();
    assert_eq!(next.wakes(), 2, "woken again for the next item");
    assert_eq!(next.assert_ready().0, Some(2));
}

/// A put hands its item to the first waiting get; a graceful shutdown then must
/// not let the other gets fail (or streams end) while that item is still on its
/// way: if that get were dropped instead of taking it, the item would be left in
/// a queue nobody reads any more (and `join` would never finish).
#[test]
fn after_a_shutdown_gets_wait_for_an_item_on_its_way_to_another_get() {
    for (name, q, _) in every_kind::<u32>() {
        let first = pending(q.get());
        let mut second = pending(q.get());
        let mut stream = pending(q.stream().into_future());
        q.try_put(7).unwrap(); // handed to `first`
        q.shutdown();
        assert!(!second.is_woken(), "{name}: nothing to tell it yet");
        second.assert_pending();
        drop(first); // gives 7 on to the next waiting get
        assert!(second.is_woken(), "{name}");
        assert_eq!(second.assert_ready(), Ok(7), "{name}");
        let (end, _) = stream.assert_ready();
        assert_eq!(end, None, "{name}: then the stream ends");
        q.task_done().unwrap();
        assert_eq!(q.unfinished_tasks(), 0, "{name}");
    }
}

/// The same, with the get taking its item: then the others see the end.
#[test]
fn after_a_shutdown_the_last_handed_item_taken_ends_the_other_gets() {
    let q = Queue::bounded(4);
    let mut first = pending(q.get());
    let mut second = pending(q.get());
    let mut stream = pending(q.stream().into_future());
    q.try_put(1).unwrap(); // handed to `first`
    q.shutdown();
    assert!(!second.is_woken() && !stream.is_woken());
    assert_eq!(q.try_get(), Err(TryGetError::Empty), "1 may yet come back");
    assert_eq!(first.assert_ready(), Ok(1));
    assert!(
        second.is_woken() && stream.is_woken(),
        "told once it is taken"
    );
    assert_eq!(second.assert_ready(), Err(ShutdownError));
    assert_eq!(stream.assert_ready().0, None);
    assert_eq!(q.try_get(), Err(TryGetError::Shutdown));
}

/// Cancel safety of the wait of [`after_a_shutdown_gets_wait_for_an_item_on_its_way_to_another_get`]:
/// a get that waits after a shutdown for an item on its way to another get holds
/// nothing; dropped there, it leaves the item to whoever reads next, here a
/// stream, which then ends.
#[test]
fn a_get_waiting_after_a_shutdown_dropped_loses_nothing() {
    let q = Queue::unbounded();
    let handed = pending(q.get());
    let mut stream = pending(q.stream().into_future());
    q.try_put(7).unwrap(); // handed to `handed`
    q.shutdown();
    drop_at_pending_releasing_waker(q.get(), 1); // waits for 7, then is dropped
    drop(handed); // no get waits: 7 is queued, and the stream woken for it
    assert!(stream.is_woken());
    let (item, rest) = stream.assert_ready();
    assert_eq!(item, Some(7));
    assert_eq!(now(rest.into_future()).0, None, "then the stream ends");
    assert_eq!(q.try_get(), Err(TryGetError::Shutdown));
}

#[test]
fn a_dropped_get_after_shutdown_changes_nothing() {
    let q = Queue::bounded(2);
    let g = pending(q.get());
    q.try_put(1).unwrap();
    q.shutdown();
    drop(g); // notified twice over, dropped
    assert_eq!(q.try_get(), Ok(1));
    assert_eq!(q.try_get(), Err(TryGetError::Shutdown));
}

/// The item type of the panicking-`Ord` tests: compares by `key`, and panics while
/// `bomb` is set.
#[derive(Debug)]
struct Touchy {
    key: u8,
    bomb: Arc<AtomicBool>,
}

impl PartialEq for Touchy {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}

impl Eq for Touchy {}

impl PartialOrd for Touchy {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Touchy {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        assert!(!self.bomb.load(Ordering::SeqCst), "Touchy::cmp panics");
        self.key.cmp(&other.key)
    }
}

/// A `Touchy` with `key`, sharing `bomb`.
fn touchy(key: u8, bomb: &Arc<AtomicBool>) -> Touchy {
    Touchy {
        key,
        bomb: Arc::clone(bomb),
    }
}

/// Runs `f` with `bomb` set: a comparison in it must panic.
fn panics_comparing(bomb: &AtomicBool, f: impl FnOnce()) {
    bomb.store(true, Ordering::SeqCst);
    panics(f);
    bomb.store(false, Ordering::SeqCst);
}

/// The priority queue calls `T::cmp` with its lock held. If that panics in a put,
/// the queue must stay consistent: `len` and `unfinished_tasks` agree, and every
/// item can be taken and marked done (no `task_done` underflow, `join` resolves).
#[test]
fn a_panicking_ord_in_a_put_leaves_the_counts_consistent() {
    let bomb = Arc::new(AtomicBool::new(false));
    let q = Queue::unbounded_priority();
    q.try_put(touchy(1, &bomb)).unwrap();
    panics_comparing(&bomb, || drop(q.try_put(touchy(0, &bomb))));
    assert_eq!(
        q.len(),
        q.unfinished_tasks(),
        "queued items and unfinished tasks disagree after the panic"
    );
    while q.try_get().is_ok() {
        q.task_done().unwrap();
    }
    assert_eq!(q.unfinished_tasks(), 0);
    now(q.join());
}

/// The same in a get: the item is either handed out or stays queued, and the
/// counts agree, so `join` can still resolve.
#[test]
fn a_panicking_ord_in_a_get_loses_no_item() {
    let bomb = Arc::new(AtomicBool::new(false));
    let q = Queue::unbounded_priority();
    for key in [1, 2, 3] {
        q.try_put(touchy(key, &bomb)).unwrap();
    }
    panics_comparing(&bomb, || drop(q.try_get()));
    assert_eq!(
        q.len(),
        q.unfinished_tasks(),
        "an item vanished in the panic but still counts as unfinished: join can never resolve"
    );
}

/// The keys still in `q`, drained with `try_get`, sorted.
fn drain_keys(q: &Queue<Touchy>) -> Vec<u8> {
    let mut keys: Vec<u8> = std::iter::from_fn(|| q.try_get().ok())
        .map(|t| t.key)
        .collect();
    keys.sort_unstable();
    keys
}

/// A get that frees a slot sorts a waiting put's item in, with the item it took
/// in hand: if that comparison panics, the item taken goes back (still counted),
/// instead of being dropped under the lock, and the put is still served.
#[test]
fn a_panicking_ord_while_a_get_lets_a_put_in_loses_no_item() {
    let bomb = Arc::new(AtomicBool::new(false));
    let q = Queue::bounded_priority(2);
    q.try_put(touchy(1, &bomb)).unwrap();
    q.try_put(touchy(3, &bomb)).unwrap();
    let mut put = pending(q.put(touchy(2, &bomb)));
    // Taking one of two items compares nothing; sorting the put's item in does.
    panics_comparing(&bomb, || drop(q.try_get()));
    assert_eq!(
        (q.len(), q.unfinished_tasks()),
        (3, 3),
        "all three still queued"
    );
    assert_eq!(drain_keys(&q), [1, 2, 3]);
    assert!(put.is_woken(), "the next get woke the served put");
    assert!(put.assert_ready().is_ok(), "its item went in");
}

/// `shutdown_now` sorts a priority queue's items to return them: if that panics,
/// every item stays queued and counted, and the waiting tasks stay in line (a
/// later shutdown wakes them, a put to fail).
#[test]
fn a_panicking_ord_in_shutdown_now_loses_no_item_and_wakes_the_waiters() {
    let bomb = Arc::new(AtomicBool::new(false));
    let q = Queue::bounded_priority(3);
    for key in [3, 1, 2] {
        q.try_put(touchy(key, &bomb)).unwrap();
    }
    let mut put = pending(q.put(touchy(4, &bomb)));
    panics_comparing(&bomb, || drop(q.shutdown_now()));
    assert!(!put.is_woken(), "not told, so not left unwoken either");
    assert!(q.is_shutdown());
    q.shutdown();
    assert!(put.is_woken());
    assert!(put.assert_ready().is_err(), "the queue is shut down");
    assert_eq!((q.len(), q.unfinished_tasks()), (3, 3));
    assert_eq!(drain_keys(&q), [1, 2, 3]);
}

/// A dropped get gives its item back, which sorts it into a priority queue: if
/// that panics, the item is queued and no longer counted as on its way to a get,
/// so after a shutdown the gets drain the queue and then fail, and streams end.
#[test]
fn a_panicking_ord_in_a_dropped_get_leaves_the_queue_able_to_end() {
    let bomb = Arc::new(AtomicBool::new(false));
    let q = Queue::unbounded_priority();
    let handed = pending(q.get());
    q.try_put(touchy(2, &bomb)).unwrap(); // handed to `handed`
    q.try_put(touchy(1, &bomb)).unwrap(); // queued
    panics_comparing(&bomb, || drop(handed));
    q.shutdown();
    assert_eq!(drain_keys(&q), [1, 2]);
    assert_eq!(q.try_get().map(|t| t.key), Err(TryGetError::Shutdown));
    assert_eq!(now(q.get()).map(|t| t.key), Err(ShutdownError));
    assert!(now(q.stream().next()).is_none());
}

// ---- Sender and Receiver -----------------------------------------------------

#[test]
fn split_handles_clone_and_share_one_queue() {
    let (tx, rx) = Queue::bounded(4).split();
    let (tx2, rx2) = (tx.clone(), rx.clone());
    tx.try_send(1).unwrap();
    now(tx2.send(2)).unwrap();
    now(tx.reserve()).unwrap().put(3);
    assert_eq!(tx.queue().len(), 3);
    assert!(std::ptr::eq(tx.queue(), rx2.queue()));
    assert_eq!(rx2.try_recv(), Ok(1));
    assert_eq!(now(rx.recv()), Ok(2));
    assert!(format!("{tx:?}").starts_with("Sender { queue: Queue { len: 1"));
    assert!(format!("{rx:?}").starts_with("Receiver { queue: Queue { len: 1"));
    drop(tx);
    assert!(!rx.queue().is_shutdown(), "a sender is left");
    drop(tx2);
    assert!(rx.queue().is_shutdown(), "the last sender shut it down");
    assert_eq!(rx.try_recv(), Ok(3), "the receivers drain what is queued");
    assert_eq!(rx2.try_recv(), Err(TryGetError::Shutdown));
    assert_eq!(now(rx.recv()), Err(ShutdownError));
}

#[test]
fn last_sender_dropped_ends_the_receiver_stream_after_draining() {
    let (tx, rx) = Queue::unbounded().split();
    let mut next = pending(rx.into_future());
    tx.try_send('a').unwrap();
    let (item, rx) = next.assert_ready();
    assert_eq!(item, Some('a'));
    tx.try_send('b').unwrap();
    let mut next = pending({
        let mut rx = rx;
        assert_eq!(now(rx.next()), Some('b'));
        rx.into_future()
    });
    tx.try_send('c').unwrap();
    let (item, rx) = next.assert_ready();
    assert_eq!(item, Some('c'));
    let mut next = pending(rx.into_future());
    drop(tx);
    assert!(
        next.is_woken(),
        "the waiting receiver is woken by the last drop"
    );
    let (item, mut rx) = next.assert_ready();
    assert_eq!(item, None, "the stream ends");
    assert_eq!(now(rx.next()), None);
}

#[test]
fn last_receiver_dropped_fails_sends_with_the_item_back() {
    let token = Arc::new(());
    let (tx, rx) = Queue::bounded(1).split();
    let rx2 = rx.clone();
    tx.try_send(Arc::clone(&token)).unwrap();
    let mut waiting = pending(tx.send(Arc::clone(&token)));
    drop(rx);
    assert!(!waiting.is_woken(), "a receiver is left");
    assert!(!tx.queue().is_shutdown());
    drop(rx2);
    assert!(tx.queue().is_shutdown());
    assert_eq!(waiting.wakes(), 1, "the waiting send is woken");
    let PutError(back) = waiting.assert_ready().unwrap_err();
    assert!(Arc::ptr_eq(&back, &token));
    drop(back);
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "the queued item was dropped with the last receiver"
    );
    match tx.try_send(Arc::clone(&token)) {
        Err(TryPutError::Shutdown(item)) => assert!(Arc::ptr_eq(&item, &token)),
        other => panic!("expected Shutdown(item), got {other:?}"),
    }
    let PutError(item) = now(tx.send(Arc::clone(&token))).unwrap_err();
    assert!(Arc::ptr_eq(&item, &token));
    assert!(now(tx.reserve()).is_err());
    now(tx.join()); // the dropped items count as done
}

#[test]
fn last_receiver_dropped_ends_the_work_also_of_items_it_received() {
    // A consumer that returns early (say with `?`) before marking its item done:
    // nobody is left to mark it, so `join` must not wait for ever.
    let (tx, rx) = Queue::unbounded().split();
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    let mut join = pending(tx.join());
    assert_eq!(rx.try_recv(), Ok(1));
    drop(rx);
    assert_eq!(join.wakes(), 1);
    join.assert_ready();
    assert_eq!(tx.queue().unfinished_tasks(), 0);
    assert!(tx.queue().task_done().is_err(), "nothing left to mark done");
}

#[test]
fn a_get_through_the_sender_handed_an_item_fails_when_the_last_receiver_goes() {
    let token = Arc::new(());
    let (tx, rx) = Queue::unbounded().split();
    let mut get = pending(tx.queue().get());
    tx.try_send(Arc::clone(&token)).unwrap(); // handed to the waiting get
    assert!(get.is_woken());
    drop(rx);
    assert!(get.assert_ready().is_err(), "nobody is left to receive");
    assert_eq!(Arc::strong_count(&token), 1, "the handed item was dropped");
    assert_eq!(tx.queue().try_get(), Err(TryGetError::Shutdown));
    now(tx.join());
}

#[test]
fn a_permit_filled_after_the_last_receiver_is_gone_drops_its_item() {
    let token = Arc::new(());
    let (tx, rx) = Queue::bounded(2).split();
    let permit = tx.try_reserve().unwrap();
    drop(rx);
    permit.put(Arc::clone(&token)); // never fails, and nobody can receive it
    assert_eq!(Arc::strong_count(&token), 1, "dropped at once");
    assert_eq!(tx.queue().len(), 0);
    now(tx.join());
    // A plain queue keeps it after `shutdown_now`, for a `try_get`.
    let queue = Queue::bounded(2);
    let permit = queue.try_reserve().unwrap();
    assert!(queue.shutdown_now().is_empty());
    permit.put(7);
    assert_eq!(queue.try_get(), Ok(7));
}

#[test]
fn last_receiver_dropped_calls_no_ord_of_a_priority_queue() {
    // Items whose `Ord` panics once `bomb` is set: dropping the last receiver
    // only drops the items, unsorted, and wakes the waiting sender.
    let bomb = Arc::new(AtomicBool::new(false));
    let (tx, rx) = Queue::bounded_priority(3).split();
    for i in [3, 1, 2] {
        tx.try_send(touchy(i, &bomb)).unwrap();
    }
    let mut waiting = pending(tx.send(touchy(0, &bomb)));
    bomb.store(true, Ordering::SeqCst);
    drop(rx);
    assert!(tx.queue().is_shutdown());
    assert_eq!(tx.queue().len(), 0);
    assert_eq!(waiting.wakes(), 1, "the waiting send is woken");
    let PutError(back) = waiting.assert_ready().unwrap_err();
    assert_eq!(back.key, 0);
    bomb.store(false, Ordering::SeqCst);
}

#[test]
fn sender_join_waits_for_receiver_task_done() {
    let (tx, rx) = Queue::bounded(2).split();
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    let mut j = pending(tx.join());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    rx.task_done().unwrap();
    assert!(!j.is_woken());
    rx.task_done().unwrap();
    assert!(j.is_woken());
    j.assert_ready();
    assert_eq!(rx.task_done(), Err(TaskDoneError));
}

#[test]
fn a_notified_receiver_stream_dropped_passes_the_wake_up_on() {
    let (tx, rx) = Queue::unbounded().split();
    let rx2 = rx.clone();
    let stream = pending(rx.into_future());
    let mut other = pending(rx2.into_future());
    tx.try_send(5).unwrap();
    assert!(stream.is_woken() && !other.is_woken());
    drop(stream); // drops `rx`, not the last receiver
    assert!(other.is_woken(), "the wake-up passes to the other receiver");
    let (item, _rx2) = other.assert_ready();
    assert_eq!(item, Some(5));
    assert!(!tx.queue().is_shutdown());
}

#[test]
fn dropped_recv_and_send_futures_hold_nothing() {
    let (tx, rx) = Queue::bounded(1).split();
    drop_at_pending(rx.recv());
    drop_at_pending(rx.clone().into_future()); // a waiting Receiver stream
    assert!(!tx.queue().is_shutdown(), "a receiver is left");
    tx.try_send(1).unwrap();
    drop_at_pending(tx.send(2));
    drop_at_pending(tx.reserve());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(
        rx.try_recv(),
        Err(TryGetError::Empty),
        "the dropped send's item is gone"
    );
    tx.try_send(3).unwrap();
    assert!(tx.queue().is_full());
}

#[test]
fn send_blocking_and_recv_blocking_across_threads() {
    let (tx, rx) = Queue::bounded(2).split();
    let got = within_a_minute(move || {
        std::thread::scope(|s| {
            let consumer = s.spawn(|| {
                let mut got = vec![];
                while let Ok(i) = rx.recv_blocking() {
                    got.push(i);
                    rx.task_done().unwrap();
                }
                got
            });
            for i in 0..ITEMS {
                if i % 2 == 0 {
                    tx.send_blocking(i).unwrap();
                } else {
                    tx.reserve_blocking().unwrap().put(i);
                }
            }
            tx.join_blocking();
            assert_eq!(tx.queue().unfinished_tasks(), 0, "join returned early");
            drop(tx); // shuts down: the consumer's recv fails
            consumer.join().unwrap()
        })
    });
    assert_eq!(got, (0..ITEMS).collect::<Vec<_>>());
}

// ---- threads -------------------------------------------------------------------

/// `join_blocking` (through `join`) on a queue with one item taken and not done:
/// it is still blocked 20 ms later, and returns once the item is marked done.
fn join_blocking_waits_for_task_done(join_blocking: impl FnOnce() + Send, queue: &Queue<u8>) {
    queue.try_put(1).unwrap();
    assert_eq!(queue.try_get(), Ok(1)); // taken, not done
    let joined = AtomicBool::new(false);
    std::thread::scope(|s| {
        let joiner = s.spawn(|| {
            join_blocking();
            joined.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(
            !joined.load(Ordering::SeqCst),
            "join returned with work unfinished"
        );
        queue.task_done().unwrap();
        joiner.join().unwrap();
        assert!(joined.load(Ordering::SeqCst));
    });
}

#[test]
fn join_blocking_waits_until_the_work_is_done() {
    let queue = Queue::unbounded();
    join_blocking_waits_for_task_done(|| queue.join_blocking(), &queue);
    let (tx, rx) = Queue::unbounded().split();
    join_blocking_waits_for_task_done(|| tx.join_blocking(), tx.queue());
    drop(rx);
}

#[test]
fn put_blocking_and_get_blocking_across_threads() {
    const PRODUCERS: u64 = 3;
    let q = Arc::new(Queue::bounded(2));
    let consumed = within_a_minute({
        let q = Arc::clone(&q);
        move || {
            std::thread::scope(|s| {
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|p| {
                        let q = &q;
                        s.spawn(move || {
                            for i in 0..ITEMS {
                                q.put_blocking(p * ITEMS + i).unwrap();
                            }
                        })
                    })
                    .collect();
                let consumers: Vec<_> = (0..2)
                    .map(|_| {
                        let q = &q;
                        s.spawn(move || {
                            let mut got = vec![];
                            while let Ok(i) = q.get_blocking() {
                                assert!(q.len() <= 2);
                                got.push(i);
                                q.task_done().unwrap();
                            }
                            got
                        })
                    })
                    .collect();
                for p in producers {
                    p.join().unwrap();
                }
                q.shutdown();
                assert_eq!(q.put_blocking(0), Err(PutError(0)));
                let mut all = vec![];
                for c in consumers {
                    let got = c.join().unwrap();
                    // One producer's items reach each consumer in order.
                    for p in 0..PRODUCERS {
                        let mine: Vec<_> = got.iter().filter(|i| **i / ITEMS == p).collect();
                        assert!(mine.windows(2).all(|w| w[0] < w[1]));
                    }
                    all.extend(got);
                }
                all
            })
        }
    });
    let mut consumed = consumed;
    consumed.sort_unstable();
    assert_eq!(consumed, (0..PRODUCERS * ITEMS).collect::<Vec<_>>());
    assert_eq!(q.unfinished_tasks(), 0);
}

#[test]
#[cfg(not(miri))] // a multi-thread tokio runtime: covered natively, too slow for miri
fn cancelled_gets_and_reserves_under_contention_lose_nothing() {
    // Producers reserve a slot and consumers get, each racing a yield that cancels
    // the wait half of the time: a wake-up aimed at a cancelled wait must pass on,
    // or the run hangs; an item taken by a cancelled get would go missing.
    const TASKS: u64 = 3;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let q = Arc::new(Queue::bounded(3));
    let consumed = rt.block_on(async {
        let producers: Vec<_> = (0..TASKS)
            .map(|p| {
                let q = Arc::clone(&q);
                tokio::spawn(async move {
                    for i in 0..ITEMS {
                        loop {
                            tokio::select! {
                                permit = q.reserve() => {
                                    permit.unwrap().put(p * ITEMS + i);
                                    break;
                                }
                                () = common::yield_now() => {}
                            }
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..TASKS)
            .map(|_| {
                let q = Arc::clone(&q);
                tokio::spawn(async move {
                    let mut got = vec![];
                    loop {
                        tokio::select! {
                            item = q.get() => match item {
                                Ok(item) => {
                                    got.push(item);
                                    q.task_done().unwrap();
                                }
                                Err(ShutdownError) => break,
                            },
                            () = common::yield_now() => {}
                        }
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        q.join().await;
        q.shutdown();
        let mut all = vec![];
        for c in consumers {
            all.extend(c.await.unwrap());
        }
        all
    });
    let mut consumed = consumed;
    consumed.sort_unstable();
    assert_eq!(consumed, (0..TASKS * ITEMS).collect::<Vec<_>>());
    assert!(q.is_empty() && !q.is_full());
    assert_eq!(q.unfinished_tasks(), 0);
}

#[test]
#[cfg(not(miri))] // a multi-thread tokio runtime: covered natively, too slow for miri
fn producers_and_consumers_on_tokio_with_streams() {
    const PRODUCERS: u64 = 4;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let consumed = rt.block_on(async {
        let (tx, rx) = Queue::bounded_lifo(5).split();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0..ITEMS {
                        tx.send(p * ITEMS + i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx); // the last producer's sender ends the streams
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let mut rx = rx;
                    let mut got = vec![];
                    while let Some(item) = rx.next().await {
                        got.push(item);
                        rx.task_done().unwrap();
                    }
                    got
                })
            })
            .collect();
        drop(rx);
        for p in producers {
            p.await.unwrap();
        }
        let mut all = vec![];
        for c in consumers {
            all.extend(c.await.unwrap());
        }
        all
    });
    let mut consumed = consumed;
    consumed.sort_unstable();
    assert_eq!(consumed, (0..PRODUCERS * ITEMS).collect::<Vec<_>>());
}

// ---- property test: random operation sequences against a plain model -----------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Order {
    Fifo,
    Lifo,
    Priority,
}

#[derive(Clone, Debug)]
enum Op {
    TryPut(u8),
    TryGet,
    TaskDone,
    Shutdown,
    ShutdownNow,
    /// Poll a new `reserve` once; keep the permit or the pending future.
    Reserve,
    /// Put with the held permit at this index (modulo).
    PermitPut(usize, u8),
    /// Drop the held permit at this index (modulo).
    PermitDrop(usize),
    /// Poll a new `put` once; keep it if pending.
    Put(u8),
    /// Poll a new `get` once; keep it if pending.
    Get,
    /// Poll a new `join` once; keep it if pending.
    Join,
    /// Drop the pending future at this index (modulo).
    DropWaiting(usize),
    /// Poll every pending future once, in the order they wait in.
    PollAll,
    /// `try_reserve`; keep the permit.
    TryReserve,
    /// Poll a new stream's `next` once; keep it if pending.
    Stream,
}

/// A reference queue: what the queue should contain (a `VecDeque` popped per
/// order: FIFO from the front, LIFO from the back, priority the smallest key, the
/// earliest of equal ones), and its waiters in line with what each was given. It
/// follows the documented hand-over rules: a put finding a getter in line gives
/// it the item; a freed slot serves the first putter in line (its item is queued
/// for it, or a reserve gets the slot); a getter dropped holding an item gives it
/// to the next getter in line, or back to the front of the queue. Streams wait in
/// a line of their own and are never given an item: a put that finds no getter
/// queues its item and wakes the first stream in line; a stream takes a queued
/// item whenever it is polled; a woken stream dropped while items are queued
/// wakes the next stream in line.
struct Model {
    order: Order,
    cap: Option<usize>,
    items: VecDeque<Job>,
    reserved: usize,
    unfinished: usize,
    taken: usize,
    shutdown: bool,
    /// `shutdown_now` was called: gets no longer wait for held permits.
    shut_at_once: bool,
    /// Getters in line, by waiter id.
    getters: VecDeque<u32>,
    /// Streams in line, by waiter id.
    streams: VecDeque<u32>,
    /// Putters in line: waiter id, and the item (`None`: a reserve).
    putters: VecDeque<(u32, Option<Job>)>,
    /// What the waiters taken out of line were given, by waiter id.
    given: HashMap<u32, Given>,
    /// The number of the last item handed to a getter.
    handed: u64,
}

#[derive(Clone, Copy, Debug)]
enum Given {
    /// A getter: this item, the `n`th handed to a getter (a getter that gives it
    /// back passes its number on).
    Item(u64, Job),
    /// A putter: its item was queued, or its slot is held.
    Served,
    /// Woken by a shutdown.
    Shutdown,
    /// A stream: woken for a queued item.
    Woken,
}

impl Model {
    fn has_room(&self) -> bool {
        self.cap
            .is_none_or(|cap| self.items.len() + self.reserved < cap)
    }

    fn push(&mut self, job: Job) {
        self.unfinished += 1;
        self.deliver(job, None);
    }

    fn deliver(&mut self, job: Job, given_back: Option<u64>) {
        if let Some(g) = self.getters.pop_front() {
            let n = given_back.unwrap_or_else(|| {
                self.handed += 1;
                self.handed
            });
            self.given.insert(g, Given::Item(n, job));
            return;
        }
        if given_back.is_none() {
            self.items.push_back(job);
        } else {
            match self.order {
                Order::Fifo | Order::Priority => self.items.push_front(job),
                Order::Lifo => self.items.push_back(job),
            }
        }
        self.wake_stream();
    }

    fn wake_stream(&mut self) {
        if let Some(s) = self.streams.pop_front() {
            self.given.insert(s, Given::Woken);
        }
    }

    /// The next item in order, with nothing else done.
    fn pop_raw(&mut self) -> Option<Job> {
        match self.order {
            Order::Fifo => self.items.pop_front(),
            Order::Lifo => self.items.pop_back(),
            Order::Priority => {
                let at = (0..self.items.len()).min_by_key(|&at| (self.items[at].key, at))?;
                self.items.remove(at)
            }
        }
    }

    /// A get's take: the next item, counted taken, its slot refilled.
    fn pop(&mut self) -> Option<Job> {
        let job = self.pop_raw()?;
        self.taken += 1;
        self.refill();
        Some(job)
    }

    fn refill(&mut self) {
        while self.has_room() {
            let Some((id, item)) = self.putters.pop_front() else {
                return;
            };
            self.given.insert(id, Given::Served);
            match item {
                Some(job) => self.push(job),
                None => self.reserved += 1,
            }
        }
    }

    /// The items handed to getters that have not run, in the order they were
    /// handed; those getters are left as woken by the shutdown.
    fn take_handed(&mut self) -> Vec<Job> {
        let mut handed: Vec<(u64, Job)> = self
            .given
            .values_mut()
            .filter_map(|given| match *given {
                Given::Item(n, job) => {
                    *given = Given::Shutdown;
                    Some((n, job))
                }
                _ => None,
            })
            .collect();
        handed.sort_by_key(|&(n, _)| n);
        handed.into_iter().map(|(_, job)| job).collect()
    }

    /// Items handed to getters that have not taken them.
    fn in_flight(&self) -> usize {
        self.given
            .values()
            .filter(|given| matches!(given, Given::Item(..)))
            .count()
    }

    /// Shut down, nothing on its way to a getter, and (unless shut down at once)
    /// no permit held: gets fail, streams end.
    fn drained(&self) -> bool {
        self.shutdown && self.in_flight() == 0 && (self.reserved == 0 || self.shut_at_once)
    }

    /// A held slot given up or filled.
    fn slot_released(&mut self) {
        self.reserved -= 1;
        self.refill();
        self.wake_readers();
    }

    /// A graceful shutdown: the putters are woken to fail; the getters and
    /// streams too, unless an item is on its way to a getter (they wait for it).
    fn shutdown(&mut self) {
        self.shutdown = true;
        for (p, _) in std::mem::take(&mut self.putters) {
            self.given.insert(p, Given::Shutdown);
        }
        self.wake_readers();
    }

    /// After a shutdown, with nothing on its way to a getter: every waiting
    /// getter and stream is woken.
    fn wake_readers(&mut self) {
        if !self.drained() {
            return;
        }
        for g in std::mem::take(&mut self.getters) {
            self.given.insert(g, Given::Shutdown);
        }
        for s in std::mem::take(&mut self.streams) {
            self.given.insert(s, Given::Shutdown);
        }
    }

    /// What dropping waiter `w` does.
    fn drop_waiter(&mut self, w: &Waiting<'_>) {
        let id = w.id;
        self.getters.retain(|&g| g != id);
        self.streams.retain(|&s| s != id);
        self.putters.retain(|&(p, _)| p != id);
        match (self.given.remove(&id), &w.fut) {
            (Some(Given::Item(n, job)), _) => {
                self.deliver(job, Some(n));
                self.wake_readers();
            }
            (Some(Given::Served), Fut::Reserve(_)) => self.slot_released(),
            (Some(Given::Woken | Given::Shutdown), Fut::Stream(_)) if !self.items.is_empty() => {
                self.wake_stream();
            }
            _ => {}
        }
    }
}

enum Fut<'q> {
    /// A put and its item.
    Put(Task<Put<'q, Job>>, Job),
    Reserve(Task<Reserve<'q, Job>>),
    Get(Task<Get<'q, Job>>),
    Join(Task<Join<'q, Job>>),
    Stream(Task<StreamFuture<QueueStream<'q, Job>>>),
}

/// A pending future, its waiter id in the model, and its wake count when it was
/// last polled.
struct Waiting<'q> {
    fut: Fut<'q>,
    id: u32,
    seen: usize,
    /// A join only: nothing was unfinished at some point since it started waiting
    /// (it must have been woken, and only then).
    released: bool,
}

impl Waiting<'_> {
    fn wakes(&self) -> usize {
        match &self.fut {
            Fut::Put(t, _) => t.wakes(),
            Fut::Reserve(t) => t.wakes(),
            Fut::Get(t) => t.wakes(),
            Fut::Join(t) => t.wakes(),
            Fut::Stream(t) => t.wakes(),
        }
    }

    /// Woken since it was last polled.
    fn woken(&self) -> bool {
        self.wakes() > self.seen
    }
}

/// Where a property-test check is (formatted only when it fails).
#[derive(Clone, Copy)]
struct At<'o> {
    step: usize,
    /// `None` after the last one.
    op: Option<&'o Op>,
    /// The pending future being polled by `PollAll`.
    waiter: Option<usize>,
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.op {
            Some(op) => write!(f, "step {} ({op:?})", self.step)?,
            None => write!(f, "the end, after {} steps", self.step)?,
        }
        match self.waiter {
            Some(n) => write!(f, ", waiter {n}"),
            None => Ok(()),
        }
    }
}

fn key_id(j: &Job) -> (u8, u32) {
    (j.key, j.id)
}

/// Polls `w` once and checks the outcome against the model (updating it); returns
/// whether the future completed. `first`: its first poll.
fn poll_waiting<'q>(
    w: &mut Waiting<'q>,
    first: bool,
    m: &mut Model,
    permits: &mut Vec<PutPermit<'q, Job>>,
    at: &At<'_>,
) -> bool {
    let id = w.id;
    // What the waiter was given since its last poll (`None`: still in line).
    let given = if first { None } else { m.given.remove(&id) };
    let in_line = !first && given.is_none();
    let done = match &mut w.fut {
        Fut::Put(t, item) => {
            let poll = t.poll();
            let expected = match given {
                _ if in_line => Poll::Pending,
                Some(Given::Served) => Poll::Ready(Ok(())),
                _ if m.shutdown => Poll::Ready(Err(PutError(*item))),
                _ if m.has_room() => {
                    m.push(*item);
                    Poll::Ready(Ok(()))
                }
                _ => {
                    m.putters.push_back((id, Some(*item)));
                    Poll::Pending
                }
            };
            let same = match (&poll, &expected) {
                (Poll::Ready(Err(PutError(a))), Poll::Ready(Err(PutError(b)))) => {
                    key_id(a) == key_id(b)
                }
                (Poll::Ready(Ok(())), Poll::Ready(Ok(()))) | (Poll::Pending, Poll::Pending) => true,
                _ => false,
            };
            assert!(same, "{at}: put {poll:?}, expected {expected:?}");
            poll.is_ready()
        }
        Fut::Reserve(t) => {
            let poll = t.poll();
            let expected = match given {
                _ if in_line => None,
                Some(Given::Served) => Some(true),
                _ if m.shutdown => Some(false),
                _ if m.has_room() => {
                    m.reserved += 1;
                    Some(true)
                }
                _ => {
                    m.putters.push_back((id, None));
                    None
                }
            };
            match poll {
                Poll::Ready(Ok(permit)) => {
                    assert_eq!(expected, Some(true), "{at}: reserve granted");
                    permits.push(permit);
                    true
                }
                Poll::Ready(Err(ShutdownError)) => {
                    assert_eq!(expected, Some(false), "{at}: reserve failed");
                    true
                }
                Poll::Pending => {
                    assert_eq!(expected, None, "{at}: reserve pending");
                    false
                }
            }
        }
        Fut::Get(t) => {
            let poll = t.poll().map(|r| r.map(|j| key_id(&j)));
            let expected = match given {
                _ if in_line => Poll::Pending,
                Some(Given::Item(_, job)) => {
                    m.taken += 1;
                    m.wake_readers();
                    Poll::Ready(Ok(key_id(&job)))
                }
                _ => match m.pop() {
                    Some(job) => Poll::Ready(Ok(key_id(&job))),
                    None if m.drained() => Poll::Ready(Err(ShutdownError)),
                    None => {
                        m.getters.push_back(id);
                        Poll::Pending
                    }
                },
            };
            assert_eq!(poll, expected, "{at}: get");
            poll.is_ready()
        }
        Fut::Stream(t) => {
            // Takes a queued item whenever polled, in line or not, leaving the
            // line first (a put its take lets in wakes the next stream).
            let poll = t.poll().map(|(item, _)| item.map(|j| key_id(&j)));
            let expected = if !m.items.is_empty() || m.drained() {
                m.streams.retain(|&s| s != id);
                Poll::Ready(m.pop().map(|j| key_id(&j)))
            } else {
                if !in_line {
                    m.streams.push_back(id);
                }
                Poll::Pending
            };
            assert_eq!(poll, expected, "{at}: stream");
            poll.is_ready()
        }
        Fut::Join(t) => {
            let ready = t.poll().is_ready();
            // A join completes at its first poll if nothing is unfinished, later
            // once the count reached zero (which woke it).
            let due = if first { m.unfinished == 0 } else { w.released };
            assert_eq!(ready, due, "{at}: join ready");
            ready
        }
    };
    w.seen = w.wakes();
    done
}

fn run_ops(order: Order, cap: Option<usize>, ops: &[Op]) {
    let q: Queue<Job> = match (order, cap) {
        (Order::Fifo, Some(cap)) => Queue::bounded(cap),
        (Order::Fifo, None) => Queue::unbounded(),
        (Order::Lifo, Some(cap)) => Queue::bounded_lifo(cap),
        (Order::Lifo, None) => Queue::unbounded_lifo(),
        (Order::Priority, Some(cap)) => Queue::bounded_priority(cap),
        (Order::Priority, None) => Queue::unbounded_priority(),
    };
    let mut m = Model {
        order,
        cap,
        items: VecDeque::new(),
        reserved: 0,
        unfinished: 0,
        taken: 0,
        shutdown: false,
        shut_at_once: false,
        getters: VecDeque::new(),
        streams: VecDeque::new(),
        putters: VecDeque::new(),
        given: HashMap::new(),
        handed: 0,
    };
    let mut waiting: Vec<Waiting<'_>> = Vec::new();
    let mut permits: Vec<PutPermit<'_, Job>> = Vec::new();
    let mut next_id = 0u32;
    let mut new_job = |key: u8| {
        next_id += 1;
        job(key, next_id)
    };
    let mut next_waiter = 0u32;
    for (step, op) in ops.iter().enumerate() {
        let at = At {
            step,
            op: Some(op),
            waiter: None,
        };
        match *op {
            Op::TryPut(key) => {
                let j = new_job(key);
                match q.try_put(j) {
                    Ok(()) => {
                        assert!(!m.shutdown && m.has_room(), "{at}");
                        m.push(j);
                    }
                    Err(TryPutError::Full(back)) => {
                        assert!(!m.shutdown && !m.has_room(), "{at}");
                        assert_eq!(key_id(&back), key_id(&j), "{at}");
                    }
                    Err(TryPutError::Shutdown(back)) => {
                        assert!(m.shutdown, "{at}");
                        assert_eq!(key_id(&back), key_id(&j), "{at}");
                    }
                }
            }
            Op::TryGet => {
                let got = q.try_get().map(|j| key_id(&j));
                let expected = match m.pop() {
                    Some(job) => Ok(key_id(&job)),
                    None if m.drained() => Err(TryGetError::Shutdown),
                    None => Err(TryGetError::Empty),
                };
                assert_eq!(got, expected, "{at}");
            }
            Op::TaskDone => {
                let done = q.task_done();
                if m.taken > 0 {
                    assert_eq!(done, Ok(()), "{at}");
                    m.taken -= 1;
                    m.unfinished -= 1;
                } else {
                    assert_eq!(done, Err(TaskDoneError), "{at}");
                }
            }
            Op::Shutdown => {
                q.shutdown();
                m.shutdown();
            }
            Op::ShutdownNow => {
                let got: Vec<_> = q.shutdown_now().iter().map(key_id).collect();
                // First the items handed to getters that have not run, in the
                // order they were handed (those getters then fail), then the
                // queued ones in order.
                let mut expected: Vec<_> = m.take_handed().iter().map(key_id).collect();
                expected.extend(std::iter::from_fn(|| m.pop_raw()).map(|j| key_id(&j)));
                m.unfinished -= expected.len();
                assert_eq!(got, expected, "{at}");
                m.shut_at_once = true;
                m.shutdown();
            }
            Op::TryReserve => match q.try_reserve() {
                Ok(permit) => {
                    assert!(!m.shutdown && m.has_room(), "{at}");
                    m.reserved += 1;
                    permits.push(permit);
                }
                Err(TryPutError::Full(())) => assert!(!m.shutdown && !m.has_room(), "{at}"),
                Err(TryPutError::Shutdown(())) => assert!(m.shutdown, "{at}"),
            },
            Op::PermitPut(i, key) => {
                if !permits.is_empty() {
                    let permit = permits.remove(i % permits.len());
                    let j = new_job(key);
                    permit.put(j);
                    m.reserved -= 1;
                    m.push(j);
                    m.refill();
                    m.wake_readers();
                }
            }
            Op::PermitDrop(i) => {
                if !permits.is_empty() {
                    drop(permits.remove(i % permits.len()));
                    m.slot_released();
                }
            }
            Op::Reserve | Op::Put(_) | Op::Get | Op::Join | Op::Stream => {
                let fut = match *op {
                    Op::Reserve => Fut::Reserve(Task::new(q.reserve())),
                    Op::Put(key) => {
                        let j = new_job(key);
                        Fut::Put(Task::new(q.put(j)), j)
                    }
                    Op::Get => Fut::Get(Task::new(q.get())),
                    Op::Stream => Fut::Stream(Task::new(q.stream().into_future())),
                    _ => Fut::Join(Task::new(q.join())),
                };
                next_waiter += 1;
                let mut w = Waiting {
                    fut,
                    id: next_waiter,
                    seen: 0,
                    released: false,
                };
                if !poll_waiting(&mut w, true, &mut m, &mut permits, &at) {
                    waiting.push(w);
                }
            }
            Op::DropWaiting(i) => {
                if !waiting.is_empty() {
                    let w = waiting.remove(i % waiting.len());
                    m.drop_waiter(&w);
                    drop(w);
                }
            }
            Op::PollAll => {
                for (n, mut w) in std::mem::take(&mut waiting).into_iter().enumerate() {
                    let at = At {
                        waiter: Some(n),
                        ..at
                    };
                    if !poll_waiting(&mut w, false, &mut m, &mut permits, &at) {
                        waiting.push(w);
                    }
                }
            }
        }
        if m.unfinished == 0 {
            for w in &mut waiting {
                w.released = true;
            }
        }
        check_state(&q, &m, &waiting, &at);
    }
    // The end: everything dropped (as the model says), nothing held, the rest
    // comes back in order.
    for w in waiting {
        m.drop_waiter(&w);
        drop(w);
    }
    for permit in permits {
        drop(permit);
        m.slot_released();
    }
    let end = At {
        step: ops.len(),
        op: None,
        waiter: None,
    };
    check_state(&q, &m, &[], &end);
    let rest: Vec<_> = q.shutdown_now().iter().map(key_id).collect();
    let expected: Vec<_> = std::iter::from_fn(|| m.pop_raw())
        .map(|j| key_id(&j))
        .collect();
    assert_eq!(rest, expected, "the end: shutdown_now");
    assert_eq!(
        q.unfinished_tasks(),
        m.unfinished - expected.len(),
        "the end"
    );
}

/// The snapshot getters agree with the model, and the wake-ups too: a waiter is
/// woken exactly when it was given something (an item, a slot, its item queued,
/// or the shutdown); a join exactly when nothing was unfinished.
fn check_state(q: &Queue<Job>, m: &Model, waiting: &[Waiting<'_>], at: &At<'_>) {
    assert_eq!(q.len(), m.items.len(), "{at}: len");
    assert_eq!(q.is_empty(), m.items.is_empty(), "{at}: is_empty");
    assert_eq!(q.is_full(), !m.has_room(), "{at}: is_full");
    assert_eq!(q.unfinished_tasks(), m.unfinished, "{at}: unfinished_tasks");
    assert_eq!(q.is_shutdown(), m.shutdown, "{at}: is_shutdown");
    for (n, w) in waiting.iter().enumerate() {
        let expected = match w.fut {
            Fut::Join(_) => w.released,
            _ => m.given.contains_key(&w.id),
        };
        assert_eq!(
            w.woken(),
            expected,
            "{at}: waiter {n} woken (given: {:?})",
            m.given.get(&w.id)
        );
    }
}

/// One operation, drawn from plain numbers (cheaper to generate than a union of
/// strategies, and shrinking still drops operations and lowers keys and indices).
fn op() -> impl Strategy<Value = Op> {
    // Weights: try_put 5, try_get 4, task_done 3, shutdown 1, shutdown_now 1,
    // reserve 2, permit put 2, permit drop 1, put 3, get 3, join 1, drop 2, poll 4,
    // try_reserve 1, stream 2.
    const WEIGHTS: [u8; 15] = [5, 4, 3, 1, 1, 2, 2, 1, 3, 3, 1, 2, 4, 1, 2];
    const TOTAL: u8 = 35;
    const _: () = {
        let (mut sum, mut kind) = (0, 0);
        while kind < WEIGHTS.len() {
            sum += WEIGHTS[kind];
            kind += 1;
        }
        assert!(sum == TOTAL);
    };
    // Few keys: many ties in priority order.
    (0..TOTAL, 0u8..4, 0usize..8).prop_map(|(mut pick, key, i)| {
        let mut kind = 0;
        while pick >= WEIGHTS[kind] {
            pick -= WEIGHTS[kind];
            kind += 1;
        }
        match kind {
            0 => Op::TryPut(key),
            1 => Op::TryGet,
            2 => Op::TaskDone,
            3 => Op::Shutdown,
            4 => Op::ShutdownNow,
            5 => Op::Reserve,
            6 => Op::PermitPut(i, key),
            7 => Op::PermitDrop(i),
            8 => Op::Put(key),
            9 => Op::Get,
            10 => Op::Join,
            11 => Op::DropWaiting(i),
            12 => Op::PollAll,
            13 => Op::TryReserve,
            _ => Op::Stream,
        }
    })
}

fn capacity() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![Just(None), (1usize..=4).prop_map(Some)]
}

const MAX_OPS: usize = if cfg!(miri) { 24 } else { 100 };

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 2000 },
        // No regression files in the source tree; a failure prints its minimal case.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fifo_matches_a_vecdeque(cap in capacity(), ops in prop::collection::vec(op(), 0..MAX_OPS)) {
        run_ops(Order::Fifo, cap, &ops);
    }

    #[test]
    fn lifo_matches_a_vec(cap in capacity(), ops in prop::collection::vec(op(), 0..MAX_OPS)) {
        run_ops(Order::Lifo, cap, &ops);
    }

    #[test]
    fn priority_matches_a_stable_sorted_vec(
        cap in capacity(),
        ops in prop::collection::vec(op(), 0..MAX_OPS),
    ) {
        run_ops(Order::Priority, cap, &ops);
    }
}

#[test]
fn put_panics_when_polled_again() {
    let q = Queue::bounded(2);
    common::assert_ready_then_panics_when_polled_again(q.put(1), "Put polled after completion");
    assert_eq!(q.len(), 1, "the item was put once");
}

//! `Queue`: put vs get on a capacity-1 queue, shutdown vs waiting puts and gets,
//! cancelled gets and puts passing their wake-up on, a get holding an item vs
//! `shutdown` and vs `shutdown_now`, a waiting stream vs a get, `task_done` vs `join`,
//! reserve vs shutdown, and a permit's put vs the last receiver's drop.
//!
//! Every model checks that no item is lost or duplicated (items in = items out +
//! items handed back), that nobody hangs (a waiter that is never woken is a loom
//! deadlock), and that no slot is leaked (`is_full()` is false once the queue is
//! empty and every permit is gone). Waiters that must be queued in a known order,
//! or be waiting when the race starts, are polled once on the main thread before
//! anything is spawned ([`with_static`]), so loom spends its schedules on the race.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use async_patterns::queue::{PutError, Queue, ShutdownError, TaskDoneError, TryGetError};
use futures::Stream;
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;

use crate::{Signal, model, poll_once, waiting, with_static};

/// Takes what is left in `q` (after a shutdown): the items in order, then checks
/// that the queue reports itself shut down and empty.
fn drain(q: &Queue<u32>) -> Vec<u32> {
    let mut items = Vec::new();
    loop {
        match q.try_get() {
            Ok(item) => items.push(item),
            Err(e) => {
                assert_eq!(e, TryGetError::Shutdown, "drained a queue not shut down");
                return items;
            }
        }
    }
}

/// `items` sorted, for comparing multisets.
fn sorted(mut items: Vec<u32>) -> Vec<u32> {
    items.sort_unstable();
    items
}

/// Polls a stream once with a no-op waker (like [`poll_once`] for a future).
fn poll_next_once<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    Pin::new(stream).poll_next(&mut Context::from_waker(Waker::noop()))
}

/// The next item of a stream, under loom's `block_on`.
fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    block_on(poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)))
}

// ---------------------------------------------------------------------------
// put vs get on a capacity-1 queue
// ---------------------------------------------------------------------------

/// Capacity 1, a producer puts 1 then 2 (its second put waits until the first item
/// was taken), a consumer gets twice: it receives `[1, 2]` in order, each exactly
/// once, and neither side hangs, in whichever order the puts, the gets and their
/// wake-ups interleave. (At capacity 1 the order mostly says that the second put
/// did not overwrite or overtake the first item; the buffer's own order is the
/// unit and property tests' business.)
#[test]
fn put_vs_get_capacity_one_fifo() {
    model(|| {
        let q = Arc::new(Queue::bounded(1));
        let producer = {
            let q = q.clone();
            thread::spawn(move || {
                block_on(q.put(1)).expect("not shut down");
                block_on(q.put(2)).expect("not shut down");
            })
        };
        let first = block_on(q.get()).expect("not shut down");
        let second = block_on(q.get()).expect("not shut down");
        producer.join().unwrap();
        assert_eq!([first, second], [1, 2]);
        assert!(q.is_empty() && !q.is_full());
        assert_eq!(q.unfinished_tasks(), 2, "taken, not marked done");
    });
}

/// Capacity 1, a producer puts 1 then 2 while two consumers get one item each: the
/// items are received exactly once between them (whichever consumer is woken for
/// which item, and whether a consumer takes an item on its first try ahead of a
/// woken one), and nobody hangs.
#[test]
fn put_vs_two_getters_capacity_one() {
    model(|| {
        let q = Arc::new(Queue::bounded(1));
        let producer = {
            let q = q.clone();
            thread::spawn(move || {
                block_on(q.put(1)).expect("not shut down");
                block_on(q.put(2)).expect("not shut down");
            })
        };
        let consumer = {
            let q = q.clone();
            thread::spawn(move || block_on(q.get()).expect("not shut down"))
        };
        let mine = block_on(q.get()).expect("not shut down");
        let theirs = consumer.join().unwrap();
        producer.join().unwrap();
        assert_eq!(sorted(vec![mine, theirs]), [1, 2]);
        assert!(q.is_empty() && !q.is_full());
    });
}

/// Capacity 1, two producers put one item each (one of them waits for the slot)
/// while a consumer gets twice: it receives both items exactly once, and each
/// freed slot reaches the waiting producer.
#[test]
fn two_putters_vs_get_capacity_one() {
    model(|| {
        let q = Arc::new(Queue::bounded(1));
        let producers: Vec<_> = [1, 2]
            .into_iter()
            .map(|item| {
                let q = q.clone();
                thread::spawn(move || block_on(q.put(item)).expect("not shut down"))
            })
            .collect();
        let first = block_on(q.get()).expect("not shut down");
        let second = block_on(q.get()).expect("not shut down");
        for producer in producers {
            producer.join().unwrap();
        }
        assert_eq!(sorted(vec![first, second]), [1, 2]);
        assert!(q.is_empty() && !q.is_full());
    });
}

// ---------------------------------------------------------------------------
// shutdown vs a waiting put and a waiting get
// ---------------------------------------------------------------------------

/// What the main thread does with the permit that keeps the queue "full but
/// empty" (so that a put and a get can both wait) before it shuts the queue down.
#[derive(Clone, Copy)]
enum Then {
    /// Keep the permit over the shutdown, then put 0 with it: nothing can move
    /// until the shutdown, and the get waits for the permit's item.
    Keep,
    /// Drop the permit (the slot frees, the waiting put may go), then `shutdown()`.
    DropThenShutdown,
    /// Put 0 with the permit (the waiting get may take it, which frees the slot for
    /// the waiting put), then `shutdown_now()`.
    PutThenShutdownNow,
}

/// Capacity 1 and a permit holding the slot: a `put(1)` and a `get()` both wait
/// (each was polled once before the race). Their threads drive them while the main
/// thread does `then` with the permit and shuts the queue down. Both complete (the
/// shutdown wakes whoever still waits); the put either put its item or got it back;
/// the get returns an item or `ShutdownError`; and every item that went in comes
/// out exactly once: received by the get, returned by `shutdown_now`, or drained
/// afterwards. Items taken count as unfinished, items handed back by
/// `shutdown_now` do not.
fn shutdown_vs_waiting_put_and_get(then: Then) {
    model(move || {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Queue::bounded(1), |q| {
                let permit = block_on(q.reserve()).expect("not shut down");
                let put = waiting(q.put(1));
                let get = waiting(q.get());

                let putter = thread::spawn(move || block_on(put));
                let getter = thread::spawn(move || block_on(get));
                let mut put_in = vec![1];
                let mut returned = Vec::new();
                match then {
                    Then::Keep => {
                        q.shutdown();
                        // A permit's put never fails, even after the shutdown: the
                        // item is there for the waiting get.
                        permit.put(0);
                        put_in.push(0);
                    }
                    Then::DropThenShutdown => {
                        drop(permit);
                        q.shutdown();
                    }
                    Then::PutThenShutdownNow => {
                        permit.put(0);
                        put_in.push(0);
                        returned = q.shutdown_now();
                    }
                }
                let put_result = putter.join().unwrap();
                let got = getter.join().unwrap();
                let mut out = returned.clone();
                match put_result {
                    Ok(()) => {}
                    Err(PutError(item)) => {
                        assert_eq!(item, 1, "the put handed back another item");
                        out.push(item);
                    }
                }
                let mut taken = 0;
                if let Ok(item) = got {
                    taken += 1;
                    out.push(item);
                }
                let drained = drain(q);
                taken += drained.len();
                out.extend(drained);
                assert_eq!(
                    sorted(out.clone()),
                    sorted(put_in.clone()),
                    "items in {put_in:?}, items out {out:?} (put: {put_result:?}, get: {got:?}, \
                     shutdown_now: {returned:?})"
                );
                if let Then::Keep = then {
                    assert!(put_result.is_err(), "the put went through a held slot");
                    assert_eq!(got, Ok(0), "the get waited for the held permit");
                }
                if let Then::DropThenShutdown = then {
                    // A put that succeeded did so before the shutdown, and a graceful
                    // shutdown lets the get drain it.
                    assert_eq!(
                        put_result.is_ok(),
                        got == Ok(1),
                        "put: {put_result:?}, get: {got:?}"
                    );
                }
                assert!(q.is_shutdown() && q.is_empty());
                assert!(!q.is_full(), "a slot leaked");
                assert_eq!(
                    q.unfinished_tasks(),
                    taken,
                    "taken items stay unfinished, items returned by shutdown_now are done \
                     (put: {put_result:?}, get: {got:?}, shutdown_now: {returned:?})"
                );
            })
        };
    });
}

/// [`shutdown_vs_waiting_put_and_get`] with nothing moving before the shutdown:
/// the shutdown alone must wake the put (it gets its item back), and the get
/// waits for the held permit, whose put after the shutdown it receives.
#[test]
fn shutdown_wakes_waiting_put_and_get() {
    shutdown_vs_waiting_put_and_get(Then::Keep);
}

/// [`shutdown_vs_waiting_put_and_get`] with the slot freed just before a graceful
/// shutdown: the put completes before the shutdown (and the get receives its item)
/// or fails with its item, never half-way.
#[test]
fn shutdown_vs_freed_slot_with_waiting_put_and_get() {
    shutdown_vs_waiting_put_and_get(Then::DropThenShutdown);
}

/// [`shutdown_vs_waiting_put_and_get`] with an item put through the permit just
/// before `shutdown_now`: whichever of the get, the woken put and the shutdown
/// runs first, each item is received, returned by `shutdown_now` or handed back.
#[test]
fn shutdown_now_vs_waiting_put_and_get() {
    shutdown_vs_waiting_put_and_get(Then::PutThenShutdownNow);
}

// ---------------------------------------------------------------------------
// cancelled get (and put) vs put (and get)
// ---------------------------------------------------------------------------

/// Two gets wait, in order; a put races the drop of the first get (before or after
/// the put's wake-up reached it): the item goes to the second get, which completes
/// without any further put.
#[test]
fn cancelled_get_passes_item_on() {
    model(|| {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Queue::bounded(1), |q| {
                let first = waiting(q.get());
                let second = waiting(q.get());

                let dropper = thread::spawn(move || drop(first));
                let getter = thread::spawn(move || block_on(second));
                block_on(q.put(7)).expect("not shut down");
                dropper.join().unwrap();
                assert_eq!(getter.join().unwrap(), Ok(7));
                assert!(q.is_empty() && !q.is_full());
            })
        };
    });
}

/// A get that was handed an item (polled once, then given it by a put) is dropped
/// on one thread while the main thread calls `shutdown_now`: dropped first, it
/// gives the item back to the queue and `shutdown_now` drains it; dropped after,
/// `shutdown_now` has taken the item back from it. Either way `shutdown_now`
/// returns the item, it counts as done (a `join` completes), and nothing is left.
#[test]
fn cancelled_handed_get_vs_shutdown_now() {
    model(|| {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Queue::bounded(1), |q| {
                let get = waiting(q.get());
                q.try_put(7).expect("handed to the waiting get");

                let dropper = thread::spawn(move || drop(get));
                assert_eq!(q.shutdown_now(), [7]);
                dropper.join().unwrap();
                assert!(q.is_empty() && !q.is_full());
                assert_eq!(q.unfinished_tasks(), 0);
                block_on(q.join());
            })
        };
    });
}

/// A get that was handed an item (polled once, then given it by a put) races a
/// graceful shutdown, while a second get waits on a thread of its own. If the
/// first get takes its item, the second fails, once it has; if the first is
/// dropped instead, its item goes to the second get, which must not have failed
/// at the shutdown in the meantime, whichever came first. Nothing is left behind.
fn handed_get_vs_shutdown(take: bool) {
    model(move || {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Queue::bounded(1), |q| {
                let first = waiting(q.get());
                let second = waiting(q.get());
                q.try_put(7).expect("handed to the first get");

                let first = thread::spawn(move || take.then(|| block_on(first)));
                let second = thread::spawn(move || block_on(second));
                q.shutdown();
                let (first, second) = (first.join().unwrap(), second.join().unwrap());
                if take {
                    assert_eq!((first, second), (Some(Ok(7)), Err(ShutdownError)));
                } else {
                    assert_eq!(second, Ok(7), "the dropped get passed its item on");
                }
                assert!(drain(q).is_empty());
                assert_eq!(q.unfinished_tasks(), 1);
            })
        };
    });
}

/// [`handed_get_vs_shutdown`] with the first get taking its item.
#[test]
fn handed_get_taken_vs_shutdown() {
    handed_get_vs_shutdown(true);
}

/// [`handed_get_vs_shutdown`] with the first get dropped.
#[test]
fn handed_get_dropped_vs_shutdown() {
    handed_get_vs_shutdown(false);
}

/// A permit is held while a get waits on one thread and the queue is shut down
/// gracefully on another; the permit is then used (`put`) or dropped on a third.
/// The get waits for the permit whichever comes first: it gets the permit's item,
/// or fails once the permit is dropped (a lost wake-up is a loom deadlock), and
/// nothing is left in the queue.
fn held_permit_vs_shutdown_vs_get(put: bool) {
    model(move || {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Queue::bounded(1), |q| {
                let permit = q.try_reserve().expect("a free slot");
                let getter = thread::spawn(move || block_on(q.get()));
                let holder = thread::spawn(move || {
                    if put {
                        permit.put(7);
                    } else {
                        drop(permit);
                    }
                });
                q.shutdown();
                holder.join().unwrap();
                let got = getter.join().unwrap();
                assert_eq!(got, if put { Ok(7) } else { Err(ShutdownError) });
                assert!(drain(q).is_empty());
            })
        };
    });
}

/// [`held_permit_vs_shutdown_vs_get`] with the permit used.
#[test]
fn held_permit_put_vs_shutdown_vs_get() {
    held_permit_vs_shutdown_vs_get(true);
}

/// [`held_permit_vs_shutdown_vs_get`] with the permit dropped.
#[test]
fn held_permit_dropped_vs_shutdown_vs_get() {
    held_permit_vs_shutdown_vs_get(false);
}

/// As [`cancelled_get_passes_item_on`] with two `Receiver` streams of a split
/// queue: dropping a receiver that waits (not the last one) passes the item on.
#[test]
fn cancelled_receiver_stream_passes_item_on() {
    model(|| {
        let (tx, mut first) = Queue::bounded(1).split();
        let mut second = first.clone();
        assert!(poll_next_once(&mut first).is_pending());
        assert!(poll_next_once(&mut second).is_pending());

        let dropper = thread::spawn(move || drop(first));
        let receiver = thread::spawn(move || next(&mut second));
        block_on(tx.send(7)).expect("a receiver is left");
        dropper.join().unwrap();
        assert_eq!(receiver.join().unwrap(), Some(7));
    });
}

/// A waiting `Receiver` stream races a `recv` on another receiver for the two
/// items a sender sends: the stream is woken, not handed an item, so either may
/// take either item; a stream woken for an item the `recv` took first waits
/// again and is woken by the next send. Each side gets one item, once, and
/// neither hangs.
#[test]
fn stream_vs_recv_for_two_sends() {
    model(|| {
        let (tx, mut stream) = Queue::unbounded().split();
        let other = stream.clone();
        assert!(poll_next_once(&mut stream).is_pending());

        let getter = thread::spawn(move || block_on(other.recv()));
        let sender = thread::spawn(move || {
            tx.try_send(1).unwrap();
            tx.try_send(2).unwrap();
            tx
        });
        let from_stream = next(&mut stream).expect("not shut down");
        let from_get = getter.join().unwrap().expect("not shut down");
        assert_eq!(sorted(vec![from_stream, from_get]), [1, 2]);
        let _tx = sender.join().unwrap();
        assert_eq!(stream.try_recv(), Err(TryGetError::Empty));
    });
}

/// Capacity 1, full; two puts wait, in order; a get races the drop of the first
/// put. Either the get came first and queued the first put's item for it (the put
/// was done when it was dropped), or the drop came first and the freed slot went
/// to the second put, which completes without any further get. Nothing is lost or
/// put twice, and the second put completes in both cases.
#[test]
fn cancelled_put_vs_get() {
    model(|| {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Queue::bounded(1), |q| {
                q.try_put(0).unwrap();
                let first = waiting(q.put(1));
                let second = waiting(q.put(2));

                let dropper = thread::spawn(move || drop(first));
                let putter = thread::spawn(move || block_on(second));
                assert_eq!(block_on(q.get()), Ok(0));
                dropper.join().unwrap();
                let mut items = vec![block_on(q.get()).unwrap()];
                putter.join().unwrap().expect("not shut down");
                while let Ok(item) = q.try_get() {
                    items.push(item);
                }
                assert!(items == [1, 2] || items == [2], "{items:?}");
            })
        };
    });
}

/// Capacity 1, full; a reserve and then a put wait, in order; a get races the
/// drop of the reserve. Either the get came first and held the freed slot for the
/// reserve (its drop then passes the slot to the put), or the drop came first and
/// the get's slot goes to the put at once. The put completes without any further
/// get, its item is the only one left, and no slot stays held.
#[test]
fn cancelled_reserve_vs_get() {
    model(|| {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Queue::bounded(1), |q| {
                q.try_put(0).unwrap();
                let first = waiting(q.reserve());
                let second = waiting(q.put(2));

                let dropper = thread::spawn(move || drop(first));
                let putter = thread::spawn(move || block_on(second));
                assert_eq!(block_on(q.get()), Ok(0));
                dropper.join().unwrap();
                putter.join().unwrap().expect("not shut down");
                assert_eq!(q.try_get(), Ok(2));
                assert!(!q.is_full(), "no slot stays held");
            })
        };
    });
}

// ---------------------------------------------------------------------------
// task_done vs join
// ---------------------------------------------------------------------------

/// Two items queued and a `join` waiting (polled once before the race if
/// `registered`, else started while the workers run); two workers each take one
/// item and mark it done. The join completes, and only once both are done: when it
/// returns, `unfinished_tasks()` is 0 (nothing is put afterwards, so a join that
/// completed early would see it above 0).
fn join_vs_task_done(registered: bool) {
    model(move || {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Queue::unbounded(), |q| {
                q.try_put(1).unwrap();
                q.try_put(2).unwrap();
                let mut join = Box::pin(q.join());
                if registered {
                    assert!(poll_once(join.as_mut()).is_pending());
                }

                let workers: Vec<_> = (0..2)
                    .map(|_| {
                        thread::spawn(move || {
                            let item = block_on(q.get()).expect("not shut down");
                            q.task_done().expect("an item was taken");
                            item
                        })
                    })
                    .collect();
                block_on(join);
                assert_eq!(
                    q.unfinished_tasks(),
                    0,
                    "join completed before the last task_done"
                );
                let got: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
                assert_eq!(sorted(got), [1, 2]);
                assert_eq!(q.task_done(), Err(TaskDoneError), "one task_done too many");
            })
        };
    });
}

/// [`join_vs_task_done`] with the join waiting before the workers start.
#[test]
fn join_waits_for_last_task_done() {
    join_vs_task_done(true);
}

/// [`join_vs_task_done`] with the join's first poll racing the workers.
#[test]
fn join_started_during_task_done() {
    join_vs_task_done(false);
}

/// One item taken (not done yet) and one queued, a `join` waiting: `task_done` for
/// the taken item races `shutdown_now`, which returns the queued item and counts it
/// as done. The join completes only once both happened.
#[test]
fn join_vs_task_done_and_shutdown_now() {
    model(|| {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Queue::unbounded(), |q| {
                q.try_put(1).unwrap();
                q.try_put(2).unwrap();
                assert_eq!(q.try_get(), Ok(1));
                let join = waiting(q.join());

                let worker = thread::spawn(move || q.task_done().expect("an item was taken"));
                let closer = thread::spawn(move || q.shutdown_now());
                block_on(join);
                assert_eq!(q.unfinished_tasks(), 0, "join completed too early");
                worker.join().unwrap();
                assert_eq!(
                    closer.join().unwrap(),
                    [2],
                    "shutdown_now returns the queued item"
                );
            })
        };
    });
}

// ---------------------------------------------------------------------------
// reserve vs shutdown
// ---------------------------------------------------------------------------

/// What the thread that won a permit does with it.
#[derive(Clone, Copy)]
enum UsePermit {
    Put,
    Drop,
}

/// Capacity 1, full with item 0, and a `reserve()` waiting. A consumer takes the
/// item (freeing the slot for the reserve) while the main thread shuts the queue
/// down (gracefully or with `shutdown_now`). The reserve completes with a permit or
/// `ShutdownError`; a permit's put (which may come after the shutdown) never fails
/// and its item is drained afterwards (or returned by a later `shutdown_now`); a
/// dropped permit frees its slot. Every item is accounted for and no slot leaks.
fn reserve_vs_shutdown(now: bool, use_permit: UsePermit) {
    model(move || {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Queue::bounded(1), |q| {
                q.try_put(0).unwrap();
                let mut reserve = Box::pin(q.reserve());
                assert!(
                    poll_once(reserve.as_mut()).is_pending(),
                    "the queue is full"
                );

                let reserver = thread::spawn(move || match block_on(reserve) {
                    Ok(permit) => {
                        match use_permit {
                            UsePermit::Put => permit.put(1),
                            UsePermit::Drop => drop(permit),
                        }
                        true
                    }
                    Err(ShutdownError) => false,
                });
                let getter = thread::spawn(move || block_on(q.get()));
                let returned = if now {
                    q.shutdown_now()
                } else {
                    q.shutdown();
                    Vec::new()
                };
                let reserved = reserver.join().unwrap();
                let got = getter.join().unwrap();

                let mut put_in = vec![0];
                if reserved && matches!(use_permit, UsePermit::Put) {
                    put_in.push(1);
                }
                let mut out = returned.clone();
                out.extend(got);
                if !now {
                    assert_eq!(got, Ok(0), "a graceful shutdown drains the queued item");
                }
                // What is left: a permit's late put. A later `shutdown_now` returns
                // it (graceful case: check that try_get drains it too).
                let left = if now { q.shutdown_now() } else { drain(q) };
                out.extend(left);
                assert_eq!(
                    sorted(out.clone()),
                    sorted(put_in.clone()),
                    "items in {put_in:?}, items out {out:?} (reserved: {reserved}, got: {got:?}, \
                     shutdown_now: {returned:?})"
                );
                assert!(q.is_empty());
                assert!(!q.is_full(), "a slot leaked (reserved: {reserved})");
                // Taken items stay unfinished (nobody calls task_done); items
                // returned by `shutdown_now` count as done.
                assert_eq!(
                    q.unfinished_tasks(),
                    usize::from(got.is_ok()) + usize::from(!now && put_in.len() == 2),
                    "unfinished tasks (reserved: {reserved}, got: {got:?}, shutdown_now: \
                     {returned:?})"
                );
            })
        };
    });
}

/// [`reserve_vs_shutdown`]: graceful shutdown, the permit is used to put.
#[test]
fn reserve_vs_shutdown_then_put() {
    reserve_vs_shutdown(false, UsePermit::Put);
}

/// [`reserve_vs_shutdown`]: graceful shutdown, the permit is dropped.
#[test]
fn reserve_vs_shutdown_then_drop() {
    reserve_vs_shutdown(false, UsePermit::Drop);
}

/// [`reserve_vs_shutdown`]: `shutdown_now`, the permit is used to put.
#[test]
fn reserve_vs_shutdown_now_then_put() {
    reserve_vs_shutdown(true, UsePermit::Put);
}

/// [`reserve_vs_shutdown`]: `shutdown_now`, the permit is dropped.
#[test]
fn reserve_vs_shutdown_now_then_drop() {
    reserve_vs_shutdown(true, UsePermit::Drop);
}

/// Capacity 1, full with item 0, and a `reserve()` waiting. The main thread shuts
/// the queue down gracefully, and only then a consumer takes the item: the slot
/// that frees after the shutdown must not become a permit. The reserve fails with
/// `ShutdownError` whether the shutdown's wake-up or the freed slot reaches it
/// first, the consumer still drains the item, and the slot is free at the end.
#[test]
fn shutdown_fails_waiting_reserve() {
    model(|| {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static((Queue::bounded(1), Signal::new()), |(q, shut)| {
                q.try_put(0).unwrap();
                let mut reserve = Box::pin(q.reserve());
                assert!(
                    poll_once(reserve.as_mut()).is_pending(),
                    "the queue is full"
                );

                let reserver = thread::spawn(move || block_on(reserve).map(drop));
                let getter = thread::spawn(move || {
                    shut.wait();
                    block_on(q.get())
                });
                q.shutdown();
                shut.set();
                assert_eq!(
                    reserver.join().unwrap(),
                    Err(ShutdownError),
                    "a reserve got a permit after the shutdown"
                );
                assert_eq!(getter.join().unwrap(), Ok(0), "a graceful shutdown drains");
                assert!(q.is_empty() && !q.is_full(), "a slot leaked");
                assert!(drain(q).is_empty());
            })
        };
    });
}

/// Capacity 1, the slot held by a permit and a `put(1)` waiting behind it: the
/// permit is dropped while the put is driven and a get waits for the item. The
/// freed slot reaches the put, and the get receives its item.
#[test]
fn dropped_permit_wakes_waiting_put() {
    model(|| {
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(Queue::bounded(1), |q| {
                let permit = block_on(q.reserve()).expect("not shut down");
                let put = waiting(q.put(1));

                let dropper = thread::spawn(move || drop(permit));
                let putter = thread::spawn(move || block_on(put));
                assert_eq!(block_on(q.get()), Ok(1));
                dropper.join().unwrap();
                putter.join().unwrap().expect("not shut down");
                assert!(q.is_empty() && !q.is_full());
            })
        };
    });
}

/// A split queue: a permit's put on one thread, the last receiver taking an item
/// (never marked done) and then dropped on another, and `join` waiting on the main
/// thread. Whichever comes first, the join completes (nobody is left to mark work
/// done), the put after the drop drops its item instead of queueing it where no
/// receiver can get it, and no work stays unfinished.
#[test]
fn permit_put_vs_last_receiver_drop() {
    model(|| {
        let (tx, rx) = Queue::bounded(2).split();
        tx.try_send(0).unwrap();
        // SAFETY: the closure joins every thread it spawns.
        unsafe {
            with_static(tx, |tx| {
                let permit = tx.try_reserve().unwrap();
                let putter = thread::spawn(move || permit.put(1));
                let receiver = thread::spawn(move || {
                    let got = rx.try_recv();
                    drop(rx);
                    got
                });
                block_on(tx.join());
                putter.join().unwrap();
                let got = receiver.join().unwrap();
                assert_eq!(got, Ok(0), "item 0 was queued first");
                assert!(
                    tx.queue().is_empty(),
                    "an item left where nobody can get it"
                );
                assert_eq!(tx.queue().unfinished_tasks(), 0);
            })
        };
    });
}

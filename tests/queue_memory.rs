//! Heap held by an empty `Queue<u64>`, against flume (issue 4: "heap after
//! `bounded(100)` and after `unbounded()`, empty: ≤ flume's").
//!
//! A counting global allocator keeps a per-thread tally of live heap bytes, so the
//! test harness's own threads don't disturb the figure. Each measurement makes the
//! value, reads how many bytes it holds on the heap while it is alive, then drops
//! it. `Queue` is a plain value (the caller decides whether to share it), so its
//! comparable shared forms are measured too: `split()` (one `Arc` shared by the
//! `Sender`/`Receiver`, like a channel's) and `Arc<Queue>`; flume's figure is its
//! shared allocation, whose handles are pointers.
//!
//! `cargo test --test queue_memory -- --nocapture` prints the figures of every
//! crate (async-channel and kanal are printed, not asserted).

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use std::sync::Arc;

use async_patterns::queue::Queue;
use counting_alloc::{Counting, live};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes held by the value `make` returns, while it is alive.
fn heap_of<R>(make: impl FnOnce() -> R) -> usize {
    let before = live();
    let value = make();
    let held = live().wrapping_sub(before);
    drop(value);
    assert_eq!(live(), before, "dropping the value frees what it held");
    held
}

/// Heap bytes held by the value after `use_it` ran on it (the storage a queue
/// keeps once it has held items).
fn heap_after<R>(make: impl FnOnce() -> R, use_it: impl FnOnce(&R)) -> usize {
    heap_of(|| {
        let value = make();
        use_it(&value);
        value
    })
}

struct Figures {
    queue: usize,
    arc_queue: usize,
    split: usize,
    flume: usize,
    async_channel: usize,
    kanal: usize,
}

fn report(what: &str, f: &Figures) {
    println!(
        "{what} (u64), heap bytes: Queue {} (size_of {}), Arc<Queue> {}, Queue::split {}, \
         flume {}, async-channel {}, kanal {}",
        f.queue,
        size_of::<Queue<u64>>(),
        f.arc_queue,
        f.split,
        f.flume,
        f.async_channel,
        f.kanal,
    );
}

fn assert_at_most_flume(what: &str, f: &Figures) {
    report(what, f);
    for (form, bytes) in [
        ("Queue", f.queue),
        ("Arc<Queue>", f.arc_queue),
        ("Queue::split", f.split),
    ] {
        assert!(
            bytes <= f.flume,
            "{what}: {form} holds {bytes} heap bytes, flume {} (size_of::<Queue<u64>>() = {})",
            f.flume,
            size_of::<Queue<u64>>(),
        );
    }
}

#[test]
fn empty_bounded_100_holds_no_more_heap_than_flume() {
    let figures = Figures {
        queue: heap_of(|| Queue::<u64>::bounded(100)),
        arc_queue: heap_of(|| Arc::new(Queue::<u64>::bounded(100))),
        split: heap_of(|| Queue::<u64>::bounded(100).split()),
        flume: heap_of(|| flume::bounded::<u64>(100)),
        async_channel: heap_of(|| async_channel::bounded::<u64>(100)),
        kanal: heap_of(|| kanal::bounded_async::<u64>(100)),
    };
    assert_eq!(figures.queue, 0, "a new queue allocates nothing");
    assert_at_most_flume("empty bounded(100)", &figures);
}

#[test]
fn empty_unbounded_holds_no_more_heap_than_flume() {
    let figures = Figures {
        queue: heap_of(Queue::<u64>::unbounded),
        arc_queue: heap_of(|| Arc::new(Queue::<u64>::unbounded())),
        split: heap_of(|| Queue::<u64>::unbounded().split()),
        flume: heap_of(flume::unbounded::<u64>),
        async_channel: heap_of(async_channel::unbounded::<u64>),
        kanal: heap_of(kanal::unbounded_async::<u64>),
    };
    assert_eq!(figures.queue, 0, "a new queue allocates nothing");
    assert_at_most_flume("empty unbounded()", &figures);
}

/// Puts 0..100 with `put`, then takes them back with `take`, in FIFO order.
fn fill_and_drain(mut put: impl FnMut(u64), mut take: impl FnMut() -> u64) {
    (0..100).for_each(&mut put);
    for i in 0..100 {
        assert_eq!(take(), i);
    }
}

/// Not a target, a figure for the docs: after 100 items went in and out, each
/// keeps its storage (printed, not asserted).
#[test]
fn bounded_100_after_filling_and_draining() {
    let figures = Figures {
        queue: heap_after(
            || Queue::<u64>::bounded(100),
            |q| fill_and_drain(|i| q.try_put(i).unwrap(), || q.try_get().unwrap()),
        ),
        arc_queue: heap_after(
            || Arc::new(Queue::<u64>::bounded(100)),
            |q| fill_and_drain(|i| q.try_put(i).unwrap(), || q.try_get().unwrap()),
        ),
        split: heap_after(
            || Queue::<u64>::bounded(100).split(),
            |(tx, rx)| fill_and_drain(|i| tx.try_send(i).unwrap(), || rx.try_recv().unwrap()),
        ),
        flume: heap_after(
            || flume::bounded::<u64>(100),
            |(tx, rx)| fill_and_drain(|i| tx.try_send(i).unwrap(), || rx.try_recv().unwrap()),
        ),
        async_channel: heap_after(
            || async_channel::bounded::<u64>(100),
            |(tx, rx)| fill_and_drain(|i| tx.try_send(i).unwrap(), || rx.try_recv().unwrap()),
        ),
        kanal: heap_after(
            || kanal::bounded_async::<u64>(100),
            |(tx, rx)| {
                fill_and_drain(
                    |i| assert!(tx.try_send(i).unwrap(), "room"),
                    || rx.try_recv().unwrap().unwrap(),
                )
            },
        ),
    };
    report("bounded(100) after 100 in and out", &figures);
}

//! `stream`: `generate` (laziness, the hand-over of each item, early drop, bodies
//! that await other futures, a dropped `emit`), `try_generate`, `iter` (yields to
//! the executor between items), `next` (on `Unpin` and pinned streams), cancel
//! safety of `Next` and `Emit`, a long generator, and a `Send` generator on a
//! multi-threaded tokio runtime.

mod common;

use std::cell::Cell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use async_patterns::stream::{generate, iter, next, try_generate};
use async_patterns::sync::Event;
use async_patterns::time::{ManualTimer, Timer};
use common::{Drops, StreamTask, Task, drop_at_pending, now, panics, within_a_minute};
use futures_core::Stream;
use futures_core::stream::FusedStream;
use futures_lite::future::{block_on, poll_once, zip};

// ---- helpers ---------------------------------------------------------------

/// Every item of a stream, under `block_on`.
fn collect<S: Stream>(stream: S) -> Vec<S::Item> {
    block_on(async {
        let mut stream = pin!(stream);
        let mut all = Vec::new();
        while let Some(item) = next(&mut stream).await {
            all.push(item);
        }
        all
    })
}

// ---- generate ----------------------------------------------------------------

#[test]
fn generate_runs_the_body_only_when_polled() {
    let steps = Rc::new(Cell::new(0));
    let counted = Rc::clone(&steps);
    let mut stream = StreamTask::new(generate(move |mut out| async move {
        for i in 0..3 {
            counted.set(counted.get() + 1);
            out.emit(i).await;
        }
        counted.set(100);
    }));
    assert_eq!(steps.get(), 0, "nothing runs before the first poll");
    assert_eq!(stream.assert_next(), Some(0));
    assert_eq!(steps.get(), 1, "one emit per poll");
    assert_eq!(stream.assert_next(), Some(1));
    assert_eq!(steps.get(), 2);
    assert_eq!(stream.assert_next(), Some(2));
    assert_eq!(steps.get(), 3, "the body waits in its last emit");
    assert_eq!(stream.assert_next(), None);
    assert_eq!(steps.get(), 100, "the body ran to its end");
    assert_eq!(stream.assert_next(), None, "stays ended");
    assert_eq!(stream.assert_next(), None);
}

#[test]
fn generate_emit_completes_only_when_the_item_is_taken() {
    let taken = Rc::new(Cell::new(Vec::new()));
    let log = Rc::clone(&taken);
    let mut stream = StreamTask::new(generate(move |mut out| async move {
        out.emit("a").await;
        log.set(vec!["emit a done"]);
        out.emit("b").await;
        let mut v = log.take();
        v.push("emit b done");
        log.set(v);
    }));
    assert_eq!(stream.assert_next(), Some("a"));
    assert_eq!(taken.take(), Vec::<&str>::new(), "emit a waits");
    assert_eq!(stream.assert_next(), Some("b"));
    assert_eq!(taken.take(), ["emit a done"]);
    assert_eq!(stream.assert_next(), None);
    assert_eq!(taken.take(), ["emit b done"]);
}

#[test]
fn generate_without_items_ends_at_once() {
    let mut stream = StreamTask::new(generate(
        |_out: async_patterns::stream::Emitter<u8>| async {},
    ));
    assert_eq!(stream.assert_next(), None);
    assert_eq!(stream.assert_next(), None);
}

#[test]
fn generate_dropped_midway_drops_the_body() {
    let flag = Drops::new();
    let guard = flag.mark();
    let after = Rc::new(Cell::new(false));
    let reached = Rc::clone(&after);
    let mut stream = StreamTask::new(generate(move |mut out| async move {
        let _guard = guard;
        for i in 0.. {
            out.emit(i).await;
        }
        reached.set(true);
    }));
    for expected in 0..3 {
        assert_eq!(stream.assert_next(), Some(expected));
    }
    assert!(flag.count() == 0);
    drop(stream);
    assert!(flag.count() == 1, "the body's locals were dropped");
    assert!(!after.get());
}

#[test]
fn generate_dropped_before_the_first_poll_drops_the_body() {
    let flag = Drops::new();
    let guard = flag.mark();
    let stream = generate(move |mut out| async move {
        let _guard = guard;
        out.emit(1).await;
    });
    assert!(flag.count() == 0);
    drop(stream);
    assert!(flag.count() == 1);
}

#[test]
fn generate_body_awaiting_a_sleep_is_woken_through_the_stream() {
    let timer = ManualTimer::new();
    let clock = timer.clone();
    let mut stream = StreamTask::new(generate(move |mut out| async move {
        out.emit(1).await;
        clock.sleep(Duration::from_secs(1)).await;
        out.emit(2).await;
    }));
    assert_eq!(stream.assert_next(), Some(1));
    stream.assert_pending();
    assert_eq!(timer.pending(), 1, "the body sleeps");
    assert_eq!(stream.wakes(), 0);
    timer.advance(Duration::from_secs(1));
    assert_eq!(stream.wakes(), 1, "the stream's waker is the body's");
    assert_eq!(stream.assert_next(), Some(2));
    assert_eq!(stream.assert_next(), None);
}

#[test]
fn generate_body_awaiting_an_event_under_an_executor() {
    let got = within_a_minute(|| {
        block_on(async {
            let gate = Event::new();
            let gate = &gate;
            let numbers = generate(move |mut out| async move {
                for i in 0..5 {
                    gate.wait().await;
                    gate.clear();
                    out.emit(i).await;
                }
            });
            let consumer = async {
                let mut numbers = pin!(numbers);
                let mut got = Vec::new();
                while let Some(i) = next(&mut numbers).await {
                    got.push(i);
                }
                got
            };
            let controller = async {
                for _ in 0..5 {
                    gate.set();
                    while gate.is_set() {
                        common::yield_now().await;
                    }
                }
            };
            zip(consumer, controller).await.0
        })
    });
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn generate_item_of_an_emit_dropped_after_its_first_poll_still_comes_out() {
    let stream = generate(|mut out| async move {
        let mut first = out.emit(1);
        // Poll it once (it hands the item over), then drop it, as a `select`
        // whose other branch won would.
        assert!(poll_once(&mut first).await.is_none());
        drop(first);
        out.emit(2).await;
    });
    assert_eq!(collect(stream), [1, 2]);
}

#[test]
fn generate_item_of_an_emit_dropped_just_before_the_body_ends_comes_out() {
    let stream = generate(|mut out| async move {
        let mut last = out.emit("last");
        assert!(poll_once(&mut last).await.is_none());
        // The body ends in the same poll, with the item still handed over.
    });
    assert_eq!(collect(stream), ["last"]);
}

#[test]
fn emit_polled_twice_in_one_run_completes_and_its_item_comes_out_first() {
    let stream = generate(|mut out| async move {
        let mut first = out.emit(1);
        assert!(poll_once(&mut first).await.is_none(), "hands item 1 over");
        // Polled again before the body paused (a `select` loop whose other branch
        // was ready): it completes with item 1 still in the slot.
        assert!(poll_once(&mut first).await.is_some());
        drop(first);
        // Finds the slot full: keeps item 2 until the stream took item 1.
        out.emit(2).await;
        out.emit(3).await;
    });
    assert_eq!(collect(stream), [1, 2, 3]);
}

/// Emits inside a combinator with wakers of its own, which polls again only the
/// futures that woke: each emit wakes its own waker when it hands its item over,
/// or the stream would stop after the first item.
#[test]
fn emits_inside_a_task_set_or_futures_unordered_keep_the_stream_going() {
    use async_patterns::task::TaskSet;
    use futures::stream::{FuturesUnordered, StreamExt as _};

    let polls = Rc::new(Cell::new(0));
    let child_polls = Rc::clone(&polls);
    let in_a_task_set = generate(|mut out| async move {
        let mut child = pin!(async move {
            for i in 0..3 {
                out.emit(i).await;
            }
        });
        let counted = std::future::poll_fn(move |cx| {
            child_polls.set(child_polls.get() + 1);
            child.as_mut().poll(cx)
        });
        let mut set = TaskSet::new();
        set.push(counted);
        set.join_all().await;
    });
    let mut stream = StreamTask::new(in_a_task_set);
    for i in 0..3 {
        assert_eq!(stream.poll_next(), Poll::Ready(Some(i)), "item {i}");
    }
    assert_eq!(stream.poll_next(), Poll::Ready(None));
    // Once per item handed over, and once to end: the set polls the child again
    // only after the stream took its item (it is woken then), never in between.
    assert_eq!(polls.get(), 4, "the set polled the emitting future in vain");

    let in_futures_unordered = generate(|mut out| async move {
        let mut all = FuturesUnordered::new();
        all.push(async move {
            for i in 0..3 {
                out.emit(i).await;
            }
        });
        while all.next().await.is_some() {}
    });
    let mut stream = StreamTask::new(in_futures_unordered);
    for i in 0..3 {
        assert_eq!(stream.poll_next(), Poll::Ready(Some(i)), "item {i}");
    }
    assert_eq!(stream.poll_next(), Poll::Ready(None));
}

/// Cancel safety of a nested emit: dropped after its first poll, it has handed
/// its item over (with its waker parked, which the stream wakes in vain after the
/// emitting future is gone), and the item still comes out.
#[test]
fn a_nested_emit_dropped_after_its_first_poll_still_hands_its_item_over() {
    use async_patterns::task::TaskSet;

    let stream = generate(|mut out| async move {
        let mut set = TaskSet::new();
        set.push(async move {
            let mut emit = out.emit(1);
            assert!(poll_once(&mut emit).await.is_none(), "handed over");
            drop(emit);
        });
        set.join_all().await;
    });
    let mut stream = StreamTask::new(stream);
    assert_eq!(stream.poll_next(), Poll::Ready(Some(1)));
    assert_eq!(stream.poll_next(), Poll::Ready(None));
}

/// A nested emit that finds the slot still holding an item of the body's own
/// (from an emit polled once and dropped) has nothing to park its waker with:
/// it asks to be polled again at once, and its item comes out next.
#[test]
fn a_nested_emit_behind_an_item_of_the_body_still_comes_out() {
    use async_patterns::task::TaskSet;

    let stream = generate(|mut out| async move {
        let mut first = out.emit(1);
        assert!(poll_once(&mut first).await.is_none(), "hands item 1 over");
        drop(first);
        let mut set = TaskSet::new();
        set.push(async move { out.emit(2).await });
        set.join_all().await;
    });
    let mut stream = StreamTask::new(stream);
    assert_eq!(stream.poll_next(), Poll::Ready(Some(1)));
    assert_eq!(stream.poll_next(), Poll::Ready(Some(2)));
    assert_eq!(stream.poll_next(), Poll::Ready(None));
}

/// Under the body's own `select`-style polling (the stream's waker passed down),
/// an emit does not wake anybody: the stream polls the body again anyway.
#[test]
fn an_emit_polled_with_the_streams_waker_does_not_wake() {
    let stream = generate(|mut out| async move {
        let idle = std::future::pending::<()>();
        let mut idle = pin!(idle);
        for i in 0..3 {
            let mut emit = out.emit(i);
            // Both polled with the stream's waker.
            std::future::poll_fn(|cx| {
                let _ = idle.as_mut().poll(cx);
                Pin::new(&mut emit).poll(cx)
            })
            .await;
        }
    });
    let mut stream = StreamTask::new(stream);
    for i in 0..3 {
        assert_eq!(stream.poll_next(), Poll::Ready(Some(i)));
    }
    assert_eq!(stream.poll_next(), Poll::Ready(None));
    assert_eq!(stream.wakes(), 0, "nothing woke the stream's task");
}

/// The documented edge: a second emit polled while an earlier dropped emit's item
/// still sits in the one-item slot cannot hand its item over, so dropping it drops
/// its item; the first item still comes out.
#[test]
fn a_second_dropped_emit_in_one_poll_keeps_and_drops_its_item() {
    let stream = generate(|mut out| async move {
        let mut first = out.emit(1);
        assert!(poll_once(&mut first).await.is_none());
        drop(first);
        let mut second = out.emit(2);
        assert!(poll_once(&mut second).await.is_none());
        drop(second);
    });
    assert_eq!(collect(stream), [1]);
}

/// An emitter kept outside the body can hand an item over while no body runs;
/// the stream and the emitter both gone, the item left in the slot is dropped
/// (not leaked). `cargo mutants` found that a slot dropping nothing passed every
/// other test.
#[test]
fn an_item_left_in_the_slot_is_dropped_with_the_stream() {
    let flag = Drops::new();
    let mut kept = None;
    let stream = generate(|out| {
        kept = Some(out);
        async {}
    });
    let mut out = kept.take().expect("the body was called");
    // Its first poll hands the item over (pending until it is taken).
    drop_at_pending(out.emit(flag.mark()));
    assert!(flag.count() == 0, "the item waits in the slot");
    drop(stream);
    assert!(flag.count() == 0, "the emitter still shares the slot");
    drop(out);
    assert!(flag.count() == 1, "the item left in the slot was dropped");
}

/// The same for an item the body handed over itself (so with no waker parked
/// with it), left in the slot by a panic of the body before the stream took it.
#[test]
fn an_item_the_body_left_in_the_slot_is_dropped_with_the_stream() {
    let flag = Drops::new();
    let mark = flag.mark();
    let mut stream = Box::pin(generate(|mut out| async move {
        let mut emit = out.emit(mark);
        assert!(poll_once(&mut emit).await.is_none(), "handed over");
        drop(emit);
        panic!("the body fails");
    }));
    // The body's panic goes on to the consumer.
    panics(|| drop(block_on(next(&mut stream))));
    assert_eq!(flag.count(), 0, "the item waits in the slot");
    drop(stream);
    assert_eq!(flag.count(), 1, "the item left in the slot was dropped");
}

#[test]
fn emit_dropped_before_its_first_poll_drops_the_item() {
    let flag = Drops::new();
    let kept = Drops::new();
    let (item, other) = (flag.mark(), kept.mark());
    let mut stream = StreamTask::new(generate(move |mut out| async move {
        drop(out.emit(item));
        out.emit(other).await;
    }));
    assert!(flag.count() == 0, "lazy: the body has not run");
    let first = stream.assert_next().expect("the second emit's item");
    assert!(flag.count() == 1, "the unpolled emit's item was dropped");
    assert!(kept.count() == 0);
    drop(first);
    assert!(kept.count() == 1);
    assert!(
        stream.assert_next().is_none(),
        "the dropped item never comes out"
    );
}

#[test]
fn generate_leaks_no_item_when_dropped_with_an_emit_pending() {
    let shared = Arc::new(());
    let source = Arc::clone(&shared);
    let mut stream = StreamTask::new(generate(move |mut out| async move {
        let mut first = out.emit(Arc::clone(&source));
        let _ = poll_once(&mut first).await;
        drop(first);
        // This one finds the slot full and keeps its item while pending.
        out.emit(Arc::clone(&source)).await;
        out.emit(Arc::clone(&source)).await;
    }));
    let item = stream.assert_next().unwrap();
    assert_eq!(
        Arc::strong_count(&shared),
        4,
        "ours, the body's, the pending emit's, the test's"
    );
    drop(item);
    drop(stream);
    assert_eq!(Arc::strong_count(&shared), 1, "every clone was dropped");
}

#[test]
fn generate_counts_many_items() {
    let n: u64 = if cfg!(miri) {
        1_000
    } else if cfg!(debug_assertions) {
        100_000
    } else {
        1_000_000
    };
    let (count, sum) = block_on(async {
        let mut numbers = pin!(generate(move |mut out| async move {
            for i in 0..n {
                out.emit(i).await;
            }
        }));
        let (mut count, mut sum) = (0u64, 0u64);
        while let Some(i) = next(&mut numbers).await {
            assert_eq!(i, count, "in order");
            count += 1;
            sum += i;
        }
        (count, sum)
    });
    assert_eq!(count, n);
    assert_eq!(sum, n * (n - 1) / 2);
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[test]
fn generate_over_send_data_runs_on_a_multi_thread_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let words: Vec<String> = ["alpha", "beta", "gamma"].map(String::from).to_vec();
    let handle = rt.spawn(async move {
        let stream = assert_send(generate(move |mut out| async move {
            for word in words {
                out.emit(word).await;
                tokio::task::yield_now().await; // may resume on another worker
            }
        }));
        let mut stream = pin!(stream);
        let mut got = Vec::new();
        while let Some(word) = next(&mut stream).await {
            got.push(word);
            tokio::task::yield_now().await;
        }
        got
    });
    let got = rt.block_on(handle).unwrap();
    assert_eq!(got, ["alpha", "beta", "gamma"]);
}

// ---- try_generate --------------------------------------------------------------

#[test]
fn try_generate_error_ends_the_stream() {
    let after = Rc::new(Cell::new(false));
    let reached = Rc::clone(&after);
    let mut stream = StreamTask::new(try_generate(move |mut out| async move {
        out.emit(1).await;
        out.emit(2).await;
        Err("boom")?;
        reached.set(true);
        out.emit(3).await;
        Ok(())
    }));
    assert_eq!(stream.assert_next(), Some(Ok(1)));
    assert_eq!(stream.assert_next(), Some(Ok(2)));
    assert!(!stream.stream().is_terminated());
    assert_eq!(stream.assert_next(), Some(Err("boom")));
    assert!(stream.stream().is_terminated(), "the error went out last");
    assert_eq!(stream.assert_next(), None);
    assert_eq!(stream.assert_next(), None);
    assert!(!after.get(), "the body stopped at the error");
}

#[test]
fn try_generate_ok_ends_normally() {
    let stream = try_generate(|mut out| async move {
        out.emit('a').await;
        out.emit('b').await;
        Ok::<(), String>(())
    });
    assert_eq!(collect(stream), [Ok('a'), Ok('b')]);
    let empty =
        try_generate(|_out: async_patterns::stream::Emitter<u8>| async { Ok::<(), ()>(()) });
    assert_eq!(collect(empty), []);
    let failing = try_generate(|_out: async_patterns::stream::Emitter<u8>| async { Err(7) });
    assert_eq!(collect(failing), [Err(7)]);
}

#[test]
fn try_generate_is_lazy_and_dropped_midway_drops_the_body() {
    let steps = Rc::new(Cell::new(0));
    let counted = Rc::clone(&steps);
    let flag = Drops::new();
    let guard = flag.mark();
    let mut stream = StreamTask::new(try_generate(move |mut out| async move {
        let _guard = guard;
        loop {
            counted.set(counted.get() + 1);
            out.emit(counted.get()).await;
            if counted.get() > 1000 {
                return Err(());
            }
        }
    }));
    assert_eq!(steps.get(), 0);
    assert_eq!(stream.assert_next(), Some(Ok(1)));
    assert_eq!(stream.assert_next(), Some(Ok(2)));
    assert_eq!(steps.get(), 2);
    drop(stream);
    assert!(flag.count() == 1);
}

#[test]
fn try_generate_item_of_a_dropped_emit_comes_before_the_error() {
    let stream = try_generate(|mut out| async move {
        let mut first = out.emit(1);
        assert!(poll_once(&mut first).await.is_none());
        drop(first);
        Err("after")
    });
    assert_eq!(collect(stream), [Ok(1), Err("after")]);
}

// ---- iter ----------------------------------------------------------------------

#[test]
fn iter_yields_between_items_but_not_before_the_first() {
    let mut stream = StreamTask::new(iter([1, 2, 3]));
    assert_eq!(stream.assert_next(), Some(1), "the first item at once");
    assert_eq!(stream.wakes(), 0);
    for (expected, wakes) in [(2, 1), (3, 2)] {
        stream.assert_pending();
        assert_eq!(stream.wakes(), wakes, "the yield wakes the task at once");
        assert_eq!(stream.assert_next(), Some(expected));
    }
    // After the last item: the end, at most one yield away.
    let end = match stream.poll_next() {
        Poll::Ready(end) => end,
        Poll::Pending => stream.assert_next(),
    };
    assert_eq!(end, None);
}

#[test]
fn iter_of_nothing_ends_at_once() {
    let mut stream = StreamTask::new(iter(Vec::<u8>::new()));
    assert_eq!(stream.assert_next(), None);
    assert_eq!(stream.wakes(), 0);
}

#[test]
fn iter_stays_ended_and_drops_the_iterator_at_the_end() {
    // An iterator that would start again after `None`, and marks its drop.
    let drops = Drops::new();
    let mark = drops.mark();
    let mut round = 0;
    let flip_flop = std::iter::from_fn(move || {
        let _ = &mark;
        round += 1;
        (round != 2).then_some(round)
    });
    let mut stream = StreamTask::new(iter(flip_flop));
    assert_eq!(stream.assert_next(), Some(1));
    stream.assert_pending();
    assert!(!stream.stream().is_terminated());
    assert_eq!(stream.assert_next(), None);
    assert!(stream.stream().is_terminated());
    assert_eq!(drops.count(), 1, "the iterator is dropped at the end");
    for _ in 0..3 {
        assert_eq!(stream.assert_next(), None, "stays ended");
    }
}

#[test]
fn generate_is_terminated_once_its_last_item_went_out() {
    let mut stream = StreamTask::new(generate(|mut out| async move {
        out.emit(1).await;
        out.emit(2).await;
    }));
    assert!(!stream.stream().is_terminated());
    assert_eq!(stream.assert_next(), Some(1));
    assert_eq!(stream.assert_next(), Some(2));
    assert!(
        !stream.stream().is_terminated(),
        "the body has not returned"
    );
    assert_eq!(stream.assert_next(), None);
    assert!(stream.stream().is_terminated());

    // An item handed over by an emit dropped just before the body returned comes
    // out of the poll in which the body ends, and the stream is terminated then.
    let mut stream = StreamTask::new(generate(|mut out| async move {
        let mut emit = out.emit(7);
        let _ = poll_once(&mut emit).await;
    }));
    assert_eq!(stream.assert_next(), Some(7));
    assert!(stream.stream().is_terminated());
    assert_eq!(stream.assert_next(), None);
}

#[test]
fn iter_passes_the_size_hint_on() {
    let stream = iter([1, 2, 3]);
    assert_eq!(stream.size_hint(), (3, Some(3)));
}

#[test]
fn iter_lets_other_tasks_run_between_items() {
    let seen = within_a_minute(|| {
        let ticks = Cell::new(0);
        block_on(async {
            let consumer = async {
                let mut numbers = iter(0..5);
                let mut seen = Vec::new();
                while next(&mut numbers).await.is_some() {
                    seen.push(ticks.get());
                }
                seen
            };
            let other = async {
                for _ in 0..10 {
                    ticks.set(ticks.get() + 1);
                    common::yield_now().await;
                }
            };
            zip(consumer, other).await.0
        })
    });
    assert_eq!(seen.len(), 5);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "the other task ran between any two items: {seen:?}"
    );
}

// ---- next ----------------------------------------------------------------------

#[test]
fn next_on_unpin_and_pinned_streams() {
    // `Iter` is Unpin.
    let mut letters = iter("ab".chars());
    assert_eq!(block_on(next(&mut letters)), Some('a'));
    assert_eq!(block_on(next(&mut letters)), Some('b'));
    assert_eq!(block_on(next(&mut letters)), None);

    // A generated stream is not Unpin: pin it first (on the stack or the heap).
    let make = || {
        generate(|mut out| async move {
            out.emit(10).await;
            out.emit(20).await;
        })
    };
    let mut stacked = pin!(make());
    assert_eq!(block_on(next(&mut stacked)), Some(10));
    assert_eq!(block_on(next(&mut stacked)), Some(20));
    assert_eq!(block_on(next(&mut stacked)), None);
    let mut boxed = Box::pin(make());
    assert_eq!(now(next(&mut boxed)), Some(10));
}

#[test]
fn next_dropped_while_pending_loses_no_item() {
    // On `iter`: the dropped `next` was at the yield between two items.
    let mut numbers = iter([1, 2, 3]);
    assert_eq!(now(next(&mut numbers)), Some(1));
    drop_at_pending(next(&mut numbers));
    assert_eq!(now(next(&mut numbers)), Some(2), "2 was not skipped");

    // On a generator waiting for an event.
    let gate = Event::new();
    let mut stream = pin!(generate(|mut out| {
        let gate = &gate;
        async move {
            gate.wait().await;
            out.emit("after the gate").await;
        }
    }));
    drop_at_pending(next(&mut stream));
    drop_at_pending(next(&mut stream));
    gate.set();
    let mut task = Task::new(next(&mut stream));
    assert_eq!(task.assert_ready(), Some("after the gate"));
    drop(task);
    assert_eq!(now(next(&mut stream)), None);
}

#[test]
fn emit_and_next_futures_have_debug() {
    let mut numbers = iter([1]);
    assert!(format!("{:?}", next(&mut numbers)).contains("Next"));
    let stream = generate(|mut out| async move {
        let emit = out.emit(1);
        assert!(format!("{emit:?}").contains("Emit"));
        emit.await;
    });
    assert!(format!("{stream:?}").contains("Generate"));
    assert_eq!(collect(stream), [1]);
}

/// `Next` is a plain future: it can be stored and polled by hand.
#[test]
fn next_is_a_nameable_future() {
    fn first<S: Stream + Unpin>(stream: &mut S) -> async_patterns::stream::Next<'_, S> {
        next(stream)
    }
    let mut numbers = iter([5, 6]);
    let mut fut = first(&mut numbers);
    let waker = Waker::noop();
    assert_eq!(
        Pin::new(&mut fut).poll(&mut Context::from_waker(waker)),
        Poll::Ready(Some(5))
    );
}

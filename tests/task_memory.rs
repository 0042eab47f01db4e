//! Heap that `task` types keep after short-lived work went through them: a child
//! token that is dropped or cancelled leaves its parent's memory as it found it, a
//! parent dropped before its child is freed with it, and a `TaskSet` or
//! `BackgroundTasks` that handled one task at a time keeps one slot.
//!
//! A counting global allocator keeps a per-thread tally of live heap bytes (as in
//! `tests/queue_memory.rs`), so the harness's other threads don't disturb the
//! figures. Each test first runs its loop a few times to warm up (slabs grow to
//! their steady size), then checks that 10 000 more rounds leave the live bytes
//! where they were: a leak of even one byte per round fails.

mod common;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use std::future::{Future, pending};
use std::pin::Pin;

use async_patterns::task::{BackgroundTasks, CancellationToken, TaskSet};
use common::{Manual, Task, now, yield_now};
use counting_alloc::{Counting, live};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ROUNDS: usize = 10_000;

/// Rounds run before measuring: storage may still grow to its steady size in the
/// first few (a `TaskSet` makes a waker node at a slot's first poll, say).
const WARM_UP: usize = 10;

/// Runs `round` [`WARM_UP`] times, then [`ROUNDS`] times, and asserts that the
/// later rounds left no heap behind (a leak, even one amortized by a doubling
/// buffer, shows up over that many rounds).
#[track_caller]
fn no_growth(what: &str, mut round: impl FnMut(usize)) {
    for i in 0..WARM_UP {
        round(i);
    }
    let before = live();
    for i in WARM_UP..WARM_UP + ROUNDS {
        round(i);
    }
    let grown = live().wrapping_sub(before) as isize;
    assert_eq!(
        grown, 0,
        "{what}: {grown} heap bytes more after {ROUNDS} rounds (a leak per round)"
    );
}

#[test]
fn dropped_children_leave_no_trace_in_their_parent() {
    let parent = CancellationToken::new();
    no_growth("child dropped", |_| drop(parent.child_token()));
    no_growth("child and clone dropped", |_| {
        let child = parent.child_token();
        let clone = child.clone();
        drop(child);
        drop(clone);
    });
    no_growth("child dropped before its grandchild", |_| {
        let child = parent.child_token();
        let grandchild = child.child_token();
        drop(child);
        drop(grandchild);
    });
    no_growth("grandchild dropped before its child", |_| {
        let child = parent.child_token();
        let grandchild = child.child_token();
        drop(grandchild);
        drop(child);
    });
    no_growth("child cancelled, then dropped", |_| {
        let child = parent.child_token();
        child.cancel();
        drop(child);
    });
    no_growth("child with a waiter", |_| {
        let child = parent.child_token();
        drop(common::pending(child.cancelled()));
    });
    assert!(!parent.is_cancelled());
    // The parent still reaches a child made after all that.
    let child = parent.child_token();
    parent.cancel();
    assert!(child.is_cancelled());
}

#[test]
fn many_children_dropped_together_are_freed_with_their_nodes() {
    // All alive at once: the parent's list grows, and must give the nodes back
    // when they go (the list itself may keep its storage).
    let parent = CancellationToken::new();
    let baseline = live();
    let children: Vec<_> = (0..ROUNDS).map(|_| parent.child_token()).collect();
    let with_children = live() - baseline;
    drop(children);
    let kept = live().wrapping_sub(baseline) as isize;
    assert!(
        kept * 4 < with_children as isize,
        "{kept} of {with_children} bytes kept after the children were dropped"
    );
}

#[test]
fn a_parent_dropped_before_its_child_is_freed_with_it() {
    no_growth("parent dropped first", |_| {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        let grandchild = child.child_token();
        drop(parent);
        drop(child);
        drop(grandchild);
    });
    no_growth("cancelled tree", |_| {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        let _grandchild = child.child_token();
        parent.cancel();
    });
    no_growth("guard", |_| drop(CancellationToken::new().drop_guard()));
}

#[test]
fn waiters_that_come_and_go_leave_no_trace() {
    let token = CancellationToken::new();
    no_growth("waiter dropped", |_| {
        drop(common::pending(token.cancelled()));
    });
    no_growth("owned waiter dropped", |_| {
        drop(common::pending(token.clone().cancelled_owned()));
    });
}

#[test]
fn a_task_set_used_one_future_at_a_time_keeps_one_slot() {
    let mut set: TaskSet<Pin<Box<dyn Future<Output = usize>>>> = TaskSet::new();
    no_growth("TaskSet push + join_next", |i| {
        set.push(Box::pin(async move {
            yield_now().await;
            i
        }));
        assert_eq!(futures_lite::future::block_on(set.join_next()), Some(i));
    });
    no_growth("TaskSet push + cancel_all", |_| {
        set.push(Box::pin(async move {
            pending::<()>().await;
            0
        }));
        let mut next = Task::new(set.join_next());
        assert!(next.poll().is_pending());
        drop(next);
        set.cancel_all();
    });
}

#[test]
fn background_tasks_forget_finished_tasks() {
    let ex = Manual::new();
    let tasks = BackgroundTasks::new(ex.clone());
    no_growth("BackgroundTasks spawn + finish", |i| {
        let handle = tasks.spawn(async move {
            yield_now().await;
            i
        });
        ex.run();
        assert_eq!(now(handle).unwrap(), i);
    });
    no_growth("BackgroundTasks spawn + shutdown", |_| {
        drop(tasks.spawn(pending::<()>()));
        ex.run();
        let mut shutdown = Task::new(tasks.shutdown());
        assert!(shutdown.poll().is_pending());
        ex.run();
        shutdown.assert_ready();
    });
    assert!(tasks.is_empty());
}

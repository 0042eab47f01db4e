//! `task`: `CancellationToken` (clones, children, waits, `run_until_cancelled`, drop
//! guards, cancel safety, threads), `spawn`/`JoinHandle` (output, abort of tasks
//! blocked on a lock or a queue, `on_complete` exactly once even when racing the
//! completion, panics, executor shutdown, detach, `abort_on_drop`, `shield`),
//! `TaskSet` (ids, order, `cancel_all`, `Stream`, O(1) work per wake, a self-waking
//! future, cancel safety of `join_next`) and `BackgroundTasks`.
//!
//! Most tests run their tasks on `common::Manual`, an executor that polls only when
//! the test says so, to stop between any two polls. Memory (children of a token that
//! leave their parent, slots reused by a `TaskSet`) is in `tests/task_memory.rs`.

mod common;

use std::cell::{Cell, RefCell};
use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll, Waker};
use std::thread;

use async_patterns::queue::Queue;
use async_patterns::sync::{Event, Mutex};
use async_patterns::task::{
    BackgroundTasks, CancellationToken, JoinError, JoinHandle, TaskSet, shield, spawn, spawn_local,
};
use common::{
    BoxedUnit, DropMark, Drops, Manual, Rng, Task, counting_waker, drop_at_pending,
    drop_at_pending_releasing_waker, now, panics, pending as pending_at, within_a_minute,
    yield_now,
};
use futures_lite::future::block_on;

/// A boxed future with output `T`, for sets of mixed futures.
type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Yields `n` times, then returns `value`.
async fn after_yields<T>(n: usize, value: T) -> T {
    for _ in 0..n {
        yield_now().await;
    }
    value
}

// ===========================================================================
// CancellationToken
// ===========================================================================

#[test]
fn a_new_token_is_not_cancelled_and_cancel_is_final() {
    let token = CancellationToken::new();
    assert!(!token.is_cancelled());
    assert!(!CancellationToken::default().is_cancelled());
    assert_eq!(
        format!("{token:?}"),
        "CancellationToken { is_cancelled: false }"
    );
    token.cancel();
    assert!(token.is_cancelled());
    token.cancel(); // again: nothing changes, nothing panics
    assert!(token.is_cancelled());
    assert_eq!(
        format!("{token:?}"),
        "CancellationToken { is_cancelled: true }"
    );
}

#[test]
fn clones_share_one_state() {
    let token = CancellationToken::new();
    let clone = token.clone();
    let other = token.clone();
    let mut wait = pending_at(token.cancelled());
    other.cancel(); // through a clone
    assert!(token.is_cancelled() && clone.is_cancelled());
    assert_eq!(wait.wakes(), 1);
    wait.assert_ready();
    // A clone made after the cancel is cancelled too.
    assert!(token.clone().is_cancelled());
}

#[test]
fn cancelled_resolves_after_cancel_and_at_once_if_already_cancelled() {
    let token = CancellationToken::new();
    let mut wait = pending_at(token.cancelled());
    wait.assert_pending(); // polling again does not resolve it
    assert!(!wait.is_woken());
    token.cancel();
    assert_eq!(wait.wakes(), 1);
    wait.assert_ready();
    // Already cancelled: ready at the first poll, no waker needed.
    now(token.cancelled());
    now(token.clone().cancelled_owned());
}

#[test]
fn cancel_wakes_every_waiter_once() {
    let token = CancellationToken::new();
    let clones: Vec<_> = (0..100).map(|_| token.clone()).collect();
    let mut borrowed: Vec<_> = clones.iter().map(|t| pending_at(t.cancelled())).collect();
    let mut owned: Vec<_> = (0..100)
        .map(|_| pending_at(token.clone().cancelled_owned()))
        .collect();
    token.cancel();
    for wait in &mut borrowed {
        assert_eq!(wait.wakes(), 1);
        wait.assert_ready();
    }
    for wait in &mut owned {
        assert_eq!(wait.wakes(), 1);
        wait.assert_ready();
    }
}

#[test]
fn cancelled_owned_is_static_and_wakes_across_threads() {
    let token = CancellationToken::new();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let wait = token.clone().cancelled_owned();
            thread::spawn(move || block_on(wait))
        })
        .collect();
    thread::sleep(std::time::Duration::from_millis(10)); // let them wait
    token.cancel();
    within_a_minute(move || {
        for waiter in waiters {
            waiter.join().unwrap();
        }
    });
}

#[test]
fn a_waiter_sees_the_latest_waker() {
    let token = CancellationToken::new();
    let mut wait = Box::pin(token.cancelled());
    let (first, first_count) = counting_waker();
    let (second, second_count) = counting_waker();
    assert!(
        wait.as_mut()
            .poll(&mut Context::from_waker(&first))
            .is_pending()
    );
    assert!(
        wait.as_mut()
            .poll(&mut Context::from_waker(&second))
            .is_pending()
    );
    token.cancel();
    assert_eq!((first_count.count(), second_count.count()), (0, 1));
}

#[test]
fn a_child_is_cancelled_with_its_parent_never_the_other_way() {
    let parent = CancellationToken::new();
    let child = parent.child_token();
    let sibling = parent.child_token();
    assert!(!child.is_cancelled());

    child.cancel();
    assert!(child.is_cancelled());
    assert!(
        !parent.is_cancelled(),
        "a child's cancel reaches its parent"
    );
    assert!(
        !sibling.is_cancelled(),
        "a child's cancel reaches its sibling"
    );

    let mut sibling_wait = pending_at(sibling.cancelled());
    let mut parent_wait = pending_at(parent.cancelled());
    parent.cancel();
    assert!(sibling.is_cancelled());
    assert_eq!(sibling_wait.wakes(), 1);
    sibling_wait.assert_ready();
    parent_wait.assert_ready();
}

#[test]
fn cancel_reaches_every_descendant_and_no_ancestor() {
    // A chain of 200 generations, and three children at each level.
    let root = CancellationToken::new();
    let mut chain = vec![root.clone()];
    let mut leaves = Vec::new();
    for _ in 0..200 {
        let last = chain.last().unwrap().clone();
        leaves.extend((0..3).map(|_| last.child_token()));
        chain.push(last.child_token());
    }
    let mut deepest_wait = pending_at(chain.last().unwrap().cancelled());

    // Cancelling the middle cancels everything below it and nothing above.
    chain[100].cancel();
    assert!(chain[..100].iter().all(|t| !t.is_cancelled()));
    assert!(chain[100..].iter().all(CancellationToken::is_cancelled));
    assert_eq!(deepest_wait.wakes(), 1);
    deepest_wait.assert_ready();
    assert!(leaves[..300].iter().all(|t| !t.is_cancelled()));
    assert!(leaves[300..].iter().all(CancellationToken::is_cancelled));

    root.cancel();
    assert!(chain.iter().all(CancellationToken::is_cancelled));
    assert!(leaves.iter().all(CancellationToken::is_cancelled));
}

#[test]
fn a_child_of_a_cancelled_token_is_born_cancelled() {
    let parent = CancellationToken::new();
    parent.cancel();
    let child = parent.child_token();
    assert!(child.is_cancelled());
    now(child.cancelled());
    let grandchild = child.child_token();
    assert!(grandchild.is_cancelled());
    // And a child of a child that was cancelled through its parent.
    let root = CancellationToken::new();
    let middle = root.child_token();
    root.cancel();
    assert!(middle.child_token().is_cancelled());
}

#[test]
fn a_parent_dropped_while_its_child_lives_leaves_the_child_working() {
    let parent = CancellationToken::new();
    let child = parent.child_token();
    let grandchild = child.child_token();
    drop(parent); // the last handle of the parent
    assert!(!child.is_cancelled());
    let mut wait = pending_at(grandchild.cancelled());
    child.cancel();
    assert!(child.is_cancelled() && grandchild.is_cancelled());
    assert_eq!(wait.wakes(), 1);
    wait.assert_ready();
}

#[test]
fn children_stay_attached_while_any_handle_or_descendant_of_theirs_lives() {
    let parent = CancellationToken::new();
    // Dropping one of two handles of the parent does not detach its children.
    let parent_clone = parent.clone();
    let child = parent.child_token();
    drop(parent);
    // Dropping one of two handles of the child keeps it attached.
    let child_clone = child.clone();
    drop(child);
    // A child whose own handles are all gone stays attached while its child lives.
    let middle = parent_clone.child_token();
    let grandchild = middle.child_token();
    drop(middle);

    let mut child_wait = pending_at(child_clone.cancelled());
    let mut grandchild_wait = pending_at(grandchild.cancelled());
    parent_clone.cancel();
    assert!(child_clone.is_cancelled());
    assert!(grandchild.is_cancelled());
    child_wait.assert_ready();
    grandchild_wait.assert_ready();
}

#[test]
fn token_futures_show_whether_the_token_is_cancelled() {
    let token = CancellationToken::new();
    let debug = |cancelled: bool| {
        [
            format!("{:?}", token.cancelled()),
            format!("{:?}", token.clone().cancelled_owned()),
            format!("{:?}", token.run_until_cancelled(async {})),
            format!("{:?}", token.clone().run_until_cancelled_owned(async {})),
        ]
        .map(|text| {
            let flag = format!("is_cancelled: {cancelled}");
            assert!(text.contains(&flag), "{text:?} shows {flag}");
            text
        })
    };
    let names = debug(false).map(|text| text.split([' ', '(']).next().unwrap().to_owned());
    assert_eq!(
        names,
        [
            "WaitForCancellation",
            "WaitForCancellationOwned",
            "RunUntilCancelled",
            "RunUntilCancelledOwned"
        ]
    );
    token.cancel();
    debug(true);
}

#[test]
fn dropped_children_do_not_disturb_their_siblings() {
    // Slots of dropped children are reused: the live ones must still be reached.
    let parent = CancellationToken::new();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut live = Vec::new();
    for _ in 0..2000 {
        if !live.is_empty() && rng.below(3) == 0 {
            let at = rng.below(live.len());
            drop(live.swap_remove(at));
        } else {
            live.push(parent.child_token());
        }
    }
    assert!(!live.is_empty());
    let mut waits: Vec<_> = live.iter().map(|t| pending_at(t.cancelled())).collect();
    parent.cancel();
    assert!(live.iter().all(CancellationToken::is_cancelled));
    for wait in &mut waits {
        wait.assert_ready();
    }
}

#[test]
fn random_token_trees_match_a_model() {
    // Random trees of tokens: roots, children of any live token (cancelled or
    // not), clones, drops anywhere in the tree (a dropped token's children stay
    // under its parent), cancels, and waits (owned, first polled later, dropped at
    // random). Checked after every step against the documented rules: a token is
    // cancelled exactly when it, a clone or an ancestor was cancelled (a child of a
    // cancelled token is born cancelled); a wait completes exactly then, and a
    // polled wait is woken once when it happens, never otherwise.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let steps = if cfg!(miri) { 500 } else { 20_000 };
    // The model: per node, its parent and whether it is cancelled.
    let mut nodes: Vec<(Option<usize>, bool)> = Vec::new();
    let mut tokens: Vec<(CancellationToken, usize)> = Vec::new();
    // (wait, its node, polled).
    let mut waits = Vec::new();
    for step in 0..steps {
        match rng.below(12) {
            0 if tokens.len() < 24 => {
                tokens.push((CancellationToken::new(), nodes.len()));
                nodes.push((None, false));
            }
            1 | 2 if !tokens.is_empty() && tokens.len() < 24 => {
                let (parent, p) = &tokens[rng.below(tokens.len())];
                let (child, p) = (parent.child_token(), *p);
                tokens.push((child, nodes.len()));
                nodes.push((Some(p), nodes[p].1));
            }
            3 if !tokens.is_empty() && tokens.len() < 24 => {
                let (token, n) = &tokens[rng.below(tokens.len())];
                let clone = (token.clone(), *n);
                tokens.push(clone);
            }
            4 | 5 if !tokens.is_empty() => drop(tokens.swap_remove(rng.below(tokens.len()))),
            6 if !tokens.is_empty() && rng.below(3) == 0 => {
                let (token, n) = &tokens[rng.below(tokens.len())];
                token.cancel();
                // The node and every node below it.
                for i in 0..nodes.len() {
                    let mut at = Some(i);
                    while let Some(a) = at {
                        if a == *n {
                            nodes[i].1 = true;
                            break;
                        }
                        at = nodes[a].0;
                    }
                }
            }
            7 | 8 if !tokens.is_empty() && waits.len() < 16 => {
                let (token, n) = &tokens[rng.below(tokens.len())];
                waits.push((Task::new(token.clone().cancelled_owned()), *n, false));
            }
            9 | 10 if !waits.is_empty() => {
                let i = rng.below(waits.len());
                let (wait, n, polled) = &mut waits[i];
                let cancelled = nodes[*n].1;
                assert_eq!(wait.poll().is_ready(), cancelled, "step {step}: wait {i}");
                if cancelled {
                    drop(waits.swap_remove(i));
                } else {
                    *polled = true;
                }
            }
            11 if !waits.is_empty() => drop(waits.swap_remove(rng.below(waits.len()))),
            _ => {}
        }
        for (token, n) in &tokens {
            assert_eq!(token.is_cancelled(), nodes[*n].1, "step {step}: node {n}");
        }
        for (wait, n, polled) in &waits {
            let expected = usize::from(*polled && nodes[*n].1);
            assert_eq!(wait.wakes(), expected, "step {step}: wait on node {n}");
        }
    }
}

/// A future that counts its polls and is ready at poll `ready_at` (1-based).
fn counted(polls: &Arc<AtomicUsize>, ready_at: usize) -> impl Future<Output = usize> + use<> {
    let polls = Arc::clone(polls);
    poll_fn(move |cx| {
        let n = polls.fetch_add(1, SeqCst) + 1;
        if n >= ready_at {
            Poll::Ready(n)
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

#[test]
fn run_until_cancelled_gives_the_output_when_the_future_finishes_first() {
    let token = CancellationToken::new();
    let polls = Arc::new(AtomicUsize::new(0));
    assert_eq!(
        block_on(token.run_until_cancelled(counted(&polls, 3))),
        Some(3)
    );
    assert!(!token.is_cancelled());
    assert_eq!(
        block_on(token.clone().run_until_cancelled_owned(async { 7 })),
        Some(7)
    );
}

#[test]
fn run_until_cancelled_gives_none_and_drops_the_future_when_cancelled() {
    let token = CancellationToken::new();
    let drops = Drops::new();
    let mark = drops.mark();
    let mut run = pending_at(token.run_until_cancelled(async move {
        let _mark = mark;
        pending::<u8>().await
    }));
    token.cancel();
    assert_eq!(run.wakes(), 1, "the cancel wakes the waiting future");
    assert_eq!(run.assert_ready(), None);
    drop(run);
    assert_eq!(drops.count(), 1);

    // Awaited: the future is gone by the time the await returns.
    let token = CancellationToken::new();
    let drops = Drops::new();
    let mark = drops.mark();
    let owned = token.clone().run_until_cancelled_owned(async move {
        let _mark = mark;
        pending::<u8>().await
    });
    let out = block_on(futures_lite::future::zip(owned, async {
        yield_now().await;
        token.cancel();
    }));
    assert_eq!(out, (None, ()));
    assert_eq!(drops.count(), 1);
}

#[test]
fn run_until_cancelled_dropped_while_pending_drops_the_future_and_leaves_the_token() {
    let token = CancellationToken::new();
    let drops = Drops::new();
    let waiting = |mark: DropMark| async move {
        let _mark = mark;
        pending::<u8>().await
    };
    drop_at_pending_releasing_waker(token.run_until_cancelled(waiting(drops.mark())), 1);
    assert_eq!(drops.count(), 1, "the future is dropped with it");
    let owned = token
        .clone()
        .run_until_cancelled_owned(waiting(drops.mark()));
    drop_at_pending_releasing_waker(owned, 1);
    assert_eq!(drops.count(), 2);
    // The token works on, its clones too.
    let mut wait = pending_at(token.cancelled());
    token.cancel();
    assert_eq!(wait.wakes(), 1);
    wait.assert_ready();
}

#[test]
fn run_until_cancelled_checks_the_token_before_each_poll() {
    // Cancelled before the first poll: the future is never polled.
    let token = CancellationToken::new();
    token.cancel();
    let polls = Arc::new(AtomicUsize::new(0));
    assert_eq!(now(token.run_until_cancelled(counted(&polls, 1))), None);
    assert_eq!(polls.load(SeqCst), 0);

    // Cancelled between two polls: `None`, although the next poll would be ready.
    let token = CancellationToken::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let mut run = pending_at(token.run_until_cancelled(counted(&polls, 2)));
    token.cancel();
    assert_eq!(run.assert_ready(), None);
    assert_eq!(polls.load(SeqCst), 1);
}

#[test]
fn a_drop_guard_cancels_on_drop_and_not_once_disarmed() {
    let token = CancellationToken::new();
    let guard = token.clone().drop_guard();
    assert!(!token.is_cancelled());
    assert!(format!("{guard:?}").contains("is_cancelled: false"));
    let mut wait = pending_at(token.cancelled());
    drop(guard);
    assert!(token.is_cancelled());
    wait.assert_ready();

    let token = CancellationToken::new();
    let back = token.clone().drop_guard().disarm();
    assert!(!token.is_cancelled(), "disarm must not cancel");
    drop(back);
    assert!(
        !token.is_cancelled(),
        "dropping the disarmed token must not cancel"
    );
    // The token given back is the same token.
    let back = token.clone().drop_guard().disarm();
    back.cancel();
    assert!(token.is_cancelled());
}

#[test]
fn a_dropped_waiter_loses_no_wake_up_for_the_others() {
    let token = CancellationToken::new();
    let mut first = pending_at(token.cancelled());
    drop_at_pending(token.cancelled()); // dropped while registered
    let mut third = pending_at(token.cancelled());
    // Its slot is reused by a new waiter.
    let mut fourth = pending_at(token.cancelled());
    drop_at_pending(token.clone().cancelled_owned());
    token.cancel();
    for wait in [&mut first, &mut third, &mut fourth] {
        assert_eq!(wait.wakes(), 1);
        wait.assert_ready();
    }
    // Dropping a registered waiter after the cancel drained the list is fine too.
    let token = CancellationToken::new();
    let late = pending_at(token.cancelled());
    token.cancel();
    assert!(late.is_woken());
    drop(late);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "threads for 200 rounds: too slow under Miri, no unsafe code"
)]
fn concurrent_children_drops_and_cancels_stay_consistent() {
    // A child made concurrently with its parent's cancel is cancelled either way
    // (registered before the cancel, or born cancelled after it); children dropped
    // meanwhile do not disturb anything; every waiter is woken.
    within_a_minute(|| {
        for round in 0..200 {
            let parent = CancellationToken::new();
            let made = Arc::new(StdMutex::new(Vec::new()));
            let workers: Vec<_> = (0..3)
                .map(|w| {
                    let parent = parent.clone();
                    let made = Arc::clone(&made);
                    thread::spawn(move || {
                        for i in 0..20 {
                            let child = parent.child_token();
                            let grandchild = child.child_token();
                            if (i + w + round) % 3 == 0 {
                                // Dropped at once: detaches, racing the cancel.
                                drop(child);
                                drop(grandchild);
                            } else {
                                made.lock().unwrap().push(grandchild);
                            }
                        }
                    })
                })
                .collect();
            let waiter = {
                let wait = parent.child_token().cancelled_owned();
                thread::spawn(move || block_on(wait))
            };
            parent.cancel();
            for worker in workers {
                worker.join().unwrap();
            }
            waiter.join().unwrap();
            let made = made.lock().unwrap();
            assert!(
                made.iter().all(CancellationToken::is_cancelled),
                "round {round}: a descendant escaped the cancel"
            );
        }
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "threads for 100 rounds: too slow under Miri, no unsafe code"
)]
fn concurrent_cancels_each_return_with_the_subtree_cancelled() {
    // Two threads cancel clones of the root of a wide three-level tree at the same
    // moment while a third watches, spinning from before they start: each cancel
    // returns only once every descendant is cancelled, and the watcher never sees
    // a child cancelled and one of its own children not.
    const CHILDREN: usize = 20;
    const GRANDCHILDREN: usize = 10; // per child
    within_a_minute(|| {
        for round in 0..100 {
            let root = CancellationToken::new();
            let children: Vec<_> = (0..CHILDREN).map(|_| root.child_token()).collect();
            let grandchildren: Vec<Vec<_>> = children
                .iter()
                .map(|child| (0..GRANDCHILDREN).map(|_| child.child_token()).collect())
                .collect();
            let tree = Arc::new((children, grandchildren));
            let start = Arc::new(std::sync::Barrier::new(3));
            let watcher = {
                let (root, tree, start) = (root.clone(), Arc::clone(&tree), Arc::clone(&start));
                thread::spawn(move || {
                    let (children, grandchildren) = &*tree;
                    let mut started = false;
                    loop {
                        let root_done = root.is_cancelled();
                        for (child, below) in children.iter().zip(grandchildren) {
                            if child.is_cancelled() {
                                assert!(
                                    below.iter().all(CancellationToken::is_cancelled),
                                    "round {round}: a cancelled child with a live grandchild"
                                );
                            }
                        }
                        if root_done {
                            return;
                        }
                        if !started {
                            started = true;
                            start.wait();
                        }
                    }
                })
            };
            let cancellers: Vec<_> = (0..2)
                .map(|_| {
                    let (root, tree, start) = (root.clone(), Arc::clone(&tree), Arc::clone(&start));
                    thread::spawn(move || {
                        start.wait();
                        root.cancel();
                        let (children, grandchildren) = &*tree;
                        assert!(
                            children
                                .iter()
                                .chain(grandchildren.iter().flatten())
                                .all(CancellationToken::is_cancelled),
                            "round {round}: cancel returned with a descendant live"
                        );
                    })
                })
                .collect();
            for canceller in cancellers {
                canceller.join().unwrap();
            }
            watcher.join().unwrap();
        }
    });
}

// ===========================================================================
// spawn and JoinHandle
// ===========================================================================

#[test]
fn the_output_arrives_through_the_handle() {
    let ex = Manual::new();
    let handle = spawn(&ex, after_yields(3, "done"));
    let mut join = pending_at(handle);
    assert!(!join.future().is_finished());
    assert_eq!(ex.run(), 4, "three yields and the last poll");
    assert_eq!(
        join.wakes(),
        1,
        "the handle is woken once, when the output is in"
    );
    assert!(join.future().is_finished());
    assert_eq!(join.assert_ready().unwrap(), "done");
    assert_eq!(ex.live(), 0);
}

#[test]
fn spawn_on_async_executor_with_a_closure() {
    let ex = async_executor::Executor::new();
    let spawner = |fut: BoxedUnit| ex.spawn(fut).detach();
    let handles: Vec<JoinHandle<usize>> = (0..10)
        .map(|n| spawn(&spawner, after_yields(n, n * n)))
        .collect();
    let outputs = block_on(ex.run(async {
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    }));
    assert_eq!(outputs, (0..10).map(|n| n * n).collect::<Vec<_>>());
}

#[test]
fn a_task_awaiting_another_task_gets_its_output() {
    let ex = Manual::new();
    let first = spawn(&ex, after_yields(5, 20));
    let second = spawn(&ex, async move { first.await.unwrap() + 1 });
    ex.run();
    assert_eq!(now(second).unwrap(), 21);
}

#[test]
fn abort_of_a_task_waiting_for_a_lock_leaves_the_lock_whole() {
    // `aborted_after_release`: the lock was handed to the aborted task before its
    // executor polled it again; otherwise the task is aborted while still queued.
    for aborted_after_release in [false, true] {
        let ex = Manual::new();
        let mutex = Arc::new(Mutex::new(0));
        let guard = mutex.try_lock_arc().unwrap();
        let drops = Drops::new();
        let aborted = {
            let (mutex, mark) = (Arc::clone(&mutex), drops.mark());
            spawn(&ex, async move {
                let _mark = mark;
                *mutex.lock().await += 1;
            })
        };
        let other = {
            let mutex = Arc::clone(&mutex);
            spawn(&ex, async move { *mutex.lock().await += 10 })
        };
        ex.run();
        assert!(!aborted.is_finished() && !other.is_finished());
        if aborted_after_release {
            drop(guard);
            aborted.abort();
        } else {
            aborted.abort();
            ex.run();
            drop(guard);
        }
        ex.run();
        assert_eq!(drops.count(), 1, "the aborted future was dropped");
        assert!(matches!(now(aborted), Err(JoinError::Cancelled)));
        now(other).expect("the other waiter got the lock");
        let value = mutex.try_lock().expect("the lock is free");
        assert_eq!(*value, 10, "only the other task ran its critical section");
    }
}

#[test]
fn abort_of_a_task_waiting_in_get_loses_no_item() {
    for aborted_after_put in [false, true] {
        let ex = Manual::new();
        let queue = Arc::new(Queue::unbounded());
        let aborted = {
            let queue = Arc::clone(&queue);
            spawn(&ex, async move { queue.get().await.unwrap() })
        };
        let other = {
            let queue = Arc::clone(&queue);
            spawn(&ex, async move { queue.get().await.unwrap() })
        };
        ex.run();
        if aborted_after_put {
            queue.try_put(7).unwrap(); // woken: the first getter
            aborted.abort();
        } else {
            aborted.abort();
            ex.run();
            queue.try_put(7).unwrap();
        }
        ex.run();
        assert!(matches!(now(aborted), Err(JoinError::Cancelled)));
        assert_eq!(now(other).unwrap(), 7, "the item went to the other getter");
        assert!(queue.is_empty());
    }
}

#[test]
fn abort_drops_the_future_and_the_handle_yields_cancelled() {
    let ex = Manual::new();
    let drops = Drops::new();
    let mark = drops.mark();
    let handle = spawn(&ex, async move {
        let _mark = mark;
        pending::<u8>().await
    });
    ex.run();
    let mut join = pending_at(handle);
    join.future().abort();
    assert_eq!(
        drops.count(),
        0,
        "dropped by the executor, at the next poll"
    );
    assert!(!join.future().is_finished());
    ex.run();
    assert_eq!(drops.count(), 1);
    assert!(join.future().is_finished());
    assert_eq!(join.wakes(), 1);
    let err = join.assert_ready().unwrap_err();
    assert!(err.is_cancelled() && !err.is_panic());
    assert_eq!(err.to_string(), "task was cancelled");
    assert_eq!(format!("{err:?}"), "Cancelled");
    assert!(err.try_into_panic().unwrap_err().is_cancelled());
    panics(|| drop(JoinError::Cancelled.into_panic()));
    assert_eq!(ex.live(), 0);
}

#[test]
fn abort_before_the_first_poll_never_polls_the_future() {
    let ex = Manual::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let handle = spawn(&ex, counted(&polls, 1));
    handle.abort();
    ex.run();
    assert_eq!(polls.load(SeqCst), 0);
    assert!(matches!(now(handle), Err(JoinError::Cancelled)));
}

#[test]
fn abort_after_completion_keeps_the_output() {
    let ex = Manual::new();
    let handle = spawn(&ex, async { 5 });
    ex.run();
    assert!(handle.is_finished());
    handle.abort();
    handle.abort_handle().abort();
    ex.run();
    assert!(handle.is_finished());
    assert_eq!(now(handle).unwrap(), 5);
}

#[test]
fn is_finished_follows_the_task() {
    let ex = Manual::new();
    let handle = spawn(&ex, after_yields(2, ()));
    assert!(!handle.is_finished());
    ex.tick();
    assert!(!handle.is_finished());
    ex.run();
    assert!(handle.is_finished());
    assert_eq!(format!("{handle:?}"), "JoinHandle { is_finished: true }");
}

/// Callbacks' reports: how many ran and what they saw.
#[derive(Clone, Default)]
struct Seen(Arc<StdMutex<Vec<String>>>);

impl Seen {
    /// A callback that records what it was called with.
    fn callback<T: std::fmt::Debug>(
        &self,
        tag: &'static str,
    ) -> impl FnOnce(Result<&T, &JoinError>) + Send + 'static {
        let seen = self.clone();
        move |result| {
            let text = match result {
                Ok(v) => format!("{tag}: Ok({v:?})"),
                Err(e) => format!("{tag}: Err({e})"),
            };
            seen.0.lock().unwrap().push(text);
        }
    }

    fn get(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

#[test]
fn on_complete_runs_each_callback_exactly_once_on_success() {
    let ex = Manual::new();
    let seen = Seen::default();
    let handle = spawn(&ex, after_yields(1, 42));
    handle.on_complete(seen.callback("a"));
    handle.on_complete(seen.callback("b"));
    ex.tick();
    assert!(seen.get().is_empty(), "not before the task finished");
    ex.run();
    assert_eq!(seen.get(), ["a: Ok(42)", "b: Ok(42)"]);
    // Already finished: runs at once, on this thread, and the output is kept.
    handle.on_complete(seen.callback("c"));
    assert_eq!(seen.get(), ["a: Ok(42)", "b: Ok(42)", "c: Ok(42)"]);
    ex.run();
    assert_eq!(seen.get().len(), 3);
    assert_eq!(now(handle).unwrap(), 42);
}

#[test]
fn on_complete_runs_exactly_once_on_cancel_and_on_panic() {
    let ex = Manual::new();
    let seen = Seen::default();
    let aborted = spawn(&ex, pending::<u8>());
    aborted.on_complete(seen.callback("aborted"));
    let panicked = spawn(&ex, async {
        yield_now().await;
        panic!("boom");
    });
    panicked.on_complete(seen.callback::<()>("panicked"));
    ex.run();
    assert_eq!(seen.get(), ["panicked: Err(task panicked: boom)"]);
    aborted.abort();
    ex.run();
    assert_eq!(
        seen.get(),
        [
            "panicked: Err(task panicked: boom)",
            "aborted: Err(task was cancelled)"
        ]
    );
    aborted.on_complete(seen.callback("late"));
    assert_eq!(seen.get()[2], "late: Err(task was cancelled)");
    assert_eq!(seen.get().len(), 3);
}

#[test]
fn on_complete_survives_a_dropped_handle() {
    // asyncio's add_done_callback on a task nobody awaits.
    let ex = Manual::new();
    let seen = Seen::default();
    let handle = spawn(&ex, after_yields(2, 'x'));
    handle.on_complete(seen.callback("detached"));
    drop(handle);
    ex.run();
    assert_eq!(seen.get(), ["detached: Ok('x')"]);
}

#[test]
#[cfg_attr(miri, ignore = "a tokio runtime for 2000 rounds: too slow under Miri")]
fn on_complete_registered_while_the_task_completes_runs_exactly_once() {
    // The registration races the completion on a 2-worker runtime. Every other
    // iteration, a callback registered beforehand keeps the completing thread busy
    // for 0-40 µs, so the registration also lands while earlier callbacks run.
    within_a_minute(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let rt_handle = rt.handle().clone();
        let spawner = move |fut: BoxedUnit| {
            rt_handle.spawn(fut);
        };
        let (mut at_once, mut by_the_task) = (0, 0);
        for i in 0..2000u32 {
            let go = Arc::new(std::sync::Barrier::new(2));
            let task_go = Arc::clone(&go);
            let handle = spawn(&spawner, async move {
                task_go.wait(); // finish right as the callback is registered
                i
            });
            if i % 2 == 1 {
                let spin = std::time::Duration::from_micros(u64::from(i * 7 % 41));
                handle.on_complete(move |_| {
                    let start = std::time::Instant::now();
                    while start.elapsed() < spin {}
                });
            }
            let runs = Arc::new(AtomicUsize::new(0));
            let got = Arc::new(StdMutex::new(None));
            let registrar = {
                let (runs, got) = (Arc::clone(&runs), Arc::clone(&got));
                thread::spawn(move || {
                    go.wait();
                    handle.on_complete(move |result| {
                        runs.fetch_add(1, SeqCst);
                        *got.lock().unwrap() = Some((result.ok().copied(), thread::current().id()));
                    });
                    handle
                })
            };
            let registrar_id = registrar.thread().id();
            let handle = registrar.join().unwrap();
            while !handle.is_finished() {
                thread::yield_now();
            }
            // Published means every callback registered before ran.
            assert_eq!(runs.load(SeqCst), 1, "iteration {i}");
            let (value, ran_on) = got.lock().unwrap().take().unwrap();
            assert_eq!(value, Some(i));
            if ran_on == registrar_id {
                at_once += 1;
            } else {
                by_the_task += 1;
            }
            assert_eq!(block_on(handle).unwrap(), i);
            assert_eq!(runs.load(SeqCst), 1, "iteration {i}");
        }
        eprintln!("callbacks run at once: {at_once}, by the completing task: {by_the_task}");
    });
}

#[test]
fn on_complete_registered_while_earlier_callbacks_run_is_run_by_the_completer() {
    // Deterministic: the first callback holds the completing thread until the second
    // one is registered, from another thread, while the outcome is being delivered.
    let ex = Manual::new();
    let handle = spawn(&ex, async { 6 });
    let running = Arc::new(AtomicBool::new(false));
    let registered = Arc::new(AtomicBool::new(false));
    {
        let (running, registered) = (Arc::clone(&running), Arc::clone(&registered));
        handle.on_complete(move |_| {
            running.store(true, SeqCst);
            let start = std::time::Instant::now();
            while !registered.load(SeqCst) {
                assert!(start.elapsed().as_secs() < 30, "the registrar never came");
                thread::yield_now();
            }
        });
    }
    let seen = Seen::default();
    let handle = thread::scope(|s| {
        let registrar = s.spawn(|| {
            while !running.load(SeqCst) {
                thread::yield_now();
            }
            handle.on_complete(seen.callback("second"));
            assert!(!handle.is_finished(), "not published while callbacks run");
            registered.store(true, SeqCst);
            handle
        });
        ex.run(); // completes the task and runs the callbacks
        registrar.join().unwrap()
    });
    assert_eq!(seen.get(), ["second: Ok(6)"]);
    assert!(handle.is_finished());
    assert_eq!(now(handle).unwrap(), 6);
}

#[test]
fn on_complete_after_the_output_was_taken_is_not_run() {
    // Awaiting consumes the handle, so the output can only be taken while a
    // `&JoinHandle` stays usable by polling the handle by hand (it is `Unpin`).
    let ex = Manual::new();
    let mut handle = spawn(&ex, async { 5 });
    ex.run();
    let (waker, _) = counting_waker();
    let polled = Pin::new(&mut handle).poll(&mut Context::from_waker(&waker));
    assert!(matches!(polled, Poll::Ready(Ok(5))));
    let ran = Arc::new(AtomicBool::new(false));
    let drops = Drops::new();
    let (ran_in, mark) = (Arc::clone(&ran), drops.mark());
    handle.on_complete(move |_| {
        let _mark = mark;
        ran_in.store(true, SeqCst);
    });
    assert!(!ran.load(SeqCst));
    assert_eq!(drops.count(), 1, "the callback is dropped, not kept");
    assert!(handle.is_finished());
}

#[test]
fn polling_a_handle_again_after_its_output_panics() {
    let ex = Manual::new();
    let mut handle = spawn(&ex, async { 5 });
    ex.run();
    let (waker, _) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut handle).poll(&mut cx).is_ready());
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = Pin::new(&mut handle).poll(&mut cx);
    }));
    assert!(again.is_err());
}

#[test]
fn a_panic_in_the_task_comes_out_as_panicked_with_its_payload() {
    let ex = Manual::new();
    let boom = spawn(&ex, async {
        yield_now().await;
        panic!("boom");
    });
    let two = std::hint::black_box(2); // a run-time argument: a `String` payload
    let formatted = spawn(&ex, async move { panic!("boom {two}") });
    let typed = spawn(&ex, async { std::panic::panic_any(17u8) });
    ex.run();
    assert_eq!(ex.live(), 0, "the panics stayed inside the tasks");

    let err = now(boom).unwrap_err();
    assert!(err.is_panic() && !err.is_cancelled());
    assert_eq!(err.to_string(), "task panicked: boom");
    assert_eq!(format!("{err:?}"), "Panicked(\"boom\")");
    let payload = err.try_into_panic().unwrap();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));

    let err = now(formatted).unwrap_err();
    assert_eq!(err.to_string(), "task panicked: boom 2");
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom 2");

    let err = now(typed).unwrap_err();
    assert_eq!(err.to_string(), "task panicked: (a non-string payload)");
    assert_eq!(
        err.try_into_panic().unwrap().downcast_ref::<u8>(),
        Some(&17)
    );
}

#[test]
fn a_panicking_callback_does_not_stop_the_others_or_the_output() {
    let ex = Manual::new();
    let seen = Seen::default();
    let handle = spawn(&ex, async { 3 });
    handle.on_complete(|_| panic!("callback"));
    handle.on_complete(seen.callback("after"));
    // The panic surfaces on the thread that completed the task, after the rest.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ex.run()));
    let payload = ran.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"callback"));
    assert_eq!(seen.get(), ["after: Ok(3)"]);
    assert!(handle.is_finished());
    assert_eq!(now(handle).unwrap(), 3);
}

/// Its `Drop` panics: cleanup that fails.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("drop");
    }
}

#[test]
fn abort_of_a_future_whose_drop_panics_still_yields_cancelled() {
    let ex = Manual::new();
    let handle = spawn(&ex, async {
        let _bomb = PanicOnDrop;
        pending::<u8>().await
    });
    ex.run();
    handle.abort();
    ex.run(); // the panic in `Drop` is swallowed
    assert!(matches!(now(handle), Err(JoinError::Cancelled)));
}

#[test]
fn a_future_whose_drop_panics_dropped_by_its_executor_still_yields_cancelled() {
    let ex = Manual::new();
    let handle = spawn(&ex, async {
        let _bomb = PanicOnDrop;
        pending::<u8>().await
    });
    ex.run();
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ex.drop_all()));
    assert!(
        dropped.is_err(),
        "the executor saw the panic of the task's Drop"
    );
    assert!(
        handle.is_finished(),
        "the handle must learn that the task is gone"
    );
    assert!(matches!(now(handle), Err(JoinError::Cancelled)));
}

#[test]
fn an_executor_dropping_an_unfinished_task_yields_cancelled() {
    let ex = Manual::new();
    let drops = Drops::new();
    let mark = drops.mark();
    let handle = spawn(&ex, async move {
        let _mark = mark;
        pending::<u8>().await
    });
    // The future's own Drop runs before the handle learns of the cancel.
    let drops_seen = Arc::new(AtomicUsize::new(usize::MAX));
    {
        let (drops, drops_seen) = (drops.clone(), Arc::clone(&drops_seen));
        handle.on_complete(move |result| {
            assert!(result.is_err());
            drops_seen.store(drops.count(), SeqCst);
        });
    }
    ex.run();
    let mut join = pending_at(handle);
    ex.drop_all();
    assert_eq!(drops.count(), 1);
    assert_eq!(drops_seen.load(SeqCst), 1);
    assert_eq!(join.wakes(), 1);
    assert!(matches!(join.assert_ready(), Err(JoinError::Cancelled)));

    // The same when the executor itself goes away, before or after a first poll.
    let ex = Manual::new();
    let polled = spawn(&ex, pending::<u8>());
    ex.run();
    let never_polled = spawn(&ex, async { 1 }); // queued, not polled
    drop(ex);
    assert!(matches!(now(polled), Err(JoinError::Cancelled)));
    assert!(matches!(now(never_polled), Err(JoinError::Cancelled)));
}

#[test]
fn dropping_the_handle_detaches_the_task() {
    let ex = Manual::new();
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let handle = spawn(&ex, async move {
        yield_now().await;
        flag.store(true, SeqCst);
    });
    ex.tick();
    drop(handle);
    ex.run();
    assert!(done.load(SeqCst), "the detached task ran to its end");
    assert_eq!(ex.live(), 0);
}

#[test]
fn a_dropped_handle_lets_go_of_the_awaiting_tasks_waker() {
    let ex = Manual::new();
    // The task holds the waker; dropped, the handle detaches and lets it go.
    drop_at_pending_releasing_waker(spawn(&ex, pending::<()>()), 1);
    assert_eq!(ex.live(), 1, "the task still runs");
}

#[test]
fn abort_on_drop_aborts_when_dropped() {
    let ex = Manual::new();
    let drops = Drops::new();
    let mark = drops.mark();
    let guarded = spawn(&ex, async move {
        let _mark = mark;
        pending::<u8>().await
    })
    .abort_on_drop();
    ex.run();
    assert!(!guarded.is_finished());
    assert!(format!("{guarded:?}").contains("is_finished: Some(false)"));
    drop(guarded);
    ex.run();
    assert_eq!(drops.count(), 1);
    assert_eq!(ex.live(), 0);

    // Awaited, it gives the output; detached, it no longer aborts.
    let ex = Manual::new();
    let guarded = spawn(&ex, after_yields(1, 8)).abort_on_drop();
    ex.run();
    assert_eq!(now(guarded).unwrap(), 8);
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let plain = spawn(&ex, async move {
        yield_now().await;
        flag.store(true, SeqCst);
    })
    .abort_on_drop()
    .detach();
    drop(plain);
    ex.run();
    assert!(done.load(SeqCst));

    // Its own abort works too.
    let guarded = spawn(&ex, pending::<u8>()).abort_on_drop();
    guarded.abort();
    ex.run();
    assert!(guarded.is_finished());
    assert!(matches!(now(guarded), Err(JoinError::Cancelled)));
}

#[test]
fn a_cancelled_caller_of_an_abort_on_drop_handle_cancels_the_work() {
    // The counterpart of `shield`: the work dies with its caller.
    let ex = Manual::new();
    let gate = Arc::new(Event::new());
    let done = Arc::new(AtomicBool::new(false));
    let caller = {
        let (gate, done) = (Arc::clone(&gate), Arc::clone(&done));
        let ex = ex.clone();
        async move {
            let work = async move {
                gate.wait().await;
                done.store(true, SeqCst);
            };
            spawn(&ex, work).abort_on_drop().await
        }
    };
    drop_at_pending(caller);
    gate.set();
    ex.run();
    assert!(!done.load(SeqCst));
    assert_eq!(ex.live(), 0);
}

#[test]
fn a_detached_tasks_output_is_dropped_when_it_finishes_even_with_an_abort_handle_kept() {
    // Detached before the task finished: the task drops its output as it ends.
    let ex = Manual::new();
    let drops = Drops::new();
    let mark = drops.mark();
    let handle = spawn(&ex, async move {
        yield_now().await;
        mark
    });
    let abort = handle.abort_handle();
    ex.tick();
    drop(handle);
    assert_eq!(drops.count(), 0, "the task is still running");
    assert!(!abort.is_finished());
    ex.run();
    assert_eq!(ex.live(), 0);
    assert!(abort.is_finished());
    assert_eq!(drops.count(), 1, "not kept for the abort handle");

    // Detached after it finished, the output not taken: dropped with the handle.
    let mark = drops.mark();
    let handle = spawn(&ex, async move { mark });
    let abort_too = handle.abort_handle();
    ex.run();
    assert!(handle.is_finished());
    assert_eq!(drops.count(), 1, "the handle may still take it");
    drop(handle);
    assert_eq!(drops.count(), 2);
    abort.abort(); // finished tasks: nothing happens
    abort_too.abort();
    assert_eq!(drops.count(), 2);
}

#[test]
fn an_abort_handle_aborts_from_another_thread() {
    let ex = Manual::new();
    let handle = spawn(&ex, pending::<u8>());
    let abort = handle.abort_handle();
    assert!(format!("{abort:?}").starts_with("AbortHandle"));
    ex.run();
    let abort = thread::spawn(move || {
        abort.abort();
        abort
    })
    .join()
    .unwrap();
    assert!(!abort.is_finished(), "aborted, not polled yet");
    ex.run();
    assert!(abort.is_finished());
    assert!(matches!(now(handle), Err(JoinError::Cancelled)));
}

/// An executor that owns nothing: a task lives in the wakers of its future (as in
/// `futures::executor::ThreadPool`), and is polled, on the
/// waking thread, each time it is woken. A task that nobody can wake any more is
/// freed, its future dropped.
fn spawn_owned_by_wakers(future: BoxedUnit) {
    struct Job(StdMutex<Option<BoxedUnit>>);
    impl std::task::Wake for Job {
        fn wake(self: Arc<Self>) {
            let taken = self.0.lock().unwrap().take();
            if let Some(mut future) = taken {
                let waker = Waker::from(Arc::clone(&self));
                if future
                    .as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
                {
                    *self.0.lock().unwrap() = Some(future);
                }
            }
        }
    }
    Waker::from(Arc::new(Job(StdMutex::new(Some(future))))).wake();
}

/// A future that waits for ever, leaving its waker in `holder` (and `mark`, to
/// tell when it is dropped).
fn parked_in(holder: &Arc<StdMutex<Option<Waker>>>, mark: DropMark) -> BoxedUnit {
    let holder = Arc::clone(holder);
    Box::pin(async move {
        let _mark = mark;
        poll_fn(|cx| {
            *holder.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        })
        .await;
    })
}

#[test]
fn a_task_nobody_can_wake_or_abort_is_freed_by_an_executor_that_frees_on_the_last_waker() {
    let holder = Arc::new(StdMutex::new(None));
    let drops = Drops::new();
    let spawner = |future: BoxedUnit| spawn_owned_by_wakers(future);

    // Detached, and the waker it waits with dropped: no waker is left, the task's
    // own included, so the executor frees it.
    drop(spawn(&spawner, parked_in(&holder, drops.mark())));
    assert_eq!(drops.count(), 0, "its waker is held");
    drop(holder.lock().unwrap().take());
    assert_eq!(drops.count(), 1, "the task kept no waker of its own");

    // Polled again after its handles are gone (woken through the waker it waits
    // with), it keeps no waker of its own either.
    drop(spawn(&spawner, parked_in(&holder, drops.mark())));
    let waker = holder.lock().unwrap().take().expect("waiting");
    waker.wake(); // polled again at once: it parks a new waker
    assert_eq!(drops.count(), 1, "its waker is held");
    drop(holder.lock().unwrap().take());
    assert_eq!(drops.count(), 2, "the poll kept no waker of its own");

    // An `AbortHandle` keeps the task's waker (to abort it), and then lets go.
    let handle = spawn(&spawner, parked_in(&holder, drops.mark()));
    let abort = handle.abort_handle();
    drop(handle);
    drop(holder.lock().unwrap().take());
    assert_eq!(drops.count(), 2, "kept for the abort handle");
    drop(abort);
    assert_eq!(drops.count(), 3);

    // And the abort works through that waker.
    let handle = spawn(&spawner, parked_in(&holder, drops.mark()));
    let abort = handle.abort_handle();
    drop(handle);
    drop(holder.lock().unwrap().take());
    abort.abort();
    assert_eq!(drops.count(), 4, "woken, polled and aborted");

    // The same with the `JoinHandle` kept: dropping it lets go.
    let handle = spawn(&spawner, parked_in(&holder, drops.mark()));
    drop(holder.lock().unwrap().take());
    assert_eq!(drops.count(), 4, "kept for the join handle");
    drop(handle);
    assert_eq!(drops.count(), 5);

    // An `AbortOnDrop` aborts through that waker when dropped.
    let handle = spawn(&spawner, parked_in(&holder, drops.mark())).abort_on_drop();
    drop(holder.lock().unwrap().take());
    assert_eq!(drops.count(), 5, "kept for the handle");
    drop(handle);
    assert_eq!(drops.count(), 6, "woken, polled and aborted");

    // A `BackgroundTasks` keeps its tasks' wakers to abort them, until it is
    // dropped.
    let tasks = BackgroundTasks::new(spawner);
    drop(tasks.spawn(parked_in(&holder, drops.mark())));
    drop(holder.lock().unwrap().take());
    assert_eq!((drops.count(), tasks.len()), (6, 1), "kept for cancel_all");
    drop(tasks);
    assert_eq!(drops.count(), 7);
}

#[test]
fn shielded_work_finishes_although_its_caller_is_dropped() {
    let ex = Manual::new();
    let gate = Arc::new(Event::new());
    let written = Arc::new(AtomicBool::new(false));
    let caller = {
        let (gate, written) = (Arc::clone(&gate), Arc::clone(&written));
        let ex = ex.clone();
        async move {
            let work = async move {
                gate.wait().await;
                written.store(true, SeqCst);
                "written"
            };
            shield(&ex, work).await
        }
    };
    drop_at_pending(caller); // the caller is cancelled mid-write
    ex.run();
    assert!(!written.load(SeqCst));
    gate.set();
    ex.run();
    assert!(written.load(SeqCst), "the shielded work landed");
    assert_eq!(ex.live(), 0);

    // Awaited normally, shield gives the output.
    let handle = shield(&ex, after_yields(2, 9));
    ex.run();
    assert_eq!(now(handle).unwrap(), 9);
}

// ===========================================================================
// TaskSet
// ===========================================================================

/// Futures that wait for a gate each: the test opens gate `n` to let future `n`
/// finish. Counts every poll, and fails the test (panics inside the poll) past
/// `limit` polls, so a set that polls too much fails fast instead of taking hours.
struct Gates {
    open: Vec<AtomicBool>,
    wakers: StdMutex<Vec<Option<Waker>>>,
    polls: AtomicUsize,
    limit: usize,
}

struct Gate {
    n: usize,
    gates: Arc<Gates>,
}

impl Gates {
    fn new(n: usize, limit: usize) -> Arc<Self> {
        Arc::new(Self {
            open: (0..n).map(|_| AtomicBool::new(false)).collect(),
            wakers: StdMutex::new(vec![None; n]),
            polls: AtomicUsize::new(0),
            limit,
        })
    }

    fn gate(self: &Arc<Self>, n: usize) -> Gate {
        Gate {
            n,
            gates: Arc::clone(self),
        }
    }

    /// Opens gate `n` and wakes its future through the waker it left.
    fn open(&self, n: usize) {
        self.open[n].store(true, SeqCst);
        let waker = self.wakers.lock().unwrap()[n].take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The waker future `n` left (without opening its gate).
    fn waker(&self, n: usize) -> Option<Waker> {
        self.wakers.lock().unwrap()[n].clone()
    }

    fn polls(&self) -> usize {
        self.polls.load(SeqCst)
    }
}

impl Future for Gate {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let polls = self.gates.polls.fetch_add(1, SeqCst) + 1;
        assert!(
            polls <= self.gates.limit,
            "more than {} polls: the set polls futures that did not wake",
            self.gates.limit
        );
        if self.gates.open[self.n].load(SeqCst) {
            return Poll::Ready(self.n);
        }
        self.gates.wakers.lock().unwrap()[self.n] = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Polls `task` until it is ready, or pending without having woken itself (a
/// yield wakes the owner at once; an executor would poll again).
fn drive<F: Future>(task: &mut Task<F>) -> Poll<F::Output> {
    loop {
        let wakes = task.wakes();
        match task.poll() {
            Poll::Ready(output) => return Poll::Ready(output),
            Poll::Pending if task.wakes() > wakes => continue,
            Poll::Pending => return Poll::Pending,
        }
    }
}

#[test]
fn push_returns_distinct_ids_that_join_next_with_id_reports() {
    let mut set = TaskSet::new();
    assert!(set.is_empty());
    let mut expected = Vec::new();
    for n in [4usize, 0, 2, 1, 3] {
        let id = set.push(after_yields(n, n * 100));
        expected.push((id, n * 100));
    }
    let ids: Vec<usize> = expected.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4], "ids in push order");
    assert_eq!(set.len(), 5);
    assert!(!set.is_empty());
    let mut got = Vec::new();
    while let Some(pair) = block_on(set.join_next_with_id()) {
        got.push(pair);
    }
    // Completion order (fewest yields first), each with the id of its push.
    assert_eq!(got, [(1, 0), (3, 100), (2, 200), (4, 300), (0, 400)]);
    assert!(set.is_empty());
    // Ids stay distinct when slots are reused.
    let later: Vec<usize> = (0..3).map(|n| set.push(after_yields(n, 0))).collect();
    assert_eq!(later, [5, 6, 7]);
    assert_eq!(block_on(set.join_all()).len(), 3);
}

#[test]
fn try_join_next_with_id_reports_the_id_of_each_push() {
    let mut set = TaskSet::new();
    // Slots used and freed first, so that ids are not the slots' indices.
    set.push(after_yields(0, 9));
    set.push(after_yields(0, 9));
    assert_eq!(block_on(set.join_all()), [9, 9]);
    let ids: Vec<usize> = [2usize, 0, 1]
        .into_iter()
        .map(|n| set.push(after_yields(n, n)))
        .collect();
    let mut got = Vec::new();
    for _ in 0..10 {
        got.extend(set.try_join_next_with_id());
    }
    assert!(set.is_empty());
    assert_eq!(got, [(ids[1], 0), (ids[2], 1), (ids[0], 2)]);
}

#[test]
fn try_join_next_polls_what_woke_and_never_waits() {
    let events: Vec<Arc<Event>> = (0..3).map(|_| Arc::new(Event::new())).collect();
    let mut set: TaskSet<Boxed<usize>> = events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let event = Arc::clone(event);
            Box::pin(async move {
                event.wait().await;
                i
            }) as Boxed<usize>
        })
        .collect();
    assert_eq!(set.try_join_next(), None, "nothing has finished");
    assert_eq!(set.len(), 3);
    events[1].set();
    assert_eq!(set.try_join_next(), Some(1), "the woken one is polled");
    assert_eq!(set.try_join_next(), None, "the others still wait");
    events[2].set();
    events[0].set();
    let mut rest = vec![set.try_join_next(), set.try_join_next()];
    rest.sort();
    assert_eq!(rest, [Some(0), Some(2)]);
    assert!(set.is_empty());
    assert_eq!(set.try_join_next(), None);
}

#[test]
fn join_next_on_an_empty_set_is_none_at_once() {
    let mut set: TaskSet<std::future::Ready<u8>> = TaskSet::new();
    assert_eq!(now(set.join_next()), None);
    assert_eq!(now(set.join_next_with_id()), None);
    assert_eq!(now(set.join_all()), Vec::<u8>::new());
    assert_eq!(format!("{set:?}"), "TaskSet { len: 0 }");
    assert!(TaskSet::<std::future::Ready<u8>>::default().is_empty());
}

#[test]
fn join_all_returns_the_outputs_in_completion_order() {
    let mut set: TaskSet<_> = [5usize, 1, 3, 0, 4, 2]
        .into_iter()
        .map(|n| after_yields(n, n))
        .collect();
    assert_eq!(set.len(), 6);
    assert_eq!(block_on(set.join_all()), [0, 1, 2, 3, 4, 5]);
    assert!(set.is_empty());
}

#[test]
fn join_all_dropped_midway_keeps_the_unfinished_futures() {
    let gates = Gates::new(3, 100);
    let mut set: TaskSet<Gate> = (0..3).map(|n| gates.gate(n)).collect();
    let mut all = Task::new(set.join_all());
    assert!(drive(&mut all).is_pending());
    gates.open(1);
    assert!(drive(&mut all).is_pending());
    drop(all); // output 1 is dropped with it
    assert_eq!(set.len(), 2);
    gates.open(0);
    gates.open(2);
    let mut rest = block_on(set.join_all());
    rest.sort_unstable();
    assert_eq!(rest, [0, 2]);
}

#[test]
fn cancel_all_drops_every_future_and_leaves_a_usable_set() {
    let drops = Drops::new();
    let gates = Gates::new(20, 1000);
    let mut set: TaskSet<Boxed<usize>> = TaskSet::new();
    for n in 0..10 {
        let (mark, gate) = (drops.mark(), gates.gate(n));
        set.push(Box::pin(async move {
            let _mark = mark;
            gate.await
        }));
    }
    assert!(drive(&mut Task::new(set.join_next())).is_pending());
    let stale: Vec<Waker> = (0..10).map(|n| gates.waker(n).unwrap()).collect();
    set.cancel_all();
    assert_eq!(drops.count(), 10, "every future dropped by cancel_all");
    assert!(set.is_empty());
    assert_eq!(now(set.join_next()), None);

    // Reusable, and the wakers the dropped futures left behind are harmless.
    for n in 10..13 {
        set.push(Box::pin(gates.gate(n)));
    }
    assert!(drive(&mut Task::new(set.join_next())).is_pending());
    stale.iter().for_each(Waker::wake_by_ref);
    assert!(drive(&mut Task::new(set.join_next())).is_pending());
    gates.open(11);
    assert_eq!(block_on(set.join_next()), Some(11));
    stale.into_iter().for_each(Waker::wake);
    gates.open(10);
    gates.open(12);
    let mut rest = block_on(set.join_all());
    rest.sort_unstable();
    assert_eq!(rest, [10, 12]);
}

#[test]
fn dropping_the_set_drops_its_futures() {
    let drops = Drops::new();
    let mut set = TaskSet::new();
    for _ in 0..5 {
        let mark = drops.mark();
        set.push(async move {
            let _mark = mark;
            pending::<()>().await;
        });
    }
    drop(set);
    assert_eq!(drops.count(), 5);
}

#[test]
fn a_task_set_is_a_stream_and_collects_and_extends() {
    use futures::StreamExt;

    let mut set: TaskSet<_> = (0..3).map(|n| after_yields(2 * n, n)).collect();
    set.extend((3..5).map(|n| after_yields(2 * n, n)));
    assert_eq!(set.len(), 5);
    assert_eq!(futures::Stream::size_hint(&set), (5, Some(5)));
    assert_eq!(block_on(set.next()), Some(0));
    let rest: Vec<usize> = block_on(set.by_ref().collect());
    assert_eq!(rest, [1, 2, 3, 4]);
    assert_eq!(block_on(set.next()), None);

    // Mixed future types, boxed.
    let mut mixed: TaskSet<Boxed<&str>> = TaskSet::new();
    mixed.push(Box::pin(async { "ready" }));
    mixed.push(Box::pin(after_yields(3, "later")));
    assert_eq!(block_on(mixed.collect::<Vec<_>>()), ["ready", "later"]);
}

#[test]
fn random_task_set_pushes_wakes_joins_and_cancels_match_a_model() {
    // Random pushes of gated futures, gates opened, poll_join_next (with one
    // counting waker: the owner's), try_join_next and cancel_all, checked against
    // the documented rules: the set's length; a join is Ready(None) exactly when
    // the set is empty, and otherwise ready exactly when a future in it can finish
    // (its gate is open: new futures are polled by the next join, woken ones
    // again), with the output of such a future, which leaves the set; and no
    // wake-up is lost: after a pending poll_join_next, opening the gate of a
    // future that was polled wakes the owner.
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let steps = if cfg!(miri) { 500 } else { 20_000 };
    let gates = Gates::new(steps, usize::MAX);
    let mut set = TaskSet::new();
    // The model: per future in the set, (id, gate open, polled).
    let mut futures: Vec<(usize, bool, bool)> = Vec::new();
    let (owner, wakes) = counting_waker();
    // Since the last pending poll_join_next (and no other call on the set since):
    // the owner's wake count then, and whether a polled future's gate opened.
    let mut registered: Option<(usize, bool)> = None;
    let mut next_id = 0;
    for step in 0..steps {
        match rng.below(8) {
            0 | 1 if futures.len() < 16 => {
                set.push(gates.gate(next_id));
                futures.push((next_id, false, false));
                next_id += 1;
                registered = None;
            }
            2 | 3 => {
                let closed: Vec<usize> = (0..futures.len()).filter(|&i| !futures[i].1).collect();
                if let Some(&i) = closed.get(rng.below(closed.len().max(1))) {
                    gates.open(futures[i].0);
                    futures[i].1 = true;
                    if let Some((_, opened)) = &mut registered {
                        *opened |= futures[i].2;
                    }
                }
            }
            4..=6 => {
                let try_join = rng.below(3) == 0;
                let next = if try_join {
                    match set.try_join_next() {
                        Some(id) => Poll::Ready(Some(id)),
                        None if futures.is_empty() => Poll::Ready(None),
                        None => Poll::Pending,
                    }
                } else {
                    set.poll_join_next(&mut Context::from_waker(&owner))
                };
                match next {
                    Poll::Ready(None) => {
                        assert!(futures.is_empty(), "step {step}: ended with futures in");
                    }
                    Poll::Ready(Some(id)) => {
                        let i = futures
                            .iter()
                            .position(|f| f.0 == id)
                            .expect("a future of the set");
                        assert!(
                            futures[i].1,
                            "step {step}: future {id} finished, gate closed"
                        );
                        futures.remove(i);
                    }
                    Poll::Pending => {
                        assert!(
                            futures.iter().all(|f| !f.1),
                            "step {step}: pending with a gate open"
                        );
                        assert!(!futures.is_empty(), "step {step}: pending on an empty set");
                        for f in &mut futures {
                            f.2 = true;
                        }
                    }
                }
                registered = (!try_join && next.is_pending()).then(|| (wakes.count(), false));
            }
            7 if rng.below(4) == 0 => {
                set.cancel_all();
                futures.clear();
                registered = None;
            }
            _ => {}
        }
        assert_eq!(set.len(), futures.len(), "step {step}");
        if let Some((then, true)) = registered {
            assert!(
                wakes.count() > then,
                "step {step}: a polled future's gate opened, owner not woken"
            );
        }
    }
}

#[test]
fn a_wake_polls_only_the_woken_future() {
    // 100 000 futures, each pending until its gate opens. Opening the gates one at a
    // time, in random order, and taking each output with a fresh `join_next` must
    // cost one poll per wake: linear work, not quadratic.
    // Fewer under Miri, which runs this to check the set's unsafe code.
    const N: usize = if cfg!(miri) { 1_000 } else { 100_000 };
    let gates = Gates::new(N, 2 * N + 64);
    let mut set: TaskSet<Gate> = (0..N).map(|n| gates.gate(n)).collect();
    assert!(drive(&mut Task::new(set.join_next())).is_pending());
    assert_eq!(gates.polls(), N, "each future polled once to start");

    let mut order: Vec<usize> = (0..N).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in (1..N).rev() {
        order.swap(i, rng.below(i + 1));
    }
    for (done, &n) in order.iter().enumerate() {
        let mut next = Task::new(set.join_next());
        assert!(next.poll().is_pending());
        gates.open(n);
        assert_eq!(next.wakes(), 1, "the wake reaches the owner");
        assert_eq!(next.assert_ready(), Some(n));
        assert_eq!(set.len(), N - done - 1);
    }
    assert_eq!(
        gates.polls(),
        2 * N,
        "one poll per future to start, one per wake"
    );
    assert_eq!(now(set.join_next()), None);
}

#[test]
fn a_future_that_always_wakes_itself_does_not_starve_the_owner() {
    within_a_minute(|| {
        let spins = Arc::new(AtomicUsize::new(0));
        let mut set: TaskSet<Boxed<&'static str>> = TaskSet::new();
        let spinner = Arc::clone(&spins);
        set.push(Box::pin(poll_fn(move |cx| {
            spinner.fetch_add(1, SeqCst);
            cx.waker().wake_by_ref();
            Poll::Pending
        })));
        for n in 0..3 {
            set.push(Box::pin(after_yields(100 * n, "done")));
        }
        let mut finished = 0;
        let mut owner_polls = 0;
        while finished < 3 {
            let mut next = Task::new(set.join_next());
            loop {
                owner_polls += 1;
                let before = spins.load(SeqCst);
                match next.poll() {
                    Poll::Ready(out) => {
                        assert_eq!(out, Some("done"));
                        finished += 1;
                        break;
                    }
                    Poll::Pending => {
                        assert!(next.is_woken(), "the set asks to be polled again");
                        let spun = spins.load(SeqCst) - before;
                        assert!(spun <= 100, "one poll of the set spun {spun} times");
                    }
                }
            }
        }
        assert_eq!(set.len(), 1, "the spinner is still in the set");
        assert!(owner_polls > 3, "the owner got control back in between");

        // And on an executor: a future beside the set still gets its turn.
        let ticks = std::cell::Cell::new(0);
        let counter = async {
            for _ in 0..100 {
                ticks.set(ticks.get() + 1);
                yield_now().await;
            }
        };
        let wait_spinner = async {
            let next = futures_lite::future::or(async { set.join_next().await.is_some() }, async {
                while ticks.get() < 100 {
                    yield_now().await;
                }
                false
            });
            assert!(!next.await, "the spinner never finishes");
        };
        block_on(futures_lite::future::zip(counter, wait_spinner));
        assert_eq!(ticks.get(), 100);
    });
}

/// The "keep N in flight" loop: each output is followed by a new future, which
/// may finish at its first poll. The new futures are polled first, but at most
/// 32 in a row while a future that woke waits, so that one still finishes.
#[test]
fn new_futures_that_finish_at_once_do_not_starve_a_woken_one() {
    let event = Arc::new(Event::new());
    let mut set: TaskSet<Boxed<usize>> = TaskSet::new();
    let gate = Arc::clone(&event);
    set.push(Box::pin(async move {
        gate.wait().await;
        usize::MAX
    }));
    drop_at_pending(set.join_next()); // it waits for the event
    event.set();
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds <= 33, "the woken future was passed by 32 new ones");
        set.push(Box::pin(std::future::ready(rounds)));
        if now(set.join_next()) == Some(usize::MAX) {
            break;
        }
    }
    assert_eq!(rounds, 33, "new futures go first, 32 in a row");
}

/// A future that wakes itself as it finishes leaves its index among the woken
/// ones after its entry was freed. With new futures in the same entry still
/// queued when the woken ones are looked at (after 32 new ones in a row), that
/// index must not poll the entry out of turn: the new future queued behind it
/// would be unlinked and never polled (found in a review).
#[test]
fn a_stale_wake_of_a_reused_entry_does_not_lose_a_queued_future() {
    let mut set: TaskSet<Boxed<usize>> = TaskSet::new();
    set.push(Box::pin(poll_fn(|cx| {
        cx.waker().wake_by_ref();
        Poll::Ready(0)
    })));
    assert_eq!(now(set.join_next()), Some(0));
    for n in 1..=31 {
        set.push(Box::pin(std::future::ready(n)));
        assert_eq!(now(set.join_next()), Some(n));
    }
    set.push(Box::pin(std::future::ready(100)));
    set.push(Box::pin(std::future::ready(200)));
    let mut outputs = vec![now(set.join_next()), now(set.join_next())];
    outputs.sort_unstable();
    assert_eq!(outputs, [Some(100), Some(200)]);
    assert_eq!(now(set.join_next()), None);
}

#[test]
fn join_next_dropped_at_a_pending_point_loses_no_output() {
    let gates = Gates::new(4, 1000);
    let mut set: TaskSet<Gate> = (0..4).map(|n| gates.gate(n)).collect();
    drop_at_pending(set.join_next());
    // Woken while nobody waits, then a new join_next takes them.
    gates.open(2);
    gates.open(0);
    // Two woke: one join_next takes one output and leaves the other queued...
    let first = now(set.join_next()).unwrap();
    // ...then is dropped; the next one finds the other at once.
    let second = now(set.join_next()).unwrap();
    let mut both = [first, second];
    both.sort_unstable();
    assert_eq!(both, [0, 2]);
    // Dropped again while pending, after a wake it did not see.
    let mut next = Task::new(set.join_next());
    assert!(next.poll().is_pending());
    gates.open(3);
    assert!(next.is_woken());
    drop(next);
    assert_eq!(now(set.join_next_with_id()), Some((3, 3)));
    assert_eq!(set.len(), 1);
    // The same for join_next_with_id, and for the set polled as a stream.
    drop_at_pending(set.join_next_with_id());
    let as_stream = pending_at(futures_lite::StreamExt::next(&mut set));
    gates.open(1);
    assert!(as_stream.is_woken());
    drop(as_stream);
    assert_eq!(now(set.join_next_with_id()), Some((1, 1)));
    assert!(set.is_empty());
}

#[test]
fn join_next_dropped_after_a_budget_yield_loses_no_output() {
    // More ready futures than one poll handles: a join_next that yields and is
    // dropped leaves them queued for the next one.
    let mut set = TaskSet::new();
    for n in 0..200usize {
        set.push(after_yields(1, n));
    }
    let mut first = Task::new(set.join_next());
    assert!(first.poll().is_pending());
    drop(first);
    let mut outputs = block_on(set.join_all());
    outputs.sort_unstable();
    assert_eq!(outputs, (0..200).collect::<Vec<_>>());
}

#[test]
fn futures_woken_from_other_threads_all_come_out() {
    within_a_minute(|| {
        const N: usize = if cfg!(miri) { 50 } else { 2000 };
        let gates = Gates::new(N, 10 * N);
        let mut set: TaskSet<Gate> = (0..N).map(|n| gates.gate(n)).collect();
        assert!(drive(&mut Task::new(set.join_next())).is_pending());
        let openers: Vec<_> = (0..4)
            .map(|t| {
                let gates = Arc::clone(&gates);
                thread::spawn(move || {
                    for n in (t..N).step_by(4) {
                        gates.open(n);
                    }
                })
            })
            .collect();
        let mut outputs = block_on(set.join_all());
        for opener in openers {
            opener.join().unwrap();
        }
        outputs.sort_unstable();
        assert_eq!(outputs, (0..N).collect::<Vec<_>>());
    });
}

// ===========================================================================
// BackgroundTasks
// ===========================================================================

#[test]
fn finished_background_tasks_leave_by_themselves() {
    let ex = Manual::new();
    let tasks = BackgroundTasks::new(ex.clone());
    assert!(tasks.is_empty());
    let handles: Vec<_> = (0..3).map(|n| tasks.spawn(after_yields(n, n))).collect();
    assert_eq!(tasks.len(), 3);
    assert!(!tasks.is_empty());
    assert!(format!("{tasks:?}").contains("len: 3"));
    ex.tick(); // the task with no yield finishes
    assert_eq!(tasks.len(), 2);
    ex.run();
    assert_eq!(tasks.len(), 0);
    assert!(tasks.is_empty());
    let outputs: Vec<usize> = handles.into_iter().map(|h| now(h).unwrap()).collect();
    assert_eq!(outputs, [0, 1, 2]);
}

#[test]
fn join_waits_for_every_task_including_those_spawned_meanwhile() {
    let ex = Manual::new();
    let tasks = BackgroundTasks::new(ex.clone());
    now(tasks.join()); // empty: at once
    let gate = Arc::new(Event::new());
    let wait_gate = |gate: &Arc<Event>| {
        let gate = Arc::clone(gate);
        async move { gate.wait().await }
    };
    drop(tasks.spawn(wait_gate(&gate)));
    let mut join = pending_at(tasks.join());
    ex.run();
    let late_gate = Arc::new(Event::new());
    drop(tasks.spawn(wait_gate(&late_gate)));
    gate.set();
    ex.run();
    assert_eq!(tasks.len(), 1);
    join.assert_pending();
    late_gate.set();
    ex.run();
    assert!(join.is_woken());
    join.assert_ready();
    now(tasks.join());
}

#[test]
fn a_background_set_may_outlive_what_its_spawner_borrows() {
    // Compiles only if dropping the set does not use the spawner (no `Drop` on
    // `BackgroundTasks<S>` itself): here the executor the spawner borrows is
    // dropped first, as locals declared later are.
    let tasks;
    let ex = Manual::new();
    tasks = BackgroundTasks::new(|future: BoxedUnit| {
        async_patterns::task::Spawn::spawn_boxed(&ex, future)
    });
    drop(tasks.spawn(async {}));
    assert_eq!(ex.run(), 1);
    assert!(tasks.is_empty());
}

#[test]
fn cancel_all_aborts_every_background_task() {
    let ex = Manual::new();
    let tasks = BackgroundTasks::new(ex.clone());
    let drops = Drops::new();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let mark = drops.mark();
            tasks.spawn(async move {
                let _mark = mark;
                pending::<u8>().await
            })
        })
        .collect();
    ex.run();
    let mut join = pending_at(tasks.join());
    tasks.cancel_all();
    ex.run();
    assert_eq!(drops.count(), 4);
    assert!(tasks.is_empty());
    assert!(join.is_woken());
    join.assert_ready();
    for handle in handles {
        assert!(matches!(now(handle), Err(JoinError::Cancelled)));
    }
    // The set is usable afterwards.
    let handle = tasks.spawn(async { 1 });
    ex.run();
    assert_eq!(now(handle).unwrap(), 1);
}

#[test]
fn shutdown_cancels_then_waits() {
    let ex = Manual::new();
    let tasks = BackgroundTasks::new(ex.clone());
    // Three tasks that wait for ever, started; `Drops` counts their ends.
    let three_waiting = || {
        let drops = Drops::new();
        for _ in 0..3 {
            let mark = drops.mark();
            drop(tasks.spawn(async move {
                let _mark = mark;
                pending::<u8>().await
            }));
        }
        ex.run();
        drops
    };
    let drops = three_waiting();
    // Dropped before its first poll, a shutdown does nothing.
    drop(tasks.shutdown());
    ex.run();
    assert_eq!(tasks.len(), 3);

    // Dropped after its first poll: the tasks stay aborted, its wait is gone.
    drop_at_pending_releasing_waker(tasks.shutdown(), 1);
    assert_eq!(drops.count(), 0, "aborted, dropped at the next poll");
    ex.run();
    assert_eq!(drops.count(), 3, "the abort stands");
    assert!(tasks.is_empty());
    now(tasks.join());

    let drops = three_waiting();
    let mut shutdown = pending_at(tasks.shutdown());
    assert!(format!("{:?}", shutdown.future()).contains("started: true"));
    assert_eq!(drops.count(), 0, "aborted, dropped at the next poll");
    ex.run();
    assert_eq!(drops.count(), 3);
    assert!(shutdown.is_woken());
    shutdown.assert_ready();
    assert!(tasks.is_empty());
    now(tasks.shutdown()); // nothing left: at once
}

#[test]
fn tasks_spawned_while_a_shutdown_runs_are_aborted_at_once() {
    /// Spawns a cleanup task that never ends when dropped (as the aborted task's
    /// future is): a shutdown that only aborted what it found would wait for it.
    struct CleanupOnDrop {
        tasks: Arc<BackgroundTasks<Manual>>,
        _dropped: DropMark,
    }
    impl Drop for CleanupOnDrop {
        fn drop(&mut self) {
            drop(self.tasks.spawn(pending::<()>()));
        }
    }
    let ex = Manual::new();
    let tasks = Arc::new(BackgroundTasks::new(ex.clone()));
    let cleanups = Drops::new();
    let guard = CleanupOnDrop {
        tasks: Arc::clone(&tasks),
        _dropped: cleanups.mark(),
    };
    drop(tasks.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    }));
    ex.run();
    assert_eq!(tasks.len(), 1);

    let mut shutdown = pending_at(tasks.shutdown());
    // A task spawned now, from outside, is aborted too: never polled.
    let started = Arc::new(AtomicBool::new(false));
    let late = tasks.spawn({
        let started = Arc::clone(&started);
        async move { started.store(true, SeqCst) }
    });
    ex.run();
    assert_eq!(cleanups.count(), 1, "the aborted task spawned its cleanup");
    shutdown.assert_ready();
    assert!(tasks.is_empty());
    assert!(matches!(now(late), Err(JoinError::Cancelled)));
    assert!(!started.load(SeqCst));

    // Over: new tasks run again.
    let again = tasks.spawn(async { 7 });
    ex.run();
    assert_eq!(now(again).unwrap(), 7);

    // A shutdown dropped while under way also lets new tasks run again.
    drop(tasks.spawn(pending::<()>()));
    ex.run();
    drop_at_pending_releasing_waker(tasks.shutdown(), 1);
    let after = tasks.spawn(async { 8 });
    ex.run();
    assert_eq!(now(after).unwrap(), 8);
    assert!(tasks.is_empty());
}

#[test]
fn a_dropped_join_leaves_the_other_joins_woken() {
    let ex = Manual::new();
    let tasks = BackgroundTasks::new(ex.clone());
    drop(tasks.spawn(after_yields(2, ())));
    drop_at_pending_releasing_waker(tasks.join(), 1);
    let mut join = pending_at(tasks.join());
    drop_at_pending_releasing_waker(tasks.join(), 1);
    let mut other = pending_at(tasks.join());
    ex.run();
    assert!(join.is_woken() && other.is_woken());
    join.assert_ready();
    other.assert_ready();
}

#[test]
fn tasks_dropped_by_their_executor_leave_the_set() {
    let ex = Manual::new();
    let tasks = BackgroundTasks::new(ex.clone());
    let handle = tasks.spawn(pending::<u8>());
    let never_polled = tasks.spawn(async { 1 });
    ex.tick();
    let mut join = pending_at(tasks.join());
    ex.drop_all();
    assert!(tasks.is_empty());
    join.assert_ready();
    assert!(matches!(now(handle), Err(JoinError::Cancelled)));
    assert!(matches!(now(never_polled), Err(JoinError::Cancelled)));
}

#[test]
fn dropping_background_tasks_leaves_the_tasks_running() {
    let ex = Manual::new();
    let tasks = BackgroundTasks::new(ex.clone());
    let handle = tasks.spawn(after_yields(3, "ran"));
    drop(tasks);
    ex.run();
    assert_eq!(now(handle).unwrap(), "ran");
}

#[test]
#[cfg_attr(miri, ignore = "tokio's multi-thread runtime: too slow under Miri")]
fn background_tasks_on_a_multi_thread_runtime() {
    within_a_minute(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let rt_handle = rt.handle().clone();
        let tasks = BackgroundTasks::new(move |fut: BoxedUnit| {
            rt_handle.spawn(fut);
        });
        let count = Arc::new(AtomicUsize::new(0));
        for n in 0..500 {
            let count = Arc::clone(&count);
            drop(tasks.spawn(async move {
                after_yields(n % 5, ()).await;
                count.fetch_add(1, SeqCst);
            }));
        }
        block_on(tasks.join());
        assert_eq!(count.load(SeqCst), 500);
        assert!(tasks.is_empty());
        let drops = Drops::new();
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let (mark, started) = (drops.mark(), Arc::clone(&started));
            drop(tasks.spawn(async move {
                let _mark = mark;
                started.fetch_add(1, SeqCst);
                pending::<u8>().await
            }));
        }
        // Some tasks may not have started yet: their future must be dropped all the
        // same before `shutdown` returns (it once was not, for unstarted tasks).
        block_on(tasks.shutdown());
        assert_eq!(drops.count(), 100);
        assert!(tasks.is_empty());
    });
}

/// When dropped, records how many tasks its `BackgroundTasks` still counts.
struct LenOnDrop {
    tasks: Arc<BackgroundTasks<Manual>>,
    seen: Arc<AtomicUsize>,
}

impl Drop for LenOnDrop {
    fn drop(&mut self) {
        self.seen.store(self.tasks.len(), SeqCst);
    }
}

/// Spawns a task that never ends and records the set's length when its future is
/// dropped; polls it first if `started`.
fn len_seen_by_an_aborted_task(started: bool) -> usize {
    let ex = Manual::new();
    let tasks = Arc::new(BackgroundTasks::new(ex.clone()));
    let seen = Arc::new(AtomicUsize::new(usize::MAX));
    let guard = LenOnDrop {
        tasks: Arc::clone(&tasks),
        seen: Arc::clone(&seen),
    };
    drop(tasks.spawn(async move {
        let _guard = guard;
        pending::<()>().await
    }));
    if started {
        ex.run();
    }
    let mut join = pending_at(tasks.shutdown());
    ex.run();
    join.assert_ready();
    seen.load(SeqCst)
}

#[test]
fn a_started_task_is_still_in_the_set_while_its_future_is_dropped() {
    // `join`/`shutdown` must not return while a task's cleanup (its `Drop`, the
    // `finally` of asyncio) still runs: on a multi-thread executor they would.
    assert_eq!(len_seen_by_an_aborted_task(true), 1);
}

#[test]
fn a_task_aborted_before_its_first_poll_is_still_in_the_set_while_its_future_is_dropped() {
    assert_eq!(len_seen_by_an_aborted_task(false), 1);
}

/// With the `tokio` feature a runtime `Handle` is a `Spawn` as it is: spawned
/// tasks, abort and `BackgroundTasks` work on it.
#[cfg(feature = "tokio")]
#[test]
#[cfg_attr(miri, ignore = "tokio's multi-thread runtime: too slow under Miri")]
fn a_tokio_handle_is_a_spawner() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    rt.block_on(async {
        let task = spawn(&handle, async { 6 * 7 });
        assert_eq!(task.await.unwrap(), 42);

        let stuck = spawn(&handle, pending::<()>());
        stuck.abort();
        assert!(matches!(stuck.await, Err(JoinError::Cancelled)));

        let tasks = BackgroundTasks::new(handle.clone());
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let done = Arc::clone(&done);
            drop(tasks.spawn(async move { done.fetch_add(1, SeqCst) }));
        }
        tasks.join().await;
        assert_eq!(done.load(SeqCst), 10);
    });
}

// ===========================================================================
// spawn_local
// ===========================================================================

/// A `LocalSpawn` onto `pool`.
fn local_spawner(
    pool: &futures::executor::LocalPool,
) -> impl Fn(Pin<Box<dyn Future<Output = ()>>>) + use<> {
    use futures::task::LocalSpawnExt;
    let spawner = pool.spawner();
    move |fut| spawner.spawn_local(fut).expect("the pool is alive")
}

#[test]
fn spawn_local_runs_futures_that_are_not_send_side_by_side() {
    let mut pool = futures::executor::LocalPool::new();
    let spawner = local_spawner(&pool);
    let log = Rc::new(RefCell::new(Vec::new()));
    let handles: Vec<JoinHandle<usize>> = (1..=3)
        .map(|n| {
            let log = Rc::clone(&log); // an `Rc`: the future is not `Send`
            spawn_local(&spawner, async move {
                for step in 0..n {
                    log.borrow_mut().push((n, step));
                    yield_now().await;
                }
                n * 10
            })
        })
        .collect();
    let outputs = pool.run_until(async_patterns::future::join_all(handles));
    let outputs: Vec<usize> = outputs.into_iter().map(Result::unwrap).collect();
    assert_eq!(outputs, [10, 20, 30]);
    assert_eq!(
        log.borrow()[..3],
        [(1, 0), (2, 0), (3, 0)],
        "the tasks ran interleaved"
    );
    assert_eq!(log.borrow().len(), 6);
    assert_eq!(Rc::strong_count(&log), 1, "every task dropped its future");
}

#[test]
fn spawn_local_handles_abort_detach_callbacks_and_panics() {
    let mut pool = futures::executor::LocalPool::new();
    let spawner = local_spawner(&pool);

    // Abort: the future is dropped at the executor's next poll.
    let drops = Drops::new();
    let mark = drops.mark();
    let not_send = Rc::new(());
    let stuck = spawn_local(&spawner, async move {
        let (_mark, _rc) = (mark, not_send);
        pending::<u8>().await
    });
    pool.run_until_stalled();
    stuck.abort();
    pool.run_until_stalled();
    assert_eq!(drops.count(), 1);
    assert!(pool.run_until(stuck).unwrap_err().is_cancelled());

    // Detached: a dropped handle leaves the task running.
    let ran = Rc::new(Cell::new(false));
    let flag = Rc::clone(&ran);
    drop(spawn_local(&spawner, async move {
        yield_now().await;
        flag.set(true);
    }));
    pool.run_until_stalled();
    assert!(ran.get());

    // on_complete runs once with the output.
    let seen = Arc::new(AtomicUsize::new(0));
    let handle = spawn_local(&spawner, async { 7 });
    let counter = Arc::clone(&seen);
    handle.on_complete(move |out| {
        assert_eq!(out.ok(), Some(&7));
        counter.fetch_add(1, SeqCst);
    });
    assert_eq!(pool.run_until(handle).unwrap(), 7);
    assert_eq!(seen.load(SeqCst), 1);

    // A panic comes out as Panicked with its payload.
    let boom = spawn_local(&spawner, async {
        let _not_send = Rc::new(());
        panic!("local boom")
    });
    let err = pool.run_until(boom).unwrap_err();
    let payload = err.try_into_panic().expect("a panic");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"local boom"));
}

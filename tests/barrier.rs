//! `sync::Barrier`: rounds and indices at poll level, withdrawal on cancellation
//! (indices stay exactly `0..parties`), abort/reset, threads.

mod common;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use async_patterns::sync::{Barrier, BarrierWait, BarrierWaitResult, BrokenBarrierError};
use common::{Rng, Task, counting_waker, drop_at_pending, now, pending};

/// Rounds of the threaded tests (fewer under miri, which is slow).
const ROUNDS: usize = if cfg!(miri) { 10 } else { 100 };

/// Polls a woken waiter and expects it to pass.
#[track_caller]
fn passed(task: &mut Task<BarrierWait<'_>>) -> BarrierWaitResult {
    assert!(task.is_woken(), "a waiter whose round ended is woken");
    task.assert_ready().expect("the round tripped")
}

/// Checks one tripped round: the indices are exactly `0..parties`, and the only
/// leader is the one with index `parties - 1`.
#[track_caller]
fn check_round(parties: usize, results: &[BarrierWaitResult]) {
    assert_eq!(results.len(), parties);
    let mut indices: Vec<usize> = results.iter().map(|r| r.index()).collect();
    indices.sort_unstable();
    assert_eq!(
        indices,
        (0..parties).collect::<Vec<_>>(),
        "indices of one round"
    );
    let leaders: Vec<_> = results.iter().filter(|r| r.is_leader()).collect();
    assert_eq!(leaders.len(), 1, "exactly one leader per round");
    assert_eq!(
        leaders[0].index(),
        parties - 1,
        "the leader has index parties - 1"
    );
}

#[test]
fn zero_parties_behaves_as_one() {
    let b = Barrier::new(0);
    assert_eq!(b.parties(), 1);
    for _ in 0..3 {
        let r = now(b.wait()).unwrap();
        assert_eq!(r.index(), 0);
        assert!(r.is_leader());
        assert_eq!(b.n_waiting(), 0);
    }
    let one = Barrier::new(1);
    assert_eq!(one.parties(), 1);
    assert!(now(one.wait()).unwrap().is_leader());
    assert_eq!(Barrier::new(3).parties(), 3);
}

#[test]
fn one_round_of_three() {
    let b = Barrier::new(3);
    assert_eq!(b.n_waiting(), 0);
    let mut first = pending(b.wait());
    assert_eq!(b.n_waiting(), 1);
    let mut second = pending(b.wait());
    assert_eq!(b.n_waiting(), 2);
    assert!(!first.is_woken() && !second.is_woken());
    first.assert_pending();
    second.assert_pending();
    let last = now(b.wait()).unwrap();
    assert_eq!(b.n_waiting(), 0, "the round tripped");
    assert!(last.is_leader());
    assert_eq!(last.index(), 2);
    assert_eq!((first.wakes(), second.wakes()), (1, 1));
    let (a, c) = (passed(&mut first), passed(&mut second));
    assert!(!a.is_leader() && !c.is_leader());
    check_round(3, &[a, c, last]);
}

#[test]
fn rounds_are_reused_with_unique_indices() {
    let b = Barrier::new(3);
    for round in 0..100 {
        let mut waiters: Vec<_> = (0..2).map(|_| pending(b.wait())).collect();
        assert_eq!(b.n_waiting(), 2);
        let leader = now(b.wait()).unwrap();
        assert_eq!(b.n_waiting(), 0);
        let mut results = vec![leader];
        // Poll the woken waiters in a different order each round.
        if round % 2 == 1 {
            waiters.reverse();
        }
        for w in &mut waiters {
            results.push(passed(w));
        }
        check_round(3, &results);
    }
}

#[test]
fn a_late_arrival_waits_for_the_next_round() {
    let b = Barrier::new(2);
    let mut a = pending(b.wait());
    let leader = now(b.wait()).unwrap();
    assert!(leader.is_leader());
    assert!(a.is_woken());
    // `a` has not run yet: a newcomer does not join the round that already tripped.
    let mut late = pending(b.wait());
    assert_eq!(b.n_waiting(), 1);
    let a_result = passed(&mut a);
    check_round(2, &[a_result, leader]);
    late.assert_pending();
    assert!(
        !late.is_woken(),
        "the late arrival waits for the next round"
    );
    let next_leader = now(b.wait()).unwrap();
    let late_result = passed(&mut late);
    check_round(2, &[late_result, next_leader]);
}

#[test]
fn a_fast_task_does_not_pass_two_rounds() {
    // A task whose round tripped arrives again before the others ran: it waits.
    let b = Barrier::new(3);
    let mut a = pending(b.wait());
    let mut c = pending(b.wait());
    let leader = now(b.wait()).unwrap();
    let mut again = pending(b.wait()); // the leader, next round
    assert_eq!(b.n_waiting(), 1);
    check_round(3, &[passed(&mut a), passed(&mut c), leader]);
    again.assert_pending();
    assert!(!again.is_woken());
    let mut a2 = pending(b.wait());
    let leader2 = now(b.wait()).unwrap();
    check_round(3, &[passed(&mut again), passed(&mut a2), leader2]);
}

// ---- withdrawal ----------------------------------------------------------

#[test]
fn a_dropped_wait_withdraws_its_arrival() {
    let b = Barrier::new(3);
    let mut a = pending(b.wait());
    drop_at_pending(b.wait());
    assert_eq!(b.n_waiting(), 1, "the dropped arrival was withdrawn");
    let mut c = pending(b.wait());
    assert_eq!(b.n_waiting(), 2);
    assert!(
        !a.is_woken() && !c.is_woken(),
        "the round still needs a third task"
    );
    let leader = now(b.wait()).unwrap();
    check_round(3, &[passed(&mut a), passed(&mut c), leader]);
}

/// Arrives `parties - 1` waiters, withdraws the ones at `withdraw` (positions in
/// arrival order, in that order), then refills: the round must need exactly
/// `parties` tasks present and hand out `0..parties`.
fn withdraw_and_refill(parties: usize, withdraw: &[usize]) {
    let b = Barrier::new(parties);
    let mut waiters: Vec<Option<Task<BarrierWait<'_>>>> =
        (0..parties - 1).map(|_| Some(pending(b.wait()))).collect();
    for (n, &at) in withdraw.iter().enumerate() {
        drop(waiters[at].take().expect("each position withdrawn once"));
        assert_eq!(
            b.n_waiting(),
            parties - 1 - (n + 1),
            "{parties} {withdraw:?}"
        );
    }
    let mut waiters: Vec<_> = waiters.into_iter().flatten().collect();
    while waiters.len() < parties - 1 {
        waiters.push(pending(b.wait()));
        assert_eq!(b.n_waiting(), waiters.len());
    }
    assert!(
        waiters.iter().all(|w| !w.is_woken()),
        "{parties} {withdraw:?}"
    );
    let leader = now(b.wait()).unwrap();
    let mut results = vec![leader];
    results.extend(waiters.iter_mut().map(passed));
    check_round(parties, &results);
    assert_eq!(b.n_waiting(), 0);
}

/// Every ordered selection of distinct items of `0..n`.
fn orders(n: usize) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    let mut frontier = vec![vec![]];
    for _ in 0..n {
        let mut next = Vec::new();
        for prefix in &frontier {
            for i in 0..n {
                if !prefix.contains(&i) {
                    let mut order: Vec<usize> = prefix.clone();
                    order.push(i);
                    next.push(order);
                }
            }
        }
        out.extend(next.iter().cloned());
        frontier = next;
    }
    out
}

#[test]
fn withdrawals_in_every_order_keep_indices_unique() {
    // The brief's case first: the holders of index 0 and 1 withdraw, both orders.
    withdraw_and_refill(3, &[0, 1]);
    withdraw_and_refill(3, &[1, 0]);
    withdraw_and_refill(4, &[0, 1]);
    withdraw_and_refill(4, &[1, 0]);
    for parties in 2..=5 {
        for order in orders(parties - 1) {
            withdraw_and_refill(parties, &order);
        }
    }
}

#[test]
fn random_arrivals_and_withdrawals_keep_rounds_exact() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let scenarios = if cfg!(miri) { 30 } else { 2000 };
    for scenario in 0..scenarios {
        let parties = 1 + rng.below(5);
        let b = Barrier::new(parties);
        // Several rounds on one barrier, with withdrawals interleaved.
        for round in 0..3 {
            let mut waiting: Vec<Task<BarrierWait<'_>>> = Vec::new();
            let results = loop {
                if !waiting.is_empty() && rng.below(3) == 0 {
                    let at = rng.below(waiting.len());
                    drop(waiting.swap_remove(at));
                    assert_eq!(b.n_waiting(), waiting.len(), "scenario {scenario}");
                    continue;
                }
                let mut task = Task::new(b.wait());
                match task.poll() {
                    Poll::Pending => {
                        assert!(
                            waiting.len() < parties - 1,
                            "scenario {scenario} round {round}: {} present, the arrival \
                             should have tripped the round",
                            waiting.len() + 1
                        );
                        waiting.push(task);
                        assert_eq!(b.n_waiting(), waiting.len());
                    }
                    Poll::Ready(result) => {
                        let leader = result.unwrap();
                        assert_eq!(
                            waiting.len(),
                            parties - 1,
                            "scenario {scenario} round {round}: tripped with too few tasks"
                        );
                        let mut results = vec![leader];
                        // Drop some of the woken waiters before they run: nothing
                        // changes for the others.
                        let mut seen = 1;
                        for mut w in waiting.drain(..) {
                            if rng.below(4) == 0 {
                                assert!(w.is_woken());
                                drop(w);
                            } else {
                                results.push(passed(&mut w));
                            }
                            seen += 1;
                        }
                        assert_eq!(seen, parties);
                        break results;
                    }
                }
            };
            assert_eq!(b.n_waiting(), 0);
            // The indices we saw are distinct; with nobody dropped, exactly 0..parties.
            let indices: BTreeSet<usize> = results.iter().map(|r| r.index()).collect();
            assert_eq!(
                indices.len(),
                results.len(),
                "scenario {scenario}: duplicate"
            );
            assert!(indices.iter().all(|&i| i < parties));
            if results.len() == parties {
                check_round(parties, &results);
            }
            assert_eq!(results.iter().filter(|r| r.is_leader()).count(), 1);
        }
    }
}

#[test]
fn dropping_a_wait_after_its_round_tripped_changes_nothing() {
    let b = Barrier::new(3);
    let a = pending(b.wait());
    let mut c = pending(b.wait());
    let leader = now(b.wait()).unwrap();
    assert!(a.is_woken());
    drop(a); // tripped, woken, never polled again
    assert_eq!(b.n_waiting(), 0, "no withdrawal from a round that tripped");
    let c_result = passed(&mut c);
    assert!(c_result.index() < 2 && !c_result.is_leader());
    assert_ne!(c_result.index(), leader.index());
    // The next round starts empty and needs all three.
    let mut x = pending(b.wait());
    assert_eq!(b.n_waiting(), 1);
    let mut y = pending(b.wait());
    assert!(!x.is_woken() && !y.is_woken());
    let z = now(b.wait()).unwrap();
    check_round(3, &[passed(&mut x), passed(&mut y), z]);
}

// ---- abort and reset -----------------------------------------------------

#[test]
fn abort_fails_the_waiting_round_and_later_waits() {
    let b = Barrier::new(3);
    let mut a = pending(b.wait());
    let mut c = pending(b.wait());
    assert!(!b.is_broken());
    b.abort();
    assert!(b.is_broken());
    assert_eq!(b.n_waiting(), 0);
    assert_eq!((a.wakes(), c.wakes()), (1, 1));
    assert_eq!(a.assert_ready(), Err(BrokenBarrierError));
    assert_eq!(c.assert_ready(), Err(BrokenBarrierError));
    for _ in 0..3 {
        assert_eq!(now(b.wait()), Err(BrokenBarrierError), "broken until reset");
    }
    assert_eq!(b.n_waiting(), 0);
    b.abort(); // again: still broken, nothing else happens
    assert!(b.is_broken());
    b.reset();
    assert!(!b.is_broken());
    let mut x = pending(b.wait());
    let mut y = pending(b.wait());
    let z = now(b.wait()).unwrap();
    check_round(3, &[passed(&mut x), passed(&mut y), z]);
}

#[test]
fn reset_fails_the_waiting_round_and_starts_over() {
    let b = Barrier::new(3);
    let mut a = pending(b.wait());
    let mut c = pending(b.wait());
    b.reset();
    assert!(!b.is_broken());
    assert_eq!(b.n_waiting(), 0);
    assert_eq!(a.assert_ready(), Err(BrokenBarrierError));
    assert_eq!(c.assert_ready(), Err(BrokenBarrierError));
    // Usable at once, and the next round needs all three again.
    let mut x = pending(b.wait());
    let mut y = pending(b.wait());
    assert!(!x.is_woken() && !y.is_woken());
    let z = now(b.wait()).unwrap();
    check_round(3, &[passed(&mut x), passed(&mut y), z]);
}

#[test]
fn abort_and_reset_spare_a_round_that_already_tripped() {
    for abort in [true, false] {
        let b = Barrier::new(3);
        let mut a = pending(b.wait());
        let mut c = pending(b.wait());
        let leader = now(b.wait()).unwrap();
        // The next round is filling when the barrier is broken.
        let mut next = pending(b.wait());
        if abort {
            b.abort();
        } else {
            b.reset();
        }
        assert_eq!(b.is_broken(), abort);
        assert_eq!(next.assert_ready(), Err(BrokenBarrierError));
        // The tripped round's tasks have not run yet: they still pass.
        check_round(3, &[passed(&mut a), passed(&mut c), leader]);
    }
}

#[test]
fn a_waiter_withdrawn_after_abort_changes_nothing() {
    let b = Barrier::new(2);
    let a = pending(b.wait());
    b.abort();
    drop(a); // failed, woken, never polled
    b.reset();
    assert_eq!(b.n_waiting(), 0);
    let mut x = pending(b.wait());
    let y = now(b.wait()).unwrap();
    check_round(2, &[passed(&mut x), y]);
}

// ---- wakers --------------------------------------------------------------

#[test]
fn the_trip_wakes_the_latest_waker() {
    let b = Barrier::new(2);
    let mut w = pin!(b.wait());
    let (old, old_count) = counting_waker();
    let (new, new_count) = counting_waker();
    assert!(w.as_mut().poll(&mut Context::from_waker(&old)).is_pending());
    assert!(w.as_mut().poll(&mut Context::from_waker(&new)).is_pending());
    assert_eq!(b.n_waiting(), 1, "a second poll is not a second arrival");
    now(b.wait()).unwrap();
    assert_eq!((old_count.count(), new_count.count()), (0, 1));
    let Poll::Ready(Ok(r)) = w.as_mut().poll(&mut Context::from_waker(&new)) else {
        panic!("expected the round to have tripped")
    };
    assert_eq!(r.index(), 0);
}

// ---- threads -------------------------------------------------------------

/// Per-round index sets, filled by the tasks of a threaded test.
struct Rounds {
    /// Bit `index` of entry `round`: that index was seen in that round.
    seen: Vec<AtomicUsize>,
    leaders: Vec<AtomicUsize>,
}

impl Rounds {
    fn new(rounds: usize) -> Self {
        Self {
            seen: (0..rounds).map(|_| AtomicUsize::new(0)).collect(),
            leaders: (0..rounds).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// Records `result` for `round`; fails on an index seen twice in that round.
    fn record(&self, round: usize, parties: usize, result: BarrierWaitResult) {
        let index = result.index();
        assert!(index < parties, "round {round}: index {index} out of range");
        assert_eq!(result.is_leader(), index == parties - 1, "round {round}");
        let before = self.seen[round].fetch_or(1 << index, Ordering::SeqCst);
        assert_eq!(
            before & (1 << index),
            0,
            "round {round}: index {index} twice"
        );
        if result.is_leader() {
            self.leaders[round].fetch_add(1, Ordering::SeqCst);
        }
    }

    fn check(&self, parties: usize) {
        for (round, (seen, leaders)) in self.seen.iter().zip(&self.leaders).enumerate() {
            assert_eq!(
                seen.load(Ordering::SeqCst),
                (1 << parties) - 1,
                "round {round}"
            );
            assert_eq!(leaders.load(Ordering::SeqCst), 1, "round {round}");
        }
    }
}

#[test]
#[cfg(not(miri))] // a multi-thread tokio runtime: covered natively, too slow for miri
fn rounds_on_tokio_multi_thread() {
    const TASKS: usize = 4;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let barrier = Arc::new(Barrier::new(TASKS));
        let rounds = Arc::new(Rounds::new(ROUNDS));
        // Every task waits once per round, so round `r` is each task's `r`-th wait.
        let tasks: Vec<_> = (0..TASKS)
            .map(|id| {
                let (barrier, rounds) = (barrier.clone(), rounds.clone());
                tokio::spawn(async move {
                    for round in 0..ROUNDS {
                        if (id + round) % 3 == 0 {
                            common::yield_now().await;
                        }
                        let result = barrier.wait().await.expect("nobody aborts");
                        rounds.record(round, TASKS, result);
                    }
                })
            })
            .collect();
        let all = async {
            for t in tasks {
                t.await.unwrap();
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), all)
            .await
            .expect("a barrier round never tripped (hung for 60 s)");
        rounds.check(TASKS);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
#[cfg(not(miri))] // a multi-thread tokio runtime: covered natively, too slow for miri
fn more_tasks_than_parties_then_abort_on_tokio() {
    // 6 tasks, rounds of 3: the rounds mix tasks freely, so check the totals: every
    // tripped round hands out 0, 1 and 2 once, so each index occurs once per leader.
    // The leader that completes round TARGET aborts the barrier, which ends the
    // round filling then (its tasks fail and stop) but spares the rounds that already
    // tripped: their tasks all get `Ok`, so the totals still add up.
    const TASKS: usize = 6;
    const PARTIES: usize = 3;
    const TARGET: usize = 200;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let barrier = Arc::new(Barrier::new(PARTIES));
        let counts: Arc<Vec<AtomicUsize>> =
            Arc::new((0..PARTIES).map(|_| AtomicUsize::new(0)).collect());
        let leaders = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|id| {
                let (barrier, counts, leaders) = (barrier.clone(), counts.clone(), leaders.clone());
                tokio::spawn(async move {
                    // Returns how many waits passed: all until the first failure.
                    for round in 0.. {
                        if (id + round) % 4 == 0 {
                            common::yield_now().await;
                        }
                        let Ok(r) = barrier.wait().await else {
                            return round;
                        };
                        counts[r.index()].fetch_add(1, Ordering::SeqCst);
                        if r.is_leader() {
                            assert_eq!(r.index(), PARTIES - 1);
                            if leaders.fetch_add(1, Ordering::SeqCst) + 1 == TARGET {
                                barrier.abort();
                            }
                        }
                    }
                    unreachable!()
                })
            })
            .collect();
        let all = async {
            let mut passed = 0;
            for t in tasks {
                passed += t.await.unwrap();
            }
            passed
        };
        let passed = tokio::time::timeout(std::time::Duration::from_secs(60), all)
            .await
            .expect("a barrier round never tripped (hung for 60 s)");
        let rounds = leaders.load(Ordering::SeqCst);
        assert!(rounds >= TARGET);
        assert_eq!(
            passed,
            rounds * PARTIES,
            "every task of a tripped round passed"
        );
        for (index, count) in counts.iter().enumerate() {
            assert_eq!(count.load(Ordering::SeqCst), rounds, "index {index}");
        }
        assert!(barrier.is_broken());
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn wait_blocking_across_threads() {
    const THREADS: usize = 4;
    let barrier = Arc::new(Barrier::new(THREADS));
    let rounds = Arc::new(Rounds::new(ROUNDS));
    {
        let (barrier, rounds) = (barrier.clone(), rounds.clone());
        common::within_a_minute(move || {
            std::thread::scope(|s| {
                for _ in 0..THREADS {
                    s.spawn(|| {
                        for round in 0..ROUNDS {
                            let result = barrier.wait_blocking().expect("nobody aborts");
                            rounds.record(round, THREADS, result);
                        }
                    });
                }
            })
        });
    }
    rounds.check(THREADS);
    assert_eq!(barrier.n_waiting(), 0);
}

#[test]
fn abort_releases_blocked_threads() {
    let barrier = Arc::new(Barrier::new(3));
    {
        let barrier = barrier.clone();
        common::within_a_minute(move || {
            std::thread::scope(|s| {
                let waiters: Vec<_> = (0..2)
                    .map(|_| s.spawn(|| barrier.wait_blocking()))
                    .collect();
                while barrier.n_waiting() < 2 {
                    std::thread::yield_now();
                }
                barrier.abort();
                for w in waiters {
                    assert_eq!(w.join().unwrap(), Err(BrokenBarrierError));
                }
            })
        });
    }
    // (At poll level: a blocking wait would hang if the barrier were not broken.)
    assert_eq!(now(barrier.wait()), Err(BrokenBarrierError));
}

// ---- misc ------------------------------------------------------------------

#[test]
fn error_display_and_std_error() {
    let e = BrokenBarrierError;
    assert_eq!(e.to_string(), "barrier is broken (aborted or reset)");
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    assert!(boxed.source().is_none());
    assert_eq!(<BrokenBarrierError as Default>::default(), e);
}

#[test]
fn debug_static_and_size() {
    static B: Barrier = Barrier::new(1);
    assert!(now(B.wait()).unwrap().is_leader());
    let b = Barrier::new(2);
    assert_eq!(
        format!("{b:?}"),
        "Barrier { parties: 2, n_waiting: 0, is_broken: false }"
    );
    let w = pending(b.wait());
    assert_eq!(
        format!("{b:?}"),
        "Barrier { parties: 2, n_waiting: 1, is_broken: false }"
    );
    assert_eq!(format!("{:?}", w.future()), "BarrierWait { waiting: true }");
    let r = now(b.wait()).unwrap();
    assert!(format!("{r:?}").contains("index: 1"));
    assert!(std::mem::size_of::<Barrier>() <= 48);
}

#[test]
#[should_panic(expected = "BarrierWait polled after completion")]
fn polling_a_completed_wait_panics_instead_of_arriving_again() {
    let b = Barrier::new(1);
    let mut w = common::Task::new(b.wait());
    assert!(w.assert_ready().unwrap().is_leader());
    let _ = w.poll();
}

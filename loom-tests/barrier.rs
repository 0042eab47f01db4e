//! `Barrier`: a trip racing a withdrawal, abort and reset racing arrivals, a
//! withdrawal racing a reset, and consecutive rounds.

use std::task::Poll;

use async_patterns::sync::{Barrier, BarrierWaitResult, BrokenBarrierError};
use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

use crate::{Signal, model, poll_once, waiting, with_static};

/// Checks that `round` is one full round of a barrier of `round.len()` parties:
/// indices exactly `0..parties`, and one leader, the one with index `parties - 1`.
fn assert_one_round(round: &[BarrierWaitResult]) {
    let mut indices: Vec<_> = round.iter().map(BarrierWaitResult::index).collect();
    indices.sort_unstable();
    assert!(
        indices.iter().copied().eq(0..round.len()),
        "indices of one round: {indices:?}"
    );
    let leaders: Vec<_> = round.iter().filter(|r| r.is_leader()).collect();
    assert_eq!(leaders.len(), 1, "leaders of one round: {round:?}");
    assert_eq!(
        leaders[0].index(),
        round.len() - 1,
        "leader's index: {round:?}"
    );
}

/// parties = 2. A arrived (pending) and is dropped while B arrives. Either B's
/// arrival trips the round first (B passes as the leader with index 1, and A's
/// late drop changes nothing), or A's arrival is withdrawn first (B waits alone,
/// `n_waiting() == 1`, holding index 0, until a third arrival trips the round as
/// the leader with index 1).
#[test]
fn trip_vs_withdrawal() {
    model(|| {
        let barrier = Arc::new(Barrier::new(2));
        let a_arrived = Arc::new(Signal::new());
        let b_polled = Arc::new(Signal::new());
        let b_tripped_at_once = Arc::new(AtomicBool::new(false));
        let a = {
            let (barrier, a_arrived) = (barrier.clone(), a_arrived.clone());
            thread::spawn(move || {
                let wait = waiting(barrier.wait());
                a_arrived.set();
                drop(wait);
            })
        };
        let b = {
            let (barrier, a_arrived, b_polled, b_tripped_at_once) = (
                barrier.clone(),
                a_arrived.clone(),
                b_polled.clone(),
                b_tripped_at_once.clone(),
            );
            thread::spawn(move || {
                a_arrived.wait();
                let mut wait = Box::pin(barrier.wait());
                match poll_once(wait.as_mut()) {
                    Poll::Ready(result) => {
                        b_tripped_at_once.store(true, Ordering::Relaxed);
                        b_polled.set();
                        result.expect("nobody aborts")
                    }
                    Poll::Pending => {
                        b_polled.set();
                        block_on(wait).expect("nobody aborts")
                    }
                }
            })
        };
        a.join().unwrap();
        b_polled.wait();
        // (`b_polled` orders the load after the store.)
        if b_tripped_at_once.load(Ordering::Relaxed) {
            // A held index 0 (its result is never seen: it was dropped).
            let b = b.join().unwrap();
            assert!(
                b.is_leader() && b.index() == 1,
                "B tripped the round: {b:?}"
            );
        } else {
            assert_eq!(barrier.n_waiting(), 1, "A's arrival was not withdrawn");
            let third = block_on(barrier.wait()).expect("nobody aborts");
            let b = b.join().unwrap();
            // B took A's withdrawn index 0; the third arrival trips as leader.
            assert_one_round(&[b, third]);
            assert!(third.is_leader(), "{third:?}");
        }
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.is_broken());
    });
}

/// parties = 3, two tasks arrive while a third thread aborts: no round can trip,
/// so both waits complete with `BrokenBarrierError` (whether they arrived before
/// the abort and were failed by it, or after it), none hangs, and the barrier is
/// broken.
#[test]
fn abort_vs_arrivals() {
    model(|| {
        let barrier = Arc::new(Barrier::new(3));
        let arrivals: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                thread::spawn(move || block_on(barrier.wait()))
            })
            .collect();
        barrier.abort();
        for arrival in arrivals {
            assert_eq!(arrival.join().unwrap(), Err(BrokenBarrierError));
        }
        assert!(barrier.is_broken());
    });
}

/// parties = 2, two tasks arrive while a third thread aborts: either the round
/// tripped before the abort (both pass, as one round) or neither passes; never one
/// `Ok` and one `Err`, and no wait hangs.
#[test]
fn abort_vs_tripping_round() {
    model(|| {
        let barrier = Arc::new(Barrier::new(2));
        let arrivals: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                thread::spawn(move || block_on(barrier.wait()))
            })
            .collect();
        barrier.abort();
        let results: Vec<_> = arrivals.into_iter().map(|t| t.join().unwrap()).collect();
        match results.iter().copied().collect::<Result<Vec<_>, _>>() {
            Ok(round) => assert_one_round(&round),
            Err(_) => assert!(
                results.iter().all(Result::is_err),
                "an Ok without a full round: {results:?}"
            ),
        }
        assert!(barrier.is_broken());
    });
}

/// parties = 2, two threads wait twice each: the first arrivals form round one and
/// the second arrivals round two (nobody passes a round it did not arrive in), each
/// with indices {0, 1} and one leader.
#[test]
fn consecutive_rounds() {
    model(|| {
        let barrier = Arc::new(Barrier::new(2));
        let twice = |barrier: &Barrier| {
            let first = block_on(barrier.wait()).expect("nobody aborts");
            let second = block_on(barrier.wait()).expect("nobody aborts");
            (first, second)
        };
        let other = {
            let barrier = barrier.clone();
            thread::spawn(move || twice(&barrier))
        };
        let (a1, a2) = twice(&barrier);
        let (b1, b2) = other.join().unwrap();
        assert_one_round(&[a1, b1]);
        assert_one_round(&[a2, b2]);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

/// A waiter is pending when another thread calls `reset`: the waiter fails, the
/// barrier is not broken, and a fresh round (the failed task arriving again, and
/// the resetting thread) trips normally, even while the failed task has not yet
/// collected its failure when the new round starts filling.
#[test]
fn reset_vs_waiter() {
    model(|| {
        let barrier = Arc::new(Barrier::new(2));
        let arrived = Arc::new(Signal::new());
        let waiter = {
            let (barrier, arrived) = (barrier.clone(), arrived.clone());
            thread::spawn(move || {
                let wait = waiting(barrier.wait());
                arrived.set();
                assert_eq!(block_on(wait), Err(BrokenBarrierError));
                block_on(barrier.wait()).expect("reset does not break the barrier")
            })
        };
        arrived.wait();
        barrier.reset();
        assert!(!barrier.is_broken());
        let mine = block_on(barrier.wait()).expect("reset does not break the barrier");
        let theirs = waiter.join().unwrap();
        assert_one_round(&[mine, theirs]);
        assert!(!barrier.is_broken());
        assert_eq!(barrier.n_waiting(), 0);
    });
}

/// A waiter that arrived is dropped (withdrawing its arrival) on one thread while
/// another resets the barrier: whichever comes first, the arrival is counted out
/// exactly once, so a fresh round of two trips with indices 0 and 1 and leaves
/// nobody waiting (a round that tripped with one party would fail the model, one
/// that never trips is a loom deadlock).
#[test]
fn withdrawal_vs_reset() {
    model(|| {
        // SAFETY: the closure joins every thread it gives the reference to.
        unsafe {
            with_static(Barrier::new(2), |barrier| {
                let wait = waiting(barrier.wait());
                let withdrawer = thread::spawn(move || drop(wait));
                let resetter = thread::spawn(move || barrier.reset());
                withdrawer.join().unwrap();
                resetter.join().unwrap();
                assert_eq!(barrier.n_waiting(), 0);
                let other = thread::spawn(move || block_on(barrier.wait()));
                let mine = block_on(barrier.wait()).expect("nobody aborts");
                let theirs = other.join().unwrap().expect("nobody aborts");
                assert_one_round(&[mine, theirs]);
            })
        };
    });
}

//! `sync::Semaphore`: permits, FIFO without overtaking, partial grants, cancel
//! safety, contention.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use async_patterns::sync::Semaphore;
/// Iterations of the threaded tests (fewer under miri, which is slow).
const ROUNDS: u64 = if cfg!(miri) { 20 } else { 500 };

use common::{drop_at_pending, now, pending};

#[test]
fn permits_come_and_go() {
    let s = Semaphore::new(3);
    let a = now(s.acquire());
    let b = s.try_acquire_many(2).unwrap();
    assert_eq!((a.permits(), b.permits()), (1, 2));
    assert_eq!(s.available_permits(), 0);
    assert!(s.try_acquire().is_none());
    drop(b);
    assert_eq!(s.available_permits(), 2);
    a.forget();
    assert_eq!(s.available_permits(), 2, "a forgotten permit stays out");
    s.add_permits(5);
    assert_eq!(s.available_permits(), 7);
    assert_eq!(now(s.acquire_many(0)).permits(), 0);
    assert_eq!(
        format!("{s:?}"),
        "Semaphore { available_permits: 7, waiters_queued: false }"
    );
}

#[test]
fn waiter_wakes_on_release() {
    let s = Semaphore::new(1);
    let g = s.try_acquire().unwrap();
    let mut w = pending(s.acquire());
    drop(g);
    assert_eq!(w.wakes(), 1);
    let g = w.assert_ready();
    assert_eq!(s.available_permits(), 0);
    drop(g);
    assert_eq!(s.available_permits(), 1);
}

#[test]
fn acquire_many_is_not_overtaken() {
    let s = Semaphore::new(5);
    let held = s.try_acquire_many(3).unwrap();
    // Needs 5, 2 are free: it takes them as a partial grant and queues.
    let mut many = pending(s.acquire_many(5));
    assert_eq!(s.available_permits(), 0);
    let mut one = pending(s.acquire());
    s.add_permits(1);
    assert!(
        s.try_acquire().is_none(),
        "try_acquire never takes a permit ahead of a queued waiter"
    );
    assert!(
        !one.is_woken(),
        "the later acquire() does not overtake acquire_many(5)"
    );
    drop(held); // 3 more: 2 complete `many`, 1 goes to `one`
    assert!(many.is_woken());
    assert!(one.is_woken());
    let many = many.assert_ready();
    assert_eq!(many.permits(), 5);
    let one = one.assert_ready();
    assert_eq!(s.available_permits(), 0);
    drop((many, one));
    assert_eq!(s.available_permits(), 6);
}

#[test]
fn fifo_order_of_waiters() {
    let s = Semaphore::new(0);
    let mut a = pending(s.acquire_many(2));
    let mut b = pending(s.acquire());
    let mut c = pending(s.acquire());
    s.add_permits(1);
    assert!(!a.is_woken() && !b.is_woken() && !c.is_woken());
    s.add_permits(2);
    assert!(a.is_woken() && b.is_woken() && !c.is_woken());
    let (ga, gb) = (a.assert_ready(), b.assert_ready());
    c.assert_pending();
    drop(gb);
    let gc = c.assert_ready();
    drop((ga, gc));
    assert_eq!(s.available_permits(), 3);
}

#[test]
fn many_waiters_released_at_once() {
    // More waiters than one wake batch holds.
    let s = Semaphore::new(0);
    let mut waiters: Vec<_> = (0..40).map(|_| pending(s.acquire())).collect();
    s.add_permits(40);
    for w in &mut waiters {
        assert!(w.is_woken());
        w.assert_ready().forget();
    }
    assert_eq!(s.available_permits(), 0);
}

#[test]
fn queue_nodes_are_reused_only_when_free() {
    let s = Semaphore::new(0);
    for _ in 0..20 {
        // `a` is granted but has not run yet: its queue node is still in use, so the
        // next waiter must not be handed the same node.
        let mut a = pending(s.acquire());
        s.add_permits(1);
        let mut b = pending(s.acquire());
        assert!(a.is_woken() && !b.is_woken());
        s.add_permits(1);
        assert!(b.is_woken());
        let (ga, gb) = (a.assert_ready(), b.assert_ready());
        assert_eq!(s.available_permits(), 0);
        ga.forget();
        gb.forget();
    }
}

// ---- cancel safety -------------------------------------------------------

#[test]
fn dropped_acquire_many_gives_back_its_partial_grant() {
    let s = Semaphore::new(5);
    let held = s.try_acquire_many(3).unwrap();
    drop_at_pending(s.acquire_many(5)); // had 2 set aside
    assert_eq!(s.available_permits(), 2, "the partial grant came back");
    drop(held);
    assert_eq!(s.available_permits(), 5);
    assert!(s.try_acquire_many(5).is_some());
}

#[test]
fn dropped_acquire_many_passes_its_grant_to_the_next_waiter() {
    let s = Semaphore::new(2);
    let many = pending(s.acquire_many(3)); // takes 2, needs 1 more
    let mut one = pending(s.acquire());
    let mut two = pending(s.acquire());
    drop(many);
    assert!(
        one.is_woken() && two.is_woken(),
        "its 2 permits go to the queue"
    );
    let (g1, g2) = (one.assert_ready(), two.assert_ready());
    assert_eq!(s.available_permits(), 0);
    drop((g1, g2));
    assert_eq!(s.available_permits(), 2);
}

#[test]
fn dropped_after_grant_before_poll_gives_everything_back() {
    let s = Semaphore::new(0);
    let a = pending(s.acquire_many(2));
    let mut b = pending(s.acquire());
    s.add_permits(2); // completes `a`, which never runs again
    assert!(a.is_woken());
    drop(a);
    assert!(b.is_woken(), "the granted permits pass on");
    drop(b.assert_ready());
    assert_eq!(s.available_permits(), 2);
}

#[test]
fn dropped_acquire_arc_leaves_nothing_behind() {
    let s = Arc::new(Semaphore::new(1));
    let g = s.try_acquire_arc().unwrap();
    drop_at_pending(s.acquire_arc());
    drop_at_pending(s.acquire_many_arc(3));
    let mut w = pending(s.acquire_arc());
    drop(g);
    assert!(
        w.is_woken(),
        "the dropped waiters left the permit to the next one"
    );
    let g = w.assert_ready();
    assert!(Arc::ptr_eq(g.semaphore(), &s));
    drop(g);
    assert_eq!(s.available_permits(), 1);
    assert_eq!(Arc::strong_count(&s), 1);
}

#[test]
fn dropped_acquire_arc_gives_back_a_partial_or_full_grant() {
    let s = Arc::new(Semaphore::new(1));
    let g = s.try_acquire_arc().unwrap();
    // Partly granted: 1 of 3 permits when the guard goes, then dropped.
    let partial = pending(s.acquire_many_arc(3));
    let mut next = pending(s.acquire_arc());
    drop(g);
    assert!(!next.is_woken(), "the front waiter takes the permit first");
    drop(partial);
    assert!(next.is_woken(), "its partial grant passes on");
    let g = next.assert_ready();
    // Granted in full, then dropped before it ran: everything comes back.
    let full = pending(s.acquire_arc());
    drop(g);
    assert!(full.is_woken());
    drop(full);
    assert_eq!(s.available_permits(), 1);
    assert_eq!(Arc::strong_count(&s), 1);
}

#[test]
fn dropped_queued_waiter_does_not_block_the_rest() {
    let s = Semaphore::new(0);
    let a = pending(s.acquire());
    let mut b = pending(s.acquire());
    drop(a);
    s.add_permits(1);
    assert!(b.is_woken());
    drop(b.assert_ready());
    assert_eq!(s.available_permits(), 1);
    assert!(
        s.try_acquire().is_some(),
        "the queue is empty again, no barrier left"
    );
}

// ---- bad input -----------------------------------------------------------

#[test]
#[should_panic(expected = "exceeds Semaphore::MAX_PERMITS")]
fn add_permits_past_the_maximum_panics() {
    let s = Semaphore::new(Semaphore::MAX_PERMITS);
    s.add_permits(1);
}

#[test]
#[should_panic(expected = "could never be granted")]
fn acquire_many_past_the_maximum_panics() {
    let s = Semaphore::new(1);
    drop(s.acquire_many(Semaphore::MAX_PERMITS + 1));
}

#[test]
fn try_acquire_many_past_the_maximum_takes_nothing() {
    let s = Arc::new(Semaphore::new(3));
    for n in [
        Semaphore::MAX_PERMITS + 1,
        1 << (usize::BITS - 1),
        usize::MAX,
    ] {
        assert!(s.try_acquire_many(n).is_none(), "n = {n:#x}");
        assert!(s.try_acquire_many_arc(n).is_none(), "n = {n:#x}");
        assert_eq!(s.available_permits(), 3, "n = {n:#x}");
    }
    assert_eq!(s.try_acquire_many(3).map(|g| g.permits()), Some(3));
}

#[test]
fn exactly_the_maximum_is_allowed() {
    // The bounds are inclusive: MAX_PERMITS permits can be added up to, held and
    // given back, and taken in one try_acquire_many.
    let s = Semaphore::new(Semaphore::MAX_PERMITS - 2);
    s.add_permits(2);
    assert_eq!(s.available_permits(), Semaphore::MAX_PERMITS);
    let all = s.try_acquire_many(Semaphore::MAX_PERMITS).unwrap();
    assert_eq!(s.available_permits(), 0);
    drop(all);
    assert_eq!(s.available_permits(), Semaphore::MAX_PERMITS);
}

#[test]
fn add_permits_past_the_maximum_with_waiters_panics() {
    let s = Semaphore::new(0);
    let w = pending(s.acquire());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s.add_permits(Semaphore::MAX_PERMITS + 1);
    }));
    assert!(result.is_err());
    drop(w);
    s.add_permits(1);
    assert!(s.try_acquire().is_some(), "the semaphore is still usable");
}

// ---- property test: random operation sequences against a FIFO model --------

/// Where a waiter of the model stands.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Stage {
    /// Created, never polled: not in the queue, holds nothing.
    Unpolled,
    /// In the queue, `n - missing` permits set aside for it already.
    Queued { missing: usize },
    /// Granted in full and woken, not polled since.
    Granted,
}

/// The model: asyncio's Semaphore with `acquire_many` and no overtaking.
struct Model {
    /// Free permits (zero while anyone is queued).
    free: usize,
    /// Per waiter, in creation order: (permits asked for, stage, wakes expected).
    waiters: Vec<(usize, Stage, usize)>,
    /// Waiters in the queue, in arrival order (indices into `waiters`).
    queue: Vec<usize>,
}

impl Model {
    /// `k` permits come back: to the queue first, in order, the rest to `free`.
    fn release(&mut self, mut k: usize) {
        while k > 0 {
            let Some(&front) = self.queue.first() else {
                break;
            };
            let w = &mut self.waiters[front];
            let Stage::Queued { missing } = w.1 else {
                unreachable!("only queued waiters are in the queue")
            };
            let give = missing.min(k);
            k -= give;
            if give == missing {
                w.1 = Stage::Granted;
                w.2 += 1;
                self.queue.remove(0);
            } else {
                w.1 = Stage::Queued {
                    missing: missing - give,
                };
            }
        }
        self.free += k;
    }

    /// Permits set aside for queued waiters or granted and not yet taken.
    fn in_flight(&self) -> usize {
        self.waiters
            .iter()
            .map(|&(n, stage, _)| match stage {
                Stage::Unpolled => 0,
                Stage::Queued { missing } => n - missing,
                Stage::Granted => n,
            })
            .sum()
    }

    /// Takes the waiter at `i` out of the model, and out of the queue if it is
    /// there (the indices behind it shift).
    fn remove(&mut self, i: usize) -> (usize, Stage, usize) {
        self.queue.retain(|&q| q != i);
        for q in &mut self.queue {
            if *q > i {
                *q -= 1;
            }
        }
        self.waiters.remove(i)
    }

    /// The waiter at `i` is dropped: it leaves the model and gives back what was
    /// set aside for it.
    fn drop_waiter(&mut self, i: usize) {
        let (n, stage, _) = self.remove(i);
        match stage {
            Stage::Unpolled => {}
            Stage::Queued { missing } => self.release(n - missing),
            Stage::Granted => self.release(n),
        }
    }
}

#[test]
fn random_acquires_releases_and_drops_match_a_fifo_model() {
    // Random sequences of acquire_many(n) futures (first polled later), polls,
    // drops at every stage (never polled, queued with or without a partial grant,
    // granted but not yet polled), guard drops and forgets, try_acquire_many and
    // add_permits, checked after every step against the model of the documented
    // rules: permits go to the queued waiters strictly in order (partial grants
    // set aside for the first), nobody takes permits while anyone is queued, a
    // waiter is woken exactly once, when its last permit is set aside, and a
    // dropped waiter gives back everything set aside for it. The permits are
    // counted: free + set aside + held by guards = what was put in - forgotten.
    let mut rng = common::Rng(0x9e37_79b9_7f4a_7c15);
    let steps = if cfg!(miri) { 500 } else { 30_000 };
    let mut total = 4;
    let s = Semaphore::new(total);
    let mut m = Model {
        free: total,
        waiters: Vec::new(),
        queue: Vec::new(),
    };
    let mut tasks = Vec::new(); // the futures, parallel to `m.waiters`
    let mut guards = Vec::new();
    for step in 0..steps {
        match rng.below(12) {
            0..=2 if tasks.len() < 12 => {
                let n = [0, 1, 1, 1, 2, 3, 5][rng.below(7)];
                tasks.push(common::Task::new(s.acquire_many(n)));
                m.waiters.push((n, Stage::Unpolled, 0));
            }
            3..=5 if !tasks.is_empty() => {
                let i = rng.below(tasks.len());
                let (n, stage, _) = m.waiters[i];
                let expect_ready = match stage {
                    // Zero permits never wait.
                    Stage::Unpolled if n == 0 || (m.queue.is_empty() && m.free >= n) => {
                        m.free -= n;
                        true
                    }
                    Stage::Unpolled => {
                        // Queues; the first in the queue takes what is free.
                        let taken = if m.queue.is_empty() { m.free } else { 0 };
                        m.free -= taken;
                        m.waiters[i].1 = Stage::Queued { missing: n - taken };
                        m.queue.push(i);
                        false
                    }
                    Stage::Queued { .. } => false,
                    Stage::Granted => true,
                };
                match tasks[i].poll() {
                    Poll::Ready(guard) => {
                        assert!(expect_ready, "step {step}: waiter {i} ({stage:?}) got in");
                        assert_eq!(guard.permits(), n, "step {step}");
                        guards.push(guard);
                        tasks.remove(i);
                        m.remove(i);
                    }
                    Poll::Pending => {
                        assert!(!expect_ready, "step {step}: waiter {i} ({stage:?}) pending")
                    }
                }
            }
            6 if !tasks.is_empty() => {
                let i = rng.below(tasks.len());
                drop(tasks.remove(i));
                m.drop_waiter(i);
            }
            7 | 8 if !guards.is_empty() => {
                let g = guards.swap_remove(rng.below(guards.len()));
                let n = g.permits();
                if rng.below(8) == 0 {
                    g.forget();
                    total -= n;
                } else {
                    drop(g);
                    m.release(n);
                }
            }
            9 => {
                let n = rng.below(4);
                let fits = m.queue.is_empty() && m.free >= n;
                match s.try_acquire_many(n) {
                    Some(g) => {
                        assert!(fits, "step {step}: try_acquire_many({n}) overtook");
                        m.free -= n;
                        guards.push(g);
                    }
                    None => assert!(!fits, "step {step}: try_acquire_many({n}) refused"),
                }
            }
            10 if total < 8 => {
                let n = 1 + rng.below(2);
                s.add_permits(n);
                total += n;
                m.release(n);
            }
            _ => {}
        }
        assert_eq!(s.available_permits(), m.free, "step {step}: free permits");
        let held: usize = guards.iter().map(|g| g.permits()).sum();
        assert_eq!(
            m.free + m.in_flight() + held,
            total,
            "step {step}: permits counted"
        );
        for (i, (t, w)) in tasks.iter().zip(&m.waiters).enumerate() {
            assert_eq!(t.wakes(), w.2, "step {step}: waiter {i} in stage {:?}", w.1);
        }
    }
    // Everything comes back: with every guard dropped and enough permits for the
    // largest request, every waiter left gets through.
    drop(guards);
    s.add_permits(5);
    let mut left: Vec<_> = tasks.into_iter().zip(m.waiters).collect();
    for round in 0.. {
        assert!(round < 100, "waiters left hanging: {} of them", left.len());
        left.retain_mut(|(t, (n, _, _))| match t.poll() {
            Poll::Ready(g) => {
                assert_eq!(g.permits(), *n);
                false
            }
            Poll::Pending => true,
        });
        if left.is_empty() {
            break;
        }
    }
    assert_eq!(s.available_permits(), total + 5);
}

// ---- contention ----------------------------------------------------------

#[test]
#[cfg(not(miri))] // a multi-thread tokio runtime: covered natively, too slow for miri
fn never_more_holders_than_permits() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let s = Arc::new(Semaphore::new(3));
        let inside = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|t| {
                let (s, inside, peak) = (s.clone(), inside.clone(), peak.clone());
                tokio::spawn(async move {
                    for i in 0..200 {
                        let n = 1 + (t + i) % 2;
                        let g = s.acquire_many(n).await;
                        let now = inside.fetch_add(n, Ordering::SeqCst) + n;
                        assert!(now <= 3, "{now} permits held of 3");
                        peak.fetch_max(now, Ordering::SeqCst);
                        common::yield_now().await;
                        inside.fetch_sub(n, Ordering::SeqCst);
                        drop(g);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(s.available_permits(), 3);
        assert!(peak.load(Ordering::SeqCst) >= 2);
    });
}

#[test]
fn blocking_twins() {
    let s = Arc::new(Semaphore::new(2));
    let inside = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for i in 0..4 {
            let (s, inside) = (s.clone(), inside.clone());
            scope.spawn(move || {
                for _ in 0..ROUNDS {
                    let enter = || {
                        assert!(inside.fetch_add(1, Ordering::SeqCst) < 2);
                        inside.fetch_sub(1, Ordering::SeqCst);
                    };
                    match i % 4 {
                        0 => drop((s.acquire_blocking(), enter())),
                        1 => drop((s.acquire_many_blocking(1), enter())),
                        2 => drop((s.acquire_arc_blocking(), enter())),
                        _ => drop((s.acquire_many_arc_blocking(1), enter())),
                    }
                }
            });
        }
    });
    assert_eq!(s.available_permits(), 2);
}

#[test]
fn static_semaphore_and_size() {
    static S: Semaphore = Semaphore::new(1);
    drop(now(S.acquire()));
    assert_eq!(S.available_permits(), 1);
    assert!(std::mem::size_of::<Semaphore>() <= 16);
}

#[test]
fn acquire_futures_panic_when_polled_again() {
    // The permit is back by the second poll: a future that forgot it completed
    // would take it again instead.
    let s = Arc::new(Semaphore::new(1));
    common::assert_ready_then_panics_when_polled_again(s.acquire(), "polled after completion");
    common::assert_ready_then_panics_when_polled_again(
        s.acquire_arc(),
        "AcquireArc polled after completion",
    );
    assert_eq!(s.available_permits(), 1);
}

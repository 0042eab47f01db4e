//! `time`: the `ManualTimer` virtual clock (wake order, sharing, drops, saturation,
//! determinism), `Backoff` (exact sequences, caps, budgets, jitter bounds, seeds,
//! argument checks), `retry` (attempt counts, `when`, `notify`, sleeps on the timer,
//! cancel safety), `Debouncer` and the `debounce` stream adapter, and
//! `future::timeout`. Everything runs on the virtual clock, except one short smoke
//! test per real timer.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use async_patterns::future::{Elapsed, timeout};
use async_patterns::time::{Backoff, Debouncer, Jitter, ManualTimer, Timer, debounce, retry};
use common::{
    Drops, StreamTask, Task, counting_waker, drop_at_pending, now, pending, within_a_minute,
};
use futures_core::Stream;
use futures_core::stream::FusedStream;

const NS: Duration = Duration::from_nanos(1);
const ZERO: Duration = Duration::ZERO;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ---- helpers ---------------------------------------------------------------

/// A waker that writes its label into a shared log when woken.
struct Recorder<L> {
    label: L,
    log: Arc<Mutex<Vec<L>>>,
}

impl<L: Copy + Send + Sync + 'static> Wake for Recorder<L> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.log.lock().unwrap().push(self.label);
    }
}

fn recorder<L: Copy + Send + Sync + 'static>(label: L, log: &Arc<Mutex<Vec<L>>>) -> Waker {
    Waker::from(Arc::new(Recorder {
        label,
        log: Arc::clone(log),
    }))
}

/// Polls an `Unpin` future once with `waker`.
fn poll_with<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// The input of a stream test: items pushed by hand, and an end.
struct Feed<T>(Rc<RefCell<FeedState<T>>>);

struct FeedState<T> {
    items: VecDeque<T>,
    ended: bool,
    waker: Option<Waker>,
}

/// The test's side of a [`Feed`].
struct FeedInput<T>(Rc<RefCell<FeedState<T>>>);

fn feed<T>() -> (Feed<T>, FeedInput<T>) {
    let state = Rc::new(RefCell::new(FeedState {
        items: VecDeque::new(),
        ended: false,
        waker: None,
    }));
    (Feed(Rc::clone(&state)), FeedInput(state))
}

impl<T> FeedInput<T> {
    fn push(&self, item: T) {
        let waker = {
            let mut state = self.0.borrow_mut();
            state.items.push_back(item);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn end(&self) {
        let waker = {
            let mut state = self.0.borrow_mut();
            state.ended = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Stream for Feed<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.0.borrow_mut();
        if let Some(item) = state.items.pop_front() {
            Poll::Ready(Some(item))
        } else if state.ended {
            Poll::Ready(None)
        } else {
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

// ---- ManualTimer -----------------------------------------------------------

#[test]
fn manual_timer_now_advance_and_pending() {
    let timer = ManualTimer::new();
    assert_eq!(timer.now(), ZERO);
    assert_eq!(timer.pending(), 0);

    let mut sleep = Task::new(timer.sleep(ms(100)));
    assert_eq!(sleep.future().deadline(), ms(100));
    assert_eq!(timer.pending(), 0, "a sleep counts once it is polled");
    sleep.assert_pending();
    assert_eq!(timer.pending(), 1);

    timer.advance(ms(99));
    assert_eq!(timer.now(), ms(99));
    assert_eq!(sleep.wakes(), 0, "not due yet");
    assert_eq!(timer.pending(), 1);
    sleep.assert_pending();

    timer.advance(ms(1));
    assert_eq!(timer.now(), ms(100));
    assert_eq!(sleep.wakes(), 1, "due: woken once");
    assert_eq!(timer.pending(), 0, "a due sleep is no longer pending");
    sleep.assert_ready();
    sleep.assert_ready(); // stays ready

    // A later sleep counts from the new time.
    let mut later = Task::new(timer.sleep(ms(50)));
    assert_eq!(later.future().deadline(), ms(150));
    later.assert_pending();
    timer.advance(ms(49));
    later.assert_pending();
    timer.advance(ms(1));
    later.assert_ready();
    assert_eq!(timer.now(), ms(150));
}

#[test]
fn manual_timer_sleep_ready_if_deadline_passed_before_first_poll() {
    let timer = ManualTimer::new();
    let sleep = timer.sleep(ms(10));
    timer.advance(ms(20));
    now(sleep);
    assert_eq!(timer.pending(), 0);
}

/// Sleeps created and polled in a tangled order; returns the order of the wake-ups.
fn wake_order_scenario() -> Vec<&'static str> {
    let timer = ManualTimer::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    // Created at 0 in this order; first polled in the order c, a2, b, a1 (the
    // latest deadline first, so neither creation nor registration order is the
    // deadline order).
    let mut c = timer.sleep(ms(3));
    let mut a1 = timer.sleep(ms(1));
    let mut b = timer.sleep(ms(2));
    let mut a2 = timer.sleep(ms(1));
    let mut d = timer.sleep(ms(5));
    for (sleep, label) in [
        (&mut c, "c"),
        (&mut a2, "a2"),
        (&mut b, "b"),
        (&mut a1, "a1"),
    ] {
        assert!(poll_with(sleep, &recorder(label, &log)).is_pending());
    }
    // `b` moves to another waker: only the new one is woken.
    assert!(poll_with(&mut b, &recorder("b-moved", &log)).is_pending());
    assert_eq!(timer.pending(), 4);

    timer.advance(ms(1));
    assert_eq!(
        *log.lock().unwrap(),
        ["a2", "a1"],
        "only the due sleeps, equal deadlines in first-poll order"
    );
    assert_eq!(timer.pending(), 2);
    // Finish a2, then a1: their places are free for the next registrations.
    assert!(poll_with(&mut a2, Waker::noop()).is_ready());
    assert!(poll_with(&mut a1, Waker::noop()).is_ready());

    // At 1 ms: `e` (deadline 5 ms, like `d`, which was created earlier) is
    // polled before `d`, so it is woken first.
    let mut e = timer.sleep(ms(4));
    assert_eq!(e.deadline(), d.deadline());
    assert!(poll_with(&mut e, &recorder("e", &log)).is_pending());
    assert!(poll_with(&mut d, &recorder("d", &log)).is_pending());
    assert_eq!(timer.pending(), 4);

    timer.advance(ms(10));
    assert_eq!(timer.pending(), 0);
    for sleep in [&mut a1, &mut a2, &mut b, &mut c, &mut d, &mut e] {
        assert!(poll_with(sleep, Waker::noop()).is_ready());
    }
    log.lock().unwrap().clone()
}

#[test]
fn manual_timer_wakes_in_deadline_order_then_first_poll_order() {
    assert_eq!(
        wake_order_scenario(),
        ["a2", "a1", "b-moved", "c", "e", "d"]
    );
}

#[test]
fn manual_timer_is_deterministic() {
    let first = wake_order_scenario();
    for _ in 0..20 {
        assert_eq!(wake_order_scenario(), first);
    }
}

#[test]
fn manual_timer_random_sleeps_polls_drops_and_advances_match_a_model() {
    // Random sleeps (on the timer or a clone of it), polls, drops and advances,
    // checked against the documented rules: a sleep is ready exactly when the
    // clock has reached its deadline (fixed when `sleep` is called); `advance`
    // wakes every registered sleep that becomes due, once, in deadline order and
    // then first-poll order; `pending` counts the polled sleeps not yet due; a
    // dropped sleep is never woken.
    let mut rng = common::Rng(0x2545_f491_4f6c_dd1d);
    let steps = 20_000;
    let timer = ManualTimer::new();
    let clone = timer.clone();
    let log = Arc::new(Mutex::new(Vec::new()));
    // (sleep, its number, deadline, first-poll order once polled, woken).
    let mut sleeps = Vec::new();
    let (mut next_number, mut next_poll) = (0, 0);
    let mut clock = ZERO;
    for step in 0..steps {
        match rng.below(8) {
            0 | 1 if sleeps.len() < 16 => {
                let d = ms([0, 1, 1, 2, 3, 5][rng.below(6)]);
                let on = if rng.below(2) == 0 { &timer } else { &clone };
                let sleep = on.sleep(d);
                assert_eq!(sleep.deadline(), clock + d, "step {step}");
                sleeps.push((sleep, next_number, clock + d, None, false));
                next_number += 1;
            }
            2..=4 if !sleeps.is_empty() => {
                let i = rng.below(sleeps.len());
                let (sleep, number, deadline, first_poll, _) = &mut sleeps[i];
                match poll_with(sleep, &recorder(*number, &log)) {
                    Poll::Ready(()) => {
                        assert!(
                            clock >= *deadline,
                            "step {step}: sleep {number} ended early"
                        );
                        drop(sleeps.remove(i));
                    }
                    Poll::Pending => {
                        assert!(clock < *deadline, "step {step}: sleep {number} is due");
                        first_poll.get_or_insert_with(|| {
                            next_poll += 1;
                            next_poll
                        });
                    }
                }
            }
            5 if !sleeps.is_empty() => drop(sleeps.remove(rng.below(sleeps.len()))),
            6 => {
                let by = ms(rng.below(4) as u64);
                clock += by;
                let mut due: Vec<_> = sleeps
                    .iter_mut()
                    .filter(|s| s.3.is_some() && !s.4 && s.2 <= clock)
                    .map(|s| {
                        s.4 = true;
                        (s.2, s.3, s.1)
                    })
                    .collect();
                due.sort_unstable();
                let expected: Vec<usize> = due.into_iter().map(|(_, _, number)| number).collect();
                if rng.below(2) == 0 { &timer } else { &clone }.advance(by);
                let woken = std::mem::take(&mut *log.lock().unwrap());
                assert_eq!(woken, expected, "step {step}: woken by advance({by:?})");
            }
            _ => {}
        }
        assert_eq!(timer.now(), clock, "step {step}");
        let not_due = sleeps
            .iter()
            .filter(|s| s.3.is_some() && s.2 > clock)
            .count();
        assert_eq!(timer.pending(), not_due, "step {step}: pending");
        assert!(
            log.lock().unwrap().is_empty(),
            "step {step}: a wake outside advance"
        );
    }
}

#[test]
fn manual_timer_zero_length_sleep_is_ready_at_once() {
    let timer = ManualTimer::new();
    now(timer.sleep(ZERO));
    assert_eq!(timer.pending(), 0);
    timer.advance(secs(5));
    let sleep = timer.sleep(ZERO);
    assert_eq!(sleep.deadline(), secs(5));
    now(sleep);
    assert_eq!(timer.pending(), 0);
}

#[test]
fn manual_timer_clones_share_the_clock() {
    let timer = ManualTimer::new();
    let other = timer.clone();
    let mut sleep = Task::new(timer.sleep(secs(1)));
    sleep.assert_pending();
    assert_eq!(other.pending(), 1, "the clone sees the sleep");
    other.advance(secs(1));
    assert_eq!(timer.now(), secs(1), "the clone moved the original");
    assert!(sleep.is_woken(), "the clone woke the original's sleep");
    sleep.assert_ready();
    // A sleep made on the clone is seen by the original, and counts from the
    // shared time.
    let mut sleep = Task::new(other.sleep(secs(1)));
    sleep.assert_pending();
    assert_eq!(sleep.future().deadline(), secs(2));
    assert_eq!(timer.pending(), 1);
    timer.advance(secs(1));
    sleep.assert_ready();
    // `Default` is a fresh, separate clock.
    let separate = ManualTimer::default();
    assert_eq!(separate.now(), ZERO);
    assert_eq!(timer.now(), secs(2));
}

#[test]
fn manual_timer_dropping_a_pending_sleep_removes_it() {
    let timer = ManualTimer::new();
    let (waker, wakes) = counting_waker();
    let mut sleep = timer.sleep(secs(1));
    assert!(poll_with(&mut sleep, &waker).is_pending());
    let mut kept = Task::new(timer.sleep(secs(2)));
    kept.assert_pending();
    assert_eq!(timer.pending(), 2);
    drop(sleep);
    assert_eq!(timer.pending(), 1, "the dropped sleep is gone");
    timer.advance(secs(5));
    assert_eq!(wakes.count(), 0, "a dropped sleep's waker is not woken");
    assert!(kept.is_woken());
    kept.assert_ready();
    assert_eq!(timer.pending(), 0);

    // Via the helper: drop at the pending point, the count goes back to zero.
    drop_at_pending(timer.sleep(secs(1)));
    assert_eq!(timer.pending(), 0);
    // A sleep that was woken but never polled again can be dropped too (that it
    // leaves no entry behind, which `pending` would not show, is checked in
    // tests/wait_memory.rs).
    let mut woken = Task::new(timer.sleep(secs(1)));
    woken.assert_pending();
    timer.advance(secs(1));
    drop(woken);
    // And the clock keeps working.
    let mut next = Task::new(timer.sleep(secs(1)));
    next.assert_pending();
    timer.advance(secs(1));
    next.assert_ready();
}

#[test]
fn manual_timer_never_moves_backwards_and_saturates() {
    let timer = ManualTimer::new();
    timer.advance(secs(3));
    let mut sleep = Task::new(timer.sleep(secs(1)));
    sleep.assert_pending();
    timer.advance(ZERO);
    assert_eq!(timer.now(), secs(3), "advance(ZERO) keeps the time");
    assert!(!sleep.is_woken());
    assert_eq!(timer.pending(), 1);

    // A sleep whose deadline would overflow saturates at Duration::MAX.
    let mut forever = Task::new(timer.sleep(Duration::MAX));
    assert_eq!(forever.future().deadline(), Duration::MAX);
    forever.assert_pending();

    timer.advance(Duration::MAX); // would overflow: saturates, no panic
    assert_eq!(timer.now(), Duration::MAX);
    assert!(sleep.is_woken());
    assert!(
        forever.is_woken(),
        "MAX is reached, so the MAX deadline is due"
    );
    sleep.assert_ready();
    forever.assert_ready();
    timer.advance(secs(1));
    assert_eq!(timer.now(), Duration::MAX, "still saturated");
    // A sleep made at the end of time is ready at once.
    now(timer.sleep(secs(1)));
    assert_eq!(timer.pending(), 0);
}

#[test]
fn manual_timer_debug_shows_the_clock() {
    let timer = ManualTimer::new();
    timer.advance(secs(2));
    let text = format!("{timer:?}");
    assert!(text.contains("2s"), "{text}");
    let sleep = timer.sleep(secs(1));
    assert!(format!("{sleep:?}").contains("3s"));
}

#[test]
fn manual_timer_wakes_a_sleep_blocked_on_another_thread() {
    within_a_minute(|| {
        let timer = ManualTimer::new();
        let sleeper = {
            let timer = timer.clone();
            std::thread::spawn(move || futures_lite::future::block_on(timer.sleep(secs(60))))
        };
        while timer.pending() == 0 {
            std::thread::yield_now();
        }
        timer.advance(secs(60));
        sleeper.join().unwrap();
        assert_eq!(timer.pending(), 0);
    });
}

// ---- Backoff: sequences ------------------------------------------------------

fn delays(backoff: Backoff) -> Vec<Duration> {
    backoff.collect()
}

fn all_ms(values: &[u64]) -> Vec<Duration> {
    values.iter().copied().map(ms).collect()
}

#[test]
fn backoff_exponential_doubles_by_default_and_caps() {
    // Default: factor 2, 3 retries.
    assert_eq!(
        delays(Backoff::exponential(ms(100))),
        all_ms(&[100, 200, 400])
    );
    assert_eq!(
        delays(
            Backoff::exponential(ms(100))
                .max_retries(7)
                .max_delay(ms(1000))
        ),
        all_ms(&[100, 200, 400, 800, 1000, 1000, 1000])
    );
    // The default cap is 60 s.
    assert_eq!(
        delays(Backoff::exponential(secs(10)).max_retries(5)),
        [secs(10), secs(20), secs(40), secs(60), secs(60)]
    );
}

#[test]
fn backoff_exponential_with_other_factors() {
    // 1.5: 1, 1.5, 2.25, 3.375 s (exact in binary), then the 4 s cap.
    assert_eq!(
        delays(
            Backoff::exponential(secs(1))
                .factor(1.5)
                .max_retries(6)
                .max_delay(secs(4))
        ),
        all_ms(&[1000, 1500, 2250, 3375, 4000, 4000])
    );
    assert_eq!(
        delays(Backoff::exponential(ms(10)).factor(3.0).max_retries(4)),
        all_ms(&[10, 30, 90, 270])
    );
    // 1.0 is allowed: a constant backoff.
    assert_eq!(
        delays(Backoff::exponential(ms(10)).factor(1.0).max_retries(4)),
        all_ms(&[10, 10, 10, 10])
    );
}

#[test]
fn backoff_exponential_never_shrinks_a_delay_past_f64_precision() {
    // 2^53 + 1 ns is not an f64: times 1.0 it rounds down to 2^53.
    let big = (1u64 << 53) + 1;
    let nanos = |all: Vec<Duration>| all.iter().map(Duration::as_nanos).collect::<Vec<_>>();
    let constant = Backoff::exponential(Duration::from_nanos(big))
        .factor(1.0)
        .max_delay(Duration::MAX)
        .max_retries(3);
    assert_eq!(nanos(delays(constant)), [u128::from(big); 3]);
    let growing = nanos(delays(
        Backoff::exponential(Duration::from_nanos(big))
            .factor(1.000_000_000_000_000_2)
            .max_delay(Duration::MAX)
            .max_retries(3),
    ));
    assert!(growing.windows(2).all(|w| w[0] < w[1]), "{growing:?}");
}

#[test]
fn backoff_exponential_grows_a_delay_of_a_few_nanoseconds() {
    // 1 ns * 1.5 truncates back to 1 ns: the delay grows by 1 ns then.
    let nanos = |all: Vec<Duration>| all.iter().map(Duration::as_nanos).collect::<Vec<_>>();
    assert_eq!(
        nanos(delays(
            Backoff::exponential(Duration::from_nanos(1))
                .factor(1.5)
                .max_retries(6)
        )),
        [1, 2, 3, 4, 6, 9]
    );
    // Zero stays zero, and 1.0 still keeps a tiny delay constant.
    assert_eq!(
        nanos(delays(Backoff::exponential(Duration::ZERO).max_retries(3))),
        [0, 0, 0]
    );
    assert_eq!(
        nanos(delays(
            Backoff::exponential(Duration::from_nanos(1))
                .factor(1.0)
                .max_retries(3)
        )),
        [1, 1, 1]
    );
}

#[test]
fn backoff_exponential_without_cap_does_not_overflow() {
    let all = delays(
        Backoff::exponential(secs(1))
            .max_delay(Duration::MAX)
            .max_retries(200),
    );
    assert_eq!(all.len(), 200);
    assert!(all.windows(2).all(|w| w[0] <= w[1]), "never shrinks");
    assert_eq!(all[10], secs(1024));
    // Delays saturate at u64::MAX nanoseconds (about 584 years).
    assert_eq!(*all.last().unwrap(), Duration::from_nanos(u64::MAX));
}

#[test]
fn backoff_constant() {
    assert_eq!(delays(Backoff::constant(ms(250))), all_ms(&[250, 250, 250]));
    assert_eq!(
        delays(Backoff::constant(ms(250)).max_retries(5)),
        all_ms(&[250; 5])
    );
    // The factor is ignored by the constant strategy.
    assert_eq!(
        delays(Backoff::constant(ms(250)).factor(3.0)),
        all_ms(&[250; 3])
    );
}

#[test]
fn backoff_fibonacci() {
    assert_eq!(delays(Backoff::fibonacci(ms(10))), all_ms(&[10, 10, 20]));
    assert_eq!(
        delays(Backoff::fibonacci(ms(10)).max_retries(9)),
        all_ms(&[10, 10, 20, 30, 50, 80, 130, 210, 340])
    );
    assert_eq!(
        delays(Backoff::fibonacci(ms(10)).max_retries(9).max_delay(ms(60))),
        all_ms(&[10, 10, 20, 30, 50, 60, 60, 60, 60])
    );
    // The factor is ignored by fibonacci.
    assert_eq!(
        delays(Backoff::fibonacci(ms(10)).factor(5.0).max_retries(4)),
        all_ms(&[10, 10, 20, 30])
    );
}

#[test]
fn backoff_fibonacci_without_cap_does_not_overflow() {
    let all = delays(
        Backoff::fibonacci(secs(1))
            .max_delay(Duration::MAX)
            .max_retries(300),
    );
    assert_eq!(all.len(), 300);
    assert!(all.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(*all.last().unwrap(), Duration::from_nanos(u64::MAX));
}

#[test]
fn backoff_max_retries_counts_the_delays() {
    for n in [0, 1, 2, 3, 10, 100] {
        assert_eq!(Backoff::exponential(ms(1)).max_retries(n).count(), n);
        assert_eq!(Backoff::constant(ms(1)).max_retries(n).count(), n);
        assert_eq!(Backoff::fibonacci(ms(1)).max_retries(n).count(), n);
    }
    let mut backoff = Backoff::constant(ms(1)).max_retries(1);
    assert_eq!(backoff.next(), Some(ms(1)));
    assert_eq!(backoff.next(), None);
    assert_eq!(backoff.next(), None, "stays ended");
}

#[test]
fn backoff_size_hint_is_the_retries_left() {
    let mut backoff = Backoff::exponential(ms(1)).max_retries(3);
    assert_eq!(backoff.size_hint(), (3, Some(3)), "the default: 3, exactly");
    backoff.next();
    assert_eq!(backoff.size_hint(), (2, Some(2)));
    // With a total budget, the retries left are at most that many.
    let mut budgeted = Backoff::constant(ms(10))
        .max_retries(5)
        .max_total_delay(ms(25));
    assert_eq!(budgeted.size_hint(), (0, Some(5)));
    assert_eq!(budgeted.by_ref().count(), 2, "the budget ran out first");
    assert_eq!(budgeted.size_hint(), (0, Some(0)), "ended: nothing left");
    assert_eq!(budgeted.next(), None);
}

#[test]
fn backoff_builder_after_next_keeps_the_sequence_going() {
    // A builder changes the settings, not where the sequence stands: also when
    // the `Backoff` held only its defaults until the first `next`.
    let mut backoff = Backoff::exponential(ms(100));
    assert_eq!(backoff.next(), Some(ms(100)));
    assert_eq!(backoff.next(), Some(ms(200)));
    assert_eq!(
        delays(backoff.max_retries(5).max_delay(ms(500))),
        all_ms(&[400, 500, 500])
    );
    let mut clone_source = Backoff::fibonacci(ms(1)).max_retries(6);
    clone_source.next();
    clone_source.next();
    assert_eq!(delays(clone_source.clone()), all_ms(&[2, 3, 5, 8]));
    assert_eq!(delays(clone_source), all_ms(&[2, 3, 5, 8]));
}

#[test]
fn backoff_seed_between_delays_restarts_the_draws() {
    // Two backoffs that drew from different (unseeded) generators give the same
    // delays once seeded alike.
    let seeded_after_one = || {
        let mut backoff = Backoff::exponential(ms(100))
            .max_retries(6)
            .jitter(Jitter::Full);
        backoff.next();
        delays(backoff.seed(5))
    };
    let first = seeded_after_one();
    assert_eq!(first.len(), 5);
    assert_eq!(first, seeded_after_one());
    // And the same as a backoff seeded from the start, one delay on.
    let mut from_start = Backoff::exponential(ms(100))
        .max_retries(6)
        .jitter(Jitter::None);
    from_start.next();
    assert_eq!(first, delays(from_start.jitter(Jitter::Full).seed(5)));
}

#[test]
fn backoff_jitter_changed_between_delays_goes_on_from_where_the_sequence_stands() {
    // Decorrelated, then none: the strategy's own sequence went on underneath.
    for (name, backoff, rest) in [
        (
            "fibonacci",
            Backoff::fibonacci(ms(10)).max_retries(6),
            [30, 50, 80],
        ),
        (
            "exponential",
            Backoff::exponential(ms(10)).max_retries(6),
            [80, 160, 320],
        ),
    ] {
        let mut backoff = backoff.jitter(Jitter::Decorrelated).seed(3);
        for _ in 0..3 {
            backoff.next();
        }
        assert_eq!(
            delays(backoff.jitter(Jitter::None)),
            all_ms(&rest),
            "{name}"
        );
    }
    // None, then decorrelated: draws up to three times the last delay handed out.
    let mut highest = Duration::ZERO;
    for seed in 0..2000 {
        let mut backoff = Backoff::exponential(ms(100)).max_retries(3);
        assert_eq!(backoff.next(), Some(ms(100)));
        assert_eq!(backoff.next(), Some(ms(200)));
        let delay = backoff
            .jitter(Jitter::Decorrelated)
            .seed(seed)
            .next()
            .expect("a third delay");
        assert!(
            delay >= ms(100) && delay <= ms(600),
            "seed {seed}: {delay:?}"
        );
        highest = highest.max(delay);
    }
    assert!(
        highest > ms(550),
        "draws reach past 3 x 100 ms: {highest:?}"
    );
}

#[test]
fn backoff_debug_shows_the_settings_in_effect() {
    let defaults = format!("{:?}", Backoff::constant(ms(5)));
    for part in [
        "kind: Constant",
        "initial: 5ms",
        "factor: 2.0",
        "max_delay: 60s",
        "max_retries: 3",
        "max_total_delay: None",
        "jitter: None",
        "retries: 0",
    ] {
        assert!(defaults.contains(part), "{part:?} missing in {defaults}");
    }
    let mut custom = Backoff::fibonacci(ms(5))
        .max_retries(7)
        .max_total_delay(secs(1))
        .jitter(Jitter::Full)
        .seed(9);
    custom.next();
    let custom = format!("{custom:?}");
    for part in [
        "kind: Fibonacci",
        "max_retries: 7",
        "max_total_delay: Some(1s)",
        "jitter: Full",
        "seeded: true",
        "retries: 1",
    ] {
        assert!(custom.contains(part), "{part:?} missing in {custom}");
    }
}

#[test]
fn backoff_initial_above_max_delay_is_clamped() {
    assert_eq!(
        delays(Backoff::exponential(secs(120))),
        [secs(60), secs(60), secs(60)]
    );
    assert_eq!(
        delays(Backoff::constant(secs(10)).max_delay(secs(5))),
        [secs(5); 3]
    );
    assert_eq!(
        delays(Backoff::fibonacci(secs(10)).max_delay(secs(5))),
        [secs(5); 3]
    );
}

#[test]
fn backoff_zero_delays_are_fine() {
    assert_eq!(delays(Backoff::constant(ZERO).max_delay(ZERO)), [ZERO; 3]);
    assert_eq!(
        delays(Backoff::exponential(ZERO).max_delay(ZERO).max_retries(5)),
        [ZERO; 5]
    );
    assert_eq!(
        delays(
            Backoff::fibonacci(ZERO)
                .max_delay(ZERO)
                .jitter(Jitter::Decorrelated)
        ),
        [ZERO; 3]
    );
}

// ---- Backoff: budget -----------------------------------------------------------

#[test]
fn backoff_max_total_delay_stops_before_the_budget_is_exceeded() {
    // 1 + 1 + 1 = 3 <= 3.5; a fourth would make 4.
    assert_eq!(
        delays(
            Backoff::constant(secs(1))
                .max_retries(10)
                .max_total_delay(ms(3500))
        ),
        [secs(1); 3]
    );
    // Reaching the budget exactly is allowed.
    assert_eq!(
        delays(
            Backoff::constant(secs(1))
                .max_retries(10)
                .max_total_delay(secs(3))
        ),
        [secs(1); 3]
    );
    // 1 + 2 + 4 = 7; 8 more would make 15 > 10.
    let mut backoff = Backoff::exponential(secs(1))
        .max_retries(10)
        .max_total_delay(secs(10));
    assert_eq!(
        backoff.by_ref().take(5).collect::<Vec<_>>(),
        [secs(1), secs(2), secs(4)]
    );
    assert_eq!(backoff.next(), None, "ended for good");
    // A budget smaller than the first delay: no retry at all.
    assert_eq!(
        Backoff::fibonacci(secs(1)).max_total_delay(ms(999)).count(),
        0
    );
    // max_retries still applies under a large budget.
    assert_eq!(
        Backoff::constant(secs(1))
            .max_total_delay(secs(1000))
            .count(),
        3
    );
}

#[test]
fn backoff_budget_holds_with_jitter_and_ends_for_good() {
    for seed in 0..500 {
        let mut backoff = Backoff::exponential(ms(100))
            .max_retries(1000)
            .max_total_delay(secs(2))
            .jitter(Jitter::Full)
            .seed(seed);
        let total: Duration = backoff.by_ref().sum();
        assert!(total <= secs(2), "seed {seed}: {total:?}");
        for _ in 0..10 {
            assert_eq!(backoff.next(), None, "seed {seed}: ended for good");
        }
        let mut reopened = backoff.max_retries(2000).max_total_delay(secs(100));
        assert_eq!(reopened.next(), None, "seed {seed}: no builder reopens it");
    }
}

#[test]
fn backoff_debug_counts_the_delays_handed_out_when_the_budget_ends_it() {
    let mut backoff = Backoff::constant(ms(100))
        .max_retries(10)
        .max_total_delay(ms(250));
    assert_eq!(delays(backoff.clone()), all_ms(&[100, 100]));
    backoff.by_ref().for_each(drop);
    let debug = format!("{backoff:?}");
    assert!(debug.contains("retries: 2"), "{debug}");
}

// ---- Backoff: jitter -------------------------------------------------------------

const JITTERS: [Jitter; 4] = [
    Jitter::None,
    Jitter::Full,
    Jitter::Equal,
    Jitter::Decorrelated,
];

/// Every strategy with a cap of 500 ms that the un-jittered sequence reaches.
fn strategies(jitter: Jitter, seed: u64, retries: usize) -> Vec<(&'static str, Backoff)> {
    let cap = ms(500);
    vec![
        ("exponential", Backoff::exponential(ms(3))),
        ("constant", Backoff::constant(ms(700))), // clamped to the cap
        ("fibonacci", Backoff::fibonacci(ms(3))),
    ]
    .into_iter()
    .map(|(name, b)| {
        (
            name,
            b.max_delay(cap)
                .max_retries(retries)
                .jitter(jitter)
                .seed(seed),
        )
    })
    .collect()
}

#[test]
fn backoff_cap_holds_for_every_strategy_and_jitter() {
    const DRAWS: usize = 10_000;
    for jitter in JITTERS {
        for seed in [1, 2, 0xDEAD_BEEF] {
            for (name, backoff) in strategies(jitter, seed, DRAWS) {
                let all = delays(backoff);
                assert_eq!(all.len(), DRAWS, "{name} {jitter:?}");
                let max = *all.iter().max().unwrap();
                assert!(
                    max <= ms(500),
                    "{name} {jitter:?} seed {seed}: {max:?} above the cap"
                );
                if matches!(jitter, Jitter::None | Jitter::Decorrelated) {
                    assert_eq!(
                        max,
                        ms(500),
                        "{name} {jitter:?}: the cap is reached (the test bites)"
                    );
                }
            }
        }
    }
}

#[test]
fn backoff_full_jitter_stays_within_zero_and_the_delay() {
    for (name, backoff) in strategies(Jitter::Full, 7, 10_000) {
        let plain = delays(backoff.clone().jitter(Jitter::None));
        let jittered = delays(backoff);
        assert_eq!(plain.len(), jittered.len());
        for (d, j) in plain.iter().zip(&jittered) {
            assert!(*j <= *d, "{name}: {j:?} above {d:?}");
        }
        // Spread over the whole range, not stuck at either end.
        let capped: Vec<_> = plain
            .iter()
            .zip(&jittered)
            .filter(|(d, _)| **d == ms(500))
            .map(|(_, j)| *j)
            .collect();
        assert!(capped.len() > 1000, "{name}");
        assert!(capped.iter().any(|j| *j < ms(100)), "{name}: no low draw");
        assert!(capped.iter().any(|j| *j > ms(400)), "{name}: no high draw");
    }
}

#[test]
fn backoff_equal_jitter_stays_within_half_and_the_delay() {
    for (name, backoff) in strategies(Jitter::Equal, 11, 10_000) {
        let plain = delays(backoff.clone().jitter(Jitter::None));
        let jittered = delays(backoff);
        for (d, j) in plain.iter().zip(&jittered) {
            assert!(
                *d / 2 <= *j && *j <= *d,
                "{name}: {j:?} outside [{:?}, {d:?}]",
                *d / 2
            );
        }
        assert!(
            plain.iter().zip(&jittered).any(|(d, j)| j < d),
            "{name}: the jitter does something"
        );
    }
}

#[test]
fn backoff_decorrelated_jitter_stays_between_initial_and_three_times_previous() {
    let backoff = Backoff::exponential(ms(10))
        .max_delay(secs(1))
        .max_retries(10_000)
        .jitter(Jitter::Decorrelated)
        .seed(3);
    let all = delays(backoff);
    let mut previous = ms(10);
    for j in &all {
        assert!(*j >= ms(10), "{j:?} below the initial delay");
        assert!(
            *j <= (previous * 3).max(ms(10)).min(secs(1)),
            "{j:?} after {previous:?}"
        );
        previous = *j;
    }
    // It is random: many different values.
    let mut distinct = all.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() > 1000);
}

#[test]
fn backoff_same_seed_same_delays_different_seeds_differ() {
    for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
        for (name, _) in strategies(jitter, 0, 0) {
            if name == "constant" && jitter == Jitter::Decorrelated {
                // Clamped to the cap, decorrelated jitter's range is [cap, cap].
                continue;
            }
            let pick = |seed| {
                strategies(jitter, seed, 50)
                    .into_iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, b)| delays(b))
                    .unwrap()
            };
            assert_eq!(pick(42), pick(42), "{name} {jitter:?}: same seed");
            assert_ne!(pick(42), pick(43), "{name} {jitter:?}: different seeds");
        }
    }
    // The seed also survives a clone taken midway.
    let mut backoff = Backoff::exponential(ms(10))
        .max_retries(20)
        .jitter(Jitter::Full)
        .seed(9);
    backoff.next();
    let copy = backoff.clone();
    assert_eq!(delays(backoff), delays(copy));
}

/// A draw is uniform over the whole of `0..=d`, both ends included: with
/// `d` = 1 ns, full jitter gives 0 and 1 ns about equally often, and with `d` =
/// 10 ns each of the 11 values comes out about 1/11 of the time. Equal jitter
/// over 2 ns gives 1 and 2 ns.
#[test]
fn backoff_jitter_draws_cover_both_ends_of_the_range_evenly() {
    const DRAWS: usize = 11_000;
    let counts = |backoff: Backoff| {
        let mut counts = [0usize; 11];
        for d in delays(backoff.max_retries(DRAWS).seed(5)) {
            counts[usize::try_from(d.as_nanos()).unwrap()] += 1;
        }
        counts
    };
    let one = counts(Backoff::constant(NS).jitter(Jitter::Full));
    assert_eq!(one[0] + one[1], DRAWS, "{one:?}");
    assert!((4_950..=6_050).contains(&one[1]), "0 or 1 ns: {one:?}");

    let ten = counts(Backoff::constant(NS * 10).jitter(Jitter::Full));
    for (nanos, n) in ten.iter().enumerate() {
        assert!(
            (800..=1_200).contains(n),
            "{nanos} ns came out {n} times: {ten:?}"
        );
    }

    let equal = counts(Backoff::constant(NS * 2).jitter(Jitter::Equal));
    assert_eq!(equal[1] + equal[2], DRAWS, "{equal:?}");
    assert!((4_950..=6_050).contains(&equal[2]), "1 or 2 ns: {equal:?}");
}

/// The delays of a seeded `Backoff` are fixed, in nanoseconds: the same on every
/// run and platform, so that a user's test that records them keeps passing. A
/// change to the generator (its constants, its shifts) shows up here first.
#[test]
fn backoff_seeded_jitter_gives_these_delays() {
    let seeded = |jitter| {
        delays(
            Backoff::exponential(ms(1))
                .max_retries(6)
                .jitter(jitter)
                .seed(42),
        )
        .into_iter()
        .map(|d| u64::try_from(d.as_nanos()).unwrap())
        .collect::<Vec<_>>()
    };
    // Un-jittered: 1, 2, 4, 8, 16 and 32 ms.
    assert_eq!(
        seeded(Jitter::Full),
        [
            343_292, 773_948, 3_021_556, 6_367_552, 9_914_336, 17_833_153
        ]
    );
    assert_eq!(
        seeded(Jitter::Equal),
        [
            671_646, 1_386_974, 3_510_778, 7_183_776, 12_957_168, 24_916_576
        ]
    );
    assert_eq!(
        seeded(Jitter::Decorrelated),
        [
            1_686_584, 2_571_019, 6_070_969, 14_700_511, 27_707_692, 46_766_042
        ]
    );
}

#[test]
fn backoff_unseeded_backoffs_draw_their_own_seeds() {
    let a = delays(
        Backoff::exponential(ms(100))
            .max_retries(20)
            .jitter(Jitter::Full),
    );
    let b = delays(
        Backoff::exponential(ms(100))
            .max_retries(20)
            .jitter(Jitter::Full),
    );
    assert_ne!(a, b);
}

/// Clients restarted together must not retry in lockstep: the first unseeded
/// `Backoff` of two processes draws different delays (under `std`, which has
/// entropy to draw on). Runs this test binary twice as a child that prints them.
#[cfg(feature = "std")]
#[cfg_attr(miri, ignore = "spawns processes")]
#[test]
fn backoff_unseeded_jitter_differs_between_processes() {
    const CHILD: &str = "ASYNC_PATTERNS_TEST_PRINT_JITTER";
    if std::env::var_os(CHILD).is_some() {
        let all = delays(
            Backoff::exponential(ms(100))
                .max_retries(8)
                .jitter(Jitter::Full),
        );
        println!("JITTER {all:?}");
        return;
    }
    let run = || {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "backoff_unseeded_jitter_differs_between_processes",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        stdout
            .lines()
            .find_map(|line| line.find("JITTER").map(|at| &line[at..]))
            .unwrap_or_else(|| panic!("no output from the child: {stdout}"))
            .to_owned()
    };
    let first = run();
    assert_ne!(first, run(), "two processes drew the same jitter");
}

// ---- Backoff: argument checks ----------------------------------------------------

#[test]
#[should_panic(expected = "factor")]
fn backoff_factor_below_one_panics() {
    let _ = Backoff::exponential(ms(10)).factor(0.5);
}

#[test]
#[should_panic(expected = "factor")]
fn backoff_factor_nan_panics() {
    let _ = Backoff::exponential(ms(10)).factor(f64::NAN);
}

#[test]
#[should_panic(expected = "factor")]
fn backoff_factor_infinite_panics() {
    let _ = Backoff::exponential(ms(10)).factor(f64::INFINITY);
}

#[test]
#[should_panic(expected = "factor")]
fn backoff_factor_negative_panics() {
    let _ = Backoff::exponential(ms(10)).factor(-2.0);
}

#[test]
#[should_panic(expected = "max_delay")]
fn backoff_zero_max_delay_with_nonzero_initial_panics() {
    let _ = Backoff::exponential(ms(10)).max_delay(ZERO);
}

#[test]
fn backoff_zero_max_delay_panics_for_every_strategy() {
    for make in [Backoff::exponential, Backoff::constant, Backoff::fibonacci] {
        let panic = std::panic::catch_unwind(|| make(NS).max_delay(ZERO)).unwrap_err();
        let message = common::panic_message(&*panic);
        assert!(message.contains("max_delay"), "{message}");
    }
}

// ---- retry -----------------------------------------------------------------------

/// An operation that fails with the attempt number until attempt `succeed_on`,
/// which returns `Ok(attempt)`; counts its calls in `calls`.
fn flaky(
    calls: &Rc<Cell<u32>>,
    succeed_on: u32,
) -> impl FnMut() -> std::future::Ready<Result<u32, u32>> + use<> {
    let calls = Rc::clone(calls);
    move || {
        calls.set(calls.get() + 1);
        let n = calls.get();
        std::future::ready(if n >= succeed_on { Ok(n) } else { Err(n) })
    }
}

#[test]
fn retry_succeeds_on_the_third_try() {
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    let mut task = Task::new(retry(
        &timer, // a borrowed ManualTimer is a timer too
        Backoff::constant(secs(1)).max_retries(3),
        flaky(&calls, 3),
    ));
    task.assert_pending();
    assert_eq!(calls.get(), 1);
    assert_eq!(timer.pending(), 1, "sleeping on the timer");

    timer.advance(secs(1) - NS);
    assert_eq!(task.wakes(), 0);
    task.assert_pending();
    assert_eq!(calls.get(), 1, "no attempt before the delay is over");

    timer.advance(NS);
    assert_eq!(task.wakes(), 1);
    task.assert_pending();
    assert_eq!(calls.get(), 2);
    assert_eq!(timer.pending(), 1);

    timer.advance(secs(1));
    assert_eq!(task.assert_ready(), Ok(3));
    assert_eq!(calls.get(), 3);
    assert_eq!(timer.pending(), 0);
    assert_eq!(timer.now(), secs(2));
}

#[test]
fn retry_gives_up_with_the_last_error() {
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    let mut task = Task::new(retry(
        timer.clone(),
        Backoff::exponential(secs(1)).max_retries(2),
        flaky(&calls, u32::MAX),
    ));
    task.assert_pending();
    timer.advance(secs(1));
    task.assert_pending();
    // The second delay is 2 s.
    timer.advance(secs(2) - NS);
    task.assert_pending();
    assert_eq!(calls.get(), 2);
    timer.advance(NS);
    assert_eq!(task.assert_ready(), Err(3), "the last of errors 1, 2, 3");
    assert_eq!(calls.get(), 3, "1 attempt + 2 retries");
    assert_eq!(timer.pending(), 0);
}

#[test]
fn retry_with_no_retries_makes_one_call() {
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    let result = now(retry(
        timer.clone(),
        Backoff::constant(secs(1)).max_retries(0),
        flaky(&calls, u32::MAX),
    ));
    assert_eq!(result, Err(1));
    assert_eq!(calls.get(), 1);
    assert_eq!(timer.pending(), 0);
}

#[test]
fn retry_immediate_success_makes_one_call_and_no_sleep() {
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    let notified = Rc::new(Cell::new(0));
    let seen = Rc::clone(&notified);
    let result = now(
        retry(timer.clone(), Backoff::constant(secs(1)), flaky(&calls, 1))
            .notify(move |_: &u32, _| seen.set(seen.get() + 1)),
    );
    assert_eq!(result, Ok(1));
    assert_eq!(calls.get(), 1);
    assert_eq!(notified.get(), 0);
    assert_eq!(timer.pending(), 0);
    assert_eq!(timer.now(), ZERO);
}

#[test]
fn retry_with_zero_delays_runs_every_attempt_in_one_poll() {
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    let result = now(retry(
        timer.clone(),
        Backoff::constant(ZERO).max_retries(3),
        flaky(&calls, u32::MAX),
    ));
    assert_eq!(result, Err(4));
    assert_eq!(calls.get(), 4);
}

#[test]
fn retry_yields_to_the_executor_after_32_attempts_in_one_poll() {
    // Zero delays: every sleep is over at once. 100 retries: 101 attempts.
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    let mut task = Task::new(retry(
        timer.clone(),
        Backoff::constant(ZERO).max_retries(100),
        flaky(&calls, u32::MAX),
    ));
    for round in 1..=3 {
        task.assert_pending();
        assert_eq!(calls.get(), 32 * round, "round {round}");
        assert_eq!(task.wakes(), round as usize, "woken to go on");
    }
    assert_eq!(task.assert_ready(), Err(101));
    assert_eq!(calls.get(), 101);
    assert_eq!(timer.pending(), 0);
}

#[test]
fn retry_when_returns_a_non_matching_error_at_once() {
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    let mut task = Task::new(
        retry(
            timer.clone(),
            Backoff::constant(secs(1)).max_retries(5),
            flaky(&calls, u32::MAX),
        )
        .when(|e| *e > 1), // error 1 is fatal
    );
    assert_eq!(task.assert_ready(), Err(1));
    assert_eq!(calls.get(), 1);
    assert_eq!(timer.pending(), 0);

    // Transient errors are retried until a fatal one comes.
    let calls = Rc::new(Cell::new(0));
    let mut task = Task::new(
        retry(
            timer.clone(),
            Backoff::constant(secs(1)).max_retries(5),
            flaky(&calls, u32::MAX),
        )
        .when(|e: &u32| *e < 3), // 1 and 2 are transient, 3 is fatal
    );
    task.assert_pending();
    timer.advance(secs(1));
    task.assert_pending();
    timer.advance(secs(1));
    assert_eq!(task.assert_ready(), Err(3));
    assert_eq!(calls.get(), 3);
    assert_eq!(timer.pending(), 0);
}

#[test]
fn retry_notify_sees_each_retried_error_and_the_delay() {
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    let log = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&log);
    let mut task = Task::new(
        retry(
            timer.clone(),
            Backoff::exponential(secs(1)).max_retries(2),
            flaky(&calls, u32::MAX),
        )
        .notify(move |e: &u32, delay| seen.borrow_mut().push((*e, delay))),
    );
    task.assert_pending();
    assert_eq!(*log.borrow(), [(1, secs(1))], "notified before the sleep");
    timer.advance(secs(1));
    task.assert_pending();
    timer.advance(secs(2));
    assert_eq!(task.assert_ready(), Err(3));
    assert_eq!(
        *log.borrow(),
        [(1, secs(1)), (2, secs(2))],
        "the final error is not notified"
    );

    // Errors rejected by `when` are not notified either.
    let calls = Rc::new(Cell::new(0));
    let log = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&log);
    let result = now(retry(
        timer.clone(),
        Backoff::constant(secs(1)),
        flaky(&calls, u32::MAX),
    )
    .when(|_: &u32| false)
    .notify(move |e: &u32, delay| seen.borrow_mut().push((*e, delay))));
    assert_eq!(result, Err(1));
    assert!(log.borrow().is_empty());
}

#[test]
fn retry_sleeps_exactly_the_backoff_delays() {
    let backoff = Backoff::exponential(ms(100))
        .max_retries(6)
        .jitter(Jitter::Full)
        .seed(5);
    let expected = delays(backoff.clone());
    assert_eq!(expected.len(), 6);
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    let log = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&log);
    let mut task = Task::new(
        retry(timer.clone(), backoff, flaky(&calls, u32::MAX))
            .notify(move |_: &u32, delay| seen.borrow_mut().push(delay)),
    );
    task.assert_pending();
    assert!(expected.iter().all(|d| !d.is_zero()));
    for (i, delay) in expected.iter().enumerate() {
        timer.advance(*delay - NS);
        task.assert_pending();
        assert_eq!(calls.get(), i as u32 + 1, "no attempt before the delay");
        timer.advance(NS);
        if i + 1 < expected.len() {
            task.assert_pending();
        }
    }
    assert_eq!(task.assert_ready(), Err(7));
    assert_eq!(*log.borrow(), expected);
    assert_eq!(timer.now(), expected.iter().sum::<Duration>());
}

#[test]
fn retry_stops_at_the_total_delay_budget() {
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    let mut task = Task::new(retry(
        timer.clone(),
        Backoff::constant(secs(1))
            .max_retries(10)
            .max_total_delay(secs(2)),
        flaky(&calls, u32::MAX),
    ));
    task.assert_pending();
    timer.advance(secs(1));
    task.assert_pending();
    timer.advance(secs(1));
    assert_eq!(task.assert_ready(), Err(3));
    assert_eq!(calls.get(), 3);
}

#[test]
fn retry_dropped_while_sleeping_leaves_the_clock() {
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    drop_at_pending(retry(
        timer.clone(),
        Backoff::constant(secs(1)),
        flaky(&calls, u32::MAX),
    ));
    assert_eq!(calls.get(), 1);
    assert_eq!(timer.pending(), 0, "the sleep left the clock");
    timer.advance(secs(10));

    // A later retry on the same clock works.
    let calls = Rc::new(Cell::new(0));
    let mut task = Task::new(retry(
        timer.clone(),
        Backoff::constant(secs(1)),
        flaky(&calls, 2),
    ));
    task.assert_pending();
    timer.advance(secs(1));
    assert_eq!(task.assert_ready(), Ok(2));
}

/// Each way a `Retry` goes on: its first poll starts an attempt on a path of its
/// own, and every other poll (and an error of that attempt) goes through the
/// rest of the loop.
#[test]
fn retry_goes_on_from_every_state_it_is_polled_in() {
    // Zero delays, success at the third call: the retries run within the first poll.
    let calls = Rc::new(Cell::new(0));
    let mut task = Task::new(retry(
        ManualTimer::new(),
        Backoff::constant(ZERO),
        flaky(&calls, 3),
    ));
    assert_eq!(task.assert_ready(), Ok(3));
    assert_eq!(calls.get(), 3);

    // Success at the first attempt after a yield.
    let calls = Rc::new(Cell::new(0));
    let mut task = Task::new(retry(
        ManualTimer::new(),
        Backoff::constant(ZERO).max_retries(100),
        flaky(&calls, 33),
    ));
    task.assert_pending();
    assert_eq!(calls.get(), 32, "yielded after 32 attempts");
    assert_eq!(task.assert_ready(), Ok(33));
    assert_eq!(calls.get(), 33);

    // A first attempt that is pending, then fails; the attempt after the sleep
    // succeeds. And a first attempt that is pending, then succeeds.
    for fail_first in [true, false] {
        let timer = ManualTimer::new();
        let calls = Rc::new(Cell::new(0));
        let open = Rc::new(Cell::new(false));
        let op = {
            let (calls, open) = (Rc::clone(&calls), Rc::clone(&open));
            move || {
                calls.set(calls.get() + 1);
                let (n, open) = (calls.get(), Rc::clone(&open));
                std::future::poll_fn(move |_| match (n, open.get()) {
                    (1, false) => Poll::Pending,
                    (1, true) if fail_first => Poll::Ready(Err(n)),
                    _ => Poll::Ready(Ok(n)),
                })
            }
        };
        let mut task = Task::new(retry(timer.clone(), Backoff::constant(secs(1)), op));
        task.assert_pending();
        task.assert_pending();
        assert_eq!(calls.get(), 1, "the first attempt is still running");
        open.set(true);
        if fail_first {
            task.assert_pending();
            assert_eq!(timer.pending(), 1, "sleeping after the error");
            timer.advance(secs(1));
            assert_eq!(task.wakes(), 1);
            assert_eq!(task.assert_ready(), Ok(2));
            assert_eq!(calls.get(), 2);
        } else {
            assert_eq!(task.assert_ready(), Ok(1));
            assert_eq!(calls.get(), 1);
            assert_eq!(timer.pending(), 0);
        }
    }
}

#[test]
fn retry_dropped_where_it_yielded_stops_after_32_attempts() {
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    drop_at_pending(retry(
        timer.clone(),
        Backoff::constant(ZERO).max_retries(100),
        flaky(&calls, u32::MAX),
    ));
    assert_eq!(calls.get(), 32, "it yielded after 32 attempts");
}

#[test]
fn retry_dropped_during_an_attempt_drops_the_attempt() {
    let timer = ManualTimer::new();
    let calls = Rc::new(Cell::new(0));
    let flags: Rc<RefCell<Vec<Drops>>> = Rc::default();
    let op = {
        let calls = Rc::clone(&calls);
        let flags = Rc::clone(&flags);
        move || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            let flag = Drops::new();
            let guard = flag.mark();
            flags.borrow_mut().push(flag);
            async move {
                let _guard = guard;
                if n == 1 {
                    Err(n) // the first attempt fails at once
                } else {
                    std::future::pending::<Result<u32, u32>>().await // the second hangs
                }
            }
        }
    };
    let mut task = pending(retry(timer.clone(), Backoff::constant(secs(1)), op));
    assert_eq!(calls.get(), 1);
    assert!(
        flags.borrow()[0].count() == 1,
        "a finished attempt is dropped"
    );
    timer.advance(secs(1));
    task.assert_pending();
    assert_eq!(calls.get(), 2);
    assert!(
        flags.borrow()[1].count() == 0,
        "the second attempt is in flight"
    );
    assert_eq!(timer.pending(), 0, "not sleeping");
    drop(task);
    assert!(
        flags.borrow()[1].count() == 1,
        "dropping the retry drops the attempt"
    );
}

#[test]
fn retry_on_tokio_sleep_smoke() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let start = std::time::Instant::now();
    let result = rt.block_on(retry(
        |d: Duration| tokio::time::sleep(d),
        Backoff::constant(ms(5)).max_retries(3),
        move || {
            let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                tokio::task::yield_now().await;
                if n < 3 { Err(n) } else { Ok(n) }
            }
        },
    ));
    assert_eq!(result, Ok(3));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(start.elapsed() >= ms(10), "two real 5 ms sleeps");
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_timer_smoke() {
    use async_patterns::time::TokioTimer;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let start = std::time::Instant::now();
        let out = timeout(&TokioTimer, ms(5), std::future::pending::<()>()).await;
        assert_eq!(out, Err(Elapsed));
        assert!(start.elapsed() >= ms(5));
        assert_eq!(timeout(&TokioTimer, secs(10), async { 1 }).await, Ok(1));
    });
}

#[cfg(feature = "async-io")]
#[test]
fn async_io_timer_smoke() {
    use async_patterns::time::AsyncIoTimer;
    futures_lite::future::block_on(async {
        let start = std::time::Instant::now();
        let out = timeout(&AsyncIoTimer, ms(5), std::future::pending::<()>()).await;
        assert_eq!(out, Err(Elapsed));
        assert!(start.elapsed() >= ms(5));
        assert_eq!(timeout(&AsyncIoTimer, secs(10), async { 1 }).await, Ok(1));
    });
}

// ---- Debouncer ---------------------------------------------------------------------

#[test]
fn debouncer_runs_only_the_last_call_of_a_burst() {
    let timer = ManualTimer::new();
    let debouncer = Debouncer::new(timer.clone(), ms(300));
    let runs = Rc::new(Cell::new(0));
    let work = |label: &'static str| {
        let runs = Rc::clone(&runs);
        async move {
            runs.set(runs.get() + 1);
            label
        }
    };
    let mut a = Task::new(debouncer.call(work("a")));
    a.assert_pending();
    assert_eq!(timer.pending(), 1);
    let mut b = Task::new(debouncer.call(work("b")));
    assert!(a.is_woken(), "superseded: woken at once");
    assert_eq!(a.assert_ready(), None, "before any advance");
    assert_eq!(timer.pending(), 0, "a's sleep is gone");
    b.assert_pending();
    let mut c = Task::new(debouncer.call(work("c")));
    // `d` is superseded before its first poll.
    let mut d = Task::new(debouncer.call(work("d")));
    assert!(b.is_woken());
    assert_eq!(b.assert_ready(), None);
    assert_eq!(c.assert_ready(), None);
    d.assert_pending();
    assert_eq!(timer.now(), ZERO);
    assert_eq!(runs.get(), 0);

    timer.advance(ms(300));
    assert!(d.is_woken());
    assert_eq!(d.assert_ready(), Some("d"));
    assert_eq!(runs.get(), 1, "only the last call's work ran");
}

#[test]
fn debouncer_call_resolves_after_exactly_the_delay() {
    let timer = ManualTimer::new();
    let debouncer = Debouncer::new(timer.clone(), ms(300));
    let mut call = Task::new(debouncer.call(async { 42 }));
    call.assert_pending();
    timer.advance(ms(300) - NS);
    assert_eq!(call.wakes(), 0);
    call.assert_pending();
    timer.advance(NS);
    assert_eq!(call.wakes(), 1);
    assert_eq!(call.assert_ready(), Some(42));
    assert_eq!(timer.pending(), 0);

    // Calls after a finished one start afresh.
    let mut call = Task::new(debouncer.call(async { 43 }));
    call.assert_pending();
    timer.advance(ms(300));
    assert_eq!(call.assert_ready(), Some(43));
}

#[test]
fn debouncer_supersedes_a_running_call_and_drops_its_work() {
    let timer = ManualTimer::new();
    let debouncer = Debouncer::new(timer.clone(), ms(100));
    let started = Rc::new(Cell::new(false));
    let flag = Drops::new();
    let guard = flag.mark();
    let running = Rc::clone(&started);
    let mut a = Task::new(debouncer.call(async move {
        let _guard = guard;
        running.set(true);
        std::future::pending::<&str>().await
    }));
    a.assert_pending();
    timer.advance(ms(100));
    a.assert_pending();
    assert!(started.get(), "the work is running");
    assert!(flag.count() == 0);

    let mut b = Task::new(debouncer.call(async { "b" }));
    assert!(a.is_woken(), "the running call is woken when superseded");
    assert_eq!(a.assert_ready(), None);
    assert!(flag.count() == 1, "its work was dropped (cancelled)");
    b.assert_pending();
    timer.advance(ms(100));
    assert_eq!(b.assert_ready(), Some("b"));
}

#[test]
fn debouncer_cancel_supersedes_without_starting_a_call() {
    let timer = ManualTimer::new();
    let debouncer = Debouncer::new(timer.clone(), ms(100));
    let runs = Rc::new(Cell::new(0));
    let work = || {
        let runs = Rc::clone(&runs);
        async move { runs.set(runs.get() + 1) }
    };
    let mut a = Task::new(debouncer.call(work()));
    let mut b = Task::new(debouncer.call(work()));
    b.assert_pending();
    debouncer.cancel();
    assert!(b.is_woken());
    assert_eq!(a.assert_ready(), None);
    assert_eq!(b.assert_ready(), None);
    assert_eq!(timer.pending(), 0);
    timer.advance(secs(1));
    assert_eq!(runs.get(), 0, "nothing ran");

    // cancel() with nothing pending is harmless, and later calls work.
    debouncer.cancel();
    let mut c = Task::new(debouncer.call(work()));
    c.assert_pending();
    timer.advance(ms(100));
    assert_eq!(c.assert_ready(), Some(()));
    assert_eq!(runs.get(), 1);
}

#[test]
fn debouncer_dropped_call_supersedes_nothing_and_leaves_no_sleep() {
    let timer = ManualTimer::new();
    let debouncer = Debouncer::new(timer.clone(), ms(100));
    let flag = Drops::new();
    let guard = flag.mark();
    drop_at_pending(debouncer.call(async move {
        let _guard = guard;
    }));
    assert!(flag.count() == 1, "dropping the call drops its work");
    assert_eq!(timer.pending(), 0, "and its sleep");

    // An older call superseded and a newer one dropped: the older one stays
    // superseded, the dropped one does not un-supersede it.
    let mut older = Task::new(debouncer.call(async { "older" }));
    older.assert_pending();
    drop(debouncer.call(async { "newer" }));
    assert_eq!(older.assert_ready(), None);

    // Dropping an older (superseded) call does not disturb the newest.
    let stale = debouncer.call(async { "stale" });
    let mut newest = Task::new(debouncer.call(async { "newest" }));
    newest.assert_pending();
    drop(stale);
    timer.advance(ms(100));
    assert_eq!(newest.assert_ready(), Some("newest"));
    assert_eq!(timer.pending(), 0);
}

#[test]
fn debouncer_dropped_newest_call_lets_go_of_its_waker() {
    let timer = ManualTimer::new();
    let debouncer = Debouncer::new(timer.clone(), ms(100));
    let (waker, counter) = counting_waker();
    let mut call = Box::pin(debouncer.call(async { "dropped" }));
    assert!(
        call.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    drop(waker);
    assert_eq!(
        Arc::strong_count(&counter),
        3,
        "the debouncer and the sleep hold the waker"
    );
    drop(call);
    assert_eq!(Arc::strong_count(&counter), 1, "released with the call");
    // A later call supersedes nobody: no stray wake-up.
    let mut next = Task::new(debouncer.call(async { "next" }));
    assert_eq!(counter.count(), 0);
    next.assert_pending();
    timer.advance(ms(100));
    assert_eq!(next.assert_ready(), Some("next"));
}

/// A debounced call of the random test: its work sleeps `work` on `timer`, then
/// returns `id`.
fn debounced<'a>(
    debouncer: &'a Debouncer<ManualTimer>,
    timer: &ManualTimer,
    work: Duration,
    id: usize,
) -> impl Future<Output = Option<usize>> + 'a {
    let timer = timer.clone();
    debouncer.call(async move {
        timer.sleep(work).await;
        id
    })
}

/// Where a call of the random debouncer test stands, in the model.
#[derive(Clone, Copy, Debug, PartialEq)]
enum CallModel {
    Unpolled,
    /// Waiting for the delay, which ends at this time.
    Delayed(Duration),
    /// Its work runs, and ends at this time.
    Working(Duration),
}

#[test]
fn debouncer_random_calls_polls_drops_cancels_and_advances_match_a_model() {
    // Random calls (with work that takes 0-2 ms of the clock), polls, drops,
    // cancels and advances, checked against the documented rules: a call that is
    // no longer the newest (a later `call` or a `cancel`) resolves to `None`; the
    // newest waits `delay` from its first poll, then runs its work and resolves to
    // `Some` with its output. And no wake-up is lost: after every step, each call
    // that a poll would now complete was woken since its last pending poll.
    let mut rng = common::Rng(0x9e37_79b9_7f4a_7c15);
    let delay = ms(3);
    let timer = ManualTimer::new();
    let debouncer = Debouncer::new(timer.clone(), delay);
    let mut newest = 0; // the model: the id of the newest call (0: cancelled)
    // (call, id, work, model, wakes at its last poll (None: not yet polled)).
    let mut calls = Vec::new();
    let mut next_id = 1;
    for step in 0..20_000 {
        let now = timer.now();
        match rng.below(16) {
            0 if calls.len() < 8 => {
                let work = ms(rng.below(3) as u64);
                calls.push((
                    Task::new(debounced(&debouncer, &timer, work, next_id)),
                    next_id,
                    work,
                    CallModel::Unpolled,
                    None,
                ));
                newest = next_id;
                next_id += 1;
            }
            1..=6 if !calls.is_empty() => {
                let i = rng.below(calls.len());
                let (task, id, work, model, wakes) = &mut calls[i];
                // What the poll does, in the model.
                let mut next = *model;
                if *id == newest {
                    if next == CallModel::Unpolled {
                        next = CallModel::Delayed(now + delay);
                    }
                    if let CallModel::Delayed(end) = next {
                        if now >= end {
                            next = CallModel::Working(now + *work);
                        }
                    }
                }
                let expected = match next {
                    _ if *id != newest => Poll::Ready(None),
                    CallModel::Working(end) if now >= end => Poll::Ready(Some(*id)),
                    _ => Poll::Pending,
                };
                assert_eq!(task.poll(), expected, "step {step}: call {id} in {model:?}");
                if expected.is_ready() {
                    calls.remove(i);
                } else {
                    (*model, *wakes) = (next, Some(task.wakes()));
                }
            }
            7 if !calls.is_empty() => drop(calls.remove(rng.below(calls.len()))),
            8 if rng.below(4) == 0 => {
                debouncer.cancel();
                newest = 0;
            }
            _ => timer.advance(ms(rng.below(3) as u64)),
        }
        let now = timer.now();
        for (task, id, _, model, wakes) in &calls {
            let Some(wakes) = *wakes else { continue };
            let ready = *id != newest
                || matches!(*model, CallModel::Delayed(end) | CallModel::Working(end) if now >= end);
            if ready {
                assert!(
                    task.wakes() > wakes,
                    "step {step}: call {id} in {model:?} would complete but was not woken"
                );
            }
        }
    }
}

#[test]
fn debouncer_under_an_executor() {
    within_a_minute(|| {
        // Three calls joined in one task: only the last runs.
        let timer = ManualTimer::new();
        let debouncer = Debouncer::new(timer.clone(), ms(50));
        let calls = async {
            let a = debouncer.call(async { 1 });
            let b = debouncer.call(async { 2 });
            let c = debouncer.call(async { 3 });
            let (ab, c) = futures_lite::future::zip(futures_lite::future::zip(a, b), c).await;
            (ab.0, ab.1, c)
        };
        let clock = async {
            while timer.pending() == 0 {
                common::yield_now().await;
            }
            timer.advance(ms(50));
        };
        let (out, ()) = futures_lite::future::block_on(futures_lite::future::zip(calls, clock));
        assert_eq!(out, (None, None, Some(3)));
    });
}

// ---- debounce (stream) -------------------------------------------------------------

#[test]
fn debounce_emits_the_last_item_of_each_burst() {
    let timer = ManualTimer::new();
    let (input, items) = feed();
    let mut out = StreamTask::new(debounce(input, timer.clone(), ms(100)));
    out.assert_pending();

    items.push(1);
    items.push(2);
    items.push(3);
    out.assert_pending();
    assert_eq!(timer.pending(), 1);
    timer.advance(ms(99));
    out.assert_pending();
    items.push(4); // at 99 ms: the wait restarts
    out.assert_pending();
    timer.advance(ms(99)); // 198 ms: 3 would be due, 4 is not
    out.assert_pending();
    let before = out.wakes();
    timer.advance(ms(1)); // 199 ms
    assert!(out.wakes() > before, "the timer wakes the stream");
    assert_eq!(out.assert_next(), Some(4));
    out.assert_pending();
    assert_eq!(timer.pending(), 0);

    // Second burst.
    items.push(5);
    items.push(6);
    out.assert_pending();
    timer.advance(ms(100));
    assert_eq!(out.assert_next(), Some(6));
    out.assert_pending();
}

/// An item whose quiet time is over goes out before newer input is read: it did
/// wait `delay` with nothing newer, whatever arrived since the deadline.
#[test]
fn debounce_emits_a_due_item_before_reading_newer_input() {
    let timer = ManualTimer::new();
    let (input, items) = feed();
    let mut out = StreamTask::new(debounce(input, timer.clone(), ms(100)));
    items.push(1);
    out.assert_pending();
    timer.advance(ms(100)); // 1 is due...
    items.push(2); // ...and 2 arrives before the stream is polled
    assert_eq!(out.assert_next(), Some(1));
    out.assert_pending();
    timer.advance(ms(100));
    assert_eq!(out.assert_next(), Some(2));
}

#[test]
fn debounce_emits_an_item_whose_quiet_time_ran_out_while_the_next_was_read() {
    // The clock passes item 1's deadline while the stream reads item 2 (as when
    // another thread moves it, or the read is slow): 1 still goes out, and 2
    // waits for a quiet time of its own.
    let timer = ManualTimer::new();
    let (input, items) = feed();
    let clock = timer.clone();
    let input = futures::StreamExt::inspect(input, move |&item| {
        if item == 2 {
            clock.advance(ms(100));
        }
    });
    let mut out = StreamTask::new(debounce(input, timer.clone(), ms(100)));
    items.push(1);
    out.assert_pending();
    items.push(2);
    assert_eq!(out.assert_next(), Some(1), "its quiet time was over");
    out.assert_pending();
    timer.advance(ms(99));
    out.assert_pending();
    timer.advance(ms(1));
    assert_eq!(out.assert_next(), Some(2));
}

/// An input that is always ready does not keep one poll going for ever: the
/// stream yields (waking itself) and finishes over later polls.
#[test]
fn debounce_yields_to_the_executor_on_an_always_ready_input() {
    let timer = ManualTimer::new();
    let input = futures_lite::stream::iter(0..10_000);
    let mut out = StreamTask::new(debounce(input, timer.clone(), ms(100)));
    let before = out.wakes();
    out.assert_pending();
    assert!(out.wakes() > before, "it woke itself to come back");
    let mut polls = 1;
    let last = loop {
        polls += 1;
        match out.poll_next() {
            Poll::Ready(item) => break item,
            Poll::Pending => {}
        }
    };
    assert_eq!(
        last,
        Some(9_999),
        "the input ended: its last item is flushed"
    );
    assert!(
        polls > 100,
        "read in slices, not in one poll ({polls} polls)"
    );
}

#[test]
fn debounce_emits_an_item_followed_by_a_long_pause_once() {
    let timer = ManualTimer::new();
    let (input, items) = feed();
    let mut out = StreamTask::new(debounce(input, timer.clone(), ms(100)));
    items.push("x");
    out.assert_pending();
    timer.advance(ms(500));
    assert_eq!(out.assert_next(), Some("x"));
    out.assert_pending();
    timer.advance(ms(500));
    out.assert_pending(); // not emitted twice
    items.end();
    assert_eq!(out.assert_next(), None);
}

#[test]
fn debounce_flushes_the_last_item_when_the_input_ends() {
    let timer = ManualTimer::new();
    let (input, items) = feed();
    let mut out = StreamTask::new(debounce(input, timer.clone(), ms(100)));
    items.push(1);
    out.assert_pending();
    items.push(2);
    items.end();
    assert!(!out.stream().is_terminated());
    assert_eq!(out.assert_next(), Some(2), "flushed without waiting");
    assert!(out.stream().is_terminated());
    assert_eq!(timer.now(), ZERO);
    assert_eq!(out.assert_next(), None);
    assert_eq!(out.assert_next(), None);
    assert_eq!(timer.pending(), 0);
}

#[test]
fn debounce_of_an_empty_input_ends_at_once() {
    let timer = ManualTimer::new();
    let (input, items) = feed::<u8>();
    items.end();
    let mut out = StreamTask::new(debounce(input, timer.clone(), ms(100)));
    assert_eq!(out.assert_next(), None);
    assert_eq!(timer.pending(), 0);
}

#[test]
fn debounce_dropped_while_waiting_leaves_no_sleep() {
    let timer = ManualTimer::new();
    let (input, items) = feed();
    let mut out = StreamTask::new(debounce(input, timer.clone(), ms(100)));
    items.push(1);
    out.assert_pending();
    assert_eq!(timer.pending(), 1);
    drop(out);
    assert_eq!(timer.pending(), 0);
}

#[test]
fn debounce_next_dropped_while_waiting_loses_no_item() {
    // A `next()` dropped mid-wait (as in a `select` whose other branch won): the
    // stream keeps its pending item and its deadline.
    let timer = ManualTimer::new();
    let (input, items) = feed();
    let mut out = Box::pin(debounce(input, timer.clone(), ms(100)));
    items.push(1);
    drop_at_pending(async_patterns::stream::next(&mut out));
    timer.advance(ms(60));
    drop_at_pending(async_patterns::stream::next(&mut out));
    timer.advance(ms(40));
    assert_eq!(now(async_patterns::stream::next(&mut out)), Some(1));
    assert_eq!(timer.pending(), 0);
}

#[test]
fn debounce_of_a_generated_stream_under_an_executor() {
    within_a_minute(|| {
        use async_patterns::stream::{generate, next};
        let timer = ManualTimer::new();
        let clock = timer.clone();
        let keys = generate(move |mut out| async move {
            for key in ["r", "ru", "rus"] {
                out.emit(key).await;
            }
            clock.sleep(ms(500)).await;
            out.emit("rust").await;
            out.emit("rust!").await;
            clock.sleep(ms(500)).await;
        });
        let mut settled = std::pin::pin!(debounce(keys, timer.clone(), ms(300)));
        let mut got = Vec::new();
        let driver = async {
            while let Some(query) = next(&mut settled).await {
                got.push((query, timer.now()));
            }
        };
        let clock = async {
            for _ in 0..20 {
                common::yield_now().await;
                timer.advance(ms(100));
            }
        };
        futures_lite::future::block_on(futures_lite::future::zip(driver, clock));
        assert_eq!(got, [("rus", ms(300)), ("rust!", ms(800)),]);
    });
}

// ---- timeout ---------------------------------------------------------------------

#[test]
fn timeout_fires_and_drops_the_future() {
    let timer = ManualTimer::new();
    let flag = Drops::new();
    let guard = flag.mark();
    let mut task = Task::new(timeout(&timer, secs(5), async move {
        let _guard = guard;
        std::future::pending::<u8>().await
    }));
    task.assert_pending();
    assert_eq!(timer.pending(), 1);
    timer.advance(secs(5) - NS);
    assert_eq!(task.wakes(), 0);
    task.assert_pending();
    timer.advance(NS);
    assert!(task.is_woken());
    assert_eq!(task.assert_ready(), Err(Elapsed));
    drop(task);
    assert!(flag.count() == 1);
    assert_eq!(timer.pending(), 0);
}

#[test]
fn timeout_does_not_fire_when_the_future_finishes_first() {
    let timer = ManualTimer::new();
    assert_eq!(now(timeout(&timer, secs(5), async { 7 })), Ok(7));
    assert_eq!(timer.pending(), 0, "the sleep was never polled");

    // The inner future is a 1 s sleep on the same clock.
    let mut task = Task::new(timeout(&timer, secs(5), timer.sleep(secs(1))));
    task.assert_pending();
    assert_eq!(timer.pending(), 2);
    timer.advance(secs(1));
    assert_eq!(task.assert_ready(), Ok(()));
    assert_eq!(timer.pending(), 1, "the deadline's sleep is still held");
    drop(task);
    assert_eq!(
        timer.pending(),
        0,
        "the deadline's sleep left with the timeout"
    );
    timer.advance(secs(10)); // nothing left to fire
}

#[test]
fn timeout_counts_a_future_ready_at_the_deadline_as_finished() {
    let timer = ManualTimer::new();
    let mut task = Task::new(timeout(&timer, secs(5), timer.sleep(secs(5))));
    task.assert_pending();
    timer.advance(secs(5));
    assert_eq!(task.assert_ready(), Ok(()));

    // Zero duration: a ready future still wins, a pending one times out at once.
    assert_eq!(now(timeout(&timer, ZERO, async { 1 })), Ok(1));
    assert_eq!(
        now(timeout(&timer, ZERO, std::future::pending::<()>())),
        Err(Elapsed)
    );
}

#[test]
fn timeout_dropped_while_pending_leaves_nothing() {
    let timer = ManualTimer::new();
    let flag = Drops::new();
    let guard = flag.mark();
    drop_at_pending(timeout(&timer, secs(5), async move {
        let _guard = guard;
        std::future::pending::<()>().await
    }));
    assert!(flag.count() == 1);
    assert_eq!(timer.pending(), 0);
    // The clock still serves a later timeout.
    let mut task = Task::new(timeout(&timer, secs(1), std::future::pending::<()>()));
    task.assert_pending();
    timer.advance(secs(1));
    assert_eq!(task.assert_ready(), Err(Elapsed));
}

#[test]
fn elapsed_is_an_error_with_a_message() {
    let error: Box<dyn std::error::Error> = Box::new(Elapsed);
    assert_eq!(error.to_string(), "deadline elapsed");
}

#[test]
fn debounced_call_panics_when_polled_again_while_newest() {
    // Documented: a call that resolved to `Some` and is still the newest panics
    // when polled again; once a newer call came, it resolves to `None` instead.
    let timer = ManualTimer::new();
    let debouncer = Debouncer::new(timer.clone(), ms(10));
    let mut call = pending(debouncer.call(async { 1 }));
    timer.advance(ms(10));
    assert_eq!(call.assert_ready(), Some(1));
    common::assert_panics_when_polled_again(call, "DebouncedCall polled after completion");

    let mut call = pending(debouncer.call(async { 2 }));
    timer.advance(ms(10));
    assert_eq!(call.assert_ready(), Some(2));
    let newer = debouncer.call(async { 3 });
    assert_eq!(call.assert_ready(), None, "superseded since");
    drop(newer);
}

//! `Debouncer`: a newer `call` or a `cancel` vs a call waiting on another thread,
//! a dropped call vs a newer one, two calls made on two threads at once;
//! `ManualTimer`: `advance` vs a sleep's registration and vs a sleep's drop.
//!
//! The timer is a `ManualTimer`, so the model moves the clock itself. A call or a
//! sleep that is never woken leaves its `block_on` blocked: a loom deadlock. Steps
//! that would wake a waiter for another reason (an `advance` that passes the
//! superseded call's sleep too) are kept until that waiter has finished, so the
//! wake under test is the only one it can get.

use std::task::Poll;
use std::time::Duration;

use async_patterns::time::{Debouncer, ManualTimer, Timer};
use loom::future::block_on;
use loom::thread;

use crate::{Signal, model, poll_once, waiting, with_static};

const DELAY: Duration = Duration::from_millis(10);

// ---------------------------------------------------------------------------
// Debouncer
// ---------------------------------------------------------------------------

/// A call waits on one thread (its first poll, its waker registration and its
/// sleep happen there) while the main thread makes a newer call: the old call
/// resolves `None` whether it saw the newer generation at its first poll or was
/// woken by the supersede. Once it has, the main thread arms the newer call, the
/// clock is advanced on another thread while the newer call waits, and the newer
/// call resolves `Some`.
#[test]
fn debounce_newer_call_wakes_waiting_call() {
    model(|| {
        let timer = ManualTimer::new();
        let debouncer = Debouncer::new(timer.clone(), DELAY);
        // SAFETY: the closure joins the threads it gives the reference to.
        unsafe {
            with_static(debouncer, |debouncer| {
                let first = debouncer.call(async { 1u32 });
                let waiter = thread::spawn(move || block_on(first));
                let mut second = Box::pin(debouncer.call(async { 2u32 }));
                assert_eq!(waiter.join().unwrap(), None, "superseded call ran");
                // Arm the newer call's sleep (deadline: now + DELAY) before the
                // clock moves, so the advance below is enough for it.
                assert!(poll_once(second.as_mut()).is_pending());
                let clock = thread::spawn(move || timer.advance(DELAY));
                assert_eq!(block_on(second), Some(2));
                clock.join().unwrap();
            })
        };
    });
}

/// A call waits on another thread while `cancel` runs: the call resolves `None`
/// (woken, or superseded at its first poll), and a call made after the cancel
/// still runs once the clock passes its delay.
#[test]
fn debounce_cancel_wakes_waiting_call() {
    model(|| {
        let timer = ManualTimer::new();
        let debouncer = Debouncer::new(timer.clone(), DELAY);
        // SAFETY: the closure joins the thread it gives the reference to.
        unsafe {
            with_static(debouncer, |debouncer| {
                let first = debouncer.call(async { 1u32 });
                let waiter = thread::spawn(move || block_on(first));
                debouncer.cancel();
                assert_eq!(waiter.join().unwrap(), None, "cancelled call ran");
                let next = waiting(debouncer.call(async { 3u32 }));
                timer.advance(DELAY);
                assert_eq!(block_on(next), Some(3));
            })
        };
    });
}

/// A call already waiting (polled once in the set-up, so its sleep is armed) is
/// re-polled on one thread while the clock passes its delay on another and a
/// newer call supersedes it on the main thread: the old call resolves `Some` (its
/// work started before the newer call) or `None`, and never hangs; the newer call
/// still runs once the clock passes its own delay.
#[test]
fn debounce_advance_vs_supersede() {
    model(|| {
        let timer = ManualTimer::new();
        let debouncer = Debouncer::new(timer.clone(), DELAY);
        // SAFETY: the closure joins the threads it gives the reference to.
        unsafe {
            with_static(debouncer, |debouncer| {
                let first = waiting(debouncer.call(async { 1u32 }));
                let waiter = thread::spawn(move || block_on(first));
                let clock = {
                    let timer = timer.clone();
                    thread::spawn(move || timer.advance(DELAY))
                };
                let mut second = Box::pin(debouncer.call(async { 2u32 }));
                let outcome = waiter.join().unwrap();
                assert!(matches!(outcome, Some(1) | None), "{outcome:?}");
                clock.join().unwrap();
                // The old call's end left the newer one current: it still runs.
                assert!(poll_once(second.as_mut()).is_pending());
                timer.advance(DELAY);
                assert_eq!(block_on(second), Some(2));
            })
        };
    });
}

/// An older call, registered, is dropped on one thread (it lets go of the
/// debouncer's waker only if it is still the newest call) while a newer call waits
/// on another and `cancel` runs on the main thread: the drop never takes the newer
/// call's waker, so the cancel still wakes it and it resolves `None`.
#[test]
fn debounce_drop_vs_newer_call() {
    model(|| {
        let timer = ManualTimer::new();
        let debouncer = Debouncer::new(timer, DELAY);
        // SAFETY: the closure joins the threads it gives the reference to.
        unsafe {
            with_static(debouncer, |debouncer| {
                let first = waiting(debouncer.call(async { 1u32 }));
                let dropper = thread::spawn(move || drop(first));
                let second = debouncer.call(async { 2u32 });
                let waiter = thread::spawn(move || block_on(second));
                debouncer.cancel();
                assert_eq!(waiter.join().unwrap(), None, "cancelled call ran");
                dropper.join().unwrap();
            })
        };
    });
}

/// Two calls made on two threads at once, each polled once there (which arms its
/// sleep, or finds it superseded already) before the main thread moves the clock
/// past the delay: whichever call came second is the newest and runs, the other
/// resolves `None` (woken by the newer call, or superseded at its first poll), and
/// neither hangs.
#[test]
fn debounce_calls_from_two_threads() {
    model(|| {
        let timer = ManualTimer::new();
        let debouncer = Debouncer::new(timer.clone(), DELAY);
        // SAFETY: the closure joins the threads it gives the references to.
        unsafe {
            with_static(
                (debouncer, [Signal::new(), Signal::new()]),
                |(debouncer, armed)| {
                    let callers = [(1u32, &armed[0]), (2, &armed[1])].map(|(n, armed)| {
                        thread::spawn(move || {
                            let mut call = Box::pin(debouncer.call(async move { n }));
                            let first = poll_once(call.as_mut());
                            armed.set();
                            match first {
                                Poll::Ready(outcome) => outcome,
                                Poll::Pending => block_on(call),
                            }
                        })
                    });
                    armed.iter().for_each(Signal::wait);
                    timer.advance(DELAY);
                    let [a, b] = callers.map(|caller| caller.join().unwrap());
                    assert!(
                        matches!((a, b), (Some(1), None) | (None, Some(2))),
                        "one call, the newest, runs: {a:?} {b:?}"
                    );
                },
            )
        };
    });
}

// ---------------------------------------------------------------------------
// ManualTimer
// ---------------------------------------------------------------------------

/// A sleep is polled for the first time on one thread (it checks the clock and
/// registers under the clock's lock) while another advances the clock past its
/// deadline: the sleep either sees the new time at once or is registered in time
/// to be woken, and completes (a lost wake-up is a loom deadlock).
#[test]
fn advance_vs_sleep_registration() {
    model(|| {
        let timer = ManualTimer::new();
        let sleep = timer.sleep(DELAY);
        let sleeper = thread::spawn(move || block_on(sleep));
        timer.advance(DELAY);
        sleeper.join().unwrap();
        assert_eq!(timer.now(), DELAY);
    });
}

/// Two sleeps registered in the set-up; another thread re-polls the due one once
/// and drops it, and drops the one that is not due, while the clock passes the
/// first deadline: the re-poll finds it woken (and re-registers), ready (and
/// removes it), or still waiting; every removal happens once (a second one panics
/// in the slab), and the sleep that is not due left the clock (`pending()` counts
/// it otherwise; entries already due it does not count).
#[test]
fn advance_vs_sleep_drop() {
    model(|| {
        let timer = ManualTimer::new();
        let mut due = Box::pin(timer.sleep(DELAY));
        let mut later = Box::pin(timer.sleep(DELAY * 2));
        assert!(poll_once(due.as_mut()).is_pending());
        assert!(poll_once(later.as_mut()).is_pending());
        assert_eq!(timer.pending(), 2);
        let dropper = thread::spawn(move || {
            let _ = poll_once(due.as_mut());
            drop(due);
            drop(later);
        });
        timer.advance(DELAY);
        dropper.join().unwrap();
        assert_eq!(timer.pending(), 0, "the sleep not due is still registered");
    });
}

/// A sleep registered in the set-up completes under `block_on` on another thread
/// (woken by the advance on the main thread, or ready at its re-poll) and is then
/// dropped there: the sleep left the clock when it completed, so its drop removes
/// nothing twice (a second removal panics in the slab), and a zero-length sleep
/// afterwards is ready at once.
#[test]
fn advance_vs_sleep_completion_and_drop() {
    model(|| {
        let timer = ManualTimer::new();
        let mut sleep = waiting(timer.sleep(DELAY));
        let sleeper = thread::spawn(move || {
            block_on(sleep.as_mut());
            drop(sleep);
        });
        timer.advance(DELAY);
        sleeper.join().unwrap();
        let again = timer.sleep(Duration::ZERO);
        block_on(again);
    });
}

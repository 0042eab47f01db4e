//! Helpers shared by the integration tests: poll with a counting waker, and drive a
//! future to a pending point, drop it there, and let the test check that nothing
//! was lost.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts how often it was woken.
#[derive(Default)]
pub struct WakeCounter(AtomicUsize);

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future under test, pinned on the heap, polled by hand with its own counting
/// waker.
pub struct Task<F: Future> {
    future: Pin<Box<F>>,
    counter: Arc<WakeCounter>,
    waker: Waker,
}

impl<F: Future> Task<F> {
    pub fn new(future: F) -> Self {
        let counter = Arc::new(WakeCounter::default());
        let waker = Waker::from(Arc::clone(&counter));
        Self {
            future: Box::pin(future),
            counter,
            waker,
        }
    }

    /// Polls once.
    pub fn poll(&mut self) -> Poll<F::Output> {
        self.future
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker))
    }

    /// The future itself (for its `Debug` output, say).
    pub fn future(&self) -> &F {
        &self.future
    }

    /// How many times this task's waker was woken so far.
    pub fn wakes(&self) -> usize {
        self.counter.0.load(Ordering::SeqCst)
    }

    /// Whether the waker was woken at least once.
    pub fn is_woken(&self) -> bool {
        self.wakes() > 0
    }

    /// Polls once and expects `Pending`.
    #[track_caller]
    pub fn assert_pending(&mut self) {
        assert!(
            self.poll().is_pending(),
            "expected the future to be pending"
        );
    }

    /// Polls once and expects `Ready`, returning the output.
    #[track_caller]
    pub fn assert_ready(&mut self) -> F::Output {
        match self.poll() {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("expected the future to be ready"),
        }
    }
}

/// Polls `future` once, asserts that it is pending (it registered as a waiter),
/// and returns it still pending, so the test can go on and drop it at that point.
#[track_caller]
pub fn pending<F: Future>(future: F) -> Task<F> {
    let mut task = Task::new(future);
    task.assert_pending();
    task
}

/// Drives `future` to a pending point and drops it there. The caller then checks
/// that nothing was lost (a lock still free, permits all back, a wake-up passed on).
#[track_caller]
pub fn drop_at_pending<F: Future>(future: F) {
    drop(pending(future));
}

/// Polls a future that must be ready at once.
#[track_caller]
pub fn now<F: Future>(future: F) -> F::Output {
    Task::new(future).assert_ready()
}

/// A future that returns `Pending` once (waking itself), then `Ready`: a yield
/// point for tests that need the executor to run something else.
pub fn yield_now() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

/// A waker that counts its wake-ups, with the counter to read them: for tests that
/// poll one future with several wakers in turn.
pub fn counting_waker() -> (Waker, Arc<WakeCounter>) {
    let counter = Arc::new(WakeCounter::default());
    (Waker::from(Arc::clone(&counter)), counter)
}

impl WakeCounter {
    /// How many times the waker was woken so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Runs `f` on a new thread and returns its result, or fails the test if it takes
/// longer than a minute (a lost wake-up or a deadlock; the hung thread is left
/// behind and the process exits when the harness does).
#[track_caller]
pub fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(result) => {
            handle.join().expect("the thread panicked after reporting");
            result
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread ended without a result"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("no result after 60 s: a lost wake-up or a deadlock")
        }
    }
}

/// A small deterministic generator (xorshift) for the random scenarios.
pub struct Rng(pub u64);

impl Rng {
    /// The next value, below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

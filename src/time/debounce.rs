//! [`Debouncer`] and [`debounce`]: only the last of a burst runs.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use futures_core::Stream;
use futures_core::stream::FusedStream;
use pin_project_lite::pin_project;

use super::Timer;
use crate::sync::waiters::{store_waker, with_stale};
use crate::sync_facade::{Arc, BlockingMutex};

/// Runs only the last of a burst of calls: each [`call`](Self::call) waits
/// `delay`, and a newer call supersedes it, whether it is still waiting or its
/// work is already running (the work is then dropped, i.e. cancelled, as asyncio
/// debouncers do). Typical use: search-as-you-type, saving after edits settle.
///
/// A call resolves to `Some(output)` if its work ran to the end, `None` as soon as
/// a newer call (or [`cancel`](Self::cancel)) superseded it. Which call is newest is
/// decided when `call` is called, not by the order of the first polls; a call's
/// `delay` starts at its first poll (futures do nothing until polled).
///
/// ```
/// use async_patterns::time::{Debouncer, ManualTimer};
/// use std::time::Duration;
///
/// let timer = ManualTimer::new();
/// let search = Debouncer::new(timer.clone(), Duration::from_millis(300));
/// let waker = std::task::Waker::noop();
/// let mut cx = std::task::Context::from_waker(&waker);
///
/// let mut first = Box::pin(search.call(async { "results for 'ru'" }));
/// assert!(first.as_mut().poll(&mut cx).is_pending()); // waiting 300 ms
/// let mut second = Box::pin(search.call(async { "results for 'rust'" }));
/// assert_eq!(first.as_mut().poll(&mut cx), std::task::Poll::Ready(None)); // superseded
/// assert!(second.as_mut().poll(&mut cx).is_pending());
/// timer.advance(Duration::from_millis(300));
/// assert_eq!(second.as_mut().poll(&mut cx), std::task::Poll::Ready(Some("results for 'rust'")));
/// ```
pub struct Debouncer<Tm> {
    timer: Tm,
    delay: Duration,
    latest: Arc<BlockingMutex<Latest>>,
}

struct Latest {
    /// The generation of the newest call (counted up by `call` and `cancel`).
    generation: u64,
    /// The task of the newest call, woken when it is superseded.
    waker: Option<Waker>,
}

impl<Tm: Timer> Debouncer<Tm> {
    /// A debouncer whose calls wait `delay` on `timer` before their work starts.
    pub fn new(timer: Tm, delay: Duration) -> Self {
        Self {
            timer,
            delay,
            latest: Arc::new(BlockingMutex::new(Latest {
                generation: 0,
                waker: None,
            })),
        }
    }

    /// Supersedes every earlier call and returns a future that waits `delay`, then
    /// runs `work` unless a newer call came meanwhile.
    ///
    /// # Panics
    ///
    /// Polled again after it completed, the future resolves to `None` if it
    /// resolved to `None` (it was superseded), or if it resolved to `Some` and a
    /// newer call (or [`cancel`](Self::cancel)) came since. It panics if it
    /// resolved to `Some` and is still the newest call. See
    /// [Polling a finished future](crate#polling-a-finished-future).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops `work`; it does not supersede anything.
    pub fn call<F: Future>(&self, work: F) -> DebouncedCall<'_, Tm, F> {
        let generation = self.supersede();
        DebouncedCall {
            debouncer: self,
            generation,
            stage: Stage::Waiting {
                sleep: None,
                work: Some(work),
            },
        }
    }

    /// Supersedes every pending call without starting a new one: they resolve to
    /// `None`.
    pub fn cancel(&self) {
        self.supersede();
    }

    fn supersede(&self) -> u64 {
        let (generation, waker) = self.latest.with(|latest| {
            latest.generation += 1;
            (latest.generation, latest.waker.take())
        });
        if let Some(waker) = waker {
            waker.wake();
        }
        generation
    }

    /// Whether call `generation` is the newest.
    fn is_newest(&self, generation: u64) -> bool {
        self.latest.with(|latest| latest.generation == generation)
    }

    /// Drops the stored waker if call `generation` is still the newest.
    fn forget_waker(&self, generation: u64) {
        let waker = self.latest.with(|latest| {
            if latest.generation == generation {
                latest.waker.take()
            } else {
                None
            }
        });
        // Dropped outside the lock: a waker's drop may run arbitrary code.
        drop(waker);
    }
}

impl<Tm> fmt::Debug for Debouncer<Tm> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Debouncer")
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// Future of [`Debouncer::call`].
    #[must_use = "futures do nothing unless polled"]
    pub struct DebouncedCall<'a, Tm: Timer, F> {
        debouncer: &'a Debouncer<Tm>,
        generation: u64,
        #[pin]
        stage: Stage<Tm::Sleep, F>,
    }

    impl<'a, Tm: Timer, F> PinnedDrop for DebouncedCall<'a, Tm, F> {
        fn drop(this: Pin<&mut Self>) {
            // The newest call, dropped: no task is left to wake when it is
            // superseded, so its waker goes now (a superseded one has none).
            this.debouncer.forget_waker(this.generation);
        }
    }
}

pin_project! {
    #[project = StageProj]
    enum Stage<S, F> {
        Waiting { #[pin] sleep: Option<S>, work: Option<F> },
        Running { #[pin] work: F },
        Done,
    }
}

impl<Tm: Timer, F: Future> Future for DebouncedCall<'_, Tm, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        poll_call(self, cx)
    }
}

fn poll_call<Tm: Timer, F: Future>(
    call: Pin<&mut DebouncedCall<'_, Tm, F>>,
    cx: &mut Context<'_>,
) -> Poll<Option<F::Output>> {
    let mut this = call.project();
    let generation = *this.generation;
    let current = with_stale(&this.debouncer.latest, |latest, stale| {
        if latest.generation != generation {
            return false;
        }
        store_waker(&mut latest.waker, cx.waker(), stale);
        true
    });
    if !current {
        // Superseded: the work (waiting or running) is dropped now.
        this.stage.set(Stage::Done);
        return Poll::Ready(None);
    }
    loop {
        match this.stage.as_mut().project() {
            StageProj::Waiting { mut sleep, work } => {
                if sleep.as_mut().as_pin_mut().is_none() {
                    sleep.set(Some(this.debouncer.timer.sleep(this.debouncer.delay)));
                }
                let armed = sleep.as_pin_mut().expect("armed above");
                core::task::ready!(armed.poll(cx));
                // Asked again: a newer call made on another thread while this
                // poll ran (after the check above, before the delay was over)
                // supersedes this one before its work starts.
                if !this.debouncer.is_newest(generation) {
                    this.stage.set(Stage::Done);
                    return Poll::Ready(None);
                }
                let work = work.take().expect("work is kept until it starts");
                this.stage.set(Stage::Running { work });
            }
            StageProj::Running { work } => {
                let output = core::task::ready!(work.poll(cx));
                this.stage.set(Stage::Done);
                // Its waker is not needed any more: don't keep the task alive.
                this.debouncer.forget_waker(generation);
                return Poll::Ready(Some(output));
            }
            StageProj::Done => panic!("async-patterns: DebouncedCall polled after completion"),
        }
    }
}

impl<Tm: Timer, F> fmt::Debug for DebouncedCall<'_, Tm, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DebouncedCall")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A stream that emits an item of `stream` once `delay` passes with no newer item,
/// and flushes the last item when `stream` ends (`debounce` of reactive
/// libraries: a burst becomes its last item).
///
/// Input is read when the stream is polled, so "no newer item" means none was
/// read before the item's quiet time ran out: an item that is due when the
/// stream is polled, or when a newer one is read, goes out, even if the newer one
/// was already waiting in the input (a consumer that polls late splits a burst
/// in two, as it would if the newer item had come late).
///
/// # Cancel safety
///
/// A `next` on it that is dropped loses nothing: the item waiting for its quiet
/// time stays in the stream. Dropping the stream itself drops that item along
/// with the input stream.
///
/// ```
/// use async_patterns::stream::{generate, next};
/// use async_patterns::time::{ManualTimer, Timer, debounce};
/// use std::time::Duration;
///
/// # futures_lite::future::block_on(async {
/// let timer = ManualTimer::new();
/// let ms = Duration::from_millis;
/// // Keystrokes: a burst ("r", "ru", "rus"), a pause, then "rust" and the end.
/// let clock = timer.clone();
/// let keys = generate(move |mut out| async move {
///     for key in ["r", "ru", "rus"] {
///         out.emit(key).await;
///     }
///     clock.sleep(ms(500)).await;
///     out.emit("rust").await;
/// });
/// let mut settled = std::pin::pin!(debounce(keys, timer.clone(), ms(300)));
/// let mut searches = Vec::new();
/// let driver = async {
///     while let Some(query) = next(&mut settled).await {
///         searches.push(query);
///     }
/// };
/// let clock = async {
///     for _ in 0..10 {
///         async_patterns::future::yield_now().await;
///         timer.advance(ms(100));
///     }
/// };
/// futures_lite::future::zip(driver, clock).await;
/// assert_eq!(searches, ["rus", "rust"]); // one search per burst
/// # });
/// ```
pub fn debounce<S, Tm>(stream: S, timer: Tm, delay: Duration) -> Debounce<S, Tm>
where
    S: Stream,
    Tm: Timer,
{
    Debounce {
        stream,
        timer,
        delay,
        latest: None,
        ended: false,
        sleep: None,
    }
}

/// Input items [`Debounce`] reads in one poll before it yields to the executor.
const INPUT_BUDGET: usize = 64;

pin_project! {
    /// Stream of [`debounce`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Debounce<S: Stream, Tm: Timer> {
        #[pin]
        stream: S,
        timer: Tm,
        delay: Duration,
        latest: Option<S::Item>,
        ended: bool,
        #[pin]
        sleep: Option<Tm::Sleep>,
    }
}

impl<S: Stream, Tm: Timer> Stream for Debounce<S, Tm> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        // An item whose quiet time is already over goes out before newer input is
        // read: no newer item was read in time (the input carries no timestamps,
        // so one that waits there may have come before or after the deadline).
        if is_due(this.sleep.as_mut(), cx) {
            this.sleep.set(None);
            return Poll::Ready(this.latest.take());
        }
        let mut read = 0;
        while !*this.ended {
            if read == INPUT_BUDGET {
                // An input that is always ready must not keep this poll going for
                // ever: let the executor run others, and come back.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    read += 1;
                    // Asked again before the new item replaces the current one:
                    // the current one's quiet time may have run out while this
                    // poll ran (another thread moved the clock, or the read was
                    // slow). Then it goes out now, and the new item waits for a
                    // quiet time of its own.
                    let out = if is_due(this.sleep.as_mut(), cx) {
                        this.latest.take()
                    } else {
                        None
                    };
                    *this.latest = Some(item);
                    this.sleep.set(Some(this.timer.sleep(*this.delay)));
                    if out.is_some() {
                        return Poll::Ready(out);
                    }
                }
                Poll::Ready(None) => *this.ended = true,
                Poll::Pending => break,
            }
        }
        // Ended (flush the last item), or its quiet time is over.
        if *this.ended || is_due(this.sleep.as_mut(), cx) {
            this.sleep.set(None);
            return Poll::Ready(this.latest.take());
        }
        Poll::Pending
    }
}

/// Whether the current item's quiet time is over (its sleep, if any, is ready).
fn is_due<S: Future>(sleep: Pin<&mut Option<S>>, cx: &mut Context<'_>) -> bool {
    sleep
        .as_pin_mut()
        .is_some_and(|sleep| sleep.poll(cx).is_ready())
}

/// Ended once the input ended and its last item went out.
impl<S: Stream, Tm: Timer> FusedStream for Debounce<S, Tm> {
    fn is_terminated(&self) -> bool {
        self.ended && self.latest.is_none()
    }
}

impl<S: Stream, Tm: Timer> fmt::Debug for Debounce<S, Tm> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Debounce")
            .field("delay", &self.delay)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

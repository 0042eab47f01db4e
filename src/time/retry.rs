//! [`Backoff`] and [`retry`]: retry with backoff, jitter and budgets.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;

use super::Timer;
use crate::sync_facade::next_seed;

/// How the delay between attempts grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exponential,
    Constant,
    Fibonacci,
}

/// Randomness added to each delay, so that many clients retrying at once spread
/// out instead of hammering a server in lockstep (the modes of AWS's "Exponential
/// Backoff And Jitter"). Whatever the mode, no delay exceeds
/// [`Backoff::max_delay`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// The delays as the strategy computes them.
    #[default]
    None,
    /// A delay drawn uniformly from `0..=d`.
    Full,
    /// `d / 2` plus a delay drawn uniformly from `0..=d / 2`.
    Equal,
    /// A delay drawn uniformly between the initial delay and three times the
    /// previous delay (the strategy's own sequence is not used), then capped.
    Decorrelated,
}

/// The delays between attempts: an `Iterator<Item = Duration>` that ends when no
/// retry is left.
///
/// Strategies: [`exponential`](Self::exponential) (`initial`, `initial * factor`,
/// `initial * factor²`, ...), [`constant`](Self::constant) and
/// [`fibonacci`](Self::fibonacci) (`initial`, `initial`, `2 * initial`,
/// `3 * initial`, `5 * initial`, ...). Defaults: factor 2.0, `max_delay` 60 s,
/// `max_retries` 3, no total budget, no jitter.
///
/// The builders may also be called between delays: they change the settings
/// from there on, not where the sequence stands.
///
/// **Every delay is at most [`max_delay`](Self::max_delay)**, for every strategy
/// and jitter mode. An initial delay above `max_delay` is clamped to it. Delays are
/// counted in nanoseconds and saturate at `u64::MAX` of them (about 584 years),
/// also when `max_delay` is `Duration::MAX`.
///
/// # Panics
///
/// The builders reject contradictions when they are called: a `factor` below 1.0,
/// NaN or infinite; a zero `max_delay` with a non-zero initial delay. The messages
/// name the parameter.
///
/// ```
/// use async_patterns::time::Backoff;
/// use std::time::Duration;
///
/// let ms = Duration::from_millis;
/// let delays: Vec<_> = Backoff::exponential(ms(100)).max_retries(5).max_delay(ms(500)).collect();
/// assert_eq!(delays, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
/// ```
#[derive(Clone)]
pub struct Backoff {
    // Delays are kept in nanoseconds (a `u64` holds 584 years; longer durations
    // saturate there), which keeps the `Backoff`, and so every `retry` future, small.
    initial: u64,
    config: Config,
}

/// A [`Backoff`]'s strategy, settings and progress. While every setting is at its
/// default and no delay was handed out, only the strategy: building such a
/// `Backoff` (as a `retry` whose first attempt succeeds does) writes one byte
/// besides `initial`. Writing all nine values there made such a `retry` take 3.9
/// ns per call against 2.2 ns for the operation awaited directly; 2.3-3.8 ns this
/// way, a median of 1.14x the direct await over 60 runs (benches/README.md). A
/// builder or the first `next` turns it into `Full`.
#[derive(Clone)]
enum Config {
    Exponential,
    Constant,
    Fibonacci,
    Full(Full),
}

/// Everything a [`Backoff`] holds besides its initial delay.
#[derive(Clone, Copy)]
struct Full {
    kind: Kind,
    jitter: Jitter,
    max_delay: u64,
    /// The budget for the sum of the delays; `u64::MAX` for none.
    budget: u64,
    factor: f64,
    max_retries: usize,
    /// The jitter generator's first state, from [`seed`](Backoff::seed); 0 for
    /// none (a seed is then drawn at the first jittered delay).
    seed: u64,
    /// Delays handed out so far.
    retries: usize,
    /// Their sum.
    total: u64,
    /// Set when the budget ran out: no builder reopens the sequence then.
    ended: bool,
    /// The strategy's next delay before jitter (uncapped for Fibonacci's sake:
    /// capped when handed out). The strategy moves on with every delay handed
    /// out, whatever the jitter, so that a jitter changed mid-sequence goes on
    /// from where the sequence stands.
    next: u64,
    /// Fibonacci's following delay.
    after: u64,
    /// The previous delay handed out (the initial one at first), which
    /// decorrelated jitter draws from.
    prev: u64,
    /// The jitter generator's state; 0 until the first draw after a seed.
    rng: u64,
}

impl Full {
    /// The defaults (factor 2.0, `max_delay` 60 s, `max_retries` 3, no total
    /// budget, no jitter), at the start of the sequence.
    fn new(kind: Kind, initial: u64) -> Self {
        Self {
            kind,
            jitter: Jitter::None,
            max_delay: 60_000_000_000,
            budget: u64::MAX,
            factor: 2.0,
            max_retries: 3,
            seed: 0,
            retries: 0,
            total: 0,
            ended: false,
            next: initial,
            after: initial,
            prev: initial,
            rng: 0,
        }
    }

    /// The strategy's next delay, before jitter and cap, and the sequence moved on.
    fn step(&mut self) -> u64 {
        let delay = self.next;
        match self.kind {
            Kind::Constant => {}
            Kind::Exponential => {
                // Once at the cap it stays there (`as` saturates at `u64::MAX`). A
                // delay never shrinks (above 2^53 ns the `f64` product rounds, down
                // too), and a factor above 1.0 grows it by 1 ns at least, so that a
                // tiny delay does not stay put when the product truncates back to it.
                if delay < self.max_delay {
                    let grown = (delay as f64 * self.factor) as u64;
                    let least = if self.factor > 1.0 && delay > 0 {
                        delay + 1
                    } else {
                        delay
                    };
                    self.next = grown.max(least);
                }
            }
            Kind::Fibonacci => {
                let sum = self.next.saturating_add(self.after);
                self.next = self.after;
                self.after = if self.next >= self.max_delay {
                    self.next
                } else {
                    sum
                };
            }
        }
        delay.min(self.max_delay)
    }

    /// A number of nanoseconds drawn uniformly from `0..=max`.
    fn draw(&mut self, max: u64) -> u64 {
        if self.rng == 0 {
            self.rng = if self.seed != 0 {
                self.seed
            } else {
                default_seed()
            };
        }
        self.rng = splitmix(self.rng);
        let span = u128::from(max) + 1;
        ((u128::from(self.rng) * span) >> 64) as u64
    }

    /// The next delay in nanoseconds, if any, and the sequence moved on.
    fn advance(&mut self, initial: u64) -> Option<u64> {
        if self.ended || self.retries >= self.max_retries {
            return None;
        }
        let base = self.step();
        let delay = match self.jitter {
            Jitter::None => base,
            Jitter::Full => self.draw(base),
            Jitter::Equal => base / 2 + self.draw(base / 2),
            Jitter::Decorrelated => {
                let low = initial.min(self.max_delay);
                let high = self.prev.saturating_mul(3).max(low);
                low + self.draw(high - low)
            }
        }
        .min(self.max_delay);
        if self.total.saturating_add(delay) > self.budget {
            self.ended = true;
            return None;
        }
        self.prev = delay;
        self.total = self.total.saturating_add(delay);
        self.retries += 1;
        Some(delay)
    }
}

/// `d` in nanoseconds, saturating.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Backoff {
    /// The whole state, defaults filled in, for a builder or `next` to change.
    fn full(&mut self) -> &mut Full {
        if !matches!(self.config, Config::Full(_)) {
            self.config = Config::Full(self.settings());
        }
        let Config::Full(full) = &mut self.config else {
            unreachable!("the config was just made full")
        };
        full
    }

    /// A copy of the whole state, defaults filled in.
    fn settings(&self) -> Full {
        let kind = match self.config {
            Config::Exponential => Kind::Exponential,
            Config::Constant => Kind::Constant,
            Config::Fibonacci => Kind::Fibonacci,
            Config::Full(full) => return full,
        };
        Full::new(kind, self.initial)
    }

    /// `initial`, then each delay `factor` times the one before (2.0 by default).
    #[must_use]
    #[inline]
    pub fn exponential(initial: Duration) -> Self {
        Self {
            initial: nanos(initial),
            config: Config::Exponential,
        }
    }

    /// The same `delay` every time.
    #[must_use]
    #[inline]
    pub fn constant(delay: Duration) -> Self {
        Self {
            initial: nanos(delay),
            config: Config::Constant,
        }
    }

    /// `initial`, `initial`, then each delay the sum of the two before.
    #[must_use]
    #[inline]
    pub fn fibonacci(initial: Duration) -> Self {
        Self {
            initial: nanos(initial),
            config: Config::Fibonacci,
        }
    }

    /// The growth factor of [`exponential`](Self::exponential) (ignored by the
    /// other strategies). Each delay is the one before times `factor`, truncated
    /// to whole nanoseconds; with a factor above 1.0 it is at least 1 ns longer
    /// than the one before (short of `max_delay`, and a zero delay stays zero), so
    /// a delay of a few nanoseconds grows too.
    ///
    /// # Panics
    ///
    /// If `factor` is below 1.0 (delays would shrink), NaN or infinite.
    #[must_use]
    #[inline]
    pub fn factor(mut self, factor: f64) -> Self {
        assert!(
            factor.is_finite() && factor >= 1.0,
            "async-patterns: Backoff::factor must be a finite number >= 1.0, got {factor}"
        );
        self.full().factor = factor;
        self
    }

    /// The largest delay; every delay, jitter included, is capped to it (60 s by
    /// default). A zero `max_delay` is allowed only with a zero initial delay.
    ///
    /// # Panics
    ///
    /// If `max_delay` is zero while the initial delay is not.
    #[must_use]
    #[inline]
    pub fn max_delay(mut self, max_delay: Duration) -> Self {
        assert!(
            !max_delay.is_zero() || self.initial == 0,
            "async-patterns: Backoff::max_delay is zero but the initial delay is {:?}; \
             use Backoff::constant(Duration::ZERO) to retry without delay",
            Duration::from_nanos(self.initial)
        );
        self.full().max_delay = nanos(max_delay);
        self
    }

    /// How many retries after the first attempt (3 by default): the number of
    /// delays this iterator yields at most. `0` means no retry.
    #[must_use]
    #[inline]
    pub fn max_retries(mut self, retries: usize) -> Self {
        self.full().max_retries = retries;
        self
    }

    /// A budget for the sum of the delays (slept time, not wall time): the
    /// iterator ends instead of yielding a delay that would take the sum past it,
    /// and stays ended (a later builder does not reopen it).
    #[must_use]
    #[inline]
    pub fn max_total_delay(mut self, budget: Duration) -> Self {
        self.full().budget = nanos(budget);
        self
    }

    /// Randomness added to each delay; see [`Jitter`].
    #[must_use]
    #[inline]
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.full().jitter = jitter;
        self
    }

    /// Seeds the jitter, so that the same seed gives the same delays, on every run
    /// and platform. By default each `Backoff` draws its own seed: under `std` a
    /// different one in every process, without `std` from a counter only (the same
    /// sequence in every boot of a device: seed it from a hardware source there).
    /// Called between delays, it restarts the draws from the new seed.
    #[must_use]
    #[inline]
    pub fn seed(mut self, seed: u64) -> Self {
        let full = self.full();
        // 0 means "not seeded": the one seed that mixes to 0 takes 1 instead.
        full.seed = splitmix(seed).max(1);
        full.rng = 0;
        self
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let initial = self.initial;
        self.full().advance(initial).map(Duration::from_nanos)
    }

    /// The retries left: exactly, without a total budget; at most, with one (it
    /// may run out first).
    fn size_hint(&self) -> (usize, Option<usize>) {
        let full = self.settings();
        let left = if full.ended {
            0
        } else {
            full.max_retries.saturating_sub(full.retries)
        };
        let surely = if full.budget == u64::MAX { left } else { 0 };
        (surely, Some(left))
    }
}

/// Once it returned `None`, a `Backoff` stays ended (see
/// [`max_total_delay`](Backoff::max_total_delay)).
impl core::iter::FusedIterator for Backoff {}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = self.settings();
        let budget = (full.budget != u64::MAX).then(|| Duration::from_nanos(full.budget));
        f.debug_struct("Backoff")
            .field("kind", &full.kind)
            .field("initial", &Duration::from_nanos(self.initial))
            .field("factor", &full.factor)
            .field("max_delay", &Duration::from_nanos(full.max_delay))
            .field("max_retries", &full.max_retries)
            .field("max_total_delay", &budget)
            .field("jitter", &full.jitter)
            .field("seeded", &(full.seed != 0))
            .field("retries", &full.retries)
            .finish()
    }
}

/// The seed of a `Backoff` that was not given one: different from process to
/// process under `std` (std's randomly keyed hasher, so clients restarted together
/// do not retry in lockstep) and from `Backoff` to `Backoff` (a counter). Without
/// `std` there is no entropy to draw on: only the counter varies, so give each
/// device its own [`seed`](Backoff::seed).
fn default_seed() -> u64 {
    let counter = next_seed() as u64;
    #[cfg(feature = "std")]
    {
        use core::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(counter);
        hasher.finish()
    }
    #[cfg(not(feature = "std"))]
    splitmix(counter ^ 0x5EED_0FBA_C0FF)
}

/// SplitMix64: a small, fast, well-mixed generator step (public domain
/// constants), enough for jitter.
fn splitmix(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Which errors [`retry`] retries: what [`Retry::when`] takes. Implemented for
/// every `FnMut(&E) -> bool` and for [`RetryAll`], the default.
pub trait RetryWhen<E> {
    /// `true` to retry `error`, `false` to return it at once.
    fn retry_when(&mut self, error: &E) -> bool;
}

impl<E, F: FnMut(&E) -> bool> RetryWhen<E> for F {
    #[inline]
    fn retry_when(&mut self, error: &E) -> bool {
        self(error)
    }
}

/// The default `.when` of [`retry`]: every error is retried. (A unit type rather
/// than a function pointer, so that a `Retry` using it stores nothing for it.)
#[derive(Debug, Clone, Copy, Default)]
pub struct RetryAll;

impl<E> RetryWhen<E> for RetryAll {
    #[inline]
    fn retry_when(&mut self, _: &E) -> bool {
        true
    }
}

/// What [`retry`] calls before each sleep: what [`Retry::notify`] takes.
/// Implemented for every `FnMut(&E, Duration)` and for [`NotifyNone`], the
/// default.
pub trait RetryNotify<E> {
    /// Sees `error`, which will be retried after `delay`.
    fn notify(&mut self, error: &E, delay: Duration);
}

impl<E, F: FnMut(&E, Duration)> RetryNotify<E> for F {
    #[inline]
    fn notify(&mut self, error: &E, delay: Duration) {
        self(error, delay);
    }
}

/// The default `.notify` of [`retry`]: nothing is called.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotifyNone;

impl<E> RetryNotify<E> for NotifyNone {
    #[inline]
    fn notify(&mut self, _: &E, _: Duration) {}
}

/// Runs `op` until it succeeds, sleeping on `timer` between attempts for the
/// delays of `backoff`; gives up with the last error when `backoff` ends.
///
/// `.when(|e| ...)` retries only the errors it accepts (the others are returned at
/// once); `.notify(|e, delay| ...)` sees each error that will be retried and the
/// delay before the next attempt. An operation that succeeds at once costs one
/// call of `op` and allocates nothing. When sleeps are over at once (zero delays,
/// or a timer that is behind), the future yields to the executor after 32
/// attempts in one poll, so that a long run of failures does not hold the
/// executor's thread.
///
/// # Errors
///
/// The future's output is the last error of `op` when the backoff ends (its
/// retries or its total delay are used up) or when `.when` rejects an error.
///
/// ```
/// use async_patterns::time::{Backoff, ManualTimer, retry};
/// use std::time::Duration;
///
/// let timer = ManualTimer::new();
/// let mut attempts = 0;
/// let op = || {
///     attempts += 1;
///     let n = attempts;
///     async move { if n < 3 { Err("flaky") } else { Ok(n) } }
/// };
/// let mut call = Box::pin(retry(timer.clone(), Backoff::constant(Duration::from_secs(1)), op));
/// let waker = std::task::Waker::noop();
/// let mut cx = std::task::Context::from_waker(&waker);
/// assert!(call.as_mut().poll(&mut cx).is_pending()); // first attempt failed, sleeping
/// timer.advance(Duration::from_secs(1));
/// assert!(call.as_mut().poll(&mut cx).is_pending()); // second attempt failed
/// timer.advance(Duration::from_secs(1));
/// assert_eq!(call.as_mut().poll(&mut cx), std::task::Poll::Ready(Ok(3)));
/// ```
///
/// # Cancel safety
///
/// Dropping it drops the attempt in flight (or the sleep); no further attempt is
/// made.
#[inline]
pub fn retry<Tm, Op, Fut, T, E>(
    timer: Tm,
    backoff: Backoff,
    op: Op,
) -> Retry<Tm, Op, Fut, RetryAll, NotifyNone>
where
    Tm: Timer,
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    Retry {
        timer,
        backoff,
        op,
        when: RetryAll,
        notify: NotifyNone,
        state: State::Idle,
    }
}

/// How many sleeps that were over at once a [`Retry`] goes through in one poll
/// before it yields to the executor.
const ATTEMPTS_PER_POLL: u32 = 32;

pin_project! {
    /// Future of [`retry`].
    ///
    /// # Panics
    ///
    /// Like most futures, it must not be polled after it completed: it would poll
    /// the finished attempt again (which panics for an `async` block or `async
    /// fn`) after a success, and start over with a new attempt after an error.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the attempt in flight (or the sleep); no further attempt
    /// is made.
    #[must_use = "futures do nothing unless polled"]
    #[project = RetryProj]
    pub struct Retry<Tm: Timer, Op, Fut, W, N> {
        timer: Tm,
        backoff: Backoff,
        op: Op,
        when: W,
        notify: N,
        #[pin]
        state: State<Fut, Tm::Sleep>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<Fut, S> {
        Idle,
        Running { #[pin] attempt: Fut },
        Sleeping { #[pin] sleep: S },
    }
}

impl<Tm: Timer, Op, Fut, W, N> Retry<Tm, Op, Fut, W, N> {
    /// Retries only the errors for which `when` returns `true`; any other error is
    /// returned at once.
    pub fn when<T, E, W2>(self, when: W2) -> Retry<Tm, Op, Fut, W2, N>
    where
        Fut: Future<Output = Result<T, E>>,
        W2: FnMut(&E) -> bool,
    {
        Retry {
            timer: self.timer,
            backoff: self.backoff,
            op: self.op,
            when,
            notify: self.notify,
            state: self.state,
        }
    }

    /// Calls `notify(error, delay)` before each sleep: the error that will be
    /// retried and how long until the next attempt.
    pub fn notify<T, E, N2>(self, notify: N2) -> Retry<Tm, Op, Fut, W, N2>
    where
        Fut: Future<Output = Result<T, E>>,
        N2: FnMut(&E, Duration),
    {
        Retry {
            timer: self.timer,
            backoff: self.backoff,
            op: self.op,
            when: self.when,
            notify,
            state: self.state,
        }
    }
}

impl<Tm, Op, Fut, T, E, W, N> Future for Retry<Tm, Op, Fut, W, N>
where
    Tm: Timer,
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    W: RetryWhen<E>,
    N: RetryNotify<E>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // An attempt is started here (by a new `Retry`, or one that yielded after
        // a run of sleeps) and polled here; an error and the sleeps are `drive`.
        // Inlined into the caller, this is all an operation that succeeds at once
        // costs. For the caller's loop to keep its variables in registers, no
        // call that is not inlined may get a pointer into the caller's future
        // (where this `Retry` lives) on any path back into that loop: the
        // compiler must then assume the call changes them, and stores and reloads
        // them every turn (a chain through memory: 1.17x-1.40x the direct await
        // in the bench, against 0.98x-1.16x now; benches/README.md, "`retry`
        // keeps the caller's registers"). So `drive` is marked `#[inline]` too,
        // and calls the one function of this crate's own there that cannot be
        // inlined into the caller (`Backoff::next`, not generic) on a copy of the
        // `Backoff`. What the operation and the timer call is theirs: a timer
        // whose sleep is not inlined (`ManualTimer`'s and `TokioTimer`'s are not
        // generic) gets such a pointer in turn; only the bench's closure timer
        // was measured.
        if let StateProj::Idle = this.state.as_mut().project() {
            this.state.set(State::Running {
                attempt: (this.op)(),
            });
        }
        match this.state.as_mut().project() {
            StateProj::Running { attempt } => match core::task::ready!(attempt.poll(cx)) {
                Ok(value) => Poll::Ready(Ok(value)),
                Err(error) => drive(this, Some(error), cx),
            },
            _ => drive(this, None, cx),
        }
    }
}

/// The rest of [`Retry::poll`], from an attempt's `error` (the state holds that
/// finished attempt) or from a sleep (`None`; the state holds the sleep): the
/// sleeps and the attempts after them, until one succeeds, the retries run out,
/// or it yields. Inlined, as `poll` (see there).
#[inline]
fn drive<Tm, Op, Fut, T, E, W, N>(
    mut this: RetryProj<'_, Tm, Op, Fut, W, N>,
    mut error: Option<E>,
    cx: &mut Context<'_>,
) -> Poll<Result<T, E>>
where
    Tm: Timer,
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    W: RetryWhen<E>,
    N: RetryNotify<E>,
{
    let mut slept = 0;
    loop {
        if let Some(error) = error.take() {
            let delay = if this.when.retry_when(&error) {
                // On a copy: `next` is not inlined into the caller (see `poll`).
                let mut backoff = this.backoff.clone();
                let delay = backoff.next();
                *this.backoff = backoff;
                delay
            } else {
                None
            };
            let Some(delay) = delay else {
                this.state.set(State::Idle);
                return Poll::Ready(Err(error));
            };
            this.notify.notify(&error, delay);
            let sleep = this.timer.sleep(delay);
            this.state.set(State::Sleeping { sleep });
        }
        let StateProj::Sleeping { sleep } = this.state.as_mut().project() else {
            unreachable!("drive goes on from an error or a sleep")
        };
        core::task::ready!(sleep.poll(cx));
        slept += 1;
        if slept == ATTEMPTS_PER_POLL {
            // Idle starts the next attempt at the next poll.
            this.state.set(State::Idle);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.state.set(State::Running {
            attempt: (this.op)(),
        });
        let StateProj::Running { attempt } = this.state.as_mut().project() else {
            unreachable!("an attempt was just started")
        };
        error = Some(match core::task::ready!(attempt.poll(cx)) {
            Ok(value) => return Poll::Ready(Ok(value)),
            Err(error) => error,
        });
    }
}

impl<Tm: Timer, Op, Fut, W, N> fmt::Debug for Retry<Tm, Op, Fut, W, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

//! [`join_all`] and [`try_join_all`]: asyncio's `gather`.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::pin_index;

pin_project! {
    /// A future and then its output.
    #[project = StepProj]
    #[project_replace = StepTake]
    enum Step<F: Future> {
        Running { #[pin] future: F },
        Done { output: F::Output },
        Taken,
    }
}

/// All `futures` in one allocation, polled until every one of them is done.
struct All<F: Future> {
    steps: Pin<Box<[Step<F>]>>,
    /// Futures not done yet.
    running: usize,
}

impl<F: Future> All<F> {
    fn new(futures: impl IntoIterator<Item = F>) -> Self {
        let steps: Box<[Step<F>]> = futures
            .into_iter()
            .map(|future| Step::Running { future })
            .collect();
        Self {
            running: steps.len(),
            steps: Box::into_pin(steps),
        }
    }

    /// Polls every running future once; `on_output` sees each output as it
    /// arrives and gives it back to be kept, or stops the whole join with `Err`.
    fn poll_each<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut on_output: impl FnMut(F::Output) -> Result<F::Output, R>,
    ) -> Result<(), R> {
        for i in 0..self.steps.len() {
            let mut step = pin_index(&mut self.steps, i);
            let StepProj::Running { future } = step.as_mut().project() else {
                continue;
            };
            if let Poll::Ready(output) = future.poll(cx) {
                let output = on_output(output)?;
                step.set(Step::Done { output });
                self.running -= 1;
            }
        }
        Ok(())
    }

    /// The outputs in input order (every future is done).
    fn take_outputs(&mut self) -> Vec<F::Output> {
        (0..self.steps.len())
            .map(
                |i| match pin_index(&mut self.steps, i).project_replace(Step::Taken) {
                    StepTake::Done { output } => output,
                    _ => unreachable!("every future is done"),
                },
            )
            .collect()
    }

    fn clear(&mut self) {
        self.steps = Box::into_pin(Vec::new().into_boxed_slice());
        self.running = 0;
    }
}

/// Runs all `futures` concurrently and returns their outputs in input order
/// (asyncio's `gather`). Each wake polls the futures not done yet; they live in
/// one allocation.
///
/// ```
/// use async_patterns::future::join_all;
///
/// # futures_lite::future::block_on(async {
/// let squares = join_all((1..=4).map(|n| async move { n * n })).await;
/// assert_eq!(squares, [1, 4, 9, 16]);
/// # });
/// ```
///
/// # Cancel safety
///
/// Dropping it drops every future and the outputs gathered so far.
pub fn join_all<I>(futures: I) -> JoinAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    JoinAll {
        all: All::new(futures),
    }
}

/// Future of [`join_all`].
///
/// # Cancel safety
///
/// Dropping it drops every future and the outputs gathered so far.
#[must_use = "futures do nothing unless polled"]
pub struct JoinAll<F: Future> {
    all: All<F>,
}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let all = &mut self.all;
        let Ok(()) = all.poll_each(cx, Ok::<_, core::convert::Infallible>);
        if all.running > 0 {
            return Poll::Pending;
        }
        let outputs = all.take_outputs();
        all.clear();
        Poll::Ready(outputs)
    }
}

impl<F: Future> fmt::Debug for JoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll")
            .field("running", &self.all.running)
            .finish()
    }
}

/// Runs all `futures` concurrently: `Ok` with every output in input order, or the
/// first `Err`, at which point the other futures are dropped (asyncio's `gather`
/// raising the first exception, with the rest cancelled). `Ok(vec![])` for no
/// futures.
///
/// # Errors
///
/// The output is the first `Err` any of the futures returned.
///
/// ```
/// use async_patterns::future::try_join_all;
///
/// # futures_lite::future::block_on(async {
/// let ok = try_join_all([1, 2].map(|n| async move { Ok::<_, String>(n) })).await;
/// assert_eq!(ok, Ok(vec![1, 2]));
/// let err = try_join_all([1, 2].map(|n| async move {
///     if n == 2 { Err(format!("{n} failed")) } else { Ok(n) }
/// }))
/// .await;
/// assert_eq!(err, Err("2 failed".to_string()));
/// # });
/// ```
///
/// # Cancel safety
///
/// Dropping it drops every future and the outputs gathered so far.
pub fn try_join_all<I, T, E>(futures: I) -> TryJoinAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>>,
{
    TryJoinAll {
        all: All::new(futures),
    }
}

/// Future of [`try_join_all`].
///
/// # Cancel safety
///
/// Dropping it drops every future and the outputs gathered so far.
#[must_use = "futures do nothing unless polled"]
pub struct TryJoinAll<F: Future> {
    all: All<F>,
}

impl<F, T, E> Future for TryJoinAll<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let all = &mut self.all;
        let polled = all.poll_each(cx, |output| match output {
            Ok(value) => Ok(Ok(value)),
            Err(error) => Err(error),
        });
        if let Err(error) = polled {
            // The first error ends the join: the other futures go now.
            all.clear();
            return Poll::Ready(Err(error));
        }
        if all.running > 0 {
            return Poll::Pending;
        }
        let outputs = all.take_outputs();
        all.clear();
        Poll::Ready(outputs.into_iter().collect())
    }
}

impl<F: Future> fmt::Debug for TryJoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryJoinAll")
            .field("running", &self.all.running)
            .finish()
    }
}

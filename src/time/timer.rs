//! The [`Timer`] trait.

use core::future::Future;
use core::time::Duration;

/// Something that can sleep: makes a future that completes after `duration`.
///
/// Implemented for every `Fn(Duration) -> impl Future<Output = ()>`:
///
/// ```
/// use async_patterns::time::Timer;
/// use std::time::Duration;
///
/// let tokio_timer = |d: Duration| tokio::time::sleep(d);
/// # let _ = &tokio_timer;
/// fn takes_timer(_: &impl Timer) {}
/// takes_timer(&tokio_timer);
/// ```
pub trait Timer {
    /// The future of one sleep.
    type Sleep: Future<Output = ()>;

    /// A future that completes once `duration` has passed.
    fn sleep(&self, duration: Duration) -> Self::Sleep;
}

impl<F, S> Timer for F
where
    F: Fn(Duration) -> S,
    S: Future<Output = ()>,
{
    type Sleep = S;

    fn sleep(&self, duration: Duration) -> S {
        self(duration)
    }
}

/// The tokio timer (`tokio::time::sleep`); needs a tokio runtime with time enabled
/// where the sleeps are created. Feature `tokio`.
///
/// # Panics
///
/// [`sleep`](Timer::sleep) panics when called outside a tokio runtime, or in one
/// without the time driver.
/// [`future::timeout(&TokioTimer, ..)`](crate::future::timeout) creates its sleep
/// when it is called; [`retry`](crate::time::retry), the futures of
/// [`Debouncer::call`](crate::time::Debouncer::call) and the
/// [`debounce`](crate::time::debounce) stream create theirs when they are polled.
#[cfg(feature = "tokio")]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

#[cfg(feature = "tokio")]
impl Timer for TokioTimer {
    type Sleep = tokio::time::Sleep;

    fn sleep(&self, duration: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(duration)
    }
}

/// The async-io timer (`async_io::Timer::after`), as used by smol and async-std;
/// works under any executor. Feature `async-io`.
#[cfg(feature = "async-io")]
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncIoTimer;

/// Future of [`AsyncIoTimer`]'s sleep.
///
/// # Cancel safety
///
/// Dropping it cancels the timer.
#[cfg(feature = "async-io")]
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct AsyncIoSleep(async_io::Timer);

#[cfg(feature = "async-io")]
impl Future for AsyncIoSleep {
    type Output = ();

    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        core::pin::Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

#[cfg(feature = "async-io")]
impl Timer for AsyncIoTimer {
    type Sleep = AsyncIoSleep;

    fn sleep(&self, duration: Duration) -> AsyncIoSleep {
        AsyncIoSleep(async_io::Timer::after(duration))
    }
}

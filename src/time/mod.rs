//! Time, for any executor: the [`Timer`] trait, a virtual clock for tests
//! ([`ManualTimer`]), retry with backoff and debounce.
//!
//! | asyncio pattern | here |
//! | --- | --- |
//! | `await asyncio.sleep(d)` | [`Timer::sleep`] on the timer you pass in |
//! | retry with exponential backoff and jitter | [`retry`] with [`Backoff`], [`Jitter`] |
//! | a debouncer (only the last call of a burst runs) | [`Debouncer`] |
//! | debouncing a stream of events | [`debounce`] |
//! | testing all of that without sleeping | [`ManualTimer`] |
//!
//! The crate has no clock of its own: a `Timer` is whatever makes a future that
//! completes after a duration. Every `Fn(Duration) -> impl Future<Output = ()>` is
//! one, so an executor's sleep fits in a closure; `TokioTimer` (feature `tokio`)
//! and `AsyncIoTimer` (feature `async-io`) are ready-made.

mod debounce;
mod manual;
mod retry;
mod timer;

pub use debounce::{Debounce, DebouncedCall, Debouncer, debounce};
pub use manual::{ManualSleep, ManualTimer};
pub use retry::{Backoff, Jitter, NotifyNone, Retry, RetryAll, RetryNotify, RetryWhen, retry};
pub use timer::Timer;
#[cfg(feature = "tokio")]
pub use timer::TokioTimer;
#[cfg(feature = "async-io")]
pub use timer::{AsyncIoSleep, AsyncIoTimer};

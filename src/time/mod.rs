//! Time, for any executor: the [`Timer`] trait that [`timeout`](crate::future::timeout)
//! (and, later, retry and debounce) sleep on.
//!
//! The crate has no clock of its own: a `Timer` is whatever makes a future that
//! completes after a duration. Every `Fn(Duration) -> impl Future<Output = ()>` is
//! one, so an executor's sleep fits in a closure.

mod timer;

pub use timer::Timer;

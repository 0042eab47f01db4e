//! Combinators over futures: asyncio's `wait(FIRST_COMPLETED)`, `gather`,
//! `sleep(0)` and `wait_for`, for any executor.
//!
//! | asyncio | here | notes |
//! | --- | --- | --- |
//! | `wait(..., FIRST_COMPLETED)` (the rest cancelled) | [`race`], [`select`] | fair: the first poll rotates |
//! | `gather(*aws)` | [`join_all`] | outputs in input order |
//! | `gather` stopping at the first exception | [`try_join_all`] | the first `Err` drops the rest |
//! | `sleep(0)` | [`yield_now`] | |
//! | `wait_for(aw, t)`, `timeout(t)` | [`timeout`] | on any [`Timer`](crate::time::Timer) |
//!
//! To keep the unfinished futures running after the first completes, use
//! [`TaskSet`](crate::task::TaskSet).

mod join;
mod race;
mod select;
mod timeout;
mod yield_now;

pub use join::{JoinAll, TryJoinAll, join_all, try_join_all};
pub use race::{Race, race};
pub use select::{Either, Select, select};
pub use timeout::{Elapsed, Timeout, timeout};
pub use yield_now::{YieldNow, yield_now};

use alloc::boxed::Box;
use core::pin::Pin;

/// Element `i` of a pinned boxed slice, pinned.
fn pin_index<T>(slice: &mut Pin<Box<[T]>>, i: usize) -> Pin<&mut T> {
    // SAFETY: the elements of a pinned slice are never moved: this module only
    // reaches them through this function and drops the slice as a whole.
    unsafe { slice.as_mut().map_unchecked_mut(|s| &mut s[i]) }
}

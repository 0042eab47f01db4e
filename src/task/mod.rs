//! Tasks and cancellation: asyncio's `Task.cancel`, `add_done_callback`, `shield`,
//! background task sets and `wait`, the Rust way.
//!
//! | asyncio | here | notes |
//! | --- | --- | --- |
//! | `task.cancel()` at an `await` | drop the future, or [`JoinHandle::abort`] | the future's `Drop` is the `finally` |
//! | cooperative cancellation | [`CancellationToken`] | children, `run_until_cancelled`, drop guards; `no_std` |
//! | `CancelledError` | [`JoinError::Cancelled`] | |
//! | `create_task` | [`spawn`] on a [`Spawn`] you provide; [`spawn_local`] on a [`LocalSpawn`] for futures that are not `Send` | no executor is assumed |
//! | `task.add_done_callback` | [`JoinHandle::on_complete`] | exactly once, never lost when racing completion |
//! | `shield` | [`shield`] | the work runs on when the caller is cancelled |
//! | background task set | [`BackgroundTasks`] | finished tasks leave by themselves |
//! | `wait(FIRST_COMPLETED)`, `as_completed`, `TaskGroup` | [`TaskSet`] | one completion costs O(1) |
//!
//! Cancellation in Rust is dropping a future: whatever it holds is released by its
//! `Drop`, which runs where asyncio would raise `CancelledError`. Work that wants
//! to run async cleanup first watches a [`CancellationToken`] instead.

mod cancel;
mod spawn;

pub use cancel::{
    CancellationToken, DropGuard, RunUntilCancelled, RunUntilCancelledOwned, WaitForCancellation,
    WaitForCancellationOwned,
};
pub use spawn::{
    AbortHandle, AbortOnDrop, JoinError, JoinHandle, LocalSpawn, Spawn, shield, spawn, spawn_local,
};

mod background;
#[cfg(any(target_has_atomic = "ptr", feature = "portable-atomic"))]
mod set;

pub use background::{BackgroundTasks, Join, Shutdown};
#[cfg(any(target_has_atomic = "ptr", feature = "portable-atomic"))]
pub use set::{JoinAll, JoinNext, JoinNextWithId, TaskSet};

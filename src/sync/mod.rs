//! Locks and signalling primitives: asyncio's `Lock`, `Semaphore`, `Event`,
//! `Condition` and `Barrier`.
//!
//! | asyncio | here | notes |
//! | --- | --- | --- |
//! | `asyncio.Lock` | [`Mutex`] | owns the data it protects; the guard unlocks |
//! | (none) | [`RwLock`] | many readers or one writer, upgradable reads |
//! | `asyncio.Semaphore`, `BoundedSemaphore` | [`Semaphore`] | FIFO, `acquire_many`; guards make over-release impossible |
//! | `asyncio.Event` | [`Event`] | `set` releases every waiter of that moment, even if `clear` follows |
//! | `asyncio.Condition` | [`Condvar`] + [`Mutex`] | `wait_until` is `wait_for`; asyncio's notify counting |
//! | `asyncio.Barrier` | [`Barrier`] | cyclic, `abort`/`reset`; a cancelled `wait` withdraws its arrival |
//!
//! Every waiting method returns a named future that is cancel safe: dropping it
//! never loses a lock, a permit or a wake-up (each method's `# Cancel safety`
//! section says exactly what a drop does).

mod barrier;
mod condvar;
mod event;
mod mutex;
mod rwlock;
mod semaphore;
pub(crate) mod waiters;

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult, BrokenBarrierError};
pub use condvar::{Condvar, CondvarWait, CondvarWaitUntil};
#[cfg(target_has_atomic = "ptr")]
pub use condvar::{CondvarWaitArc, CondvarWaitUntilArc};
pub use event::{Event, EventWait};
pub use mutex::{Lock, Mutex, MutexGuard};
#[cfg(target_has_atomic = "ptr")]
pub use mutex::{LockArc, MutexGuardArc};
pub use rwlock::{
    Read, RwLock, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard, UpgradableRead,
    Upgrade, Write,
};
#[cfg(target_has_atomic = "ptr")]
pub use rwlock::{
    ReadArc, RwLockReadGuardArc, RwLockUpgradableReadGuardArc, RwLockWriteGuardArc,
    UpgradableReadArc, UpgradeArc, WriteArc,
};
pub use semaphore::{Acquire, Semaphore, SemaphoreGuard};
#[cfg(target_has_atomic = "ptr")]
pub use semaphore::{AcquireArc, SemaphoreGuardArc};

/// Auto-trait bounds that must NOT hold (rustdoc checks that these fail to compile).
///
/// A write guard over `Cell` data must not be sent: it could be downgraded on the
/// other thread while this one reads.
/// ```compile_fail,E0277
/// fn send<T: Send>() {}
/// send::<async_patterns::sync::RwLockWriteGuard<'static, std::cell::Cell<u8>>>();
/// ```
/// A `Mutex` of `Rc` is not `Sync`:
/// ```compile_fail,E0277
/// fn sync<T: Sync>() {}
/// sync::<async_patterns::sync::Mutex<std::rc::Rc<u8>>>();
/// ```
/// A mutex guard over `Cell` data is not `Sync`:
/// ```compile_fail,E0277
/// fn sync<T: Sync>() {}
/// sync::<async_patterns::sync::MutexGuard<'static, std::cell::Cell<u8>>>();
/// ```
/// A read guard over `Cell` data is not `Send`:
/// ```compile_fail,E0277
/// fn send<T: Send>() {}
/// send::<async_patterns::sync::RwLockReadGuard<'static, std::cell::Cell<u8>>>();
/// ```
#[cfg(doctest)]
pub struct CompileFailChecks;

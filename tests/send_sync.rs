//! `Send`/`Sync`/`Unpin` of every public type, asserted at compile time.
#![allow(dead_code)]

use std::cell::Cell;
use std::future::{Future, Ready};
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use async_patterns::sync::*;
use async_patterns::{future, queue, task};

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn unpin<T: Unpin>() {}

/// `Send + Sync + Unpin` for the given types.
macro_rules! all {
    ($($t:ty),* $(,)?) => {
        $( send::<$t>(); sync::<$t>(); unpin::<$t>(); )*
    };
}

#[test]
fn with_send_sync_data() {
    type T = u32;
    all!(
        Mutex<T>,
        MutexGuard<'static, T>,
        MutexGuardArc<T>,
        Lock<'static, T>,
        LockArc<T>,
        RwLock<T>,
        RwLockReadGuard<'static, T>,
        RwLockWriteGuard<'static, T>,
        RwLockUpgradableReadGuard<'static, T>,
        RwLockReadGuardArc<T>,
        RwLockWriteGuardArc<T>,
        RwLockUpgradableReadGuardArc<T>,
        Read<'static, T>,
        ReadArc<T>,
        Write<'static, T>,
        WriteArc<T>,
        UpgradableRead<'static, T>,
        UpgradableReadArc<T>,
        Upgrade<'static, T>,
        UpgradeArc<T>,
        Semaphore,
        SemaphoreGuard<'static>,
        SemaphoreGuardArc,
        Acquire<'static>,
        AcquireArc,
        Event,
        EventWait<'static>,
        Condvar,
        CondvarWait<'static, 'static, T>,
        CondvarWaitUntil<'static, 'static, T, fn(&mut T) -> bool>,
        CondvarWaitArc<T>,
        CondvarWaitUntilArc<T, fn(&mut T) -> bool>,
        Barrier,
        BarrierWait<'static>,
        BarrierWaitResult,
        BrokenBarrierError,
    );
}

#[test]
fn with_send_not_sync_data() {
    // A Mutex makes Send-only data shareable; the guard is Send but not Sync.
    type T = Cell<u32>;
    send::<Mutex<T>>();
    sync::<Mutex<T>>();
    send::<MutexGuard<'static, T>>();
    send::<Lock<'static, T>>();
    send::<RwLock<T>>();
    unpin::<Lock<'static, T>>();
    // A Condvar wait holds a guard (or a lock future): Send like the guard.
    send::<CondvarWait<'static, 'static, T>>();
    send::<CondvarWaitUntil<'static, 'static, T, fn(&mut T) -> bool>>();
    send::<CondvarWaitArc<T>>();
    send::<CondvarWaitUntilArc<T, fn(&mut T) -> bool>>();
    unpin::<CondvarWait<'static, 'static, T>>();
    unpin::<CondvarWaitArc<T>>();
}

/// Whether `$t` implements `$trait`, as a `bool` (the `impls` crate's trick: the
/// inherent constant applies only when the bound holds, otherwise the trait's
/// default is found). Works for concrete types only.
macro_rules! implements {
    ($t:ty: $trait:path) => {{
        struct Probe<T: ?Sized>(std::marker::PhantomData<T>);
        trait Fallback {
            const YES: bool = false;
        }
        impl<T: ?Sized> Fallback for Probe<T> {}
        impl<T: ?Sized + $trait> Probe<T> {
            const YES: bool = true;
        }
        <Probe<$t>>::YES
    }};
}

#[test]
fn the_probe_tells_yes_from_no() {
    assert!(implements!(u32: Send));
    assert!(!implements!(Rc<u32>: Send));
    assert!(!implements!(Cell<u32>: Sync));
}

#[test]
fn a_mutex_guard_is_sync_only_for_send_and_sync_data() {
    // Sync but not Send data: a shared guard would hand its `&'a Mutex` (`source`)
    // to a thread that may lock it once the guard is gone.
    type SyncOnly = std::sync::MutexGuard<'static, u32>;
    assert!(implements!(SyncOnly: Sync) && !implements!(SyncOnly: Send));
    assert!(!implements!(MutexGuard<'static, SyncOnly>: Sync));
    assert!(implements!(MutexGuard<'static, u32>: Sync));
}

#[test]
fn condvar_waits_are_only_as_send_and_sync_as_their_parts() {
    // Send-only data: the waits are Send (checked above), not Sync (they hold a
    // guard, which is not Sync for such data).
    assert!(!implements!(CondvarWait<'static, 'static, Cell<u32>>: Sync));
    assert!(!implements!(CondvarWaitArc<Cell<u32>>: Sync));
    assert!(
        !implements!(CondvarWaitUntil<'static, 'static, Cell<u32>, fn(&mut Cell<u32>) -> bool>: Sync)
    );
    // Data that is not Send: neither.
    assert!(!implements!(CondvarWait<'static, 'static, Rc<u32>>: Send));
    assert!(!implements!(CondvarWaitArc<Rc<u32>>: Send));
    // The condition closure counts too.
    type Local = Box<dyn FnMut(&mut u32) -> bool>;
    type SendOnly = Box<dyn FnMut(&mut u32) -> bool + Send>;
    assert!(!implements!(CondvarWaitUntil<'static, 'static, u32, Local>: Send));
    assert!(!implements!(CondvarWaitUntilArc<u32, Local>: Send));
    assert!(implements!(CondvarWaitUntil<'static, 'static, u32, SendOnly>: Send));
    assert!(!implements!(CondvarWaitUntil<'static, 'static, u32, SendOnly>: Sync));
    // ... but never pinning: the waits are Unpin whatever the closure.
    assert!(implements!(CondvarWaitUntil<'static, 'static, u32, Local>: Unpin));
}

#[test]
fn queue_types_with_send_sync_items() {
    type T = u32;
    all!(
        queue::Queue<T>,
        queue::Put<'static, T>,
        queue::Reserve<'static, T>,
        queue::PutPermit<'static, T>,
        queue::Get<'static, T>,
        queue::Join<'static, T>,
        queue::QueueStream<'static, T>,
        queue::Sender<T>,
        queue::Receiver<T>,
        queue::PutError<T>,
        queue::TryPutError<T>,
        queue::ShutdownError,
        queue::TryGetError,
        queue::TaskDoneError,
    );
}

#[test]
fn queue_types_with_send_only_items() {
    // Items move between tasks, never shared: a queue of `Send` items is shared
    // across threads like a Mutex.
    type T = Cell<u32>;
    all!(
        queue::Queue<T>,
        queue::Reserve<'static, T>,
        queue::PutPermit<'static, T>,
        queue::Get<'static, T>,
        queue::Join<'static, T>,
        queue::QueueStream<'static, T>,
        queue::Sender<T>,
        queue::Receiver<T>,
    );
    // A put and a put error hold the item: Send like it, not Sync.
    send::<queue::Put<'static, T>>();
    unpin::<queue::Put<'static, T>>();
    send::<queue::PutError<T>>();
    send::<queue::TryPutError<T>>();
    assert!(!implements!(queue::Put<'static, T>: Sync));
    assert!(!implements!(queue::PutError<T>: Sync));
}

#[test]
fn queue_types_with_items_that_are_not_send() {
    // An `Rc` must not reach another thread through the queue or its handles.
    type T = Rc<u32>;
    assert!(!implements!(queue::Queue<T>: Send));
    assert!(!implements!(queue::Queue<T>: Sync));
    assert!(!implements!(queue::Put<'static, T>: Send));
    assert!(!implements!(queue::Reserve<'static, T>: Send));
    assert!(!implements!(queue::PutPermit<'static, T>: Send));
    assert!(!implements!(queue::Get<'static, T>: Send));
    assert!(!implements!(queue::Join<'static, T>: Send));
    assert!(!implements!(queue::QueueStream<'static, T>: Send));
    assert!(!implements!(queue::Sender<T>: Send));
    assert!(!implements!(queue::Sender<T>: Sync));
    assert!(!implements!(queue::Receiver<T>: Send));
    assert!(!implements!(queue::Receiver<T>: Sync));
    assert!(!implements!(queue::PutError<T>: Send));
}

#[test]
fn queue_futures_are_unpin_whatever_the_item() {
    type T = PhantomPinned;
    unpin::<queue::Put<'static, T>>();
    unpin::<queue::Reserve<'static, T>>();
    unpin::<queue::Get<'static, T>>();
    unpin::<queue::Join<'static, T>>();
    unpin::<queue::QueueStream<'static, T>>();
    unpin::<queue::Receiver<T>>();
}

/// A future that is `Send` but not `Sync` (it holds a `Cell`).
struct SendOnlyFuture(Cell<u32>);

impl Future for SendOnlyFuture {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(self.0.get())
    }
}

/// A future that is neither `Send` nor `Sync` (it holds an `Rc`).
struct LocalFuture(Rc<u32>);

impl Future for LocalFuture {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(*self.0)
    }
}

/// A future that is `!Unpin`.
struct PinnedFuture(PhantomPinned);

impl Future for PinnedFuture {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(0)
    }
}

/// A spawner as a plain function pointer (`Send + Sync`).
type FnSpawner = fn(Pin<Box<dyn Future<Output = ()> + Send>>);

#[test]
fn task_types_with_send_sync_data() {
    type F = Ready<u32>;
    all!(
        task::CancellationToken,
        task::WaitForCancellation<'static>,
        task::WaitForCancellationOwned,
        task::RunUntilCancelled<'static, F>,
        task::RunUntilCancelledOwned<F>,
        task::DropGuard,
        task::JoinHandle<u32>,
        task::AbortOnDrop<u32>,
        task::AbortHandle,
        task::TaskSet<F>,
        task::JoinNext<'static, F>,
        task::JoinNextWithId<'static, F>,
        task::JoinAll<'static, F>,
        task::BackgroundTasks<FnSpawner>,
        task::Join<'static>,
        task::Shutdown<'static, FnSpawner>,
    );
    // A panic payload is `Send` only.
    send::<task::JoinError>();
    unpin::<task::JoinError>();
    assert!(!implements!(task::JoinError: Sync));
}

#[test]
fn join_handles_are_send_and_sync_for_any_send_output() {
    // The output sits behind the handle's lock: `Send` is enough to share it.
    type T = Cell<u32>;
    all!(task::JoinHandle<T>, task::AbortOnDrop<T>);
    assert!(!implements!(task::JoinHandle<Rc<u32>>: Send));
    assert!(!implements!(task::JoinHandle<Rc<u32>>: Sync));
    assert!(!implements!(task::AbortOnDrop<Rc<u32>>: Send));
}

#[test]
fn task_sets_and_wrappers_are_as_send_as_their_futures() {
    type S = SendOnlyFuture;
    send::<task::TaskSet<S>>();
    send::<task::JoinNext<'static, S>>();
    send::<task::JoinNextWithId<'static, S>>();
    send::<task::JoinAll<'static, S>>();
    send::<task::RunUntilCancelled<'static, S>>();
    send::<task::RunUntilCancelledOwned<S>>();
    assert!(!implements!(task::TaskSet<S>: Sync));
    type L = LocalFuture;
    assert!(!implements!(task::TaskSet<L>: Send));
    assert!(!implements!(task::JoinNext<'static, L>: Send));
    assert!(!implements!(task::RunUntilCancelled<'static, L>: Send));
    assert!(!implements!(task::RunUntilCancelledOwned<L>: Send));
    // A spawner that is not `Send` makes the set of background tasks not `Send`.
    type LocalSpawner = Box<dyn Fn(Pin<Box<dyn Future<Output = ()> + Send>>)>;
    assert!(!implements!(task::BackgroundTasks<LocalSpawner>: Send));
    assert!(!implements!(task::BackgroundTasks<LocalSpawner>: Sync));
    // Boxed storage: Unpin whatever the future.
    unpin::<task::TaskSet<PinnedFuture>>();
    unpin::<task::JoinNext<'static, PinnedFuture>>();
}

#[test]
fn future_types_with_send_sync_data() {
    type F = Ready<u32>;
    type Sleep = Ready<()>;
    all!(
        future::Race<F>,
        future::Select<F, F>,
        future::Either<u32, u32>,
        future::JoinAll<F>,
        future::TryJoinAll<Ready<Result<u32, u32>>>,
        future::YieldNow,
        future::Timeout<F, Sleep>,
        future::Elapsed,
    );
}

#[test]
fn future_combinators_are_as_send_and_sync_as_their_futures() {
    type S = SendOnlyFuture;
    type Sleep = Ready<()>;
    send::<future::Race<S>>();
    send::<future::Select<S, S>>();
    send::<future::JoinAll<S>>();
    send::<future::Timeout<S, Sleep>>();
    assert!(!implements!(future::Race<S>: Sync));
    assert!(!implements!(future::Select<S, Ready<u32>>: Sync));
    assert!(!implements!(future::JoinAll<S>: Sync));
    assert!(!implements!(future::Timeout<S, Sleep>: Sync));
    type L = LocalFuture;
    assert!(!implements!(future::Race<L>: Send));
    assert!(!implements!(future::Select<Ready<u32>, L>: Send));
    assert!(!implements!(future::JoinAll<L>: Send));
    assert!(!implements!(future::Timeout<L, Sleep>: Send));
    assert!(!implements!(future::Timeout<Ready<u32>, Pin<Box<dyn Future<Output = ()>>>>: Send));
    // One allocation for all the futures: Unpin whatever they are.
    unpin::<future::Race<PinnedFuture>>();
    unpin::<future::JoinAll<PinnedFuture>>();
    unpin::<future::TryJoinAll<PinnedFuture>>();
}

fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}

/// The primitives whose state sits behind the crate's internal lock are unwind
/// safe, as they were with `std::sync::Mutex` inside (`catch_unwind(|| q.try_put(x))`
/// compiles without `AssertUnwindSafe`).
#[test]
fn lock_holders_are_unwind_safe() {
    unwind_safe::<queue::Queue<u64>>();
    unwind_safe::<queue::Sender<u64>>();
    unwind_safe::<queue::Receiver<u64>>();
    unwind_safe::<Semaphore>();
    unwind_safe::<Event>();
    unwind_safe::<Condvar>();
    unwind_safe::<Barrier>();
    unwind_safe::<task::CancellationToken>();
    unwind_safe::<task::JoinHandle<u64>>();
    let q = queue::Queue::bounded(1);
    assert_eq!(
        std::panic::catch_unwind(|| q.try_put(1u64)).ok(),
        Some(Ok(()))
    );
    assert_eq!(q.try_get(), Ok(1));
}

//! `Send`/`Sync`/`Unpin` of every public type, asserted at compile time.
#![allow(dead_code)]

use std::cell::Cell;

use async_patterns::sync::*;

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
}

//! `RwLock`: readers vs writers, upgrades, and cancellation of a pending write,
//! of a pending upgrade (vs the last reader leaving) and of a queued writer (vs
//! the unlock that may notify it).

use std::pin::pin;

use async_patterns::sync::{RwLock, RwLockUpgradableReadGuard, RwLockUpgradableReadGuardArc};
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;

use crate::{Shared, model, poll_once, waiting};

/// A lock and the two fields it protects; a writer changes both, one after the
/// other. The fields sit next to the lock rather than in it, for the reason given
/// on `Counter` in `mutex.rs` (dereferencing a guard under loom).
struct Pair {
    lock: RwLock<()>,
    a: Shared<usize>,
    b: Shared<usize>,
}

impl Pair {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            lock: RwLock::new(()),
            a: Shared::new(0),
            b: Shared::new(0),
        })
    }

    /// Reads both fields. The caller holds a read, upgradable or write lock.
    fn read(&self) -> (usize, usize) {
        // SAFETY: the caller's lock excludes writers.
        unsafe { (self.a.get(), self.b.get()) }
    }

    /// Writes both fields, one after the other. The caller holds the write lock.
    fn write(&self, value: usize) {
        // SAFETY: the caller's write lock excludes every other access.
        unsafe {
            self.a.set(value);
            self.b.set(value);
        }
    }
}

/// Two readers and a writer: readers see both fields old or both new (never half a
/// write; loom also checks that no read overlaps the write), and everyone finishes.
#[test]
fn readers_vs_writer_consistent() {
    model(|| {
        let p = Pair::new();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let p = p.clone();
                thread::spawn(move || {
                    let _guard = block_on(p.lock.read());
                    let (a, b) = p.read();
                    assert_eq!(a, b, "a reader saw half a write");
                })
            })
            .collect();
        {
            let _guard = block_on(p.lock.write());
            p.write(1);
        }
        for r in readers {
            r.join().unwrap();
        }
        let _guard = p.lock.try_write().expect("the lock stayed held");
        assert_eq!(p.read(), (1, 1));
    });
}

/// An upgradable reader upgrades while another thread reads and leaves: the upgrade
/// waits for that reader (loom checks the read is ordered before the write),
/// completes, and its write is what later readers see.
#[test]
fn upgrade_waits_for_reader() {
    model(|| {
        let p = Pair::new();
        let up = block_on(p.lock.upgradable_read());

        let reader = {
            let p = p.clone();
            thread::spawn(move || {
                let _guard = block_on(p.lock.read());
                let (a, b) = p.read();
                assert_eq!(a, b, "a reader saw half a write");
            })
        };

        assert_eq!(p.read(), (0, 0));
        let writer = block_on(RwLockUpgradableReadGuard::upgrade(up));
        p.write(1);
        drop(writer);
        reader.join().unwrap();

        let _guard = p.lock.try_read().expect("the upgrade left a writer behind");
        assert_eq!(p.read(), (1, 1));
    });
}

/// A write future dropped while it waits for readers to leave (it holds the inner
/// mutex and has set `WRITER`) lets the readers it held back in, and a later writer
/// gets the lock.
#[test]
fn dropped_write_waiting_for_readers_releases() {
    model(|| {
        let p = Pair::new();
        let inside = p.lock.try_read().unwrap();

        let w = {
            let p = p.clone();
            thread::spawn(move || {
                let mut write = Box::pin(p.lock.write());
                // A reader is inside, so this takes the writers' mutex, sets WRITER
                // and waits for the reader count to reach zero.
                assert!(poll_once(write.as_mut()).is_pending());
                drop(write);
            })
        };
        let r = {
            let p = p.clone();
            thread::spawn(move || {
                let _guard = block_on(p.lock.read());
                assert_eq!(p.read(), (0, 0));
            })
        };

        w.join().unwrap();
        drop(inside);
        r.join().unwrap();

        let _guard = block_on(p.lock.write());
        p.write(1);
    });
}

/// Guards' own data accesses: a reader and a writer through the lock's data (loom
/// tracks the shared/exclusive tokens of the guards).
#[test]
fn guard_data_reader_vs_writer() {
    model(|| {
        let l = std::sync::Arc::new(async_patterns::sync::RwLock::new((0usize, 0usize)));
        let t = {
            let l = l.clone();
            loom::thread::spawn(move || {
                let r = loom::future::block_on(l.read());
                assert_eq!(r.0, r.1);
            })
        };
        {
            let mut w = loom::future::block_on(l.write());
            w.0 += 1;
            w.1 += 1;
        }
        t.join().unwrap();
        assert_eq!(*l.try_read().unwrap(), (1, 1));
    });
}

/// An upgrade is polled once and then dropped on one thread while the reader it
/// waits for leaves on another: whether the upgrade completed at its poll or was
/// dropped while waiting, the lock ends up entirely free (a dropped upgrade gives
/// back the upgradable read it consumed, and the reader count is right).
#[test]
fn dropped_upgrade_vs_last_reader_leaving() {
    model(|| {
        let lock = std::sync::Arc::new(RwLock::new(()));
        let up = lock.try_upgradable_read_arc().unwrap();
        let inside = lock.try_read_arc().unwrap();
        let upgrader = thread::spawn(move || {
            let _ = poll_once(pin!(RwLockUpgradableReadGuardArc::upgrade(up)));
        });
        let reader = thread::spawn(move || drop(inside));
        upgrader.join().unwrap();
        reader.join().unwrap();
        assert!(lock.try_write().is_some(), "the lock is not free");
    });
}

/// A writer queued behind another writer is polled once and dropped on one
/// thread while the first writer unlocks on the main thread and a reader waits on
/// a third: if the unlock's notification went to the dropped writer, it passes
/// on, so the reader gets in (a lost notification is a loom deadlock), and the
/// lock ends up free.
#[test]
fn queued_writer_dropped_vs_unlock() {
    model(|| {
        let lock = std::sync::Arc::new(RwLock::new(()));
        let held = lock.try_write_arc().unwrap();
        let queued = waiting(lock.write_arc());
        let dropper = thread::spawn(move || drop(queued));
        let reader = {
            let lock = lock.clone();
            thread::spawn(move || drop(block_on(lock.read_arc())))
        };
        drop(held);
        dropper.join().unwrap();
        reader.join().unwrap();
        assert!(lock.try_write().is_some(), "the lock is not free");
    });
}

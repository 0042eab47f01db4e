//! `sync::RwLock`: readers/writer semantics, upgrades, cancel safety, contention.

mod common;

use std::sync::Arc;

use async_patterns::sync::{
    RwLock, RwLockUpgradableReadGuard, RwLockUpgradableReadGuardArc, RwLockWriteGuard,
    RwLockWriteGuardArc,
};
/// Iterations of the threaded tests (fewer under miri, which is slow).
const ROUNDS: u64 = if cfg!(miri) { 20 } else { 500 };

use common::{drop_at_pending, now, pending};

#[test]
fn readers_share_writer_excludes() {
    let l = RwLock::new(1);
    let r1 = now(l.read());
    let r2 = l.try_read().unwrap();
    assert_eq!(*r1 + *r2, 2);
    assert!(l.try_write().is_none());
    drop((r1, r2));
    let mut w = l.try_write().unwrap();
    *w = 2;
    assert!(l.try_read().is_none());
    assert!(l.try_upgradable_read().is_none());
    assert_eq!(format!("{l:?}"), "RwLock { data: <locked> }");
    drop(w);
    assert_eq!(format!("{l:?}"), "RwLock { data: 2 }");
    let mut l = l;
    *l.get_mut() += 1;
    assert_eq!(l.into_inner(), 3);
}

#[test]
fn waiting_writer_blocks_new_readers_then_gets_in() {
    let l = RwLock::new(0);
    let r = l.try_read().unwrap();
    let mut w = pending(l.write());
    assert!(
        l.try_read().is_none(),
        "a writer waiting for readers stops new readers (no writer starvation)"
    );
    let mut late_reader = pending(l.read());
    drop(r);
    assert!(w.is_woken());
    *w.assert_ready() = 1;
    assert!(
        late_reader.is_woken(),
        "the writer's exit wakes the readers"
    );
    assert_eq!(*late_reader.assert_ready(), 1);
}

#[test]
fn writers_queue_behind_writers() {
    let l = RwLock::new(Vec::new());
    let w1 = l.try_write().unwrap();
    let mut w2 = pending(l.write());
    let mut w3 = pending(l.write());
    drop(w1);
    w2.assert_ready().push(2);
    w3.assert_ready().push(3);
    assert_eq!(*l.try_read().unwrap(), [2, 3]);
}

#[test]
fn upgradable_coexists_with_readers_and_upgrades() {
    let l = RwLock::new(1);
    let up = now(l.upgradable_read());
    let r = now(l.read());
    assert!(
        l.try_upgradable_read().is_none(),
        "one upgradable at a time"
    );
    assert!(l.try_write().is_none());
    let up = RwLockUpgradableReadGuard::try_upgrade(up).unwrap_err();
    let mut upgrade = pending(RwLockUpgradableReadGuard::upgrade(up));
    assert!(
        l.try_read().is_none(),
        "a pending upgrade stops new readers"
    );
    drop(r);
    assert!(upgrade.is_woken());
    let mut w = upgrade.assert_ready();
    *w = 2;
    let r = RwLockWriteGuard::downgrade(w);
    assert_eq!(*r, 2);
    assert!(l.try_read().is_some(), "downgraded: readers get in");
    assert!(l.try_write().is_none());
    drop(r);
    assert!(l.try_write().is_some());
}

#[test]
fn downgrade_to_upgradable_and_back() {
    let l = RwLock::new(0);
    let up = RwLockWriteGuard::downgrade_to_upgradable(now(l.write()));
    assert!(l.try_read().is_some());
    assert!(l.try_upgradable_read().is_none());
    let r = RwLockUpgradableReadGuard::downgrade(up);
    assert!(l.try_upgradable_read().is_some());
    drop(r);
    assert!(l.try_write().is_some());
}

#[test]
fn arc_twins() {
    let l = Arc::new(RwLock::new(1));
    let r = now(l.read_arc());
    assert_eq!(*r, 1);
    drop(r);
    let w = now(l.write_arc());
    let r = RwLockWriteGuardArc::downgrade(w);
    drop(r);
    let up = now(l.upgradable_read_arc());
    *now(RwLockUpgradableReadGuardArc::upgrade(up)) = 5;
    assert_eq!(*l.try_read_arc().unwrap(), 5);
    let up = l.try_upgradable_read_arc().unwrap();
    let w = RwLockUpgradableReadGuardArc::try_upgrade(up).unwrap();
    let up = RwLockWriteGuardArc::downgrade_to_upgradable(w);
    drop(RwLockUpgradableReadGuardArc::downgrade(up));
    assert!(l.try_write_arc().is_some());
    assert_eq!(Arc::strong_count(&l), 1);
}

// ---- cancel safety -------------------------------------------------------

#[test]
fn dropped_read_while_writer_holds() {
    let l = Arc::new(RwLock::new(0));
    let w = l.try_write().unwrap();
    drop_at_pending(l.read());
    drop_at_pending(l.read_arc());
    let mut c = pending(l.read());
    drop(w);
    assert_eq!(*c.assert_ready(), 0, "a remaining reader still gets in");
    assert!(l.try_write().is_some(), "no reader was left behind");
    assert_eq!(Arc::strong_count(&l), 1);
}

#[test]
fn dropped_write_waiting_for_readers_lets_readers_in() {
    let l = RwLock::new(0);
    let r = l.try_read().unwrap();
    let w = pending(l.write()); // holds the inner mutex, blocks new readers
    let mut late_reader = pending(l.read());
    drop(w);
    assert!(
        late_reader.is_woken(),
        "readers held back by the writer are woken"
    );
    let r2 = late_reader.assert_ready();
    drop((r, r2));
    assert!(l.try_write().is_some(), "nothing is left locked");
}

#[test]
fn dropped_write_waiting_for_writer_passes_on() {
    let l = RwLock::new(0);
    let w = l.try_write().unwrap();
    let a = pending(l.write());
    let mut b = pending(l.write());
    drop(w);
    drop(a); // woken, cancelled before it ran
    assert!(b.is_woken());
    *b.assert_ready() = 7;
    assert_eq!(*l.try_read().unwrap(), 7);
}

#[test]
fn dropped_write_arc_releases_everything() {
    let l = Arc::new(RwLock::new(0));
    let r = l.try_read_arc().unwrap();
    drop_at_pending(l.write_arc()); // held the inner mutex and WRITER while `r` read
    assert!(
        l.try_read_arc().is_some(),
        "readers can enter after the drop"
    );
    drop(r);
    assert!(l.try_write_arc().is_some(), "nothing is left locked");
    assert_eq!(Arc::strong_count(&l), 1);
}

#[test]
fn dropped_upgrade_releases_the_lock() {
    let l = RwLock::new(0);
    let up = l.try_upgradable_read().unwrap();
    let r = l.try_read().unwrap();
    let upgrade = pending(RwLockUpgradableReadGuard::upgrade(up));
    let mut late_reader = pending(l.read());
    drop(upgrade);
    assert!(late_reader.is_woken());
    drop(late_reader.assert_ready());
    drop(r);
    assert!(
        l.try_write().is_some(),
        "the upgrade's drop released everything"
    );
}

#[test]
fn upgrade_woken_then_dropped_before_it_runs_releases_the_lock() {
    let l = RwLock::new(0);
    let up = l.try_upgradable_read().unwrap();
    let r = l.try_read().unwrap();
    let upgrade = pending(RwLockUpgradableReadGuard::upgrade(up));
    let mut late_reader = pending(l.read());
    drop(r); // the last reader: the upgrade may go
    assert!(upgrade.is_woken());
    assert!(!late_reader.is_woken(), "the upgrade is in the way");
    drop(upgrade); // before it ran
    assert!(
        late_reader.is_woken(),
        "the reader waiting behind it is let in"
    );
    drop(late_reader.assert_ready());
    assert!(
        l.try_write().is_some(),
        "the upgrade's drop released everything"
    );
}

#[test]
fn dropped_upgrade_arc_releases_the_lock() {
    let l = Arc::new(RwLock::new(0));
    let up = l.try_upgradable_read_arc().unwrap();
    let r = l.try_read_arc().unwrap();
    let upgrade = pending(RwLockUpgradableReadGuardArc::upgrade(up));
    let mut late_reader = pending(l.read_arc());
    drop(upgrade);
    assert!(late_reader.is_woken());
    drop(late_reader.assert_ready());
    drop(r);
    assert!(
        l.try_write_arc().is_some(),
        "the upgrade's drop released everything"
    );
    assert_eq!(Arc::strong_count(&l), 1);
}

#[test]
fn dropped_upgradable_read_passes_on() {
    let l = Arc::new(RwLock::new(0));
    let up = l.try_upgradable_read().unwrap();
    let a = pending(l.upgradable_read());
    let mut b = pending(l.upgradable_read_arc());
    drop_at_pending(l.upgradable_read());
    drop(up);
    drop(a);
    drop(b.assert_ready());
    assert!(l.try_write().is_some());
}

// ---- contention ----------------------------------------------------------

#[test]
#[cfg(not(miri))] // a multi-thread tokio runtime: covered natively, too slow for miri
fn readers_and_writers_under_contention() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let l = Arc::new(RwLock::new((0u64, 0u64)));
        let writers_inside = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for t in 0..6 {
            let (l, writers_inside) = (l.clone(), writers_inside.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..300 {
                    if (t + i) % 5 == 0 {
                        let mut w = l.write().await;
                        assert_eq!(writers_inside.fetch_add(1, Ordering::SeqCst), 0);
                        w.0 += 1;
                        common::yield_now().await;
                        w.1 += 1;
                        writers_inside.fetch_sub(1, Ordering::SeqCst);
                    } else if i % 7 == 0 {
                        let up = l.upgradable_read().await;
                        let seen = *up;
                        let mut w = RwLockUpgradableReadGuard::upgrade(up).await;
                        assert_eq!(*w, seen, "nobody wrote between read and upgrade");
                        w.0 += 1;
                        w.1 += 1;
                    } else {
                        let r = l.read().await;
                        assert_eq!(writers_inside.load(Ordering::SeqCst), 0);
                        assert_eq!(r.0, r.1, "a reader never sees half a write");
                    }
                }
            }));
        }
        let mut expected = 0;
        for t in 0..6usize {
            for i in 0..300usize {
                if (t + i) % 5 == 0 || i % 7 == 0 {
                    expected += 1;
                }
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*l.read().await, (expected, expected));
    });
}

#[test]
fn blocking_twins() {
    let l = Arc::new(RwLock::new(0u64));
    std::thread::scope(|s| {
        for i in 0..4 {
            let l = l.clone();
            s.spawn(move || {
                for _ in 0..ROUNDS {
                    match i % 3 {
                        0 => *l.write_blocking() += 1,
                        1 => *l.write_arc_blocking() += 1,
                        _ => {
                            let up = l.upgradable_read_blocking();
                            drop(up);
                            let up = l.upgradable_read_arc_blocking();
                            let _ = *l.read_blocking() + *l.read_arc_blocking();
                            *futures_lite::future::block_on(
                                RwLockUpgradableReadGuardArc::upgrade(up),
                            ) += 1;
                        }
                    }
                }
            });
        }
    });
    assert_eq!(*l.read_blocking(), 4 * ROUNDS);
}

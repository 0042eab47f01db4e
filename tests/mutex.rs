//! `sync::Mutex`: semantics at poll level, cancel safety, fairness, contention.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_patterns::sync::{Mutex, MutexGuard, MutexGuardArc};
/// Iterations of the threaded tests (fewer under miri, which is slow).
const ROUNDS: u64 = if cfg!(miri) { 20 } else { 500 };

use common::{Task, drop_at_pending, now, pending};

#[test]
fn lock_try_lock_and_data() {
    let m = Mutex::new(10);
    {
        let mut g = now(m.lock());
        *g += 1;
        assert!(m.is_locked());
        assert!(m.try_lock().is_none());
        assert!(std::ptr::eq(MutexGuard::source(&g), &m));
    }
    assert!(!m.is_locked());
    assert_eq!(*m.try_lock().unwrap(), 11);
    let mut m = m;
    *m.get_mut() += 1;
    assert_eq!(m.into_inner(), 12);
}

#[test]
fn debug_shows_locked() {
    let m = Mutex::new(5);
    assert_eq!(format!("{m:?}"), "Mutex { data: 5 }");
    let g = m.try_lock().unwrap();
    assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
    assert_eq!(format!("{g:?}"), "5");
}

#[test]
fn unsized_data() {
    let m: &Mutex<[u8]> = &Mutex::new([1u8, 2, 3]);
    now(m.lock())[1] = 9;
    assert_eq!(&*m.try_lock().unwrap(), &[1, 9, 3]);
}

#[test]
fn waiter_is_woken_by_unlock() {
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    let mut waiter = pending(m.lock());
    assert!(!waiter.is_woken());
    drop(g);
    assert_eq!(waiter.wakes(), 1, "unlock wakes exactly the waiter");
    let mut g = waiter.assert_ready();
    *g += 1;
    drop(g);
    assert!(!m.is_locked());
}

#[test]
fn waiters_are_served_in_order() {
    let m = Mutex::new(Vec::new());
    let g = m.try_lock().unwrap();
    let mut a = pending(m.lock());
    let mut b = pending(m.lock());
    drop(g);
    assert!(a.is_woken() && !b.is_woken());
    let mut ga = a.assert_ready();
    ga.push('a');
    b.assert_pending();
    drop(ga);
    assert!(b.is_woken());
    b.assert_ready().push('b');
    assert_eq!(*m.try_lock().unwrap(), ['a', 'b']);
}

// ---- cancel safety -------------------------------------------------------

#[test]
fn dropped_pending_lock_leaves_lock_usable() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    drop_at_pending(m.lock());
    drop(g);
    assert!(!m.is_locked());
    assert!(
        m.try_lock().is_some(),
        "nothing holds the lock after the drop"
    );
}

#[test]
fn dropped_notified_lock_passes_the_wakeup_on() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    let a = pending(m.lock());
    let mut b = pending(m.lock());
    drop(g); // the wake-up goes to `a`
    assert!(a.is_woken());
    assert!(!b.is_woken());
    drop(a); // ... which is cancelled before it runs
    assert!(b.is_woken(), "the wake-up passed on to the next waiter");
    let _g = b.assert_ready();
}

#[test]
fn dropped_lock_arc_passes_the_wakeup_on() {
    let m = Arc::new(Mutex::new(1));
    let g = m.try_lock_arc().unwrap();
    let a = pending(m.lock_arc());
    let mut b = pending(m.lock_arc());
    drop_at_pending(m.lock_arc());
    drop(g);
    drop(a);
    let g = b.assert_ready();
    assert!(Arc::ptr_eq(MutexGuardArc::source(&g), &m));
    drop(g);
    assert!(m.try_lock().is_some());
    assert_eq!(Arc::strong_count(&m), 1, "no future or guard keeps the Arc");
}

#[test]
fn dropped_starving_waiter_gives_its_priority_back() {
    let m = Mutex::new(());
    let mut g = Some(m.try_lock().unwrap());
    let mut w = pending(m.lock());
    // Another task relocks every time before the waiter runs, until the waiter
    // starves: then a newcomer cannot take the lock any more.
    for _ in 0..50 {
        drop(g.take());
        assert!(w.is_woken());
        match m.try_lock() {
            Some(again) => {
                g = Some(again);
                w.assert_pending();
            }
            None => break,
        }
    }
    assert!(
        g.is_none(),
        "a starving waiter blocks newcomers within a few rounds"
    );
    assert!(
        !m.is_locked(),
        "the lock is free, reserved for the starving waiter"
    );
    drop(w); // cancelled while it had priority
    assert!(
        m.try_lock().is_some(),
        "after the starving waiter left, newcomers take the lock again"
    );
}

// ---- fairness ------------------------------------------------------------

#[test]
fn waiter_is_not_starved_by_a_relocking_task_poll_level() {
    let m = Mutex::new(0u32);
    let mut g = Some(m.try_lock().unwrap());
    let mut waiter = Task::new(m.lock());
    waiter.assert_pending();
    // The holder unlocks and relocks at once, each time before the waiter runs.
    for round in 0..50 {
        drop(g.take());
        match m.try_lock() {
            Some(again) => g = Some(again),
            None => {
                // The newcomer had to queue: the waiter gets the lock.
                let mut got = waiter.assert_ready();
                *got += 1;
                assert!(round >= 1, "barging is allowed at first (throughput)");
                return;
            }
        }
        assert!(waiter.is_woken());
        waiter.assert_pending();
    }
    panic!("the waiter never got the lock");
}

#[test]
#[cfg(not(miri))] // a multi-thread tokio runtime: covered natively, too slow for miri
fn waiter_is_not_starved_by_a_relocking_task_threads() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    // Stops the hog however this test ends (a runtime cannot shut down while a task
    // spins without yielding).
    struct StopOnDrop(Arc<AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_guard = StopOnDrop(stop.clone());
    rt.block_on(async {
        let m = Arc::new(Mutex::new(0u64));
        let hog = {
            let (m, stop) = (m.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    *m.lock().await += 1; // relock in a tight loop, never yielding
                    n += 1;
                }
                n
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let start = Instant::now();
        for _ in 0..100 {
            let _g = m.lock().await; // must get through every time
        }
        let waited = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        let relocks = hog.await.unwrap();
        assert!(relocks > 0);
        assert!(
            waited < Duration::from_secs(10),
            "a waiter got the lock 100 times while another task relocked in a loop"
        );
    });
}

// ---- contention ----------------------------------------------------------

#[test]
#[cfg(not(miri))] // a multi-thread tokio runtime: covered natively, too slow for miri
fn mutual_exclusion_under_contention() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let m = Arc::new(Mutex::new(0u64));
        let inside = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (m, inside) = (m.clone(), inside.clone());
                tokio::spawn(async move {
                    for i in 0..500 {
                        let mut g = m.lock().await;
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                        let read = *g;
                        if i % 7 == 0 {
                            common::yield_now().await; // hold the lock across a yield
                        }
                        *g = read + 1;
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*m.lock().await, 8 * 500);
    });
}

#[test]
fn blocking_twins_exclude_each_other() {
    let m = Arc::new(Mutex::new(0u64));
    std::thread::scope(|s| {
        for _ in 0..4 {
            let m = m.clone();
            s.spawn(move || {
                for _ in 0..ROUNDS {
                    *m.lock_blocking() += 1;
                }
                for _ in 0..ROUNDS {
                    *m.lock_arc_blocking() += 1;
                }
            });
        }
    });
    assert_eq!(*m.lock_blocking(), 8 * ROUNDS);
}

#[test]
fn a_panic_while_locked_releases_the_lock() {
    let m = Arc::new(Mutex::new(1));
    let m2 = m.clone();
    let result = std::thread::spawn(move || {
        let _g = m2.lock_blocking();
        panic!("boom");
    })
    .join();
    assert!(result.is_err());
    assert_eq!(*m.try_lock().expect("no poisoning, lock released"), 1);
}

#[test]
fn static_mutex_and_sizes() {
    static M: Mutex<u32> = Mutex::new(0);
    *now(M.lock()) += 1;
    assert_eq!(*M.try_lock().unwrap(), 1);
    assert!(std::mem::size_of::<Mutex<()>>() <= 16);
}

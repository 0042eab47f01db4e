//! A readers-writer lock (asyncio has none; `aiorwlock` adds one) ->
//! `sync::RwLock`: a price cache read by many tasks and refreshed by one.
//!
//! Four readers look the price up again and again, each holding its read guard
//! across an `await`: they are inside at the same time, which a `Mutex` would not
//! allow. A refresher takes an *upgradable* read to check whether the price is
//! stale, while the readers go on reading, and upgrades to a write only if it
//! must: the upgrade waits for the readers inside to leave and lets no new one in,
//! so the refresh happens once and every read after it sees the new price.
//!
//! Run it with `cargo run --example rwlock`.

use std::cell::Cell;
use std::rc::Rc;

use async_patterns::future::yield_now; // asyncio's `await asyncio.sleep(0)`
use async_patterns::sync::{RwLock, RwLockUpgradableReadGuard};
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

/// How many readers share the cache.
const READERS: usize = 4;
/// How many lookups each reader makes.
const LOOKUPS: usize = 6;

/// The cached price and how many times it was refreshed.
struct Cache {
    price: u32,
    refreshes: u32,
}

/// Runs the readers and the refresher; prints what happened and returns the most
/// readers that were inside at once and the number of refreshes.
///
/// # Panics
///
/// Panics if the readers never overlapped, if the price was refreshed other than
/// once, or if a reader saw the old price after the new one.
pub fn demo() -> (usize, u32) {
    let cache = Rc::new(RwLock::new(Cache {
        price: 100,
        refreshes: 0,
    }));
    let inside = Rc::new(Cell::new(0_usize));
    let most_inside = Rc::new(Cell::new(0_usize));
    let mut pool = LocalPool::new();

    for reader in 0..READERS {
        let (cache, inside, most_inside) = (
            Rc::clone(&cache),
            Rc::clone(&inside),
            Rc::clone(&most_inside),
        );
        pool.spawner()
            .spawn_local(async move {
                let mut seen = Vec::new();
                for _ in 0..LOOKUPS {
                    let cached = cache.read().await;
                    inside.set(inside.get() + 1);
                    most_inside.set(most_inside.get().max(inside.get()));
                    yield_now().await; // the other readers come in meanwhile
                    seen.push(cached.price);
                    inside.set(inside.get() - 1);
                    drop(cached);
                    yield_now().await;
                }
                println!("  reader {reader} saw {seen:?}");
                assert!(
                    seen.windows(2).all(|pair| pair[0] <= pair[1]),
                    "the old price came back after the new one"
                );
            })
            .expect("a LocalPool accepts tasks while it exists");
    }

    let refresher = Rc::clone(&cache);
    pool.spawner()
        .spawn_local(async move {
            for _ in 0..3 {
                yield_now().await; // let the readers start
            }
            // Two checks, as two callers noticing staleness would make: only the
            // first finds the price stale and upgrades.
            for check in 1..=2 {
                let cached = refresher.upgradable_read().await;
                if cached.refreshes > 0 {
                    println!("  check {check}: the price is fresh, no write needed");
                    continue;
                }
                println!("  check {check}: stale price {}, upgrading", cached.price);
                let mut cached = RwLockUpgradableReadGuard::upgrade(cached).await;
                cached.price = 120;
                cached.refreshes += 1;
                println!("  refreshed: the price is now {}", cached.price);
            }
        })
        .expect("a LocalPool accepts tasks while it exists");

    pool.run();
    let cache = Rc::try_unwrap(cache)
        .ok()
        .expect("every task has finished")
        .into_inner();
    println!(
        "at most {} readers were inside at once; {} refresh",
        most_inside.get(),
        cache.refreshes
    );
    assert!(most_inside.get() > 1, "the readers should overlap");
    assert_eq!(cache.refreshes, 1);
    assert_eq!(cache.price, 120);
    (most_inside.get(), cache.refreshes)
}

// Unused when `tour.rs` includes this file as a module and calls `demo` itself.
#[allow(dead_code)]
fn main() {
    demo();
}

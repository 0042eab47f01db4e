//! Loom models of the state machines behind `Mutex`, `RwLock` and `Semaphore`.
//!
//! Run with (a separate target dir keeps the normal build cache intact):
//!
//! ```text
//! CARGO_TARGET_DIR=target/loom RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test --release --test loom
//! ```
//!
//! Every model spawns real loom threads and checks one property. Without
//! `--cfg loom` this file compiles to nothing.
#![cfg(loom)]

mod probe;

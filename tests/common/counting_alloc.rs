//! A global allocator that keeps a per-thread tally of live heap bytes and of
//! allocations, for the memory tests (`tests/queue_memory.rs`,
//! `tests/task_memory.rs`, `tests/wait_memory.rs`) and `benches/stream.rs`: each
//! installs it with `#[global_allocator] static ALLOCATOR: Counting = Counting;`
//! and reads [`live`] or [`allocations`]. Per thread, so the harness's other
//! threads don't disturb the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Forwards to `System` and counts.
pub struct Counting;

thread_local! {
    /// Live heap bytes allocated by this thread (wrapping: a thread may free what
    /// another allocated).
    static LIVE: Cell<usize> = const { Cell::new(0) };
    /// Allocations made by this thread (`alloc`, `alloc_zeroed` and `realloc`).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn tally(f: impl FnOnce(usize) -> usize) {
    // `try_with`: nothing to count once the thread-local is gone (thread exit).
    let _ = LIVE.try_with(|live| live.set(f(live.get())));
}

/// `tally`, for an allocation (or reallocation) of `f`'s new live count.
fn tally_allocation(f: impl FnOnce(usize) -> usize) {
    tally(f);
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded to `System` unchanged; only a counter is updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            tally_allocation(|live| live.wrapping_add(layout.size()));
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            tally_allocation(|live| live.wrapping_add(layout.size()));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) };
        tally(|live| live.wrapping_sub(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            tally_allocation(|live| live.wrapping_sub(layout.size()).wrapping_add(new_size));
        }
        new
    }
}

/// Live heap bytes allocated by this thread so far.
#[allow(dead_code)] // the bench reads `allocations` only
pub fn live() -> usize {
    LIVE.with(Cell::get)
}

/// Allocations made by this thread so far.
#[allow(dead_code)] // the memory tests read `live` only
pub fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

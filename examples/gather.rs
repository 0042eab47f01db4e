//! asyncio.gather -> `future::join_all` and `future::try_join_all`.
//!
//! Three downloads run concurrently in one task; their results come back in the
//! order the downloads were given, whichever finished first:
//!
//! ```python
//! sizes = await asyncio.gather(fetch("a", 3), fetch("b", 1), fetch("c", 2))
//! ```
//!
//! Then the same with a download that fails: like `gather` raising the first
//! exception, `try_join_all` returns the first error, and the downloads still
//! running are dropped (cancelled; each one's `Drop` says so).
//!
//! Run it with `cargo run --example gather`.

use std::cell::RefCell;

use async_patterns::future::{join_all, try_join_all, yield_now};
use futures::executor::block_on;

/// Logs `"<name> cancelled"` if dropped before it is defused.
struct CancelNotice<'a> {
    name: &'static str,
    log: &'a RefCell<Vec<String>>,
    done: bool,
}

impl Drop for CancelNotice<'_> {
    fn drop(&mut self) {
        if !self.done {
            println!("  {}: cancelled", self.name);
            self.log
                .borrow_mut()
                .push(format!("{} cancelled", self.name));
        }
    }
}

/// A download of `chunks` chunks, one per turn (`yield_now` is asyncio's
/// `sleep(0)`); fails at its chunk `fail_at` if given. Returns its size.
async fn fetch(
    name: &'static str,
    chunks: usize,
    fail_at: Option<usize>,
    log: &RefCell<Vec<String>>,
) -> Result<usize, String> {
    let mut notice = CancelNotice {
        name,
        log,
        done: false,
    };
    for chunk in 0..chunks {
        if fail_at == Some(chunk) {
            notice.done = true;
            println!("  {name}: failed at chunk {chunk}");
            return Err(format!("{name}: connection reset"));
        }
        println!("  {name}: chunk {chunk}");
        log.borrow_mut().push(format!("{name} {chunk}"));
        yield_now().await;
    }
    notice.done = true;
    println!("  {name}: done");
    Ok(chunks * 100)
}

/// Runs both gathers; returns the sizes of the first and the error of the second.
pub fn demo() -> (Vec<usize>, String) {
    let log = RefCell::new(Vec::new());
    let sizes = block_on(join_all([
        fetch("a", 3, None, &log),
        fetch("b", 1, None, &log),
        fetch("c", 2, None, &log),
    ]));
    let sizes: Vec<usize> = sizes.into_iter().map(|size| size.unwrap()).collect();
    println!("  sizes, in the order given: {sizes:?}");
    assert_eq!(sizes, [300, 100, 200], "outputs in input order");
    assert_eq!(
        log.borrow()[..3],
        ["a 0", "b 0", "c 0"],
        "the downloads ran side by side"
    );

    log.borrow_mut().clear();
    let failed = block_on(try_join_all([
        fetch("a", 3, None, &log),
        fetch("b", 3, Some(1), &log),
        fetch("c", 3, None, &log),
    ]));
    let error = failed.expect_err("b fails");
    println!("  gather raised: {error}");
    assert_eq!(error, "b: connection reset");
    let log = log.borrow();
    assert!(
        log.contains(&"a cancelled".to_string()) && log.contains(&"c cancelled".to_string()),
        "the other downloads were cancelled: {log:?}"
    );
    (sizes, error)
}

#[allow(dead_code)]
fn main() {
    demo();
}

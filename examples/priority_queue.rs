//! asyncio.PriorityQueue and asyncio.LifoQueue -> `queue::Queue::unbounded_priority`
//! and `queue::Queue::bounded_lifo`.
//!
//! A help desk: tickets arrive as `(priority, number, text)`, and the agent always
//! takes the most urgent one (the smallest tuple, as asyncio's heap does; equal
//! items come out in the order they were put). New tickets arriving while the
//! agent works are sorted in:
//!
//! ```python
//! tickets = asyncio.PriorityQueue()
//! await tickets.put((2, 1, "printer jam"))
//! priority, number, text = await tickets.get()
//! ```
//!
//! Then an undo stack (a LIFO queue): the last edit is undone first.
//!
//! Run it with `cargo run --example priority_queue`.

use async_patterns::future::yield_now;
use async_patterns::queue::Queue;
use futures::executor::block_on;
use futures::future::join;

/// A ticket: priority (1 is most urgent), arrival number, text.
type Ticket = (u8, u32, &'static str);

/// Runs the help desk and the undo stack; returns the order in which tickets were
/// served and the order in which edits were undone.
pub fn demo() -> (Vec<u32>, Vec<&'static str>) {
    let tickets: Queue<Ticket> = Queue::unbounded_priority();
    let arrivals: [(Ticket, bool); 5] = [
        ((3, 1, "new mouse"), false),
        ((2, 2, "printer jam"), false),
        ((1, 3, "server down"), false),
        // These two arrive while the agent works on the first ticket.
        ((3, 4, "password hint"), true),
        ((1, 5, "payroll broken"), true),
    ];
    let served = block_on(async {
        for (ticket, _) in arrivals.iter().filter(|(_, later)| !later) {
            tickets.put(*ticket).await.expect("the desk is open");
        }
        let late = async {
            yield_now().await; // the agent takes its first ticket meanwhile
            for (ticket, _) in arrivals.iter().filter(|(_, later)| *later) {
                println!("  new ticket {}: {:?}", ticket.1, ticket.2);
                tickets.put(*ticket).await.expect("the desk is open");
            }
            tickets.shutdown(); // no more tickets today
        };
        let agent = async {
            let mut served = Vec::new();
            while let Ok((priority, number, text)) = tickets.get().await {
                println!("  agent: ticket {number} (priority {priority}): {text}");
                served.push(number);
                yield_now().await; // working on it
            }
            served
        };
        join(late, agent).await.1
    });
    // "server down" first; "payroll broken" (priority 1, arrived later) next,
    // ahead of the older priority-2 and priority-3 tickets.
    assert_eq!(served, [3, 5, 2, 1, 4]);

    let edits = Queue::bounded_lifo(10);
    for edit in ["type 'hello'", "bold", "insert image"] {
        edits.try_put(edit).expect("room for ten edits");
    }
    let mut undone = Vec::new();
    while let Ok(edit) = edits.try_get() {
        println!("  undo: {edit}");
        undone.push(edit);
    }
    assert_eq!(undone, ["insert image", "bold", "type 'hello'"]);
    (served, undone)
}

#[allow(dead_code)]
fn main() {
    demo();
}

//! Async generators and small stream helpers: asyncio's `async def` with `yield`,
//! `async for`, and async comprehensions.
//!
//! | asyncio | here |
//! | --- | --- |
//! | `async def gen(): ... yield x` | [`generate`]`(|mut out| async move { out.emit(x).await; ... })` |
//! | an async generator that raises | [`try_generate`] (items are `Result`s, the error ends the stream) |
//! | `async for x in gen:` | `while let Some(x) = `[`next`]`(&mut stream).await` |
//! | `[x async for x in gen]` | a loop over [`next`] pushing into a `Vec` |
//! | iterating a list with `await asyncio.sleep(0)` between items | [`iter`] |
//!
//! The streams implement `futures_core::Stream`, so `futures`' and
//! `futures-lite`'s `StreamExt` work on them too.

mod generate;
mod iter;
mod next;

pub use generate::{Emit, Emitter, Generate, TryGenerate, generate, try_generate};
pub use iter::{Iter, iter};
pub use next::{Next, next};

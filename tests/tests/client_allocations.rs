//! The streaming row API allocates nothing per row: the rows are views of
//! the connection's read buffers, and a streamed result cycles through the
//! same few buffers once the rows taken from them are dropped. Counted with
//! a counting global allocator around a 100,000-row result from the real
//! cluster (skipped without it).

// A global allocator is an unsafe trait: this one only counts and forwards.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use postwire_server::client::connect;

mod real_pg;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is the only addition.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ROWS: u64 = 100_000;
const SQL: &str = "SELECT g, 'name ' || g, 'the quick brown fox', g::int8 * 1000003, g % 3 = 0, g * 0.25::float8 \
                   FROM generate_series(1, 100000) g";

#[tokio::test(flavor = "current_thread")]
async fn a_streamed_result_allocates_nothing_per_row() {
    let Some(config) = real_pg::trust_config("POSTWIRE_PG_PORT") else { return };
    let client = connect(&config).await.unwrap();
    // Once, so the statement cache and the buffers are warm.
    let mut rows = client.query_stream(SQL, &[]).await.unwrap();
    while rows.next().await.unwrap().is_some() {}

    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut rows = client.query_stream(SQL, &[]).await.unwrap();
    let (mut n, mut sum) = (0u64, 0i64);
    while let Some(row) = rows.next().await.unwrap() {
        sum += i64::from(row.get::<i32>(0).unwrap().unwrap());
        n += 1;
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!((n, sum), (ROWS, (1..=100_000).sum::<i64>()));
    // Per query: the request, the stream's channel and the read buffers it
    // cycles through (17 when written); none per row or per read. Before the
    // buffers were reused, this was about 300.
    assert!(allocations < 30, "{allocations} allocations for {ROWS} streamed rows");
}

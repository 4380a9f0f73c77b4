//! The streaming row API allocates nothing per row: the rows are views of
//! the connection's read buffers, and a streamed result cycles through the
//! same few buffers once the rows taken from them are dropped. Counted with
//! a counting global allocator around a 100,000-row result from the real
//! cluster (skipped without it).

use postwire_server::client::connect;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

mod real_pg;

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

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

    let region = Region::new(GLOBAL);
    let mut rows = client.query_stream(SQL, &[]).await.unwrap();
    let (mut n, mut sum) = (0u64, 0i64);
    while let Some(row) = rows.next().await.unwrap() {
        sum += i64::from(row.get::<i32>(0).unwrap().unwrap());
        n += 1;
    }
    let change = region.change();
    let allocations = change.allocations + change.reallocations;
    assert_eq!((n, sum), (ROWS, (1..=100_000).sum::<i64>()));
    // Per query: the request, the stream's channel and the read buffers it
    // cycles through (17 when written); none per row or per read. Before the
    // buffers were reused, this was about 300.
    assert!(allocations < 30, "{allocations} allocations for {ROWS} streamed rows");
}

//! postwire's client against tokio-postgres on the same PostgreSQL, in the
//! same run: 10,000 `SELECT $1::int4` pipelined on one connection, and a
//! 100,000-row × 6-column result. `bench/client.sh` starts a temporary
//! PostgreSQL and runs it; ratios are what count.
//!
//! ```text
//! client-bench <port>    # user fe_trust, database fe, on 127.0.0.1
//! ```

use std::time::{Duration, Instant};

use futures_util::future;
use postwire_server::Value;
use postwire_server::client::{ClientConfig, connect};

const QUERIES: i32 = 10_000;
const ROWS: &str = "SELECT i, 'name ' || i, md5(i::text), i::int8 * 1000, i % 2 = 0, i / 7.0::float8 \
    FROM generate_series(1, 100000) AS i";

/// The best of `runs` timings of `f`.
async fn best<F: AsyncFnMut() -> usize>(runs: usize, mut f: F) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut n = 0;
    for _ in 0..runs {
        let start = Instant::now();
        n = f().await;
        best = best.min(start.elapsed());
    }
    (best, n)
}

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).expect("client-bench <port>");
    let ours = connect(&ClientConfig {
        host: "127.0.0.1".into(),
        port,
        user: "fe_trust".into(),
        password: None,
        database: "fe".into(),
        application_name: None,
        // tokio-postgres below runs without TLS too.
        ssl_mode: postwire_server::client::SslMode::Disable,
        ..Default::default()
    })
    .await
    .expect("postwire client");
    let mut config = tokio_postgres::Config::new();
    config.host("127.0.0.1").port(port).user("fe_trust").dbname("fe");
    let (theirs, connection) = config.connect(tokio_postgres::NoTls).await.expect("tokio-postgres");
    tokio::spawn(connection);
    let statement = theirs.prepare("SELECT $1::int4").await.expect("prepare");

    let (ours_pipeline, n) = best(3, async || {
        let calls = (0..QUERIES).map(|i| {
            let ours = &ours;
            async move { ours.query("SELECT $1::int4", &[Value::Int4(i)]).await }
        });
        future::join_all(calls).await.into_iter().filter(|r| r.is_ok()).count()
    })
    .await;
    assert_eq!(n, QUERIES as usize);
    let (theirs_pipeline, n) = best(3, async || {
        let calls = (0..QUERIES).map(|i| {
            let (theirs, statement) = (&theirs, &statement);
            async move { theirs.query_one(statement, &[&i]).await }
        });
        future::join_all(calls).await.into_iter().filter(|r| r.is_ok()).count()
    })
    .await;
    assert_eq!(n, QUERIES as usize);

    let (ours_rows, n) = best(3, async || ours.simple_query(ROWS).await.expect("rows").rows.len()).await;
    assert_eq!(n, 100_000);
    let (theirs_rows, n) = best(3, async || {
        theirs
            .simple_query(ROWS)
            .await
            .expect("rows")
            .iter()
            .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
            .count()
    })
    .await;
    assert_eq!(n, 100_000);

    let qps = |d: Duration| f64::from(QUERIES) / d.as_secs_f64();
    let rps = |d: Duration| 100_000.0 / d.as_secs_f64();
    println!(
        "10,000 pipelined SELECT $1::int4: postwire {:.0}/s, tokio-postgres {:.0}/s (prepared, join_all): {:.2}x",
        qps(ours_pipeline),
        qps(theirs_pipeline),
        qps(ours_pipeline) / qps(theirs_pipeline)
    );
    println!(
        "100,000 rows x 6 columns: postwire {:.0} rows/s, tokio-postgres {:.0} rows/s (simple query, text): {:.2}x",
        rps(ours_rows),
        rps(theirs_rows),
        rps(ours_rows) / rps(theirs_rows)
    );
}

//! postwire's client against tokio-postgres and sqlx on the same PostgreSQL,
//! in the same run (`bash bench/client.sh`); ratios are what count.
//!
//! ```text
//! postwire-client-bench <port>    # user fe_trust, database fe, on 127.0.0.1
//! ```
//!
//! `POSTWIRE_BENCH_ONLY=pipeline` runs only the pipelined small queries (and
//! the batch; `pipeline-postwire`: without tokio-postgres, to profile),
//! `POSTWIRE_BENCH_RUNS=n` sets the rounds (default 5),
//! `POSTWIRE_BENCH_VERBOSE=1` prints each round's pipeline figures (with the
//! process's context switches), `POSTWIRE_BENCH_RUNTIME=current-thread` runs
//! everything on one thread instead of tokio's multi-threaded runtime,
//! `POSTWIRE_BENCH_HOST=/socket/dir` connects all three clients through the
//! cluster's Unix socket instead of TCP (`bench/client.sh` sets it from
//! `POSTWIRE_BENCH_UNIX=1`).

use std::time::{Duration, Instant};

use futures_util::{TryStreamExt, future};
use postwire_server::Value;
use postwire_server::client::{Client, ClientConfig, SslMode, connect};
use sqlx::Connection as _;
use sqlx::Row as _;
use sqlx::postgres::PgConnection;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

/// Counts every allocation in the process (all threads).
#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const QUERIES: i32 = 10_000;
const ROWS: usize = 100_000;
/// The rows come from a table made once, so the server's work per row is
/// a scan and the output, not computing the values.
const SETUP_SQL: &str = "DROP TABLE IF EXISTS bench_rows; \
    CREATE TABLE bench_rows AS SELECT i AS id, 'name ' || i AS name, md5(i::text) AS digest, \
    i::int8 * 1000 AS amount, i % 2 = 0 AS even, i / 7.0::float8 AS ratio FROM generate_series(1, 100000) AS i";
const ROWS_SQL: &str = "SELECT id, name, digest, amount, even, ratio FROM bench_rows";
const RUNS: usize = 5;
/// Timings per workload within a round.
const REPEAT: usize = 1;

thread_local! {
    /// The process CPU time (user + system, all threads) of the last `best`.
    static LAST_CPU: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
    /// The process's context switches (voluntary and not) in the last `best`.
    static LAST_SWITCHES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// User + system CPU time of the whole process so far, and its context
/// switches.
fn process_cpu() -> (Duration, u64) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (tv(usage.ru_utime) + tv(usage.ru_stime), (usage.ru_nvcsw + usage.ru_nivcsw) as u64)
}

/// Time PostgreSQL's backend process `pid` has run on a CPU so far
/// (`/proc/<pid>/schedstat`, in nanoseconds; 0 where it cannot be read).
fn backend_cpu(pid: i32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap_or_default();
    Duration::from_nanos(stat.split_whitespace().next().and_then(|ns| ns.parse().ok()).unwrap_or(0))
}

/// PostgreSQL's backend during a client's fastest pipelined round: its CPU
/// time per query, and the share of the round's wall time it was running
/// (near 100 %: the server, not the client, set the pace).
#[derive(Clone, Copy)]
struct ServerShare {
    wall: Duration,
    cpu: Duration,
}

impl ServerShare {
    const NONE: ServerShare = ServerShare { wall: Duration::MAX, cpu: Duration::ZERO };

    fn keep_faster(&mut self, wall: Duration, cpu: Duration) {
        if wall < self.wall {
            *self = ServerShare { wall, cpu };
        }
    }

    fn describe(&self, queries: i32) -> String {
        let per_query = self.cpu.as_secs_f64() * 1e6 / f64::from(queries);
        format!("{per_query:.2} µs, busy {:.0} %", 100.0 * self.cpu.as_secs_f64() / self.wall.as_secs_f64())
    }
}

fn last_cpu() -> Duration {
    LAST_CPU.with(|c| c.get())
}

fn last_switches() -> u64 {
    LAST_SWITCHES.with(|c| c.get())
}

/// The best of `REPEAT` timings of `f`, and its last answer; the process
/// CPU time of that run goes to [`last_cpu`] (the client's work: the server
/// is another process).
async fn best<F: AsyncFnMut() -> usize>(mut f: F) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut n = 0;
    for _ in 0..REPEAT {
        let (start, cpu) = (Instant::now(), process_cpu());
        n = f().await;
        let (wall, end) = (start.elapsed(), process_cpu());
        if wall < best {
            best = wall;
            LAST_CPU.with(|c| c.set(end.0 - cpu.0));
            LAST_SWITCHES.with(|c| c.set(end.1 - cpu.1));
        }
    }
    (best, n)
}

/// One workload's best rate (units per second) and client CPU per unit
/// (µs) for postwire and the other client.
struct Measured {
    name: &'static str,
    unit: &'static str,
    ours: (f64, f64),
    theirs: (f64, f64),
}

impl Measured {
    fn new(
        name: &'static str,
        unit: &'static str,
        units: f64,
        ours: (Duration, Duration),
        theirs: (Duration, Duration),
    ) -> Self {
        let rate = |(wall, cpu): (Duration, Duration)| (units / wall.as_secs_f64(), cpu.as_secs_f64() * 1e6 / units);
        Measured { name, unit, ours: rate(ours), theirs: rate(theirs) }
    }

    /// Keeps the higher rates and the lower CPU costs.
    fn keep_best(&mut self, other: &Measured) {
        self.ours = (self.ours.0.max(other.ours.0), self.ours.1.min(other.ours.1));
        self.theirs = (self.theirs.0.max(other.theirs.0), self.theirs.1.min(other.theirs.1));
    }
}

/// Touches every column of a postwire row (binary format).
fn use_row(row: &postwire_server::client::Row) -> usize {
    let a = row.get::<i32>(0).unwrap().unwrap() as usize;
    let b = row.get::<&str>(1).unwrap().unwrap().len();
    let c = row.get::<&str>(2).unwrap().unwrap().len();
    let d = row.get::<i64>(3).unwrap().unwrap() as usize;
    let e = usize::from(row.get::<bool>(4).unwrap().unwrap());
    let f = row.get::<f64>(5).unwrap().unwrap() as usize;
    a ^ b ^ c ^ d ^ e ^ f
}

fn use_tp_row(row: &tokio_postgres::Row) -> usize {
    let a = row.get::<_, i32>(0) as usize;
    let b = row.get::<_, &str>(1).len();
    let c = row.get::<_, &str>(2).len();
    let d = row.get::<_, i64>(3) as usize;
    let e = usize::from(row.get::<_, bool>(4));
    let f = row.get::<_, f64>(5) as usize;
    a ^ b ^ c ^ d ^ e ^ f
}

async fn postwire_stream(ours: &Client) -> usize {
    let mut rows = ours.query_stream(ROWS_SQL, &[]).await.unwrap();
    let mut n = 0;
    while let Some(row) = rows.next().await.unwrap() {
        std::hint::black_box(use_row(&row));
        n += 1;
    }
    n
}

async fn tokio_postgres_stream(theirs: &tokio_postgres::Client, statement: &tokio_postgres::Statement) -> usize {
    let rows = theirs.query_raw(statement, std::iter::empty::<i32>()).await.unwrap();
    let mut rows = std::pin::pin!(rows);
    let mut n = 0;
    while let Some(row) = rows.try_next().await.unwrap() {
        std::hint::black_box(use_tp_row(&row));
        n += 1;
    }
    n
}

fn main() {
    // Both clients run on the same runtime: tokio's multi-threaded one (as
    // `#[tokio::main]` sets it up), or with `POSTWIRE_BENCH_RUNTIME=current-thread`
    // one thread for the callers and the connections' tasks alike.
    let runtime = match std::env::var("POSTWIRE_BENCH_RUNTIME").as_deref() {
        Ok("current-thread") => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Ok("multi-thread") | Err(_) => tokio::runtime::Runtime::new(),
        Ok(other) => panic!("POSTWIRE_BENCH_RUNTIME={other}: multi-thread or current-thread"),
    };
    runtime.expect("runtime").block_on(run());
}

async fn run() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).expect("postwire-client-bench <port>");
    // POSTWIRE_BENCH_HOST=/socket/dir: every client over the Unix socket.
    let host = std::env::var("POSTWIRE_BENCH_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let config = ClientConfig {
        host: host.clone(),
        port,
        user: "fe_trust".into(),
        database: "fe".into(),
        // Like tokio-postgres's NoTls.
        ssl_mode: SslMode::Disable,
        ..ClientConfig::default()
    };
    let ours = connect(&config).await.expect("postwire client");
    let mut tp = tokio_postgres::Config::new();
    tp.host(&host).port(port).user("fe_trust").dbname("fe");
    let (theirs, connection) = tp.connect(tokio_postgres::NoTls).await.expect("tokio-postgres");
    tokio::spawn(connection);
    let url = if host.starts_with('/') {
        format!("postgres://fe_trust@localhost:{port}/fe?host={host}")
    } else {
        format!("postgres://fe_trust@{host}:{port}/fe")
    };
    let mut sqlx_conn = PgConnection::connect(&url).await.expect("sqlx");
    theirs.batch_execute(SETUP_SQL).await.expect("bench table");
    theirs.batch_execute("VACUUM ANALYZE bench_rows").await.expect("vacuum");
    let select = theirs.prepare("SELECT $1::int4").await.expect("prepare");
    let their_backend: i32 = theirs.query_one("SELECT pg_backend_pid()", &[]).await.expect("pid").get(0);
    let our_backend = ours.query("SELECT pg_backend_pid()", &[]).await.expect("pid").rows[0]
        .get::<i32>(0)
        .expect("pid")
        .expect("pid");
    let (mut our_server, mut their_server) = (ServerShare::NONE, ServerShare::NONE);
    let (mut our_stream_server, mut their_stream_server) = (ServerShare::NONE, ServerShare::NONE);
    let rows_statement = theirs.prepare(ROWS_SQL).await.expect("prepare");

    let mut table: Vec<Measured> = Vec::new();
    let only = std::env::var("POSTWIRE_BENCH_ONLY").unwrap_or_default();
    let only_pipeline = only.starts_with("pipeline");
    // For profiling postwire alone: tokio-postgres runs one query per round.
    let tp_queries = if only == "pipeline-postwire" { 1 } else { QUERIES };
    let runs = std::env::var("POSTWIRE_BENCH_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(RUNS);

    // Each round runs every workload once, alternating the clients, so
    // load from elsewhere on the machine hits both alike; the best of the
    // rounds counts.
    for _round in 0..runs {
        // 1. Pipelined small queries.
        let server_before = backend_cpu(their_backend);
        let (tp_pipe, n) = best(async || {
            let calls = (0..tp_queries).map(|i| {
                let (theirs, select) = (&theirs, &select);
                async move { theirs.query_one(select, &[&i]).await }
            });
            future::join_all(calls).await.into_iter().filter(|r| r.is_ok()).count()
        })
        .await;
        assert_eq!(n, tp_queries as usize);
        their_server.keep_faster(tp_pipe, backend_cpu(their_backend) - server_before);
        let tp_pipe_cpu = last_cpu();
        let tp_pipe_switches = last_switches();
        let server_before = backend_cpu(our_backend);
        let (pw_pipe, n) = best(async || {
            let calls = (0..QUERIES).map(|i| {
                let ours = &ours;
                async move { ours.query("SELECT $1::int4", &[Value::Int4(i)]).await }
            });
            future::join_all(calls).await.into_iter().filter(|r| r.is_ok()).count()
        })
        .await;
        assert_eq!(n, QUERIES as usize);
        our_server.keep_faster(pw_pipe, backend_cpu(our_backend) - server_before);
        let pw_pipe_cpu = last_cpu();
        let pw_pipe_switches = last_switches();
        if std::env::var_os("POSTWIRE_BENCH_VERBOSE").is_some() {
            println!(
                "round: pipeline postwire {:.0} q/s {:.2} µs {pw_pipe_switches} switches, tokio-postgres {:.0} q/s {:.2} µs {tp_pipe_switches} switches",
                f64::from(QUERIES) / pw_pipe.as_secs_f64(),
                pw_pipe_cpu.as_secs_f64() * 1e6 / f64::from(QUERIES),
                f64::from(QUERIES) / tp_pipe.as_secs_f64(),
                tp_pipe_cpu.as_secs_f64() * 1e6 / f64::from(QUERIES),
            );
        }
        let (pw_batch, n) = best(async || {
            let mut batch = ours.batch();
            for i in 0..QUERIES {
                batch.query("SELECT $1::int4", &[Value::Int4(i)]).unwrap();
            }
            batch.run().await.unwrap().into_iter().filter(|r| r.is_ok()).count()
        })
        .await;
        assert_eq!(n, QUERIES as usize);
        let pw_batch_cpu = last_cpu();
        table.push(Measured::new(
            "10,000 SELECT $1::int4, one Sync each (join_all)",
            "queries",
            f64::from(QUERIES),
            (pw_pipe, pw_pipe_cpu),
            (tp_pipe, tp_pipe_cpu),
        ));
        table.push(Measured::new(
            "10,000 SELECT $1::int4, postwire batch (one Sync)",
            "queries",
            f64::from(QUERIES),
            (pw_batch, pw_batch_cpu),
            (tp_pipe, tp_pipe_cpu),
        ));
        if only_pipeline {
            continue;
        }

        // 2. 100,000 rows × 6 columns.
        let (tp_simple, n) = best(async || {
            let messages = theirs.simple_query(ROWS_SQL).await.unwrap();
            let mut n = 0;
            for m in &messages {
                if let tokio_postgres::SimpleQueryMessage::Row(row) = m {
                    std::hint::black_box((0..6).map(|i| row.get(i).map_or(0, str::len)).sum::<usize>());
                    n += 1;
                }
            }
            n
        })
        .await;
        assert_eq!(n, ROWS);
        let tp_simple_cpu = last_cpu();
        let (pw_simple, n) = best(async || {
            let result = ours.simple_query(ROWS_SQL).await.unwrap();
            for row in &result.rows {
                std::hint::black_box((0..6).map(|i| row.text(i).map_or(0, str::len)).sum::<usize>());
            }
            result.rows.len()
        })
        .await;
        assert_eq!(n, ROWS);
        let pw_simple_cpu = last_cpu();

        let (tp_query, n) = best(async || {
            let rows = theirs.query(&rows_statement, &[]).await.unwrap();
            rows.iter().for_each(|r| {
                std::hint::black_box(use_tp_row(r));
            });
            rows.len()
        })
        .await;
        assert_eq!(n, ROWS);
        let tp_query_cpu = last_cpu();
        let (pw_query, n) = best(async || {
            let result = ours.query(ROWS_SQL, &[]).await.unwrap();
            result.rows.iter().for_each(|r| {
                std::hint::black_box(use_row(r));
            });
            result.rows.len()
        })
        .await;
        assert_eq!(n, ROWS);
        let pw_query_cpu = last_cpu();

        let server_before = backend_cpu(their_backend);
        let (tp_stream, n) = best(async || tokio_postgres_stream(&theirs, &rows_statement).await).await;
        assert_eq!(n, ROWS);
        their_stream_server.keep_faster(tp_stream, backend_cpu(their_backend) - server_before);
        let tp_stream_cpu = last_cpu();
        let server_before = backend_cpu(our_backend);
        let (pw_stream, n) = best(async || postwire_stream(&ours).await).await;
        assert_eq!(n, ROWS);
        our_stream_server.keep_faster(pw_stream, backend_cpu(our_backend) - server_before);
        let pw_stream_cpu = last_cpu();
        let (sqlx_stream, n) = best(async || {
            let mut rows = sqlx::query(ROWS_SQL).fetch(&mut sqlx_conn);
            let mut n = 0;
            while let Some(row) = rows.try_next().await.unwrap() {
                let a = row.get::<i32, _>(0) as usize;
                let b = row.get::<&str, _>(1).len();
                let c = row.get::<&str, _>(2).len();
                let d = row.get::<i64, _>(3) as usize;
                let e = usize::from(row.get::<bool, _>(4));
                let f = row.get::<f64, _>(5) as usize;
                std::hint::black_box(a ^ b ^ c ^ d ^ e ^ f);
                n += 1;
            }
            n
        })
        .await;
        assert_eq!(n, ROWS);
        let sqlx_stream_cpu = last_cpu();
        table.push(Measured::new(
            "100,000 × 6 rows, simple query (text), collected",
            "rows",
            ROWS as f64,
            (pw_simple, pw_simple_cpu),
            (tp_simple, tp_simple_cpu),
        ));
        table.push(Measured::new(
            "100,000 × 6 rows, extended (binary), collected",
            "rows",
            ROWS as f64,
            (pw_query, pw_query_cpu),
            (tp_query, tp_query_cpu),
        ));
        table.push(Measured::new(
            "100,000 × 6 rows, streamed (binary)",
            "rows",
            ROWS as f64,
            (pw_stream, pw_stream_cpu),
            (tp_stream, tp_stream_cpu),
        ));
        table.push(Measured::new(
            "100,000 × 6 rows, streamed (binary), vs sqlx",
            "rows",
            ROWS as f64,
            (pw_stream, pw_stream_cpu),
            (sqlx_stream, sqlx_stream_cpu),
        ));
    }
    let mut best_rows: Vec<Measured> = Vec::new();
    for row in table {
        match best_rows.iter_mut().find(|best| best.name == row.name) {
            Some(best) => best.keep_best(&row),
            None => best_rows.push(row),
        }
    }

    // 3. Allocations per streamed row (whole process, all threads).
    let allocations =
        if only_pipeline { None } else { Some(allocations_per_row(&ours, &theirs, &rows_statement).await) };
    print_table(&best_rows, allocations, runs);
    println!(
        "| PostgreSQL's backend in each client's fastest pipelined round: CPU per query, share of the round it ran | {} | {} | | |",
        our_server.describe(QUERIES),
        their_server.describe(tp_queries),
    );
    if !only_pipeline {
        println!(
            "| PostgreSQL's backend in each client's fastest streamed round: CPU per 1,000 rows, share of the round it ran | {} | {} | | |",
            our_stream_server.describe(ROWS as i32 / 1000),
            their_stream_server.describe(ROWS as i32 / 1000),
        );
    }
    drop(ours);
    let _ = sqlx_conn.close().await;
}

async fn allocations_per_row(
    ours: &Client,
    theirs: &tokio_postgres::Client,
    rows_statement: &tokio_postgres::Statement,
) -> (f64, f64) {
    let allocations = |change: stats_alloc::Stats| (change.allocations + change.reallocations) as f64 / ROWS as f64;
    let region = Region::new(GLOBAL);
    postwire_stream(ours).await;
    let pw_allocs = allocations(region.change());
    let region = Region::new(GLOBAL);
    tokio_postgres_stream(theirs, rows_statement).await;
    let tp_allocs = allocations(region.change());
    (pw_allocs, tp_allocs)
}

fn print_table(best_rows: &[Measured], allocations: Option<(f64, f64)>, runs: usize) {
    println!(
        "| workload (best of {runs} rounds) | postwire | tokio-postgres (sqlx where named) | ratio | client CPU per unit: postwire / other |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for row in best_rows {
        println!(
            "| {} | {:.0} {u}/s | {:.0} {u}/s | {:.2}× | {:.2} µs / {:.2} µs = {:.2}× |",
            row.name,
            row.ours.0,
            row.theirs.0,
            row.ours.0 / row.theirs.0,
            row.ours.1,
            row.theirs.1,
            row.ours.1 / row.theirs.1,
            u = row.unit,
        );
    }
    if let Some((pw_allocs, tp_allocs)) = allocations {
        println!("| allocations per streamed row (whole process) | {pw_allocs:.4} | {tp_allocs:.4} | |");
    }
}

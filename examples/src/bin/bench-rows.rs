//! Rows per second of `SELECT * FROM rows5000` (bench-server's 5,000 rows ×
//! 6 columns) through tokio-postgres, for `bench/server.sh`: the simple
//! protocol (text) and the extended one (a prepared statement, binary), on
//! one connection per server. Rounds alternate between the servers; the best
//! round counts.
//!
//! ```text
//! bench-rows [--runs 40] [--rounds 3] [--user fe_trust] [--dbname fe] NAME=HOST:PORT...
//! ```
//!
//! Prints one line per server and protocol: `NAME simple|extended ROWS_PER_SECOND`.

use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt, pin_mut};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage, Statement};

const QUERY: &str = "SELECT * FROM rows5000";
const ROWS: u64 = 5000;

struct Target {
    name: String,
    client: Client,
    statement: Statement,
    best: [Duration; 2],
}

/// Rows of one simple query, each parsed into its cells' ranges, not copied.
async fn simple(client: &Client) -> u64 {
    let stream = client.simple_query_raw(QUERY).await.expect("simple query");
    pin_mut!(stream);
    let mut rows = 0;
    while let Some(message) = stream.try_next().await.expect("simple query") {
        if let SimpleQueryMessage::Row(_) = message {
            rows += 1;
        }
    }
    rows
}

/// Rows of one execution of the prepared statement.
async fn extended(client: &Client, statement: &Statement) -> u64 {
    let stream = client.query_raw(statement, std::iter::empty::<i32>()).await.expect("extended query");
    stream.map(|row| row.map(|_| 1u64)).try_fold(0, |n, one| async move { Ok(n + one) }).await.expect("rows")
}

#[tokio::main]
async fn main() {
    let (mut runs, mut rounds, mut user, mut dbname) = (40u32, 3u32, "fe_trust".to_owned(), "fe".to_owned());
    let mut servers = vec![];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--runs" => runs = value().parse().expect("--runs <number>"),
            "--rounds" => rounds = value().parse().expect("--rounds <number>"),
            "--user" => user = value(),
            "--dbname" => dbname = value(),
            server => {
                let (name, addr) = server.split_once('=').expect("NAME=HOST:PORT");
                let (host, port) = addr.rsplit_once(':').expect("NAME=HOST:PORT");
                servers.push((name.to_owned(), host.to_owned(), port.parse::<u16>().expect("a port")));
            }
        }
    }
    let mut targets = vec![];
    for (name, host, port) in servers {
        let mut config = tokio_postgres::Config::new();
        config.host(&host).port(port).user(&user).dbname(&dbname);
        let (client, connection) = config.connect(NoTls).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        tokio::spawn(connection);
        let statement = client.prepare(QUERY).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        // Warm up, and check the answer's size.
        assert_eq!(simple(&client).await, ROWS, "{name}");
        assert_eq!(extended(&client, &statement).await, ROWS, "{name}");
        targets.push(Target { name, client, statement, best: [Duration::MAX; 2] });
    }
    for _ in 0..rounds {
        for target in &mut targets {
            let start = Instant::now();
            for _ in 0..runs {
                assert_eq!(simple(&target.client).await, ROWS);
            }
            target.best[0] = target.best[0].min(start.elapsed());
            let start = Instant::now();
            for _ in 0..runs {
                assert_eq!(extended(&target.client, &target.statement).await, ROWS);
            }
            target.best[1] = target.best[1].min(start.elapsed());
        }
    }
    for target in &targets {
        for (mode, time) in ["simple", "extended"].iter().zip(target.best) {
            let rate = (ROWS * u64::from(runs)) as f64 / time.as_secs_f64();
            println!("{} {mode} {rate:.0}", target.name);
        }
    }
}

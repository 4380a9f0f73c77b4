//! The `sqlite-server` binary as the README runs it: flags, a file database
//! that outlives the process, and each auth method with tokio-postgres.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The running binary; killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server with `args` on a free loopback port; returns it and the port.
fn start(args: &[&str]) -> (Running, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sqlite-server"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the server starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a first line").unwrap();
    // "sqlite-server: <db> on 127.0.0.1:<port>, <auth> auth for user …"
    let port = first
        .split(" on 127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));
    std::thread::spawn(move || lines.for_each(drop));
    (Running(child), port)
}

async fn connect(port: u16, user: &str, password: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::new();
    config.host("127.0.0.1").port(port).user(user).password(password).dbname("postwire");
    config.connect_timeout(Duration::from_secs(10));
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

#[tokio::test]
async fn a_file_database_outlives_the_server() {
    let path = std::env::temp_dir().join(format!("pw-sqlite-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let db = path.to_str().unwrap();
    {
        let (_server, port) = start(&["--db", db]);
        let client = connect(port, "postwire", "postwire").await.unwrap();
        client.batch_execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')").await.unwrap();
    }
    let (_server, port) = start(&["--db", db, "--auth", "md5", "--user", "ann", "--password", "secret"]);
    let client = connect(port, "ann", "secret").await.unwrap();
    let row = client.query_one("SELECT v FROM kept", &[]).await.unwrap();
    assert_eq!(row.get::<_, &str>(0), "still here");
    let error = connect(port, "ann", "wrong").await.err().unwrap();
    assert_eq!(error.as_db_error().unwrap().code().code(), "28P01");
    drop(client);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{db}{suffix}"));
    }
}

#[tokio::test]
async fn every_auth_method_logs_in_and_the_memory_database_is_shared() {
    for auth in ["trust", "password", "md5", "scram"] {
        let (_server, port) = start(&["--auth", auth]);
        let first = connect(port, "postwire", "postwire").await.unwrap();
        let second = connect(port, "postwire", "postwire").await.unwrap();
        first.batch_execute("CREATE TABLE shared (n int); INSERT INTO shared VALUES (7)").await.unwrap();
        let n: i32 = second.query_one("SELECT n FROM shared", &[]).await.unwrap().get(0);
        assert_eq!(n, 7, "{auth}");
        if auth != "trust" {
            assert!(connect(port, "postwire", "nope").await.is_err(), "{auth}");
        }
        assert!(connect(port, "someone-else", "postwire").await.is_err(), "{auth}");
    }
}

#[test]
fn bad_flags_are_refused_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_sqlite-server")).args(["--auth", "kerberos"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: sqlite-server"));
}

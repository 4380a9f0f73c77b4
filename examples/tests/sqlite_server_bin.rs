//! The `sqlite-server` binary as the README runs it: flags, a file database
//! that outlives the process, each auth method with tokio-postgres, and
//! psql's catalog meta-commands (`\d` and friends) with the real psql.

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

/// Runs `psql -X -A -c command` (unaligned output: `|` between fields)
/// against the server; returns (succeeded, stdout, stderr).
fn psql(port: u16, command: &str) -> (bool, String, String) {
    let output = Command::new("psql")
        .arg(format!("postgres://ann:secret@127.0.0.1:{port}/postwire"))
        .args(["-X", "-A", "-v", "ON_ERROR_STOP=1", "-c", command])
        .env_remove("PGSERVICE")
        .output()
        .expect("psql runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), stdout, stderr)
}

/// Asserts that `output` (of psql's `command`) has each of the `wanted` lines.
fn assert_lines(command: &str, output: &str, wanted: &[&str]) {
    for line in wanted {
        assert!(output.lines().any(|l| l == *line), "{command}: no line {line:?} in\n{output}");
    }
}

#[test]
fn psql_meta_commands_describe_the_sqlite_database() {
    if Command::new("psql").arg("--version").output().is_err() {
        eprintln!("skipped: no psql on PATH");
        return;
    }
    let (_server, port) = start(&["--user", "ann", "--password", "secret"]);
    let (ok, _, stderr) = psql(
        port,
        "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price real DEFAULT 1.5, \
         note varchar(20), code char(3) UNIQUE); \
         CREATE INDEX items_name ON items (name); \
         CREATE TABLE tags (tag text); CREATE VIEW cheap AS SELECT name FROM items WHERE price < 2; \
         CREATE TABLE orders (id integer PRIMARY KEY, item integer REFERENCES items (id) ON DELETE CASCADE)",
    );
    assert!(ok, "{stderr}");

    let (ok, dt, stderr) = psql(port, "\\dt");
    assert!(ok, "{stderr}");
    assert_lines("\\dt", &dt, &["Schema|Name|Type|Owner", "public|items|table|ann", "public|tags|table|ann"]);
    assert!(!dt.contains("cheap"), "\\dt lists tables only:\n{dt}");

    let (ok, d, stderr) = psql(port, "\\d");
    assert!(ok, "{stderr}");
    assert_lines(
        "\\d",
        &d,
        &["public|cheap|view|ann", "public|items|table|ann", "public|orders|table|ann", "public|tags|table|ann"],
    );

    let (ok, table, stderr) = psql(port, "\\d items");
    assert!(ok, "{stderr}");
    assert_lines(
        "\\d items",
        &table,
        &[
            "Table \"public.items\"",
            "Column|Type|Collation|Nullable|Default",
            "id|integer||not null|",
            "name|text||not null|",
            "price|real|||1.5",
            "note|character varying(20)|||",
            "code|character(3)|||",
            "Indexes:",
            "    \"items_pkey\" PRIMARY KEY, btree (id)",
            "    \"items_code_key\" UNIQUE CONSTRAINT, btree (code)",
            "    \"items_name\" btree (name)",
            "Referenced by:",
            "    TABLE \"orders\" CONSTRAINT \"orders_item_fkey\" FOREIGN KEY (item) REFERENCES items(id) ON DELETE CASCADE",
        ],
    );
    let (ok, orders, stderr) = psql(port, "\\d orders");
    assert!(ok, "{stderr}");
    assert_lines(
        "\\d orders",
        &orders,
        &[
            "Foreign-key constraints:",
            "    \"orders_item_fkey\" FOREIGN KEY (item) REFERENCES items(id) ON DELETE CASCADE",
        ],
    );
    let (ok, index, stderr) = psql(port, "\\d items_name");
    assert!(ok, "{stderr}");
    assert_lines(
        "\\d items_name",
        &index,
        &["Index \"public.items_name\"", "name|text|yes|name", "btree, for table \"public.items\""],
    );
    let (ok, view, stderr) = psql(port, "\\d+ cheap");
    assert!(ok, "{stderr}");
    assert_lines("\\d+ cheap", &view, &["View \"public.cheap\"", "View definition:"]);
    assert!(view.contains("SELECT name FROM items WHERE price < 2"), "{view}");
    let (ok, same, _) = psql(port, "\\d public.ITEMS");
    assert!(ok && same == table, "\\d public.ITEMS:\n{same}");
    let (ok, _, stderr) = psql(port, "\\d nosuch");
    assert!(!ok && stderr.contains("Did not find any relation named \"nosuch\""), "{stderr}");

    let (ok, l, stderr) = psql(port, "\\l");
    assert!(ok, "{stderr}");
    assert_lines("\\l", &l, &["postwire|ann|UTF8|C|C||libc|"]);
    let (ok, dn, stderr) = psql(port, "\\dn");
    assert!(ok, "{stderr}");
    assert_lines("\\dn", &dn, &["Name|Owner", "public|ann"]);
    let (ok, du, stderr) = psql(port, "\\du");
    assert!(ok, "{stderr}");
    assert_lines("\\du", &du, &["ann|Superuser, Create role, Create DB|{}"]);

    // A catalog query not emulated: PostgreSQL's error, and the server goes on.
    for (command, relation) in [("\\dT", "pg_type"), ("\\df", "pg_proc"), ("\\dx", "pg_extension")] {
        let (ok, stdout, stderr) = psql(port, command);
        let error = format!("ERROR:  relation \"{relation}\" does not exist");
        assert!(!ok && stdout.is_empty() && stderr.contains(&error), "{command}: {stdout}{stderr}");
    }
    let (ok, again, _) = psql(port, "\\dt tag*");
    assert!(ok, "{again}");
    assert_lines("\\dt tag*", &again, &["public|tags|table|ann"]);
    assert!(!again.contains("items"), "{again}");
}

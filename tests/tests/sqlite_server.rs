//! The `sqlite-server` example's engine against real clients: tokio-postgres
//! (typed parameters, binary results, transactions, errors, COPY,
//! notifications, cancel, psql's catalog queries) and psql (interactive
//! use, `\copy` both ways).

mod server_support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, TryStreamExt};
use postwire_codec::auth::ScramVerifier;
use postwire_examples::sqlite::SqliteService;
use postwire_server::{Config, Credentials, Server, StaticUsers, TlsMode};
use server_support::{Messages, connect};
use tokio::io::AsyncWriteExt;
use tokio_postgres::Client;
use tokio_postgres::types::Type;

/// An in-memory SQLite server with one SCRAM user, postwire/postwire.
async fn start() -> (Server<SqliteService, StaticUsers>, u16) {
    let verifier = ScramVerifier::derive(b"postwire", b"0123456789abcdef", 4096).unwrap();
    let users = StaticUsers::new().user("postwire", Credentials::Scram(verifier.to_text().to_string()));
    let server = Server::new(SqliteService::in_memory().unwrap(), users, Config::default());
    let port = server.listen_tcp("127.0.0.1:0", TlsMode::Disabled).await.unwrap().port();
    (server, port)
}

fn config(port: u16) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    config.host("127.0.0.1").port(port).user("postwire").password("postwire").dbname("postwire");
    config.connect_timeout(Duration::from_secs(10));
    config
}

async fn client(port: u16) -> (Client, Messages) {
    connect(&config(port)).await
}

fn sqlstate(error: &tokio_postgres::Error) -> String {
    error.as_db_error().map(|e| e.code().code().to_owned()).unwrap_or_else(|| format!("not a db error: {error}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_parameters_and_binary_results() {
    let (_server, port) = start().await;
    let (client, _) = client(port).await;
    client
        .batch_execute(
            "CREATE TABLE items (id serial PRIMARY KEY, name varchar(40) NOT NULL, qty int, big bigint, \
             price double precision, ok boolean, data bytea, day date, at timestamptz)",
        )
        .await
        .unwrap();
    let insert = client
        .prepare(
            "INSERT INTO items (name, qty, big, price, ok, data, day) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .await
        .unwrap();
    let types: Vec<Type> = insert.params().to_vec();
    assert_eq!(types, [Type::VARCHAR, Type::INT4, Type::INT8, Type::FLOAT8, Type::BOOL, Type::BYTEA, Type::DATE]);
    assert_eq!(insert.columns()[0].type_(), &Type::INT4);
    let day = PgDate::parse("2024-02-29");
    for i in 0..3i32 {
        let name = format!("item {i}");
        let data = vec![i as u8, 0, 255];
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] =
            [&name, &(i * 10), &(i64::from(i) << 40), &(f64::from(i) + 0.5), &(i % 2 == 0), &data, &day];
        let row = client.query_one(&insert, &params).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), i + 1);
    }
    // Binary results, typed by the declared column types.
    let rows = client
        .query("SELECT id, name, qty, big, price, ok, data FROM items WHERE qty >= $1 ORDER BY id", &[&10i32])
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<_, i32>("id"), 2);
    assert_eq!(rows[0].get::<_, &str>("name"), "item 1");
    assert_eq!(rows[0].get::<_, i64>("big"), 1 << 40);
    assert_eq!(rows[0].get::<_, f64>("price"), 1.5);
    assert!(!rows[0].get::<_, bool>("ok"));
    assert_eq!(rows[1].get::<_, Vec<u8>>("data"), vec![2, 0, 255]);
    // Casts, literals and aggregates get PostgreSQL's types and names.
    let row = client
        .query_one("SELECT count(*), $1::int8 + 1 AS next, 'x' || name AS label, sum(qty), 2.5::float8, true FROM items WHERE id = $2", &[&41i64, &1i32])
        .await
        .unwrap();
    let names: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["count", "next", "label", "sum", "float8", "bool"]);
    assert_eq!(row.get::<_, i64>(0), 1);
    assert_eq!(row.get::<_, i64>(1), 42);
    assert_eq!(row.get::<_, &str>(2), "xitem 0");
    assert_eq!(row.get::<_, i64>(3), 0);
    assert_eq!(row.get::<_, f64>(4), 2.5);
    assert!(row.get::<_, bool>(5));
    // NULLs, and LIMIT parameters as int8.
    let rows = client.query("SELECT at, day FROM items ORDER BY id LIMIT $1", &[&2i64]).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].columns()[0].type_(), &Type::TIMESTAMPTZ);
    assert_eq!(rows[0].columns()[1].type_(), &Type::DATE);
    let raw: Option<RawValue> = rows[0].get(0);
    assert!(raw.is_none());
    let raw: RawValue = rows[0].get(1);
    // Days from 2000-01-01: 24 years with 6 leap days, then January and 28 days.
    assert_eq!(raw.0, (24 * 365 + 6 + 31 + 28i32).to_be_bytes());
    // The simple protocol: text, types inferred from the values.
    let messages = client.simple_query("SELECT name, qty * 2 FROM items WHERE id = 3").await.unwrap();
    let tokio_postgres::SimpleQueryMessage::Row(row) = &messages[1] else { panic!("{messages:?}") };
    assert_eq!((row.get(0), row.get(1)), (Some("item 2"), Some("40")));
}

/// Any value's binary bytes.
#[derive(Debug)]
struct RawValue(Vec<u8>);

impl<'a> tokio_postgres::types::FromSql<'a> for RawValue {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue(raw.to_vec()))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A date parameter, sent in PostgreSQL's binary format by the codec.
#[derive(Debug)]
struct PgDate(postwire_codec::value::Date);

impl PgDate {
    fn parse(text: &str) -> Self {
        use postwire_codec::value::FromValue;
        PgDate(postwire_codec::value::Date::decode_text(text.as_bytes()).unwrap())
    }
}

impl tokio_postgres::types::ToSql for PgDate {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postwire_codec::value::ToValue;
        let mut buf = Vec::new();
        self.0.encode_binary(&mut buf).map_err(|e| format!("{e:?}"))?;
        out.extend_from_slice(&buf);
        Ok(tokio_postgres::types::IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }
    tokio_postgres::types::to_sql_checked!();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_postgres_sqlstates() {
    let (_server, port) = start().await;
    let (client, _) = client(port).await;
    client
        .batch_execute(
            "CREATE TABLE parent (id integer PRIMARY KEY, name text NOT NULL UNIQUE, n int CHECK (n > 0)); \
             CREATE TABLE child (parent_id int REFERENCES parent (id)); INSERT INTO parent VALUES (1, 'a', 1)",
        )
        .await
        .unwrap();
    let cases = [
        ("SELEC 1", "42601"),
        ("SELECT * FROM missing", "42P01"),
        ("SELECT missing FROM parent", "42703"),
        ("INSERT INTO parent VALUES (1, 'b', 1)", "23505"),
        ("INSERT INTO parent VALUES (2, NULL, 1)", "23502"),
        ("INSERT INTO parent VALUES (3, 'c', -1)", "23514"),
        ("INSERT INTO child VALUES (99)", "23503"),
        ("CREATE TABLE parent (x int)", "42P07"),
        ("SELECT 'abc'::int4", "22P02"),
        ("SELECT nosuchfunction(1)", "42883"),
        ("SHOW no_such_setting", "42704"),
        ("SELECT 1; SELECT 2", "42601"),
    ];
    for (sql, code) in cases {
        // Simple protocol, then extended (where the SQL allows it).
        if !sql.contains(';') {
            let error = client.simple_query(sql).await.map(|_| ()).unwrap_err();
            assert_eq!(sqlstate(&error), code, "simple: {sql}");
        }
        let error = client.query(sql, &[]).await.unwrap_err();
        assert_eq!(sqlstate(&error), code, "extended: {sql}");
    }
    let error = client.simple_query("SELECT * FROM missing").await.unwrap_err();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.message(), "relation \"missing\" does not exist");
    assert!(matches!(db.position(), Some(tokio_postgres::error::ErrorPosition::Original(15))));
    // The session goes on.
    assert_eq!(client.query_one("SELECT 1", &[]).await.unwrap().get::<_, i32>(0), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_report_status_and_fail_like_postgres() {
    let (_server, port) = start().await;
    let (mut client, mut messages) = client(port).await;
    client.batch_execute("CREATE TABLE t (n int PRIMARY KEY)").await.unwrap();
    let (other, _) = self::client(port).await;
    // Rolled back: nothing stays; committed: everyone sees it.
    let tx = client.transaction().await.unwrap();
    tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count(&other).await, 0);
    let tx = client.transaction().await.unwrap();
    tx.execute("INSERT INTO t VALUES ($1)", &[&2i32]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&other).await, 1);

    // An error fails the transaction: 25P02 until ROLLBACK.
    client.batch_execute("BEGIN; INSERT INTO t VALUES (3)").await.unwrap();
    assert_eq!(sqlstate(&client.batch_execute("INSERT INTO t VALUES (2)").await.unwrap_err()), "23505");
    assert_eq!(sqlstate(&client.batch_execute("SELECT 1").await.unwrap_err()), "25P02");
    let messages_after = client.simple_query("COMMIT").await.unwrap();
    assert!(matches!(messages_after.last(), Some(tokio_postgres::SimpleQueryMessage::CommandComplete(_))));
    assert_eq!(count(&other).await, 1, "COMMIT of a failed transaction rolls back");

    // Savepoints undo part of a transaction and clear its failure.
    client.batch_execute("BEGIN; INSERT INTO t VALUES (10); SAVEPOINT s").await.unwrap();
    assert!(client.batch_execute("INSERT INTO t VALUES (10)").await.is_err());
    client.batch_execute("ROLLBACK TO SAVEPOINT s; INSERT INTO t VALUES (11); COMMIT").await.unwrap();
    assert_eq!(count(&other).await, 3);

    // BEGIN inside a transaction and COMMIT outside one warn, as PostgreSQL does.
    client.batch_execute("BEGIN; BEGIN").await.unwrap();
    assert_eq!(messages.notice().await, "there is already a transaction in progress");
    client.batch_execute("COMMIT; COMMIT").await.unwrap();
    assert_eq!(messages.notice().await, "there is no transaction in progress");
    assert_eq!(sqlstate(&client.batch_execute("SAVEPOINT x").await.unwrap_err()), "25P01");
}

async fn count(client: &Client) -> i64 {
    client.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_and_out_in_text_and_csv() {
    let (_server, port) = start().await;
    let (client, _) = client(port).await;
    client.batch_execute("CREATE TABLE people (id int, name text, ok bool, note text)").await.unwrap();
    let sink = client.copy_in("COPY people FROM STDIN").await.unwrap();
    futures_util::pin_mut!(sink);
    // Chunk boundaries fall mid-row.
    for chunk in ["1\tann\tt\tfirst\\tline\n2\tbo", "b\tf\t\\N\n", "3\tcy\tt\ta\\\\b\n"] {
        sink.send(Bytes::from(chunk)).await.unwrap();
    }
    assert_eq!(sink.finish().await.unwrap(), 3);
    let rows = client.query("SELECT id, name, ok, note FROM people ORDER BY id", &[]).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].get::<_, bool>(2));
    assert_eq!(rows[0].get::<_, &str>(3), "first\tline");
    assert_eq!(rows[1].get::<_, Option<&str>>(3), None);
    assert_eq!(rows[2].get::<_, &str>(3), "a\\b");

    // CSV with a header, quoted fields, a column list.
    let sink = client.copy_in("COPY people (id, name) FROM STDIN WITH (FORMAT csv, HEADER true)").await.unwrap();
    futures_util::pin_mut!(sink);
    sink.send(Bytes::from_static(b"id,name\n4,\"dee, \"\"d\"\"\"\n5,\"\"\n6,\n")).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 3);

    // A bad row fails the whole COPY: nothing from it stays.
    let sink = client.copy_in("COPY people (id) FROM STDIN").await.unwrap();
    futures_util::pin_mut!(sink);
    sink.send(Bytes::from_static(b"7\nnot a number\n")).await.unwrap();
    let error = sink.finish().await.unwrap_err();
    assert_eq!(sqlstate(&error), "22P02");
    assert_eq!(client.query_one("SELECT count(*) FROM people", &[]).await.unwrap().get::<_, i64>(0), 6);

    let stream = client.copy_out("COPY people TO STDOUT (FORMAT csv, HEADER)").await.unwrap();
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    let text: String = chunks.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    assert_eq!(
        text,
        "id,name,ok,note\n1,ann,t,first\tline\n2,bob,f,\n3,cy,t,a\\b\n4,\"dee, \"\"d\"\"\",,\n5,\"\",,\n6,,,\n"
    );
    let stream =
        client.copy_out("COPY (SELECT id, note FROM people WHERE id <= 2 ORDER BY id) TO STDOUT").await.unwrap();
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    assert_eq!(chunks.concat(), b"1\tfirst\\tline\n2\t\\N\n");
    assert_eq!(sqlstate(&client.copy_out("COPY people TO '/tmp/x'").await.err().unwrap()), "42501");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_between_sessions_and_at_commit() {
    let (_server, port) = start().await;
    let (listener, mut messages) = client(port).await;
    let (talker, _) = client(port).await;
    listener.batch_execute("LISTEN news").await.unwrap();
    talker.batch_execute("NOTIFY news, 'now'").await.unwrap();
    let (channel, payload, _) = messages.notification().await;
    assert_eq!((channel.as_str(), payload.as_str()), ("news", "now"));
    // Inside a transaction: sent at COMMIT, dropped at ROLLBACK.
    talker.batch_execute("BEGIN; NOTIFY news, 'dropped'; ROLLBACK").await.unwrap();
    talker.batch_execute("BEGIN; NOTIFY news, 'committed'").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(messages.try_next().is_none(), "nothing before COMMIT");
    talker.batch_execute("COMMIT").await.unwrap();
    assert_eq!(messages.notification().await.1, "committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_query_is_cancelled() {
    let (_server, port) = start().await;
    let (client, _) = client(port).await;
    let token = client.cancel_token();
    let cancel = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    });
    let started = std::time::Instant::now();
    let error = client.simple_query("SELECT pg_sleep(30)").await.unwrap_err();
    assert_eq!(sqlstate(&error), "57014");
    assert!(started.elapsed() < Duration::from_secs(20));
    cancel.await.unwrap();
    // A runaway recursive query too, in the extended protocol.
    let token = client.cancel_token();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    });
    let sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
    assert_eq!(sqlstate(&client.query(sql, &[]).await.unwrap_err()), "57014");
    assert_eq!(client.query_one("SELECT 2", &[]).await.unwrap().get::<_, i32>(0), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_result_streams() {
    let (_server, port) = start().await;
    let (client, _) = client(port).await;
    let sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) \
               SELECT x::int4, 'row ' || x AS label FROM c";
    let stream = client.query_raw(sql, std::iter::empty::<i32>()).await.unwrap();
    futures_util::pin_mut!(stream);
    let mut n = 0i32;
    while let Some(row) = stream.try_next().await.unwrap() {
        n += 1;
        assert_eq!(row.get::<_, i32>(0), n);
    }
    assert_eq!(n, 100_000);
}

/// psql, if installed.
fn psql() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("/usr/bin/psql")];
    if let Ok(dirs) = std::fs::read_dir("/usr/lib/postgresql") {
        candidates.extend(dirs.flatten().map(|d| d.path().join("bin/psql")));
    }
    candidates.into_iter().find(|p| p.exists())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_runs_a_session_with_copy() {
    let Some(psql) = psql() else {
        eprintln!("psql is not installed: skipped");
        return;
    };
    let (_server, port) = start().await;
    let dir = std::env::temp_dir().join(format!("pw-sqlite-psql-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("in.csv");
    std::fs::write(&csv, "id,name\n1,alpha\n2,\"be, ta\"\n").unwrap();
    let out = dir.join("out.txt");
    let script = format!(
        "CREATE TABLE t (id int PRIMARY KEY, name text);\n\
         \\copy t from '{}' csv header\n\
         SELECT name FROM t WHERE id = 2;\n\
         BEGIN;\n\
         INSERT INTO t VALUES (3, 'gamma');\n\
         SELECT nope;\n\
         ROLLBACK;\n\
         SELECT count(*) AS n FROM t;\n\
         \\copy (SELECT id, name FROM t ORDER BY id) to '{}'\n\
         LISTEN ch;\n\
         NOTIFY ch, 'hi';\n\
         SELECT 1 AS one;\n",
        csv.display(),
        out.display()
    );
    let url = format!("postgres://postwire:postwire@127.0.0.1:{port}/postwire");
    let mut child = tokio::process::Command::new(psql)
        .args([url.as_str(), "-X", "-v", "ON_ERROR_STOP=0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(script.as_bytes()).await.unwrap();
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stdout.contains("COPY 2"), "{stdout}\n{stderr}");
    assert!(stdout.contains(" be, ta"), "{stdout}");
    assert!(stderr.contains("column \"nope\" does not exist"), "{stderr}");
    assert!(stdout.contains(" n \n---\n 2\n"), "the insert was rolled back: {stdout}");
    assert!(stdout.contains("Asynchronous notification \"ch\" with payload \"hi\" received"), "{stdout}");
    assert!(stdout.contains(" one \n-----\n   1\n"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "1\talpha\n2\tbe, ta\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_catalog_queries_work_over_the_extended_protocol_in_binary() {
    let (_server, port) = start().await;
    let (client, _) = client(port).await;
    client
        .batch_execute("CREATE TABLE items (id serial PRIMARY KEY, name varchar(40) NOT NULL DEFAULT 'x')")
        .await
        .unwrap();
    // psql's `\d items`, steps one and three, prepared with binary results.
    let found = client
        .query_one(
            "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c \
             LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname OPERATOR(pg_catalog.~) '^(items)$' COLLATE pg_catalog.default \
             AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 2, 3",
            &[],
        )
        .await
        .unwrap();
    let oid: u32 = found.get(0);
    assert_eq!((found.get::<_, &str>(1), found.get::<_, &str>(2)), ("public", "items"));
    let columns = client
        .query(
            &format!(
                "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), \
                 (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) FROM pg_catalog.pg_attrdef d \
                  WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef), \
                 a.attnotnull, \
                 (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t \
                  WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation, \
                 a.attidentity, a.attgenerated \
                 FROM pg_catalog.pg_attribute a WHERE a.attrelid = '{oid}' AND a.attnum > 0 AND NOT a.attisdropped \
                 ORDER BY a.attnum"
            ),
            &[],
        )
        .await
        .unwrap();
    let described: Vec<(&str, &str, Option<&str>, bool)> =
        columns.iter().map(|row| (row.get(0), row.get(1), row.get(2), row.get(3))).collect();
    assert_eq!(described, [("id", "integer", None, true), ("name", "character varying(40)", Some("'x'"), true)]);
    // Interactive psql's tab completion of `FROM it`, inside a transaction
    // that it must not abort.
    client.batch_execute("BEGIN").await.unwrap();
    let completed = client
        .simple_query(
            "SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c \
             WHERE c.relkind IN ('r', 'S', 'v', 'm', 'f', 'p') AND (c.relname) LIKE 'it%' \
             AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> \
             (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog') \
             UNION ALL SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n \
             WHERE n.nspname LIKE 'it%' AND n.nspname NOT LIKE E'pg\\\\_%' LIMIT 1000",
        )
        .await
        .unwrap();
    let names: Vec<Option<&str>> = completed
        .iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.get(0)),
            _ => None,
        })
        .collect();
    assert_eq!(names, [Some("items")]);
    client.batch_execute("INSERT INTO items (name) VALUES ('y'); COMMIT").await.unwrap();
    // Catalog queries not emulated stay PostgreSQL errors.
    let error = client.query("SELECT typname FROM pg_catalog.pg_type", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&error), "42P01");
}

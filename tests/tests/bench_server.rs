//! The benchmark server (`examples/src/bin/bench-server.rs`, which
//! `bench/server.sh` measures) against tokio-postgres: `SELECT 1` and the
//! 5,000-row result, in the simple protocol (text) and the extended one
//! (binary), every value checked.

mod server_support;

#[allow(dead_code)]
#[path = "../../examples/src/bin/bench-server.rs"]
mod bench_server;

use server_support::{connect, pg_config, simple_rows};
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::types::Type;

/// Row `i` of `rows5000` as its values' text forms.
fn expected_text(i: i32) -> Vec<Option<String>> {
    let big = i64::from(i) * 1_000_003;
    let flag = if i % 3 == 0 { "t" } else { "f" };
    let score = f64::from(i) * 0.25;
    [
        i.to_string(),
        format!("name {i}"),
        bench_server::NOTE.to_owned(),
        big.to_string(),
        flag.to_owned(),
        score.to_string(),
    ]
    .into_iter()
    .map(Some)
    .collect()
}

#[tokio::test]
async fn bench_server_answers_select_1_and_5000_rows_in_both_protocols() {
    let (_server, addr) = bench_server::serve("127.0.0.1:0").await.expect("bind");
    let (client, _messages) = connect(&pg_config(addr.port())).await;

    // SELECT 1, as pgbench sends it in each mode (with and without the semicolon).
    let messages = client.simple_query("SELECT 1;").await.unwrap();
    assert_eq!(simple_rows(&messages), vec![vec![Some("1".to_owned())]]);
    assert!(matches!(messages.last(), Some(SimpleQueryMessage::CommandComplete(1))));
    let statement = client.prepare("SELECT 1").await.unwrap();
    assert_eq!(statement.columns()[0].name(), "?column?");
    assert_eq!(statement.columns()[0].type_(), &Type::INT4);
    assert_eq!(client.query_one(&statement, &[]).await.unwrap().get::<_, i32>(0), 1);
    assert_eq!(client.query_one("SELECT 1;", &[]).await.unwrap().get::<_, i32>(0), 1);

    // The 5,000 rows in text.
    let messages = client.simple_query("SELECT * FROM rows5000").await.unwrap();
    assert!(matches!(messages.last(), Some(SimpleQueryMessage::CommandComplete(5000))));
    let rows = simple_rows(&messages);
    assert_eq!(rows.len(), 5000);
    for (i, row) in (1..).zip(&rows) {
        assert_eq!(row, &expected_text(i), "row {i}");
    }

    // And in binary.
    let statement = client.prepare("SELECT * FROM rows5000").await.unwrap();
    let types: Vec<&Type> = statement.columns().iter().map(|c| c.type_()).collect();
    assert_eq!(types, [&Type::INT4, &Type::TEXT, &Type::TEXT, &Type::INT8, &Type::BOOL, &Type::FLOAT8]);
    let names: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["id", "name", "note", "big", "flag", "score"]);
    let rows = client.query(&statement, &[]).await.unwrap();
    assert_eq!(rows.len(), 5000);
    for (i, row) in (1..).zip(&rows) {
        assert_eq!(row.get::<_, i32>(0), i);
        assert_eq!(row.get::<_, &str>(1), format!("name {i}"));
        assert_eq!(row.get::<_, &str>(2), bench_server::NOTE);
        assert_eq!(row.get::<_, i64>(3), i64::from(i) * 1_000_003);
        assert_eq!(row.get::<_, bool>(4), i % 3 == 0);
        assert_eq!(row.get::<_, f64>(5), f64::from(i) * 0.25);
    }

    // Anything else is a syntax error; the session goes on.
    let err = client.simple_query("SELECT 2").await.unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code().code(), "42601");
    assert_eq!(client.query_one("SELECT 1", &[]).await.unwrap().get::<_, i32>(0), 1);
}

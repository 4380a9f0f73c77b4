//! The tokio client (`postwire_server::client`) against postwire's own
//! server and, when `POSTWIRE_PG_PORT` is set (`.ci/pg-cluster.sh`), against
//! a real PostgreSQL: logins with every password method, simple and
//! extended queries, errors with SQLSTATE, pipelining, connection loss.

mod server_support;

use futures_util::future;
use postwire_codec::auth::{Md5Verifier, ScramVerifier};
use postwire_server::client::{ClientConfig, ClientError, connect};
use postwire_server::{Config, Credentials, StaticUsers, Value};
use server_support::start;

fn config(port: u16, user: &str, password: &str, database: &str) -> ClientConfig {
    ClientConfig {
        host: "127.0.0.1".into(),
        port,
        user: user.into(),
        password: Some(password.into()),
        database: database.into(),
        application_name: Some("postwire-client-test".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn against_postwire_logins_queries_errors_and_pipelining() {
    let scram = ScramVerifier::derive(b"pencil", b"0123456789abcdef", 4096).unwrap();
    let users = StaticUsers::new()
        .user("trusty", Credentials::Trust)
        .user("plain", Credentials::Password("pencil".into()))
        .user("md5", Credentials::Md5(Md5Verifier::derive(b"md5", b"pencil").to_text().to_string()))
        .user("scram", Credentials::Scram(scram.to_text().to_string()));
    let (server, port) = start(Config::default(), users).await;
    for user in ["trusty", "plain", "md5", "scram"] {
        let client = connect(&config(port, user, "pencil", "db")).await.unwrap_or_else(|e| panic!("{user}: {e}"));
        let result = client.simple_query("SELECT 3").await.unwrap();
        assert_eq!((result.rows.len(), result.tag()), (3, "SELECT 3"));
        assert_eq!(result.rows[2].get::<i32>(0).unwrap(), Some(3));
        assert_eq!(result.rows[2].text(1), Some("9"));
        if user != "trusty" {
            let err = connect(&config(port, user, "wrong", "db")).await.unwrap_err();
            assert_eq!(err.code(), Some("28P01"), "{user}: {err}");
        }
    }
    let client = connect(&config(port, "scram", "pencil", "db")).await.unwrap();
    // Extended protocol with a typed parameter.
    let result = client.query("SELECT $1::int4", &[Value::Int4(41)]).await.unwrap();
    assert_eq!(result.rows[0].get::<i32>(0).unwrap(), Some(41));
    assert_eq!(result.rows[0].columns()[0].name, "v");
    // Errors carry the SQLSTATE and the session goes on.
    let err = client.simple_query("bogus").await.unwrap_err();
    assert_eq!(err.code(), Some("42601"));
    let ClientError::Db(db) = &err else { panic!("a server error") };
    assert!(db.message.contains("bogus") && db.hint.is_some(), "{db:?}");
    let err = client.query("FAIL", &[]).await.unwrap_err();
    assert_eq!(err.code(), Some("22012"));
    // 1,000 queries pipelined on the one connection, answers in order.
    let calls = (0..1000).map(|i| {
        let client = client.clone();
        async move { client.query("SELECT $1::int4", &[Value::Int4(i)]).await }
    });
    let answers = future::join_all(calls).await;
    let values: Vec<i32> =
        answers.iter().map(|r| r.as_ref().unwrap().rows[0].get::<i32>(0).unwrap().unwrap()).collect();
    assert_eq!(values, (0..1000).collect::<Vec<_>>());
    // The server going away is an error, never a hang.
    server.shutdown(std::time::Duration::from_millis(100)).await;
    let err = client.simple_query("SELECT 1").await.unwrap_err();
    assert!(matches!(err, ClientError::Closed | ClientError::Db(_)), "{err:?}");
    assert!(matches!(client.simple_query("SELECT 1").await.unwrap_err(), ClientError::Closed));
}

#[tokio::test]
async fn against_a_real_postgresql() {
    let Some(port) = std::env::var("POSTWIRE_PG_PORT").ok().and_then(|p| p.parse().ok()) else {
        eprintln!("POSTWIRE_PG_PORT unset: the real-server client tests are skipped (.ci/pg-cluster.sh)");
        return;
    };
    for (user, password) in
        [("fe_trust", ""), ("fe_pass", "plain-secret"), ("fe_md5", "md5-secret"), ("fe_scram", "scram-secret")]
    {
        let client = connect(&config(port, user, password, "fe")).await.unwrap_or_else(|e| panic!("{user}: {e}"));
        let result =
            client.query("SELECT $1::int4 + 1, $2::text, $3::int8", &[41.into(), "x".into(), Value::Null]).await;
        let result = result.unwrap();
        assert_eq!(result.rows[0].get::<i32>(0).unwrap(), Some(42), "{user}");
        assert_eq!(result.rows[0].text(1), Some("x"));
        assert_eq!(result.rows[0].get::<i64>(2).unwrap(), None);
        if !password.is_empty() {
            let err = connect(&config(port, user, "wrong", "fe")).await.unwrap_err();
            assert_eq!(err.code(), Some("28P01"), "{user}");
        }
    }
    let client = connect(&config(port, "fe_scram", "scram-secret", "fe")).await.unwrap();
    let err = client.simple_query("SELECT * FROM no_such_table").await.unwrap_err();
    assert_eq!(err.code(), Some("42P01"));
    let ClientError::Db(db) = &err else { panic!("a server error") };
    assert_eq!(db.position, Some(15));
    let result = client.simple_query("SELECT 1; SELECT generate_series(1, 3)").await.unwrap();
    assert_eq!((result.rows.len(), result.tag()), (4, "SELECT 3"));
    // Pipelined: 1,000 queries in flight with an error in the middle.
    let calls = (0..1000).map(|i| {
        let client = client.clone();
        async move {
            let sql = if i == 500 { "SELECT 1/0" } else { "SELECT $1::int4 * 2" };
            let params = if i == 500 { vec![] } else { vec![Value::Int4(i)] };
            client.query(sql, &params).await
        }
    });
    let answers = future::join_all(calls).await;
    for (i, answer) in answers.iter().enumerate() {
        match answer {
            Ok(r) => assert_eq!(r.rows[0].get::<i32>(0).unwrap(), Some(2 * i as i32)),
            Err(e) => assert_eq!((i, e.code()), (500, Some("22012"))),
        }
    }
}

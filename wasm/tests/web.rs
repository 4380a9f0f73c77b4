//! The wasm `Session` driven directly, in headless Chromium
//! (`cargo test -p postwire-wasm --target wasm32-unknown-unknown`, with
//! `CHROMEDRIVER` naming the driver).
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Object, Reflect, Uint8Array};
use postwire_codec::Encode;
use postwire_codec::frontend::{ProtocolVersion, Query, StartupMessage, StartupParams};
use postwire_wasm::{Config, Session};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

fn startup(user: &str) -> Vec<u8> {
    let params = [("user", user), ("database", "db")];
    let mut out = Vec::new();
    StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&params) }
        .encode_to_vec(&mut out)
        .unwrap();
    out
}

fn query(sql: &str) -> Vec<u8> {
    let mut out = Vec::new();
    Query { sql }.encode_to_vec(&mut out).unwrap();
    out
}

fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The (tag, body) messages in a chunk of server output.
fn messages(mut bytes: &[u8]) -> Vec<(char, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 5 {
        let len = i32::from_be_bytes(bytes[1..5].try_into().unwrap()) as usize;
        out.push((bytes[0] as char, bytes[5..1 + len].to_vec()));
        bytes = &bytes[1 + len..];
    }
    assert!(bytes.is_empty(), "whole messages only");
    out
}

/// Everything the session has to send.
fn output(session: &mut Session) -> Vec<u8> {
    session.take_output().map(|bytes| bytes.to_vec()).unwrap_or_default()
}

fn tags(messages: &[(char, Vec<u8>)]) -> String {
    messages.iter().map(|m| m.0).collect()
}

/// Request codes from `Session::step`.
const QUERY: u32 = 1;
const LOG: u32 = 2;
const ENDED: u32 = 5;

/// Steps until the session needs input; returns the requests it made, as
/// their codes and SQL (the reason for an ended request). Query requests are
/// answered by `answer`, given the SQL.
fn run(session: &mut Session, mut answer: impl FnMut(&str) -> JsValue) -> Vec<(u32, String)> {
    let mut requests = Vec::new();
    for _ in 0..1000 {
        let request = session.step();
        if request == 0 {
            break;
        }
        let text = if request == ENDED { session.request_reason() } else { session.request_sql() };
        if request == QUERY {
            let result = answer(&text);
            session.answer(result).unwrap();
        }
        requests.push((request, text));
    }
    requests
}

fn new_session(options: JsValue, pid: i32) -> Session {
    let config = Config::new(options).unwrap();
    Session::new(&config, pid, &[1, 2, 3, 4, 5, 6, 7, 8], &[9; 32], false).unwrap()
}

fn logged_in(options: JsValue) -> Session {
    let mut session = new_session(options, 7);
    session.push(&startup("alice"));
    run(&mut session, |_| JsValue::UNDEFINED);
    let login = messages(&output(&mut session));
    assert!(tags(&login).starts_with('R') && tags(&login).ends_with("KZ"), "{}", tags(&login));
    session
}

#[wasm_bindgen_test]
fn trust_login_then_a_query_answered_from_js() {
    let mut session = logged_in(JsValue::UNDEFINED);
    assert_eq!(session.user(), "alice");
    assert_eq!(session.database(), "db");
    session.push(&query("SELECT name FROM t; SELECT 2"));
    let requests = run(&mut session, |sql| {
        if sql == "SELECT 2" {
            return JsValue::UNDEFINED;
        }
        let rows = Array::of2(&Array::of1(&"ann".into()), &Array::of1(&JsValue::NULL));
        object(&[("columns", Array::of1(&"name".into()).into()), ("rows", rows.into())])
    });
    // SELECT 2 is asked too; unanswered, the constant fallback answers it.
    assert_eq!(requests.len(), 2);
    let out = messages(&output(&mut session));
    assert_eq!(tags(&out), "TDDCTDCZ");
    assert_eq!(out[1].1, [0, 1, 0, 0, 0, 3, b'a', b'n', b'n']);
    assert_eq!(out[2].1, [0, 1, 255, 255, 255, 255]);
    assert_eq!(out[3].1, b"SELECT 2\0");
}

#[wasm_bindgen_test]
fn constant_select_fallback_and_inferred_types() {
    let mut session = logged_in(JsValue::UNDEFINED);
    session.push(&query("SELECT 1 AS one, 'x' AS s"));
    run(&mut session, |_| JsValue::UNDEFINED);
    let out = messages(&output(&mut session));
    assert_eq!(tags(&out), "TDCZ");
    assert_eq!(out[1].1, [0, 2, 0, 0, 0, 1, b'1', 0, 0, 0, 1, b'x']);

    session.push(&query("SELECT typed"));
    run(&mut session, |_| {
        let date = js_sys::Date::new(&JsValue::from_f64(0.0));
        let array = Array::of3(&1.into(), &JsValue::NULL, &3.into());
        let row = Array::of5(
            &2.5.into(),
            &true.into(),
            &date.into(),
            &array.into(),
            &Uint8Array::from(&[0xde, 0xad][..]).into(),
        );
        object(&[("rows", Array::of1(&row).into())])
    });
    let out = messages(&output(&mut session));
    assert_eq!(tags(&out), "TDCZ");
    let cells = &out[1].1;
    let text = String::from_utf8_lossy(cells);
    for expected in ["2.5", "t", "1970-01-01 00:00:00+00", "{1,NULL,3}", "\\xdead"] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
}

#[wasm_bindgen_test]
fn unmatched_queries_fail_and_transactions_are_tracked() {
    let mut session = logged_in(JsValue::UNDEFINED);
    session.push(&query("BEGIN; SELECT nothing"));
    let requests = run(&mut session, |_| JsValue::UNDEFINED);
    assert_eq!(requests[0], (LOG, "BEGIN".to_owned()));
    let out = messages(&output(&mut session));
    assert_eq!(tags(&out), "CEZ");
    assert!(String::from_utf8_lossy(&out[1].1).contains("C0A000"));
    assert_eq!(out[2].1, b"E");
    assert_eq!(session.transaction_status(), "E");
    session.push(&query("SELECT 1"));
    run(&mut session, |_| JsValue::UNDEFINED);
    assert!(String::from_utf8_lossy(&output(&mut session)).contains("C25P02"));
    session.push(&query("ROLLBACK"));
    run(&mut session, |_| JsValue::UNDEFINED);
    let out = messages(&output(&mut session));
    assert_eq!(tags(&out), "CZ");
    assert_eq!(out[0].1, b"ROLLBACK\0");
    assert_eq!(session.transaction_status(), "I");
}

#[wasm_bindgen_test]
fn extended_query_with_a_row_limit() {
    let mut session = logged_in(JsValue::UNDEFINED);
    let mut batch = message(b'P', b"\0SELECT n\0\0\0");
    batch.extend(message(b'B', b"\0\0\0\0\0\0\0\0"));
    batch.extend(message(b'E', b"\0\0\0\0\x02"));
    batch.extend(message(b'E', b"\0\0\0\0\x02"));
    batch.extend(message(b'S', b""));
    session.push(&batch);
    let mut asked = 0;
    run(&mut session, |_| {
        asked += 1;
        let rows = Array::of3(&Array::of1(&1.into()), &Array::of1(&2.into()), &Array::of1(&3.into()));
        object(&[("rows", rows.into())])
    });
    assert_eq!(asked, 1);
    let out = messages(&output(&mut session));
    assert_eq!(tags(&out), "12DDsDCZ");
}

#[wasm_bindgen_test]
fn password_auth_notify_and_cancel() {
    let options = object(&[("auth", "password".into()), ("password", "pw".into())]);
    let mut session = new_session(options, 9);
    session.push(&startup("bob"));
    run(&mut session, |_| JsValue::UNDEFINED);
    assert_eq!(tags(&messages(&output(&mut session))), "R");
    session.push(&message(b'p', b"pw\0"));
    run(&mut session, |_| JsValue::UNDEFINED);
    assert!(tags(&messages(&output(&mut session))).ends_with("KZ"));

    session.push(&query("LISTEN jobs"));
    run(&mut session, |_| JsValue::UNDEFINED);
    output(&mut session);
    assert!(session.notify(1, "jobs", "hi"));
    assert!(!session.notify(1, "other", "hi"));
    let out = messages(&output(&mut session));
    assert_eq!(tags(&out), "A");
    assert_eq!(out[0].1, b"\0\0\0\x01jobs\0hi\0");

    // A query waiting for JS can be cancelled with the right key only.
    session.push(&query("SELECT slow"));
    assert_eq!(session.step(), QUERY);
    assert_eq!(session.request_sql(), "SELECT slow");
    assert!(session.request_params().is_undefined(), "a simple query has no parameters");
    assert!(!session.cancel(&[9, 9, 9, 9]));
    assert!(session.cancel(&[1, 2, 3, 4]));
    session.answer(object(&[("rows", Array::new().into())])).unwrap();
    let out = output(&mut session);
    assert!(String::from_utf8_lossy(&out).contains("C57014"));
    assert!(session.answer(JsValue::UNDEFINED).is_err(), "nothing waits for an answer");
}

#[wasm_bindgen_test]
fn bad_input_ends_the_session_with_a_fatal_error() {
    let mut session = new_session(JsValue::UNDEFINED, 1);
    session.push(&[0, 0, 0, 2, 0xff]);
    let requests = run(&mut session, |_| JsValue::UNDEFINED);
    let (code, reason) = requests.last().unwrap();
    assert_eq!(*code, ENDED);
    assert!(!reason.is_empty());
    let out = messages(&output(&mut session));
    assert_eq!(tags(&out), "E");
    assert!(session.closed());
    assert_eq!(session.step(), 0, "nothing after the end");
    assert!(Config::new(object(&[("auth", "scram".into())])).is_err());
}

//! The frontend machine drives the backend machine in memory (quinn's `Pair`
//! pattern): bytes move between them in chunks of any size, a small scripted
//! database answers the backend's events, and both sides must agree on every
//! flow — simple and extended queries, pipelined errors, row limits, COPY,
//! asynchronous messages, transaction status, cancel, terminate and EOF.

use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::HashMap;

use postwire_codec::backend::{ErrorFields, FieldDescription, Severity, TransactionStatus};
use postwire_codec::frontend::{StartupParams, TargetKind};
use postwire_codec::session::backend::{AuthMethod, Backend, BackendKey, Event as BackendEvent, ServerParameters};
use postwire_codec::session::frontend::{Config, Event, Frontend};
use postwire_codec::{Format, SqlState, oid};

const COLUMN: [FieldDescription<'static>; 1] = [FieldDescription::new("n", oid::INT4)];

/// `SELECT <n>` returns rows 1..=n; anything else that is not a known
/// command is a syntax error.
fn row_count(sql: &str) -> Option<u32> {
    sql.trim().strip_prefix("SELECT ")?.parse().ok()
}

/// The scripted database behind the backend machine.
#[derive(Default)]
struct Database {
    statements: HashMap<usize, String>,
    /// Per portal slot: its statement's SQL and the rows already sent.
    portals: HashMap<usize, (String, u32)>,
    copied: Vec<u8>,
    in_simple_query: bool,
}

/// Both machines, the bytes in flight, and what the frontend reported.
struct Pair {
    frontend: Frontend<Vec<u8>>,
    backend: Backend<Vec<u8>>,
    db: Database,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    /// Bytes moved per step (1 = a byte at a time).
    chunk: usize,
    rng: StdRng,
    log: Vec<String>,
}

impl Pair {
    fn new(chunk: usize) -> Self {
        let mut pair = Pair {
            frontend: Frontend::new(vec![0; 4096], Config::DEFAULT),
            backend: Backend::new(vec![0; 4096]),
            db: Database::default(),
            to_server: Vec::new(),
            to_client: Vec::new(),
            chunk,
            rng: StdRng::seed_from_u64(5),
            log: Vec::new(),
        };
        pair.frontend.start(StartupParams::from_slice(&[("user", "alice")]), &mut pair.rng).unwrap();
        pair.run();
        assert_eq!(pair.take_log().last().map(String::as_str), Some("Ready(I)"));
        pair
    }

    fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    /// Moves bytes both ways until neither side has anything more to say.
    fn run(&mut self) {
        for _ in 0..100_000 {
            let mut moved = false;
            let out = self.frontend.pending_output();
            if !out.is_empty() {
                let n = out.len().min(self.chunk);
                self.to_server.extend_from_slice(&out[..n]);
                self.frontend.consume_output(n);
                moved = true;
            }
            moved |= self.server_step();
            let out = self.backend.pending_output();
            if !out.is_empty() {
                let n = out.len().min(self.chunk);
                self.to_client.extend_from_slice(&out[..n]);
                self.backend.consume_output(n);
                moved = true;
            }
            moved |= self.client_step();
            if !moved {
                return;
            }
        }
        panic!("the pair never went quiet");
    }

    fn server_step(&mut self) -> bool {
        let step = self.backend.handle_input(&self.to_server);
        let consumed = step.consumed;
        let Some(event) = step.event else {
            self.to_server.drain(..consumed);
            return consumed > 0;
        };
        let b = &mut self.backend;
        let db = &mut self.db;
        let error = |code, message| ErrorFields::new(Severity::Error, code, message);
        match event {
            BackendEvent::Startup { .. } => b.authenticate(AuthMethod::Trust, &mut self.rng).unwrap(),
            BackendEvent::Authenticated => {
                b.accept(&ServerParameters::DEFAULT, &BackendKey::new(42, &[9, 8, 7, 6]).unwrap()).unwrap()
            }
            BackendEvent::Query { sql } => {
                db.in_simple_query = true;
                let statements: Vec<&str> = sql.split(';').map(str::trim).filter(|s| !s.is_empty()).collect();
                if statements.is_empty() {
                    b.empty_query().unwrap();
                }
                let mut copying = false;
                for statement in statements {
                    match statement {
                        "BEGIN" => {
                            b.command_complete("BEGIN").unwrap();
                            b.set_transaction_status(TransactionStatus::InTransaction).unwrap();
                        }
                        "COMMIT" => {
                            b.command_complete("COMMIT").unwrap();
                            b.set_transaction_status(TransactionStatus::Idle).unwrap();
                        }
                        "COPY IN" => {
                            b.copy_in_response(Format::Text, &[Format::Text]).unwrap();
                            copying = true;
                            break;
                        }
                        "COPY OUT" => {
                            b.copy_out_response(Format::Text, &[Format::Text]).unwrap();
                            b.copy_data(b"1\n").unwrap();
                            b.copy_data(b"2\n").unwrap();
                            b.copy_done().unwrap();
                            b.command_complete("COPY 2").unwrap();
                        }
                        "NOTIFY" => {
                            b.command_complete("NOTIFY").unwrap();
                            b.notification(42, "jobs", "payload").unwrap();
                            b.notice(&ErrorFields::new(Severity::Notice, SqlState::SUCCESSFUL_COMPLETION, "fyi"))
                                .unwrap();
                            b.parameter_status("application_name", "pair").unwrap();
                        }
                        s => match row_count(s) {
                            Some(n) => {
                                b.row_description(&COLUMN).unwrap();
                                for i in 1..=n {
                                    b.data_row(&[Some(i.to_string().as_bytes())]).unwrap();
                                }
                                b.command_complete(&format!("SELECT {n}")).unwrap();
                            }
                            None => {
                                b.error(&error(SqlState::SYNTAX_ERROR, "syntax error")).unwrap();
                                break;
                            }
                        },
                    }
                }
                if !copying {
                    b.ready_for_query().unwrap();
                }
            }
            BackendEvent::Parse { statement, query, .. } => {
                if row_count(query).is_some() || query.starts_with("SELECT $1") {
                    db.statements.insert(statement.index(), query.to_owned());
                    b.parse_complete(query.matches('$').count()).unwrap();
                } else {
                    b.error(&error(SqlState::SYNTAX_ERROR, "syntax error")).unwrap();
                }
            }
            BackendEvent::Bind { portal, statement, .. } => {
                let sql = db.statements[&statement.index()].clone();
                db.portals.insert(portal.index(), (sql, 0));
                b.bind_complete().unwrap();
            }
            BackendEvent::DescribeStatement { statement } => {
                let sql = &db.statements[&statement.index()];
                let params = vec![oid::INT4; sql.matches('$').count()];
                b.parameter_description(&params).unwrap();
                b.row_description(&COLUMN).unwrap();
            }
            BackendEvent::DescribePortal { .. } => b.row_description(&COLUMN).unwrap(),
            BackendEvent::Execute { portal, max_rows } => {
                let (sql, sent) = db.portals.get_mut(&portal.index()).unwrap();
                let total = row_count(sql).unwrap_or(1);
                let limit = if max_rows > 0 { max_rows as u32 } else { u32::MAX };
                let mut count = 0;
                while *sent < total && count < limit {
                    *sent += 1;
                    count += 1;
                    b.data_row(&[Some(sent.to_string().as_bytes())]).unwrap();
                }
                if *sent < total {
                    b.portal_suspended().unwrap();
                } else {
                    b.command_complete(&format!("SELECT {count}")).unwrap();
                }
            }
            BackendEvent::Sync { .. } => b.ready_for_query().unwrap(),
            BackendEvent::Closed { .. } | BackendEvent::Flush => {}
            BackendEvent::FunctionCall { call } => {
                let arg = call.args.iter().next().flatten().unwrap_or_default().to_vec();
                b.function_call_response(Some(&arg)).unwrap();
                b.ready_for_query().unwrap();
            }
            BackendEvent::CopyData { data } => db.copied.extend_from_slice(data),
            BackendEvent::CopyDone => {
                let rows = db.copied.iter().filter(|&&c| c == b'\n').count();
                b.command_complete(&format!("COPY {rows}")).unwrap();
                b.ready_for_query().unwrap();
            }
            BackendEvent::CopyAborted { .. } => {
                db.copied.clear();
                b.ready_for_query().unwrap();
            }
            BackendEvent::Ended { .. } => {}
            other => panic!("unexpected backend event {other:?}"),
        }
        self.to_server.drain(..consumed);
        true
    }

    fn client_step(&mut self) -> bool {
        if self.frontend.is_closed() {
            return false;
        }
        let step = match self.frontend.handle_input(&self.to_client) {
            Ok(step) => step,
            Err(e) => {
                self.log.push(format!("Fatal({e:?})"));
                self.to_client.clear();
                return false;
            }
        };
        let consumed = step.consumed;
        let had_event = step.event.is_some();
        let entry = match step.event {
            Some(Event::DataRow { row, .. }) => Some(format!(
                "Row({})",
                String::from_utf8_lossy(row.cells().next().and_then(Result::ok).flatten().unwrap_or(b"NULL"))
            )),
            Some(Event::CommandComplete { complete, .. }) => Some(format!("Complete({})", complete.tag)),
            Some(Event::Error { error, .. }) => {
                Some(format!("Error({})", error.code().map_or("?".to_owned(), |c| c.code().to_owned())))
            }
            Some(Event::Ready { status, .. }) => Some(format!(
                "Ready({})",
                match status {
                    TransactionStatus::Idle => 'I',
                    TransactionStatus::InTransaction => 'T',
                    TransactionStatus::Failed => 'E',
                }
            )),
            Some(Event::Skipped { .. }) => Some("Skipped".into()),
            Some(Event::PortalSuspended { .. }) => Some("Suspended".into()),
            Some(Event::EmptyQuery { .. }) => Some("Empty".into()),
            Some(Event::CopyIn { .. }) => Some("CopyIn".into()),
            Some(Event::CopyOut { .. }) => Some("CopyOut".into()),
            Some(Event::CopyData { data, .. }) => Some(format!("CopyData({})", String::from_utf8_lossy(data).trim())),
            Some(Event::CopyDone { .. }) => Some("CopyDone".into()),
            Some(Event::Notification(n)) => Some(format!("Notification({},{})", n.channel, n.payload)),
            Some(Event::Notice(_)) => Some("Notice".into()),
            Some(Event::ParameterStatus(p)) if p.name == "application_name" => Some(format!("Param({})", p.value)),
            Some(Event::ParseComplete { .. }) => Some("ParseComplete".into()),
            Some(Event::BindComplete { .. }) => Some("BindComplete".into()),
            Some(Event::CloseComplete { .. }) => Some("CloseComplete".into()),
            Some(Event::ParameterDescription { description, .. }) => {
                Some(format!("Params({})", description.types.len()))
            }
            Some(Event::RowDescription { .. }) => Some("RowDescription".into()),
            Some(Event::NoData { .. }) => Some("NoData".into()),
            Some(Event::FunctionResult { .. }) => Some("FunctionResult".into()),
            _ => None,
        };
        if let Some(entry) = entry {
            self.log.push(entry);
        }
        self.to_client.drain(..consumed);
        consumed > 0 || had_event
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Every scenario runs with whole buffers, a byte at a time, and in between.
const CHUNKS: [usize; 3] = [usize::MAX, 1, 7];

#[test]
fn simple_queries_several_statements_empty_and_errors() {
    for chunk in CHUNKS {
        let mut p = Pair::new(chunk);
        p.frontend.send_query("SELECT 2; SELECT 1").unwrap();
        p.run();
        let expected = [
            "RowDescription",
            "Row(1)",
            "Row(2)",
            "Complete(SELECT 2)",
            "RowDescription",
            "Row(1)",
            "Complete(SELECT 1)",
            "Ready(I)",
        ];
        assert_eq!(p.take_log(), strings(&expected), "chunk {chunk}");
        p.frontend.send_query(" ; ").unwrap();
        p.run();
        assert_eq!(p.take_log(), strings(&["Empty", "Ready(I)"]));
        // An error ends the batch: the third statement never runs.
        p.frontend.send_query("SELECT 1; oops; SELECT 3").unwrap();
        p.run();
        let expected = ["RowDescription", "Row(1)", "Complete(SELECT 1)", "Error(42601)", "Ready(I)"];
        assert_eq!(p.take_log(), strings(&expected));
    }
}

#[test]
fn extended_queries_named_and_unnamed_with_describe() {
    for chunk in CHUNKS {
        let mut p = Pair::new(chunk);
        let f = &mut p.frontend;
        f.send_parse("two", "SELECT 2", &[]).unwrap();
        f.send_describe(TargetKind::Statement, "two").unwrap();
        f.send_bind("", "two", &[], &[], &[]).unwrap();
        f.send_execute("", 0).unwrap();
        f.send_parse("", "SELECT $1", &[oid::INT4]).unwrap();
        f.send_bind("p", "", &[Format::Text], &[Some(b"5")], &[]).unwrap();
        f.send_describe(TargetKind::Portal, "p").unwrap();
        f.send_execute("p", 0).unwrap();
        f.send_close(TargetKind::Statement, "two").unwrap();
        f.send_sync().unwrap();
        p.run();
        let expected = [
            "ParseComplete",
            "Params(0)",
            "RowDescription",
            "BindComplete",
            "Row(1)",
            "Row(2)",
            "Complete(SELECT 2)",
            "ParseComplete",
            "BindComplete",
            "RowDescription",
            "Row(1)",
            "Complete(SELECT 1)",
            "CloseComplete",
            "Ready(I)",
        ];
        assert_eq!(p.take_log(), strings(&expected), "chunk {chunk}");
    }
}

#[test]
fn pipelined_batches_skip_to_sync_after_an_error() {
    for chunk in CHUNKS {
        let mut p = Pair::new(chunk);
        let f = &mut p.frontend;
        // Batch 1 fails at Parse: Bind, Execute are skipped; one error, one Ready.
        f.send_parse("", "oops", &[]).unwrap();
        f.send_bind("", "", &[], &[], &[]).unwrap();
        f.send_execute("", 0).unwrap();
        f.send_sync().unwrap();
        // Batch 2, in flight at the same time, runs normally.
        f.send_parse("", "SELECT 1", &[]).unwrap();
        f.send_bind("", "", &[], &[], &[]).unwrap();
        f.send_execute("", 0).unwrap();
        f.send_sync().unwrap();
        // Batch 3: unknown statement → 26000 from the machine itself.
        f.send_bind("", "missing", &[], &[], &[]).unwrap();
        f.send_execute("", 0).unwrap();
        f.send_sync().unwrap();
        p.run();
        let expected = [
            "Error(42601)",
            "Skipped",
            "Skipped",
            "Ready(I)",
            "ParseComplete",
            "BindComplete",
            "Row(1)",
            "Complete(SELECT 1)",
            "Ready(I)",
            "Error(26000)",
            "Skipped",
            "Ready(I)",
        ];
        assert_eq!(p.take_log(), strings(&expected), "chunk {chunk}");
    }
}

#[test]
fn row_limits_suspend_portals_and_resume() {
    let mut p = Pair::new(usize::MAX);
    let f = &mut p.frontend;
    f.send_parse("", "SELECT 5", &[]).unwrap();
    f.send_bind("c", "", &[], &[], &[]).unwrap();
    f.send_execute("c", 2).unwrap();
    f.send_execute("c", 2).unwrap();
    f.send_execute("c", 2).unwrap();
    f.send_sync().unwrap();
    p.run();
    let expected = [
        "ParseComplete",
        "BindComplete",
        "Row(1)",
        "Row(2)",
        "Suspended",
        "Row(3)",
        "Row(4)",
        "Suspended",
        "Row(5)",
        "Complete(SELECT 1)",
        "Ready(I)",
    ];
    assert_eq!(p.take_log(), strings(&expected));
}

#[test]
fn copy_in_done_and_failed_and_copy_out() {
    for chunk in CHUNKS {
        let mut p = Pair::new(chunk);
        p.frontend.send_query("COPY IN").unwrap();
        p.run();
        assert_eq!(p.take_log(), strings(&["CopyIn"]));
        p.frontend.send_copy_data(b"1\tone\n2\ttwo\n").unwrap();
        p.frontend.send_copy_data(b"3\tthree\n").unwrap();
        p.frontend.send_copy_done().unwrap();
        p.run();
        assert_eq!(p.take_log(), strings(&["Complete(COPY 3)", "Ready(I)"]), "chunk {chunk}");

        p.frontend.send_query("COPY IN").unwrap();
        p.run();
        p.frontend.send_copy_data(b"4\n").unwrap();
        p.frontend.send_copy_fail("client gave up").unwrap();
        p.run();
        assert_eq!(p.take_log(), strings(&["CopyIn", "Error(57014)", "Ready(I)"]));
        assert!(p.db.copied.is_empty(), "the aborted data was discarded");

        p.frontend.send_query("COPY OUT").unwrap();
        p.run();
        let expected = ["CopyOut", "CopyData(1)", "CopyData(2)", "CopyDone", "Complete(COPY 2)", "Ready(I)"];
        assert_eq!(p.take_log(), strings(&expected));
    }
}

#[test]
fn asynchronous_messages_and_transaction_status() {
    let mut p = Pair::new(3);
    p.frontend.send_query("BEGIN; NOTIFY").unwrap();
    p.run();
    let expected =
        ["Complete(BEGIN)", "Complete(NOTIFY)", "Notification(jobs,payload)", "Notice", "Param(pair)", "Ready(T)"];
    assert_eq!(p.take_log(), strings(&expected));
    assert_eq!(p.frontend.transaction_status(), Some(TransactionStatus::InTransaction));
    assert_eq!(p.backend.transaction_status(), TransactionStatus::InTransaction);
    // An error inside the transaction: both sides see E.
    p.frontend.send_query("oops").unwrap();
    p.run();
    assert_eq!(p.take_log(), strings(&["Error(42601)", "Ready(E)"]));
    assert_eq!(p.frontend.transaction_status(), Some(TransactionStatus::Failed));
    assert_eq!(p.backend.transaction_status(), TransactionStatus::Failed);
    p.frontend.send_query("COMMIT").unwrap();
    p.run();
    assert_eq!(p.take_log(), strings(&["Complete(COMMIT)", "Ready(I)"]));
}

#[test]
fn function_call_flush_and_cancel_request() {
    let mut p = Pair::new(usize::MAX);
    p.frontend.send_function_call(1598, &[Format::Binary], &[Some(b"abc")], Format::Binary).unwrap();
    p.run();
    assert_eq!(p.take_log(), strings(&["FunctionResult", "Ready(I)"]));

    // Flush makes the server send what it has before a Sync.
    p.frontend.send_parse("", "SELECT 1", &[]).unwrap();
    p.frontend.send_flush().unwrap();
    p.run();
    assert_eq!(p.take_log(), strings(&["ParseComplete"]));
    p.frontend.send_sync().unwrap();
    p.run();
    assert_eq!(p.take_log(), strings(&["Ready(I)"]));

    // A CancelRequest built from the session's key reaches a second backend
    // as the same key.
    let mut request = [0u8; 64];
    let n = p.frontend.cancel_request(&mut request).unwrap();
    let mut other: Backend<Vec<u8>> = Backend::new(vec![0; 256]);
    let step = other.handle_input(&request[..n]);
    match step.event {
        Some(BackendEvent::CancelRequest { process_id, secret_key }) => {
            assert_eq!((process_id, secret_key), (42, &[9, 8, 7, 6][..]));
        }
        other => panic!("a cancel request, got {other:?}"),
    }
}

#[test]
fn terminate_and_eof_mid_message() {
    let mut p = Pair::new(usize::MAX);
    p.frontend.send_terminate().unwrap();
    p.run();
    assert!(p.backend.is_closed());
    assert!(p.frontend.is_closed());

    // The server vanishes in the middle of a DataRow: the client reports a
    // truncated stream, not a row.
    let mut p = Pair::new(usize::MAX);
    p.frontend.send_query("SELECT 3").unwrap();
    p.to_server.extend_from_slice(p.frontend.pending_output());
    let n = p.frontend.pending_output().len();
    p.frontend.consume_output(n);
    while p.server_step() {}
    let answer = p.backend.pending_output().to_vec();
    // ReadyForQuery is 6 bytes, CommandComplete("SELECT 3") 14, the third
    // DataRow 12: cut that row in half.
    let cut = answer.len() - 6 - 14 - 6;
    p.to_client.extend_from_slice(&answer[..cut]);
    while p.client_step() {}
    let reason = p.frontend.handle_eof(p.to_client.len());
    assert_eq!(format!("{reason:?}"), "Truncated");
    assert_eq!(p.take_log(), strings(&["RowDescription", "Row(1)", "Row(2)"]));

    // The client vanishes mid-message: the backend reports it, nothing half-processed.
    let mut p = Pair::new(usize::MAX);
    p.frontend.send_query("SELECT 1").unwrap();
    let half = p.frontend.pending_output().len() / 2;
    let partial = p.frontend.pending_output()[..half].to_vec();
    assert!(p.backend.handle_input(&partial).event.is_none());
    let reason = p.backend.handle_eof(partial.len());
    assert_eq!(format!("{reason:?}"), "Truncated");
}

/// One step of a random pipeline.
#[derive(Debug, Clone)]
enum Action {
    Query(&'static str),
    Parse { name: &'static str, sql: &'static str },
    Bind { statement: &'static str, params: usize },
    Describe,
    Execute(i32),
    Sync,
    Flush,
}

fn action() -> impl proptest::strategy::Strategy<Value = Action> {
    use proptest::prelude::*;
    prop_oneof![
        prop::sample::select(vec!["SELECT 2", "oops", "", "BEGIN", "COMMIT", "SELECT 1; oops"]).prop_map(Action::Query),
        (prop::sample::select(vec!["", "a", "b"]), prop::sample::select(vec!["SELECT 3", "SELECT $1", "bad sql"]))
            .prop_map(|(name, sql)| Action::Parse { name, sql }),
        (prop::sample::select(vec!["", "a", "missing"]), 0..2usize)
            .prop_map(|(statement, params)| Action::Bind { statement, params }),
        Just(Action::Describe),
        (0..3i32).prop_map(Action::Execute),
        Just(Action::Sync),
        Just(Action::Flush),
    ]
}

proptest::proptest! {
    /// Random pipelines of valid and invalid requests, moved in random chunk
    /// sizes: every Query and every Sync gets exactly one ReadyForQuery, the
    /// two sides agree on the transaction status, and garbage ends both
    /// sessions with a FATAL protocol error.
    #[test]
    fn random_pipelines_keep_both_sides_consistent(
        actions in proptest::collection::vec(action(), 0..24),
        chunk in 1..64usize,
        garbage in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 1..16)),
    ) {
        let mut p = Pair::new(chunk);
        let mut expected_ready = 0;
        // A Query inside an open extended batch would be skipped with it
        // after an error (as PostgreSQL does); clients close the batch first.
        let mut open_batch = false;
        for action in &actions {
            let f = &mut p.frontend;
            if matches!(action, Action::Query(_)) && open_batch && f.send_sync().is_ok() {
                expected_ready += 1;
            }
            open_batch = !matches!(action, Action::Query(_) | Action::Sync);
            let sent = match *action {
                Action::Query(sql) => f.send_query(sql).map(drop),
                Action::Parse { name, sql } => f.send_parse(name, sql, &[]).map(drop),
                Action::Bind { statement, params } => {
                    let values = vec![Some(&b"7"[..]); params];
                    f.send_bind("", statement, &[], &values, &[]).map(drop)
                }
                Action::Describe => f.send_describe(TargetKind::Portal, "").map(drop),
                Action::Execute(max_rows) => f.send_execute("", max_rows).map(drop),
                Action::Sync => f.send_sync().map(drop),
                Action::Flush => f.send_flush(),
            };
            if sent.is_ok() && matches!(action, Action::Query(_) | Action::Sync) {
                expected_ready += 1;
            }
        }
        // Close the last batch so every request is answered.
        if p.frontend.send_sync().is_ok() {
            expected_ready += 1;
        }
        if let Some(garbage) = &garbage {
            // A message type no frontend sends, with a valid length: a
            // protocol violation for the backend.
            p.run();
            p.take_log();
            let mut message = vec![b'!'];
            message.extend_from_slice(&(4 + garbage.len() as u32).to_be_bytes());
            message.extend_from_slice(garbage);
            p.to_server.extend_from_slice(&message);
            p.run();
            let log = p.take_log();
            proptest::prop_assert!(p.backend.is_closed() && p.frontend.is_closed(), "{log:?}");
            proptest::prop_assert_eq!(log.last().map(String::as_str), Some("Error(08P01)"));
            return Ok(());
        }
        p.run();
        let log = p.take_log();
        let readies = log.iter().filter(|e| e.starts_with("Ready")).count();
        proptest::prop_assert_eq!(readies, expected_ready, "{:?} -> {:?}", actions, log);
        proptest::prop_assert!(p.to_server.is_empty() && p.to_client.is_empty());
        proptest::prop_assert_eq!(p.frontend.transaction_status(), Some(p.backend.transaction_status()));
        proptest::prop_assert!(!p.frontend.is_closed() && !p.backend.is_closed());
    }
}

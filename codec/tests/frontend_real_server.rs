//! The frontend machine against a real PostgreSQL server over a blocking
//! `TcpStream`. Runs only when `POSTWIRE_PG_PORT` is set (server on
//! 127.0.0.1, TLS off), with these roles and `pg_hba.conf` lines:
//!
//! ```text
//! host all fe_trust 127.0.0.1/32 trust           -- superuser, owns database fe
//! host all fe_pass  127.0.0.1/32 password        -- password 'plain-secret'
//! host all fe_md5   127.0.0.1/32 md5             -- password 'md5-secret' (stored as md5)
//! host all fe_scram 127.0.0.1/32 scram-sha-256   -- password 'scram-secret'
//! ```
//! and `GRANT ALL ON SCHEMA public TO public` in database `fe`.

use std::io::{Read, Write};
use std::net::TcpStream;

use postwire_codec::backend::TransactionStatus;
use postwire_codec::frontend::{ProtocolVersion, StartupParams, TargetKind};
use postwire_codec::session::frontend::{Config, Event, Frontend, RequestId};
use postwire_codec::{Format, SqlState};

struct OsRng;
impl rand_core::TryRng for OsRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(dst)).expect("urandom");
        Ok(())
    }
}
impl rand_core::TryCryptoRng for OsRng {}

fn port() -> Option<u16> {
    match std::env::var("POSTWIRE_PG_PORT") {
        Ok(p) => Some(p.parse().expect("POSTWIRE_PG_PORT is a port number")),
        Err(_) => {
            eprintln!("note: POSTWIRE_PG_PORT unset; skipping the real-server frontend tests");
            None
        }
    }
}

/// An owned copy of the events the tests look at.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Ready(Option<RequestId>, TransactionStatus),
    Parse(RequestId),
    Bind(RequestId),
    Close(RequestId),
    Params(RequestId, usize),
    Rows(RequestId, usize),
    NoData(RequestId),
    Row(RequestId, Vec<Option<String>>),
    Complete(RequestId, String),
    Suspended(RequestId),
    Empty(RequestId),
    Error(Option<RequestId>, String),
    Skipped(RequestId),
    CopyIn(RequestId),
    CopyOut(RequestId),
    CopyData(RequestId, Vec<u8>),
    CopyDone(RequestId),
    Notification(String, String),
    Function(RequestId, Option<Vec<u8>>),
    Other,
}

struct Conn {
    sock: TcpStream,
    fe: Frontend<Vec<u8>>,
    buf: Vec<u8>,
    password: Vec<u8>,
}

impl Conn {
    fn open(password: &str) -> Conn {
        let sock = TcpStream::connect(("127.0.0.1", port().unwrap())).unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        let fe = Frontend::new(vec![0; 8192], Config::DEFAULT);
        Conn { sock, fe, buf: Vec::new(), password: password.as_bytes().to_vec() }
    }

    fn flush(&mut self) {
        let out = self.fe.pending_output();
        self.sock.write_all(out).unwrap();
        let n = out.len();
        self.fe.consume_output(n);
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        let n = self.sock.read(&mut chunk).unwrap();
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// The next event, answering password requests on the way.
    fn next(&mut self) -> Ev {
        loop {
            self.flush();
            let got = self.fe.handle_input(&self.buf).unwrap();
            let ev = got.event.map(|ev| match ev {
                Event::PasswordRequired { .. } => None,
                Event::Ready { request, status } => Some(Ev::Ready(request, status)),
                Event::ParseComplete { request } => Some(Ev::Parse(request)),
                Event::BindComplete { request } => Some(Ev::Bind(request)),
                Event::CloseComplete { request } => Some(Ev::Close(request)),
                Event::ParameterDescription { request, description } => {
                    Some(Ev::Params(request, description.types.len()))
                }
                Event::RowDescription { request, description } => Some(Ev::Rows(request, description.fields.len())),
                Event::NoData { request } => Some(Ev::NoData(request)),
                Event::DataRow { request, row } => Some(Ev::Row(
                    request,
                    row.cells()
                        .map(|c| c.expect("validated by the machine").map(|b| String::from_utf8_lossy(b).into_owned()))
                        .collect(),
                )),
                Event::CommandComplete { request, complete } => Some(Ev::Complete(request, complete.tag.into())),
                Event::PortalSuspended { request } => Some(Ev::Suspended(request)),
                Event::EmptyQuery { request } => Some(Ev::Empty(request)),
                Event::Error { request, error } => {
                    Some(Ev::Error(request, error.code().map(|c| c.code().to_string()).unwrap_or_default()))
                }
                Event::Skipped { request } => Some(Ev::Skipped(request)),
                Event::CopyIn { request, .. } => Some(Ev::CopyIn(request)),
                Event::CopyOut { request, .. } => Some(Ev::CopyOut(request)),
                Event::CopyData { request, data } => Some(Ev::CopyData(request, data.to_vec())),
                Event::CopyDone { request } => Some(Ev::CopyDone(request)),
                Event::Notification(n) => Some(Ev::Notification(n.channel.into(), n.payload.into())),
                Event::FunctionResult { request, result } => Some(Ev::Function(request, result.map(<[u8]>::to_vec))),
                _ => Some(Ev::Other),
            });
            let (consumed, had_event) = (got.consumed, got.event.is_some());
            if matches!(ev, Some(None)) {
                let pw = self.password.clone();
                self.fe.provide_password(&pw).unwrap();
            }
            self.buf.drain(..consumed);
            match ev {
                Some(Some(Ev::Other)) | Some(None) => continue,
                Some(Some(ev)) => return ev,
                None if !had_event && consumed == 0 => assert!(self.fill(), "server closed the connection"),
                None => {}
            }
        }
    }

    /// Events up to and including the next Ready.
    fn until_ready(&mut self) -> Vec<Ev> {
        let mut out = Vec::new();
        loop {
            let ev = self.next();
            let done = matches!(ev, Ev::Ready(..));
            out.push(ev);
            if done {
                return out;
            }
        }
    }

    fn login(user: &str, password: &str) -> Conn {
        let mut c = Conn::open(password);
        let params = [("user", user), ("database", "fe"), ("application_name", "postwire-frontend-test")];
        c.fe.start(StartupParams::from_slice(&params), &mut OsRng).unwrap();
        let events = c.until_ready();
        assert_eq!(events.last(), Some(&Ev::Ready(None, TransactionStatus::Idle)), "{user}: {events:?}");
        assert!(c.fe.backend_key().is_some());
        c
    }

    fn query(&mut self, sql: &str) -> Vec<Ev> {
        self.fe.send_query(sql).unwrap();
        self.until_ready()
    }

    fn terminate(mut self) {
        self.fe.send_terminate().unwrap();
        self.flush();
        assert!(!self.fill(), "server closes after Terminate");
        assert!(self.fe.is_closed());
    }
}

#[test]
fn login_with_every_method() {
    if port().is_none() {
        return;
    }
    for (user, pw) in
        [("fe_trust", ""), ("fe_pass", "plain-secret"), ("fe_md5", "md5-secret"), ("fe_scram", "scram-secret")]
    {
        let mut c = Conn::login(user, pw);
        // PostgreSQL before 18 negotiates 3.2 down to 3.0.
        let v = c.fe.protocol_version();
        assert!(v == ProtocolVersion::V3_0 || v == ProtocolVersion::V3_2);
        let ev = c.query("SELECT current_user");
        assert!(ev.contains(&Ev::Row(RequestId(0), vec![Some(user.into())])), "{ev:?}");
        c.terminate();
    }
}

#[test]
fn wrong_password_is_an_error_event() {
    if port().is_none() {
        return;
    }
    for user in ["fe_pass", "fe_md5", "fe_scram"] {
        let mut c = Conn::open("wrong");
        c.fe.start(StartupParams::from_slice(&[("user", user), ("database", "fe")]), &mut OsRng).unwrap();
        assert_eq!(c.next(), Ev::Error(None, "28P01".into()), "{user}");
        assert!(c.fe.is_closed());
    }
}

#[test]
fn tls_refused_then_clear_text() {
    if port().is_none() {
        return;
    }
    let mut c = Conn::open("");
    c.fe.request_tls().unwrap();
    c.flush();
    assert!(c.fill());
    let got = c.fe.handle_input(&c.buf).unwrap();
    // This test server runs without TLS.
    assert_eq!(got.event, Some(Event::TlsRefused));
    c.buf.drain(..got.consumed);
    c.fe.start(StartupParams::from_slice(&[("user", "fe_trust"), ("database", "fe")]), &mut OsRng).unwrap();
    assert!(matches!(c.until_ready().last(), Some(Ev::Ready(None, _))));
    c.terminate();
}

#[test]
fn pipelined_extended_queries_error_and_recovery() {
    if port().is_none() {
        return;
    }
    let mut c = Conn::login("fe_scram", "scram-secret");
    let fe = &mut c.fe;
    // Pipeline 1: everything succeeds.
    let p = fe.send_parse("add", "SELECT $1::int4 + 1 AS n, 'x'::text AS t", &[]).unwrap();
    let d = fe.send_describe(TargetKind::Statement, "add").unwrap();
    let b = fe.send_bind("", "add", &[Format::Text], &[Some(b"41")], &[Format::Binary, Format::Text]).unwrap();
    let e = fe.send_execute("", 0).unwrap();
    let s1 = fe.send_sync().unwrap();
    // Pipeline 2: the Bind fails; the Execute and Close are skipped.
    let p2 = fe.send_parse("", "SELECT 1/$1::int4", &[]).unwrap();
    let b2 = fe.send_bind("", "", &[], &[Some(b"0")], &[]).unwrap();
    let e2 = fe.send_execute("", 0).unwrap();
    let c2 = fe.send_close(TargetKind::Statement, "add").unwrap();
    let s2 = fe.send_sync().unwrap();
    // Pipeline 3: the statement from pipeline 1 still works, with a row limit.
    let b3 = fe.send_bind("p", "add", &[], &[Some(b"1")], &[]).unwrap();
    let e3 = fe.send_execute("p", 1).unwrap();
    let s3 = fe.send_sync().unwrap();
    assert_eq!(fe.pending_requests(), 13);

    let mut all = c.until_ready();
    all.extend(c.until_ready());
    all.extend(c.until_ready());
    assert_eq!(
        all,
        vec![
            Ev::Parse(p),
            Ev::Params(d, 1),
            Ev::Rows(d, 2),
            Ev::Bind(b),
            Ev::Row(e, vec![Some("\0\0\0\x2a".into()), Some("x".into())]),
            Ev::Complete(e, "SELECT 1".into()),
            Ev::Ready(Some(s1), TransactionStatus::Idle),
            Ev::Parse(p2),
            Ev::Error(Some(b2), "22012".into()),
            Ev::Skipped(e2),
            Ev::Skipped(c2),
            Ev::Ready(Some(s2), TransactionStatus::Idle),
            Ev::Bind(b3),
            Ev::Row(e3, vec![Some("2".into()), Some("x".into())]),
            Ev::Suspended(e3),
            Ev::Ready(Some(s3), TransactionStatus::Idle),
        ]
    );
    assert_eq!(c.fe.pending_requests(), 0);
    // A simple-query error and recovery in a transaction.
    let ev = c.query("BEGIN; SELECT 1/0; SELECT 2");
    let Ev::Ready(_, status) = ev.last().unwrap() else { panic!() };
    assert_eq!(*status, TransactionStatus::Failed);
    assert!(ev.iter().any(|e| matches!(e, Ev::Error(Some(_), code) if code == "22012")));
    let ev = c.query("ROLLBACK");
    assert!(matches!(ev.last(), Some(Ev::Ready(_, TransactionStatus::Idle))));
    let _ = SqlState::PROTOCOL_VIOLATION;
    c.terminate();
}

#[test]
fn copy_both_ways_and_notify() {
    if port().is_none() {
        return;
    }
    let mut c = Conn::login("fe_md5", "md5-secret");
    c.query("CREATE TEMP TABLE t (id int4, name text)");
    let q = c.fe.send_query("COPY t FROM STDIN").unwrap();
    assert_eq!(c.next(), Ev::CopyIn(q));
    assert_eq!(c.fe.send_query("SELECT 1"), Err(postwire_codec::session::SessionError::OutOfOrder));
    c.fe.send_copy_data(b"1\tone\n2\t").unwrap();
    c.fe.send_copy_data(b"\\N\n").unwrap();
    c.fe.send_copy_done().unwrap();
    assert_eq!(c.until_ready(), vec![Ev::Complete(q, "COPY 2".into()), Ev::Ready(Some(q), TransactionStatus::Idle)]);

    // COPY FROM STDIN failed by the client.
    let q = c.fe.send_query("COPY t FROM STDIN").unwrap();
    assert_eq!(c.next(), Ev::CopyIn(q));
    c.fe.send_copy_fail("changed my mind").unwrap();
    assert_eq!(c.until_ready(), vec![Ev::Error(Some(q), "57014".into()), Ev::Ready(Some(q), TransactionStatus::Idle)]);

    // COPY FROM STDIN through the extended protocol.
    c.fe.send_parse("", "COPY t FROM STDIN", &[]).unwrap();
    c.fe.send_bind("", "", &[], &[], &[]).unwrap();
    let e = c.fe.send_execute("", 0).unwrap();
    c.fe.send_sync().unwrap();
    let mut ev = vec![c.next(), c.next(), c.next()];
    assert_eq!(ev.pop(), Some(Ev::CopyIn(e)));
    c.fe.send_copy_data(b"3\tthree\n").unwrap();
    c.fe.send_copy_done().unwrap();
    // The server buffers its answer until a Sync; the Sync sent before the
    // data was ignored (the server ignores Sync during COPY FROM STDIN).
    let s = c.fe.send_sync().unwrap();
    assert_eq!(c.next(), Ev::Complete(e, "COPY 1".into()));
    assert_eq!(c.next(), Ev::Skipped(RequestId(e.0 + 1)));
    assert_eq!(c.next(), Ev::Ready(Some(s), TransactionStatus::Idle));

    let q = c.fe.send_query("COPY (SELECT * FROM t ORDER BY id) TO STDOUT").unwrap();
    assert_eq!(
        c.until_ready(),
        vec![
            Ev::CopyOut(q),
            Ev::CopyData(q, b"1\tone\n".to_vec()),
            Ev::CopyData(q, b"2\t\\N\n".to_vec()),
            Ev::CopyData(q, b"3\tthree\n".to_vec()),
            Ev::CopyDone(q),
            Ev::Complete(q, "COPY 3".into()),
            Ev::Ready(Some(q), TransactionStatus::Idle),
        ]
    );

    let ev = c.query("LISTEN chan; NOTIFY chan, 'payload'");
    assert!(ev.contains(&Ev::Notification("chan".into(), "payload".into())), "{ev:?}");

    // FunctionCall: int4pl (oid 177) with two binary arguments.
    let f =
        c.fe.send_function_call(
            177,
            &[Format::Binary],
            &[Some(&2i32.to_be_bytes()), Some(&3i32.to_be_bytes())],
            Format::Binary,
        )
        .unwrap();
    assert_eq!(
        c.until_ready(),
        vec![Ev::Function(f, Some(5i32.to_be_bytes().to_vec())), Ev::Ready(Some(f), TransactionStatus::Idle)]
    );
    c.terminate();
}

#[test]
fn cancel_a_running_query() {
    if port().is_none() {
        return;
    }
    let mut c = Conn::login("fe_trust", "");
    let q = c.fe.send_query("SELECT pg_sleep(30)").unwrap();
    c.flush();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut cancel = [0u8; 300];
    let n = c.fe.cancel_request(&mut cancel).unwrap();
    let mut side = TcpStream::connect(("127.0.0.1", port().unwrap())).unwrap();
    side.write_all(&cancel[..n]).unwrap();
    let mut rest = Vec::new();
    side.read_to_end(&mut rest).unwrap();
    let ev = c.until_ready();
    assert!(ev.contains(&Ev::Error(Some(q), "57014".into())), "{ev:?}");
    c.terminate();
}

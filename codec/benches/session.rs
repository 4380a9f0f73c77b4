//! What the state machines cost on top of the codec: `SELECT 1` round trips
//! (simple, and extended with Parse/Bind/Describe/Execute/Sync) with the
//! Frontend driving the Backend in memory, next to the bare codec encoding
//! and decoding the same messages.
//!
//! `cargo bench -p postwire-codec --all-features --bench session`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use rand::SeedableRng;
use rand::rngs::StdRng;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use postwire_codec::backend::{
    BackendMessage, BindComplete, CommandComplete, DataRow, FieldDescription, ParseComplete, ReadyForQuery,
    RowDescription, TransactionStatus,
};
use postwire_codec::frontend::{
    Bind, Describe, Execute, FormatCodes, FrontendMessage, Oids, Parse, Query, StartupParams, Sync, TargetKind, Values,
};
use postwire_codec::session::backend::{AuthMethod, Backend, BackendKey, Event as BackendEvent, ServerParameters};
use postwire_codec::session::frontend::{Config, Event, Frontend};
use postwire_codec::{Encode, FrameLimits, Framed, oid};

const COLUMN: [FieldDescription<'static>; 1] = [FieldDescription::new("?column?", oid::INT4)];

/// A logged-in Frontend/Backend pair. Each machine reads the other's
/// pending output in place, as the bare codec decodes the buffer it encoded
/// into: no copies between them.
struct Pair {
    frontend: Frontend<Vec<u8>>,
    backend: Backend<Vec<u8>>,
}

impl Pair {
    fn new() -> Self {
        let mut rng = StdRng::seed_from_u64(1);
        let mut pair =
            Pair { frontend: Frontend::new(vec![0; 8192], Config::DEFAULT), backend: Backend::new(vec![0; 8192]) };
        pair.frontend.start(StartupParams::from_slice(&[("user", "bench")]), &mut rng).unwrap();
        pair.server_turn(&mut rng);
        pair.client_turn();
        pair
    }

    /// Feeds the client's bytes to the server and answers every event.
    fn server_turn(&mut self, rng: &mut StdRng) {
        let mut at = 0;
        loop {
            let step = self.backend.handle_input(&self.frontend.pending_output()[at..]);
            at += step.consumed;
            let b = &mut self.backend;
            match step.event {
                Some(BackendEvent::Startup { .. }) => b.authenticate(AuthMethod::Trust, rng).unwrap(),
                Some(BackendEvent::Authenticated) => {
                    b.accept(&ServerParameters::DEFAULT, &BackendKey::new(1, &[1, 2, 3, 4]).unwrap()).unwrap()
                }
                Some(BackendEvent::Query { .. }) => {
                    b.row_description(&COLUMN).unwrap();
                    b.data_row(&[Some(b"1")]).unwrap();
                    b.command_complete("SELECT 1").unwrap();
                    b.ready_for_query().unwrap();
                }
                Some(BackendEvent::Parse { .. }) => b.parse_complete(0).unwrap(),
                Some(BackendEvent::Bind { .. }) => b.bind_complete().unwrap(),
                Some(BackendEvent::DescribePortal { .. }) => b.row_description(&COLUMN).unwrap(),
                Some(BackendEvent::Execute { .. }) => {
                    b.data_row(&[Some(b"1")]).unwrap();
                    b.command_complete("SELECT 1").unwrap();
                }
                Some(BackendEvent::Sync { .. }) => b.ready_for_query().unwrap(),
                Some(other) => panic!("unexpected {other:?}"),
                None if step.consumed == 0 => break,
                None => {}
            }
        }
        self.frontend.consume_output(at);
    }

    /// Reads the server's answers until ReadyForQuery; returns the rows seen.
    fn client_turn(&mut self) -> usize {
        let (mut at, mut rows) = (0, 0);
        while at < self.backend.pending_output().len() {
            let step = self.frontend.handle_input(&self.backend.pending_output()[at..]).unwrap();
            at += step.consumed;
            match step.event {
                Some(Event::DataRow { .. }) => rows += 1,
                Some(Event::Ready { .. }) => break,
                _ => {}
            }
        }
        self.backend.consume_output(at);
        rows
    }
}

fn machines(c: &mut Criterion) {
    let mut group = c.benchmark_group("SELECT 1 round trip");
    let mut pair = Pair::new();
    let mut rng = StdRng::seed_from_u64(2);
    group.bench_function("simple: Frontend + Backend machines", |b| {
        b.iter(|| {
            pair.frontend.send_query(black_box("SELECT 1")).unwrap();
            pair.server_turn(&mut rng);
            assert_eq!(pair.client_turn(), 1);
        })
    });
    group.bench_function("extended: Frontend + Backend machines", |b| {
        b.iter(|| {
            let f = &mut pair.frontend;
            f.send_parse("", black_box("SELECT 1"), &[]).unwrap();
            f.send_bind("", "", &[], &[], &[]).unwrap();
            f.send_describe(TargetKind::Portal, "").unwrap();
            f.send_execute("", 0).unwrap();
            f.send_sync().unwrap();
            pair.server_turn(&mut rng);
            assert_eq!(pair.client_turn(), 1);
        })
    });

    // The same messages with the bare codec: encode each, frame and decode
    // each on the other side.
    let limits = FrameLimits::DEFAULT;
    let mut wire = vec![0u8; 4096];
    group.bench_function("simple: bare codec", |b| {
        b.iter(|| {
            let mut n = Query { sql: black_box("SELECT 1") }.encode(&mut wire).unwrap();
            let Ok(Framed::Complete { item: FrontendMessage::Query(q), .. }) =
                FrontendMessage::parse(&wire[..n], &limits)
            else {
                panic!()
            };
            black_box(q.sql);
            n = RowDescription::new(&COLUMN).encode(&mut wire).unwrap();
            n += DataRow::new(&[Some(b"1")]).encode(&mut wire[n..]).unwrap();
            n += CommandComplete { tag: "SELECT 1" }.encode(&mut wire[n..]).unwrap();
            n += ReadyForQuery { status: TransactionStatus::Idle }.encode(&mut wire[n..]).unwrap();
            black_box(decode_all_backend(&wire[..n], &limits))
        })
    });
    group.bench_function("extended: bare codec", |b| {
        b.iter(|| {
            let mut n = Parse { statement: "", query: black_box("SELECT 1"), param_types: Oids::from_slice(&[]) }
                .encode(&mut wire)
                .unwrap();
            n += Bind {
                portal: "",
                statement: "",
                param_formats: FormatCodes::from_slice(&[]),
                params: Values::from_slice(&[]),
                result_formats: FormatCodes::from_slice(&[]),
            }
            .encode(&mut wire[n..])
            .unwrap();
            n += Describe { kind: TargetKind::Portal, name: "" }.encode(&mut wire[n..]).unwrap();
            n += Execute { portal: "", max_rows: 0 }.encode(&mut wire[n..]).unwrap();
            n += Sync.encode(&mut wire[n..]).unwrap();
            black_box(decode_all_frontend(&wire[..n], &limits));
            n = ParseComplete.encode(&mut wire).unwrap();
            n += BindComplete.encode(&mut wire[n..]).unwrap();
            n += RowDescription::new(&COLUMN).encode(&mut wire[n..]).unwrap();
            n += DataRow::new(&[Some(b"1")]).encode(&mut wire[n..]).unwrap();
            n += CommandComplete { tag: "SELECT 1" }.encode(&mut wire[n..]).unwrap();
            n += ReadyForQuery { status: TransactionStatus::Idle }.encode(&mut wire[n..]).unwrap();
            black_box(decode_all_backend(&wire[..n], &limits))
        })
    });
    group.finish();
}

fn decode_all_backend(mut bytes: &[u8], limits: &FrameLimits) -> usize {
    let mut count = 0;
    while let Ok(Framed::Complete { item, consumed }) = BackendMessage::parse(bytes, limits) {
        black_box(item);
        bytes = &bytes[consumed..];
        count += 1;
    }
    count
}

fn decode_all_frontend(mut bytes: &[u8], limits: &FrameLimits) -> usize {
    let mut count = 0;
    while let Ok(Framed::Complete { item, consumed }) = FrontendMessage::parse(bytes, limits) {
        black_box(item);
        bytes = &bytes[consumed..];
        count += 1;
    }
    count
}

fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = quick();
    targets = machines
}
criterion_main!(benches);

//! What the state machines cost on top of the codec: `SELECT 1` round trips
//! (simple, and extended with Parse/Bind/Describe/Execute/Sync) with the
//! Frontend driving the Backend in memory, next to the bare codec encoding
//! and decoding the same messages: their fields known at compile time, or
//! known only at run time as the machines get them; the server's answers
//! decoded lazily, or checked whole on receipt as the Frontend checks them.
//! After Criterion it prints each machines / bare ratio from the best of 200
//! batches.
//!
//! `cargo bench -p postwire-codec --all-features --bench session`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use rand::SeedableRng;
use rand::rngs::StdRng;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use postwire_codec::backend::{
    BackendMessage, BindComplete, CommandComplete, DataRow, FieldDescription, ParseComplete, ReadyForQuery,
    RowDescription, TransactionStatus,
};
use postwire_codec::frame::frame_message;
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
        // The answers' contents, known only at run time as a real server's
        // are: nothing folds into the answering methods if they get inlined.
        let answer = black_box(&INPUTS);
        let input = self.frontend.pending_output();
        let mut at = 0;
        loop {
            let step = self.backend.handle_input(&input[at..]);
            at += step.consumed;
            let b = &mut self.backend;
            match step.event {
                Some(BackendEvent::Startup { .. }) => b.authenticate(AuthMethod::Trust, rng).unwrap(),
                Some(BackendEvent::Authenticated) => {
                    b.accept(&ServerParameters::DEFAULT, &BackendKey::new(1, &[1, 2, 3, 4]).unwrap()).unwrap()
                }
                Some(BackendEvent::Query { .. }) => {
                    b.row_description(answer.columns).unwrap();
                    b.data_row(answer.row).unwrap();
                    b.command_complete(answer.tag).unwrap();
                    b.ready_for_query().unwrap();
                }
                Some(BackendEvent::Parse { .. }) => b.parse_complete(0).unwrap(),
                Some(BackendEvent::Bind { .. }) => b.bind_complete().unwrap(),
                Some(BackendEvent::DescribePortal { .. }) => b.row_description(answer.columns).unwrap(),
                Some(BackendEvent::Execute { .. }) => {
                    b.data_row(answer.row).unwrap();
                    b.command_complete(answer.tag).unwrap();
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
        let input = self.backend.pending_output();
        let (mut at, mut rows) = (0, 0);
        while at < input.len() {
            let step = self.frontend.handle_input(&input[at..]).unwrap();
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

/// Every field of the round trip's messages. The bare side gets them either
/// as constants, which the compiler folds into the encoders (lengths and
/// all) as far as the code around lets it, or through `black_box`, as the
/// machines always get them here and as any real client or server would.
struct Inputs<'a> {
    sql: &'a str,
    /// Statement and portal name (the unnamed ones).
    name: &'a str,
    oids: &'a [postwire_codec::Oid],
    formats: &'a [postwire_codec::Format],
    params: &'a [Option<&'a [u8]>],
    columns: &'a [FieldDescription<'a>],
    row: &'a [Option<&'a [u8]>],
    tag: &'a str,
}

const INPUTS: Inputs<'static> = Inputs {
    sql: "SELECT 1",
    name: "",
    oids: &[],
    formats: &[],
    params: &[],
    columns: &COLUMN,
    row: &[Some(b"1")],
    tag: "SELECT 1",
};

/// Everything a round trip uses.
struct World {
    pair: Pair,
    rng: StdRng,
    wire: Vec<u8>,
    limits: FrameLimits,
}

fn simple_machines(w: &mut World) {
    w.pair.frontend.send_query(black_box(&INPUTS).sql).unwrap();
    w.pair.server_turn(&mut w.rng);
    assert_eq!(w.pair.client_turn(), 1);
}

fn extended_machines(w: &mut World) {
    let f = &mut w.pair.frontend;
    let input = black_box(&INPUTS);
    f.send_parse(input.name, input.sql, input.oids).unwrap();
    f.send_bind(input.name, input.name, input.formats, input.params, input.formats).unwrap();
    f.send_describe(TargetKind::Portal, input.name).unwrap();
    f.send_execute(input.name, 0).unwrap();
    f.send_sync().unwrap();
    w.pair.server_turn(&mut w.rng);
    assert_eq!(w.pair.client_turn(), 1);
}

fn simple_bare_folded(w: &mut World) {
    black_box(simple_bare::<LAZY>(&INPUTS, &mut w.wire, &w.limits));
}

fn simple_bare_opaque(w: &mut World) {
    black_box(simple_bare::<LAZY>(black_box(&INPUTS), &mut w.wire, &w.limits));
}

fn simple_bare_checked(w: &mut World) {
    black_box(simple_bare::<CHECKED>(black_box(&INPUTS), &mut w.wire, &w.limits));
}

fn extended_bare_folded(w: &mut World) {
    black_box(extended_bare::<LAZY>(&INPUTS, &mut w.wire, &w.limits));
}

fn extended_bare_opaque(w: &mut World) {
    black_box(extended_bare::<LAZY>(black_box(&INPUTS), &mut w.wire, &w.limits));
}

fn extended_bare_checked(w: &mut World) {
    black_box(extended_bare::<CHECKED>(black_box(&INPUTS), &mut w.wire, &w.limits));
}

/// How the bare side decodes the server's answers: `BackendMessage::parse`
/// (rows and descriptions checked only when read), or framed and then
/// `BackendMessage::decode_validated`, every field checked on receipt as the
/// Frontend does.
const LAZY: bool = false;
const CHECKED: bool = true;

/// The simple round trip's messages with the bare codec: encode each, frame
/// and decode each on the other side.
#[inline(always)]
fn simple_bare<const CHECK: bool>(input: &Inputs<'_>, wire: &mut [u8], limits: &FrameLimits) -> usize {
    let mut n = Query { sql: input.sql }.encode(wire).unwrap();
    let Ok(Framed::Complete { item: FrontendMessage::Query(q), .. }) = FrontendMessage::parse(&wire[..n], limits)
    else {
        panic!()
    };
    black_box(q.sql);
    n = RowDescription::new(input.columns).encode(wire).unwrap();
    n += backend_results(input, &mut wire[n..]);
    decode_all_backend::<CHECK>(&wire[..n], limits)
}

#[inline(always)]
fn extended_bare<const CHECK: bool>(input: &Inputs<'_>, wire: &mut [u8], limits: &FrameLimits) -> usize {
    let mut n = Parse { statement: input.name, query: input.sql, param_types: Oids::from_slice(input.oids) }
        .encode(wire)
        .unwrap();
    n += Bind {
        portal: input.name,
        statement: input.name,
        param_formats: FormatCodes::from_slice(input.formats),
        params: Values::from_slice(input.params),
        result_formats: FormatCodes::from_slice(input.formats),
    }
    .encode(&mut wire[n..])
    .unwrap();
    n += Describe { kind: TargetKind::Portal, name: input.name }.encode(&mut wire[n..]).unwrap();
    n += Execute { portal: input.name, max_rows: 0 }.encode(&mut wire[n..]).unwrap();
    n += Sync.encode(&mut wire[n..]).unwrap();
    black_box(decode_all_frontend(&wire[..n], limits));
    n = ParseComplete.encode(wire).unwrap();
    n += BindComplete.encode(&mut wire[n..]).unwrap();
    n += RowDescription::new(input.columns).encode(&mut wire[n..]).unwrap();
    n += backend_results(input, &mut wire[n..]);
    decode_all_backend::<CHECK>(&wire[..n], limits)
}

/// DataRow, CommandComplete and ReadyForQuery, encoded.
#[inline(always)]
fn backend_results(input: &Inputs<'_>, wire: &mut [u8]) -> usize {
    let mut n = DataRow::new(input.row).encode(wire).unwrap();
    n += CommandComplete { tag: input.tag }.encode(&mut wire[n..]).unwrap();
    n + ReadyForQuery { status: TransactionStatus::Idle }.encode(&mut wire[n..]).unwrap()
}

const SIMPLE_MACHINES: &str = "simple: Frontend + Backend machines";
const SIMPLE_FOLDED: &str = "simple: bare codec, inputs known at compile time";
const SIMPLE_OPAQUE: &str = "simple: bare codec, inputs known at run time";
const SIMPLE_CHECKED: &str = "simple: bare codec, inputs known at run time, answers checked on receipt";
const EXTENDED_MACHINES: &str = "extended: Frontend + Backend machines";
const EXTENDED_FOLDED: &str = "extended: bare codec, inputs known at compile time";
const EXTENDED_OPAQUE: &str = "extended: bare codec, inputs known at run time";
const EXTENDED_CHECKED: &str = "extended: bare codec, inputs known at run time, answers checked on receipt";

/// Round trips per timed batch in the ratio loop.
const BATCH: usize = 2_000;

/// The time of `BATCH` round trips; generic, so every contender is called
/// alike (inlined, no function pointer).
fn time_batch(round_trip: impl Fn(&mut World), w: &mut World) -> Duration {
    let start = Instant::now();
    for _ in 0..BATCH {
        round_trip(w);
    }
    start.elapsed()
}

fn machines(c: &mut Criterion) {
    let mut w =
        World { pair: Pair::new(), rng: StdRng::seed_from_u64(2), wire: vec![0u8; 4096], limits: FrameLimits::DEFAULT };
    let mut group = c.benchmark_group("SELECT 1 round trip");
    group.bench_function(SIMPLE_MACHINES, |b| b.iter(|| simple_machines(&mut w)));
    group.bench_function(SIMPLE_FOLDED, |b| b.iter(|| simple_bare_folded(&mut w)));
    group.bench_function(SIMPLE_OPAQUE, |b| b.iter(|| simple_bare_opaque(&mut w)));
    group.bench_function(SIMPLE_CHECKED, |b| b.iter(|| simple_bare_checked(&mut w)));
    group.bench_function(EXTENDED_MACHINES, |b| b.iter(|| extended_machines(&mut w)));
    group.bench_function(EXTENDED_FOLDED, |b| b.iter(|| extended_bare_folded(&mut w)));
    group.bench_function(EXTENDED_OPAQUE, |b| b.iter(|| extended_bare_opaque(&mut w)));
    group.bench_function(EXTENDED_CHECKED, |b| b.iter(|| extended_bare_checked(&mut w)));
    group.finish();

    // The goal is a ratio: each contender's best batch, taken in turns so
    // that load from elsewhere hits them alike.
    let mut best = [Duration::MAX; 8];
    for _ in 0..200 {
        let times = [
            time_batch(simple_machines, &mut w),
            time_batch(simple_bare_folded, &mut w),
            time_batch(simple_bare_opaque, &mut w),
            time_batch(simple_bare_checked, &mut w),
            time_batch(extended_machines, &mut w),
            time_batch(extended_bare_folded, &mut w),
            time_batch(extended_bare_opaque, &mut w),
            time_batch(extended_bare_checked, &mut w),
        ];
        for (best, time) in best.iter_mut().zip(times) {
            *best = (*best).min(time);
        }
    }
    let ns = |i: usize| best[i].as_secs_f64() * 1e9 / BATCH as f64;
    for (machines, bare, name) in [
        (0, 1, SIMPLE_FOLDED),
        (0, 2, SIMPLE_OPAQUE),
        (0, 3, SIMPLE_CHECKED),
        (4, 5, EXTENDED_FOLDED),
        (4, 6, EXTENDED_OPAQUE),
        (4, 7, EXTENDED_CHECKED),
    ] {
        let percent = 100.0 * ns(bare) / ns(machines);
        println!(
            "machines / bare (best batch of 200): {percent:5.1} %  {:6.1} / {:6.1} ns  {name}",
            ns(machines),
            ns(bare)
        );
    }
}

fn decode_all_backend<const CHECK: bool>(mut bytes: &[u8], limits: &FrameLimits) -> usize {
    let mut count = 0;
    if CHECK {
        while let Ok(Framed::Complete { item, consumed }) = frame_message(bytes, limits) {
            let Ok(message) = BackendMessage::decode_validated(item) else { break };
            black_box(message);
            bytes = &bytes[consumed..];
            count += 1;
        }
    } else {
        while let Ok(Framed::Complete { item, consumed }) = BackendMessage::parse(bytes, limits) {
            black_box(item);
            bytes = &bytes[consumed..];
            count += 1;
        }
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

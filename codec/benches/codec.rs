//! The codec against its peers, in the same run: `postgres-protocol` 0.6
//! (tokio-postgres's codec) and `pgwire` 0.42's message layer.
//!
//! `cargo bench -p postwire-codec --all-features --bench codec`
//!
//! Groups: decoding a 5,000-row × 6-column result (int4, text, text, int8,
//! bool, float8, text format); encoding those rows from each form a server
//! holds them in (values, pre-formatted cells, rows as received), next to
//! hand-written floors and a plain memcpy of the same bytes, then printing
//! each one's speed as a share of memcpy's; parsing a 20-field
//! RowDescription and a 10-parameter Bind. Ratios matter, not absolute times
//! (see BENCHMARKS.md).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use fallible_iterator::FallibleIterator;
use postwire_codec::backend::{BackendMessage, DataRow, DataRowWriter, FieldDescription, RowDescription};
use postwire_codec::frontend::{Bind, FormatCodes, FrontendMessage, Values};
use postwire_codec::value::ToValue;
use postwire_codec::{Encode, Format, FrameLimits, Framed, oid};

const ROWS: usize = 5_000;

/// One row of the benchmark table.
struct Row {
    id: i32,
    name: String,
    note: String,
    big: i64,
    ok: bool,
    score: f64,
}

fn rows() -> Vec<Row> {
    (0..ROWS)
        .map(|i| Row {
            id: i as i32,
            name: format!("customer number {i}"),
            note: format!("a note of medium length for row {i}"),
            big: i as i64 * 1_000_003 - 7,
            ok: i % 3 == 0,
            score: i as f64 / 7.0,
        })
        .collect()
}

/// Writes `rows` as DataRow messages into `out`; returns the bytes written.
fn encode_rows(rows: &[Row], out: &mut [u8]) -> usize {
    let mut at = 0;
    for row in rows {
        let mut w = DataRowWriter::begin(out, at).unwrap();
        w.cell_with(|s| row.id.encode_text(s)).unwrap();
        w.cell_with(|s| row.name.as_str().encode_text(s)).unwrap();
        w.cell_with(|s| row.note.as_str().encode_text(s)).unwrap();
        w.cell_with(|s| row.big.encode_text(s)).unwrap();
        w.cell_with(|s| row.ok.encode_text(s)).unwrap();
        w.cell_with(|s| row.score.encode_text(s)).unwrap();
        at += w.finish().unwrap();
    }
    at
}

fn data_row_stream(rows: &[Row]) -> Vec<u8> {
    let mut out = vec![0; 1 << 21];
    let n = encode_rows(rows, &mut out);
    out.truncate(n);
    out
}

/// Our decoder: frame every message, walk every cell (each checked: a
/// malformed one is an error, as in postgres-protocol).
fn ours_decode(stream: &[u8]) -> usize {
    let limits = FrameLimits::DEFAULT;
    let (mut at, mut bytes) = (0, 0);
    while at < stream.len() {
        let Ok(Framed::Complete { item, consumed }) = BackendMessage::parse(&stream[at..], &limits) else { panic!() };
        if let BackendMessage::DataRow(row) = item {
            for cell in row.cells() {
                bytes += cell.unwrap().map_or(0, <[u8]>::len);
            }
        }
        at += consumed;
    }
    bytes
}

/// postgres-protocol: `Message::parse`, then its cell ranges. The stream is
/// copied into the `BytesMut` it needs outside the timed part (see
/// `decode_rows`).
fn postgres_protocol_decode(buf: &mut BytesMut) -> usize {
    use postgres_protocol::message::backend::Message;
    let mut bytes = 0;
    while let Some(message) = Message::parse(buf).unwrap() {
        if let Message::DataRow(row) = message {
            let mut ranges = row.ranges();
            while let Some(range) = ranges.next().unwrap() {
                bytes += range.map_or(0, |r| r.len());
            }
        }
    }
    assert!(buf.is_empty());
    bytes
}

/// pgwire: `PgWireBackendMessage::decode` (its DataRow keeps the cells as
/// one buffer; it has no cell iterator, so this does less work than the
/// others). The `BytesMut` is made outside the timed part, as for
/// postgres-protocol.
fn pgwire_decode(buf: &mut BytesMut) -> usize {
    use pgwire::messages::{DecodeContext, PgWireBackendMessage, ProtocolVersion};
    let ctx = DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
    let mut bytes = 0;
    while let Some(message) = PgWireBackendMessage::decode(buf, &ctx).unwrap() {
        if let PgWireBackendMessage::DataRow(row) = message {
            bytes += row.data.len();
        }
    }
    assert!(buf.is_empty());
    bytes
}

fn decode_rows(c: &mut Criterion) {
    let stream = data_row_stream(&rows());
    let mut group = c.benchmark_group("decode 5000 DataRows x 6 columns");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("postwire", |b| b.iter(|| ours_decode(black_box(&stream))));
    // The peers decode from a `BytesMut` (as read from a socket); copying the
    // stream into one is not decoding, so it happens in the untimed setup.
    // (Until 2026-12-01 it was timed, which cost the peers a 600 KB
    // allocation and copy per iteration.)
    group.bench_function("postgres-protocol", |b| {
        b.iter_batched_ref(|| BytesMut::from(&stream[..]), postgres_protocol_decode, BatchSize::LargeInput)
    });
    group.bench_function("pgwire", |b| {
        b.iter_batched_ref(|| BytesMut::from(&stream[..]), pgwire_decode, BatchSize::LargeInput)
    });
    group.finish();
}

fn encode_rows_group(c: &mut Criterion) {
    let rows = rows();
    let stream = data_row_stream(&rows);
    let input = EncodeInput::new(&rows, &stream);
    let mut out = vec![0u8; stream.len() + 1024];
    let mut group = c.benchmark_group("encode 5000 DataRows x 6 columns");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    for (name, encode) in ENCODERS {
        group.bench_function(name, |b| b.iter(|| encode(black_box(&input), black_box(&mut out))));
    }
    let mut pgwire_out = BytesMut::with_capacity(stream.len() + 1024);
    group.bench_function("pgwire DataRow::encode (pre-formatted cells)", |b| {
        b.iter(|| pgwire_rows(black_box(&input.pgwire), &mut pgwire_out))
    });
    group.finish();

    // The goal is a ratio: each encoder's best time against memcpy's, taken
    // in turns so that load from elsewhere hits them alike.
    let mut best = [Duration::MAX; ENCODERS.len() + 1];
    for _ in 0..200 {
        for (i, (_, encode)) in ENCODERS.iter().enumerate() {
            let start = Instant::now();
            black_box(encode(&input, &mut out));
            best[i] = best[i].min(start.elapsed());
        }
        let start = Instant::now();
        black_box(pgwire_rows(&input.pgwire, &mut pgwire_out));
        best[ENCODERS.len()] = best[ENCODERS.len()].min(start.elapsed());
    }
    let memcpy = best[ENCODERS.iter().position(|(name, _)| *name == MEMCPY).unwrap_or(0)];
    let names = ENCODERS.iter().map(|(name, _)| *name).chain(["pgwire DataRow::encode (pre-formatted cells)"]);
    for (name, time) in names.zip(best) {
        let percent = 100.0 * memcpy.as_secs_f64() / time.as_secs_f64();
        println!("encode ratio to memcpy (best of 200): {percent:5.1} %  {name}");
    }
}

const MEMCPY: &str = "memcpy of the encoded stream";

/// Each encoder of the same rows, into the front of the buffer; returns the
/// bytes written.
type Encoder = fn(&EncodeInput<'_>, &mut [u8]) -> usize;

const ENCODERS: [(&str, Encoder); 8] = [
    ("postwire DataRowWriter (values formatted)", |input, out| encode_rows(input.rows, out)),
    ("postwire DataRowWriter (pre-formatted cells)", writer_cells),
    ("postwire DataRowWriter::cells (pre-formatted cells)", writer_rows),
    ("postwire DataRow::encode (rows held as received)", received_rows),
    ("floor: the same bytes stored cell by cell, no writer", floor_cells),
    ("floor: the cells in one buffer, fixed-size copies, no writer", floor_arena),
    ("floor: rows pre-encoded whole, a header and one copy per row", floor_whole_rows),
    (MEMCPY, |input, out| {
        out[..input.stream.len()].copy_from_slice(input.stream);
        input.stream.len()
    }),
];

/// The rows of the encode benches in every form an encoder starts from.
struct EncodeInput<'a> {
    rows: &'a [Row],
    /// The encoded stream itself.
    stream: &'a [u8],
    /// Each row's cells, formatted as our encoder writes them.
    cells: Vec<[Vec<u8>; 6]>,
    /// The same cells back to back, padded for fixed-size reads, and each
    /// cell's (offset, length) in it.
    arena: Vec<u8>,
    spans: Vec<(usize, usize)>,
    /// Each row's cells with their lengths, as one buffer a row.
    bodies: Vec<Vec<u8>>,
    /// The rows decoded from the stream and checked once (as a proxy or a
    /// cache holds them, and as the frontend machine hands them out).
    received: Vec<DataRow<'a>>,
    /// The bodies as pgwire's DataRows.
    pgwire: Vec<pgwire::messages::data::DataRow>,
}

impl<'a> EncodeInput<'a> {
    fn new(rows: &'a [Row], stream: &'a [u8]) -> Self {
        let cells: Vec<[Vec<u8>; 6]> = rows
            .iter()
            .map(|r| {
                [
                    r.id.to_string().into_bytes(),
                    r.name.clone().into_bytes(),
                    r.note.clone().into_bytes(),
                    r.big.to_string().into_bytes(),
                    if r.ok { b"t".to_vec() } else { b"f".to_vec() },
                    ryu_like(r.score),
                ]
            })
            .collect();
        let mut arena: Vec<u8> = cells.iter().flatten().flatten().copied().collect();
        arena.extend_from_slice(&[0; 64]);
        let spans = cells
            .iter()
            .flatten()
            .scan(0, |offset, cell| {
                let span = (*offset, cell.len());
                *offset += cell.len();
                Some(span)
            })
            .collect();
        let bodies: Vec<Vec<u8>> = cells
            .iter()
            .map(|row| {
                row.iter()
                    .flat_map(|cell| (cell.len() as i32).to_be_bytes().into_iter().chain(cell.iter().copied()))
                    .collect()
            })
            .collect();
        let pgwire =
            bodies.iter().map(|body| pgwire::messages::data::DataRow::new(BytesMut::from(&body[..]), 6)).collect();
        EncodeInput { rows, stream, cells, arena, spans, bodies, received: decode_data_rows(stream), pgwire }
    }
}

/// The pre-formatted cells through the writer, cell by cell.
fn writer_cells(input: &EncodeInput<'_>, out: &mut [u8]) -> usize {
    let mut at = 0;
    for row in &input.cells {
        let mut w = DataRowWriter::begin(out, at).unwrap();
        for cell in row {
            w.value(cell).unwrap();
        }
        at += w.finish().unwrap();
    }
    at
}

/// The same cells, a whole row per call: one space check per row.
fn writer_rows(input: &EncodeInput<'_>, out: &mut [u8]) -> usize {
    let mut at = 0;
    for row in &input.cells {
        let mut w = DataRowWriter::begin(out, at).unwrap();
        w.cells(row.iter().map(|cell| Some(cell.as_slice()))).unwrap();
        at += w.finish().unwrap();
    }
    at
}

/// The received rows encoded again: a header and one copy each.
fn received_rows(input: &EncodeInput<'_>, out: &mut [u8]) -> usize {
    let mut at = 0;
    for row in &input.received {
        at += row.encode(&mut out[at..]).unwrap();
    }
    at
}

/// A floor for any cell-by-cell encoder, with no writer at all: each cell's
/// length and bytes stored by hand (the writer's size classes), the row's
/// header patched in after.
fn floor_cells(input: &EncodeInput<'_>, out: &mut [u8]) -> usize {
    let mut at = 0;
    for row in &input.cells {
        let start = at;
        at += 7;
        for cell in row {
            at = store_cell(out, at, cell);
        }
        store_header(out, start, at);
    }
    at
}

/// The cells from one padded buffer, each copied as a fixed 32 or 64 bytes
/// whatever its length (no size classes).
fn floor_arena(input: &EncodeInput<'_>, out: &mut [u8]) -> usize {
    let mut at = 0;
    for row in input.spans.chunks_exact(6) {
        let start = at;
        at += 7;
        for &(offset, len) in row {
            out[at..at + 4].copy_from_slice(&(len as i32).to_be_bytes());
            at += 4;
            if len <= 32 {
                out[at..at + 32].copy_from_slice(&input.arena[offset..offset + 32]);
            } else {
                out[at..at + 64].copy_from_slice(&input.arena[offset..offset + 64]);
            }
            at += len;
        }
        store_header(out, start, at);
    }
    at
}

/// Rows already encoded whole (as pgwire keeps them): a header and one copy
/// per row.
fn floor_whole_rows(input: &EncodeInput<'_>, out: &mut [u8]) -> usize {
    let mut at = 0;
    for body in &input.bodies {
        out[at + 7..at + 7 + body.len()].copy_from_slice(body);
        store_header(out, at, at + 7 + body.len());
        at += 7 + body.len();
    }
    at
}

/// A 6-column DataRow's header for the row from `start` to `end`.
fn store_header(out: &mut [u8], start: usize, end: usize) {
    out[start] = b'D';
    out[start + 1..start + 5].copy_from_slice(&((end - start - 1) as u32).to_be_bytes());
    out[start + 5..start + 7].copy_from_slice(&6u16.to_be_bytes());
}

fn pgwire_rows(rows: &[pgwire::messages::data::DataRow], out: &mut BytesMut) -> usize {
    use pgwire::messages::Message;
    out.clear();
    for row in rows {
        row.encode(out).unwrap();
    }
    out.len()
}

/// The DataRows of a stream, as views into it.
fn decode_data_rows(mut stream: &[u8]) -> Vec<DataRow<'_>> {
    let mut rows = Vec::new();
    while let Ok(Framed::Complete { item: BackendMessage::DataRow(row), consumed }) =
        BackendMessage::parse(stream, &FrameLimits::DEFAULT)
    {
        rows.push(row.checked().unwrap());
        stream = &stream[consumed..];
    }
    rows
}

/// Stores one cell (length, then bytes) at `at` by hand; returns the end.
/// Short cells are copied as two overlapping fixed-size chunks.
fn store_cell(out: &mut [u8], at: usize, cell: &[u8]) -> usize {
    let n = cell.len();
    out[at..at + 4].copy_from_slice(&(n as i32).to_be_bytes());
    let at = at + 4;
    let dst = &mut out[at..at + n];
    match n {
        8..=16 => {
            dst[..8].copy_from_slice(&cell[..8]);
            dst[n - 8..].copy_from_slice(&cell[n - 8..]);
        }
        17..=32 => {
            dst[..16].copy_from_slice(&cell[..16]);
            dst[n - 16..].copy_from_slice(&cell[n - 16..]);
        }
        33..=64 => {
            dst[..32].copy_from_slice(&cell[..32]);
            dst[n - 32..].copy_from_slice(&cell[n - 32..]);
        }
        _ => dst.copy_from_slice(cell),
    }
    at + n
}

/// The float text our encoder writes, for the pre-formatted copy.
fn ryu_like(v: f64) -> Vec<u8> {
    let mut out = [0u8; 64];
    let mut w = DataRowWriter::begin(&mut out, 0).unwrap();
    w.cell_with(|s| v.encode_text(s)).unwrap();
    let n = w.finish().unwrap();
    out[11..n].to_vec()
}

fn row_description_and_bind(c: &mut Criterion) {
    let names: Vec<String> = (0..20).map(|i| format!("column_{i}")).collect();
    let fields: Vec<FieldDescription<'_>> = names
        .iter()
        .map(|name| FieldDescription {
            name,
            table_oid: 16_384,
            column_id: 1,
            type_oid: oid::INT4,
            type_size: 4,
            type_modifier: -1,
            format: Format::Binary,
        })
        .collect();
    let description = RowDescription::new(&fields);
    let mut rd = vec![0; description.encoded_len().unwrap()];
    description.encode(&mut rd).unwrap();

    let values: Vec<Vec<u8>> = (0..10).map(|i: i32| i.to_be_bytes().to_vec()).collect();
    let params: Vec<Option<&[u8]>> = values.iter().map(|v| Some(v.as_slice())).collect();
    let bind = Bind {
        portal: "",
        statement: "s1",
        param_formats: FormatCodes::from_slice(&[Format::Binary]),
        params: Values::from_slice(&params),
        result_formats: FormatCodes::from_slice(&[Format::Binary]),
    };
    let mut bd = vec![0; bind.encoded_len().unwrap()];
    bind.encode(&mut bd).unwrap();

    let limits = FrameLimits::DEFAULT;
    let mut group = c.benchmark_group("parse RowDescription (20 fields)");
    // As for the rows, the peers' `BytesMut` copies are made untimed.
    group.bench_function("postwire", |b| {
        b.iter(|| {
            let Ok(Framed::Complete { item: BackendMessage::RowDescription(d), .. }) =
                BackendMessage::parse(black_box(&rd), &limits)
            else {
                panic!()
            };
            d.fields.iter().map(|f| f.map(|f| f.type_oid as usize + f.name.len())).sum::<Result<usize, _>>().unwrap()
        })
    });
    group.bench_function("postgres-protocol", |b| {
        use postgres_protocol::message::backend::Message;
        b.iter_batched_ref(
            || BytesMut::from(&rd[..]),
            |buf| {
                let Some(Message::RowDescription(d)) = Message::parse(buf).unwrap() else { panic!() };
                let mut fields = d.fields();
                let mut sum = 0;
                while let Some(f) = fields.next().unwrap() {
                    sum += f.type_oid() as usize + f.name().len();
                }
                sum
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("pgwire", |b| {
        use pgwire::messages::{DecodeContext, PgWireBackendMessage, ProtocolVersion};
        let ctx = DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
        b.iter_batched_ref(
            || BytesMut::from(&rd[..]),
            |buf| {
                let Some(PgWireBackendMessage::RowDescription(d)) = PgWireBackendMessage::decode(buf, &ctx).unwrap()
                else {
                    panic!()
                };
                d.fields.iter().map(|f| f.type_id as usize + f.name.len()).sum::<usize>()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("parse Bind (10 parameters)");
    group.bench_function("postwire", |b| {
        b.iter(|| {
            let Ok(Framed::Complete { item: FrontendMessage::Bind(bind), .. }) =
                FrontendMessage::parse(black_box(&bd), &limits)
            else {
                panic!()
            };
            bind.params.iter().map(|p| p.map_or(0, <[u8]>::len)).sum::<usize>()
        })
    });
    group.bench_function("pgwire", |b| {
        use pgwire::messages::{DecodeContext, PgWireFrontendMessage, ProtocolVersion};
        let mut ctx = DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
        ctx.awaiting_frontend_ssl = false;
        ctx.awaiting_frontend_startup = false;
        b.iter_batched_ref(
            || BytesMut::from(&bd[..]),
            |buf| {
                let Some(PgWireFrontendMessage::Bind(bind)) = PgWireFrontendMessage::decode(buf, &ctx).unwrap() else {
                    panic!()
                };
                bind.parameters.iter().map(|p| p.as_ref().map_or(0, |v| v.len())).sum::<usize>()
            },
            BatchSize::SmallInput,
        )
    });
    // postgres-protocol is a client codec: it writes Bind but cannot parse one.
    group.finish();
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
    targets = decode_rows, encode_rows_group, row_description_and_bind
}
criterion_main!(benches);

//! Decoding and re-encoding a 5,000-row result allocates nothing.
//!
//! A counting global allocator counts allocations made by this thread while a
//! flag is up; the test harness's own threads are not counted.

// A `#[global_allocator]` must be an `unsafe impl GlobalAlloc`; this one only
// forwards to `System` after counting, so the safety contract is System's.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use postwire_codec::backend::{
    BackendMessage, CommandComplete, DataRowWriter, FieldDescription, ReadyForQuery, RowDescription, TransactionStatus,
};
use postwire_codec::value::{FromValue, ToValue};
use postwire_codec::{Encode, Format, FrameLimits, Framed, oid};

struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn note_allocation() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Counts the allocations `f` makes on this thread.
fn allocations_in<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    let result = f();
    COUNTING.with(|c| c.set(false));
    (result, ALLOCATIONS.load(Ordering::Relaxed) - before)
}

const ROWS: usize = 5_000;

fn field(name: &str, type_oid: u32, type_size: i16) -> FieldDescription<'_> {
    FieldDescription {
        name,
        table_oid: 16_386,
        column_id: 1,
        type_oid,
        type_size,
        type_modifier: -1,
        format: Format::Text,
    }
}

fn columns() -> [FieldDescription<'static>; 6] {
    [
        field("id", oid::INT4, 4),
        field("name", oid::TEXT, -1),
        field("note", oid::TEXT, -1),
        field("big", oid::INT8, 8),
        field("ok", oid::BOOL, 1),
        field("score", oid::FLOAT8, 8),
    ]
}

/// One typed row, borrowed from the wire where the type allows.
struct Row<'a> {
    id: i32,
    name: &'a str,
    note: Option<&'a str>,
    big: i64,
    ok: bool,
    score: f64,
}

fn write_row(out: &mut [u8], at: usize, row: &Row<'_>) -> usize {
    let mut w = DataRowWriter::begin(out, at).unwrap();
    w.cell_with(|s| row.id.encode_text(s)).unwrap();
    w.cell_with(|s| row.name.encode_text(s)).unwrap();
    match row.note {
        Some(note) => w.cell_with(|s| note.encode_text(s)).unwrap(),
        None => w.null().unwrap(),
    }
    w.cell_with(|s| row.big.encode_text(s)).unwrap();
    w.cell_with(|s| row.ok.encode_text(s)).unwrap();
    w.cell_with(|s| row.score.encode_text(s)).unwrap();
    w.finish().unwrap()
}

/// A server's answer to a 5,000-row SELECT, made with the encoders.
fn result_set() -> Vec<u8> {
    let mut out = vec![0u8; 1 << 20];
    let mut at = RowDescription::new(&columns()).encode(&mut out).unwrap();
    let names: Vec<String> = (0..ROWS).map(|i| format!("name number {i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let row = Row {
            id: i as i32,
            name,
            note: (i % 7 != 0).then_some("a note, with \"quotes\""),
            big: (i as i64) * 1_000_000_007 - 3_000_000_000,
            ok: i % 2 == 0,
            score: i as f64 / 8.0 - 1.25e-3,
        };
        at += write_row(&mut out, at, &row);
    }
    at += CommandComplete { tag: "SELECT 5000" }.encode(&mut out[at..]).unwrap();
    at += ReadyForQuery { status: TransactionStatus::Idle }.encode(&mut out[at..]).unwrap();
    out.truncate(at);
    out
}

/// Decodes every message and typed value of `input` and encodes it again into `out`.
fn decode_and_reencode(input: &[u8], out: &mut [u8]) -> (usize, usize) {
    let limits = FrameLimits::DEFAULT;
    let (mut read, mut written, mut rows) = (0, 0, 0);
    while read < input.len() {
        let Framed::Complete { item, consumed } = BackendMessage::parse(&input[read..], &limits).unwrap() else {
            panic!("the result set is complete");
        };
        read += consumed;
        written += match item {
            BackendMessage::DataRow(data) => {
                let mut cells = data.cells();
                let mut next = || cells.next().expect("six cells").expect("well-formed cell");
                let row = Row {
                    id: i32::decode_text(next().expect("not NULL")).unwrap(),
                    name: <&str>::decode_text(next().expect("not NULL")).unwrap(),
                    note: next().map(|c| <&str>::decode_text(c).unwrap()),
                    big: i64::decode_text(next().expect("not NULL")).unwrap(),
                    ok: bool::decode_text(next().expect("not NULL")).unwrap(),
                    score: f64::decode_text(next().expect("not NULL")).unwrap(),
                };
                rows += 1;
                write_row(out, written, &row)
            }
            BackendMessage::RowDescription(desc) => {
                let mut fields = [field("", 0, 0); 6];
                for (slot, f) in fields.iter_mut().zip(desc.fields.iter()) {
                    *slot = f.expect("well-formed field");
                }
                RowDescription::new(&fields).encode(&mut out[written..]).unwrap()
            }
            other => other.encode(&mut out[written..]).unwrap(),
        };
    }
    (written, rows)
}

#[test]
fn decoding_and_reencoding_5000_rows_allocates_nothing() {
    let input = result_set();
    let mut out = vec![0u8; input.len()];
    let ((written, rows), allocations) = allocations_in(|| decode_and_reencode(&input, &mut out));
    assert_eq!(rows, ROWS);
    assert_eq!(&out[..written], &input[..], "re-encoding reproduces the stream byte for byte");
    assert_eq!(allocations, 0, "decode + re-encode of {ROWS} rows allocated");
}

#[test]
fn the_counter_sees_allocations() {
    let (v, allocations) = allocations_in(|| vec![1u8; 64]);
    assert_eq!(v.len(), 64);
    assert!(allocations >= 1, "the counting allocator must notice a Vec");
}

#[test]
fn authentication_exchanges_allocate_nothing() {
    use postwire_codec::auth::{Md5Verifier, oauth, scram};
    struct FixedRng;
    impl rand_core::TryRng for FixedRng {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(9)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(9)
        }
        fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Self::Error> {
            d.fill(9);
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for FixedRng {}

    let (finished, allocations) = allocations_in(|| {
        let verifier = scram::ScramVerifier::derive(b"pencil", b"salt", 16).unwrap();
        let text = verifier.to_text();
        let verifier = scram::ScramVerifier::parse(&text).unwrap();
        let mut server = scram::ScramServer::new(verifier, Some(&[1; 32]), &mut FixedRng).unwrap();
        let mut client = scram::ScramClient::new(&mut FixedRng);
        let (mut a, mut b) = ([0u8; 512], [0u8; 512]);
        let flag = scram::ChannelBindingFlag::TlsServerEndPoint;
        let n = client.client_first("", flag, &mut a).unwrap();
        let m = server.client_first(client.mechanism(), &a[..n], &mut b).unwrap();
        client.server_first(&b[..m], 4096).unwrap();
        let n = client.client_final(b"pencil", Some(&[1; 32]), &mut a).unwrap();
        let m = server.client_final(&a[..n], &mut b).unwrap();
        client.server_final(&b[..m]).unwrap();
        let md5 = Md5Verifier::derive(b"bob", b"secret");
        let md5_ok = md5.verify_response([1, 2, 3, 4], &md5.response([1, 2, 3, 4]));
        let token = oauth::parse_client_response(b"n,,\x01auth=Bearer abc\x01\x01").is_ok();
        let document = oauth::DiscoveryDocument::new("https://issuer", "openid").is_ok();
        client.is_finished() && md5_ok && token && document
    });
    assert!(finished);
    assert_eq!(allocations, 0, "authentication allocated");
}

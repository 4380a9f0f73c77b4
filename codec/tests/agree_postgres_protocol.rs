//! Byte-for-byte agreement with `postgres-protocol` 0.6, the codec under
//! tokio-postgres: every frontend message both crates encode gives the same
//! bytes, and every backend message we encode parses there to the same
//! fields (postgres-protocol only parses backend messages). Needs the
//! `bytes` feature (both sides then share the `bytes` crate).
#![cfg(feature = "bytes")]

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::IsNull;
use postgres_protocol::message::{backend as pp_backend, frontend as pp};
use postwire_codec::backend::{
    Authentication, BackendKeyData, BindComplete, CloseComplete, CommandComplete, CopyInResponse, CopyOutResponse,
    DataRow, EmptyQueryResponse, ErrorFields, ErrorResponse, FieldDescription, List, NoData, NoticeResponse,
    NotificationResponse, ParameterDescription, ParameterStatus, ParseComplete, PortalSuspended, ReadyForQuery,
    RowDescription, Severity, TransactionStatus,
};
use postwire_codec::frontend::{
    Bind, CancelRequest, Close, CopyFail, Describe, Execute, Flush, FormatCodes, Oids, Parse, PasswordMessage,
    ProtocolVersion, Query, SaslInitialResponse, SaslResponse, SslRequest, StartupMessage, StartupParams, Sync,
    TargetKind, Terminate, Values,
};
use postwire_codec::{CopyData, CopyDone, Encode, Format, SqlState};
use proptest::prelude::*;

/// Our encoding of `message`.
fn ours(message: &impl Encode) -> Vec<u8> {
    let mut buf = vec![0; message.encoded_len().expect("encodable")];
    let n = message.encode(&mut buf).expect("fits");
    buf.truncate(n);
    buf
}

/// postgres-protocol's encoding, written by `write`.
fn theirs(write: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
    let mut buf = BytesMut::new();
    write(&mut buf);
    buf.to_vec()
}

/// Parses one backend message with postgres-protocol; it must take every byte.
fn parse(bytes: &[u8]) -> pp_backend::Message {
    let mut buf = BytesMut::from(bytes);
    let message = pp_backend::Message::parse(&mut buf).expect("valid").expect("complete");
    assert!(buf.is_empty(), "postgres-protocol left {} bytes", buf.len());
    message
}

fn format_code(format: Format) -> i16 {
    match format {
        Format::Text => 0,
        Format::Binary => 1,
    }
}

#[test]
fn fixed_frontend_messages() {
    let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        ("Sync", ours(&Sync), theirs(pp::sync)),
        ("Flush", ours(&Flush), theirs(pp::flush)),
        ("Terminate", ours(&Terminate), theirs(pp::terminate)),
        ("CopyDone", ours(&CopyDone), theirs(pp::copy_done)),
        ("SslRequest", ours(&SslRequest), theirs(pp::ssl_request)),
        (
            "CancelRequest",
            ours(&CancelRequest { process_id: 4242, secret_key: &(-7i32).to_be_bytes() }),
            theirs(|b| pp::cancel_request(4242, -7, b)),
        ),
        (
            "Describe portal",
            ours(&Describe { kind: TargetKind::Portal, name: "p1" }),
            theirs(|b| pp::describe(b'P', "p1", b).unwrap()),
        ),
        (
            "Close statement",
            ours(&Close { kind: TargetKind::Statement, name: "s1" }),
            theirs(|b| pp::close(b'S', "s1", b).unwrap()),
        ),
        (
            "SASLInitialResponse",
            ours(&SaslInitialResponse { mechanism: "SCRAM-SHA-256", data: Some(b"n,,n=,r=abc") }),
            theirs(|b| pp::sasl_initial_response("SCRAM-SHA-256", b"n,,n=,r=abc", b).unwrap()),
        ),
        (
            "SASLResponse",
            ours(&SaslResponse { data: b"c=biws,r=x,p=y" }),
            theirs(|b| pp::sasl_response(b"c=biws,r=x,p=y", b).unwrap()),
        ),
    ];
    for (name, ours, theirs) in cases {
        assert_eq!(ours, theirs, "{name}");
    }
}

fn sql_text() -> impl Strategy<Value = String> {
    // Any text without NUL (neither side can encode one).
    "[^\u{0}]{0,200}"
}

fn name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,20}|"
}

proptest! {
    #[test]
    fn query_parse_execute_copy_password(
        sql in sql_text(),
        statement in name(),
        types in prop::collection::vec(any::<u32>(), 0..20),
        max_rows in any::<i32>(),
        data in prop::collection::vec(any::<u8>(), 0..300),
        password in "[^\u{0}]{0,40}",
    ) {
        prop_assert_eq!(ours(&Query { sql: &sql }), theirs(|b| pp::query(&sql, b).unwrap()));
        prop_assert_eq!(
            ours(&Parse { statement: &statement, query: &sql, param_types: Oids::from_slice(&types) }),
            theirs(|b| pp::parse(&statement, &sql, types.iter().copied(), b).unwrap())
        );
        prop_assert_eq!(
            ours(&Execute { portal: &statement, max_rows }),
            theirs(|b| pp::execute(&statement, max_rows, b).unwrap())
        );
        prop_assert_eq!(ours(&CopyData { data: &data }), theirs(|b| {
            pp::CopyData::new(&data[..]).unwrap().write(b);
        }));
        prop_assert_eq!(ours(&CopyFail { message: &password }), theirs(|b| pp::copy_fail(&password, b).unwrap()));
        prop_assert_eq!(
            ours(&PasswordMessage { password: password.as_bytes() }),
            theirs(|b| pp::password_message(password.as_bytes(), b).unwrap())
        );
    }

    #[test]
    fn bind(
        portal in name(),
        statement in name(),
        params in prop::collection::vec(prop::option::of(prop::collection::vec(any::<u8>(), 0..40)), 0..12),
        binary in prop::collection::vec(any::<bool>(), 12),
        format_count in 0..3usize,
        result_binary in prop::collection::vec(any::<bool>(), 0..12),
    ) {
        let to_format = |b: &bool| if *b { Format::Binary } else { Format::Text };
        // The protocol allows no codes, one for all, or one per parameter
        // (we refuse other counts; postgres-protocol does not check).
        let count = [0, 1, params.len()][format_count];
        let param_formats: Vec<Format> = binary[..count].iter().map(to_format).collect();
        let result_formats: Vec<Format> = result_binary.iter().map(to_format).collect();
        let values: Vec<Option<&[u8]>> = params.iter().map(|p| p.as_deref()).collect();
        let ours = ours(&Bind {
            portal: &portal,
            statement: &statement,
            param_formats: FormatCodes::from_slice(&param_formats),
            params: Values::from_slice(&values),
            result_formats: FormatCodes::from_slice(&result_formats),
        });
        let theirs = theirs(|b| {
            pp::bind(
                &portal,
                &statement,
                param_formats.iter().map(|f| format_code(*f)),
                values.iter(),
                |value, buf| match value {
                    Some(bytes) => {
                        buf.extend_from_slice(bytes);
                        Ok(IsNull::No)
                    }
                    None => Ok(IsNull::Yes),
                },
                result_formats.iter().map(|f| format_code(*f)),
                b,
            )
            .map_err(|_| "bind")
            .unwrap();
        });
        prop_assert_eq!(ours, theirs);
    }

    #[test]
    fn startup_message(params in prop::collection::vec(("[a-z_]{1,12}", "[^\u{0}]{0,20}"), 0..6)) {
        let mut pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pairs.insert(0, ("user", "alice"));
        let ours = ours(&StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&pairs) });
        let theirs = theirs(|b| pp::startup_message(pairs.iter().copied(), b).unwrap());
        prop_assert_eq!(ours, theirs);
    }

    #[test]
    fn data_rows_parse_to_the_same_cells(
        cells in prop::collection::vec(prop::option::of(prop::collection::vec(any::<u8>(), 0..50)), 0..20),
    ) {
        let values: Vec<Option<&[u8]>> = cells.iter().map(|c| c.as_deref()).collect();
        let bytes = ours(&DataRow::new(&values));
        let pp_backend::Message::DataRow(row) = parse(&bytes) else { panic!("a DataRow") };
        let theirs: Vec<Option<Vec<u8>>> = row
            .ranges()
            .map(|r| Ok(r.map(|r| row.buffer()[r].to_vec())))
            .collect()
            .unwrap();
        prop_assert_eq!(theirs, cells);
    }
}

#[test]
fn backend_messages_parse_to_the_same_fields() {
    use pp_backend::Message as M;

    assert!(matches!(parse(&ours(&Authentication::Ok)), M::AuthenticationOk));
    assert!(matches!(parse(&ours(&Authentication::CleartextPassword)), M::AuthenticationCleartextPassword));
    let M::AuthenticationMd5Password(md5) = parse(&ours(&Authentication::Md5Password { salt: [1, 2, 3, 4] })) else {
        panic!("md5")
    };
    assert_eq!(md5.salt(), [1, 2, 3, 4]);
    let mechanisms = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"];
    let M::AuthenticationSasl(sasl) = parse(&ours(&Authentication::Sasl { mechanisms: List::from_slice(&mechanisms) }))
    else {
        panic!("sasl")
    };
    assert_eq!(sasl.mechanisms().collect::<Vec<_>>().unwrap(), mechanisms);
    let M::AuthenticationSaslContinue(c) = parse(&ours(&Authentication::SaslContinue { data: b"r=abc,s=xyz,i=4096" }))
    else {
        panic!("continue")
    };
    assert_eq!(c.data(), b"r=abc,s=xyz,i=4096");
    let M::AuthenticationSaslFinal(f) = parse(&ours(&Authentication::SaslFinal { data: b"v=sig" })) else {
        panic!("final")
    };
    assert_eq!(f.data(), b"v=sig");

    let M::BackendKeyData(key) = parse(&ours(&BackendKeyData { process_id: 77, secret_key: &(-5i32).to_be_bytes() }))
    else {
        panic!("key data")
    };
    assert_eq!((key.process_id(), key.secret_key()), (77, -5));

    for (bytes, expected) in [
        (ours(&ParseComplete), "1"),
        (ours(&BindComplete), "2"),
        (ours(&CloseComplete), "3"),
        (ours(&NoData), "n"),
        (ours(&EmptyQueryResponse), "I"),
        (ours(&PortalSuspended), "s"),
    ] {
        let got = match parse(&bytes) {
            M::ParseComplete => "1",
            M::BindComplete => "2",
            M::CloseComplete => "3",
            M::NoData => "n",
            M::EmptyQueryResponse => "I",
            M::PortalSuspended => "s",
            _ => "other",
        };
        assert_eq!(got, expected);
    }

    let M::CommandComplete(done) = parse(&ours(&CommandComplete { tag: "INSERT 0 5" })) else { panic!("complete") };
    assert_eq!(done.tag().unwrap(), "INSERT 0 5");

    for (status, byte) in
        [(TransactionStatus::Idle, b'I'), (TransactionStatus::InTransaction, b'T'), (TransactionStatus::Failed, b'E')]
    {
        let M::ReadyForQuery(ready) = parse(&ours(&ReadyForQuery { status })) else { panic!("ready") };
        assert_eq!(ready.status(), byte);
    }

    let M::ParameterStatus(p) = parse(&ours(&ParameterStatus { name: "TimeZone", value: "Europe/Paris" })) else {
        panic!("parameter status")
    };
    assert_eq!((p.name().unwrap(), p.value().unwrap()), ("TimeZone", "Europe/Paris"));

    let M::NotificationResponse(n) =
        parse(&ours(&NotificationResponse { process_id: 9, channel: "jobs", payload: "42" }))
    else {
        panic!("notification")
    };
    assert_eq!((n.process_id(), n.channel().unwrap(), n.message().unwrap()), (9, "jobs", "42"));

    let types = [23, 25, 3802];
    let M::ParameterDescription(d) = parse(&ours(&ParameterDescription { types: List::from_slice(&types) })) else {
        panic!("parameter description")
    };
    assert_eq!(d.parameters().collect::<Vec<_>>().unwrap(), types);

    let columns = [Format::Binary, Format::Text];
    let M::CopyInResponse(c) = parse(&ours(&CopyInResponse::new(Format::Binary, &columns))) else { panic!("copy in") };
    assert_eq!(c.format(), 1);
    assert_eq!(c.column_formats().collect::<Vec<_>>().unwrap(), [1, 0]);
    let M::CopyOutResponse(c) = parse(&ours(&CopyOutResponse::new(Format::Text, &[]))) else { panic!("copy out") };
    assert_eq!((c.format(), c.column_formats().count().unwrap()), (0, 0));
    let M::CopyData(c) = parse(&ours(&CopyData { data: b"1\tx\n" })) else { panic!("copy data") };
    assert_eq!(c.data(), b"1\tx\n");
    assert!(matches!(parse(&ours(&CopyDone)), M::CopyDone));

    let fields = [
        FieldDescription {
            name: "id",
            table_oid: 16384,
            column_id: 1,
            type_oid: 23,
            type_size: 4,
            type_modifier: -1,
            format: Format::Binary,
        },
        FieldDescription {
            name: "naïve",
            table_oid: 0,
            column_id: 0,
            type_oid: 1043,
            type_size: -1,
            type_modifier: 68,
            format: Format::Text,
        },
    ];
    let M::RowDescription(rd) = parse(&ours(&RowDescription::new(&fields))) else { panic!("row description") };
    let theirs: Vec<_> = rd
        .fields()
        .map(|f| {
            Ok((
                f.name().to_owned(),
                f.table_oid(),
                f.column_id(),
                f.type_oid(),
                f.type_size(),
                f.type_modifier(),
                f.format(),
            ))
        })
        .collect()
        .unwrap();
    let expected: Vec<_> = fields
        .iter()
        .map(|f| {
            (
                f.name.to_owned(),
                f.table_oid,
                f.column_id,
                f.type_oid,
                f.type_size,
                f.type_modifier,
                format_code(f.format),
            )
        })
        .collect();
    assert_eq!(theirs, expected);

    let error = ErrorFields {
        detail: Some("Key (id)=(1) already exists."),
        hint: Some("Pick another id."),
        table: Some("users"),
        constraint: Some("users_pkey"),
        ..ErrorFields::new(Severity::Error, SqlState::UNIQUE_VIOLATION, "duplicate key value")
    };
    let error_fields = |bytes: &[u8]| -> Vec<(u8, String)> {
        let collect = |fields: pp_backend::ErrorFields<'_>| {
            fields.map(|f| Ok((f.type_(), String::from_utf8_lossy(f.value_bytes()).into_owned()))).collect().unwrap()
        };
        match parse(bytes) {
            M::ErrorResponse(body) => collect(body.fields()),
            M::NoticeResponse(body) => collect(body.fields()),
            _ => panic!("an error or a notice"),
        }
    };
    for bytes in [ours(&ErrorResponse::from(&error)), ours(&NoticeResponse::from(&error))] {
        let theirs = error_fields(&bytes);
        let has = |code: u8, value: &str| theirs.iter().any(|(c, v)| *c == code && v == value);
        assert!(has(b'S', "ERROR") && has(b'V', "ERROR"), "{theirs:?}");
        assert!(has(b'C', "23505") && has(b'M', "duplicate key value"));
        assert!(has(b'D', "Key (id)=(1) already exists.") && has(b'H', "Pick another id."));
        assert!(has(b't', "users") && has(b'n', "users_pkey"));
    }
}

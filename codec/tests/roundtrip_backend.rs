//! Property tests: every backend message survives encode → frame → decode, and
//! any body that decodes re-encodes to the same bytes.

use postwire_codec::backend::{
    Authentication, BackendKeyData, BackendMessage, BindComplete, CloseComplete, CommandComplete, CopyBothResponse,
    CopyInResponse, CopyOutResponse, DataRow, DataRowWriter, EmptyQueryResponse, ErrorFields, ErrorResponse,
    FieldDescription, FunctionCallResponse, List, NegotiateProtocolVersion, NoData, NoticeResponse,
    NotificationResponse, ParameterDescription, ParameterStatus, ParseComplete, PortalSuspended, ReadyForQuery,
    RowDescription, RowDescriptionWriter, Severity, TransactionStatus,
};
use postwire_codec::frame::{FrameLimits, Framed, RawMessage, frame_message};
use postwire_codec::{CopyData, CopyDone, Encode, EncodeError, Format, Sink, SqlState};
use proptest::prelude::*;

/// Encodes, checks the too-small-buffer path, frames, decodes, compares, and
/// re-encodes the decoded form. Returns the encoded bytes.
fn roundtrip(msg: BackendMessage<'_>) -> Vec<u8> {
    let len = msg.encoded_len().expect("valid message");
    let mut buf = vec![0u8; len];
    assert_eq!(msg.encode(&mut buf), Ok(len));

    let mut small = vec![0xA5u8; len - 1];
    assert_eq!(msg.encode(&mut small), Err(EncodeError::BufferTooSmall { required: len }));
    assert!(small.iter().all(|&b| b == 0xA5), "failed encode touched the buffer");

    let Ok(Framed::Complete { item, consumed }) = frame_message(&buf, &FrameLimits::DEFAULT) else {
        panic!("encoded message does not frame")
    };
    assert_eq!(consumed, len);
    let decoded = BackendMessage::decode(item).expect("encoded message decodes");
    assert_eq!(decoded, msg);

    let mut again = vec![0u8; len];
    assert_eq!(decoded.encode(&mut again), Ok(len));
    assert_eq!(again, buf);
    buf
}

fn text() -> impl Strategy<Value = String> {
    "[^\\x00]{0,12}"
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..24)
}

fn format() -> impl Strategy<Value = Format> {
    any::<bool>().prop_map(|b| if b { Format::Binary } else { Format::Text })
}

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(vec![
        Severity::Error,
        Severity::Fatal,
        Severity::Panic,
        Severity::Warning,
        Severity::Notice,
        Severity::Debug,
        Severity::Info,
        Severity::Log,
    ])
}

type Field = (String, u32, i16, u32, i16, i32, Format);

fn field() -> impl Strategy<Value = Field> {
    (text(), any::<u32>(), any::<i16>(), any::<u32>(), any::<i16>(), any::<i32>(), format())
}

fn field_description(f: &Field) -> FieldDescription<'_> {
    FieldDescription {
        name: &f.0,
        table_oid: f.1,
        column_id: f.2,
        type_oid: f.3,
        type_size: f.4,
        type_modifier: f.5,
        format: f.6,
    }
}

proptest! {
    #[test]
    fn authentication(code in 0usize..10, salt in any::<[u8; 4]>(), data in bytes(),
                      mechs in prop::collection::vec("[^\\x00]{1,16}", 0..4)) {
        let mechs: Vec<&str> = mechs.iter().map(String::as_str).collect();
        let auth = match code {
            0 => Authentication::Ok,
            1 => Authentication::KerberosV5,
            2 => Authentication::CleartextPassword,
            3 => Authentication::Md5Password { salt },
            4 => Authentication::Gss,
            5 => Authentication::GssContinue { data: &data },
            6 => Authentication::Sspi,
            7 => Authentication::Sasl { mechanisms: List::from_slice(&mechs) },
            8 => Authentication::SaslContinue { data: &data },
            _ => Authentication::SaslFinal { data: &data },
        };
        roundtrip(auth.into());
    }

    #[test]
    fn backend_key_data(process_id in any::<i32>(), key in prop::collection::vec(any::<u8>(), 1..=256)) {
        roundtrip(BackendKeyData { process_id, secret_key: &key }.into());
    }

    #[test]
    fn empty_and_copy_messages(data in bytes()) {
        roundtrip(BindComplete.into());
        roundtrip(CloseComplete.into());
        roundtrip(EmptyQueryResponse.into());
        roundtrip(NoData.into());
        roundtrip(ParseComplete.into());
        roundtrip(PortalSuspended.into());
        roundtrip(CopyDone.into());
        roundtrip(CopyData { data: &data }.into());
    }

    #[test]
    fn command_complete(tag in text()) {
        roundtrip(CommandComplete { tag: &tag }.into());
    }

    #[test]
    fn copy_responses(overall in format(), columns in prop::collection::vec(format(), 0..12)) {
        roundtrip(CopyInResponse::new(overall, &columns).into());
        roundtrip(CopyOutResponse::new(overall, &columns).into());
        roundtrip(CopyBothResponse::new(overall, &columns).into());
    }

    #[test]
    fn data_row(cells in prop::collection::vec(prop::option::of(bytes()), 0..12)) {
        let cells: Vec<Option<&[u8]>> = cells.iter().map(|c| c.as_deref()).collect();
        let wire = roundtrip(DataRow::new(&cells).into());

        // The streaming writer produces the same bytes, at any offset, whichever
        // method writes each cell.
        let mut buf = vec![0u8; wire.len() + 3];
        let mut w = DataRowWriter::begin(&mut buf, 3).unwrap();
        for (i, c) in cells.iter().enumerate() {
            match (i % 2, c) {
                (0, Some(v)) => w.cell_with(|s| { s.put_slice(v); Ok(()) }).unwrap(),
                _ => w.cell(*c).unwrap(),
            }
        }
        prop_assert_eq!(w.finish(), Ok(wire.len()));
        prop_assert_eq!(&buf[3..], &wire[..]);
    }

    #[test]
    fn error_and_notice(sev in severity(), code in "[0-9A-Z]{5}", message in text(),
                        opt in prop::collection::vec(prop::option::of(text()), 14)) {
        let o = |i: usize| opt[i].as_deref();
        let fields = ErrorFields {
            detail: o(0), hint: o(1), position: o(2), internal_position: o(3), internal_query: o(4),
            context: o(5), schema: o(6), table: o(7), column: o(8), data_type: o(9), constraint: o(10),
            file: o(11), line: o(12), routine: o(13),
            ..ErrorFields::new(sev, SqlState::from_code(&code).unwrap(), &message)
        };
        roundtrip(ErrorResponse::from(&fields).into());
        roundtrip(NoticeResponse::from(&fields).into());
        let e = ErrorResponse::from(&fields);
        prop_assert_eq!(e.severity_kind(), Some(sev));
        prop_assert_eq!(e.code(), SqlState::from_code(&code));
        prop_assert_eq!(e.message(), Some(message.as_str()));
        prop_assert_eq!(e.detail(), o(0));
    }

    #[test]
    fn function_call_response(result in prop::option::of(bytes())) {
        roundtrip(FunctionCallResponse { result: result.as_deref() }.into());
    }

    #[test]
    fn negotiate(newest_version in any::<i32>(), options in prop::collection::vec(text(), 0..5)) {
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        roundtrip(NegotiateProtocolVersion { newest_version, unrecognized_options: List::from_slice(&options) }.into());
    }

    #[test]
    fn notification(process_id in any::<i32>(), channel in text(), payload in text()) {
        roundtrip(NotificationResponse { process_id, channel: &channel, payload: &payload }.into());
    }

    #[test]
    fn parameters(types in prop::collection::vec(any::<u32>(), 0..12), name in text(), value in text()) {
        roundtrip(ParameterDescription { types: List::from_slice(&types) }.into());
        roundtrip(ParameterStatus { name: &name, value: &value }.into());
    }

    #[test]
    fn ready_for_query(i in 0usize..3) {
        let status = [TransactionStatus::Idle, TransactionStatus::InTransaction, TransactionStatus::Failed][i];
        roundtrip(ReadyForQuery { status }.into());
    }

    #[test]
    fn row_description(fields in prop::collection::vec(field(), 0..8)) {
        let fields: Vec<FieldDescription<'_>> = fields.iter().map(field_description).collect();
        let wire = roundtrip(RowDescription::new(&fields).into());

        let mut buf = vec![0u8; wire.len()];
        let mut w = RowDescriptionWriter::begin(&mut buf, 0).unwrap();
        for f in &fields {
            w.field(f).unwrap();
        }
        prop_assert_eq!(w.finish(), Ok(wire.len()));
        prop_assert_eq!(buf, wire);
    }

    /// Any body either fails to decode, or fails to validate (DataRow cells and
    /// RowDescription fields are checked lazily) and then refuses to
    /// re-encode, or re-encodes to exactly the same bytes; nothing panics.
    #[test]
    fn arbitrary_bodies_decode_canonically(
        tag in prop::sample::select(b"RK23CdcGHWDIEVvnNAtS1sZTx".to_vec()),
        body in prop::collection::vec(prop_oneof![Just(0u8), Just(0xff), Just(1), any::<u8>()], 0..48),
    ) {
        if let Ok(msg) = BackendMessage::decode(RawMessage { tag, body: &body }) {
            let mut out = vec![0u8; body.len() + 5];
            if msg.validate().is_err() {
                prop_assert!(matches!(msg, BackendMessage::DataRow(_) | BackendMessage::RowDescription(_)));
                prop_assert_eq!(msg.encode(&mut out), Err(EncodeError::InvalidValue));
                return Ok(());
            }
            prop_assert_eq!(msg.encode(&mut out), Ok(body.len() + 5));
            prop_assert_eq!(out[0], tag);
            prop_assert_eq!(&out[5..], &body[..]);
        }
    }
}

//! Messages with an empty body.

empty_message!(
    /// ParseComplete ('1'): a Parse succeeded.
    ParseComplete = b'1'
);
empty_message!(
    /// BindComplete ('2'): a Bind succeeded.
    BindComplete = b'2'
);
empty_message!(
    /// CloseComplete ('3'): a Close succeeded.
    CloseComplete = b'3'
);
empty_message!(
    /// EmptyQueryResponse ('I'): the query string was empty.
    EmptyQueryResponse = b'I'
);
empty_message!(
    /// NoData ('n'): the described statement or portal returns no rows.
    NoData = b'n'
);
empty_message!(
    /// PortalSuspended ('s'): Execute hit its row limit before the portal ended.
    PortalSuspended = b's'
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{
        BackendMessage,
        test_util::{Tail, check_golden},
    };

    #[test]
    fn golden_empty_messages() {
        check_golden(b"1\0\0\0\x04", &BackendMessage::ParseComplete(ParseComplete), Tail::Strict);
        check_golden(b"2\0\0\0\x04", &BackendMessage::BindComplete(BindComplete), Tail::Strict);
        check_golden(b"3\0\0\0\x04", &BackendMessage::CloseComplete(CloseComplete), Tail::Strict);
        check_golden(b"I\0\0\0\x04", &BackendMessage::EmptyQueryResponse(EmptyQueryResponse), Tail::Strict);
        check_golden(b"n\0\0\0\x04", &BackendMessage::NoData(NoData), Tail::Strict);
        check_golden(b"s\0\0\0\x04", &BackendMessage::PortalSuspended(PortalSuspended), Tail::Strict);
        check_golden(b"c\0\0\0\x04", &BackendMessage::CopyDone(crate::CopyDone), Tail::Strict);
        let data = crate::CopyData { data: b"1\tx\n" };
        check_golden(b"d\0\0\0\x081\tx\n", &BackendMessage::CopyData(data), Tail::Rest);
    }
}

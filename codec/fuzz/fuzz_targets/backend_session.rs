//! Arbitrary bytes from a client, in arbitrary chunks, into the backend
//! machine, with a driver answering every event in a way the input chooses
//! (right or wrong): the machine never panics, never loops, and its output
//! stays bounded by its buffer.
#![no_main]

use rand::SeedableRng;
use rand::rngs::StdRng;
use libfuzzer_sys::fuzz_target;
use postwire_codec::auth::StoredPassword;
use postwire_codec::backend::{ErrorFields, FieldDescription, Severity};
use postwire_codec::session::backend::{AuthMethod, Backend, BackendKey, Event, ServerParameters};
use postwire_codec::{Format, FrameLimits, SqlState, oid};

/// Choices drawn from the input's first bytes, cycling.
struct Choices<'a>(&'a [u8], usize);
impl Choices<'_> {
    fn next(&mut self) -> u8 {
        let b = self.0.get(self.1 % self.0.len().max(1)).copied().unwrap_or(0);
        self.1 += 1;
        b
    }
}


const COLUMN: [FieldDescription<'static>; 1] = [FieldDescription {
    name: "n",
    table_oid: 0,
    column_id: 0,
    type_oid: oid::INT4,
    type_size: 4,
    type_modifier: -1,
    format: Format::Text,
}];

fn answer(backend: &mut Backend<Vec<u8>, 4, 2>, event: Event<'_>, choice: u8, rng: &mut StdRng) {
    let error = ErrorFields::new(Severity::Error, SqlState::SYNTAX_ERROR, "no");
    let b = backend;
    // Results are ignored: wrong answers must be refused, not panic.
    let _ = match event {
        Event::TlsRequested => b.decline_tls(),
        Event::Startup { .. } => {
            let method = match choice % 4 {
                0 => AuthMethod::Trust,
                1 => AuthMethod::Cleartext,
                2 => AuthMethod::Md5 { password: StoredPassword::Plaintext(b"pw") },
                _ => AuthMethod::ScramSha256 { password: StoredPassword::Plaintext(b"pw") },
            };
            b.authenticate(method, rng)
        }
        Event::PasswordReceived { password } => b.password_verified(password == b"pw" || choice % 2 == 0),
        Event::OAuthToken { .. } => b.oauth_verified(choice % 2 == 0),
        Event::Authenticated => b.accept(&ServerParameters::DEFAULT, &BackendKey::new(7, &[1, 2, 3, 4]).unwrap()),
        Event::Query { .. } => {
            let _ = match choice % 4 {
                0 => b.row_description(&COLUMN).and_then(|()| b.data_row(&[Some(b"1")])).and_then(|()| b.command_complete("SELECT 1")),
                1 => b.error(&error),
                2 => b.empty_query(),
                _ => b.copy_in_response(Format::Text, &[]),
            };
            b.ready_for_query()
        }
        Event::Parse { .. } => if choice % 5 == 0 { b.error(&error) } else { b.parse_complete(usize::from(choice % 3)) },
        Event::Bind { .. } => if choice % 5 == 0 { b.error(&error) } else { b.bind_complete() },
        Event::DescribeStatement { .. } => b.parameter_description(&[]).and_then(|()| b.no_data()),
        Event::DescribePortal { .. } => if choice % 2 == 0 { b.row_description(&COLUMN) } else { b.no_data() },
        Event::Execute { .. } => match choice % 4 {
            0 => b.data_row(&[Some(b"1")]).and_then(|()| b.command_complete("SELECT 1")),
            1 => b.portal_suspended(),
            2 => b.error(&error),
            _ => b.command_complete("SET"),
        },
        Event::Sync { .. } => b.ready_for_query(),
        Event::FunctionCall { .. } => b.function_call_response(Some(b"x")).and_then(|()| b.ready_for_query()),
        Event::CopyDone => b.command_complete("COPY 1").and_then(|()| b.ready_for_query()),
        Event::CopyAborted { .. } => b.ready_for_query(),
        _ => Ok(()),
    };
}

fuzz_target!(|data: &[u8]| {
    let (choices, input) = data.split_at(data.len().min(16));
    let mut choices = Choices(choices, 0);
    let mut rng = StdRng::seed_from_u64(1);
    let limits = FrameLimits::DEFAULT.with_max_message_len(4096);
    let mut backend: Backend<Vec<u8>, 4, 2> = Backend::with_limits(vec![0; 512], limits);
    let mut buffered: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut steps = 0;
    while fed < input.len() || !buffered.is_empty() {
        let chunk = usize::from(choices.next() % 64) + 1;
        let end = (fed + chunk).min(input.len());
        buffered.extend_from_slice(&input[fed..end]);
        fed = end;
        loop {
            steps += 1;
            assert!(steps < 100_000, "the machine keeps going without input");
            let step = backend.handle_input(&buffered);
            let consumed = step.consumed;
            assert!(consumed <= buffered.len());
            let had_event = step.event.is_some();
            if let Some(event) = step.event {
                answer(&mut backend, event, choices.next(), &mut rng);
            }
            // The driver transmits everything after each step.
            let pending = backend.pending_output().len();
            assert!(pending <= 512);
            backend.consume_output(pending);
            buffered.drain(..consumed);
            if !had_event && consumed == 0 {
                break;
            }
        }
        if backend.is_closed() {
            return;
        }
        if fed == input.len() {
            backend.handle_eof(buffered.len());
            return;
        }
    }
});

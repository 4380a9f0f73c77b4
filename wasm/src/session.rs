//! One client connection: the driver loop around the codec's backend machine,
//! plus the mock database's per-session state (prepared statements, portals,
//! transaction status, LISTEN channels).
//!
//! The JavaScript side feeds bytes with `push`, calls `step` until it returns
//! `null`, answers each `query` request with `answer` or `fail`, and sends
//! `takeOutput()` to the client. All protocol decisions are made here and in
//! the codec; JavaScript only moves bytes and picks results.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Array, Uint8Array};
use postwire_codec::backend::{ErrorFields, Severity, TransactionStatus};
use postwire_codec::session::backend::{AuthMethod, Backend, BackendKey, ClosedTarget, Event, ServerParameters};
use postwire_codec::session::{CloseReason, SessionError};
use postwire_codec::{Format, oid};
use postwire_codec::{FrameLimits, Oid, SqlState};
use wasm_bindgen::prelude::*;

use crate::config::{Auth, ErrorSpec, Settings, Unmatched};
use crate::entropy::Entropy;
use crate::result::{Column, ResultError, ResultSet};
use crate::sql::{self, Builtin, Constant};
use crate::values::{self, Type};

/// Prepared statements a client may hold at once.
const STATEMENTS: usize = 64;
/// Portals a client may hold at once.
const PORTALS: usize = 16;
/// The machine's output buffer: the largest single message the mock sends.
const OUTPUT_CAPACITY: usize = 256 * 1024;

type Machine = Backend<Vec<u8>, STATEMENTS, PORTALS>;

/// A prepared statement.
#[derive(Debug, Clone)]
struct Prepared {
    sql: String,
    /// Declared parameter types (0: unspecified).
    types: Vec<Oid>,
    params: usize,
}

/// A bound portal and, once run, its result.
#[derive(Debug)]
struct Bound {
    sql: String,
    params: Vec<Option<Vec<u8>>>,
    param_formats: Vec<Format>,
    param_types: Vec<Oid>,
    result_formats: Vec<Format>,
    result: Option<ResultSet>,
    /// Rows already sent (Execute with a row limit sends them in slices).
    cursor: usize,
}

impl Bound {
    fn param_format(&self, i: usize) -> Format {
        match self.param_formats.len() {
            0 => Format::Text,
            1 => self.param_formats[0],
            _ => self.param_formats.get(i).copied().unwrap_or(Format::Text),
        }
    }

    fn param_values(&self) -> Vec<JsValue> {
        self.params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let type_oid = self.param_types.get(i).copied().unwrap_or(0);
                values::decode_param(type_oid, self.param_format(i), p.as_deref())
            })
            .collect()
    }
}

/// What a `query` request waits for.
#[derive(Debug)]
enum Pending {
    /// A statement of a simple Query; `rest` follow it.
    Simple {
        statement: String,
        rest: VecDeque<String>,
    },
    DescribePortal(usize),
    Execute {
        portal: usize,
        max_rows: i32,
    },
    DescribeStatement(usize),
}

#[derive(Debug)]
enum Work {
    /// Reading the client's next message.
    Idle,
    /// Running the statements of a simple Query.
    Simple(VecDeque<String>),
    /// Waiting for JavaScript's answer to a `query` request.
    Waiting(Pending),
}

/// A request [`Session::step`] hands to JavaScript. `step` returns its code
/// (a number, so that no object is built per message) and the `request*`
/// getters read its fields.
#[derive(Debug)]
enum Request {
    /// Code 1: answer with `answer` or `fail`. Fields: `requestSql`,
    /// `requestParams`, `requestDescribe`.
    Query { sql: String, params: Option<Array>, describe: bool },
    /// Code 2: a statement the mock ran itself (`requestSql`).
    Log { sql: String },
    /// Code 3: a NOTIFY the mock ran (`requestSql`, `requestChannel`, `requestPayload`).
    Notify { sql: String, channel: String, payload: String },
    /// Code 4: a CancelRequest (`requestProcessId`, `requestSecret`).
    Cancel { process_id: i32, secret: Vec<u8> },
    /// Code 5: the session ended (`requestReason`): send the output, then close.
    Ended { reason: String },
}

impl Request {
    fn code(&self) -> u32 {
        match self {
            Request::Query { .. } => 1,
            Request::Log { .. } => 2,
            Request::Notify { .. } => 3,
            Request::Cancel { .. } => 4,
            Request::Ended { .. } => 5,
        }
    }
}

/// One client connection to the mock server.
#[wasm_bindgen]
pub struct Session {
    settings: Rc<RefCell<Settings>>,
    machine: Machine,
    input: Vec<u8>,
    /// Bytes of `input` already consumed.
    pos: usize,
    out: Vec<u8>,
    pid: i32,
    key: BackendKey,
    entropy: Entropy,
    websocket: bool,
    statements: Vec<Option<Prepared>>,
    portals: Vec<Option<Bound>>,
    work: Work,
    listening: Vec<String>,
    notifications: VecDeque<(i32, String, String)>,
    /// Idle between commands, with nothing pending: notifications go out at once.
    idle: bool,
    cancel_requested: bool,
    messages: u32,
    user: String,
    database: String,
    ended: Option<String>,
    ended_reported: bool,
    /// The last request `step` returned.
    request: Option<Request>,
}

#[wasm_bindgen]
impl Session {
    /// A new session. `secret` is 4 to 32 random bytes (the cancel key);
    /// `entropy` 32 more (salts and nonces for MD5 and SCRAM).
    #[wasm_bindgen(constructor)]
    pub fn new(
        config: &crate::Config,
        pid: i32,
        secret: &[u8],
        entropy: &[u8],
        websocket: bool,
    ) -> Result<Session, JsError> {
        let entropy = Entropy::new(entropy).ok_or_else(|| JsError::new("the entropy must be 32 bytes"))?;
        let settings = config.settings();
        let key =
            BackendKey::new(pid, secret).ok_or_else(|| JsError::new("the cancel secret must be 4 to 32 bytes"))?;
        let limits = FrameLimits::DEFAULT.with_max_message_len(settings.borrow().max_message_size);
        Ok(Session {
            settings,
            machine: Backend::with_limits(vec![0; OUTPUT_CAPACITY], limits),
            input: Vec::new(),
            pos: 0,
            out: Vec::new(),
            pid,
            key,
            entropy,
            websocket,
            statements: vec![None; STATEMENTS],
            portals: (0..PORTALS).map(|_| None).collect(),
            work: Work::Idle,
            listening: Vec::new(),
            notifications: VecDeque::new(),
            idle: false,
            cancel_requested: false,
            messages: 0,
            user: String::new(),
            database: String::new(),
            ended: None,
            ended_reported: false,
            request: None,
        })
    }

    /// Buffers bytes from the client (any chunking).
    pub fn push(&mut self, bytes: &[u8]) {
        if self.ended.is_some() {
            return;
        }
        if self.pos > 0 && self.pos * 2 >= self.input.len() {
            self.input.drain(..self.pos);
            self.pos = 0;
        }
        self.input.extend_from_slice(bytes);
    }

    /// The client closed its side.
    pub fn eof(&mut self) {
        if self.ended.is_none() {
            let reason = self.machine.handle_eof(self.input.len() - self.pos);
            self.ended = Some(describe_close(reason));
        }
    }

    /// Runs the machine on buffered input. Returns 0 when it needs more input
    /// (or an answer), else the code of a request whose fields the `request*`
    /// getters read: 1 query (`requestSql`, `requestParams`,
    /// `requestDescribe`; answer with `answer`/`fail`), 2 log (`requestSql`:
    /// a statement the mock ran itself), 3 notify (`requestSql`,
    /// `requestChannel`, `requestPayload`), 4 cancel (`requestProcessId`,
    /// `requestSecret`), 5 ended (`requestReason`: send the output, then
    /// close the connection).
    pub fn step(&mut self) -> u32 {
        self.request = self.next_request();
        self.request.as_ref().map_or(0, Request::code)
    }

    /// The SQL of the last query, log or notify request.
    #[wasm_bindgen(getter, js_name = requestSql)]
    pub fn request_sql(&self) -> String {
        match &self.request {
            Some(Request::Query { sql, .. } | Request::Log { sql } | Request::Notify { sql, .. }) => sql.clone(),
            _ => String::new(),
        }
    }

    /// The decoded parameters of the last query request (`undefined`: none).
    #[wasm_bindgen(getter, js_name = requestParams)]
    pub fn request_params(&self) -> JsValue {
        match &self.request {
            Some(Request::Query { params: Some(params), .. }) => params.into(),
            _ => JsValue::UNDEFINED,
        }
    }

    /// Whether the last query request is a Describe of a statement (columns only).
    #[wasm_bindgen(getter, js_name = requestDescribe)]
    pub fn request_describe(&self) -> bool {
        matches!(self.request, Some(Request::Query { describe: true, .. }))
    }

    /// The channel of the last notify request.
    #[wasm_bindgen(getter, js_name = requestChannel)]
    pub fn request_channel(&self) -> String {
        match &self.request {
            Some(Request::Notify { channel, .. }) => channel.clone(),
            _ => String::new(),
        }
    }

    /// The payload of the last notify request.
    #[wasm_bindgen(getter, js_name = requestPayload)]
    pub fn request_payload(&self) -> String {
        match &self.request {
            Some(Request::Notify { payload, .. }) => payload.clone(),
            _ => String::new(),
        }
    }

    /// The process id a cancel request names.
    #[wasm_bindgen(getter, js_name = requestProcessId)]
    pub fn request_process_id(&self) -> i32 {
        match &self.request {
            Some(Request::Cancel { process_id, .. }) => *process_id,
            _ => 0,
        }
    }

    /// The secret key a cancel request quotes.
    #[wasm_bindgen(getter, js_name = requestSecret)]
    pub fn request_secret(&self) -> Vec<u8> {
        match &self.request {
            Some(Request::Cancel { secret, .. }) => secret.clone(),
            _ => Vec::new(),
        }
    }

    /// Why the session ended (an ended request).
    #[wasm_bindgen(getter, js_name = requestReason)]
    pub fn request_reason(&self) -> String {
        match &self.request {
            Some(Request::Ended { reason }) => reason.clone(),
            _ => String::new(),
        }
    }

    fn next_request(&mut self) -> Option<Request> {
        let statements = match &self.work {
            Work::Simple(rest) => rest.len(),
            _ => 0,
        };
        let budget = 2 * (self.input.len() - self.pos) + statements + 64;
        for _ in 0..budget {
            match &mut self.work {
                Work::Waiting(_) => return None,
                Work::Simple(_) => {
                    if let Some(request) = self.next_statement() {
                        return Some(request);
                    }
                    continue;
                }
                Work::Idle => {}
            }
            if self.machine.is_closed() || self.ended.is_some() {
                if self.ended_reported {
                    return None;
                }
                self.ended_reported = true;
                let reason = self
                    .ended
                    .clone()
                    .unwrap_or_else(|| self.machine.close_reason().map_or_else(|| "closed".into(), describe_close));
                self.ended = Some(reason.clone());
                return Some(Request::Ended { reason });
            }
            let input = std::mem::take(&mut self.input);
            let step = self.machine.handle_input(&input[self.pos..]);
            let consumed = step.consumed;
            let had_event = step.event.is_some();
            let result = match step.event {
                Some(event) => self.on_event(event),
                None => Ok(None),
            };
            self.input = input;
            self.pos += consumed;
            if consumed > 0 {
                self.messages += 1;
                self.idle = false;
            }
            match result {
                Ok(Some(request)) => return Some(request),
                Ok(None) => {}
                Err(e) => self.internal_failure(e),
            }
            if !had_event && consumed == 0 && !self.machine.is_closed() {
                return None;
            }
        }
        None
    }

    /// Answers the pending `query` request with a result object (`{ columns,
    /// rows, command, rowCount }`), or `undefined` when no rule matched (the
    /// mock then evaluates constant SELECTs, else applies `unmatched`).
    pub fn answer(&mut self, result: JsValue) -> Result<(), JsError> {
        let pending = self.take_pending()?;
        if std::mem::take(&mut self.cancel_requested) {
            return self.finish(pending, Err(canceled()));
        }
        let outcome = self.resolve(&pending, &result);
        self.finish(pending, outcome)
    }

    /// Fails the pending `query` request with `{ code, message, detail, hint, position, severity }`.
    pub fn fail(&mut self, error: JsValue) -> Result<(), JsError> {
        let pending = self.take_pending()?;
        let spec = if std::mem::take(&mut self.cancel_requested) { canceled() } else { ErrorSpec::from_js(&error) };
        self.finish(pending, Err(spec))
    }

    /// Everything to send to the client now, in a `Uint8Array` of its own
    /// (its buffer holds exactly these bytes); `undefined` when there is
    /// nothing to send.
    #[wasm_bindgen(js_name = takeOutput)]
    pub fn take_output(&mut self) -> Option<Uint8Array> {
        if self.out.is_empty() {
            // The usual case: copied straight from the machine's buffer.
            let pending = self.machine.pending_output();
            if pending.is_empty() {
                return None;
            }
            let n = pending.len();
            let bytes = Uint8Array::from(pending);
            self.machine.consume_output(n);
            return Some(bytes);
        }
        self.drain();
        let bytes = Uint8Array::from(self.out.as_slice());
        if self.out.capacity() > OUTPUT_CAPACITY {
            self.out = Vec::new();
        } else {
            self.out.clear();
        }
        Some(bytes)
    }

    /// A NOTIFY on `channel`: queued if this session listens to it (sent when
    /// it is idle). Returns whether it listens.
    pub fn notify(&mut self, sender: i32, channel: &str, payload: &str) -> bool {
        if !self.listening.iter().any(|c| c == channel) || self.ended.is_some() {
            return false;
        }
        self.notifications.push_back((sender, channel.to_owned(), payload.to_owned()));
        if self.idle {
            self.deliver_notifications();
        }
        true
    }

    /// A CancelRequest quoting `secret` for this session: if it matches and a
    /// query is running, that query fails with 57014. Returns whether it did.
    pub fn cancel(&mut self, secret: &[u8]) -> bool {
        let matches = self.key.secret_for(self.machine.protocol_version()) == secret;
        let running = matches!(self.work, Work::Waiting(_));
        if matches && running {
            self.cancel_requested = true;
        }
        matches && running
    }

    /// Whether a cancel is waiting to be applied to the running query.
    #[wasm_bindgen(getter, js_name = cancelRequested)]
    pub fn cancel_requested(&self) -> bool {
        self.cancel_requested
    }

    /// The backend process id.
    #[wasm_bindgen(getter, js_name = processId)]
    pub fn process_id(&self) -> i32 {
        self.pid
    }

    /// The user named at startup.
    #[wasm_bindgen(getter)]
    pub fn user(&self) -> String {
        self.user.clone()
    }

    /// The database named at startup.
    #[wasm_bindgen(getter)]
    pub fn database(&self) -> String {
        self.database.clone()
    }

    /// `I` (idle), `T` (in a transaction) or `E` (failed transaction).
    #[wasm_bindgen(getter, js_name = transactionStatus)]
    pub fn transaction_status(&self) -> String {
        match self.machine.transaction_status() {
            TransactionStatus::Idle => "I",
            TransactionStatus::InTransaction => "T",
            TransactionStatus::Failed => "E",
        }
        .into()
    }

    /// Channels this session LISTENs to.
    #[wasm_bindgen(getter)]
    pub fn listening(&self) -> Vec<String> {
        self.listening.clone()
    }

    /// Frontend messages read so far.
    #[wasm_bindgen(getter)]
    pub fn messages(&self) -> u32 {
        self.messages
    }

    /// Whether the session has ended.
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.ended.is_some() || self.machine.is_closed()
    }
}

fn describe_close(reason: CloseReason) -> String {
    match reason {
        CloseReason::Finished => "terminated".into(),
        CloseReason::Truncated => "client closed mid-message".into(),
        CloseReason::AuthenticationFailed => "authentication failed".into(),
        CloseReason::Rejected => "rejected".into(),
        CloseReason::CancelRequest => "cancel request".into(),
        CloseReason::ProtocolViolation(_) => "protocol violation".into(),
        _ => "closed".into(),
    }
}

fn canceled() -> ErrorSpec {
    ErrorSpec::new(SqlState::QUERY_CANCELED, "canceling statement due to user request")
}

fn in_failed_transaction() -> ErrorSpec {
    ErrorSpec::new(
        SqlState::IN_FAILED_SQL_TRANSACTION,
        "current transaction is aborted, commands ignored until end of transaction block",
    )
}

impl Session {
    /// Calls the machine, making room in its output buffer once if needed.
    fn call<T>(&mut self, mut f: impl FnMut(&mut Machine) -> Result<T, SessionError>) -> Result<T, SessionError> {
        match f(&mut self.machine) {
            Err(SessionError::OutputFull(_)) => {
                self.drain();
                f(&mut self.machine)
            }
            other => other,
        }
    }

    fn drain(&mut self) {
        let pending = self.machine.pending_output();
        if !pending.is_empty() {
            let n = pending.len();
            self.out.extend_from_slice(pending);
            self.machine.consume_output(n);
        }
    }

    /// A driver bug or a message too large for the output buffer: the session
    /// ends with a FATAL error when one still fits.
    fn internal_failure(&mut self, e: SessionError) {
        let message = format!("postwire mock: {e}");
        let fields = ErrorFields::new(Severity::Fatal, SqlState::INTERNAL_ERROR, &message);
        if self.call(|m| m.error(&fields)).is_err() {
            self.machine.handle_eof(0);
        }
        self.work = Work::Idle;
        self.ended = Some(message);
    }

    fn take_pending(&mut self) -> Result<Pending, JsError> {
        match std::mem::replace(&mut self.work, Work::Idle) {
            Work::Waiting(p) => Ok(p),
            other => {
                self.work = other;
                Err(JsError::new("no query is waiting for an answer"))
            }
        }
    }

    fn on_event(&mut self, event: Event<'_>) -> Result<Option<Request>, SessionError> {
        match event {
            Event::TlsRequested => self.call(|m| m.decline_tls())?,
            Event::DirectTls => {
                self.machine.handle_eof(0);
                self.ended = Some("direct TLS is not supported".into());
            }
            Event::CancelRequest { process_id, secret_key } => {
                self.ended = Some("cancel request".into());
                return Ok(Some(Request::Cancel { process_id, secret: secret_key.to_vec() }));
            }
            Event::Startup { user, database, .. } => {
                self.user = user.to_owned();
                self.database = database.to_owned();
                // A shared borrow through a handle of its own (self.call
                // borrows self mutably). Only Config.setFaults borrows the
                // settings mutably, from JavaScript, which cannot run while
                // this event is handled.
                let shared = Rc::clone(&self.settings);
                let settings = shared.borrow();
                if let Some(spec) = &settings.startup_error {
                    self.call(|m| m.reject(&spec.fields()))?;
                } else if settings.refuse_auth && settings.auth.method(self.websocket, "") == AuthMethod::Trust {
                    let message = format!("pg_hba.conf rejects connection for user \"{user}\"");
                    let spec = ErrorSpec::new(SqlState::INVALID_AUTHORIZATION_SPECIFICATION, message);
                    self.call(|m| m.reject(&spec.fields()))?;
                } else if let (Auth::Md5 | Auth::Scram, None) = (settings.auth, settings.password_for(user)) {
                    // As PostgreSQL: an unknown user fails like a wrong password.
                    let message = format!("password authentication failed for user \"{user}\"");
                    let spec = ErrorSpec::new(SqlState::INVALID_PASSWORD, message);
                    self.call(|m| m.reject(&spec.fields()))?;
                } else {
                    let password = settings.password_for(user).unwrap_or_default();
                    let method = settings.auth.method(self.websocket, password);
                    // Taken out while the machine uses it (self.call borrows self).
                    let mut entropy = core::mem::replace(&mut self.entropy, Entropy::spent());
                    let result = self.call(|m| m.authenticate(method, &mut entropy));
                    self.entropy = entropy;
                    result?;
                }
            }
            Event::PasswordReceived { password } => {
                let settings = self.settings.borrow();
                let ok = !settings.refuse_auth && settings.password_ok(&self.user, password);
                drop(settings);
                self.call(|m| m.password_verified(ok))?;
            }
            Event::Authenticated => {
                let shared = Rc::clone(&self.settings);
                let settings = shared.borrow();
                let extra: Vec<(&str, &str)> =
                    settings.extra_parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let params = ServerParameters {
                    server_version: &settings.server_version,
                    time_zone: &settings.time_zone,
                    date_style: &settings.date_style,
                    interval_style: &settings.interval_style,
                    is_superuser: "on",
                    extra: &extra,
                };
                let key = self.key;
                self.call(|m| m.accept(&params, &key))?;
                self.idle = true;
            }
            Event::Query { sql } => {
                let statements: VecDeque<String> = sql::split_statements(sql).into_iter().map(str::to_owned).collect();
                if statements.is_empty() {
                    self.call(|m| m.empty_query())?;
                    self.ready()?;
                } else {
                    self.work = Work::Simple(statements);
                }
            }
            Event::Parse { .. }
            | Event::Bind { .. }
            | Event::DescribeStatement { .. }
            | Event::DescribePortal { .. }
            | Event::Execute { .. } => return self.on_extended(event),
            Event::Closed { target } => match target {
                ClosedTarget::Statement(s) => {
                    if let Some(slot) = self.statements.get_mut(s.index()) {
                        *slot = None;
                    }
                }
                ClosedTarget::Portal(p) => {
                    if let Some(slot) = self.portals.get_mut(p.index()) {
                        *slot = None;
                    }
                }
            },
            Event::Sync { .. } => self.ready()?,
            Event::FunctionCall { .. } => {
                self.error(&ErrorSpec::new(SqlState::FEATURE_NOT_SUPPORTED, "function calls are not supported"))?;
                self.ready()?;
            }
            Event::CopyData { .. } | Event::CopyDone | Event::Flush => {}
            Event::CopyAborted { .. } => {}
            Event::Ended { reason } => {
                self.ended = Some(describe_close(reason));
            }
            _ => {}
        }
        Ok(None)
    }

    /// The extended query messages, apart from `on_event` so that a session
    /// using only simple queries never has this code compiled (V8 compiles
    /// each wasm function when it is first called).
    #[inline(never)]
    fn on_extended(&mut self, event: Event<'_>) -> Result<Option<Request>, SessionError> {
        match event {
            Event::Parse { statement, query, param_types, .. } => {
                let failed = self.machine.transaction_status() == TransactionStatus::Failed;
                if failed && !Builtin::ends_transaction(query) {
                    self.error(&in_failed_transaction())?;
                } else if sql::split_statements(query).len() > 1 {
                    let spec = ErrorSpec::new(
                        SqlState::SYNTAX_ERROR,
                        "cannot insert multiple commands into a prepared statement",
                    );
                    self.error(&spec)?;
                } else {
                    let types: Vec<Oid> = param_types.iter().collect();
                    let params = sql::parameter_count(query).max(types.len());
                    if let Some(slot) = self.statements.get_mut(statement.index()) {
                        *slot = Some(Prepared { sql: query.to_owned(), types, params });
                    }
                    self.call(|m| m.parse_complete(params))?;
                }
            }
            Event::Bind { portal, statement, bind } => {
                let failed = self.machine.transaction_status() == TransactionStatus::Failed;
                let prepared = self.statements.get(statement.index()).cloned().flatten();
                match prepared {
                    Some(p) if failed && !Builtin::ends_transaction(&p.sql) => self.error(&in_failed_transaction())?,
                    Some(p) => {
                        let bound = Bound {
                            sql: p.sql,
                            params: bind.params.iter().map(|v| v.map(<[u8]>::to_vec)).collect(),
                            param_formats: bind.param_formats.iter().collect(),
                            param_types: p.types,
                            result_formats: bind.result_formats.iter().collect(),
                            result: None,
                            cursor: 0,
                        };
                        if let Some(slot) = self.portals.get_mut(portal.index()) {
                            *slot = Some(bound);
                        }
                        self.call(|m| m.bind_complete())?;
                    }
                    None => self.error(&ErrorSpec::new(SqlState::INTERNAL_ERROR, "statement vanished"))?,
                }
            }
            Event::DescribeStatement { statement } => {
                let Some(p) = self.statements.get(statement.index()).cloned().flatten() else {
                    return self.error(&ErrorSpec::new(SqlState::INTERNAL_ERROR, "statement vanished")).map(|_| None);
                };
                let types: Vec<Oid> =
                    (0..p.params).map(|i| p.types.get(i).copied().filter(|t| *t != 0).unwrap_or(oid::TEXT)).collect();
                self.call(|m| m.parameter_description(&types))?;
                if Builtin::parse(&p.sql).is_some() {
                    self.call(|m| m.no_data())?;
                } else {
                    let nulls = Array::new();
                    for _ in 0..p.params {
                        nulls.push(&JsValue::NULL);
                    }
                    let pending = Pending::DescribeStatement(statement.index());
                    return Ok(Some(self.request(pending, p.sql, Some(nulls), true)));
                }
            }
            Event::DescribePortal { portal } => {
                let index = portal.index();
                let Some(bound) = self.portals.get(index).and_then(Option::as_ref) else {
                    return self.error(&ErrorSpec::new(SqlState::INTERNAL_ERROR, "portal vanished")).map(|_| None);
                };
                if Builtin::parse(&bound.sql).is_some() {
                    self.call(|m| m.no_data())?;
                } else {
                    let (sql, params) = (bound.sql.clone(), bound.param_values().into_iter().collect::<Array>());
                    return Ok(Some(self.request(Pending::DescribePortal(index), sql, Some(params), false)));
                }
            }
            Event::Execute { portal, max_rows } => {
                let index = portal.index();
                let Some(bound) = self.portals.get(index).and_then(Option::as_ref) else {
                    return self.error(&ErrorSpec::new(SqlState::INTERNAL_ERROR, "portal vanished")).map(|_| None);
                };
                if let Some(builtin) = Builtin::parse(&bound.sql) {
                    let sql = bound.sql.clone();
                    return self.builtin(builtin, &sql);
                }
                if bound.result.is_some() {
                    self.send_portal(index, max_rows)?;
                } else {
                    let (sql, params) = (bound.sql.clone(), bound.param_values().into_iter().collect::<Array>());
                    let pending = Pending::Execute { portal: index, max_rows };
                    return Ok(Some(self.request(pending, sql, Some(params), false)));
                }
            }
            _ => {}
        }
        Ok(None)
    }

    /// A `query` request to JavaScript.
    fn request(&mut self, pending: Pending, sql: String, params: Option<Array>, describe: bool) -> Request {
        self.work = Work::Waiting(pending);
        Request::Query { sql, params, describe }
    }

    fn error(&mut self, spec: &ErrorSpec) -> Result<(), SessionError> {
        let fields = spec.fields();
        self.call(|m| m.error(&fields))
    }

    /// ReadyForQuery; idle notifications follow when no transaction is open.
    fn ready(&mut self) -> Result<(), SessionError> {
        self.call(|m| m.ready_for_query())?;
        self.work = Work::Idle;
        self.idle = true;
        self.deliver_notifications();
        Ok(())
    }

    fn deliver_notifications(&mut self) {
        if self.machine.transaction_status() != TransactionStatus::Idle {
            return;
        }
        while let Some((sender, channel, payload)) = self.notifications.pop_front() {
            if self.call(|m| m.notification(sender, &channel, &payload)).is_err() {
                break;
            }
        }
    }

    /// The next statement of a simple Query: run a built-in, or ask JavaScript.
    fn next_statement(&mut self) -> Option<Request> {
        let Work::Simple(rest) = &mut self.work else { return None };
        let Some(statement) = rest.pop_front() else {
            if let Err(e) = self.ready() {
                self.internal_failure(e);
            }
            return None;
        };
        let rest = std::mem::take(rest);
        if self.machine.transaction_status() == TransactionStatus::Failed && !Builtin::ends_transaction(&statement) {
            if let Err(e) = self.error(&in_failed_transaction()).and_then(|_| self.ready()) {
                self.internal_failure(e);
            }
            return None;
        }
        if let Some(builtin) = Builtin::parse(&statement) {
            self.work = Work::Simple(rest);
            return match self.builtin(builtin, &statement) {
                Ok(request) => request,
                Err(e) => {
                    self.internal_failure(e);
                    None
                }
            };
        }
        let sql = statement.clone();
        Some(self.request(Pending::Simple { statement, rest }, sql, None, false))
    }

    /// Runs a built-in statement: transaction control, LISTEN, UNLISTEN, NOTIFY.
    fn builtin(&mut self, builtin: Builtin, statement: &str) -> Result<Option<Request>, SessionError> {
        let status = self.machine.transaction_status();
        let mut event = Request::Log { sql: statement.to_owned() };
        let tag = match &builtin {
            Builtin::Begin => {
                if status != TransactionStatus::Idle {
                    self.warning("there is already a transaction in progress")?;
                }
                self.call(|m| m.set_transaction_status(TransactionStatus::InTransaction))?;
                "BEGIN"
            }
            Builtin::Commit | Builtin::Rollback => {
                if status == TransactionStatus::Idle {
                    self.warning("there is no transaction in progress")?;
                }
                self.call(|m| m.set_transaction_status(TransactionStatus::Idle))?;
                if builtin == Builtin::Commit && status != TransactionStatus::Failed { "COMMIT" } else { "ROLLBACK" }
            }
            Builtin::Listen(channel) => {
                if !self.listening.contains(channel) {
                    self.listening.push(channel.clone());
                }
                "LISTEN"
            }
            Builtin::Unlisten(channel) => {
                match channel {
                    Some(c) => self.listening.retain(|l| l != c),
                    None => self.listening.clear(),
                }
                "UNLISTEN"
            }
            Builtin::Notify { channel, payload } => {
                event =
                    Request::Notify { sql: statement.to_owned(), channel: channel.clone(), payload: payload.clone() };
                "NOTIFY"
            }
        };
        self.call(|m| m.command_complete(tag))?;
        Ok(Some(event))
    }

    fn warning(&mut self, message: &str) -> Result<(), SessionError> {
        let fields = ErrorFields::new(Severity::Warning, SqlState::ACTIVE_SQL_TRANSACTION, message);
        self.call(|m| m.notice(&fields))
    }

    /// A handler's answer (or the fallbacks) for a pending request.
    fn resolve(&mut self, pending: &Pending, result: &JsValue) -> Result<ResultSet, ErrorSpec> {
        let (sql, codes, params): (String, Vec<Format>, Vec<JsValue>) = match pending {
            Pending::Simple { statement, .. } => (statement.clone(), Vec::new(), Vec::new()),
            Pending::DescribePortal(p) | Pending::Execute { portal: p, .. } => {
                match self.portals.get(*p).and_then(Option::as_ref) {
                    Some(b) => (b.sql.clone(), b.result_formats.clone(), b.param_values()),
                    None => return Err(ErrorSpec::new(SqlState::INTERNAL_ERROR, "portal vanished")),
                }
            }
            Pending::DescribeStatement(s) => match self.statements.get(*s).and_then(Option::as_ref) {
                Some(p) => (p.sql.clone(), Vec::new(), vec![JsValue::NULL; p.params]),
                None => return Err(ErrorSpec::new(SqlState::INTERNAL_ERROR, "statement vanished")),
            },
        };
        if !(result.is_undefined() || result.is_null()) {
            return ResultSet::from_js(result, &sql, &codes).map_err(|e| match e {
                ResultError::Value(v) => ErrorSpec::new(SqlState::INVALID_TEXT_REPRESENTATION, v.0),
                ResultError::Shape(s) => ErrorSpec::new(SqlState::INTERNAL_ERROR, format!("postwire mock: {s}")),
            });
        }
        if let Some(columns) = sql::constant_select(&sql) {
            return constant_result(&columns, &params, &codes, &sql);
        }
        if matches!(pending, Pending::DescribeStatement(_)) {
            return Ok(ResultSet::default());
        }
        match self.settings.borrow().unmatched {
            Unmatched::Empty => Ok(ResultSet::command(sql::command_tag(&sql, 0))),
            Unmatched::Error => Err(ErrorSpec {
                hint: Some("add a rule with server.when(...) or a server.onQuery(...) handler".into()),
                ..ErrorSpec::new(SqlState::FEATURE_NOT_SUPPORTED, format!("postwire mock: no rule for query: {sql}"))
            }),
        }
    }

    /// Sends a resolved request's reply and carries on.
    fn finish(&mut self, pending: Pending, outcome: Result<ResultSet, ErrorSpec>) -> Result<(), JsError> {
        let sent = match (pending, outcome) {
            (Pending::Simple { rest, .. }, Ok(set)) => self.send_simple(&set).map(|_| self.work = Work::Simple(rest)),
            (Pending::Simple { .. }, Err(spec)) => self.error(&spec).and_then(|_| self.ready()),
            (Pending::DescribePortal(p), Ok(set)) => {
                let described = match &set.columns {
                    Some(columns) => {
                        let fields: Vec<_> = columns.iter().map(Column::describe).collect();
                        self.call(|m| m.row_description(&fields))
                    }
                    None => self.call(|m| m.no_data()),
                };
                if let Some(Some(bound)) = self.portals.get_mut(p) {
                    bound.result = Some(set);
                }
                described
            }
            (Pending::Execute { portal, max_rows }, Ok(set)) => {
                if let Some(Some(bound)) = self.portals.get_mut(portal) {
                    bound.result = Some(set);
                }
                self.send_portal(portal, max_rows)
            }
            (Pending::DescribeStatement(_), Ok(set)) => match &set.columns {
                Some(columns) => {
                    let fields: Vec<_> =
                        columns.iter().map(|c| Column { format: Format::Text, ..c.clone() }).collect::<Vec<_>>();
                    let described: Vec<_> = fields.iter().map(Column::describe).collect();
                    self.call(|m| m.row_description(&described))
                }
                None => self.call(|m| m.no_data()),
            },
            (_, Err(spec)) => self.error(&spec),
        };
        if let Err(e) = sent {
            self.internal_failure(e);
        }
        Ok(())
    }

    fn send_simple(&mut self, set: &ResultSet) -> Result<(), SessionError> {
        if let Some(columns) = &set.columns {
            let fields: Vec<_> = columns.iter().map(Column::describe).collect();
            self.call(|m| m.row_description(&fields))?;
            self.send_rows(set, 0, set.rows)?;
        }
        self.call(|m| m.command_complete(&set.tag))
    }

    fn send_rows(&mut self, set: &ResultSet, from: usize, to: usize) -> Result<(), SessionError> {
        for i in from..to {
            self.call(|m| {
                m.data_row_with(|row| {
                    for cell in set.row(i) {
                        row.cell(cell)?;
                    }
                    Ok(())
                })
            })?;
        }
        Ok(())
    }

    /// Sends a portal's rows from its cursor, up to `max_rows` (0: all).
    fn send_portal(&mut self, portal: usize, max_rows: i32) -> Result<(), SessionError> {
        let Some(Some(bound)) = self.portals.get_mut(portal) else { return Err(SessionError::OutOfOrder) };
        let Some(set) = bound.result.take() else { return Err(SessionError::OutOfOrder) };
        let from = bound.cursor.min(set.rows);
        let to = if max_rows > 0 { (from + max_rows as usize).min(set.rows) } else { set.rows };
        let result = (|| {
            if set.columns.is_some() {
                self.send_rows(&set, from, to)?;
            }
            // As PostgreSQL: reaching the row limit suspends the portal even
            // when no row is left, and a SELECT's tag counts this Execute's rows.
            if max_rows > 0 && to - from == max_rows as usize {
                self.call(|m| m.portal_suspended())
            } else if from > 0 && set.tag.starts_with("SELECT") {
                self.call(|m| m.command_complete(&sql::counted_tag("SELECT", to - from)))
            } else {
                self.call(|m| m.command_complete(&set.tag))
            }
        })();
        if let Some(Some(bound)) = self.portals.get_mut(portal) {
            bound.cursor = to;
            bound.result = Some(set);
        }
        result
    }
}

/// The result of a constant SELECT, parameters substituted. Not inlined:
/// queries a rule answers never compile it.
#[inline(never)]
fn constant_result(
    columns: &[sql::ConstantColumn],
    params: &[JsValue],
    codes: &[Format],
    sql: &str,
) -> Result<ResultSet, ErrorSpec> {
    let mut described = Vec::with_capacity(columns.len());
    let mut row = Vec::with_capacity(columns.len());
    for (i, c) in columns.iter().enumerate() {
        let (value, inferred) = match &c.value {
            Constant::Null => (JsValue::NULL, Type::TEXT),
            Constant::Bool(b) => (JsValue::from_bool(*b), Type::scalar(values::Scalar::Bool)),
            Constant::Int(n) => match i32::try_from(*n) {
                Ok(v) => (JsValue::from_f64(f64::from(v)), Type::scalar(values::Scalar::Int4)),
                Err(_) => (JsValue::from_str(&n.to_string()), Type::scalar(values::Scalar::Int8)),
            },
            Constant::Decimal(d) => (JsValue::from_str(d), Type::scalar(values::Scalar::Numeric)),
            Constant::Text(t) => (JsValue::from_str(t), Type::TEXT),
            Constant::Param(n) => (params.get(n - 1).cloned().unwrap_or(JsValue::NULL), Type::TEXT),
        };
        let ty = match &c.cast {
            Some(cast) => Type::from_name(cast)
                .ok_or_else(|| ErrorSpec::new(SqlState::UNDEFINED_OBJECT, format!("type \"{cast}\" does not exist")))?,
            None if matches!(c.value, Constant::Param(_)) => values::infer(std::iter::once(value.clone())),
            None => inferred,
        };
        let format = crate::result::column_format(codes, i, columns.len())
            .map_err(|_| ErrorSpec::new(SqlState::PROTOCOL_VIOLATION, "bad result format count"))?;
        described.push(Column { name: c.name.clone(), ty, format });
        if value.is_null() || value.is_undefined() {
            row.push(None);
        } else {
            let mut cell = Vec::new();
            values::encode(&value, ty, format, &mut cell)
                .map_err(|e| ErrorSpec::new(SqlState::INVALID_TEXT_REPRESENTATION, e.0))?;
            row.push(Some(cell));
        }
    }
    Ok(ResultSet::from_parts(Some(described), vec![row], sql::command_tag(sql, 1)))
}

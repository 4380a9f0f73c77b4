//! Server-wide settings, read once from the JavaScript options object.

use js_sys::{Object, Reflect};
use postwire_codec::SqlState;
use postwire_codec::auth::StoredPassword;
use postwire_codec::backend::{ErrorFields, Severity};
use postwire_codec::session::backend::AuthMethod;
use wasm_bindgen::JsValue;

/// How clients authenticate. Cleartext passwords are checked here; MD5 and
/// SCRAM exchanges are run and checked by the codec's backend machine
/// against the configured password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// Anyone is let in (WebSocket sessions are still asked for a password,
    /// like Neon's proxy, and any password is accepted).
    Trust,
    /// A cleartext password, checked against the configured ones.
    Password,
    /// MD5 challenge-response.
    Md5,
    /// SCRAM-SHA-256.
    Scram,
}

impl Auth {
    fn parse(name: &str) -> Result<Auth, String> {
        match name {
            "trust" => Ok(Auth::Trust),
            "password" | "cleartext" => Ok(Auth::Password),
            "md5" => Ok(Auth::Md5),
            "scram" | "scram-sha-256" => Ok(Auth::Scram),
            other => Err(format!("unknown auth \"{other}\": expected \"trust\", \"password\", \"md5\" or \"scram\"")),
        }
    }

    /// The name users write in the options.
    fn name(self) -> &'static str {
        match self {
            Auth::Trust => "trust",
            Auth::Password => "password",
            Auth::Md5 => "md5",
            Auth::Scram => "scram",
        }
    }

    /// The machine's method for a session (`websocket`: ask for a password even
    /// under trust, as Neon's proxy does and its pipelined connect expects).
    /// `password` is the user's configured password (MD5 and SCRAM).
    pub(crate) fn method(self, websocket: bool, password: &str) -> AuthMethod<'_> {
        match self {
            Auth::Trust if !websocket => AuthMethod::Trust,
            Auth::Trust | Auth::Password => AuthMethod::Cleartext,
            Auth::Md5 => AuthMethod::Md5 { password: StoredPassword::Plaintext(password.as_bytes()) },
            Auth::Scram => AuthMethod::ScramSha256 { password: StoredPassword::Plaintext(password.as_bytes()) },
        }
    }
}

/// What an unmatched query gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unmatched {
    /// An ERROR (0A000) naming the query.
    Error,
    /// An empty result: the command tag and no rows.
    Empty,
}

/// An error as the user wrote it: `{ code, message, detail, hint, severity }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorSpec {
    pub(crate) severity: Severity,
    pub(crate) code: SqlState,
    pub(crate) message: String,
    pub(crate) detail: Option<String>,
    pub(crate) hint: Option<String>,
    pub(crate) position: Option<String>,
}

impl ErrorSpec {
    pub(crate) fn new(code: SqlState, message: impl Into<String>) -> Self {
        ErrorSpec { severity: Severity::Error, code, message: message.into(), detail: None, hint: None, position: None }
    }

    /// From a JS object (or an `Error`); unknown or malformed codes become XX000.
    pub(crate) fn from_js(v: &JsValue) -> Self {
        let text = |key: &str| get(v, key).as_string();
        let code = text("code").and_then(|c| SqlState::from_code(&c)).unwrap_or(SqlState::INTERNAL_ERROR);
        let severity = match text("severity").as_deref() {
            Some("FATAL") => Severity::Fatal,
            _ => Severity::Error,
        };
        let position = get(v, "position").as_f64().map(|p| format!("{}", p as u32)).or_else(|| text("position"));
        ErrorSpec {
            severity,
            code,
            message: text("message").or_else(|| v.as_string()).unwrap_or_else(|| "error".into()),
            detail: text("detail"),
            hint: text("hint"),
            position,
        }
    }

    pub(crate) fn fields(&self) -> ErrorFields<'_> {
        ErrorFields {
            detail: self.detail.as_deref(),
            hint: self.hint.as_deref(),
            position: self.position.as_deref(),
            ..ErrorFields::new(self.severity, self.code, &self.message)
        }
    }
}

/// The server's settings; sessions read them at startup.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) auth: Auth,
    /// `users: { name: password }`: who may log in with a password.
    pub(crate) users: Vec<(String, String)>,
    /// `password`: the password of any user.
    pub(crate) password: Option<String>,
    pub(crate) server_version: String,
    pub(crate) time_zone: String,
    pub(crate) date_style: String,
    pub(crate) interval_style: String,
    pub(crate) extra_parameters: Vec<(String, String)>,
    pub(crate) unmatched: Unmatched,
    pub(crate) max_message_size: usize,
    /// Fault: FATAL at startup (53300 too many connections…).
    pub(crate) startup_error: Option<ErrorSpec>,
    /// Fault: authentication always fails.
    pub(crate) refuse_auth: bool,
}

pub(crate) fn get(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn present(v: &JsValue) -> bool {
    !(v.is_undefined() || v.is_null())
}

/// The own enumerable `[key, value]` string pairs of an object.
fn string_pairs(v: &JsValue, what: &str) -> Result<Vec<(String, String)>, String> {
    if !present(v) {
        return Ok(Vec::new());
    }
    if !v.is_object() {
        return Err(format!("`{what}` must be an object"));
    }
    let mut out = Vec::new();
    for entry in Object::entries(&Object::from(v.clone())).iter() {
        let pair = js_sys::Array::from(&entry);
        let key = pair.get(0).as_string().unwrap_or_default();
        let value = pair.get(1).as_string().ok_or_else(|| format!("`{what}.{key}` must be a string"))?;
        out.push((key, value));
    }
    Ok(out)
}

impl Settings {
    pub(crate) fn from_js(options: &JsValue) -> Result<Settings, String> {
        let auth = match get(options, "auth").as_string() {
            Some(name) => Auth::parse(&name)?,
            None if present(&get(options, "auth")) => return Err("`auth` must be a string".into()),
            None => Auth::Trust,
        };
        let users = string_pairs(&get(options, "users"), "users")?;
        let password = get(options, "password").as_string();
        if auth != Auth::Trust && users.is_empty() && password.is_none() {
            return Err(format!("auth \"{}\" needs `password` or `users`", auth.name()));
        }
        let mut settings = Settings {
            auth,
            users,
            password,
            server_version: "17.0".into(),
            time_zone: "UTC".into(),
            date_style: "ISO, MDY".into(),
            interval_style: "postgres".into(),
            extra_parameters: Vec::new(),
            unmatched: match get(options, "unmatched").as_string().as_deref() {
                None | Some("error") => Unmatched::Error,
                Some("empty") => Unmatched::Empty,
                Some(other) => return Err(format!("unknown `unmatched` \"{other}\": expected \"error\" or \"empty\"")),
            },
            max_message_size: 64 << 20,
            startup_error: None,
            refuse_auth: false,
        };
        for (name, value) in string_pairs(&get(options, "parameters"), "parameters")? {
            match name.as_str() {
                "server_version" => settings.server_version = value,
                "TimeZone" => settings.time_zone = value,
                "DateStyle" => settings.date_style = value,
                "IntervalStyle" => settings.interval_style = value,
                _ => settings.extra_parameters.push((name, value)),
            }
        }
        if let Some(n) = get(options, "maxMessageSize").as_f64() {
            if !(n >= 64.0 && n <= f64::from(1u32 << 30)) {
                return Err("`maxMessageSize` must be between 64 and 2^30".into());
            }
            settings.max_message_size = n as usize;
        }
        settings.set_faults(&get(options, "faults"));
        Ok(settings)
    }

    /// Reads the faults the server itself applies (the transport's are the JS side's).
    pub(crate) fn set_faults(&mut self, faults: &JsValue) {
        self.refuse_auth = get(faults, "refuseAuth").as_bool().unwrap_or(false);
        let startup = get(faults, "startupError");
        self.startup_error =
            present(&startup).then(|| ErrorSpec { severity: Severity::Fatal, ..ErrorSpec::from_js(&startup) });
    }

    /// Whether `password` lets `user` in.
    pub(crate) fn password_ok(&self, user: &str, password: &[u8]) -> bool {
        match self.auth {
            Auth::Trust => true,
            // MD5 and SCRAM never reach here: the machine checks them.
            Auth::Password | Auth::Md5 | Auth::Scram => {
                self.password_for(user).is_some_and(|p| p.as_bytes() == password)
            }
        }
    }

    /// The configured password of `user` (or the server-wide one).
    pub(crate) fn password_for(&self, user: &str) -> Option<&str> {
        self.users.iter().find(|(u, _)| u == user).map(|(_, p)| p.as_str()).or(self.password.as_deref())
    }
}

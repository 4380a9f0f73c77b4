//! # postwire-wasm
//!
//! A mock PostgreSQL server in WebAssembly, for tests in browsers and Node:
//! real drivers (`@neondatabase/serverless` over a fake `WebSocket`, `pg` over
//! a stream) talk the real wire protocol to it, and rules written in
//! JavaScript choose the results.
//!
//! The protocol lives in the codec's backend machine
//! ([`postwire_codec::session::backend::Backend`]); this crate is its driver
//! ([`Session`]: bytes in, requests out, answers in, bytes out) plus the mock
//! database: SQL statement splitting, transaction status, LISTEN/NOTIFY,
//! cancel keys, constant SELECTs, and JS values to PostgreSQL values and back.
//! The JavaScript package (`js/index.js`) adds the transports, rules, logs
//! and faults; it has no protocol logic.
//!
//! Call order for one connection, from JavaScript:
//! 1. `session.push(bytes)` for every chunk from the client;
//! 2. `session.step()` until it returns `null`; answer each `query` request
//!    with `session.answer(result)` or `session.fail(error)` (later is fine:
//!    `step` returns `null` until then);
//! 3. send `session.takeOutput()` to the client; on an `ended` request, close.

mod config;
mod entropy;
mod result;
mod session;
mod sql;
mod values;

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

pub use session::Session;

/// The settings a server's sessions share (auth, users, parameters, faults).
#[wasm_bindgen]
pub struct Config {
    settings: Rc<RefCell<config::Settings>>,
}

#[wasm_bindgen]
impl Config {
    /// Reads the `MockServer` options; throws on bad ones (including the
    /// auth methods not supported yet).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<Config, JsError> {
        let settings = config::Settings::from_js(&options).map_err(|e| JsError::new(&e))?;
        Ok(Config { settings: Rc::new(RefCell::new(settings)) })
    }

    /// Replaces the server-side faults (`refuseAuth`, `startupError`) for new sessions.
    #[wasm_bindgen(js_name = setFaults)]
    pub fn set_faults(&self, faults: JsValue) {
        self.settings.borrow_mut().set_faults(&faults);
    }

    pub(crate) fn settings(&self) -> Rc<RefCell<config::Settings>> {
        self.settings.clone()
    }
}

// postwire-wasm: a mock PostgreSQL server in WebAssembly.
//
// The wire protocol runs in Rust (the codec's backend machine, driven by the
// wasm `Session`). This file holds the transports (a browser-style WebSocket
// class, a raw duplex, a stream for `pg`), the rules, the query log and the
// transport faults. It makes no protocol decisions: it moves bytes, and
// answers the session's `query` requests with the results the rules pick.

import init, { Config, Session } from './postwire_wasm.js';

function fromBase64(b64) {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(b64);
  if (typeof Buffer === 'function') {
    const b = Buffer.from(b64, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * The module: in a browser, `postwire_wasm_bg.wasm` next to this file is
 * fetched and compiled while it downloads (compileStreaming takes the fetch
 * itself, so compiling starts with the response headers); where it is not
 * there (a bundle that did not copy it, or a server that does not send it as
 * `application/wasm`) or not fetchable (file: URLs), the copy inlined as
 * base64 is used. In Node the file is read when it is there (through
 * `process.getBuiltinModule`, invisible to bundlers), which skips parsing
 * and decoding the base64. Started before the rest of this module is
 * evaluated; called at once in parentheses, so that V8 compiles it with the
 * chunk's (streaming, off the main thread) parse instead of on the main
 * thread just before the fetch.
 */
const compiling = (async function wasmModule() {
  const fs = import.meta.url.startsWith('file:') ? globalThis.process?.getBuiltinModule?.('node:fs') : undefined;
  if (fs) {
    try {
      return fs.readFileSync(new URL('./postwire_wasm_bg.wasm', import.meta.url));
    } catch {
      // fall back to the inlined copy
    }
  }
  const browser = typeof window === 'object' || typeof importScripts === 'function';
  if (browser && typeof fetch === 'function' && typeof WebAssembly.compileStreaming === 'function') {
    try {
      const url = new URL('./postwire_wasm_bg.wasm', import.meta.url);
      if (url.protocol === 'http:' || url.protocol === 'https:') return await WebAssembly.compileStreaming(fetch(url));
    } catch {
      // fall back to the inlined copy
    }
  }
  const { wasmBase64 } = await import('./postwire_wasm_inline.js');
  return fromBase64(wasmBase64);
})();

/** An error from the mock server's JavaScript API (misuse, closed connection). */
export class PostwireError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'PostwireError';
    this.code = code;
  }
}

const textEncoder = new TextEncoder();

/**
 * A byte view of what a client may send (Uint8Array, other views,
 * ArrayBuffer, string), without copying: the session copies it into wasm
 * memory at once.
 */
function bytesOf(data) {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (typeof data === 'string') return textEncoder.encode(data);
  throw new TypeError('expected a Uint8Array, an ArrayBuffer, a typed array view or a string');
}

/** A seeded PRNG (mulberry32), for reproducible frame splits. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function normalizeSql(sql) {
  return sql.trim().replace(/\s+/g, ' ').replace(/;$/, '').trim();
}

/** Whether `matcher` (string, RegExp or predicate) matches a query. */
function matches(matcher, sql, params) {
  if (typeof matcher === 'string') return normalizeSql(matcher) === normalizeSql(sql);
  if (matcher instanceof RegExp) {
    matcher.lastIndex = 0;
    return matcher.test(sql);
  }
  if (typeof matcher === 'function') return Boolean(matcher(sql, params));
  return false;
}

/** A thrown value as the `{ code, message, ... }` object a session fails with. */
function errorObject(e) {
  if (e && typeof e === 'object') {
    const code = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : 'XX000';
    return {
      code,
      message: String(e.message ?? e),
      detail: e.detail,
      hint: e.hint,
      position: e.position,
      severity: e.severity,
    };
  }
  return { code: 'XX000', message: String(e) };
}

/** A rule made by `server.when(matcher)`: what to do with the queries it matches. */
export class Rule {
  #matcher;
  constructor(matcher) {
    if (!(typeof matcher === 'string' || matcher instanceof RegExp || typeof matcher === 'function')) {
      throw new TypeError('when() takes a SQL string, a RegExp or a predicate (sql, params) => boolean');
    }
    this.#matcher = matcher;
    this.action = { kind: 'reply', value: undefined };
    this.remaining = Infinity;
    this.delayMs = 0;
    this.hits = 0;
  }
  /** @internal */
  test(sql, params) {
    return this.remaining > 0 && matches(this.#matcher, sql, params);
  }
  /** Answer with `{ columns, rows, command, rowCount }`, or a function (sql, params, session) returning one. */
  reply(result) {
    this.action = { kind: 'reply', value: result };
    return this;
  }
  /** Fail with `{ code, message, detail, hint, position }`. */
  fail(error) {
    this.action = { kind: 'fail', value: typeof error === 'string' ? { message: error } : error ?? {} };
    return this;
  }
  /** Drop the connection instead of answering. */
  drop() {
    this.action = { kind: 'drop' };
    return this;
  }
  /** Answer after `ms` milliseconds (a CancelRequest cuts it short with 57014). */
  delay(ms) {
    this.delayMs = Math.max(0, Number(ms) || 0);
    return this;
  }
  /** Match only the next query. */
  once() {
    return this.times(1);
  }
  /** Match only the next `n` queries. */
  times(n) {
    this.remaining = Math.max(0, Math.floor(n));
    return this;
  }
}

/** Request codes from `Session.step()` (0: nothing to do). */
const QUERY = 1;
const LOG = 2;
const NOTIFY = 3;
const CANCEL = 4;
const ENDED = 5;

/**
 * One connection: the wasm session and its transport.
 *
 * Input is copied into the session when the client sends it and processed
 * in a microtask. Output goes out through `outbox`, delivered in a microtask
 * (after `latency` ms through a promise chain when that fault is set), so
 * events stay asynchronous and in order without a timer per message.
 */
class Link {
  constructor(server, websocket, transport) {
    this.server = server;
    this.transport = transport;
    this.websocket = websocket;
    this.processId = server._nextProcessId();
    // 32 bytes of cancel key, 32 of entropy for MD5/SCRAM salts and nonces.
    const random = globalThis.crypto.getRandomValues(new Uint8Array(64));
    this.session = new Session(server._config, this.processId, random.subarray(0, 32), random.subarray(32), websocket);
    this.busy = false;
    this.closed = false;
    this.scheduled = false;
    this.outbox = [];
    this.delayed = 0;
    this.tail = Promise.resolve();
    this.rng = prng(server._faults.splitFrames?.seed ?? 1);
    this.wakeCancel = null;
    this.runPump = () => {
      this.scheduled = false;
      this.pump();
    };
    this.drainOutbox = () => {
      const items = this.outbox;
      this.outbox = [];
      for (const item of items) this.deliver(item);
    };
  }

  /** Bytes from the client: buffered now, processed in a microtask. */
  receive(bytes) {
    if (this.closed) return;
    this.session.push(bytes);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.runPump);
    }
  }

  /** The client closed its side. */
  eof() {
    if (this.closed) return;
    this.session.eof();
    this.pump();
    this.finish(true);
  }

  info() {
    const s = this.session;
    return {
      processId: this.processId,
      user: s.user,
      database: s.database,
      transactionStatus: s.transactionStatus,
      listening: s.listening,
      messages: s.messages,
      transport: this.websocket ? 'websocket' : 'stream',
    };
  }

  pump() {
    if (this.busy || this.closed) return;
    const faults = this.server._faults;
    const dropAfter = faults.dropAfterMessages;
    const s = this.session;
    // Each request consumes input or a statement: bounded by what is buffered.
    for (let i = 0; i < 1_000_000; i++) {
      const request = s.step();
      if (dropAfter !== undefined && s.messages >= dropAfter) {
        this.abort('dropAfterMessages');
        return;
      }
      if (request === 0) break;
      switch (request) {
        case QUERY: {
          const params = s.requestParams;
          const query = { sql: s.requestSql, params: params === undefined ? [] : params, describe: s.requestDescribe };
          let outcome;
          this.busy = true;
          try {
            outcome = this.server._resolve(query, this);
          } catch (e) {
            outcome = { error: e };
          }
          if (outcome instanceof Promise) {
            // Answered later (a delay, an async handler): send what is ready.
            this.flush();
            outcome.then(
              (o) => this.complete(o),
              (e) => this.complete({ error: e }),
            );
            return;
          }
          this.busy = false;
          if (this.closed || !this.apply(outcome)) return;
          break;
        }
        case LOG:
          this.server._log(s.requestSql, [], this, true);
          break;
        case NOTIFY:
          this.server._log(s.requestSql, [], this, true);
          this.server.notify(s.requestChannel, s.requestPayload, this.processId);
          break;
        case CANCEL:
          this.server._cancel(s.requestProcessId, s.requestSecret);
          break;
        case ENDED:
          this.flush();
          this.finish(true);
          return;
      }
    }
    this.flush();
  }

  /** An answer that came later: apply it and carry on. */
  complete(outcome) {
    if (this.closed) return;
    this.wakeCancel = null;
    this.busy = false;
    if (this.apply(outcome)) this.pump();
  }

  /** Gives the session an outcome; false when it dropped the connection. */
  apply(outcome) {
    if (outcome.drop) {
      this.abort('dropped on query');
      return false;
    }
    try {
      if (outcome.error !== undefined) this.session.fail(errorObject(outcome.error));
      else this.session.answer(outcome.result);
    } catch (e) {
      this.session.fail(errorObject(e));
    }
    return true;
  }

  /** Resolves when a CancelRequest hits the running query. */
  cancelled() {
    return new Promise((resolve) => {
      this.wakeCancel = resolve;
    });
  }

  /** Sends pending output, split and delayed as the faults say. */
  flush() {
    const out = this.session.takeOutput();
    if (out === undefined) return;
    const faults = this.server._faults;
    const split = faults.splitFrames;
    if (!split) {
      this.enqueue(out, faults.latency);
      return;
    }
    const max = Math.max(1, split.max ?? 16);
    for (let at = 0; at < out.length; ) {
      const n = 1 + Math.floor(this.rng() * max);
      this.enqueue(out.subarray(at, at + n), faults.latency);
      at += n;
    }
  }

  /** Queues bytes (or a close action) for the transport, in order. */
  enqueue(item, latency) {
    if (latency > 0 || this.delayed > 0) {
      // Behind a latency fault (or after output still waiting for one).
      this.delayed++;
      this.tail = this.tail.then(async () => {
        if (latency > 0) await sleep(latency);
        this.delayed--;
        this.deliver(item);
      });
      return;
    }
    this.outbox.push(item);
    if (this.outbox.length === 1) queueMicrotask(this.drainOutbox);
  }

  deliver(item) {
    if (typeof item === 'function') item();
    else this.transport.deliver(item);
  }

  /** Ends the connection cleanly once pending output is out. */
  finish(clean) {
    if (this.closed) return;
    this.closed = true;
    this.server._forget(this);
    this.enqueue(() => this.transport.close(clean, 'closed by server'), 0);
  }

  /** Drops the connection at once (a fault): no more output. */
  abort(reason) {
    if (this.closed) return;
    this.closed = true;
    this.session.eof();
    this.server._forget(this);
    this.tail = Promise.resolve().then(() => this.transport.close(false, reason));
  }
}

/** A raw duplex connection from `server.connect()`. */
export class Connection {
  #link;
  #listeners = { data: [], close: [], error: [] };
  #closed = false;
  constructor(server) {
    this.#link = server._open(false, {
      deliver: (bytes) => this.#emit('data', bytes),
      close: (clean, reason) => this.#end(clean, reason),
    });
    this.closed = new Promise((resolve) => this.#listeners.close.push(resolve));
  }
  /** The server process id of this session. */
  get processId() {
    return this.#link.processId;
  }
  /** Sends bytes to the server. Throws a PostwireError (ERR_CLOSED) after close. */
  write(data) {
    if (this.#closed) throw new PostwireError('ERR_CLOSED', 'write after the connection closed');
    this.#link.receive(bytesOf(data));
  }
  /** Listens to `data` (Uint8Array), `close` ({ clean, reason }) or `error`. */
  on(event, listener) {
    if (!this.#listeners[event]) throw new TypeError(`unknown event ${event}`);
    this.#listeners[event].push(listener);
    return this;
  }
  /** Same as on('data', listener). */
  onData(listener) {
    return this.on('data', listener);
  }
  /** Closes the client side; the server ends the session. */
  close() {
    if (this.#closed) return;
    queueMicrotask(() => this.#link.eof());
    this.#end(true, 'closed by client');
  }
  #emit(event, value) {
    for (const l of [...this.#listeners[event]]) l(value);
  }
  #end(clean, reason) {
    if (this.#closed) return;
    this.#closed = true;
    if (!clean) this.#emit('error', new PostwireError('ERR_DROPPED', `connection dropped: ${reason}`));
    this.#emit('close', { clean, reason });
  }
}

/** A minimal event emitter for the `pg` stream adapter. */
class Emitter {
  #events = new Map();
  on(event, fn) {
    if (!this.#events.has(event)) this.#events.set(event, []);
    this.#events.get(event).push(fn);
    return this;
  }
  addListener(event, fn) {
    return this.on(event, fn);
  }
  once(event, fn) {
    const wrapper = (...args) => {
      this.off(event, wrapper);
      fn.apply(this, args);
    };
    wrapper.listener = fn;
    return this.on(event, wrapper);
  }
  off(event, fn) {
    const list = this.#events.get(event);
    if (list) {
      const i = list.findIndex((l) => l === fn || l.listener === fn);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }
  removeListener(event, fn) {
    return this.off(event, fn);
  }
  removeAllListeners(event) {
    if (event === undefined) this.#events.clear();
    else this.#events.delete(event);
    return this;
  }
  listenerCount(event) {
    return this.#events.get(event)?.length ?? 0;
  }
  emit(event, ...args) {
    const list = this.#events.get(event);
    if (!list || list.length === 0) {
      if (event === 'error') throw args[0];
      return false;
    }
    for (const l of [...list]) l.apply(this, args);
    return true;
  }
}

/** The socket-like stream `pg` wants: `new pg.Client({ stream: () => server.pgStream() })`. */
class PgStream extends Emitter {
  #conn;
  constructor(server) {
    super();
    this.writable = true;
    this.readable = true;
    this.destroyed = false;
    this.#conn = new Connection(server);
    const wrap = typeof Buffer === 'function' ? (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength) : (b) => b;
    this.#conn.on('data', (bytes) => this.emit('data', wrap(bytes)));
    this.#conn.on('error', (e) => this.listenerCount('error') && this.emit('error', e));
    this.#conn.on('close', () => {
      this.writable = false;
      this.readable = false;
      this.destroyed = true;
      this.emit('end');
      this.emit('close', false);
    });
  }
  connect() {
    queueMicrotask(() => {
      this.emit('connect');
      this.emit('ready');
    });
    return this;
  }
  setNoDelay() {
    return this;
  }
  setKeepAlive() {
    return this;
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  write(data, encoding, callback) {
    const cb = typeof encoding === 'function' ? encoding : callback;
    if (!this.writable) {
      const e = new PostwireError('ERR_CLOSED', 'write after the stream closed');
      if (cb) queueMicrotask(() => cb(e));
      return false;
    }
    this.#conn.write(data);
    if (cb) queueMicrotask(() => cb());
    return true;
  }
  end(data, encoding, callback) {
    const cb = [data, encoding, callback].find((a) => typeof a === 'function');
    if (data && typeof data !== 'function') this.write(data);
    this.writable = false;
    this.#conn.close();
    if (cb) queueMicrotask(cb);
    return this;
  }
  destroy(error) {
    if (this.destroyed) return this;
    this.writable = false;
    this.#conn.close();
    if (error) queueMicrotask(() => this.listenerCount('error') && this.emit('error', error));
    return this;
  }
}

const hasMessageEvent = typeof MessageEvent === 'function';

function makeEvent(type, props) {
  const ev = type === 'message' && typeof MessageEvent === 'function' ? new MessageEvent('message', { data: props.data }) : new Event(type);
  for (const [k, v] of Object.entries(props)) {
    if (!(k in ev)) Object.defineProperty(ev, k, { value: v, enumerable: true });
  }
  return ev;
}

function webSocketClass(server) {
  /** A WebSocket to the mock server (the browser interface); each one is a session. */
  return class MockWebSocket extends EventTarget {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;
    CONNECTING = 0;
    OPEN = 1;
    CLOSING = 2;
    CLOSED = 3;
    #link;
    constructor(url = 'ws://postwire.mock/v2', protocols = []) {
      super();
      this.url = String(url);
      this.protocol = '';
      this.extensions = '';
      this.bufferedAmount = 0;
      this.binaryType = 'blob';
      this.readyState = 0;
      this.onopen = null;
      this.onmessage = null;
      this.onclose = null;
      this.onerror = null;
      void protocols;
      this.#link = server._open(true, {
        deliver: (bytes) => this.#deliver(bytes),
        close: (clean, reason) => this.#closed(clean, reason),
      });
      queueMicrotask(() => {
        if (this.readyState !== 0) return;
        this.readyState = 1;
        this.#fire('open', {});
      });
    }
    /** The session's backend process id. */
    get processId() {
      return this.#link.processId;
    }
    send(data) {
      if (this.readyState === 0) {
        throw new DOMException("Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.", 'InvalidStateError');
      }
      // Like a browser: data sent after close is discarded.
      if (this.readyState !== 1) return;
      this.#link.receive(bytesOf(data));
    }
    close(code = 1000, reason = '') {
      if (this.readyState >= 2) return;
      this.readyState = 2;
      queueMicrotask(() => {
        this.#link.eof();
        this.#closed(true, reason, code);
      });
    }
    #deliver(bytes) {
      if (this.readyState !== 1) return;
      let data;
      if (this.binaryType === 'arraybuffer' || typeof Blob !== 'function') {
        // The session's output owns its buffer: handed over without a copy
        // unless it is a piece of a split frame.
        const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
        data = whole ? bytes.buffer : bytes.slice().buffer;
      } else {
        data = new Blob([bytes]);
      }
      this.#dispatch('message', hasMessageEvent ? new MessageEvent('message', { data }) : makeEvent('message', { data }));
    }
    #closed(clean, reason, code) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      if (!clean) this.#fire('error', {});
      this.#fire('close', { code: code ?? (clean ? 1000 : 1006), reason: reason ?? '', wasClean: clean });
    }
    #fire(type, props) {
      this.#dispatch(type, makeEvent(type, props));
    }
    #dispatch(type, ev) {
      const handler = type === 'message' ? this.onmessage : this['on' + type];
      if (typeof handler === 'function') handler.call(this, ev);
      this.dispatchEvent(ev);
    }
  };
}

/** Normalises the transport faults. */
function normalizeFaults(f = {}) {
  return {
    latency: Math.max(0, Number(f.latency) || 0),
    dropAfterMessages: f.dropAfterMessages === undefined ? undefined : Number(f.dropAfterMessages),
    dropOnQuery: f.dropOnQuery,
    splitFrames: f.splitFrames === true ? { seed: 1, max: 16 } : f.splitFrames || undefined,
    refuseAuth: Boolean(f.refuseAuth),
    startupError: f.startupError,
  };
}

/** A mock PostgreSQL server. */
export class MockServer {
  #rules = [];
  #handler = null;
  #links = new Map();
  #pid;
  constructor(options = {}) {
    this._config = new Config(options);
    this._faults = normalizeFaults(options.faults);
    this.#pid = Number(options.firstProcessId ?? 1000);
    this.queries = [];
    this.WebSocket = webSocketClass(this);
  }

  /** A rule for queries matching `matcher` (SQL text, RegExp or predicate); rules are tried in order. */
  when(matcher) {
    const rule = new Rule(matcher);
    this.#rules.push(rule);
    return rule;
  }

  /** The handler for queries no rule matches: (sql, params, session) => result | undefined. */
  onQuery(handler) {
    this.#handler = handler;
    return this;
  }

  /** Sends a notification to every session LISTENing on `channel`; returns how many. */
  notify(channel, payload = '', sender = 0) {
    let n = 0;
    for (const link of this.#links.values()) {
      if (link.session.notify(sender, String(channel), String(payload))) {
        n++;
        if (!link.busy) link.flush();
      }
    }
    return n;
  }

  /** A raw duplex connection to a new session. */
  connect() {
    return new Connection(this);
  }

  /** A stream for `pg`'s Client: `new pg.Client({ stream: () => server.pgStream() })`. */
  pgStream() {
    return new PgStream(this);
  }

  /** The open sessions (user and database are empty until the startup message is read). */
  get sessions() {
    return [...this.#links.values()].map((l) => l.info());
  }

  /** Current faults; set with setFaults(). */
  get faults() {
    return { ...this._faults };
  }

  /** Replaces the faults (latency, dropAfterMessages, dropOnQuery, splitFrames, refuseAuth, startupError). */
  setFaults(faults = {}) {
    this._faults = normalizeFaults(faults);
    this._config.setFaults(this._faults);
  }

  /** Forgets rules, the handler, the query log and the faults (sessions stay open). */
  reset() {
    this.#rules = [];
    this.#handler = null;
    this.queries = [];
    this.setFaults({});
  }

  /** The rules (with their remaining counts), handler, log length and faults, to restore later. */
  snapshot() {
    return {
      rules: this.#rules.map((r) => ({ rule: r, remaining: r.remaining, hits: r.hits })),
      handler: this.#handler,
      queries: this.queries.length,
      faults: { ...this._faults },
    };
  }

  /** Goes back to a snapshot. */
  restore(snapshot) {
    this.#rules = snapshot.rules.map(({ rule, remaining, hits }) => {
      rule.remaining = remaining;
      rule.hits = hits;
      return rule;
    });
    this.#handler = snapshot.handler;
    this.queries = this.queries.slice(0, snapshot.queries);
    this.setFaults(snapshot.faults);
  }

  /** Closes every session abruptly. */
  close() {
    for (const link of [...this.#links.values()]) link.abort('server closed');
  }

  // ---- internal ----

  _nextProcessId() {
    return this.#pid++;
  }

  _open(websocket, transport) {
    const link = new Link(this, websocket, transport);
    this.#links.set(link.processId, link);
    return link;
  }

  _forget(link) {
    this.#links.delete(link.processId);
  }

  _log(sql, params, link, builtin = false) {
    this.queries.push({ sql, params, processId: link.processId, builtin });
  }

  _cancel(processId, secret) {
    const target = this.#links.get(processId);
    if (target && target.session.cancel(secret) && target.wakeCancel) target.wakeCancel();
  }

  /**
   * Picks the answer for a `query` request: { result } | { error } | { drop },
   * or a promise of one when it has to wait (a delay, an async handler).
   * Synchronous answers are applied at once, without a trip through the
   * microtask queue.
   */
  _resolve(request, link) {
    const { sql, params, describe } = request;
    if (describe) {
      // Describe of a statement: only a static rule can say its columns.
      const rule = this.#rules.find((r) => r.test(sql, params));
      const value = rule?.action.kind === 'reply' ? rule.action.value : undefined;
      return { result: typeof value === 'function' ? undefined : value };
    }
    this._log(sql, params, link);
    if (this._faults.dropOnQuery !== undefined && matches(this._faults.dropOnQuery, sql, params)) return { drop: true };
    const rule = this.#rules.find((r) => r.test(sql, params));
    if (rule) {
      rule.remaining--;
      rule.hits++;
      if (rule.delayMs > 0) return this.#delayed(rule, sql, params, link);
      return this.#act(rule, sql, params, link);
    }
    if (this.#handler) return settle(this.#handler(sql, params, link.info()), link);
    return { result: undefined };
  }

  async #delayed(rule, sql, params, link) {
    let timer;
    await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, rule.delayMs))), link.cancelled()]);
    clearTimeout(timer);
    return this.#act(rule, sql, params, link);
  }

  #act(rule, sql, params, link) {
    if (link.session.cancelRequested) return { result: undefined };
    const { kind, value } = rule.action;
    if (kind === 'drop') return { drop: true };
    if (kind === 'fail') return { error: value };
    if (typeof value === 'function') return settle(value(sql, params, link.info()), link);
    return { result: value };
  }
}

/** A handler's result as an outcome; a promise (cut short by a cancel) when it is one. */
function settle(result, link) {
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    return Promise.race([result, link.cancelled()]).then((value) => ({ result: value }));
  }
  return { result };
}

// The module's exports are ready once the wasm is: the classes above only
// reach it when used.
await init({ module_or_path: await compiling });

// Test helper: frontend messages written by hand and a reader for the
// server's messages, over `server.connect()`. Every wait is bounded.

const enc = new TextEncoder();
const dec = new TextDecoder();

function cat(parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const i32 = (n) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
};
const i16 = (n) => {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setInt16(0, n);
  return b;
};
const cstr = (s) => cat([enc.encode(s), new Uint8Array([0])]);

export function message(tag, ...body) {
  const payload = cat(body);
  return cat([enc.encode(tag), i32(payload.length + 4), payload]);
}

export function startup(params = { user: 'alice', database: 'db' }) {
  const body = cat([i32(196608), ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), new Uint8Array([0])]);
  return cat([i32(body.length + 4), body]);
}

export const password = (pw) => message('p', cstr(pw));
export const query = (sql) => message('Q', cstr(sql));
export const parse = (name, sql, types = []) => message('P', cstr(name), cstr(sql), i16(types.length), ...types.map(i32));
export function bind(portal, statement, params = [], { paramFormats = [], resultFormats = [] } = {}) {
  const values = params.map((p) => {
    if (p === null) return i32(-1);
    const bytes = typeof p === 'string' ? enc.encode(p) : p;
    return cat([i32(bytes.length), bytes]);
  });
  return message(
    'B',
    cstr(portal),
    cstr(statement),
    i16(paramFormats.length),
    ...paramFormats.map(i16),
    i16(params.length),
    ...values,
    i16(resultFormats.length),
    ...resultFormats.map(i16),
  );
}
export const describe = (kind, name) => message('D', enc.encode(kind), cstr(name));
export const execute = (portal, maxRows = 0) => message('E', cstr(portal), i32(maxRows));
export const sync = () => message('S');
export const terminate = () => message('X');
export function cancelRequest(pid, secret) {
  return cat([i32(16), i32(80877102), i32(pid), secret]);
}

/** Reads the server's messages from a Connection. */
export class Wire {
  constructor(conn) {
    this.conn = conn;
    this.buf = new Uint8Array(0);
    this.waiters = [];
    this.closed = false;
    conn.on('data', (b) => {
      this.buf = cat([this.buf, b]);
      this.wake();
    });
    conn.on('close', (info) => {
      this.closed = info;
      this.wake();
    });
  }
  wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  send(...parts) {
    this.conn.write(cat(parts));
  }
  /** The next whole message, or null once the connection closed. */
  async next(timeoutMs = 2000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buf.length >= 5) {
        const len = new DataView(this.buf.buffer, this.buf.byteOffset).getInt32(1);
        if (this.buf.length >= len + 1) {
          const tag = String.fromCharCode(this.buf[0]);
          const body = this.buf.slice(5, len + 1);
          this.buf = this.buf.slice(len + 1);
          return { tag, body };
        }
      }
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  /** Messages up to and including the first with tag `tag` (or the close). */
  async until(tag) {
    const out = [];
    for (let i = 0; i < 100_000; i++) {
      const m = await this.next();
      if (m === null) return out;
      out.push(m);
      if (m.tag === tag) return out;
    }
    throw new Error('too many messages');
  }
  async login(params) {
    this.send(startup(params));
    return this.until('Z');
  }
}

/** The fields of an ErrorResponse/NoticeResponse body. */
export function errorFields(body) {
  const out = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const code = String.fromCharCode(body[at]);
    const end = body.indexOf(0, at + 1);
    out[code] = dec.decode(body.slice(at + 1, end));
    at = end + 1;
  }
  return out;
}

/** The cells of a DataRow body as byte arrays (null for NULL). */
export function dataRow(body) {
  const view = new DataView(body.buffer, body.byteOffset);
  const n = view.getInt16(0);
  const cells = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const len = view.getInt32(at);
    at += 4;
    if (len < 0) cells.push(null);
    else {
      cells.push(body.slice(at, at + len));
      at += len;
    }
  }
  return cells;
}

export const text = (bytes) => dec.decode(bytes);
export const tags = (messages) => messages.map((m) => m.tag).join('');

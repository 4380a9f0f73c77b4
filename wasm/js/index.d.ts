// Types for postwire-wasm: a mock PostgreSQL server in WebAssembly.

/** A column: a name, or a name and a type (`"int4"`, `"text[]"`, `"jsonb"`… or an OID). */
export type ColumnSpec = string | { name: string; type?: string | number };

/**
 * A query result. Column types are inferred from the values when not given:
 * integers → int4 (int8 when larger), other numbers → float8, bigint → int8,
 * strings → text, booleans → bool, Date → timestamptz, Uint8Array → bytea,
 * arrays → arrays of their elements' type, other objects → json.
 */
export interface QueryResult {
  columns?: ColumnSpec[];
  /** Rows as arrays (by column position) or objects (by column name). */
  rows?: Array<unknown[] | Record<string, unknown>>;
  /** The command tag (`"INSERT 0 1"`); inferred from the SQL and the row count when absent. */
  command?: string;
  /** Rows affected, for the inferred tag of a command without rows. */
  rowCount?: number;
}

/** An error a query fails with (an ErrorResponse). */
export interface QueryError {
  /** SQLSTATE; XX000 when absent or malformed. */
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: number | string;
  /** `"FATAL"` ends the session. */
  severity?: 'ERROR' | 'FATAL';
}

/** What a handler knows about the session running a query. */
export interface SessionInfo {
  processId: number;
  user: string;
  database: string;
  /** `I` idle, `T` in a transaction, `E` failed transaction. */
  transactionStatus: 'I' | 'T' | 'E';
  listening: string[];
  messages: number;
  transport: 'websocket' | 'stream';
}

/**
 * Parameters as handlers see them: typed when the client declared their types
 * (int4 → number, int8 → bigint, bool, float, json → parsed, bytea →
 * Uint8Array, timestamps → Date, arrays…), else strings (text format) or
 * Uint8Array (binary format); SQL NULL is null.
 */
export type Params = unknown[];

export type Matcher = string | RegExp | ((sql: string, params: Params) => boolean);

export type Handler = (
  sql: string,
  params: Params,
  session: SessionInfo,
) => QueryResult | undefined | Promise<QueryResult | undefined>;

export interface Faults {
  /** Delay, in ms, before each outgoing frame. */
  latency?: number;
  /** Drop the connection once the client has sent this many messages. */
  dropAfterMessages?: number;
  /** Drop the connection when a matching query arrives. */
  dropOnQuery?: Matcher;
  /** Split outgoing data into random chunks of 1..max bytes, from a seeded PRNG. */
  splitFrames?: boolean | { seed?: number; max?: number };
  /** Every login fails (28P01, or 28000 under trust). */
  refuseAuth?: boolean;
  /** A FATAL error instead of a login (e.g. `{ code: "53300", message: "too many connections" }`). */
  startupError?: QueryError;
}

export interface MockServerOptions {
  /** `trust` (default), `password` (cleartext), `md5` or `scram` (SCRAM-SHA-256); all but trust need `password` or `users`. */
  auth?: 'trust' | 'password' | 'md5' | 'scram';
  /** The password of any user (auth `password`). */
  password?: string;
  /** Users and their passwords (auth `password`). */
  users?: Record<string, string>;
  /** ParameterStatus values: server_version, TimeZone, DateStyle, IntervalStyle, and extras. */
  parameters?: Record<string, string>;
  /** What a query no rule or handler answers gets: an error (0A000, default) or an empty result. */
  unmatched?: 'error' | 'empty';
  /** The largest message a client may send, in bytes (default 64 MiB). */
  maxMessageSize?: number;
  /** The first backend process id (default 1000). */
  firstProcessId?: number;
  faults?: Faults;
}

export interface LoggedQuery {
  sql: string;
  params: Params;
  processId: number;
  /** Run by the mock itself (BEGIN, COMMIT, LISTEN…). */
  builtin: boolean;
}

export declare class PostwireError extends Error {
  code: 'ERR_CLOSED' | 'ERR_DROPPED' | string;
}

export declare class Rule {
  hits: number;
  remaining: number;
  reply(result: QueryResult | Handler): this;
  fail(error: QueryError | string): this;
  drop(): this;
  delay(ms: number): this;
  once(): this;
  times(n: number): this;
}

/** A raw duplex connection: write protocol bytes, read the server's. */
export declare class Connection {
  readonly processId: number;
  readonly closed: Promise<{ clean: boolean; reason: string }>;
  write(data: Uint8Array | ArrayBuffer | ArrayBufferView | string): void;
  on(event: 'data', listener: (bytes: Uint8Array) => void): this;
  on(event: 'close', listener: (info: { clean: boolean; reason: string }) => void): this;
  on(event: 'error', listener: (error: PostwireError) => void): this;
  onData(listener: (bytes: Uint8Array) => void): this;
  close(): void;
}

/** The browser WebSocket interface, connected to a new session of the mock server. */
export interface MockWebSocket extends EventTarget {
  readonly url: string;
  readonly readyState: 0 | 1 | 2 | 3;
  readonly processId: number;
  binaryType: 'blob' | 'arraybuffer';
  readonly bufferedAmount: number;
  readonly protocol: string;
  readonly extensions: string;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: Event & { code: number; reason: string; wasClean: boolean }) => void) | null;
  onerror: ((ev: Event) => void) | null;
  send(data: Uint8Array | ArrayBuffer | ArrayBufferView | string): void;
  close(code?: number, reason?: string): void;
}

export interface MockWebSocketConstructor {
  new (url?: string | URL, protocols?: string | string[]): MockWebSocket;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
}

export interface Snapshot {
  readonly rules: unknown[];
  readonly queries: number;
}

export declare class MockServer {
  constructor(options?: MockServerOptions);
  /** A WebSocket class for `neonConfig.webSocketConstructor`. */
  readonly WebSocket: MockWebSocketConstructor;
  /** Every query answered, in order. */
  queries: LoggedQuery[];
  readonly sessions: SessionInfo[];
  readonly faults: Faults;
  when(matcher: Matcher): Rule;
  onQuery(handler: Handler | null): this;
  notify(channel: string, payload?: string): number;
  connect(): Connection;
  /** A socket-like stream for `new pg.Client({ stream: () => server.pgStream() })`. */
  pgStream(): unknown;
  setFaults(faults: Faults): void;
  reset(): void;
  snapshot(): Snapshot;
  restore(snapshot: Snapshot): void;
  close(): void;
}

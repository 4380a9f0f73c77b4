// The SELECT 1 round trip taken apart (bench/run.js: the page in Chromium
// and bench/node.js in Node): neon alone against a replaying WebSocket, the
// mock alone without a driver, and the warm loop both use.

/**
 * The time of one `roundTrip` in a loop, warm: 2,000 first (the JIT tiers
 * up), then the median of 3 rounds of 2,000.
 */
export async function loopMs(roundTrip) {
  const n = 2000;
  for (let i = 0; i < n; i++) await roundTrip();
  const rounds = [];
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) await roundTrip();
    rounds.push((performance.now() - t) / n);
  }
  return rounds.sort((a, b) => a - b)[1];
}

/**
 * The SELECT 1 round trip split in two. neon alone: a WebSocket that replays
 * the bytes the mock sent (recorded first), doing no server work at all,
 * delivered the same way (a microtask, then a MessageEvent); its loop is the
 * floor for any endpoint neon talks to. The mock alone: the recorded client
 * frames (login, then the SELECT 1 frame in a loop) sent to a WebSocket of the
 * mock, no driver. `connect(server, pipelineConnect, coalesceWrites)` makes a
 * neon Client on `server.WebSocket`.
 */
export async function splitSelect1(MockServer, connect) {
  const server = new MockServer();
  // The frames the server sent after each frame the client sent.
  const script = [];
  const sent = [];
  class Recorder extends server.WebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => script.at(-1).push(e.data.slice(0)));
    }
    send(data) {
      script.push([]);
      sent.push(data.slice());
      super.send(data);
    }
  }
  const recorded = await connect({ WebSocket: Recorder }, 'password', false);
  await recorded.query('SELECT 1');
  await recorded.query('SELECT 1');
  await recorded.end();
  script.pop(); // Terminate
  const select1 = script.pop();
  class Replay extends EventTarget {
    constructor() {
      super();
      this.readyState = 0;
      this.binaryType = 'blob';
      this.sent = 0;
      queueMicrotask(() => {
        this.readyState = 1;
        this.dispatchEvent(new Event('open'));
      });
    }
    send() {
      const replies = script[this.sent++] ?? select1;
      queueMicrotask(() => {
        for (const data of replies) this.dispatchEvent(new MessageEvent('message', { data: data.slice(0) }));
      });
    }
    close() {}
  }
  const client = await connect({ WebSocket: Replay }, 'password', false);
  const replaySelect1Ms = await loopMs(() => client.query('SELECT 1'));

  // And the server alone: the recorded client frames (login, then the
  // SELECT 1 frame in a loop) sent to a WebSocket of the mock, no driver.
  const ws = new server.WebSocket('ws://mock.local/v2');
  ws.binaryType = 'arraybuffer';
  await new Promise((resolve) => ws.addEventListener('open', resolve));
  let answered;
  ws.addEventListener('message', (e) => {
    // Each answer ends with ReadyForQuery ('Z', length 5, status).
    if (new Uint8Array(e.data).at(-6) === 0x5a) answered();
  });
  const roundTrip = (...frames) => {
    const done = new Promise((resolve) => (answered = resolve));
    for (const frame of frames) ws.send(frame);
    return done;
  };
  await roundTrip(sent[0], sent[1]);
  const select = sent[2];
  const serverSelect1Ms = await loopMs(() => roundTrip(select));
  ws.close();
  return { replaySelect1Ms, serverSelect1Ms };
}

/**
 * The fault proxy itself, against a plain TCP echo server: relaying, cuts at an exact byte offset,
 * the seeded cut schedule, the black hole holding and then releasing bytes in order, delay, and a
 * target that refuses.
 */
import { strict as assert } from "node:assert";
import * as net from "node:net";
import { after, before, test } from "node:test";
import { FaultProxy, startFaultProxy } from "../../sim/fault-proxy.ts";
import { HOST, freePort, sleep, waitFor } from "../helpers/brokers.ts";

let echo: net.Server;
let echoPort = 0;
const echoSockets = new Set<net.Socket>();
/** What each echo connection received and whether it has closed, by order of connection. */
const received: { data: Buffer[]; closed: boolean }[] = [];

before(async () => {
  echo = net.createServer((s) => {
    const mine = { data: [] as Buffer[], closed: false };
    received.push(mine);
    echoSockets.add(s);
    s.on("data", (d) => {
      mine.data.push(d);
      s.write(d);
    });
    s.on("error", () => s.destroy());
    s.on("close", () => {
      mine.closed = true;
      echoSockets.delete(s);
    });
  });
  await new Promise<void>((resolve) => echo.listen(0, HOST, resolve));
  echoPort = (echo.address() as net.AddressInfo).port;
});

after(async () => {
  for (const s of echoSockets) s.destroy();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

interface Peer {
  socket: net.Socket;
  data: Buffer[];
  closed: boolean;
  bytes(): number;
}

function dial(port: number): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const peer: Peer = {
      socket: net.connect({ host: HOST, port }),
      data: [],
      closed: false,
      bytes: () => peer.data.reduce((n, d) => n + d.length, 0),
    };
    peer.socket.on("data", (d) => peer.data.push(d));
    peer.socket.on("error", () => {});
    peer.socket.on("close", () => (peer.closed = true));
    peer.socket.once("connect", () => resolve(peer));
    peer.socket.once("error", reject);
  });
}

function bytes(n: number, start = 0): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (start + i) & 0xff;
  return b;
}

async function withProxy(options: Partial<Parameters<typeof startFaultProxy>[0]>, fn: (p: FaultProxy) => Promise<void>): Promise<void> {
  const proxy = await startFaultProxy({ targetPort: echoPort, ...options });
  try {
    await fn(proxy);
  } finally {
    await proxy.close();
  }
}

test("relays both ways and counts bytes", async () => {
  await withProxy({}, async (proxy) => {
    const peer = await dial(proxy.port);
    peer.socket.write(bytes(1000));
    await waitFor(() => peer.bytes() === 1000, 2000, "the echo");
    assert.deepEqual(Buffer.concat(peer.data), bytes(1000));
    assert.equal(proxy.stats.bytesUp, 1000);
    assert.equal(proxy.stats.bytesDown, 1000);
    assert.equal(proxy.stats.accepted, 1);
    peer.socket.destroy();
  });
});

test("cutAfter relays exactly the bytes before the cut point, then closes both sides", async () => {
  await withProxy({}, async (proxy) => {
    const index = received.length;
    const peer = await dial(proxy.port);
    await waitFor(() => received.length === index + 1, 2000, "the link");
    peer.socket.write(bytes(10));
    await waitFor(() => peer.bytes() === 10, 2000, "the first echo");
    // 20 relayed so far; cut 7 bytes into the next upward chunk.
    assert.equal(proxy.cutAfter(7), 1);
    peer.socket.write(bytes(50, 10));
    await waitFor(() => peer.closed, 2000, "the cut");
    assert.equal(proxy.stats.cuts, 1);
    const echoed = Buffer.concat(received[index].data);
    assert.deepEqual(echoed, bytes(17), "the target got the first 10 bytes and 7 of the next chunk");
    assert.equal(proxy.links.length, 0);
  });
});

test("a cut armed with no connection open applies to the next one", async () => {
  await withProxy({}, async (proxy) => {
    assert.equal(proxy.cutAfter(3), 0);
    const peer = await dial(proxy.port);
    peer.socket.write(bytes(10));
    await waitFor(() => peer.closed, 2000, "the cut");
    assert.equal(proxy.stats.cuts, 1);
    assert.equal(proxy.stats.bytesUp, 3);
  });
});

test("the random cut schedule is the same for the same seed", async () => {
  const schedule = async (seed: number): Promise<number[]> => {
    const cuts: number[] = [];
    await withProxy({ seed, randomCuts: { minBytes: 5, maxBytes: 400 } }, async (proxy) => {
      for (let i = 0; i < 5; i++) {
        const peer = await dial(proxy.port);
        await waitFor(() => proxy.links.length === 1, 2000, "the link");
        cuts.push(proxy.links[0].cutAt);
        const before = proxy.stats.bytesUp;
        peer.socket.write(bytes(1000));
        await waitFor(() => peer.closed, 2000, "the cut");
        // The cut falls where the schedule says, counting both directions.
        assert.ok(proxy.stats.bytesUp - before <= cuts[i]);
      }
      assert.equal(proxy.stats.cuts, 5);
    });
    return cuts;
  };
  const a = await schedule(42);
  const b = await schedule(42);
  const c = await schedule(43);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (const n of a) assert.ok(n >= 5 && n <= 400);
});

test("cutAll closes every connection at once", async () => {
  await withProxy({}, async (proxy) => {
    const peers = [await dial(proxy.port), await dial(proxy.port), await dial(proxy.port)];
    await waitFor(() => proxy.links.length === 3, 2000, "three links");
    assert.equal(proxy.cutAll(), 3);
    await waitFor(() => peers.every((p) => p.closed), 2000, "every peer closed");
    assert.equal(proxy.stats.cuts, 3);
  });
});

test("a black hole holds bytes without closing, and its release relays them in order", async () => {
  await withProxy({}, async (proxy) => {
    const peer = await dial(proxy.port);
    peer.socket.write(bytes(5));
    await waitFor(() => peer.bytes() === 5, 2000, "the echo");
    proxy.blackhole(true);
    peer.socket.write(bytes(100, 5));
    peer.socket.write(bytes(100, 105));
    await sleep(200);
    assert.equal(peer.bytes(), 5, "nothing passes the black hole");
    assert.equal(peer.closed, false, "and nothing is closed");
    // A connection opened during the black hole is accepted and held as well.
    const late = await dial(proxy.port);
    late.socket.write(bytes(3));
    await sleep(100);
    assert.equal(late.bytes(), 0);
    proxy.blackhole(false);
    await waitFor(() => peer.bytes() === 205 && late.bytes() === 3, 2000, "the release");
    assert.deepEqual(Buffer.concat(peer.data), bytes(205));
    peer.socket.destroy();
    late.socket.destroy();
  });
});

test("a close during the black hole is passed on at the release", async () => {
  await withProxy({}, async (proxy) => {
    const index = received.length;
    const peer = await dial(proxy.port);
    await waitFor(() => received.length === index + 1, 2000, "the link");
    proxy.blackhole(true);
    peer.socket.end();
    await sleep(100);
    assert.equal(received[index].closed, false, "the target still sees the connection");
    proxy.blackhole(false);
    await waitFor(() => received[index].closed, 2000, "the target to see the close");
  });
});

test("one connection can be stalled alone", async () => {
  await withProxy({}, async (proxy) => {
    const a = await dial(proxy.port);
    const b = await dial(proxy.port);
    await waitFor(() => proxy.links.length === 2, 2000, "two links");
    proxy.links[0].stall(true);
    a.socket.write(bytes(4));
    b.socket.write(bytes(4));
    await waitFor(() => b.bytes() === 4, 2000, "the other connection");
    assert.equal(a.bytes(), 0);
    proxy.links[0].stall(false);
    await waitFor(() => a.bytes() === 4, 2000, "the stalled one, once resumed");
    a.socket.destroy();
    b.socket.destroy();
  });
});

test("delay holds each chunk for the given time and keeps order", async () => {
  await withProxy({ delayMs: 150 }, async (proxy) => {
    const peer = await dial(proxy.port);
    const start = Date.now();
    peer.socket.write(bytes(10));
    await sleep(20);
    peer.socket.write(bytes(10, 10));
    await waitFor(() => peer.bytes() === 20, 3000, "the echo");
    // Up and down: two delays.
    assert.ok(Date.now() - start >= 280, "took " + (Date.now() - start) + " ms");
    assert.deepEqual(Buffer.concat(peer.data), bytes(20));
    peer.socket.destroy();
  });
});

test("a target that refuses closes the client's connection", async () => {
  const port = await freePort();
  const proxy = await startFaultProxy({ targetPort: port });
  try {
    const peer = await dial(proxy.port);
    await waitFor(() => peer.closed, 2000, "the close");
    assert.equal(proxy.stats.refused, 1);
    assert.equal(proxy.links.length, 0);
  } finally {
    await proxy.close();
  }
});

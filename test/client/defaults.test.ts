/**
 * What the defaults hold as users write code: backpressure (publish's boolean and `drain`), the
 * "drop-oldest" overflow policy, large QoS 0 payloads with a small transmit buffer, withheld
 * incoming QoS 2 messages, and a client that never stops reconnecting. Fake transport, manual
 * clock: nothing waits on real time.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client, CONNECTED, WAITING, type ClientOptions, type MqttError } from "../../src/client.ts";
import { ERR_DROPPED, ERR_EARLY_CLOSE, ERR_OUTBOX_FULL, PUBLISH, PUBREL, type Packet, type PublishPacket } from "../../src/index.ts";
import { fakeBoard, type FakeBoard } from "../helpers/fake-transport.ts";
import { brief, connack, puback, pubcomp, publish, pubrec, pubrel } from "../helpers/wire.ts";

function start(options: ClientOptions): { c: Client; b: FakeBoard; log: string[] } {
  const b = fakeBoard();
  const c = new Client(Object.assign({ clientId: "d1" }, options), b);
  const log: string[] = [];
  c.on("drain", () => log.push("drain"));
  c.on("dropped", (n: number) => log.push("dropped " + n));
  c.on("error", (e: MqttError) => log.push("error " + e.code));
  return { c, b, log };
}

function connect(b: FakeBoard, sessionPresent = false): void {
  b.transport.accept();
  b.transport.deliver(connack(0, sessionPresent));
}

/** The broker's answers to what was written since the last call: PUBACK, PUBREC, PUBCOMP. */
function answers(b: FakeBoard): Packet[] {
  const out: Packet[] = [];
  for (const p of b.transport.wire.take()) {
    if (p.type === PUBLISH && p.qos === 1) out.push(puback(p.packetId));
    else if (p.type === PUBLISH && p.qos === 2) out.push(pubrec(p.packetId));
    else if (p.type === PUBREL) out.push(pubcomp(p.packetId));
  }
  return out;
}

/** Answers as a broker would until nothing more is written. */
function acknowledgeAll(b: FakeBoard): void {
  for (let round = 0; round < 1000; round++) {
    const a = answers(b);
    if (a.length === 0) return;
    b.transport.deliver(a);
  }
}

describe("backpressure", () => {
  test("false past half the outbox, drain once a quarter or less is held, never inside publish", () => {
    const { c, b, log } = start({ outboxBytes: 400, maxInflight: 4 });
    const results: boolean[] = [];
    // 17-byte packets, queued while connecting: 12 fit under 200 bytes, the 12th passes it.
    for (let i = 0; i < 13; i++) results.push(c.publish("a", "0123456789", { qos: 1 }));
    assert.deepEqual(results, [...new Array(11).fill(true), false, false]);
    assert.deepEqual(log, [], "no drain inside publish");
    assert.equal(c.session.outbox.liveBytes, 221);
    connect(b);
    let rounds = 0;
    while (!(log as string[]).includes("drain") && rounds++ < 20) b.transport.deliver(answers(b));
    assert.deepEqual(log, ["drain"]);
    assert.ok(c.session.outbox.liveBytes <= 100);
    acknowledgeAll(b);
    assert.deepEqual(log, ["drain"], "one drain per false");
    assert.equal(c.publish("a", "x", { qos: 1 }), true);
  });

  test("a refusal returns false; drain follows from the timer, not from inside publish", () => {
    const { c, b, log } = start({ outboxBytes: 100 });
    let err: MqttError | null = null;
    assert.equal(c.publish("a", new Uint8Array(200), { qos: 1 }, (e) => (err = e)), false);
    assert.equal(err!.code, ERR_OUTBOX_FULL);
    assert.deepEqual(log, []);
    b.clock.advance(0);
    assert.deepEqual(log, ["drain"]);
  });
});

describe('overflow "drop-oldest"', () => {
  test("offline, the oldest messages make room: ERR_DROPPED to their callbacks, dropped(total)", () => {
    const { c, b, log } = start({ outboxBytes: 60, overflow: "drop-oldest" });
    const results: string[] = [];
    for (let i = 0; i < 5; i++) {
      c.publish("a", "message-" + i + "x", { qos: 1 + (i % 2) }, (e) => results.push(i + ":" + (e ? e.code : "ok"))); // 17 bytes
    }
    assert.deepEqual(results, ["0:" + ERR_DROPPED, "1:" + ERR_DROPPED]);
    assert.deepEqual(log.filter((l) => l.startsWith("dropped")), ["dropped 1", "dropped 2"]);
    assert.equal(c.dropped, 2);
    connect(b);
    const packets = b.transport.wire.take();
    const sent = packets.map(brief).filter((l) => l.startsWith("PUBLISH"));
    assert.deepEqual(sent, ["PUBLISH q1 id1 a 'message-2x'", "PUBLISH q2 id2 a 'message-3x'", "PUBLISH q1 id3 a 'message-4x'"]);
    b.transport.deliver([puback(1), pubrec(2), puback(3)]);
    acknowledgeAll(b);
    assert.deepEqual(results.slice(2).sort(), ["2:ok", "3:ok", "4:ok"], "QoS 2 completes at PUBCOMP, after the QoS 1 behind it");
  });

  test("connected, a full outbox still refuses: nothing is dropped while the broker is reachable", () => {
    const { c, b, log } = start({ outboxBytes: 40, overflow: "drop-oldest" });
    connect(b);
    c.publish("a", "0123456789", { qos: 1 });
    c.publish("a", "0123456789", { qos: 1 });
    let err: MqttError | null = null;
    assert.equal(c.publish("a", "0123456789", { qos: 1 }, (e) => (err = e)), false);
    assert.equal(err!.code, ERR_OUTBOX_FULL);
    assert.equal(c.dropped, 0);
    assert.ok(!log.some((l) => l.startsWith("dropped")));
  });

  test("the default refuses, as before", () => {
    const { c } = start({ outboxBytes: 40 });
    c.publish("a", "0123456789", { qos: 1 });
    c.publish("a", "0123456789", { qos: 1 });
    let err: MqttError | null = null;
    c.publish("a", "0123456789", { qos: 1 }, (e) => (err = e));
    assert.equal(err!.code, ERR_OUTBOX_FULL);
  });

  test("an invalid policy throws", () => {
    assert.throws(() => new Client({ overflow: "drop-newest" as "refuse" }, fakeBoard()), /overflow must be/);
  });
});

describe("large QoS 0 payloads with a small transmit buffer", () => {
  for (const kind of ["bytes", "string"]) {
    test("written as header + slices (" + kind + "), pausing on false, acknowledgements after it", () => {
      const { c, b } = start({ txBytes: 64, rxBytes: 64, outboxBytes: 256 });
      connect(b);
      b.transport.wire.take();
      const bytes = new Uint8Array(16 * 1024);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
      const textPayload = "é€😀a".repeat(1500); // 2 + 3 + 4 + 1 bytes: slices end between characters
      const payload = kind === "bytes" ? bytes : textPayload;
      let done: MqttError | null | string = "pending";
      b.transport.writeResult = false;
      assert.equal(c.publish("big", payload, (e) => (done = e)), true);
      const writes = b.transport.wire.writes.length;
      // The header went out, then one slice; the transport asked to wait.
      assert.equal(done, "pending");
      // A QoS 1 message from the broker meanwhile: its PUBACK waits for the packet to complete.
      b.transport.deliver(publish("in", "x", 1, 9));
      assert.equal(b.transport.wire.writes.length, writes, "nothing written while paused");
      let rounds = 0;
      while (done === "pending" && rounds++ < 10000) b.transport.drain();
      assert.equal(done, null);
      const packets = b.transport.wire.take();
      assert.equal(packets.length, 2);
      const p = packets[0] as PublishPacket;
      assert.equal(p.topic, "big");
      const want = kind === "bytes" ? bytes : new TextEncoder().encode(textPayload);
      assert.deepEqual(new Uint8Array(p.payload as Uint8Array), want);
      assert.equal(brief(packets[1]), "PUBACK 9", "after the large packet");
      for (const w of b.transport.wire.writes) assert.ok(w.length <= 64, "no write larger than the transmit buffer");
      b.transport.writeResult = true;
    });
  }

  test("end() waits for a large packet being written", () => {
    const { c, b } = start({ txBytes: 64 });
    connect(b);
    b.transport.writeResult = false;
    c.publish("big", new Uint8Array(1000));
    c.end();
    assert.notEqual(c.state, CONNECTED);
    assert.equal(b.transport.closeCalls, 0);
    for (let i = 0; i < 100 && b.transport.closeCalls === 0; i++) b.transport.drain();
    assert.equal(b.transport.closeCalls, 1);
    const types = b.transport.wire.take().map(brief).map((l) => l.split(" ")[0]);
    assert.deepEqual(types, ["CONNECT", "PUBLISH", "DISCONNECT"]);
  });
});

describe("incoming QoS 2 past a small table", () => {
  test("withheld messages: a reconnect at once once the table drains, no error, nothing lost", () => {
    const { c, b, log } = start({ clean: false, incomingQos2Slots: 2 });
    const got: string[] = [];
    c.on("message", (_t: string, p: Uint8Array) => got.push(new TextDecoder().decode(p)));
    connect(b);
    b.transport.deliver([publish("x", "1", 2, 1), publish("x", "2", 2, 2), publish("x", "3", 2, 3)]);
    b.transport.deliver([pubrel(1), pubrel(2)]);
    assert.equal(c.state, WAITING);
    b.clock.advance(0);
    assert.equal(b.transport.opens.length, 2, "at once, no backoff");
    connect(b, true);
    b.transport.deliver(publish("x", "3", 2, 3, true));
    assert.deepEqual(got, ["1", "2", "3"]);
    assert.deepEqual(log, [], "no error");
  });
});

describe("never give up", () => {
  test("100 cuts right after CONNACK with default options, then the link heals: every QoS 1/2 message arrives", () => {
    const { c, b, log } = start({ clean: false });
    const results = new Map<number, string>();
    let next = 0;
    const publishSome = (n: number) => {
      for (let i = 0; i < n; i++) {
        const k = next++;
        c.publish("t", "m" + k, { qos: 1 + (k % 2) }, (e) => results.set(k, e ? String(e.code) : "ok"));
      }
    };
    publishSome(20);
    let maxDelayMs = 0;
    for (let cut = 0; cut < 100; cut++) {
      connect(b, cut > 0);
      // Some acknowledgements get through before the cut, some do not.
      if (cut % 3 === 0) b.transport.deliver(answers(b).slice(0, 2));
      b.transport.fail();
      assert.equal(c.state, WAITING, "still trying after cut " + (cut + 1));
      publishSome(2);
      const due = b.clock.nextDueMs() - b.clock.now();
      maxDelayMs = Math.max(maxDelayMs, due);
      b.clock.advance(due);
      assert.equal(b.transport.opens.length, cut + 2);
    }
    assert.equal(log.filter((l) => l === "error " + ERR_EARLY_CLOSE).length, 100);
    assert.ok(maxDelayMs <= 30000 && maxDelayMs > 15000, "the backoff grew to the default maximum: " + maxDelayMs);
    // The link heals.
    connect(b, true);
    acknowledgeAll(b);
    assert.equal(results.size, next);
    for (const [k, r] of results) assert.equal(r, "ok", "message " + k);
    assert.equal(c.session.pendingMessages(), 0);
  });
});

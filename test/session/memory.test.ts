/**
 * Memory: after construction, traffic of every QoS both ways neither replaces nor grows any of
 * the session's buffers and tables.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SessionHarness } from "../helpers/session-harness.ts";
import { countTypedArrays, snapshotTables, tableChanges } from "../helpers/tables.ts";
import { enc, publish } from "../helpers/wire.ts";

/** Keys that lead out of the session (what it was given), not to what it owns. */
const OUTSIDE = ["config", "clock", "events", "sink"];

test("the counter of typed-array constructions sees them", () => {
  assert.equal(countTypedArrays(() => new Uint8Array(3)), 1);
  assert.ok(countTypedArrays(() => new SessionHarness()) > 3, "a new session allocates its buffers");
  assert.equal(countTypedArrays(() => new Uint8Array(8).subarray(2)), 1, "views are not constructions");
});

test("QoS 0/1/2 both ways, pings, back-pressure: no table replaced or grown", () => {
  const h = new SessionHarness({ keepalive: 5, maxInflight: 4, outboxSlots: 4, incomingQos2Slots: 2 });
  h.connect();
  const s = h.session;
  const before = snapshotTables(s, OUTSIDE);
  assert.ok(before.has("outbox.pool"), "the walk reaches the outbox");
  assert.ok(before.has("receiver.buffer"), "the walk reaches the receiver");
  assert.ok(before.has("tx"));

  // Acknowledgements and incoming packets, built once.
  const ack = new Uint8Array(4);
  const sendAck = (type: number, id: number): void => {
    ack[0] = (type << 4) | (type === 6 ? 2 : 0);
    ack[1] = 2;
    ack[2] = id >> 8;
    ack[3] = id & 0xff;
    s.receive(ack);
  };
  const in0 = enc(publish("in/0", "zero", 0));
  const in1 = enc(publish("in/1", "one", 1, 7));
  const in2 = enc(publish("in/2", "two", 2, 9));
  const payload = new Uint8Array(40).fill(0x5a);
  const lastId = (): number => {
    const w = h.wire.writes[h.wire.writes.length - 1];
    return (w[5] << 8) | w[6];
  };

  for (let i = 0; i < 3000; i++) {
    s.publish("t", payload, 0, false, null);
    s.publish("t", payload, 1, false, null);
    sendAck(4, lastId());
    s.publish("t", payload, 2, false, null);
    const id2 = lastId();
    sendAck(5, id2);
    sendAck(7, id2);
    s.receive(in0);
    s.receive(in1);
    s.receive(in2);
    // Incoming QoS 2 split across chunks, through the receive buffer.
    sendAck(6, 9);
    for (let k = 0; k < in2.length; k += 3) s.receive(in2, k, Math.min(in2.length, k + 3));
    sendAck(6, 9);
    if (i % 100 === 0) {
      // Back-pressure, then drain.
      h.writeResult = false;
      s.publish("t", payload, 1, false, null);
      s.publish("t", payload, 1, false, null);
      h.writeResult = true;
      s.drained();
      const w = h.wire.packets().slice(-2);
      for (const p of w) sendAck(4, (p as { packetId: number }).packetId);
      // A ping and its answer.
      h.clock.advance(5000);
      s.tick();
      s.receive(new Uint8Array([0xd0, 0]));
    }
    h.wire.clear();
    h.events.length = 0;
  }
  assert.equal(s.pendingMessages(), 0);
  assert.equal(s.state, 2, "still connected");
  assert.deepEqual(tableChanges(before, snapshotTables(s, OUTSIDE)), []);
});

test("publish of a Uint8Array at QoS 1/2 encodes into the outbox pool and allocates no typed array", () => {
  const h = new SessionHarness({ outboxBytes: 4096, outboxSlots: 64, maxInflight: 64 });
  h.connect();
  const s = h.session;
  const pool = s.outbox.pool;
  const payload = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const sink = { n: 0 };
  // A transport stand-in that keeps nothing.
  h.sendBytes = (bytes, off, len) => {
    sink.n += len + bytes[off] * 0;
    return true;
  };
  const ack = new Uint8Array([0x40, 2, 0, 0]);
  const count = countTypedArrays(() => {
    for (let i = 0; i < 2000; i++) {
      s.publish("sensor/1", payload, 1, false, null);
      const slot = s.outbox.at(s.outbox.count - 1);
      const id = s.outbox.packetId[slot];
      ack[2] = id >> 8;
      ack[3] = id & 0xff;
      s.receive(ack);
    }
  });
  assert.equal(count, 0, "no typed array constructed while publishing");
  assert.equal(s.outbox.pool, pool, "the same pool");
  assert.ok(sink.n > 0);
  // The bytes really went through the pool: a held message sits there, payload and all.
  s.publish("sensor/1", payload, 1, false, null);
  const slot = s.outbox.at(0);
  const off = s.outbox.offset[slot];
  const len = s.outbox.length[slot];
  assert.deepEqual([...pool.subarray(off + len - payload.length, off + len)], [...payload]);
});

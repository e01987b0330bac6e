/**
 * Memory through the client: steady traffic replaces or grows none of the client's and session's
 * tables, and publishing bytes at QoS 1 constructs no typed array (it encodes into the pool).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "../../src/client.ts";
import type { Transport, TransportEvents } from "../../src/transport.ts";
import { ManualClock } from "../helpers/manual-clock.ts";
import { countTypedArrays, snapshotTables, tableChanges } from "../helpers/tables.ts";
import { connack, enc, publish } from "../helpers/wire.ts";

/**
 * A transport that keeps nothing it is given: it notes the packet id of each QoS 1/2 PUBLISH
 * written, so the test can acknowledge it with bytes built once.
 */
class NullTransport implements Transport {
  events: TransportEvents | null = null;
  written = 0;
  lastType = 0;
  lastId = 0;
  open(_host: string, _port: number, events: TransportEvents): void {
    this.events = events;
  }
  write(bytes: Uint8Array, off: number, len: number): boolean {
    this.written += len;
    const first = bytes[off];
    this.lastType = first >> 4;
    if (this.lastType === 3 && (first & 6) !== 0) {
      // Remaining length below 128 here: topic length at off+2.
      const idOff = off + 4 + ((bytes[off + 2] << 8) | bytes[off + 3]);
      this.lastId = (bytes[idOff] << 8) | bytes[idOff + 1];
    }
    return true;
  }
  close(): void {
    const e = this.events;
    this.events = null;
    if (e) e.onClose(null);
  }
}

function connectedClient(): { c: Client; t: NullTransport; clock: ManualClock; deliver: (b: Uint8Array) => void } {
  const clock = new ManualClock();
  const t = new NullTransport();
  const c = new Client({ clientId: "mem", keepalive: 30, outboxSlots: 8, maxInflight: 4 }, { clock: clock, timers: clock, transport: t, random: () => 0.5 });
  t.events!.onOpen();
  const deliver = (b: Uint8Array): void => t.events!.onData(b, 0, b.length);
  deliver(enc(connack()));
  assert.equal(c.connected, true);
  return { c: c, t: t, clock: clock, deliver: deliver };
}

test("publish of a Uint8Array at QoS 1 constructs no typed array and reuses the outbox pool", () => {
  const { c, t, deliver } = connectedClient();
  const pool = c.session.outbox.pool;
  const payload = new Uint8Array(100).fill(0x42);
  const ack = new Uint8Array([0x40, 2, 0, 0]);
  let acked = 0;
  const callback = (err: unknown): void => {
    if (err === null) acked++;
  };
  // Warm up once outside the count: first calls may create listener arrays and the like.
  c.publish("m/1", payload, { qos: 1 }, callback);
  ack[2] = t.lastId >> 8;
  ack[3] = t.lastId & 0xff;
  deliver(ack);
  const constructed = countTypedArrays(() => {
    for (let i = 0; i < 5000; i++) {
      c.publish("m/1", payload, { qos: 1 }, callback);
      ack[2] = t.lastId >> 8;
      ack[3] = t.lastId & 0xff;
      deliver(ack);
    }
  });
  assert.equal(constructed, 0);
  assert.equal(acked, 5001);
  assert.equal(c.session.outbox.pool, pool);
  assert.equal(c.session.pendingMessages(), 0);
});

test("QoS 0/1/2 both ways through the client: no table replaced or grown", () => {
  const { c, t, clock, deliver } = connectedClient();
  const got = { n: 0 };
  c.on("message", () => got.n++);
  c.subscribe("in/#", { qos: 2, onMessage: () => got.n++ });
  deliver(new Uint8Array([0x90, 3, 0, 1, 2]));
  const skip = ["board", "options", "config", "clock", "events", "sink", "onTimer"];
  const before = snapshotTables(c, skip);
  assert.ok(before.has("session.outbox.pool"));
  assert.ok(before.has("handlers"));

  const ack = new Uint8Array(4);
  const sendAck = (type: number, id: number): void => {
    ack[0] = (type << 4) | (type === 6 ? 2 : 0);
    ack[1] = 2;
    ack[2] = id >> 8;
    ack[3] = id & 0xff;
    deliver(ack);
  };
  const in0 = enc(publish("in/0", "zero", 0));
  const in1 = enc(publish("in/1", "one", 1, 7));
  const in2 = enc(publish("in/2", "two", 2, 9));
  const payload = new Uint8Array(20);
  const noop = (): void => {};
  for (let i = 0; i < 2000; i++) {
    c.publish("out", payload, { qos: 0 }, noop);
    c.publish("out", payload, { qos: 1 }, noop);
    sendAck(4, t.lastId);
    c.publish("out", payload, { qos: 2 }, noop);
    const id = t.lastId;
    sendAck(5, id);
    sendAck(7, id);
    deliver(in0);
    deliver(in1);
    deliver(in2);
    sendAck(6, 9);
    if (i % 100 === 0) {
      clock.advance(30000); // the keepalive timer sends PINGREQ
      deliver(new Uint8Array([0xd0, 0]));
    }
  }
  assert.equal(got.n, 2 * 3 * 2000);
  assert.equal(c.connected, true);
  assert.equal(c.session.pendingMessages(), 0);
  assert.deepEqual(tableChanges(before, snapshotTables(c, skip)), []);
});

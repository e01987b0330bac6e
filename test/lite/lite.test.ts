/**
 * The QoS 0-only client (src/lite.ts) on a fake transport, fake timers and a manual clock: every
 * (state, event) pair of its table, keepalive, backoff, subscriptions kept across reconnects,
 * dropped publishes, programmer errors.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CONNECTED,
  CONNECTING,
  DROPPING,
  ENDED,
  ENDING,
  IDLE,
  LiteClient,
  OPENING,
  WAITING,
  type LiteOptions,
} from "../../src/lite.ts";
import type { MqttError } from "../../src/errors.ts";
import {
  ERR_BUSY,
  ERR_CONNECT_TIMEOUT,
  ERR_CONNECTION_LOST,
  ERR_ENDED,
  ERR_NOT_CONNECTED,
  ERR_PACKET_TOO_LARGE,
  ERR_PING_TIMEOUT,
  ERR_REFUSED,
  ERR_REQUESTS_FULL,
  ERR_SUBSCRIBE_REFUSED,
  ERR_UNEXPECTED_PACKET,
} from "../../src/status.ts";
import { PINGRESP, type ConnectPacket, type Packet } from "../../src/packet/types.ts";
import { fakeBoard, type FakeBoard } from "../helpers/fake-transport.ts";
import { viewsMadeDuring } from "../helpers/views.ts";
import { brief, connack, publish, puback, suback, text, unsuback } from "../helpers/wire.ts";

const pingresp: Packet = { type: PINGRESP };
const EVENTS = ["connect", "message", "error", "close", "drain", "end"];

interface Rig {
  c: LiteClient;
  b: FakeBoard;
  log: string[];
  errors: MqttError[];
}

function rig(options?: LiteOptions, board?: FakeBoard): Rig {
  const b = board || fakeBoard();
  const base: LiteOptions = { clientId: "lite-1", keepalive: 10, connectTimeoutMs: 5000, reconnect: { minMs: 1000, maxMs: 8000 } };
  const c = new LiteClient(Object.assign(base, options || {}), b);
  const r: Rig = { c: c, b: b, log: [], errors: [] };
  for (const name of EVENTS) {
    c.on(name, (a?: unknown, p?: unknown) => {
      if (name === "message") r.log.push("message " + a + " '" + text(p as Uint8Array) + "'");
      else if (name === "error") {
        const e = a as MqttError;
        r.errors.push(e);
        r.log.push("error " + e.code + (e.returnCode !== undefined ? " rc" + e.returnCode : ""));
      } else r.log.push(name);
    });
  }
  return r;
}

function sent(r: Rig): string[] {
  assert.deepEqual(r.b.transport.misuse, [], "the client broke the transport contract");
  return r.b.transport.wire.take().map(brief);
}

function takeLog(r: Rig): string[] {
  const l = r.log;
  r.log = [];
  return l;
}

function opening(o?: LiteOptions): Rig {
  const r = rig(o);
  assert.equal(r.c.state, OPENING);
  return r;
}
function connecting(o?: LiteOptions): Rig {
  const r = opening(o);
  r.b.transport.accept();
  assert.equal(r.c.state, CONNECTING);
  return r;
}
function connected(o?: LiteOptions): Rig {
  const r = connecting(o);
  r.b.transport.deliver(connack(0));
  assert.equal(r.c.state, CONNECTED);
  assert.equal(r.c.connected, true);
  assert.deepEqual(takeLog(r), ["connect"]);
  assert.deepEqual(sent(r), ["CONNECT"]);
  return r;
}
function dropping(o?: LiteOptions): Rig {
  const r = connected(o);
  r.b.transport.closeAtOnce = false;
  r.b.transport.deliver(connack());
  assert.equal(r.c.state, DROPPING);
  assert.equal(r.c.connected, false);
  assert.deepEqual(takeLog(r), ["error " + ERR_UNEXPECTED_PACKET]);
  return r;
}
function waiting(o?: LiteOptions): Rig {
  const r = connected(o);
  r.b.transport.fail();
  assert.equal(r.c.state, WAITING);
  assert.deepEqual(takeLog(r), ["error " + ERR_CONNECTION_LOST, "close"]);
  return r;
}
function idle(o?: LiteOptions): Rig {
  const r = connected(Object.assign({ reconnect: false }, o || {}));
  r.b.transport.fail();
  assert.equal(r.c.state, IDLE);
  assert.deepEqual(takeLog(r), ["error " + ERR_CONNECTION_LOST, "close"]);
  return r;
}
function ended(): Rig {
  const r = connected();
  r.c.end();
  assert.equal(r.c.state, ENDED);
  takeLog(r);
  sent(r);
  return r;
}

describe("lite client: OPENING", () => {
  test("transport open → CONNECTING, CONNECT with a clean session, the will at QoS 0 and the credentials", () => {
    const r = connecting({ username: "u", password: "p", will: { topic: "n/lite-1/status", payload: "offline", retain: true } });
    const packets = r.b.transport.wire.packets();
    assert.equal(packets.length, 1);
    const c = packets[0] as ConnectPacket;
    assert.equal(c.type, 1);
    assert.equal(c.clean, true);
    assert.equal(c.keepalive, 10);
    assert.equal(c.clientId, "lite-1");
    assert.equal(c.username, "u");
    assert.equal(text(c.password as Uint8Array), "p");
    assert.deepEqual({ topic: c.will!.topic, qos: c.will!.qos, retain: c.will!.retain, payload: text(c.will!.payload) }, { topic: "n/lite-1/status", qos: 0, retain: true, payload: "offline" });
  });

  test("the connect timeout covers opening the transport", () => {
    const r = opening();
    r.b.transport.closeAtOnce = true;
    r.b.clock.advance(5000);
    assert.deepEqual(takeLog(r), ["error " + ERR_CONNECT_TIMEOUT, "close"]);
    assert.equal(r.c.state, WAITING);
  });

  test("transport closed → error, close, WAITING; the backoff timer opens again", () => {
    const r = opening();
    r.b.transport.fail(new Error("ECONNREFUSED"));
    assert.equal(r.c.state, WAITING);
    assert.deepEqual(takeLog(r), ["error " + ERR_CONNECTION_LOST, "close"]);
    assert.match(r.errors[0].message, /^mcu-mqtt: connection lost: ECONNREFUSED$/);
    // Equal jitter with random() = 0.5: 1,000 / 2 + 0.5 × 500.
    r.b.clock.advance(749);
    assert.equal(r.b.transport.opens.length, 1);
    r.b.clock.advance(1);
    assert.equal(r.b.transport.opens.length, 2);
    assert.equal(r.c.state, OPENING);
  });

  test("end() → ENDED after the transport closed", () => {
    const r = opening();
    let done = 0;
    r.c.end(() => done++);
    assert.equal(r.c.state, ENDED);
    assert.equal(done, 1);
    assert.deepEqual(takeLog(r), ["end"]);
    assert.equal(r.b.clock.armed(), 0);
  });
});

describe("lite client: CONNECTING", () => {
  test("CONNACK accepted → CONNECTED, connect event", () => {
    connected();
  });

  test("CONNACK refused (bad credentials) → error with the return code, IDLE, no retry", () => {
    const r = connecting();
    r.b.transport.deliver(connack(4));
    assert.equal(r.c.state, IDLE);
    assert.deepEqual(takeLog(r), ["error " + ERR_REFUSED + " rc4", "close"]);
    assert.match(r.errors[0].message, /bad user name or password/);
    r.b.clock.advance(600000);
    assert.equal(r.b.transport.opens.length, 1);
    r.c.reconnect();
    assert.equal(r.c.state, OPENING);
    assert.equal(r.b.transport.opens.length, 2);
  });

  test("CONNACK 3 (server unavailable) → retried after the backoff", () => {
    const r = connecting();
    r.b.transport.deliver(connack(3));
    assert.equal(r.c.state, WAITING);
    r.b.clock.advance(1000);
    assert.equal(r.b.transport.opens.length, 2);
  });

  test("another packet before CONNACK → error, DROPPING", () => {
    const r = connecting();
    r.b.transport.closeAtOnce = false;
    r.b.transport.deliver(publish("t", "x"));
    assert.equal(r.c.state, DROPPING);
    assert.deepEqual(takeLog(r), ["error " + ERR_UNEXPECTED_PACKET]);
    r.b.transport.finishClose();
    assert.deepEqual(takeLog(r), ["close"]);
    assert.equal(r.c.state, WAITING);
  });

  test("no CONNACK within the timeout → error, close, WAITING", () => {
    const r = connecting();
    r.b.clock.advance(5000);
    assert.deepEqual(takeLog(r), ["error " + ERR_CONNECT_TIMEOUT, "close"]);
    assert.equal(r.c.state, WAITING);
  });

  test("transport closed → error, close, WAITING", () => {
    const r = connecting();
    r.b.transport.fail();
    assert.deepEqual(takeLog(r), ["error " + ERR_CONNECTION_LOST, "close"]);
    assert.equal(r.c.state, WAITING);
  });

  test("end() closes the transport, no DISCONNECT before CONNACK", () => {
    const r = connecting();
    r.b.transport.wire.take();
    r.c.end();
    assert.equal(r.c.state, ENDED);
    assert.deepEqual(sent(r), []);
    assert.deepEqual(takeLog(r), ["end"]);
  });
});

describe("lite client: CONNECTED", () => {
  test("publish writes a QoS 0 PUBLISH at once and returns true", () => {
    const r = connected();
    let result: unknown = "not called";
    assert.equal(r.c.publish("a/b", "hi", { retain: true }, (err) => (result = err)), true);
    assert.equal(r.c.publish("a/c", new Uint8Array([0, 255])), true);
    assert.equal(result, null);
    assert.deepEqual(sent(r), ["PUBLISH q0 retain a/b 'hi'", "PUBLISH q0 a/c '\u0000\ufffd'"]);
  });

  test("a message arrives as topic, payload view and packet; split into 1-byte chunks too", () => {
    const r = connected();
    let retained: boolean | null = null;
    r.c.on("message", (_t: string, _p: Uint8Array, packet: { retain: boolean }) => (retained = packet.retain));
    r.b.transport.deliver(publish("x/y", "hello", 0, 0, false, true), 1);
    r.b.transport.deliver([publish("x/z", "one"), publish("x/z", "two")]);
    assert.deepEqual(takeLog(r), ["message x/y 'hello'", "message x/z 'one'", "message x/z 'two'"]);
    assert.equal(retained, false);
  });

  test("a QoS 1 PUBLISH from the broker is a protocol error: error, close", () => {
    const r = connected();
    r.b.transport.deliver(publish("x", "y", 1, 7));
    assert.deepEqual(takeLog(r), ["error " + ERR_UNEXPECTED_PACKET, "close"]);
    assert.deepEqual(sent(r), [], "no PUBACK: this client does not take QoS 1");
    assert.equal(r.c.state, WAITING);
  });

  test("a stray PUBACK is a protocol error", () => {
    const r = connected();
    r.b.transport.deliver(puback(3));
    assert.deepEqual(takeLog(r), ["error " + ERR_UNEXPECTED_PACKET, "close"]);
  });

  test("a malformed packet closes the link (and reconnects)", () => {
    const r = connected();
    r.b.transport.deliver(new Uint8Array([0x30, 0x01, 0x00]));
    assert.equal(r.c.state, WAITING);
    assert.equal(r.log[1], "close");
    r.b.clock.advance(1000);
    assert.equal(r.b.transport.opens.length, 2);
  });

  test("a packet larger than rxBytes is dropped with an error; the stream stays in step", () => {
    const r = connected({ rxBytes: 64 });
    r.b.transport.deliver([publish("big", "x".repeat(200)), publish("small", "ok")], 7);
    assert.deepEqual(takeLog(r), ["error " + ERR_PACKET_TOO_LARGE, "message small 'ok'"]);
    assert.equal(r.c.state, CONNECTED);
  });

  test("keepalive: PINGREQ after a quiet period, PINGRESP clears it", () => {
    const r = connected();
    r.b.clock.advance(9999);
    assert.deepEqual(sent(r), []);
    r.b.clock.advance(1);
    assert.deepEqual(sent(r), ["PINGREQ"]);
    r.b.transport.deliver(pingresp);
    r.b.clock.advance(9999);
    assert.deepEqual(sent(r), []);
    r.b.clock.advance(1);
    assert.deepEqual(sent(r), ["PINGREQ"]);
    assert.equal(r.c.state, CONNECTED);
  });

  test("keepalive: a client that only publishes still pings when nothing comes back", () => {
    const r = connected();
    for (let i = 0; i < 10; i++) {
      r.b.clock.advance(1000);
      r.c.publish("t", "x");
    }
    assert.deepEqual(sent(r).filter((s) => s === "PINGREQ"), ["PINGREQ"]);
  });

  test("no PINGRESP within the ping timeout → error, close, reconnect", () => {
    const r = connected({ pingTimeoutMs: 3000 });
    r.b.clock.advance(10000);
    assert.deepEqual(sent(r), ["PINGREQ"]);
    r.b.clock.advance(2999);
    assert.equal(r.c.state, CONNECTED);
    r.b.clock.advance(1);
    assert.deepEqual(takeLog(r), ["error " + ERR_PING_TIMEOUT, "close"]);
    assert.equal(r.c.state, WAITING);
  });

  test("keepalive 0: no timer while connected", () => {
    const r = connected({ keepalive: 0 });
    assert.equal(r.b.clock.armed(), 0);
    r.b.clock.advance(3600000);
    assert.deepEqual(sent(r), []);
  });

  test("a busy transport drops QoS 0 publishes with ERR_BUSY until drain", () => {
    const r = connected();
    r.b.transport.writeResult = false;
    assert.equal(r.c.publish("t", "first"), true);
    assert.equal(r.c.publish("t", "second"), false);
    let err: MqttError | null = null;
    assert.equal(r.c.publish("t", "third", (e) => (err = e)), false);
    assert.equal(err!.code, ERR_BUSY);
    assert.deepEqual(takeLog(r), ["error " + ERR_BUSY]);
    r.b.transport.drain();
    assert.deepEqual(takeLog(r), ["drain"]);
    assert.equal(r.c.publish("t", "fourth"), true);
    assert.deepEqual(sent(r), ["PUBLISH q0 t 'first'", "PUBLISH q0 t 'fourth'"]);
  });

  test("transport closed → error, close, WAITING; backoff doubles up to maxMs, resets after a stable connection", () => {
    const r = waiting();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = r.b.clock.now();
      r.b.clock.advanceTo(r.b.clock.nextDueMs());
      delays.push(r.b.clock.now() - before);
      assert.equal(r.c.state, OPENING);
      r.b.transport.fail();
    }
    // 0.75 × 1000, 2000, 4000, 8000, 8000 (random() = 0.5).
    assert.deepEqual(delays, [750, 1500, 3000, 6000, 6000]);
    r.b.clock.advanceTo(r.b.clock.nextDueMs());
    r.b.transport.accept();
    r.b.transport.deliver(connack(0));
    r.b.transport.deliver(pingresp);
    r.b.clock.advance(10000);
    r.b.transport.fail();
    const before = r.b.clock.now();
    r.b.clock.advanceTo(r.b.clock.nextDueMs());
    assert.equal(r.b.clock.now() - before, 750);
  });

  test("connections the broker closes at once (a takeover) do not reset the backoff", () => {
    const r = connected();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      r.b.transport.fail();
      const before = r.b.clock.now();
      r.b.clock.advanceTo(r.b.clock.nextDueMs());
      delays.push(r.b.clock.now() - before);
      r.b.transport.accept();
      r.b.transport.deliver(connack(0));
      r.b.clock.advance(100);
    }
    assert.deepEqual(delays, [750, 1500, 3000, 6000]);
  });

  test("end() sends DISCONNECT, closes, ENDED, end event and callback", () => {
    const r = connected();
    let done = 0;
    r.b.transport.closeAtOnce = false;
    r.c.end(() => done++);
    assert.equal(r.c.state, ENDING);
    assert.deepEqual(sent(r), ["DISCONNECT"]);
    assert.equal(done, 0);
    r.b.transport.finishClose();
    assert.equal(r.c.state, ENDED);
    assert.equal(done, 1);
    assert.deepEqual(takeLog(r), ["end"]);
    assert.equal(r.b.clock.armed(), 0);
  });
});

describe("lite client: DROPPING, WAITING, IDLE, ENDED", () => {
  test("DROPPING: transport closed → close (the error was reported once), WAITING", () => {
    const r = dropping();
    r.b.transport.finishClose();
    assert.deepEqual(takeLog(r), ["close"]);
    assert.equal(r.c.state, WAITING);
  });

  test("ENDING: a second end(callback) runs after the close too, with the first", () => {
    const r = connected();
    r.b.transport.closeAtOnce = false;
    const calls: string[] = [];
    r.c.end(() => calls.push("first"));
    r.c.end(() => calls.push("second"));
    r.b.clock.advance(10);
    assert.deepEqual(calls, []);
    r.b.transport.finishClose();
    assert.deepEqual(calls, ["first", "second"]);
  });

  test("DROPPING: end() → ENDING, then ENDED on close", () => {
    const r = dropping();
    r.c.end();
    assert.equal(r.c.state, ENDING);
    r.b.transport.finishClose();
    assert.equal(r.c.state, ENDED);
    assert.deepEqual(takeLog(r), ["end"]);
  });

  test("WAITING: reconnect() opens at once and the backoff timer is gone", () => {
    const r = waiting();
    r.c.reconnect();
    assert.equal(r.c.state, OPENING);
    assert.equal(r.b.transport.opens.length, 2);
    r.b.clock.advance(1000);
    assert.equal(r.b.transport.opens.length, 2);
  });

  test("WAITING: end() → ENDED at once, no timer left", () => {
    const r = waiting();
    r.c.end();
    assert.equal(r.c.state, ENDED);
    assert.equal(r.b.clock.armed(), 0);
    assert.deepEqual(takeLog(r), ["end"]);
  });

  test("IDLE (reconnect: false): stays offline; reconnect() opens", () => {
    const r = idle();
    r.b.clock.advance(600000);
    assert.equal(r.b.transport.opens.length, 1);
    r.c.reconnect();
    assert.equal(r.c.state, OPENING);
  });

  test("IDLE: end() → ENDED", () => {
    const r = idle();
    r.c.end();
    assert.equal(r.c.state, ENDED);
  });

  test("ENDED: publish, subscribe and unsubscribe throw; reconnect does nothing; end(cb) still calls back", () => {
    const r = ended();
    assert.throws(() => r.c.publish("t", "x"), /publish after end\(\)/);
    assert.throws(() => r.c.subscribe("t"), /after end\(\)/);
    assert.throws(() => r.c.unsubscribe("t"), /unsubscribe after end\(\)/);
    r.c.reconnect();
    assert.equal(r.c.state, ENDED);
    let called = 0;
    r.c.end(() => called++);
    r.b.clock.advance(1);
    assert.equal(called, 1);
  });

  test("a publish while not connected is dropped with ERR_NOT_CONNECTED", () => {
    const r = waiting();
    let err: MqttError | null = null;
    assert.equal(r.c.publish("t", "x", (e) => (err = e)), false);
    assert.equal(err!.code, ERR_NOT_CONNECTED);
    assert.equal(r.c.publish("t", "y"), false);
    assert.deepEqual(takeLog(r), ["error " + ERR_NOT_CONNECTED]);
  });
});

describe("lite client: subscriptions", () => {
  test("subscribe while connected: SUBSCRIBE at QoS 0, callback on SUBACK", () => {
    const r = connected();
    const results: unknown[] = [];
    r.c.subscribe(["a/#", "b/+"], (err) => results.push(err));
    assert.deepEqual(sent(r), ["SUBSCRIBE 1 a/#:0,b/+:0"]);
    r.b.transport.deliver(suback(1, [0, 0]));
    assert.deepEqual(results, [null]);
  });

  test("subscribe before connecting: sent after CONNACK", () => {
    const r = opening();
    let result: unknown = "not yet";
    r.c.subscribe("s/#", (err) => (result = err));
    r.b.transport.accept();
    r.b.transport.deliver(connack(0));
    assert.deepEqual(sent(r), ["CONNECT", "SUBSCRIBE 1 s/#:0"]);
    r.b.transport.deliver(suback(1, [0]));
    assert.equal(result, null);
  });

  test("subscriptions are made again after a reconnect (a clean session forgot them)", () => {
    const r = connected();
    r.c.subscribe("a");
    r.c.subscribe("b");
    r.b.transport.deliver([suback(1, [0]), suback(2, [0])]);
    r.c.unsubscribe("a");
    r.b.transport.deliver(unsuback(3));
    sent(r);
    r.b.transport.fail();
    r.b.clock.advance(1000);
    r.b.transport.accept();
    r.b.transport.deliver(connack(0));
    assert.deepEqual(sent(r), ["CONNECT", "SUBSCRIBE 4 b:0"]);
  });

  test("a subscribe awaiting SUBACK when the link drops is sent once after reconnect, with its callback", () => {
    const r = connected();
    const results: unknown[] = [];
    r.c.subscribe("p", (err) => results.push(err));
    sent(r);
    r.b.transport.fail();
    r.b.clock.advance(1000);
    r.b.transport.accept();
    r.b.transport.deliver(connack(0));
    assert.deepEqual(sent(r), ["CONNECT", "SUBSCRIBE 2 p:0"]);
    r.b.transport.deliver(suback(2, [0]));
    assert.deepEqual(results, [null]);
  });

  test("a refused filter: callback error, forgotten, not made again", () => {
    const r = connected();
    let err: MqttError | null = null;
    r.c.subscribe("secret/#", (e) => (err = e));
    r.b.transport.deliver(suback(1, [0x80]));
    assert.equal(err!.code, ERR_SUBSCRIBE_REFUSED);
    assert.match(err!.message, /secret\/#/);
    sent(r);
    r.b.transport.fail();
    r.b.clock.advance(1000);
    r.b.transport.accept();
    r.b.transport.deliver(connack(0));
    assert.deepEqual(sent(r), ["CONNECT"]);
  });

  test("a filter the broker refuses when it is made again after a reconnect: named, forgotten", () => {
    const r = connected();
    r.c.subscribe(["a", "b"]);
    r.b.transport.deliver(suback(1, [0, 0]));
    sent(r);
    r.b.transport.fail();
    r.b.clock.advance(1000);
    r.b.transport.accept();
    r.b.transport.deliver(connack(0));
    assert.deepEqual(sent(r), ["CONNECT", "SUBSCRIBE 2 a:0", "SUBSCRIBE 3 b:0"]);
    takeLog(r);
    r.b.transport.deliver([suback(3, [0x80]), suback(2, [0])]);
    assert.deepEqual(takeLog(r), ["error " + ERR_SUBSCRIBE_REFUSED]);
    assert.match(r.errors[r.errors.length - 1].message, /subscription refused: b$/);
    r.b.transport.fail();
    r.b.clock.advance(2000);
    r.b.transport.accept();
    r.b.transport.deliver(connack(0));
    assert.deepEqual(sent(r), ["CONNECT", "SUBSCRIBE 4 a:0"]);
  });

  test("a full request table is reported to the callback", () => {
    const r = connected({ requestSlots: 1 });
    const results: unknown[] = [];
    r.c.subscribe("a", (e) => results.push(e));
    r.c.subscribe("b", (e) => results.push(e && (e as MqttError).code));
    assert.deepEqual(results, [ERR_REQUESTS_FULL]);
  });

  test("end() fails requests still awaiting acknowledgement", () => {
    const r = connected();
    let err: MqttError | null = null;
    r.c.subscribe("a", (e) => (err = e));
    r.c.end();
    assert.equal(err!.code, ERR_ENDED);
  });

  test("unsubscribe: UNSUBSCRIBE, callback on UNSUBACK", () => {
    const r = connected();
    let result: unknown = "not yet";
    r.c.unsubscribe("gone/#", (e) => (result = e));
    assert.deepEqual(sent(r), ["UNSUBSCRIBE 1 gone/#"]);
    r.b.transport.deliver(unsuback(1));
    assert.equal(result, null);
  });
});

describe("lite client: programmer errors and listeners", () => {
  test("invalid input throws with a clear message", () => {
    const r = connected({ txBytes: 64 });
    assert.throws(() => r.c.publish("a/+", "x"), /cannot publish to 'a\/\+': invalid topic name/);
    assert.throws(() => r.c.publish("a", "x", { qos: 1 }), /QoS 0 only/);
    assert.throws(() => r.c.publish("a", "x".repeat(100)), /buffer too small/);
    assert.throws(() => r.c.subscribe("a/#/b"), /invalid topic filter/);
    assert.throws(() => r.c.subscribe("a", { qos: 2 }), /QoS 0 only/);
    assert.throws(() => r.c.subscribe([]), /no topic given/);
    assert.throws(() => new LiteClient({ will: { topic: "a/#", payload: "x" } }, fakeBoard()), /invalid topic name/);
    assert.throws(() => new LiteClient({ password: "p" }, fakeBoard()), /password without user name/);
    assert.throws(() => new LiteClient({ clientId: "x".repeat(80), txBytes: 32 }, fakeBoard()), /txBytes is 32/);
    assert.throws(() => new LiteClient({ rxBytes: -1 }, fakeBoard()), /rxBytes must be a positive integer/);
    assert.throws(() => new LiteClient({ requestSlots: 0.5 }, fakeBoard()), /requestSlots must be a positive integer/);
    assert.throws(() => new LiteClient({ reconnect: { minMs: 0 } }, fakeBoard()), /reconnect.minMs must be a positive integer/);
    assert.throws(() => new LiteClient({ keepalive: 70000 }, fakeBoard()), /keepalive out of range/);
    assert.deepEqual(sent(r), []);
  });

  test("a listener that throws is reported as an error; the client goes on", () => {
    const r = connected();
    r.c.on("message", () => {
      throw new Error("handler bug");
    });
    r.b.transport.deliver([publish("t", "1"), publish("t", "2")]);
    assert.deepEqual(takeLog(r), ["message t '1'", "error undefined", "message t '2'", "error undefined"]);
    assert.equal(r.c.state, CONNECTED);
  });

  test("off() removes a listener", () => {
    const r = connected();
    let n = 0;
    const f = () => n++;
    r.c.on("message", f);
    r.b.transport.deliver(publish("t", "1"));
    r.c.off("message", f);
    r.b.transport.deliver(publish("t", "2"));
    assert.equal(n, 1);
  });

  test("an empty client id is generated", () => {
    const b = fakeBoard();
    const c = new LiteClient({ clientId: "" }, b);
    b.transport.accept();
    const p = b.transport.wire.packets()[0] as ConnectPacket;
    assert.match(p.clientId, /^mcu-mqtt-[0-9a-f]{8}$/);
    c.end();
  });
});

describe("lite client: rawMessage", () => {
  test("the payload in place, no view made; message listeners get one", () => {
    const r = connected();
    const raw: string[] = [];
    r.c.on("rawMessage", (topic: string, buf: Uint8Array, p: { payloadOff: number; payloadLen: number }) => {
      raw.push(topic + " " + Buffer.from(buf.buffer, buf.byteOffset + p.payloadOff, p.payloadLen).toString());
    });
    const views = viewsMadeDuring(() => r.b.transport.deliver(publish("t", "hello")));
    // The rig's own `message` listener asks for a view: exactly one was made for it.
    assert.equal(views, 1);
    assert.deepEqual(raw, ["t hello"]);
    assert.deepEqual(takeLog(r), ["message t 'hello'"]);
  });
});

/**
 * The client state machine on a fake transport, fake timers and a manual clock: every
 * (state, event) pair of the table in src/client.ts and the pairs it leaves out, backoff,
 * refusals, end(), programmer errors, listeners and per-subscription handlers.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CONNECTED,
  CONNECTING,
  Client,
  DROPPING,
  ENDED,
  ENDING,
  IDLE,
  OPENING,
  STOPPING,
  WAITING,
  mqttError,
  type ClientOptions,
  type Granted,
  type MqttError,
} from "../../src/client.ts";
import {
  ERR_CONNECT_TIMEOUT,
  ERR_EARLY_CLOSE,
  ERR_CONNECTION_LOST,
  ERR_ENDED,
  ERR_OUTBOX_FULL,
  ERR_PING_TIMEOUT,
  ERR_REFUSED,
  ERR_REQUESTS_FULL,
  ERR_SUBSCRIBE_REFUSED,
  ERR_UNEXPECTED_PACKET,
  PINGRESP,
  type Packet,
  type SubscribePacket,
  type UnsubscribePacket,
} from "../../src/index.ts";
import { fakeBoard, type FakeBoard } from "../helpers/fake-transport.ts";
import { viewsMadeDuring } from "../helpers/views.ts";
import { brief, connack, puback, pubcomp, publish, pubrec, suback, text, unsuback } from "../helpers/wire.ts";

const pingresp: Packet = { type: PINGRESP };
const ALL_EVENTS = ["connect", "message", "close", "offline", "reconnect", "error", "end", "drop"];

interface Rig {
  c: Client;
  b: FakeBoard;
  /** Every event the client emitted, in order, in a short form. */
  log: string[];
  errors: MqttError[];
}

function rig(options?: ClientOptions, board?: FakeBoard): Rig {
  const b = board || fakeBoard();
  const c = new Client(Object.assign({ clientId: "c1", keepalive: 10, connectTimeoutMs: 5000, reconnect: { minMs: 1000, maxMs: 8000, stableMs: 1 } }, options || {}), b);
  const r: Rig = { c: c, b: b, log: [], errors: [] };
  for (const name of ALL_EVENTS) {
    c.on(name, (a?: unknown, p?: unknown) => {
      if (name === "connect") r.log.push("connect sp=" + (a as { sessionPresent: boolean }).sessionPresent);
      else if (name === "message") r.log.push("message " + a + " '" + text(p as Uint8Array) + "'");
      else if (name === "error" || name === "drop") {
        const e = a as MqttError;
        r.errors.push(e);
        r.log.push(name + " " + e.code + (e.returnCode !== undefined ? " rc" + e.returnCode : ""));
      } else r.log.push(name);
    });
  }
  return r;
}

/** Packets written since the last call, in their one-line form; checks the transport contract. */
function sent(r: Rig): string[] {
  assert.deepEqual(r.b.transport.misuse, [], "the client broke the transport contract");
  return r.b.transport.wire.take().map(brief);
}

function takeLog(r: Rig): string[] {
  const l = r.log;
  r.log = [];
  return l;
}

// The states, each reached the way an application would reach it.
function opening(o?: ClientOptions): Rig {
  const r = rig(o);
  assert.equal(r.c.state, OPENING);
  return r;
}
function connecting(o?: ClientOptions): Rig {
  const r = opening(o);
  r.b.transport.accept();
  assert.equal(r.c.state, CONNECTING);
  return r;
}
function connected(o?: ClientOptions, sessionPresent = false): Rig {
  const r = connecting(o);
  r.b.transport.deliver(connack(0, sessionPresent));
  assert.equal(r.c.state, CONNECTED);
  assert.deepEqual(takeLog(r), ["connect sp=" + sessionPresent]);
  assert.deepEqual(sent(r), ["CONNECT"]);
  return r;
}
/** Connected, then a protocol violation; the transport's close has not completed. */
function dropping(o?: ClientOptions): Rig {
  const r = connected(o);
  r.b.transport.closeAtOnce = false;
  r.b.transport.deliver(connack());
  assert.equal(r.c.state, DROPPING);
  assert.deepEqual(takeLog(r), ["error " + ERR_UNEXPECTED_PACKET]);
  return r;
}
function waiting(o?: ClientOptions): Rig {
  const r = connected(o);
  r.b.clock.advance(1); // stable (the rig's stableMs is 1): a loss, not an early close
  r.b.transport.fail();
  assert.equal(r.c.state, WAITING);
  assert.deepEqual(takeLog(r), ["close", "offline"]);
  return r;
}
function idle(o?: ClientOptions): Rig {
  const r = connected(Object.assign({ reconnect: false }, o || {}));
  r.b.transport.fail();
  assert.equal(r.c.state, IDLE);
  // Within the default stableMs: an early close, reported as such.
  assert.deepEqual(takeLog(r), ["error " + ERR_EARLY_CLOSE, "close", "offline"]);
  return r;
}
/** Connected with one QoS 1 message unacknowledged, then end(). */
function ending(o?: ClientOptions): Rig & { results: unknown[] } {
  const r = connected(o) as Rig & { results: unknown[] };
  r.results = [];
  r.c.publish("held", "x", { qos: 1 }, (err) => r.results.push(err ? (err as MqttError).code : "ok"));
  assert.deepEqual(sent(r), ["PUBLISH q1 id1 held 'x'"]);
  r.c.end(() => r.results.push("end-callback"));
  assert.equal(r.c.state, ENDING);
  assert.deepEqual(sent(r), []);
  return r;
}
/** end() while connected; the transport's close has not completed. */
function stopping(o?: ClientOptions): Rig {
  const r = connected(o);
  r.b.transport.closeAtOnce = false;
  r.c.end();
  assert.equal(r.c.state, STOPPING);
  assert.deepEqual(sent(r), ["DISCONNECT"]);
  assert.deepEqual(takeLog(r), []);
  return r;
}
function ended(o?: ClientOptions): Rig {
  const r = connected(o);
  r.c.end();
  assert.equal(r.c.state, ENDED);
  assert.deepEqual(takeLog(r), ["close", "end"]);
  sent(r);
  return r;
}

/**
 * The calls that must throw once end() was called. reconnect() is the exception: board helpers
 * call it from Wi-Fi events that may come after end(), so there it does nothing.
 */
function assertCallsThrow(r: Rig): void {
  const opens = r.b.transport.opens.length;
  const state = r.c.state;
  assert.throws(() => r.c.publish("a", "x"), /publish after end\(\)/);
  assert.throws(() => r.c.publish("a", "x", { qos: 2 }, () => assert.fail("no callback")), /after end\(\)/);
  assert.throws(() => r.c.subscribe("a"), /subscribe after end\(\)/);
  assert.throws(() => r.c.unsubscribe("a"), /unsubscribe after end\(\)/);
  r.c.reconnect();
  assert.equal(r.c.state, state);
  assert.deepEqual(sent(r), []);
  assert.equal(r.b.transport.opens.length, opens);
}

/** Lets a long time pass and checks that nothing at all happened. */
function assertQuiet(r: Rig, state: number): void {
  const opens = r.b.transport.opens.length;
  const closes = r.b.transport.closeCalls;
  r.b.clock.advance(3600 * 1000);
  assert.equal(r.c.state, state);
  assert.deepEqual(takeLog(r), []);
  assert.deepEqual(sent(r), []);
  assert.equal(r.b.transport.opens.length, opens);
  assert.equal(r.b.transport.closeCalls, closes);
}

// -----------------------------------------------------------------------------------------------

describe("OPENING", () => {
  test("transport open → CONNECTING, CONNECT goes out", () => {
    const r = opening();
    assert.deepEqual(r.b.transport.opens, [{ host: "127.0.0.1", port: 1883 }]);
    assert.deepEqual(sent(r), []);
    r.b.transport.accept();
    assert.equal(r.c.state, CONNECTING);
    assert.deepEqual(sent(r), ["CONNECT"]);
    assert.deepEqual(takeLog(r), []);
  });

  test("transport closed → close, then WAITING (IDLE with reconnect false)", () => {
    const r = opening();
    r.b.transport.fail();
    assert.equal(r.c.state, WAITING);
    assert.deepEqual(takeLog(r), ["close"]);
    const q = opening({ reconnect: false });
    q.b.transport.fail();
    assert.equal(q.c.state, IDLE);
    assert.deepEqual(takeLog(q), ["close"]);
    assert.equal(q.b.clock.armed(), 0, "no timer left in IDLE");
  });

  test("a close with a reason reports an error with a numeric code", () => {
    const r = opening();
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1883"), { code: "ECONNREFUSED" });
    r.b.transport.fail(cause);
    assert.deepEqual(takeLog(r), ["error " + ERR_CONNECTION_LOST, "close"]);
    assert.match(r.errors[0].message, /ECONNREFUSED/);
    const q = opening();
    q.b.transport.fail("reset by peer");
    assert.deepEqual(takeLog(q), ["error " + ERR_CONNECTION_LOST, "close"]);
    assert.match(q.errors[0].message, /reset by peer/);
    // A reason that already carries a status code is passed on as it is.
    const w = opening();
    const own = mqttError(ERR_CONNECT_TIMEOUT, "adapter gave up");
    w.b.transport.fail(own);
    assert.equal(w.errors[0], own);
  });

  test("timer: no open within the connect timeout → error, close, WAITING", () => {
    const r = opening({ connectTimeoutMs: 5000 });
    r.b.clock.advance(4999);
    assert.equal(r.c.state, OPENING);
    assert.deepEqual(takeLog(r), []);
    r.b.clock.advance(1);
    assert.equal(r.b.transport.closeCalls, 1);
    assert.deepEqual(takeLog(r), ["error " + ERR_CONNECT_TIMEOUT, "close"]);
    assert.equal(r.c.state, WAITING);
  });

  test("end() → STOPPING → close → ENDED", () => {
    const r = opening();
    r.b.transport.closeAtOnce = false;
    r.c.end();
    assert.equal(r.c.state, STOPPING);
    r.b.transport.finishClose();
    assert.equal(r.c.state, ENDED);
    assert.deepEqual(takeLog(r), ["close", "end"]);
    assert.deepEqual(sent(r), []);
    assert.equal(r.b.clock.armed(), 0);
  });

  test("reconnect() does nothing", () => {
    const r = opening();
    r.c.reconnect();
    assert.equal(r.c.state, OPENING);
    assert.equal(r.b.transport.opens.length, 1);
    assert.deepEqual(r.b.transport.misuse, []);
  });
});

describe("CONNECTING", () => {
  test("CONNACK accepted → CONNECTED, connect event with sessionPresent", () => {
    for (const sp of [false, true]) {
      const r = connecting({ clean: false });
      r.b.transport.deliver(connack(0, sp));
      assert.equal(r.c.state, CONNECTED);
      assert.equal(r.c.connected, true);
      assert.deepEqual(takeLog(r), ["connect sp=" + sp]);
    }
  });

  for (const code of [1, 2, 3, 4, 5]) {
    test("CONNACK refused with " + code + " → error, close, retry after the longest delay", () => {
      const r = connecting();
      r.b.randomValue = 0.999999;
      r.b.transport.deliver(connack(code));
      assert.deepEqual(takeLog(r), ["error " + ERR_REFUSED + " rc" + code, "close"]);
      assert.equal(r.errors[0].returnCode, code);
      assert.match(r.errors[0].message, /connection refused: /);
      assert.equal(r.c.connected, false);
      assert.deepEqual(sent(r), ["CONNECT"]);
      // An unattended node keeps trying: a password or an id may be fixed on the broker.
      assert.equal(r.c.state, WAITING);
      assert.equal(Math.round(nextDelay(r)), 8000, "maxMs, not minMs");
      assert.equal(r.b.transport.opens.length, 2);
    });
  }

  test("timer: no CONNACK within the connect timeout → error, close, WAITING", () => {
    const r = connecting({ connectTimeoutMs: 5000 });
    r.b.clock.advance(4999);
    assert.deepEqual(takeLog(r), []);
    r.b.clock.advance(1);
    assert.deepEqual(takeLog(r), ["error " + ERR_CONNECT_TIMEOUT, "close"]);
    assert.equal(r.c.state, WAITING);
  });

  test("a packet before CONNACK → error, close, WAITING", () => {
    const r = connecting();
    r.b.transport.deliver(publish("a", "x"));
    assert.deepEqual(takeLog(r), ["error " + ERR_UNEXPECTED_PACKET, "close"]);
    assert.equal(r.c.state, WAITING);
  });

  test("transport closed → close (no offline), WAITING", () => {
    const r = connecting();
    r.b.transport.fail();
    assert.deepEqual(takeLog(r), ["close"]);
    assert.equal(r.c.state, WAITING);
  });

  test("end() → no DISCONNECT, close, ENDED", () => {
    const r = connecting();
    r.c.end();
    assert.deepEqual(sent(r), ["CONNECT"]);
    assert.deepEqual(takeLog(r), ["close", "end"]);
    assert.equal(r.c.state, ENDED);
  });

  test("end() with a slow close: the connect deadline raises no error after end()", () => {
    const r = connecting({ connectTimeoutMs: 5000 });
    r.b.transport.closeAtOnce = false;
    r.c.end();
    assert.equal(r.c.state, STOPPING);
    r.b.clock.advance(6000);
    assert.deepEqual(takeLog(r), []);
    r.b.transport.finishClose();
    assert.deepEqual(takeLog(r), ["close", "end"]);
  });

  test("end() with a slow close: a late CONNACK connects nothing and writes nothing", () => {
    const r = opening();
    r.c.publish("a", "queued", { qos: 1 });
    r.b.transport.accept();
    r.b.transport.closeAtOnce = false;
    r.c.end();
    assert.equal(r.c.state, STOPPING);
    // Bytes still in flight on the closing connection.
    r.b.transport.events!.onData(new Uint8Array([0x20, 2, 0, 0]), 0, 4);
    assert.deepEqual(takeLog(r), []);
    assert.deepEqual(sent(r), ["CONNECT"]);
    assert.deepEqual(r.b.transport.misuse, [], "nothing written to a closing transport");
    r.b.transport.finishClose();
    assert.deepEqual(takeLog(r), ["close", "end"]);
  });

  test("reconnect() and a second onOpen do nothing", () => {
    const r = connecting();
    r.c.reconnect();
    r.b.transport.events!.onOpen();
    assert.equal(r.c.state, CONNECTING);
    assert.deepEqual(sent(r), ["CONNECT"]);
    assert.equal(r.b.transport.opens.length, 1);
  });
});

describe("CONNECTED", () => {
  test("transport closed → close, offline, WAITING", () => {
    const r = connected();
    r.b.clock.advance(1); // the rig's stableMs
    r.b.transport.fail();
    assert.deepEqual(takeLog(r), ["close", "offline"]);
    assert.equal(r.c.state, WAITING);
    assert.equal(r.c.connected, false);
  });

  test("timer: PINGREQ after keepalive; no PINGRESP → error, close, offline, WAITING", () => {
    const r = connected({ keepalive: 10, pingTimeoutMs: 3000 });
    r.b.clock.advance(10000);
    assert.deepEqual(sent(r), ["PINGREQ"]);
    r.b.transport.deliver(pingresp);
    r.b.clock.advance(10000);
    assert.deepEqual(sent(r), ["PINGREQ"]);
    r.b.clock.advance(2999);
    assert.equal(r.c.state, CONNECTED);
    r.b.clock.advance(1);
    assert.deepEqual(takeLog(r), ["error " + ERR_PING_TIMEOUT, "close", "offline"]);
    assert.equal(r.c.state, WAITING);
  });

  test("a bad packet → error, close, offline, WAITING", () => {
    const r = connected();
    r.b.transport.deliver(new Uint8Array([0x40, 3, 0, 1, 0]));
    assert.equal(takeLog(r).join(","), "error -12,close,offline");
    assert.equal(r.c.state, WAITING);
  });

  test("a second CONNACK, even a refusal, is a protocol violation", () => {
    const r = connected();
    r.b.transport.deliver(connack(5));
    assert.deepEqual(takeLog(r), ["error " + ERR_UNEXPECTED_PACKET, "close", "offline"]);
    assert.equal(r.c.state, WAITING);
  });

  test("end() with nothing held → DISCONNECT, close, end", () => {
    const r = connected();
    let ended = 0;
    r.c.end(() => ended++);
    assert.deepEqual(sent(r), ["DISCONNECT"]);
    assert.deepEqual(takeLog(r), ["close", "end"]);
    assert.equal(r.c.state, ENDED);
    assert.equal(ended, 1);
    assert.equal(r.b.clock.armed(), 0);
  });

  test("end() with a message held → ENDING; end(true) → DISCONNECT and ERR_ENDED", () => {
    const r = ending();
    r.c.end(true);
    assert.deepEqual(sent(r), ["DISCONNECT"]);
    assert.equal(r.c.state, ENDED);
    assert.deepEqual(r.results, [ERR_ENDED, "end-callback"]);
    assert.deepEqual(takeLog(r), ["close", "end"]);
  });

  test("end(true) fails every pending callback with ERR_ENDED", () => {
    const r = connected({ maxInflight: 1 });
    const results: string[] = [];
    const cb = (name: string) => (err: MqttError | null) => results.push(name + ":" + (err ? err.code : "ok"));
    r.c.publish("a", "1", { qos: 1 }, cb("p1"));
    r.c.publish("a", "2", { qos: 2 }, cb("p2"));
    r.c.publish("a", "3", { qos: 0 }, cb("p3"));
    r.c.subscribe("s", { qos: 1 }, (err: MqttError | null, granted: Granted[]) => results.push("sub:" + (err ? err.code : "ok") + ":" + granted.map((g) => g.qos).join()));
    r.c.unsubscribe("u", cb("unsub"));
    r.c.end(true);
    assert.deepEqual(results, ["p1:" + ERR_ENDED, "p2:" + ERR_ENDED, "p3:" + ERR_ENDED, "sub:" + ERR_ENDED + ":128", "unsub:" + ERR_ENDED]);
    assert.equal(r.c.state, ENDED);
  });

  test("reconnect() does nothing", () => {
    const r = connected();
    r.c.reconnect();
    assert.equal(r.c.state, CONNECTED);
    assert.equal(r.b.transport.opens.length, 1);
    assert.deepEqual(sent(r), []);
  });
});

describe("CONNECTED, closed early again and again (takeover)", () => {
  test("each early close is an ERR_EARLY_CLOSE error; the backoff grows; the client never stops", () => {
    // maxTakeovers, once a give-up count, is ignored.
    const r = opening({ reconnect: { minMs: 1000, maxMs: 8000, stableMs: 10000, maxTakeovers: 3 } });
    r.b.randomValue = 0.999999;
    const delays: number[] = [];
    for (let i = 1; i <= 20; i++) {
      r.b.transport.accept();
      r.b.transport.deliver(connack());
      r.b.clock.advance(100);
      r.b.transport.fail();
      // As everywhere, the error that explains a close comes before the close.
      assert.deepEqual(takeLog(r), ["connect sp=false", "error " + ERR_EARLY_CLOSE, "close", "offline"]);
      assert.match(r.errors[r.errors.length - 1].message, new RegExp("closed " + i + " times? in a row soon after connecting \\(another client with this id\\?\\)"));
      assert.equal(r.c.state, WAITING);
      delays.push(Math.round(nextDelay(r)));
      takeLog(r);
    }
    assert.deepEqual(delays.slice(0, 5), [1000, 2000, 4000, 8000, 8000]);
    assert.equal(r.b.transport.opens.length, 21);
  });

  test("a stable connection in between starts the count and the backoff again", () => {
    const r = opening({ reconnect: { minMs: 1000, maxMs: 8000, stableMs: 10000 } });
    r.b.randomValue = 0.999999;
    const cycle = (upMs: number): void => {
      r.b.transport.accept();
      r.b.transport.deliver(connack());
      r.b.clock.advance(upMs);
      r.b.transport.fail();
    };
    cycle(100);
    assert.equal(Math.round(nextDelay(r)), 1000);
    cycle(100);
    assert.equal(Math.round(nextDelay(r)), 2000);
    takeLog(r);
    cycle(10000); // stable
    assert.deepEqual(takeLog(r), ["connect sp=false", "close", "offline"], "a loss, not an early close");
    assert.equal(Math.round(nextDelay(r)), 1000);
    cycle(100);
    assert.match(r.errors[r.errors.length - 1].message, /closed 1 time in a row/);
  });

  test("losses by failure (not the broker closing) do not count", () => {
    const r = opening({ reconnect: { minMs: 1000, maxMs: 8000, stableMs: 10000, maxTakeovers: 2 } });
    for (let i = 0; i < 4; i++) {
      r.b.transport.accept();
      r.b.transport.deliver(connack());
      r.b.transport.deliver(connack()); // protocol violation: dropped by the client
      assert.equal(r.c.state, WAITING);
      nextDelay(r);
    }
  });
});

describe("DROPPING", () => {
  test("transport closed → close, offline, WAITING", () => {
    const r = dropping();
    r.b.transport.finishClose();
    assert.deepEqual(takeLog(r), ["close", "offline"]);
    assert.equal(r.c.state, WAITING);
  });

  test("end() → STOPPING without closing twice, then ENDED", () => {
    const r = dropping();
    assert.equal(r.b.transport.closeCalls, 1);
    r.c.end();
    assert.equal(r.c.state, STOPPING);
    assert.equal(r.b.transport.closeCalls, 1, "the close is already under way");
    assert.deepEqual(sent(r), [], "no DISCONNECT on a failed link");
    r.b.transport.finishClose();
    assert.deepEqual(takeLog(r), ["close", "end"]);
    assert.equal(r.c.state, ENDED);
  });

  test("timers, late bytes and reconnect() change nothing", () => {
    const r = dropping();
    r.b.transport.events!.onData(new Uint8Array([0x30, 3, 0, 1, 0x61]), 0, 5);
    r.c.reconnect();
    assertQuiet(r, DROPPING);
    r.b.transport.finishClose();
    assert.equal(r.c.state, WAITING);
  });
});

describe("WAITING", () => {
  test("backoff timer → reconnect event, OPENING", () => {
    const r = waiting();
    r.b.clock.advance(1000);
    assert.deepEqual(takeLog(r), ["reconnect"]);
    assert.equal(r.c.state, OPENING);
    assert.equal(r.b.transport.opens.length, 2);
    r.b.transport.accept();
    r.b.transport.deliver(connack());
    assert.deepEqual(takeLog(r), ["connect sp=false"]);
  });

  test("end() → end at once, held messages fail with ERR_ENDED, no timer left", () => {
    const r = waiting();
    const results: unknown[] = [];
    r.c.publish("a", "x", { qos: 1 }, (err) => results.push(err ? err.code : "ok"));
    r.c.end(() => results.push("ended"));
    assert.equal(r.c.state, ENDED);
    assert.deepEqual(results, [ERR_ENDED, "ended"]);
    assert.deepEqual(takeLog(r), ["end"]);
    assert.equal(r.b.clock.armed(), 0);
    assertQuiet(r, ENDED);
  });

  test("reconnect() → OPENING at once; the old backoff timer opens nothing more", () => {
    const r = waiting();
    r.c.reconnect();
    assert.equal(r.c.state, OPENING);
    assert.equal(r.b.transport.opens.length, 2);
    r.b.clock.advance(2000);
    assert.equal(r.b.transport.opens.length, 2);
    assert.deepEqual(r.b.transport.misuse, []);
  });

  test("a stray close or open report is ignored", () => {
    const r = waiting();
    r.b.transport.events!.onClose(new Error("late"));
    r.b.transport.events!.onOpen();
    assert.deepEqual(takeLog(r), []);
    assert.equal(r.c.state, WAITING);
    assert.deepEqual(sent(r), []);
  });
});

describe("IDLE", () => {
  test("no timer runs; nothing happens until reconnect()", () => {
    const r = idle();
    assert.equal(r.b.clock.armed(), 0);
    assertQuiet(r, IDLE);
    r.b.transport.events!.onClose(null);
    assert.deepEqual(takeLog(r), []);
    r.c.reconnect();
    assert.equal(r.c.state, OPENING);
    r.b.transport.accept();
    r.b.transport.deliver(connack());
    assert.equal(r.c.state, CONNECTED);
  });

  test("end() → ENDED", () => {
    const r = idle();
    r.c.end();
    assert.equal(r.c.state, ENDED);
    assert.deepEqual(takeLog(r), ["end"]);
    assert.deepEqual(sent(r), []);
  });

  test("messages published while idle wait for reconnect()", () => {
    const r = idle();
    r.c.publish("a", "x", { qos: 1 });
    assert.deepEqual(sent(r), []);
    r.c.reconnect();
    r.b.transport.accept();
    r.b.transport.deliver(connack());
    assert.deepEqual(sent(r), ["CONNECT", "PUBLISH q1 id1 a 'x'"]);
  });
});

describe("ENDING", () => {
  test("outbox empties → DISCONNECT, close, end, callbacks in order", () => {
    const r = ending();
    r.b.transport.deliver(puback(1));
    assert.deepEqual(sent(r), ["DISCONNECT"]);
    assert.deepEqual(takeLog(r), ["close", "end"]);
    assert.deepEqual(r.results, ["ok", "end-callback"]);
    assert.equal(r.c.state, ENDED);
  });

  test("waits for subscribe and unsubscribe acknowledgements too", () => {
    const r = connected();
    r.c.subscribe("a", { qos: 1 });
    r.c.unsubscribe("b");
    r.c.end();
    assert.equal(r.c.state, ENDING);
    r.b.transport.deliver(suback(1, [1]));
    assert.equal(r.c.state, ENDING);
    r.b.transport.deliver(unsuback(2));
    assert.equal(r.c.state, ENDED);
    assert.deepEqual(sent(r), ["SUBSCRIBE 1 a:1", "UNSUBSCRIBE 2 b", "DISCONNECT"]);
  });

  test("a QoS 2 message completes its whole flow first", () => {
    const r = connected();
    r.c.publish("a", "x", { qos: 2 });
    r.c.end();
    r.b.transport.deliver(pubrec(1));
    assert.deepEqual(sent(r), ["PUBLISH q2 id1 a 'x'", "PUBREL 1"]);
    assert.equal(r.c.state, ENDING);
    r.b.transport.deliver(pubcomp(1));
    assert.deepEqual(sent(r), ["DISCONNECT"]);
    assert.equal(r.c.state, ENDED);
  });

  test("end() again waits on; end(true) stops at once", () => {
    const r = ending();
    r.c.end();
    assert.equal(r.c.state, ENDING);
    assert.deepEqual(sent(r), []);
    r.c.end(true);
    assert.equal(r.c.state, ENDED);
    assert.deepEqual(sent(r), ["DISCONNECT"]);
    assert.deepEqual(r.results, [ERR_ENDED, "end-callback"]);
  });

  test("transport closed → close, offline, end; held messages fail with ERR_ENDED", () => {
    const r = ending();
    r.b.transport.fail();
    assert.deepEqual(takeLog(r), ["close", "offline", "end"]);
    assert.deepEqual(r.results, [ERR_ENDED, "end-callback"]);
    assert.equal(r.c.state, ENDED);
    assert.equal(r.b.transport.opens.length, 1, "no reconnect after end()");
  });

  test("timer: keepalive still runs; a ping timeout ends the client", () => {
    const r = ending({ keepalive: 10, pingTimeoutMs: 3000 });
    r.b.clock.advance(10000);
    assert.deepEqual(sent(r), ["PINGREQ"]);
    r.b.clock.advance(3000);
    assert.deepEqual(takeLog(r), ["error " + ERR_PING_TIMEOUT, "close", "offline", "end"]);
    assert.equal(r.c.state, ENDED);
    assert.deepEqual(r.results, [ERR_ENDED, "end-callback"]);
  });

  test("calls after end() throw and send nothing", () => {
    const r = ending();
    assertCallsThrow(r);
    assert.equal(r.c.state, ENDING);
  });
});

describe("STOPPING", () => {
  test("transport closed → close, end", () => {
    const r = stopping();
    r.b.transport.finishClose();
    assert.deepEqual(takeLog(r), ["close", "end"]);
    assert.equal(r.c.state, ENDED);
  });

  test("end(callback) runs the callback once ended", () => {
    const r = stopping();
    let n = 0;
    r.c.end(() => n++);
    r.c.end(true, () => n++);
    assert.equal(n, 0);
    assert.equal(r.b.transport.closeCalls, 1);
    r.b.transport.finishClose();
    assert.equal(n, 2);
  });

  test("timers and late bytes change nothing; calls throw", () => {
    const r = stopping();
    r.b.transport.events!.onData(new Uint8Array([0x30, 3, 0, 1, 0x61]), 0, 5);
    assertQuiet(r, STOPPING);
    assertCallsThrow(r);
  });
});

describe("ENDED", () => {
  test("calls throw, end() calls back at once, stray reports are ignored, no timer", () => {
    const r = ended();
    assertCallsThrow(r);
    let n = 0;
    r.c.end(() => n++);
    assert.equal(n, 1);
    r.b.transport.events!.onClose(new Error("late"));
    r.b.transport.events!.onOpen();
    assert.equal(r.b.clock.armed(), 0);
    assertQuiet(r, ENDED);
    assert.deepEqual(r.b.transport.misuse, []);
  });
});

// -----------------------------------------------------------------------------------------------

/**
 * Time from now until the transport is opened again, firing timers in order (the client's one
 * timer may first fire for an earlier deadline and re-arm itself).
 */
function nextDelay(r: Rig): number {
  const start = r.b.clock.now();
  const opens = r.b.transport.opens.length;
  for (let i = 0; i < 10; i++) {
    const due = r.b.clock.nextDueMs();
    assert.ok(due >= 0, "a timer is armed");
    r.b.clock.advanceTo(due);
    if (r.b.transport.opens.length > opens) {
      assert.equal(r.b.transport.opens.length, opens + 1);
      return r.b.clock.now() - start;
    }
  }
  throw new Error("the transport was not reopened");
}

describe("backoff", () => {
  test("doubles from minMs up to maxMs, with jitter between d/2 and d", () => {
    for (const [random, expect] of [
      [0, [500, 1000, 2000, 4000, 4000, 4000]],
      [0.5, [750, 1500, 3000, 6000, 6000]],
      [0.999, [999.5, 1999, 3998, 7996, 7996]],
    ] as [number, number[]][]) {
      const r = opening({ reconnect: { minMs: 1000, maxMs: 8000, stableMs: 10000 } });
      r.b.randomValue = random;
      const delays: number[] = [];
      for (let i = 0; i < expect.length; i++) {
        r.b.transport.fail(); // the connection could not be opened
        delays.push(nextDelay(r));
      }
      assert.deepEqual(delays, expect, "random " + random);
    }
  });

  test("a maxMs below minMs is raised to it", () => {
    const r = opening({ reconnect: { minMs: 4000, maxMs: 1000 } });
    r.b.randomValue = 0.999999;
    r.b.transport.fail();
    assert.ok(Math.abs(nextDelay(r) - 4000) < 1);
    r.b.transport.fail();
    assert.ok(Math.abs(nextDelay(r) - 4000) < 1);
  });

  test("refusals wait the longest delay, with its jitter", () => {
    const r = connecting();
    r.b.randomValue = 0;
    r.b.transport.deliver(connack(3));
    assert.equal(nextDelay(r), 4000);
    r.b.transport.accept();
    r.b.transport.deliver(connack(5));
    assert.equal(nextDelay(r), 4000);
    // A refusal does not make the next ordinary loss wait the longest delay.
    r.b.transport.fail();
    assert.ok(nextDelay(r) < 4000);
  });

  test("resets only after a connection that stayed up stableMs", () => {
    const r = opening({ reconnect: { minMs: 1000, maxMs: 64000, stableMs: 10000 } });
    r.b.randomValue = 0.999999;
    const up = () => {
      r.b.transport.accept();
      r.b.transport.deliver(connack());
    };
    r.b.transport.fail();
    assert.equal(Math.round(nextDelay(r)), 1000);
    r.b.transport.fail();
    assert.equal(Math.round(nextDelay(r)), 2000);
    // Up, but lost within stableMs: the delay keeps growing.
    up();
    r.b.clock.advance(9999);
    r.b.transport.fail();
    assert.equal(Math.round(nextDelay(r)), 4000);
    // Up for stableMs: back to minMs.
    up();
    r.b.clock.advance(10000);
    r.b.transport.fail();
    assert.equal(Math.round(nextDelay(r)), 1000);
    r.b.transport.fail();
    assert.equal(Math.round(nextDelay(r)), 2000);
  });

  test("a stable connection that ends in a failure (ping timeout) resets the delay too", () => {
    const r = opening({ keepalive: 10, pingTimeoutMs: 3000, reconnect: { minMs: 1000, maxMs: 64000, stableMs: 10000 } });
    r.b.randomValue = 0.999999;
    for (let i = 0; i < 3; i++) {
      r.b.transport.fail();
      nextDelay(r);
    }
    r.b.transport.accept();
    r.b.transport.deliver(connack());
    takeLog(r);
    r.b.clock.advance(13000); // ping at 10 s, no answer by 13 s
    assert.deepEqual(takeLog(r), ["error " + ERR_PING_TIMEOUT, "close", "offline"]);
    assert.equal(Math.round(nextDelay(r)), 1000);
  });

  test("reconnect: false stays IDLE after a loss", () => {
    const r = connected({ reconnect: false });
    r.b.clock.advance(10000);
    sent(r);
    r.b.transport.fail();
    assert.equal(r.c.state, IDLE);
    assert.deepEqual(takeLog(r), ["close", "offline"]);
    assertQuiet(r, IDLE);
  });
});

// -----------------------------------------------------------------------------------------------

describe("programmer errors throw synchronously and send nothing", () => {
  test("publish", () => {
    const r = connected({ txBytes: 64 });
    const cases: [() => void, RegExp][] = [
      [() => r.c.publish("a/+/b", "x"), /invalid topic name/],
      [() => r.c.publish("a/#", "x"), /invalid topic name/],
      [() => r.c.publish("", "x"), /invalid topic name/],
      [() => r.c.publish("a", "x", { qos: 3 }), /bad QoS/],
      [() => r.c.publish("a\ud800", "x"), /invalid UTF-8/],
      [() => r.c.publish("a".repeat(70), "x"), /header is larger than the transmit buffer: raise txBytes/],
    ];
    for (const [call, message] of cases) {
      let called = false;
      assert.throws(call, (e: Error) => message.test(e.message) && /^mcu-mqtt: /.test(e.message));
      assert.throws(() => r.c.publish("a/+", "x", { qos: 1 }, () => (called = true)));
      assert.equal(called, false);
    }
    assert.deepEqual(sent(r), []);
    assert.equal(r.c.session.pendingMessages(), 0);
    assert.deepEqual(takeLog(r), []);
  });

  test("subscribe and unsubscribe", () => {
    const r = connected();
    assert.throws(() => r.c.subscribe("a/#/b"), /invalid topic filter/);
    assert.throws(() => r.c.subscribe(""), /invalid topic filter/);
    assert.throws(() => r.c.subscribe([]), /at least one filter/);
    assert.throws(() => r.c.subscribe("a", { qos: 3 }), /qos must be 0, 1 or 2/);
    assert.throws(() => r.c.unsubscribe("a+"), /invalid topic filter/);
    assert.throws(() => r.c.unsubscribe([]), /at least one filter/);
    assert.deepEqual(sent(r), []);
    assert.equal(r.c.session.pendingRequests(), 0);
  });

  test("options", () => {
    const cases: [ClientOptions, RegExp][] = [
      [{ protocolVersion: 3, clientId: "abcdefghijklmnopqrstuvwx" }, /at most 23 bytes/],
      [{ protocolVersion: 3, clientId: "ééééééééééééé" }, /at most 23 bytes/], // 13 characters, 26 bytes
      [{ clientId: "", clean: false }, /client id is required/],
      [{ clean: false }, /client id is required/],
      [{ protocolVersion: 5 }, /protocolVersion/],
      [{ keepalive: 65536 }, /keepalive/],
      [{ keepalive: 1.5 }, /keepalive/],
      [{ will: { topic: "a/+", payload: "x", qos: 0, retain: false } }, /will topic/],
      [{ will: { topic: "a", payload: "x", qos: 3, retain: false } }, /will qos/],
      [{ rxBytes: 0 }, /rxBytes/],
      [{ reconnect: { minMs: -1 } }, /minMs/],
    ];
    for (const [options, message] of cases) {
      const b = fakeBoard();
      assert.throws(() => new Client(options, b), message, JSON.stringify(options));
      assert.equal(b.transport.opens.length, 0, "nothing opened for " + JSON.stringify(options));
      assert.equal(b.clock.armed(), 0);
    }
    // The limits themselves are fine.
    const b = fakeBoard();
    new Client({ protocolVersion: 3, clientId: "abcdefghijklmnopqrstuvw" }, b);
    assert.equal(b.transport.opens.length, 1);
  });

  test("an empty client id with a clean session is generated", () => {
    const b = fakeBoard();
    const c = new Client({ protocolVersion: 3 }, b);
    assert.match(c.clientId, /^mcu-mqtt-[0-9a-f]{8}$/);
    b.transport.accept();
    const p = b.transport.wire.packets()[0] as { clientId: string };
    assert.equal(p.clientId, c.clientId);
  });
});

describe("runtime failures go to callbacks or the error event", () => {
  test("a full outbox: callback gets ERR_OUTBOX_FULL, nothing queued or sent", () => {
    const r = connected({ outboxBytes: 20 });
    r.c.publish("a", "0123456789", { qos: 1 }); // 17 bytes
    sent(r);
    let err: MqttError | null = null;
    assert.equal(r.c.publish("a", "2", { qos: 1 }, (e) => (err = e)), false);
    assert.equal(err!.code, ERR_OUTBOX_FULL);
    assert.match(err!.message, /outbox full: 1 messages \(17 of 20 bytes\)/);
    r.c.publish("a", "3", { qos: 1 });
    assert.deepEqual(takeLog(r), ["error " + ERR_OUTBOX_FULL], "without a callback: the error event");
    assert.deepEqual(sent(r), []);
    assert.equal(r.c.session.pendingMessages(), 1);
  });

  test("a QoS 1/2 message larger than the outbox: the error names outboxBytes", () => {
    const r = connected({ outboxBytes: 1000, txBytes: 64 });
    let err: MqttError | null = null;
    assert.equal(r.c.publish("a", new Uint8Array(2000), { qos: 1 }, (e) => (err = e)), false);
    assert.equal(err!.code, ERR_OUTBOX_FULL);
    assert.match(err!.message, /2008-byte message does not fit the outbox: raise outboxBytes \(1000\)/);
    // Larger than txBytes but within the outbox: fine at QoS 1, sent from the outbox. Past half
    // of the outbox, publish says wait (false) though the message was taken.
    assert.equal(r.c.publish("a", new Uint8Array(500), { qos: 1 }), false);
    assert.deepEqual(sent(r), ["PUBLISH q1 id1 a '" + "\0".repeat(500) + "'"]);
  });

  test("too many requests: callback gets ERR_REQUESTS_FULL", () => {
    const r = connected({ requestSlots: 1 });
    r.c.subscribe("a");
    let err: MqttError | null = null;
    r.c.subscribe("b", (e: MqttError | null) => (err = e));
    assert.equal(err!.code, ERR_REQUESTS_FULL);
    assert.deepEqual(sent(r), ["SUBSCRIBE 1 a:0"]);
  });

  test("a refused subscription: granted 128 and ERR_SUBSCRIBE_REFUSED", () => {
    const r = connected();
    let result: [MqttError | null, Granted[]] | null = null;
    r.c.subscribe(["ok", "no"], { qos: 1 }, (e: MqttError | null, g: Granted[]) => (result = [e, g]));
    r.b.transport.deliver(suback(1, [1, 0x80]));
    assert.equal(result![0]!.code, ERR_SUBSCRIBE_REFUSED);
    assert.match(result![0]!.message, /'no'/);
    assert.deepEqual(result![1], [{ topic: "ok", qos: 1 }, { topic: "no", qos: 128 }]);
    r.c.subscribe("no2");
    r.b.transport.deliver(suback(2, [0x80]));
    assert.deepEqual(takeLog(r), ["error " + ERR_SUBSCRIBE_REFUSED]);
  });
});

// -----------------------------------------------------------------------------------------------

describe("listeners and handlers", () => {
  test("a listener that throws goes to 'error' and the client carries on", () => {
    const r = connecting();
    const boom = new Error("listener bug");
    r.c.on("connect", () => {
      throw boom;
    });
    r.c.on("message", () => {
      throw boom;
    });
    r.b.transport.deliver(connack());
    assert.equal(r.c.state, CONNECTED);
    assert.deepEqual(takeLog(r), ["connect sp=false", "error undefined"]);
    assert.equal(r.errors[0], boom);
    r.b.transport.deliver(publish("t", "m", 1, 7));
    assert.deepEqual(sent(r), ["CONNECT", "PUBACK 7"], "the acknowledgement still goes out");
    // Callbacks too.
    r.c.publish("a", "x", { qos: 1 }, () => {
      throw boom;
    });
    r.b.transport.deliver(puback(1));
    assert.equal(r.errors.filter((e) => e === boom).length, 3);
    assert.equal(r.c.state, CONNECTED);
    // An error listener that throws is dropped, not rethrown.
    r.c.on("error", () => {
      throw new Error("error listener bug");
    });
    assert.doesNotThrow(() => r.b.transport.deliver(publish("t", "m", 0)));
    assert.equal(r.c.state, CONNECTED);
  });

  test("a listener removed while its event is emitted does not make the next one miss it", () => {
    const r = connecting();
    const calls: string[] = [];
    const first = () => {
      calls.push("first");
      r.c.off("connect", first);
    };
    r.c.on("connect", first);
    r.c.on("connect", () => calls.push("second"));
    r.b.transport.deliver(connack());
    assert.deepEqual(calls, ["first", "second"]);
  });

  test("per-subscription handlers get the messages their filter matches", () => {
    const r = connected();
    const got: string[] = [];
    r.c.subscribe("a/+/c", { qos: 1, onMessage: (t, p) => got.push("plus " + t + " " + text(p)) });
    r.c.subscribe(["a/#", "x"], { onMessage: (t) => got.push("hash " + t) });
    r.b.transport.deliver([suback(1, [1]), suback(2, [0, 0])]);
    r.b.transport.deliver([publish("a/b/c", "1"), publish("a/b", "2"), publish("x", "3"), publish("y", "4")]);
    assert.deepEqual(got, ["plus a/b/c 1", "hash a/b/c", "hash a/b", "hash x"]);
    assert.deepEqual(takeLog(r), ["message a/b/c '1'", "message a/b '2'", "message x '3'", "message y '4'"]);
  });

  test("handlers are removed on unsubscribe (at once) and when the broker refuses the filter", () => {
    const r = connected();
    const got: string[] = [];
    r.c.subscribe("a/#", { onMessage: (t) => got.push("a " + t) });
    r.c.subscribe("b/#", { onMessage: (t) => got.push("b " + t) });
    r.b.transport.deliver([suback(1, [0]), suback(2, [0x80])]);
    r.c.unsubscribe("a/#");
    r.b.transport.deliver([publish("a/1", "x"), publish("b/1", "x")]);
    assert.deepEqual(got, [], "no handler is left");
    assert.deepEqual(takeLog(r), ["error " + ERR_SUBSCRIBE_REFUSED, "message a/1 'x'", "message b/1 'x'"]);
    const u = sent(r).filter((s) => s.startsWith("UNSUBSCRIBE"));
    assert.deepEqual(u, ["UNSUBSCRIBE 3 a/#"]);
  });

  test("a handler that unsubscribes does not make the next handler miss the message", () => {
    const r = connected();
    const got: string[] = [];
    r.c.subscribe("a", { onMessage: () => {
      got.push("first");
      r.c.unsubscribe("a");
    } });
    r.c.subscribe("+", { onMessage: () => got.push("second") });
    r.b.transport.deliver(publish("a", "x"));
    assert.deepEqual(got, ["first", "second"]);
  });

  test("a handler that throws goes to 'error'; the others still run", () => {
    const r = connected();
    const got: string[] = [];
    r.c.subscribe("a", { onMessage: () => {
      throw new Error("handler bug");
    } });
    r.c.subscribe("#", { onMessage: () => got.push("other") });
    r.b.transport.deliver(publish("a", "x", 2, 9));
    assert.deepEqual(got, ["other"]);
    assert.equal(r.errors.length, 1);
    assert.ok(sent(r).includes("PUBREC 9"));
  });

  test("publish from inside a message handler goes out and the acknowledgement follows", () => {
    const r = connected();
    r.c.subscribe("req", { onMessage: (_t, p) => r.c.publish("res", p, { qos: 1 }) });
    r.b.transport.deliver(suback(1, [1]));
    sent(r);
    r.b.transport.deliver(publish("req", "payload-bytes", 1, 40), 5);
    assert.deepEqual(sent(r), ["PUBLISH q1 id2 res 'payload-bytes'", "PUBACK 40"]);
  });
});

describe("events", () => {
  test("connect, message, drop, close, offline, reconnect, error, end in a full life", () => {
    const r = opening({ rxBytes: 32, keepalive: 0 });
    r.b.randomValue = 0;
    r.b.transport.accept();
    r.b.transport.deliver(connack(0, false));
    r.b.transport.deliver(publish("t", "hello"));
    r.b.transport.deliver(publish("t", new Uint8Array(100)));
    r.b.clock.advance(1); // the rig's stableMs: a loss, not an early close
    r.b.transport.fail();
    r.b.clock.advance(500);
    r.b.transport.accept();
    r.b.transport.deliver(connack(0, true));
    r.b.transport.deliver(connack(0, true));
    r.b.clock.advance(1000);
    r.b.transport.accept();
    r.b.transport.deliver(connack(0, false));
    r.c.end();
    assert.deepEqual(takeLog(r), [
      "connect sp=false",
      "message t 'hello'",
      "drop -17",
      "close",
      "offline",
      "reconnect",
      "connect sp=true",
      "error " + ERR_UNEXPECTED_PACKET,
      "close",
      "offline",
      "reconnect",
      "connect sp=false",
      "close",
      "end",
    ]);
  });

  test("a publish callback runs when the message is written (QoS 0) or acknowledged (QoS 1/2)", () => {
    const r = connected();
    const order: string[] = [];
    r.c.publish("a", "0", { qos: 0 }, (e) => order.push("q0 " + e));
    order.push("returned");
    r.c.publish("a", "1", { qos: 1 }, (e) => order.push("q1 " + e));
    r.c.publish("a", "2", { qos: 2 }, (e) => order.push("q2 " + e));
    r.b.transport.deliver([puback(1), pubrec(2)]);
    assert.deepEqual(order, ["q0 null", "returned", "q1 null"]);
    r.b.transport.deliver(pubcomp(2));
    assert.deepEqual(order, ["q0 null", "returned", "q1 null", "q2 null"]);
  });

  test("unsubscribe callback runs on UNSUBACK; subscribe callback gets the granted list", () => {
    const r = connected();
    const out: string[] = [];
    r.c.subscribe(["a", "b"], { qos: 2 }, (e: MqttError | null, g: Granted[]) => out.push("sub " + e + " " + JSON.stringify(g)));
    r.c.unsubscribe("a", (e) => out.push("unsub " + e));
    const [s, u] = r.b.transport.wire.take().slice(-2) as [SubscribePacket, UnsubscribePacket];
    r.b.transport.deliver([suback(s.packetId, [2, 1]), unsuback(u.packetId)]);
    assert.deepEqual(out, ['sub null [{"topic":"a","qos":2},{"topic":"b","qos":1}]', "unsub null"]);
  });
});

describe("transport back-pressure and sessions", () => {
  test("writes returning false hold publishes until onDrain", () => {
    const r = connected({ maxInflight: 8 });
    r.b.transport.writeResult = false;
    r.c.publish("a", "1", { qos: 1 });
    r.c.publish("a", "2", { qos: 0 });
    r.c.publish("a", "3", { qos: 2 });
    assert.deepEqual(sent(r), ["PUBLISH q1 id1 a '1'"]);
    r.b.transport.drain();
    assert.deepEqual(sent(r), ["PUBLISH q0 a '2'", "PUBLISH q2 id2 a '3'"]);
  });

  test("a resumed session gets unacknowledged messages again with DUP", () => {
    const r = connected({ clean: false });
    r.c.publish("a", "1", { qos: 1 });
    r.c.publish("a", "2", { qos: 2 });
    r.b.transport.deliver(pubrec(2));
    sent(r);
    r.b.clock.advance(1);
    r.b.transport.fail();
    r.b.clock.advance(999);
    r.b.transport.accept();
    r.b.transport.deliver(connack(0, true));
    assert.deepEqual(sent(r), ["CONNECT", "PUBLISH q1 id1 dup a '1'", "PUBREL 2"]);
    assert.deepEqual(takeLog(r), ["close", "offline", "reconnect", "connect sp=true"]);
  });

  test("reconnect() from WAITING starts an attempt without a 'reconnect' event (that announces automatic retries)", () => {
    const r = waiting();
    r.c.reconnect();
    assert.deepEqual(takeLog(r), []);
    assert.equal(r.c.state, OPENING);
  });
});

describe("a broker that answers inside write()", () => {
  test("acknowledgements delivered from inside the write complete publishes", () => {
    const r = connected({ maxInflight: 2 });
    r.b.transport.onWrite = (packets, t) => {
      for (const p of packets) {
        if (p.type === 3 && p.qos === 1) t.deliver(puback(p.packetId));
        if (p.type === 3 && p.qos === 2) t.deliver(pubrec(p.packetId));
        if (p.type === 6) t.deliver(pubcomp(p.packetId));
        if (p.type === 8) t.deliver(suback(p.packetId, p.subscriptions.map((x) => x.qos)));
        if (p.type === 12) t.deliver(pingresp);
      }
    };
    const results: string[] = [];
    for (let i = 0; i < 5; i++) r.c.publish("a", "m" + i, { qos: (i % 2) + 1 }, (e) => results.push(i + ":" + e));
    r.c.subscribe("s", { qos: 1 }, (e: MqttError | null) => results.push("sub:" + e));
    assert.deepEqual(results, ["0:null", "1:null", "2:null", "3:null", "4:null", "sub:null"]);
    assert.equal(r.c.session.pendingMessages(), 0);
    r.b.clock.advance(60000);
    assert.equal(r.c.state, CONNECTED, "PINGRESP inside the write counts");
    assert.deepEqual(takeLog(r), []);
    r.c.end();
    assert.equal(r.c.state, ENDED);
  });

  test("a close from inside write() while publishing", () => {
    const r = connected();
    r.b.transport.onWrite = (packets, t) => {
      if (packets[0].type === 3) t.fail();
    };
    r.b.clock.advance(1);
    r.c.publish("a", "x", { qos: 1 });
    assert.equal(r.c.state, WAITING);
    assert.deepEqual(takeLog(r), ["close", "offline"]);
    r.b.transport.onWrite = null;
    r.b.clock.advance(1000);
    r.b.transport.accept();
    r.b.transport.deliver(connack(0, false));
    assert.deepEqual(sent(r), ["PUBLISH q1 id1 a 'x'", "CONNECT", "PUBLISH q1 id1 a 'x'"]);
    assert.deepEqual(r.b.transport.misuse, []);
  });
});

describe("listeners that act while a close is reported", () => {
  test("end() from an error listener during a failed open ends the client", () => {
    const r = opening({ reconnect: { minMs: 1000, maxMs: 8000 } });
    let endedCalls = 0;
    r.c.on("error", () => r.c.end(() => endedCalls++));
    r.b.transport.fail(new Error("connection refused"));
    assert.equal(r.c.state, ENDED);
    assert.equal(endedCalls, 1);
    r.b.clock.advance(60000);
    assert.deepEqual(sent(r), [], "no new attempt after end()");
  });

  test("end() from a close listener after an accepted connection ends the client", () => {
    const r = opening({ reconnect: { minMs: 1000, maxMs: 8000 } });
    r.b.transport.accept();
    r.b.transport.deliver(connack());
    let ended = false;
    r.c.on("close", () => r.c.end(() => (ended = true)));
    r.b.transport.fail();
    assert.equal(r.c.state, ENDED);
    assert.ok(ended);
  });

  test("reconnect() from an offline listener opens at once, without a second attempt", () => {
    const r = opening({ reconnect: { minMs: 1000, maxMs: 8000 } });
    r.b.transport.accept();
    r.b.transport.deliver(connack());
    r.c.on("offline", () => r.c.reconnect());
    r.b.transport.fail();
    assert.equal(r.c.state, OPENING);
    // Past the first backoff delay (at most minMs) but within the connect timeout (5 s here): no
    // second attempt started.
    r.b.clock.advance(4000);
    assert.equal(r.c.state, OPENING);
    assert.deepEqual(takeLog(r).filter((e) => e === "reconnect"), []);
  });
});

describe("the debug log (Node builds; compiled out of the board bundles)", () => {
  test("one line per state change and per packet sent or received, with type, QoS, id and size", () => {
    const b = fakeBoard();
    const lines: string[] = [];
    const c = new Client({ clientId: "dbg", keepalive: 10 }, b);
    c.on("debug", (line: string) => lines.push(line));
    b.transport.accept();
    b.transport.deliver(connack(0));
    c.publish("a/b", "x", { qos: 1 });
    c.publish("a/c", "y");
    b.transport.deliver([puback(1), publish("in", "z", 2, 7)]);
    assert.deepEqual(lines, [
      "state opening -> connecting",
      "sent CONNECT, 17 bytes",
      "received CONNACK, 4 bytes",
      "state connecting -> connected",
      "sent PUBLISH q1 id 1, 10 bytes",
      "sent PUBLISH q0, 8 bytes",
      "received PUBACK id 1, 4 bytes",
      "received PUBLISH q2 id 7, 9 bytes",
      "sent PUBREC id 7, 4 bytes",
    ]);
  });

  test("no debug listener, no debug work: the other events are unchanged", () => {
    const r = connected();
    r.c.publish("a", "b");
    assert.deepEqual(takeLog(r), []);
  });
});

describe("rawMessage: the payload where it lies, nothing allocated", () => {
  test("a rawMessage listener gets the buffer and the packet's offsets; no view is made for it", () => {
    // A client with no `message` listener (the rig's would ask for a view).
    const b = fakeBoard();
    const r: Rig = { c: new Client({ clientId: "raw", keepalive: 10 }, b), b: b, log: [], errors: [] };
    b.transport.accept();
    b.transport.deliver(connack(0));
    sent(r);
    const got: string[] = [];
    r.c.on("rawMessage", (topic: string, buf: Uint8Array, p: { payloadOff: number; payloadLen: number; qos: number }) => {
      got.push(topic + " " + text(Buffer.from(buf.buffer, buf.byteOffset + p.payloadOff, p.payloadLen)) + " q" + p.qos);
    });
    const views = viewsMadeDuring(() => r.b.transport.deliver([publish("a", "one"), publish("b", "two", 1, 5)]));
    assert.deepEqual(got, ["a one q0", "b two q1"]);
    assert.equal(views, 0);
    assert.deepEqual(sent(r), ["PUBACK 5"]);
  });

  test("message listeners and per-subscription handlers still get a view (one, shared)", () => {
    const r = connected();
    const seen: Uint8Array[] = [];
    r.c.on("message", (_t: string, payload: Uint8Array) => seen.push(payload));
    r.c.subscribe("a", { onMessage: (_t, payload) => seen.push(payload) });
    r.b.transport.deliver(suback(1, [0]));
    const views = viewsMadeDuring(() => r.b.transport.deliver(publish("a", "x")));
    assert.equal(views, 1);
    assert.equal(seen.length, 2);
    assert.equal(seen[0], seen[1]);
    assert.equal(text(seen[0]), "x");
  });
});

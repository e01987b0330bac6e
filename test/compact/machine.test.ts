/**
 * The state machine of src/compact.ts on a manual clock and a fake link: every (state, event)
 * pair of its table, then keepalive, deadlines, backoff, early closes, refusals, `reconnect:
 * false` and subscriptions across reconnects.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CONNECTED, CONNECTING, DROPPING, ENDED, ENDING, IDLE, OPENING, WAITING, type BoardOptions } from "../../src/compact.ts";
import {
  ERR_CONNECT_TIMEOUT,
  ERR_CONNECTION_LOST,
  ERR_EARLY_CLOSE,
  ERR_ENDED,
  ERR_MALFORMED,
  ERR_PING_TIMEOUT,
  ERR_REFUSED,
  ERR_SUBSCRIBE_REFUSED,
} from "../../src/status.ts";
import {
  CONNECT,
  DISCONNECT,
  PINGREQ,
  PINGRESP,
  PUBLISH,
  SUBSCRIBE,
  type Packet,
  type PublishPacket,
  type SubscribePacket,
} from "../../src/packet/index.ts";
import { connack, puback, pubrec, pubcomp, suback } from "../helpers/wire.ts";
import { connected, handshake, rig, stateOf, type Rig } from "./helpers.ts";

const NAMES = ["WAITING", "OPENING", "CONNECTING", "CONNECTED", "DROPPING", "IDLE", "ENDING", "ENDED"];

/** Long deadlines so that "before" and "after" are far apart. */
const OPTS: BoardOptions = { reconnect: { minMs: 5000, maxMs: 60000 }, connectTimeoutMs: 10000, keepalive: 60 };

/** Five remaining-length bytes: malformed whatever the state. */
const MALFORMED = "\x30\xff\xff\xff\xff\x01";

function types(ps: Packet[]): number[] {
  return ps.map((p) => p.type);
}

/** A fresh rig in each state of the table. */
const reach: { [state: number]: () => Rig } = {
  [WAITING]: () => {
    const r = connected(OPTS);
    r.board.cut();
    assert.equal(stateOf(r.client), WAITING);
    return r;
  },
  [OPENING]: () => rig(OPTS),
  [CONNECTING]: () => {
    const r = rig(OPTS);
    r.board.accept();
    r.board.take();
    return r;
  },
  [CONNECTED]: () => connected(OPTS),
  [DROPPING]: () => {
    const r = connected(OPTS);
    r.board.hold = true;
    r.board.rawData(MALFORMED);
    return r;
  },
  [IDLE]: () => {
    const r = connected(Object.assign({}, OPTS, { reconnect: false }));
    r.board.cut();
    return r;
  },
  [ENDING]: () => {
    const r = connected(OPTS);
    r.board.hold = true;
    r.client.end();
    return r;
  },
  [ENDED]: () => {
    const r = connected(OPTS);
    r.client.end();
    r.board.settle();
    return r;
  },
};

interface Seen {
  before: { opens: number; errors: number; events: number };
  r: Rig;
}

type Event = (r: Rig) => void;
const events: { [name: string]: Event } = {
  "tick before the deadline": (r) => r.board.advance(1000),
  "tick past the deadline": (r) => {
    r.board.hold = true; // a close it asks for stays pending: the next state is DROPPING
    r.board.advance(11000);
  },
  onOpen: (r) => {
    if (r.board.link === "opening") r.board.accept();
    else r.client.onOpen();
  },
  "CONNACK 0": (r) => r.board.rawData(connack(0)),
  "CONNACK refused": (r) => r.board.rawData(connack(5)),
  "keepalive idle": (r) => r.board.advance(60000),
  "PINGRESP deadline passed": (r) => r.board.advance(60000 + 31000),
  "malformed packet": (r) => r.board.rawData(MALFORMED),
  "unexpected packet": (r) => r.board.rawData({ type: DISCONNECT }),
  onClose: (r) => {
    r.board.hold = false;
    if (r.board.link !== "idle") r.board.cut();
    else r.client.onClose();
  },
  "reconnect()": (r) => {
    r.client.reconnect();
  },
  "end()": (r) => {
    r.client.end();
  },
};

/** Before CONNACK, time passing only cycles through connect timeouts and retries. */
const ANY = -1;

/** Expected outcome of each pair: the state right after (closes pending stay pending), and more. */
type Expect = [next: number, check?: (s: Seen) => void];

function newErrors(s: Seen): number[] {
  return s.r.rec.codes().slice(s.before.errors);
}
function newEvents(s: Seen): string[] {
  return s.r.rec.events.slice(s.before.events);
}
function noPing(s: Seen): void {
  assert.ok(!types(s.r.board.packets()).includes(PINGREQ), "no PINGREQ without a connection");
}
/** Nothing at all happened. */
function quiet(s: Seen): void {
  assert.equal(s.r.board.opens, s.before.opens, "no open");
  assert.deepEqual(newEvents(s), [], "no events");
}
/** A close was asked for; once it is delivered the client waits, and reports `code`. */
function drops(code: number): (s: Seen) => void {
  return (s) => {
    assert.ok(s.r.board.closing(), "close asked for");
    assert.deepEqual(newErrors(s), [], "errors come with the close");
    s.r.board.hold = false;
    s.r.board.settle();
    assert.equal(stateOf(s.r.client), WAITING);
    assert.deepEqual(newErrors(s), [code]);
  };
}
function endsOnClose(s: Seen): void {
  assert.ok(s.r.board.closing(), "close asked for");
  s.r.board.hold = false;
  s.r.board.settle();
  assert.equal(stateOf(s.r.client), ENDED);
  assert.ok(newEvents(s).includes("end"));
  assert.equal(s.r.board.armed(), 0, "the timer stopped");
}
function ended(s: Seen): void {
  assert.ok(newEvents(s).includes("end"));
  assert.equal(s.r.board.armed(), 0, "the timer stopped");
}

const table: { [state: number]: { [event: string]: Expect } } = {
  [WAITING]: {
    "tick before the deadline": [WAITING, quiet],
    "tick past the deadline": [OPENING, (s) => assert.equal(s.r.board.opens, s.before.opens + 1)],
    onOpen: [WAITING, quiet],
    "CONNACK 0": [WAITING, quiet],
    "CONNACK refused": [WAITING, quiet],
    "keepalive idle": [ANY, noPing],
    "PINGRESP deadline passed": [ANY, noPing],
    "malformed packet": [WAITING, quiet],
    "unexpected packet": [WAITING, quiet],
    onClose: [WAITING, quiet],
    "reconnect()": [
      OPENING,
      (s) => {
        assert.equal(s.r.board.opens, s.before.opens + 1, "opens at once");
        assert.equal(s.r.board.armed(), 1, "still one timer");
      },
    ],
    "end()": [ENDED, ended],
  },
  [OPENING]: {
    "tick before the deadline": [OPENING, quiet],
    "tick past the deadline": [DROPPING, drops(ERR_CONNECT_TIMEOUT)],
    onOpen: [CONNECTING, (s) => assert.deepEqual(types(s.r.board.take()), [CONNECT])],
    "CONNACK 0": [OPENING, quiet],
    "CONNACK refused": [OPENING, quiet],
    "keepalive idle": [ANY, noPing],
    "PINGRESP deadline passed": [ANY, noPing],
    "malformed packet": [OPENING, quiet],
    "unexpected packet": [OPENING, quiet],
    onClose: [
      WAITING,
      (s) => {
        assert.deepEqual(newErrors(s), [ERR_CONNECTION_LOST]);
        assert.ok(!newEvents(s).includes("offline"), "never online, so no offline");
      },
    ],
    "reconnect()": [OPENING, quiet],
    "end()": [ENDING, endsOnClose],
  },
  [CONNECTING]: {
    "tick before the deadline": [CONNECTING, quiet],
    "tick past the deadline": [DROPPING, drops(ERR_CONNECT_TIMEOUT)],
    onOpen: [CONNECTING, (s) => assert.deepEqual(s.r.board.take(), [], "no second CONNECT")],
    "CONNACK 0": [CONNECTED, (s) => assert.deepEqual(newEvents(s), ["connect"])],
    "CONNACK refused": [
      DROPPING,
      (s) => {
        drops(ERR_REFUSED)(s);
        assert.equal(s.r.rec.errors[s.r.rec.errors.length - 1].returnCode, 5);
      },
    ],
    "keepalive idle": [ANY, noPing],
    "PINGRESP deadline passed": [ANY, noPing],
    "malformed packet": [DROPPING, drops(ERR_MALFORMED)],
    "unexpected packet": [DROPPING, drops(-22)],
    onClose: [WAITING, (s) => assert.deepEqual(newErrors(s), [ERR_CONNECTION_LOST])],
    "reconnect()": [CONNECTING, quiet],
    "end()": [
      ENDING,
      (s) => {
        assert.ok(!types(s.r.board.packets()).includes(DISCONNECT), "no DISCONNECT before CONNACK");
        endsOnClose(s);
      },
    ],
  },
  [CONNECTED]: {
    "tick before the deadline": [CONNECTED, (s) => assert.deepEqual(s.r.board.take(), [])],
    "tick past the deadline": [CONNECTED, (s) => assert.deepEqual(s.r.board.take(), [], "no connect deadline once connected")],
    onOpen: [CONNECTED, (s) => assert.deepEqual(s.r.board.take(), [])],
    "CONNACK 0": [DROPPING, drops(-22)],
    "CONNACK refused": [DROPPING, drops(-22)],
    "keepalive idle": [CONNECTED, (s) => assert.deepEqual(types(s.r.board.take()), [PINGREQ])],
    "PINGRESP deadline passed": [
      WAITING,
      (s) => {
        assert.deepEqual(newErrors(s), [ERR_PING_TIMEOUT]);
        assert.equal(s.r.board.closes, 1);
      },
    ],
    "malformed packet": [DROPPING, drops(ERR_MALFORMED)],
    "unexpected packet": [DROPPING, drops(-22)],
    onClose: [
      WAITING,
      (s) => {
        assert.deepEqual(newErrors(s), [ERR_EARLY_CLOSE]);
        assert.deepEqual(newEvents(s).slice(1), ["offline", "close"]);
        assert.equal(s.r.client.connected, false);
      },
    ],
    "reconnect()": [CONNECTED, quiet],
    "end()": [
      ENDING,
      (s) => {
        assert.deepEqual(types(s.r.board.take()), [DISCONNECT]);
        endsOnClose(s);
      },
    ],
  },
  [DROPPING]: {
    "tick before the deadline": [DROPPING, quiet],
    "tick past the deadline": [DROPPING, quiet],
    onOpen: [DROPPING, (s) => assert.deepEqual(s.r.board.take(), [])],
    "CONNACK 0": [DROPPING, quiet],
    "CONNACK refused": [DROPPING, quiet],
    "keepalive idle": [DROPPING, (s) => assert.deepEqual(s.r.board.take(), [])],
    "PINGRESP deadline passed": [DROPPING, quiet],
    "malformed packet": [DROPPING, quiet],
    "unexpected packet": [DROPPING, quiet],
    onClose: [WAITING, (s) => assert.deepEqual(newErrors(s), [ERR_MALFORMED], "the first reason, once")],
    "reconnect()": [DROPPING, quiet],
    "end()": [ENDING, endsOnClose],
  },
  [IDLE]: {
    "tick before the deadline": [IDLE, quiet],
    "tick past the deadline": [IDLE, quiet],
    onOpen: [IDLE, quiet],
    "CONNACK 0": [IDLE, quiet],
    "CONNACK refused": [IDLE, quiet],
    "keepalive idle": [IDLE, quiet],
    "PINGRESP deadline passed": [IDLE, quiet],
    "malformed packet": [IDLE, quiet],
    "unexpected packet": [IDLE, quiet],
    onClose: [IDLE, quiet],
    "reconnect()": [
      OPENING,
      (s) => {
        assert.equal(s.r.board.opens, s.before.opens + 1);
        assert.equal(s.r.board.armed(), 1, "the timer runs again");
      },
    ],
    "end()": [ENDED, ended],
  },
  [ENDING]: {
    "tick before the deadline": [ENDING, quiet],
    "tick past the deadline": [ENDING, quiet],
    onOpen: [ENDING, quiet],
    "CONNACK 0": [ENDING, quiet],
    "CONNACK refused": [ENDING, quiet],
    "keepalive idle": [ENDING, quiet],
    "PINGRESP deadline passed": [ENDING, quiet],
    "malformed packet": [ENDING, quiet],
    "unexpected packet": [ENDING, quiet],
    onClose: [ENDED, ended],
    "reconnect()": [ENDING, quiet],
    "end()": [ENDING, endsOnClose],
  },
  [ENDED]: {
    "tick before the deadline": [ENDED, quiet],
    "tick past the deadline": [ENDED, quiet],
    onOpen: [ENDED, quiet],
    "CONNACK 0": [ENDED, quiet],
    "CONNACK refused": [ENDED, quiet],
    "keepalive idle": [ENDED, quiet],
    "PINGRESP deadline passed": [ENDED, quiet],
    "malformed packet": [ENDED, quiet],
    "unexpected packet": [ENDED, quiet],
    onClose: [ENDED, quiet],
    "reconnect()": [ENDED, quiet],
    "end()": [ENDED, quiet],
  },
};

describe("compact client: every (state, event) pair", () => {
  for (const state of [WAITING, OPENING, CONNECTING, CONNECTED, DROPPING, IDLE, ENDING, ENDED]) {
    describe(NAMES[state], () => {
      for (const name of Object.keys(events)) {
        const [next, check] = table[state][name];
        test(name + " -> " + (next === ANY ? "WAITING or OPENING, no PINGREQ" : NAMES[next]), () => {
          const r = reach[state]();
          assert.equal(stateOf(r.client), state, "reached " + NAMES[state]);
          const s: Seen = { r: r, before: { opens: r.board.opens, errors: r.rec.errors.length, events: r.rec.events.length } };
          events[name](r);
          if (next === ANY) assert.ok([WAITING, OPENING].includes(stateOf(r.client)));
          else assert.equal(NAMES[stateOf(r.client)], NAMES[next]);
          if (check) check(s);
          assert.ok(r.board.maxArmed <= 1, "one timer at most, saw " + r.board.maxArmed);
        });
      }
    });
  }

  test("end(callback) in ENDING and ENDED: the callback runs once the link has closed", () => {
    const r = reach[ENDING]();
    let calls = 0;
    r.client.end(() => calls++);
    assert.equal(calls, 0);
    r.board.hold = false;
    r.board.settle();
    assert.equal(calls, 1);
    r.client.end(() => calls++);
    assert.equal(calls, 2, "at once when ended");
  });
});

describe("compact client: keepalive and deadlines", () => {
  test("PINGREQ after the keepalive with nothing written; PINGRESP clears the deadline", () => {
    const r = connected({ keepalive: 10 });
    const b = r.board;
    b.advance(8000);
    assert.deepEqual(b.take(), [], "not yet idle");
    b.advance(1000);
    assert.deepEqual(types(b.take()), [PINGREQ], "idle for the keepalive less one tick");
    b.push({ type: PINGRESP });
    for (let i = 0; i < 5; i++) {
      b.advance(9000);
      assert.deepEqual(types(b.take()), [PINGREQ], "a ping each keepalive");
      b.push({ type: PINGRESP });
    }
    assert.equal(stateOf(r.client), CONNECTED);
    assert.deepEqual(r.rec.errors, []);
  });

  test("writes put the PINGREQ off", () => {
    const r = connected({ keepalive: 10 });
    const b = r.board;
    for (let i = 0; i < 5; i++) {
      b.advance(5000);
      r.client.publish("t", "x");
    }
    assert.deepEqual(types(b.take()), [PUBLISH, PUBLISH, PUBLISH, PUBLISH, PUBLISH]);
  });

  test("no PINGRESP by the ping deadline: ERR_PING_TIMEOUT, link closed, reconnects", () => {
    const r = connected({ keepalive: 10, pingTimeoutMs: 3000 });
    const b = r.board;
    b.advance(9000);
    assert.deepEqual(types(b.take()), [PINGREQ]);
    b.hold = true;
    b.advance(2000);
    assert.ok(!b.closing(), "deadline not passed");
    b.advance(1000);
    assert.ok(b.closing(), "closed at the deadline");
    b.hold = false;
    b.settle();
    assert.deepEqual(r.rec.codes(), [ERR_PING_TIMEOUT]);
    handshake(r);
  });

  test("keepalive 0: never a PINGREQ", () => {
    const r = connected({ keepalive: 0 });
    r.board.advance(600_000);
    assert.deepEqual(r.board.take(), []);
  });

  test("CONNECT carries the keepalive, the id, clean, will and credentials", () => {
    const r = rig({ keepalive: 15, clientId: "dev-7", clean: false, username: "u", password: "p", will: { topic: "w/t", payload: "gone", qos: 1, retain: true } });
    const c = handshake(r);
    assert.equal(c.keepalive, 15);
    assert.equal(c.clientId, "dev-7");
    assert.equal(c.clean, false);
    assert.equal(c.username, "u");
    assert.equal(Buffer.from(c.password as Uint8Array).toString(), "p");
    assert.equal(c.will?.topic, "w/t");
    assert.equal(Buffer.from(c.will?.payload as Uint8Array).toString(), "gone");
    assert.equal(c.will?.qos, 1);
    assert.equal(c.will?.retain, true);
  });

  test("a blocked event loop does not count against the broker: a late tick moves the CONNACK and PINGRESP deadlines", () => {
    const r = rig({ connectTimeoutMs: 5000, keepalive: 10 });
    const b = r.board;
    b.advance(0);
    b.accept();
    b.advance(2000);
    b.stall(20000); // the CONNACK waits behind the late tick
    assert.equal(stateOf(r.client), CONNECTING, "no connect timeout for time the program did not run");
    b.push(connack(0));
    assert.equal(stateOf(r.client), CONNECTED);
    b.take();
    b.advanceUntil(() => b.take().some((p) => p.type === PINGREQ), 20000, "a PINGREQ");
    b.stall(60000);
    assert.equal(stateOf(r.client), CONNECTED, "no ping timeout for time the program did not run");
    b.advance(10000);
    assert.deepEqual(r.rec.codes(), [ERR_PING_TIMEOUT], "a PINGRESP that does not come is still found");
  });

  test("connect timeout: measured from the open, CONNACK too late is an error and a new attempt", () => {
    const r = rig({ connectTimeoutMs: 5000 });
    const b = r.board;
    b.advance(2000);
    b.accept();
    b.advance(2000);
    assert.equal(stateOf(r.client), CONNECTING);
    b.advance(1000);
    assert.deepEqual(r.rec.codes(), [ERR_CONNECT_TIMEOUT]);
    assert.equal(stateOf(r.client), WAITING);
    handshake(r);
  });
});

describe("compact client: backoff", () => {
  /** Delay from a failed open to the next open, in ms at tick resolution. */
  function nextDelay(r: Rig): number {
    const b = r.board;
    const opens = b.opens;
    const t0 = b.nowMs;
    b.advanceUntil(() => b.opens > opens, 200_000, "a new open");
    return b.nowMs - t0;
  }

  test("grows to maxMs with failed opens (random 1: the full delay) and resets after a stable connection", () => {
    const r = rig({ reconnect: { minMs: 1000, maxMs: 16000 } });
    const b = r.board;
    b.randomValue = 0.9999;
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      b.cut();
      delays.push(nextDelay(r));
    }
    // Timer ticks are a second apart, so a delay is rounded up to the tick.
    assert.deepEqual(delays.map((d) => Math.ceil(d / 1000) * 1000), [1000, 2000, 4000, 8000, 16000, 16000, 16000]);
    // A connection that lasts the stable period resets the backoff.
    b.accept();
    b.take();
    b.push(connack(0));
    b.advance(10000);
    b.cut();
    assert.deepEqual(r.rec.codes().slice(-1), [ERR_CONNECTION_LOST], "not an early close");
    assert.ok(nextDelay(r) <= 1000);
    b.cut();
    assert.ok(nextDelay(r) <= 2000);
  });

  test("jitter: the delay is between half and all of the backoff", () => {
    const r = rig({ reconnect: { minMs: 8000, maxMs: 8000 } });
    const b = r.board;
    b.randomValue = 0;
    b.cut();
    const d = nextDelay(r);
    assert.ok(d >= 4000 && d <= 5000, "half of 8 s: " + d);
  });

  test("early close: ERR_EARLY_CLOSE, and 100 cuts right after CONNACK never stop the reconnects; then every queued message arrives", () => {
    const r = rig({ reconnect: { minMs: 100, maxMs: 2000 } });
    const b = r.board;
    const c = r.client;
    const done: (Error | null)[] = [];
    for (let i = 0; i < 10; i++) c.publish("q/" + i, "m" + i, { qos: (i % 2) + 1 }, (err) => done.push(err));
    for (let i = 0; i < 100; i++) {
      handshake(r);
      if (i === 50) {
        // Half-way through, the broker receives the QoS 2 messages: they resend as PUBREL.
        for (const p of b.take()) if (p.type === PUBLISH && p.qos === 2) b.push(pubrec(p.packetId));
      }
      b.cut();
    }
    assert.equal(r.rec.codes().length, 100);
    assert.ok(r.rec.codes().every((x) => x === ERR_EARLY_CLOSE), "every cut is an early close");
    assert.equal(done.length, 0, "nothing completed, nothing dropped");
    // Healed: the broker acknowledges everything.
    handshake(r);
    const sent = b.take();
    const pubs = sent.filter((p) => p.type === PUBLISH) as PublishPacket[];
    const rels = sent.filter((p) => p.type === 6);
    assert.equal(pubs.length, 5, "the QoS 1 messages again");
    assert.ok(pubs.every((p) => p.dup && p.qos === 1));
    assert.equal(rels.length, 5, "PUBREL for the QoS 2 messages");
    for (const p of pubs) b.push(puback(p.packetId));
    for (const p of rels) b.push(pubcomp((p as { packetId: number }).packetId));
    assert.equal(done.length, 10);
    assert.ok(done.every((e) => e === null));
    assert.equal(c.ol_, 0, "the outbox is empty");
  });

  test("refusal: error with the return code, next try after the longest delay", () => {
    const r = rig({ reconnect: { minMs: 1000, maxMs: 20000 } });
    const b = r.board;
    b.randomValue = 0.9999;
    b.accept();
    b.push(connack(4));
    b.settle();
    const e = r.rec.errors[0];
    assert.equal(e.code, ERR_REFUSED);
    assert.equal(e.returnCode, 4);
    const opens = b.opens;
    const t0 = b.nowMs;
    b.advanceUntil(() => b.opens > opens, 60_000, "a new open");
    assert.ok(b.nowMs - t0 >= 19000, "waited the longest delay: " + (b.nowMs - t0));
  });

  test("reconnect: false: IDLE after a loss, no timer, reconnect() connects again", () => {
    const r = connected({ reconnect: false });
    const b = r.board;
    b.cut();
    assert.equal(stateOf(r.client), IDLE);
    assert.equal(b.armed(), 0);
    b.advance(120_000);
    assert.equal(b.opens, 1);
    r.client.reconnect();
    handshake(r);
    assert.equal(b.opens, 2);
  });

  test("reconnect() while waiting connects at once and leaves one timer running", () => {
    const r = connected({ reconnect: { minMs: 20000, maxMs: 20000 } });
    const b = r.board;
    b.cut();
    r.client.reconnect();
    assert.equal(b.opens, 2);
    assert.equal(b.armed(), 1, "one timer");
    b.accept();
    b.push(connack(0));
    b.advance(60_000);
    assert.ok(b.maxArmed <= 1, "timers at once: " + b.maxArmed);
    assert.deepEqual(types(b.take()), [CONNECT, PINGREQ]);
  });
});

describe("compact client: subscriptions", () => {
  test("a SUBSCRIBE whose SUBACK was lost with the link: its callback hears the loss, a QoS 1 publish keeps its own", () => {
    const r = connected();
    const b = r.board;
    let subErr: unknown = "not called";
    let pubErr: unknown = "not called";
    r.client.subscribe("a/+", { qos: 1 }, (err) => (subErr = err));
    r.client.publish("p", "1", { qos: 1 }, (err) => (pubErr = err));
    b.take();
    b.cut();
    b.settle();
    assert.equal((subErr as { code: number }).code, ERR_CONNECTION_LOST);
    assert.equal(pubErr, "not called", "the publish waits for its resend");
  });

  test("callbacks hear what was granted as [{topic, qos}]", () => {
    const r = connected();
    const b = r.board;
    let got: unknown;
    r.client.subscribe(["a/+", "b/#"], { qos: 1 }, (err, granted) => (got = [err, granted]));
    const [s] = b.take() as SubscribePacket[];
    assert.equal(s.type, SUBSCRIBE);
    assert.deepEqual(s.subscriptions, [
      { topic: "a/+", qos: 1 },
      { topic: "b/#", qos: 1 },
    ]);
    b.push(suback(s.packetId, [1, 0]));
    assert.deepEqual(got, [
      null,
      [
        { topic: "a/+", qos: 1 },
        { topic: "b/#", qos: 0 },
      ],
    ]);
  });

  test("made offline: sent after CONNACK, the callback runs at the SUBACK", () => {
    const r = rig();
    let got: unknown;
    r.client.subscribe("x", { qos: 2 }, (err, granted) => (got = [err, granted]));
    handshake(r);
    const [s] = r.board.take() as SubscribePacket[];
    assert.deepEqual(s.subscriptions, [{ topic: "x", qos: 2 }]);
    r.board.push(suback(s.packetId, [2]));
    assert.deepEqual(got, [null, [{ topic: "x", qos: 2 }]]);
  });

  test("restored after a reconnect when the session is not present; not when it is", () => {
    const r = connected();
    const b = r.board;
    r.client.subscribe("s/1", { qos: 1 });
    r.client.subscribe("s/2");
    for (const p of b.take() as SubscribePacket[]) b.push(suback(p.packetId, [p.subscriptions[0].qos]));
    b.cut();
    handshake(r, false);
    const [s] = b.take() as SubscribePacket[];
    assert.equal(s.type, SUBSCRIBE);
    assert.deepEqual(s.subscriptions, [
      { topic: "s/1", qos: 1 },
      { topic: "s/2", qos: 0 },
    ]);
    b.push(suback(s.packetId, [1, 0]));
    b.cut();
    handshake(r, true);
    assert.deepEqual(b.take(), [], "the broker kept them");
    assert.deepEqual(r.rec.errors.map((e) => e.code), [ERR_EARLY_CLOSE, ERR_EARLY_CLOSE]);
  });

  test("a refused filter (0x80) is reported and forgotten", () => {
    const r = connected();
    const b = r.board;
    let got: [Error | null, unknown] | undefined;
    r.client.subscribe(["ok", "nope"], (err, granted) => (got = [err, granted]));
    const [s] = b.take() as SubscribePacket[];
    b.push(suback(s.packetId, [0, 0x80]));
    assert.equal((got?.[0] as unknown as { code: number }).code, ERR_SUBSCRIBE_REFUSED);
    assert.deepEqual(got?.[1], [
      { topic: "ok", qos: 0 },
      { topic: "nope", qos: 0x80 },
    ]);
    // Without a callback the refusal is an error event.
    r.client.subscribe("nope2");
    const [s2] = b.take() as SubscribePacket[];
    b.push(suback(s2.packetId, [0x80]));
    assert.deepEqual(r.rec.codes(), [ERR_SUBSCRIBE_REFUSED]);
    b.cut();
    handshake(r);
    const [again] = b.take() as SubscribePacket[];
    assert.deepEqual(again.subscriptions, [{ topic: "ok", qos: 0 }], "only the granted filter again");
  });

  test("unsubscribe: UNSUBACK runs the callback, and the filter is not restored", () => {
    const r = connected();
    const b = r.board;
    r.client.subscribe(["u/1", "u/2"]);
    const [s] = b.take() as SubscribePacket[];
    b.push(suback(s.packetId, [0, 0]));
    let done = false;
    r.client.unsubscribe("u/1", (err) => (done = err === null));
    const [u] = b.take() as { type: number; packetId: number; topics: string[] }[];
    assert.deepEqual(u.topics, ["u/1"]);
    assert.equal(done, false);
    b.push({ type: 11, packetId: u.packetId });
    assert.equal(done, true);
    b.cut();
    handshake(r);
    const [again] = b.take() as SubscribePacket[];
    assert.deepEqual(again.subscriptions, [{ topic: "u/2", qos: 0 }]);
  });

  test("end() fails the waiting callbacks with ERR_ENDED", () => {
    const r = rig();
    const codes: number[] = [];
    r.client.subscribe("a", (err) => codes.push((err as { code: number }).code));
    r.client.publish("p", "x", { qos: 1 }, (err) => codes.push((err as { code: number }).code));
    r.client.end();
    r.board.settle();
    assert.deepEqual(codes.sort(), [ERR_ENDED, ERR_ENDED]);
    assert.equal(stateOf(r.client), ENDED);
  });
});

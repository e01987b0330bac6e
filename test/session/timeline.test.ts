/**
 * Session timelines: the sans-I/O session on a manual clock, with every event it reports
 * recorded and every byte it sends decoded back into packets. No socket anywhere.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CONNECT,
  ERR_CONNECT_TIMEOUT,
  ERR_FLAGS,
  ERR_MALFORMED,
  ERR_OUTBOX_FULL,
  ERR_PACKET_TOO_LARGE,
  ERR_PING_TIMEOUT,
  ERR_QOS,
  ERR_TOPIC,
  ERR_TX_TOO_LARGE,
  ERR_UNEXPECTED_PACKET,
  ERR_UTF8,
  PINGRESP,
  PUBLISH,
  SUBSCRIBE,
  UNSUBSCRIBE,
  type ConnectPacket,
  type Packet,
  type PublishPacket,
  type SubscribePacket,
} from "../../src/index.ts";
import { AWAIT_CONNACK, CONNECTED, LINK_DOWN } from "../../src/session/session.ts";
import { SessionHarness, type Recorded } from "../helpers/session-harness.ts";
import { brief, connack, enc, puback, pubcomp, publish, pubrec, pubrel, suback, text, unsuback } from "../helpers/wire.ts";

const pingresp: Packet = { type: PINGRESP };

/** The packets written since the last call, in their one-line form. */
function sent(h: SessionHarness): string[] {
  return h.wire.take().map(brief);
}

function done(token: unknown, status = 0, granted: number[] | null = null): Recorded {
  return { kind: "done", token: token, status: status, granted: granted };
}

function messages(events: Recorded[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.kind === "message") out.push(e.message.topic + " '" + new TextDecoder().decode(e.message.payload) + "' q" + e.message.qos + (e.message.dup ? " dup" : ""));
  }
  return out;
}

/** A connected session with the CONNECT and the connect event already taken. */
function connected(overrides?: ConstructorParameters<typeof SessionHarness>[0]): SessionHarness {
  const h = new SessionHarness(overrides);
  h.connect();
  h.wire.take();
  assert.deepEqual(h.takeEvents(), [{ kind: "connected", sessionPresent: false }]);
  return h;
}

// -----------------------------------------------------------------------------------------------

describe("CONNECT", () => {
  test("3.1.1 with will, user name, password, clean false and keepalive", () => {
    const h = new SessionHarness({
      clientId: "dev-1",
      clean: false,
      keepalive: 30,
      username: "user",
      password: "secret",
      will: { topic: "dev/1/status", payload: "gone", qos: 1, retain: true },
    });
    assert.equal(h.session.state, LINK_DOWN);
    assert.deepEqual(h.wire.packets(), [], "nothing is sent before linkUp");
    h.session.linkUp();
    assert.equal(h.session.state, AWAIT_CONNACK);
    const [p] = h.wire.packets() as ConnectPacket[];
    assert.equal(p.type, CONNECT);
    assert.equal(p.protocolVersion, 4);
    assert.equal(p.clientId, "dev-1");
    assert.equal(p.clean, false);
    assert.equal(p.keepalive, 30);
    assert.equal(p.username, "user");
    assert.equal(text(p.password as Uint8Array), "secret");
    assert.ok(p.will);
    assert.equal(p.will.topic, "dev/1/status");
    assert.equal(text(p.will.payload), "gone");
    assert.equal(p.will.qos, 1);
    assert.equal(p.will.retain, true);
    // "MQTT" level 4 on the wire.
    const raw = h.wire.bytes();
    assert.deepEqual([...raw.subarray(2, 9)], [0, 4, 0x4d, 0x51, 0x54, 0x54, 4]);
  });

  test("3.1 sends MQIsdp, level 3; no will or credentials means no flags but clean", () => {
    const h = new SessionHarness({ protocolVersion: 3, clientId: "old", keepalive: 0 });
    h.session.linkUp();
    const raw = h.wire.bytes();
    assert.deepEqual([...raw.subarray(2, 11)], [0, 6, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70, 3]);
    assert.equal(raw[11], 0x02, "connect flags: clean session only");
    const [p] = h.wire.packets() as ConnectPacket[];
    assert.equal(p.protocolVersion, 3);
    assert.equal(p.keepalive, 0);
    assert.equal(p.clientId, "old");
    assert.equal(p.will, undefined);
    assert.equal(p.username, undefined);
    assert.equal(p.password, undefined);
  });

  test("every linkUp sends CONNECT again", () => {
    const h = new SessionHarness();
    h.session.linkUp();
    h.session.linkDown();
    h.session.linkUp();
    assert.deepEqual(sent(h), ["CONNECT", "CONNECT"]);
  });

  test("connectSize reports a CONNECT larger than the transmit buffer", () => {
    const h = new SessionHarness({ txBytes: 20, clientId: "a-rather-long-client-id" });
    assert.equal(h.session.connectSize(), ERR_TX_TOO_LARGE);
    const ok = new SessionHarness({ clientId: "x" });
    assert.equal(ok.session.connectSize(), enc({ type: CONNECT, protocolVersion: 4, clientId: "x", clean: true, keepalive: 10 }).length);
  });
});

describe("CONNACK", () => {
  test("accepted: connected event, state CONNECTED, nothing else sent", () => {
    const h = new SessionHarness();
    h.session.linkUp();
    sent(h);
    h.deliver(connack(0, false));
    assert.equal(h.session.state, CONNECTED);
    assert.deepEqual(h.takeEvents(), [{ kind: "connected", sessionPresent: false }]);
    assert.deepEqual(sent(h), []);
  });

  test("no CONNACK within the connect timeout fails the link", () => {
    const h = new SessionHarness({ connectTimeoutMs: 5000 });
    const t0 = h.clock.now();
    h.session.linkUp();
    assert.equal(h.session.tick(), t0 + 5000);
    h.clock.advance(4999);
    assert.equal(h.session.tick(), t0 + 5000);
    assert.deepEqual(h.takeEvents(), []);
    h.clock.advance(1);
    assert.equal(h.session.tick(), -1);
    assert.deepEqual(h.takeEvents(), [{ kind: "failed", status: ERR_CONNECT_TIMEOUT }]);
    assert.equal(h.session.state, LINK_DOWN);
    // A late CONNACK on the dead link changes nothing.
    h.deliver(connack());
    assert.deepEqual(h.takeEvents(), []);
    assert.equal(h.session.tick(), -1);
  });

  for (const code of [1, 2, 3, 4, 5]) {
    test("refusal code " + code + " is reported through onRefused and the link goes down", () => {
      const h = new SessionHarness();
      h.session.linkUp();
      h.deliver(connack(code));
      assert.deepEqual(h.takeEvents(), [{ kind: "refused", returnCode: code }]);
      assert.equal(h.session.state, LINK_DOWN);
      assert.equal(h.session.tick(), -1, "no deadline after a refusal");
    });
  }

  test("a refusal keeps queued messages for the next attempt", () => {
    const h = new SessionHarness();
    assert.equal(h.session.publish("a", "1", 1, false, "t1"), 0);
    h.session.linkUp();
    h.deliver(connack(3));
    h.takeEvents();
    h.session.linkUp();
    h.deliver(connack(0));
    assert.deepEqual(sent(h), ["CONNECT", "CONNECT", "PUBLISH q1 id1 a '1'"]);
  });

  test("a packet before CONNACK is a protocol violation", () => {
    const h = new SessionHarness();
    h.session.linkUp();
    h.deliver(publish("a/b", "x", 0));
    assert.deepEqual(h.takeEvents(), [{ kind: "failed", status: ERR_UNEXPECTED_PACKET }]);
    assert.equal(h.session.state, LINK_DOWN);
  });

  test("a second CONNACK is a protocol violation", () => {
    const h = connected();
    h.deliver(connack());
    assert.deepEqual(h.takeEvents(), [{ kind: "failed", status: ERR_UNEXPECTED_PACKET }]);
  });

  test("packets a server never sends fail the link", () => {
    for (const p of [
      { type: SUBSCRIBE, packetId: 1, subscriptions: [{ topic: "a", qos: 0 }] } as Packet,
      { type: UNSUBSCRIBE, packetId: 1, topics: ["a"] } as Packet,
      { type: 12 } as Packet,
      { type: 14 } as Packet,
    ]) {
      const h = connected();
      h.deliver(p);
      assert.deepEqual(h.takeEvents(), [{ kind: "failed", status: ERR_UNEXPECTED_PACKET }], brief(p));
    }
  });

  test("receive while the link is down is ignored", () => {
    const h = new SessionHarness();
    h.deliver(connack());
    assert.equal(h.session.state, LINK_DOWN);
    assert.deepEqual(h.takeEvents(), []);
  });
});

describe("keepalive", () => {
  test("PINGREQ after keepalive seconds without sending, then the PINGRESP deadline", () => {
    const h = new SessionHarness({ keepalive: 10, pingTimeoutMs: 3000 });
    const t0 = h.clock.now();
    h.connect();
    sent(h);
    h.takeEvents();
    assert.equal(h.session.tick(), t0 + 10000, "first ping due keepalive after CONNECT went out");
    h.clock.advanceTo(t0 + 9999);
    h.session.tick();
    assert.deepEqual(sent(h), []);
    h.clock.advanceTo(t0 + 10000);
    assert.equal(h.session.tick(), t0 + 13000, "now the PINGRESP deadline");
    assert.deepEqual(sent(h), ["PINGREQ"]);
    // While waiting, more ticks send nothing more.
    h.clock.advanceTo(t0 + 12999);
    assert.equal(h.session.tick(), t0 + 13000);
    assert.deepEqual(sent(h), []);
    assert.deepEqual(h.takeEvents(), []);
    h.clock.advanceTo(t0 + 13000);
    assert.equal(h.session.tick(), -1);
    assert.deepEqual(h.takeEvents(), [{ kind: "failed", status: ERR_PING_TIMEOUT }]);
    assert.equal(h.session.state, LINK_DOWN);
  });

  test("PINGRESP clears the deadline; the next ping comes keepalive after the last one", () => {
    const h = connected({ keepalive: 10, pingTimeoutMs: 3000 });
    const t0 = h.clock.now();
    h.clock.advance(10000);
    h.session.tick();
    assert.deepEqual(sent(h), ["PINGREQ"]);
    h.clock.advance(500);
    h.deliver(pingresp);
    assert.equal(h.session.tick(), t0 + 20000);
    h.clock.advanceTo(t0 + 20000);
    h.session.tick();
    assert.deepEqual(sent(h), ["PINGREQ"]);
    assert.deepEqual(h.takeEvents(), []);
  });

  test("a session that only receives still pings", () => {
    const h = new SessionHarness({ keepalive: 10 });
    const t0 = h.clock.now();
    h.connect();
    h.clock.advance(1000);
    assert.equal(h.session.subscribe(["s/#"], [0], "sub"), 0);
    h.deliver(suback(1, [0]));
    sent(h);
    // A steady stream of QoS 0 messages from the broker: receiving is not sending.
    for (let t = 1500; t <= 11000; t += 500) {
      h.clock.advanceTo(t0 + t);
      h.deliver(publish("s/x", "m", 0));
      h.session.tick();
    }
    assert.deepEqual(sent(h), ["PINGREQ"], "ping keepalive after the SUBSCRIBE went out");
    assert.equal(h.takeEvents().filter((e) => e.kind === "failed").length, 0);
  });

  test("traffic both ways defers the next ping", () => {
    const h = connected({ keepalive: 10 });
    const t0 = h.clock.now();
    h.clock.advanceTo(t0 + 6000);
    h.session.publish("a", "x", 0, false, null);
    h.deliver(publish("in", "z", 0));
    assert.equal(h.session.tick(), t0 + 16000);
    h.clock.advanceTo(t0 + 10000);
    h.session.tick();
    assert.deepEqual(sent(h), ["PUBLISH q0 a 'x'"]);
    // A QoS 1 message in and its acknowledgement out count too.
    h.clock.advanceTo(t0 + 15000);
    h.deliver(publish("in", "y", 1, 9));
    assert.deepEqual(sent(h), ["PUBACK 9"]);
    h.clock.advanceTo(t0 + 24999);
    h.session.tick();
    assert.deepEqual(sent(h), []);
    h.clock.advanceTo(t0 + 25000);
    h.session.tick();
    assert.deepEqual(sent(h), ["PINGREQ"]);
  });

  test("a client that only sends still pings when nothing comes back (half-open link)", () => {
    const h = connected({ keepalive: 10, pingTimeoutMs: 3000 });
    const t0 = h.clock.now();
    for (let t = 3000; t <= 9000; t += 3000) {
      h.clock.advanceTo(t0 + t);
      h.session.publish("a", "x", 0, false, null);
    }
    assert.equal(h.session.tick(), t0 + 10000, "due a keepalive period after the last packet received");
    h.clock.advanceTo(t0 + 10000);
    h.session.tick();
    assert.deepEqual(sent(h), ["PUBLISH q0 a 'x'", "PUBLISH q0 a 'x'", "PUBLISH q0 a 'x'", "PINGREQ"]);
    // The broker is gone: its silence ends the link after the ping timeout.
    h.clock.advanceTo(t0 + 13000);
    h.session.tick();
    const events = h.takeEvents().filter((e) => e.kind !== "done");
    assert.deepEqual(events, [{ kind: "failed", status: ERR_PING_TIMEOUT }]);
  });

  test("keepalive 0 turns off both the ping and its deadline", () => {
    const h = connected({ keepalive: 0 });
    assert.equal(h.session.tick(), -1);
    h.clock.advance(10 * 3600 * 1000);
    assert.equal(h.session.tick(), -1);
    assert.deepEqual(sent(h), []);
    assert.deepEqual(h.takeEvents(), []);
    // The connect timeout still applies.
    h.session.linkDown();
    h.session.linkUp();
    assert.ok(h.session.tick() > 0);
  });

  test("a PINGRESP that arrives inside the PINGREQ write still clears the deadline", () => {
    const h = connected({ keepalive: 10, pingTimeoutMs: 3000 });
    h.onSendHook = (bytes, off) => {
      if (bytes[off] === 0xc0) h.deliver(pingresp);
    };
    h.clock.advance(10000);
    h.session.tick();
    h.onSendHook = null;
    assert.deepEqual(sent(h), ["PINGREQ"]);
    h.clock.advance(3000);
    h.session.tick();
    assert.deepEqual(h.takeEvents(), [], "the broker answered: no ping timeout");
    assert.equal(h.session.state, CONNECTED);
  });
});

describe("QoS flows, client to broker", () => {
  test("QoS 0 goes out at once and is done when written", () => {
    const h = connected();
    assert.equal(h.session.publish("a/b", "hello", 0, false, "t0"), 0);
    const [p] = h.wire.take() as PublishPacket[];
    assert.equal(p.type, PUBLISH);
    assert.equal(p.qos, 0);
    assert.equal(p.dup, false);
    assert.equal(p.retain, false);
    assert.equal(p.topic, "a/b");
    assert.equal(text(p.payload), "hello");
    assert.deepEqual(h.takeEvents(), [done("t0")]);
    assert.equal(h.session.pendingMessages(), 0);
  });

  test("QoS 1: PUBLISH, then PUBACK finishes it", () => {
    const h = connected();
    h.session.publish("a", new Uint8Array([1, 2, 3]), 1, true, "t1");
    const [p] = h.wire.take() as PublishPacket[];
    assert.equal(p.qos, 1);
    assert.equal(p.retain, true);
    assert.equal(p.dup, false);
    assert.equal(p.packetId, 1);
    assert.deepEqual([...(p.payload as Uint8Array)], [1, 2, 3]);
    assert.deepEqual(h.takeEvents(), []);
    assert.equal(h.session.pendingMessages(), 1);
    h.deliver(puback(1));
    assert.deepEqual(h.takeEvents(), [done("t1")]);
    assert.equal(h.session.pendingMessages(), 0);
    assert.deepEqual(sent(h), []);
  });

  test("QoS 2: PUBLISH, PUBREC, PUBREL, PUBCOMP", () => {
    const h = connected();
    h.session.publish("a", "x", 2, false, "t2");
    assert.deepEqual(sent(h), ["PUBLISH q2 id1 a 'x'"]);
    h.deliver(pubrec(1));
    assert.deepEqual(sent(h), ["PUBREL 1"]);
    assert.deepEqual(h.takeEvents(), []);
    // A repeated PUBREC is answered with PUBREL again.
    h.deliver(pubrec(1));
    assert.deepEqual(sent(h), ["PUBREL 1"]);
    h.deliver(pubcomp(1));
    assert.deepEqual(h.takeEvents(), [done("t2")]);
    assert.equal(h.session.pendingMessages(), 0);
    // PUBCOMP again, or PUBREC for a finished id: nothing.
    h.deliver([pubcomp(1), pubrec(1)]);
    assert.deepEqual(sent(h), []);
    assert.deepEqual(h.takeEvents(), []);
  });

  test("PUBACK for a QoS 2 message, or PUBCOMP before PUBREC, does not finish it", () => {
    const h = connected();
    h.session.publish("a", "x", 2, false, "t2");
    h.deliver([puback(1), pubcomp(1)]);
    assert.deepEqual(h.takeEvents(), []);
    assert.equal(h.session.pendingMessages(), 1);
  });

  test("duplicate or unknown PUBACKs are ignored", () => {
    const h = connected();
    h.session.publish("a", "x", 1, false, "t1");
    h.deliver([puback(1), puback(1), puback(77)]);
    assert.deepEqual(h.takeEvents(), [done("t1")]);
    assert.equal(h.session.state, CONNECTED);
  });

  test("acknowledgements that arrive inside the PUBLISH write finish it", () => {
    // A broker on a loopback transport (or a test double) may answer before write() returns.
    const h = connected();
    h.onSendHook = (bytes, off) => {
      const first = bytes[off];
      if (first >> 4 !== 3) return;
      const qos = (first >> 1) & 3;
      const idOff = off + 2 + 2 + ((bytes[off + 2] << 8) | bytes[off + 3]);
      const id = (bytes[idOff] << 8) | bytes[idOff + 1];
      if (qos === 1) h.deliver(puback(id));
      if (qos === 2) h.deliver(pubrec(id));
    };
    h.session.publish("a", "1", 1, false, "t1");
    h.session.publish("a", "2", 2, false, "t2");
    h.onSendHook = null;
    assert.deepEqual(sent(h), ["PUBLISH q1 id1 a '1'", "PUBLISH q2 id2 a '2'", "PUBREL 2"]);
    h.deliver(pubcomp(2));
    assert.deepEqual(h.takeEvents(), [done("t1"), done("t2")]);
    assert.equal(h.session.pendingMessages(), 0);
  });
});

describe("QoS flows, broker to client", () => {
  test("QoS 0 is delivered and not answered", () => {
    const h = connected();
    h.deliver(publish("x/y", "zero", 0, 0, false, true));
    const ev = h.takeEvents();
    assert.equal(ev.length, 1);
    assert.ok(ev[0].kind === "message");
    assert.deepEqual(ev[0].message, { topic: "x/y", payload: new TextEncoder().encode("zero"), qos: 0, dup: false, retain: true, packetId: 0 });
    assert.deepEqual(sent(h), []);
  });

  test("QoS 1 is delivered and answered with PUBACK", () => {
    const h = connected();
    h.deliver(publish("x", "one", 1, 300));
    assert.deepEqual(messages(h.takeEvents()), ["x 'one' q1"]);
    assert.deepEqual(sent(h), ["PUBACK 300"]);
  });

  test("QoS 2 is delivered once, answered PUBREC, and PUBREL is answered PUBCOMP", () => {
    const h = connected();
    h.deliver(publish("x", "two", 2, 5));
    assert.deepEqual(messages(h.takeEvents()), ["x 'two' q2"]);
    assert.deepEqual(sent(h), ["PUBREC 5"]);
    h.deliver(pubrel(5));
    assert.deepEqual(sent(h), ["PUBCOMP 5"]);
    assert.deepEqual(h.takeEvents(), []);
  });

  test("QoS 2 re-sent with DUP before PUBREL is not delivered again; after PUBREL the id is new", () => {
    const h = connected();
    h.deliver(publish("x", "first", 2, 5));
    h.deliver(publish("x", "first", 2, 5, true));
    h.deliver(publish("x", "first", 2, 5, true));
    assert.deepEqual(messages(h.takeEvents()), ["x 'first' q2"]);
    assert.deepEqual(sent(h), ["PUBREC 5", "PUBREC 5", "PUBREC 5"]);
    h.deliver(pubrel(5));
    assert.deepEqual(sent(h), ["PUBCOMP 5"]);
    h.deliver(publish("x", "second", 2, 5));
    assert.deepEqual(messages(h.takeEvents()), ["x 'second' q2"]);
    assert.deepEqual(sent(h), ["PUBREC 5"]);
  });

  test("QoS 2 ids are remembered across a reconnect that resumes the session", () => {
    const h = connected({ clean: false });
    h.deliver(publish("x", "m", 2, 8));
    h.session.linkDown();
    h.session.linkUp();
    h.deliver(connack(0, true));
    h.takeEvents();
    sent(h);
    h.deliver(publish("x", "m", 2, 8, true));
    assert.deepEqual(messages(h.takeEvents()), [], "already delivered before the link went down");
    assert.deepEqual(sent(h), ["PUBREC 8"]);
  });

  test("QoS 2 ids are forgotten when the broker starts a new session", () => {
    const h = connected({ clean: false });
    h.deliver(publish("x", "m", 2, 8));
    h.session.linkDown();
    h.session.linkUp();
    h.deliver(connack(0, false));
    h.takeEvents();
    h.deliver(publish("x", "n", 2, 8));
    assert.deepEqual(messages(h.takeEvents()), ["x 'n' q2"]);
  });

  test("PUBREL for an unknown id is answered with PUBCOMP", () => {
    const h = connected();
    h.deliver(pubrel(4242));
    assert.deepEqual(sent(h), ["PUBCOMP 4242"]);
    assert.deepEqual(h.takeEvents(), []);
  });

  test("a full table of incoming QoS 2 messages withholds PUBREC, then asks for a reconnect once drained", () => {
    const h = connected({ incomingQos2Slots: 2, clean: false, clientId: "p" });
    h.deliver([publish("x", "1", 2, 1), publish("x", "2", 2, 2)]);
    assert.deepEqual(sent(h), ["PUBREC 1", "PUBREC 2"]);
    h.deliver([publish("x", "3", 2, 3), publish("x", "4", 2, 4)]);
    assert.deepEqual(messages(h.takeEvents()), ["x '1' q2", "x '2' q2"], "nothing delivered past the table");
    assert.deepEqual(sent(h), [], "no PUBREC for what was withheld: the broker keeps it");
    assert.equal(h.session.state, CONNECTED, "the link stays up and reading");
    h.deliver(pubrel(1));
    assert.deepEqual(sent(h), ["PUBCOMP 1"]);
    assert.deepEqual(h.takeEvents(), [], "not drained yet");
    h.deliver(pubrel(2));
    assert.deepEqual(sent(h), ["PUBCOMP 2"]);
    assert.deepEqual(h.takeEvents(), [{ kind: "withheld" }], "drained: reconnect for the rest");
    // The next connection of the persistent session gets them again (DUP), delivered once each.
    h.session.linkDown();
    h.connect(true);
    h.takeEvents();
    sent(h);
    h.deliver([publish("x", "3", 2, 3, true), publish("x", "4", 2, 4, true), publish("x", "3", 2, 3, true)]);
    assert.deepEqual(messages(h.takeEvents()), ["x '3' q2 dup", "x '4' q2 dup"]);
    assert.deepEqual(sent(h), ["PUBREC 3", "PUBREC 4", "PUBREC 3"]);
  });

  test("a clean session has no table limit: its broker never sends a message again", () => {
    const g = connected({ incomingQos2Slots: 2 });
    g.deliver([publish("x", "1", 2, 1), publish("x", "2", 2, 2), publish("x", "3", 2, 3)]);
    assert.deepEqual(messages(g.takeEvents()), ["x '1' q2", "x '2' q2", "x '3' q2"]);
    assert.deepEqual(sent(g), ["PUBREC 1", "PUBREC 2", "PUBREC 3"]);
  });

  test("the default table cannot fill: 65,535 QoS 2 messages awaiting PUBREL", () => {
    const h = connected({ incomingQos2Slots: 65535, clean: false, clientId: "p", rxBytes: 64 });
    let n = 0;
    h.onMessageHook = () => n++;
    for (let id = 1; id <= 65535; id++) h.deliver(publish("x", "", 2, id));
    assert.equal(n, 65535);
    assert.equal(h.events.filter((e) => e.kind !== "message").length, 0);
  });

  test("publish from inside onMessage goes out, and the acknowledgement still follows", () => {
    for (const chunk of [undefined, 3]) {
      const h = connected();
      h.onMessageHook = (topic, payload) => {
        // The payload is a view into the receive side; the reply is built on the transmit side.
        h.session.publish("reply/" + topic, payload, 1, false, "reply");
      };
      h.deliver(publish("req", "ping-payload", 1, 11), chunk);
      h.deliver(publish("req", "second", 2, 12), chunk);
      assert.deepEqual(sent(h), [
        "PUBLISH q1 id1 reply/req 'ping-payload'",
        "PUBACK 11",
        "PUBLISH q1 id2 reply/req 'second'",
        "PUBREC 12",
      ], "chunk " + chunk);
    }
  });
});

describe("outbox and in-flight window", () => {
  test("maxInflight holds later QoS 1/2 publishes back, in order", () => {
    const h = connected({ maxInflight: 2 });
    for (let i = 1; i <= 5; i++) h.session.publish("t", "m" + i, i % 2 === 0 ? 2 : 1, false, "t" + i);
    assert.deepEqual(sent(h), ["PUBLISH q1 id1 t 'm1'", "PUBLISH q2 id2 t 'm2'"]);
    // A QoS 0 behind them waits its turn too, to keep the order.
    h.session.publish("t", "zero", 0, false, "t0");
    assert.deepEqual(sent(h), []);
    h.deliver(pubrec(2));
    assert.deepEqual(sent(h), ["PUBREL 2"], "PUBREC does not open the window");
    h.deliver(puback(1));
    assert.deepEqual(sent(h), ["PUBLISH q1 id3 t 'm3'"]);
    h.deliver(pubcomp(2));
    assert.deepEqual(sent(h), ["PUBLISH q2 id4 t 'm4'"]);
    h.deliver(puback(3));
    assert.deepEqual(sent(h), ["PUBLISH q1 id5 t 'm5'", "PUBLISH q0 t 'zero'"]);
    assert.deepEqual(h.takeEvents(), [done("t1"), done("t2"), done("t3"), done("t0")]);
  });

  test("bytes, not a message count, limit the outbox: 100 small messages wait in 1 KB", () => {
    const h = connected({ outboxBytes: 1024, maxInflight: 1 });
    for (let i = 0; i < 100; i++) assert.equal(h.session.publish("a", "" + (i % 10), 1, false, "t" + i), 0); // 8 bytes each
    assert.deepEqual(sent(h), ["PUBLISH q1 id1 a '0'"]);
    assert.equal(h.session.pendingMessages(), 100);
    assert.equal(h.session.outbox.liveBytes, 800);
    for (let i = 1; i <= 100; i++) h.deliver(puback(i));
    assert.equal(h.session.pendingMessages(), 0);
    assert.equal(h.takeEvents().length, 100);
  });

  test("packet ids are given when a message is sent: more than 65,535 may wait", () => {
    const h = new SessionHarness({ outboxBytes: 1 << 20, maxInflight: 16 });
    for (let i = 0; i < 70000; i++) assert.equal(h.session.publish("a", "x", 1 + (i % 2), false, null), 0);
    // The broker's side, read straight from each write (decoding the whole log each time would
    // cost more than the session does): acknowledge every PUBLISH and PUBREL.
    const acks: Packet[] = [];
    h.onSendHook = (bytes, off) => {
      const type = bytes[off] >> 4;
      if (type === 6) acks.push(pubcomp((bytes[off + 2] << 8) | bytes[off + 3]));
      if (type !== 3) return;
      const qos = (bytes[off] >> 1) & 3;
      let p = off + 1;
      while (bytes[p] & 0x80) p++;
      p++;
      p += 2 + ((bytes[p] << 8) | bytes[p + 1]);
      const id = (bytes[p] << 8) | bytes[p + 1];
      acks.push(qos === 1 ? puback(id) : pubrec(id));
    };
    let acked = 0;
    h.onDoneHook = () => acked++;
    h.connect();
    while (acks.length > 0) h.deliver(acks.shift() as Packet);
    assert.equal(acked, 70000);
    assert.equal(h.session.pendingMessages(), 0);
  });

  test("a pool without room for the bytes refuses with ERR_OUTBOX_FULL and sends nothing", () => {
    const h = connected({ outboxBytes: 40, maxInflight: 8 });
    assert.equal(h.session.publish("a", "0123456789", 1, false, "t1"), 0); // 17 bytes
    assert.equal(h.session.publish("a", "0123456789", 1, false, "t2"), 0);
    sent(h);
    assert.equal(h.session.publish("a", "0123456789", 1, false, "t3"), ERR_OUTBOX_FULL);
    assert.deepEqual(sent(h), []);
  });

  test("invalid publishes return their status and queue nothing", () => {
    const h = connected({ txBytes: 32 });
    assert.equal(h.session.publish("a/+", "x", 0, false, "t"), ERR_TOPIC);
    assert.equal(h.session.publish("", "x", 0, false, "t"), ERR_TOPIC);
    assert.equal(h.session.publish("a", "x", 3, false, "t"), ERR_QOS);
    assert.equal(h.session.publish("\ud800", "x", 1, false, "t"), ERR_UTF8);
    assert.equal(h.session.publish("a", new Uint8Array(2000), 1, false, "t"), ERR_OUTBOX_FULL, "larger than the outbox");
    assert.equal(h.session.refusedBytes, 2008);
    assert.deepEqual(sent(h), []);
    assert.deepEqual(h.takeEvents(), []);
    assert.equal(h.session.pendingMessages(), 0);
  });

  test("writes that return false hold queued publishes until drained()", () => {
    const h = connected({ maxInflight: 8 });
    h.writeResult = false;
    h.session.publish("a", "1", 1, false, "t1");
    h.session.publish("a", "2", 1, false, "t2");
    h.session.publish("a", "3", 0, false, "t3");
    assert.deepEqual(sent(h), ["PUBLISH q1 id1 a '1'"]);
    // Acknowledgements still go out: they are small and the broker waits for them.
    h.deliver(publish("in", "x", 1, 50));
    assert.deepEqual(sent(h), ["PUBACK 50"]);
    h.writeResult = true;
    h.session.drained();
    assert.deepEqual(sent(h), ["PUBLISH q1 id2 a '2'", "PUBLISH q0 a '3'"]);
    const ev = h.takeEvents();
    assert.deepEqual(ev.filter((e) => e.kind === "done"), [done("t3")]);
  });

  test("QoS 0 published while the transport is full waits in the outbox", () => {
    const h = connected();
    h.writeResult = false;
    h.session.publish("a", "1", 0, false, "t1");
    h.session.publish("a", "2", 0, false, "t2");
    assert.deepEqual(sent(h), ["PUBLISH q0 a '1'"]);
    assert.deepEqual(h.takeEvents(), [done("t1")]);
    h.writeResult = true;
    h.session.drained();
    assert.deepEqual(sent(h), ["PUBLISH q0 a '2'"]);
    assert.deepEqual(h.takeEvents(), [done("t2")]);
  });
});

describe("link loss and resume", () => {
  /** A session with A (QoS 1), B (QoS 2), C (QoS 2, past PUBREC), D (QoS 1) in flight. */
  function inFlight(): SessionHarness {
    const h = connected({ clean: false, maxInflight: 8 });
    h.session.subscribe(["s/1", "s/2"], [1, 2], "sub");
    h.deliver(suback(1, [1, 0x80]));
    h.session.publish("m", "A", 1, false, "A");
    h.session.publish("m", "B", 2, false, "B");
    h.session.publish("m", "C", 2, false, "C");
    h.session.publish("m", "D", 1, false, "D");
    h.deliver(pubrec(4));
    assert.deepEqual(sent(h), [
      "SUBSCRIBE 1 s/1:1,s/2:2",
      "PUBLISH q1 id2 m 'A'",
      "PUBLISH q2 id3 m 'B'",
      "PUBLISH q2 id4 m 'C'",
      "PUBLISH q1 id5 m 'D'",
      "PUBREL 4",
    ]);
    assert.deepEqual(h.takeEvents(), [done("sub", 0, [1, 0x80])]);
    h.session.linkDown();
    assert.equal(h.session.state, LINK_DOWN);
    return h;
  }

  test("session present: unacknowledged PUBLISH again with DUP in order, PUBREL for those past PUBREC", () => {
    const h = inFlight();
    h.session.linkUp();
    assert.deepEqual(sent(h), ["CONNECT"], "nothing but CONNECT before CONNACK");
    h.deliver(connack(0, true));
    assert.deepEqual(sent(h), ["PUBLISH q1 id2 dup m 'A'", "PUBLISH q2 id3 dup m 'B'", "PUBREL 4", "PUBLISH q1 id5 dup m 'D'"]);
    assert.deepEqual(h.takeEvents(), [{ kind: "connected", sessionPresent: true }]);
    h.deliver([puback(2), pubrec(3), pubcomp(4), puback(5)]);
    assert.deepEqual(sent(h), ["PUBREL 3"]);
    h.deliver(pubcomp(3));
    assert.deepEqual(h.takeEvents(), [done("A"), done("C"), done("D"), done("B")]);
    assert.equal(h.session.pendingMessages(), 0);
  });

  test("no session present: resubscribe, send afresh without DUP, past PUBREC counts as done", () => {
    const h = inFlight();
    h.session.linkUp();
    sent(h);
    h.deliver(connack(0, false));
    assert.deepEqual(sent(h), [
      "SUBSCRIBE 6 s/1:1",
      "PUBLISH q1 id2 m 'A'",
      "PUBLISH q2 id3 m 'B'",
      "PUBLISH q1 id5 m 'D'",
    ], "the refused s/2 is not asked for again");
    assert.deepEqual(h.takeEvents(), [done("C"), { kind: "connected", sessionPresent: false }]);
    h.deliver([suback(6, [1]), puback(2), pubrec(3), pubcomp(3), puback(5)]);
    assert.deepEqual(h.takeEvents(), [done("A"), done("B"), done("D")], "the resubscription has no token to report");
    assert.equal(h.session.pendingMessages(), 0);
    assert.equal(h.session.pendingRequests(), 0);
  });

  test("a clean session gets its subscriptions again after every reconnect", () => {
    const h = connected({ clean: true });
    h.session.subscribe(["a/#"], [2], "sub");
    h.deliver(suback(1, [2]));
    h.session.linkDown();
    h.session.linkUp();
    h.deliver(connack(0, false));
    assert.deepEqual(sent(h), ["SUBSCRIBE 1 a/#:2", "CONNECT", "SUBSCRIBE 2 a/#:2"]);
    // Unsubscribed filters are not.
    h.session.unsubscribe(["a/#"], "unsub");
    h.deliver([suback(2, [2]), unsuback(3)]);
    h.session.linkDown();
    h.session.linkUp();
    h.deliver(connack(0, false));
    assert.deepEqual(sent(h), ["UNSUBSCRIBE 3 a/#", "CONNECT"]);
  });

  test("resubscription packs filters into as few SUBSCRIBEs as the transmit buffer holds", () => {
    // txBytes 64: a SUBSCRIBE has 2 header bytes + 2 id bytes, each filter 2 + 10 + 1 bytes.
    const h = connected({ clean: true, txBytes: 64, requestSlots: 4 });
    const filters = ["filter/000", "filter/001", "filter/002", "filter/003", "filter/004", "filter/005"];
    for (let i = 0; i < filters.length; i++) {
      h.session.subscribe([filters[i]], [1], "s" + i);
      h.deliver(suback(i + 1, [1]));
    }
    sent(h);
    h.session.linkDown();
    h.session.linkUp();
    h.deliver(connack(0, false));
    // 4 filters make 2 + 2 + 4 * 13 = 56 bytes; a fifth would make 69 > 64.
    assert.deepEqual(sent(h), [
      "CONNECT",
      "SUBSCRIBE 7 filter/000:1,filter/001:1,filter/002:1,filter/003:1",
      "SUBSCRIBE 8 filter/004:1,filter/005:1",
    ]);
  });

  test("subscriptions beyond the free request slots are restored as SUBACKs free them", () => {
    // requestSlots 1, and room for one filter per SUBSCRIBE (2 + 2 + 15 bytes; two make 34 > 30):
    // one at a time, none forgotten.
    const h = connected({ clean: true, txBytes: 30, requestSlots: 1 });
    for (let i = 0; i < 3; i++) {
      h.session.subscribe(["filter/0000" + i], [0], "s" + i);
      h.deliver(suback(i + 1, [0]));
    }
    sent(h);
    h.session.linkDown();
    h.session.linkUp();
    h.deliver(connack(0, false));
    assert.deepEqual(sent(h), ["CONNECT", "SUBSCRIBE 4 filter/00000:0"]);
    h.deliver(suback(4, [0]));
    assert.deepEqual(sent(h), ["SUBSCRIBE 5 filter/00001:0"]);
    h.deliver(suback(5, [0]));
    assert.deepEqual(sent(h), ["SUBSCRIBE 6 filter/00002:0"]);
    h.deliver(suback(6, [0]));
    assert.deepEqual(sent(h), []);
    assert.equal(h.session.pendingRequests(), 0);
  });

  test("QoS 1/2 published while the link is down wait for CONNACK", () => {
    const h = new SessionHarness();
    assert.equal(h.session.publish("a", "1", 1, false, "t1"), 0);
    assert.equal(h.session.publish("a", "2", 2, false, "t2"), 0);
    assert.equal(h.session.publish("a", "3", 0, false, "t3"), 0);
    assert.deepEqual(sent(h), []);
    h.session.linkUp();
    h.session.publish("a", "4", 1, false, "t4");
    assert.deepEqual(sent(h), ["CONNECT"]);
    h.deliver(connack());
    assert.deepEqual(sent(h), ["PUBLISH q1 id1 a '1'", "PUBLISH q2 id2 a '2'", "PUBLISH q0 a '3'", "PUBLISH q1 id3 a '4'"]);
  });

  test("a request sent before the link went down is sent again", () => {
    const h = connected();
    h.session.subscribe(["x"], [1], "sub");
    h.session.linkDown();
    h.session.linkUp();
    h.deliver(connack());
    assert.deepEqual(sent(h), ["SUBSCRIBE 1 x:1", "CONNECT", "SUBSCRIBE 1 x:1"]);
    h.deliver(suback(1, [1]));
    assert.deepEqual(h.takeEvents(), [{ kind: "connected", sessionPresent: false }, done("sub", 0, [1])]);
  });

  test("abandon reports every held message and request once", () => {
    const h = new SessionHarness();
    h.session.publish("a", "1", 1, false, "t1");
    h.session.publish("a", "2", 0, false, "t2");
    h.session.subscribe(["x"], [0], "s");
    h.session.abandon(-27);
    assert.deepEqual(h.takeEvents(), [done("t1", -27), done("t2", -27), done("s", -27)]);
    assert.equal(h.session.pendingMessages(), 0);
    assert.equal(h.session.pendingRequests(), 0);
    h.session.abandon(-27);
    assert.deepEqual(h.takeEvents(), []);
  });
});

describe("bad input from the broker", () => {
  test("a malformed packet fails the link", () => {
    const h = connected();
    h.deliver(new Uint8Array([0x40, 0x03, 0, 1, 0])); // PUBACK with 3 bytes
    assert.deepEqual(h.takeEvents(), [{ kind: "failed", status: ERR_MALFORMED }]);
    assert.equal(h.session.state, LINK_DOWN);
    const g = connected();
    g.deliver(new Uint8Array([0x60, 0x02, 0, 1])); // PUBREL without its 0010 flags
    assert.deepEqual(g.takeEvents(), [{ kind: "failed", status: ERR_FLAGS }]);
  });

  test("a lost framing fails the link", () => {
    const h = connected();
    h.deliver(new Uint8Array([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    const ev = h.takeEvents();
    assert.equal(ev.length, 1);
    assert.equal(ev[0].kind, "failed");
  });

  test("an oversized packet is dropped and the stream stays in step", () => {
    const h = connected({ rxBytes: 64 });
    const big = publish("big", new Uint8Array(200).fill(7), 1, 20);
    const bigLen = enc(big).length;
    for (const chunk of [undefined, 1, 7, 64]) {
      h.deliver([publish("a", "before", 1, 21), big, publish("a", "after", 1, 22)], chunk);
      const ev = h.takeEvents();
      assert.deepEqual(messages(ev), ["a 'before' q1", "a 'after' q1"], "chunk " + chunk);
      assert.deepEqual(ev.filter((e) => e.kind === "dropped"), [{ kind: "dropped", status: ERR_PACKET_TOO_LARGE, type: PUBLISH, length: bigLen }]);
      assert.deepEqual(sent(h), ["PUBACK 21", "PUBACK 22"]);
      assert.equal(h.session.state, CONNECTED);
    }
  });

  test("a SUBACK with the wrong number of return codes fails the link", () => {
    const h = connected();
    h.session.subscribe(["a", "b"], [0, 1], "s");
    h.deliver(suback(1, [0]));
    assert.deepEqual(h.takeEvents(), [{ kind: "failed", status: ERR_MALFORMED }]);
  });

  test("0x80 in a SUBACK is reported per filter, the link stays up", () => {
    const h = connected();
    h.session.subscribe(["a", "b", "c"], [0, 1, 2], "s");
    h.deliver(suback(1, [0, 0x80, 1]));
    assert.deepEqual(h.takeEvents(), [done("s", 0, [0, 0x80, 1])]);
    assert.equal(h.session.state, CONNECTED);
  });

  test("SUBACK or UNSUBACK for an unknown or mismatched id is ignored", () => {
    const h = connected();
    h.session.subscribe(["a"], [0], "s");
    h.session.unsubscribe(["b"], "u");
    h.deliver([suback(9, [0]), unsuback(1), suback(2, [0])]);
    assert.deepEqual(h.takeEvents(), []);
    assert.equal(h.session.pendingRequests(), 2);
    h.deliver([suback(1, [0]), unsuback(2)]);
    assert.deepEqual(h.takeEvents(), [done("s", 0, [0]), done("u")]);
  });
});

describe("packet identifiers", () => {
  test("the allocator skips ids in use and wraps at 65535 without using 0", () => {
    const h = connected({ outboxSlots: 4, maxInflight: 4, requestSlots: 2 });
    h.session.subscribe(["held/req"], [0], "req"); // id 1, a request never acknowledged
    h.session.publish("keep", "x", 1, false, "held"); // id 2, a message never acknowledged
    assert.deepEqual(sent(h), ["SUBSCRIBE 1 held/req:0", "PUBLISH q1 id2 keep 'x'"]);
    // ids 3..65535 one after the other, each acknowledged at once. Requests free their slot on
    // any acknowledgement (messages behind an unacknowledged one stay held), so cycle with them.
    const ids: number[] = [];
    const ack = new Uint8Array([0x90, 3, 0, 0, 0]);
    for (let i = 3; i <= 65535; i++) {
      assert.equal(h.session.subscribe(["t"], [0], null), 0);
      const last = h.wire.writes[h.wire.writes.length - 1];
      const id = (last[2] << 8) | last[3];
      if (i < 6 || i > 65532) ids.push(id);
      ack[2] = id >> 8;
      ack[3] = id & 0xff;
      h.session.receive(ack);
    }
    h.wire.clear();
    assert.deepEqual(ids, [3, 4, 5, 65533, 65534, 65535]);
    assert.equal(h.session.pendingRequests(), 1);
    // Next would be 1 (a request holds it), then 2 (the outbox holds it): so 3.
    h.session.publish("t", "n", 1, false, "next");
    assert.deepEqual(sent(h), ["PUBLISH q1 id3 t 'n'"]);
    h.session.subscribe(["z"], [0], "z");
    assert.deepEqual(sent(h), ["SUBSCRIBE 4 z:0"], "requests and messages share the id space");
    assert.deepEqual(h.takeEvents().filter((e) => e.kind !== "done" || e.token !== null), []);
  });
});

describe("re-entrancy", () => {
  test("a publish from inside onDone keeps the order", () => {
    const h = connected({ maxInflight: 1 });
    h.onDoneHook = (token) => {
      if (token === "t1") h.session.publish("a", "3", 1, false, "t3");
    };
    h.session.publish("a", "1", 1, false, "t1");
    h.session.publish("a", "2", 1, false, "t2");
    h.deliver(puback(1));
    h.deliver(puback(2));
    h.deliver(puback(3));
    assert.deepEqual(sent(h), ["PUBLISH q1 id1 a '1'", "PUBLISH q1 id2 a '2'", "PUBLISH q1 id3 a '3'"]);
    assert.deepEqual(h.takeEvents(), [done("t1"), done("t2"), done("t3")]);
  });

  test("a broker that fails the link inside a write stops the pump", () => {
    const h = connected({ maxInflight: 8 });
    h.writeResult = false;
    h.session.publish("a", "1", 1, false, "t1");
    h.session.publish("a", "2", 1, false, "t2");
    h.session.publish("a", "3", 1, false, "t3");
    h.writeResult = true;
    let writes = 0;
    h.onSendHook = () => {
      if (++writes === 1) h.deliver(new Uint8Array([0x40, 0x03, 0, 1, 0]));
    };
    h.session.drained();
    assert.deepEqual(h.takeEvents(), [{ kind: "failed", status: ERR_MALFORMED }]);
    assert.equal(writes, 1, "nothing written on a link that has failed");
  });

  test("SUBACK inside the SUBSCRIBE write completes the request", () => {
    const h = connected();
    h.onSendHook = (bytes, off) => {
      if (bytes[off] >> 4 === SUBSCRIBE) {
        const p = h.wire.packets().pop() as SubscribePacket;
        h.deliver(suback(p.packetId, [1]));
      }
    };
    h.session.subscribe(["a"], [1], "s");
    assert.deepEqual(h.takeEvents(), [done("s", 0, [1])]);
    assert.equal(h.session.pendingRequests(), 0);
  });
});

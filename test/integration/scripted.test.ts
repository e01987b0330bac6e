/**
 * The Node board client against the scripted broker (test/helpers/scripted-broker.ts), for the
 * faults real brokers do not produce on request: malformed and withheld answers, duplicates,
 * connections cut mid-packet, oversized packets, refusals.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import {
  ERR_CONNECT_TIMEOUT,
  ERR_EARLY_CLOSE,
  ERR_FLAGS,
  ERR_MALFORMED,
  ERR_PACKET_TOO_LARGE,
  ERR_PING_TIMEOUT,
  ERR_REFUSED,
} from "../../src/status.ts";
import type { PublishPacket } from "../../src/packet/types.ts";
import { IDLE } from "../../src/client.ts";
import { sleep, waitFor } from "../helpers/brokers.ts";
import {
  CONNACK,
  CONNECT,
  PINGREQ,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBSCRIBE,
  ScriptedConnection,
  startScriptedBroker,
  type ScriptedBroker,
} from "../helpers/scripted-broker.ts";
import { Clients } from "./support.ts";

const TEST = { timeout: 15000 };

async function setup(t: TestContext): Promise<{ broker: ScriptedBroker; clients: Clients }> {
  const broker = await startScriptedBroker();
  const clients = new Clients();
  t.after(async () => {
    try {
      await clients.endAll();
    } finally {
      await broker.close();
    }
  });
  return { broker, clients };
}

function publish(topic: string, payload: string, qos: number, packetId: number, dup?: boolean): PublishPacket {
  return { type: PUBLISH, topic, payload, qos, retain: false, dup: !!dup, packetId };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The packet ids of the packets of `type` a connection received. */
function ids(conn: ScriptedConnection, type: number): number[] {
  return conn.packets(type).map((p) => (p as { packetId: number }).packetId);
}

describe("client against the scripted broker", { concurrency: true }, () => {
  it("errors on a malformed CONNACK, closes, and reconnects", TEST, async (t) => {
    const { broker, clients } = await setup(t);
    broker.on(CONNECT, (conn, p) => {
      // Reserved acknowledge-flag bits set [MQTT-3.2.2-1], then a CONNACK one byte too long.
      if (conn.index === 0) conn.sendRaw([0x20, 0x02, 0x02, 0x00]);
      else if (conn.index === 1) conn.sendRaw([0x20, 0x03, 0x00, 0x00, 0x00]);
      else conn.reply(p);
    });
    const c = clients.open("c", { port: broker.port });
    await c.waitConnected(1, 5000);
    assert.deepEqual(c.errors.map((e) => e.code), [ERR_FLAGS, ERR_MALFORMED], c.describe());
    assert.equal(broker.connections.length, 3);
    await waitFor(() => broker.connections[0].closed && broker.connections[1].closed, 2000, "the client to close the bad connections");
    assert.equal(c.reconnects, 2);
    assert.equal(c.connects.length, 1);
    assert.deepEqual(broker.errors(), []);
  });

  it("detects a withheld PINGRESP within keepalive + pingTimeoutMs and reconnects once", TEST, async (t) => {
    const { broker, clients } = await setup(t);
    // The first connection never answers PINGREQ; later ones do.
    broker.on(PINGREQ, (conn, p) => {
      if (conn.index > 0) conn.reply(p);
    });
    const keepaliveMs = 1000;
    const pingTimeoutMs = 500;
    const c = clients.open("c", { port: broker.port, keepalive: keepaliveMs / 1000, pingTimeoutMs });
    await c.waitConnected(1, 3000);
    const first = broker.connections[0];
    await waitFor(() => first.closed, keepaliveMs + pingTimeoutMs + 1500, "the client to give up on the silent connection", () => c.describe());
    const pings = first.received.filter((r) => r.packet.type === PINGREQ);
    assert.equal(pings.length, 1, "one PINGREQ on the silent connection");
    const connectAt = first.received[0].atMs;
    const pingAfter = pings[0].atMs - connectAt;
    const closedAfter = first.closedAtMs - connectAt;
    assert.ok(pingAfter >= keepaliveMs - 50 && pingAfter <= keepaliveMs + 300, "PINGREQ " + pingAfter + " ms after CONNECT");
    assert.ok(
      closedAfter >= keepaliveMs + pingTimeoutMs - 50 && closedAfter <= keepaliveMs + pingTimeoutMs + 300,
      "link dropped " + closedAfter + " ms after CONNECT",
    );
    assert.deepEqual(c.errors.map((e) => e.code), [ERR_PING_TIMEOUT]);
    await c.waitConnected(2, 3000);
    // The next connection answers pings: two more keepalive periods pass without another reconnect.
    await sleep(2 * keepaliveMs + 200);
    assert.ok(broker.connections[1].packets(PINGREQ).length >= 2, "pings on the healthy connection");
    assert.equal(broker.connections.length, 2, c.describe());
    assert.equal(c.reconnects, 1);
    assert.equal(c.errors.length, 1, c.describe());
  });

  it("delivers a QoS 2 message once when the broker sends it again before PUBREL", TEST, async (t) => {
    const { broker, clients } = await setup(t);
    const c = clients.open("c", { port: broker.port });
    await c.waitConnected(1, 3000);
    const conn = broker.last;
    const pub = publish("dup/q2", "once", 2, 7);
    // Twice back to back in one segment, the second with DUP set, then again after PUBREC.
    conn.sendRaw(concat(ScriptedConnection.bytes(pub), ScriptedConnection.bytes({ ...pub, dup: true })));
    await waitFor(() => conn.packets(PUBREC).length === 2, 2000, "two PUBRECs");
    conn.send({ ...pub, dup: true });
    await waitFor(() => conn.packets(PUBREC).length === 3, 2000, "a third PUBREC");
    assert.deepEqual(ids(conn, PUBREC), [7, 7, 7]);
    assert.deepEqual(c.payloads("dup/q2"), ["once"]);
    conn.send({ type: PUBREL, packetId: 7 });
    await waitFor(() => conn.packets(PUBCOMP).length === 1, 2000, "PUBCOMP");
    assert.deepEqual(ids(conn, PUBCOMP), [7]);
    // Once released, the id is free and carries a new message.
    conn.send(publish("dup/q2", "again", 2, 7));
    await c.waitMessages("dup/q2", 2, 2000);
    assert.deepEqual(c.payloads("dup/q2"), ["once", "again"]);
    assert.equal(c.errors.length, 0, c.describe());
    assert.deepEqual(broker.errors(), []);
  });

  it("answers a PUBREL for an unknown packet id with PUBCOMP", TEST, async (t) => {
    const { broker, clients } = await setup(t);
    const c = clients.open("c", { port: broker.port });
    await c.waitConnected(1, 3000);
    const conn = broker.last;
    conn.send({ type: PUBREL, packetId: 4242 });
    await waitFor(() => conn.packets(PUBCOMP).length === 1, 2000, "PUBCOMP");
    assert.deepEqual(ids(conn, PUBCOMP), [4242]);
    assert.equal(conn.closed, false);
    assert.equal(c.messages.length, 0);
    assert.equal(c.errors.length, 0, c.describe());
  });

  it("reconnects after a close in the middle of a packet and resumes the session", TEST, async (t) => {
    const { broker, clients } = await setup(t);
    broker.on(CONNECT, (conn, p) => {
      conn.send({ type: CONNACK, sessionPresent: conn.index > 0 && !(p as { clean: boolean }).clean, returnCode: 0 });
    });
    // The first connection acknowledges none of the client's publishes.
    broker.on(PUBLISH, (conn, p) => {
      if (conn.index > 0) conn.reply(p);
    });
    const c = clients.open("c", { port: broker.port, clientId: "mid-packet", clean: false });
    await c.waitConnected(1, 3000);
    const sub = await c.subscribe("mid/#", 1);
    assert.equal(sub.err, null);
    const done1 = c.publish("mid/out1", "unacked-1", 1);
    const done2 = c.publish("mid/out2", "unacked-2", 2);
    const first = broker.connections[0];
    await waitFor(() => first.packets(PUBLISH).length === 2, 2000, "the client's publishes");
    const sentIds = ids(first, PUBLISH);

    // Half a PUBLISH (the whole fixed header and part of the body), then the broker closes.
    const split = ScriptedConnection.bytes(publish("mid/in", "split-never-delivered", 1, 9));
    first.sendRaw(split.subarray(0, 10));
    first.end();

    await c.waitConnected(2, 3000);
    const second = broker.connections[1];
    assert.equal(c.connects[1].sessionPresent, true);
    assert.deepEqual(await Promise.all([done1, done2]), [null, null], "unacknowledged publishes completed");
    // Re-sent in order with DUP and their ids [MQTT-4.4.0-1]; the QoS 2 one then released.
    const resent = second.packets(PUBLISH) as PublishPacket[];
    assert.deepEqual(resent.map((p) => [p.topic, p.packetId, p.dup]), [["mid/out1", sentIds[0], true], ["mid/out2", sentIds[1], true]]);
    await waitFor(() => second.packets(PUBREL).length === 1, 2000, "PUBREL");
    assert.equal(second.packets(SUBSCRIBE).length, 0, "no resubscribe when the session is present");

    // The receiver starts clean: the next message arrives whole, the cut one never.
    second.send(publish("mid/in", "whole", 1, 9));
    await c.waitMessages("mid/in", 1, 2000);
    assert.deepEqual(c.payloads("mid/in"), ["whole"]);
    assert.equal(c.reconnects, 1);
    // The broker closed the first connection soon after accepting it: reported as an early close.
    assert.deepEqual(c.errors.map((e) => e.code), [ERR_EARLY_CLOSE], c.describe());
    assert.deepEqual(broker.errors(), []);
  });

  it("drains a packet larger than rxBytes, reports it as 'drop', and stays in step", TEST, async (t) => {
    const { broker, clients } = await setup(t);
    const rxBytes = 256;
    const c = clients.open("c", { port: broker.port, rxBytes });
    await c.waitConnected(1, 3000);
    const conn = broker.last;
    const big = ScriptedConnection.bytes(publish("big/t", "x".repeat(1000), 0, 0));
    // Drained from inside one chunk, followed in the same chunk by a message that fits.
    conn.sendRaw(concat(big, ScriptedConnection.bytes(publish("big/t", "small-1", 0, 0))));
    await c.waitMessages("big/t", 1, 2000);
    // Drained across chunks: the oversized packet arrives in slices.
    for (let off = 0; off < big.length; off += 100) {
      conn.sendRaw(big.subarray(off, Math.min(off + 100, big.length)));
      await sleep(5);
    }
    conn.send(publish("big/t", "small-2", 1, 3));
    await c.waitMessages("big/t", 2, 2000);
    assert.deepEqual(c.payloads("big/t"), ["small-1", "small-2"]);
    assert.equal(c.drops.length, 2);
    for (const d of c.drops) assert.equal(d.code, ERR_PACKET_TOO_LARGE);
    assert.ok(/1\d{3} bytes/.test(c.drops[0].message), c.drops[0].message);
    assert.equal(broker.connections.length, 1, "the connection stays up");
    assert.equal(c.errors.length, 0, c.describe());
  });

  it("times out when the broker never answers CONNECT", TEST, async (t) => {
    const { broker, clients } = await setup(t);
    broker.on(CONNECT, () => {});
    const connectTimeoutMs = 300;
    const start = Date.now();
    const c = clients.open("c", { port: broker.port, connectTimeoutMs, reconnect: false });
    await c.waitErrors(1, 3000);
    const after = Date.now() - start;
    assert.equal(c.errors[0].code, ERR_CONNECT_TIMEOUT);
    assert.ok(after >= connectTimeoutMs - 20 && after <= connectTimeoutMs + 500, "timed out after " + after + " ms");
    await waitFor(() => broker.connections[0].closed, 2000, "the client to close the connection");
    // The broker can see the close before the client's own socket reports it: wait for that too.
    await waitFor(() => c.client.state === IDLE, 2000, "the client to settle idle", () => c.describe());
    assert.equal(c.connects.length, 0);
  });

  it("reports CONNACK refusals 1-5 with their meaning and retries each after the longest delay", TEST, async (t) => {
    const texts = ["", "unacceptable protocol version", "identifier rejected", "server unavailable", "bad user name or password", "not authorized"];
    const minMs = 100;
    const maxMs = 400;
    const windowMs = 1500;
    // The most attempts the backoff allows in the window: each delay is at least half its
    // nominal value, which doubles from minMs up to maxMs.
    let maxAttempts = 1;
    for (let at = 0, nominal = minMs; ; nominal = Math.min(nominal * 2, maxMs)) {
      at += nominal / 2;
      if (at > windowMs) break;
      maxAttempts++;
    }
    const runs: Promise<void>[] = [];
    for (let code = 1; code <= 5; code++) {
      runs.push(
        (async () => {
          const { broker, clients } = await setup(t);
          broker.on(CONNECT, (conn) => conn.send({ type: CONNACK, sessionPresent: false, returnCode: code }));
          const c = clients.open("refused-" + code, { port: broker.port, reconnect: { minMs, maxMs } });
          await c.waitErrors(1, 2000);
          await sleep(windowMs);
          const attempts = broker.connections.length;
          const err = c.errors[0];
          assert.equal(err.code, ERR_REFUSED);
          assert.equal(err.returnCode, code);
          assert.equal(err.message, "mcu-mqtt: connection refused: " + texts[code]);
          assert.equal(c.errors.length, attempts, "one error per refusal: " + c.describe());
          assert.ok(c.errors.every((e) => e.code === ERR_REFUSED && e.returnCode === code));
          assert.equal(c.connects.length, 0);
          // Every refusal is retried (an unattended node keeps trying), after the longest delay.
          assert.ok(attempts >= 1 && attempts <= 1 + Math.floor(windowMs / (maxMs / 2)), "code " + code + ": " + attempts + " attempts in " + windowMs + " ms");
          assert.notEqual(c.client.state, IDLE);
        })(),
      );
    }
    await Promise.all(runs);
  });
});

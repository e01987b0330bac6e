/**
 * A bounded soak (sim/soak.ts): QoS 1 and QoS 2 streams from one client to another through the
 * fault proxy and a persistent mosquitto, with cuts inside packets and a broker restart. Nothing
 * may be lost, QoS 2 may deliver nothing twice, first deliveries come in order.
 *
 * And the case the soak sizes away: a subscriber whose incoming QoS 2 table is smaller than the
 * backlog mosquitto sends at once on reconnect.
 */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { connect } from "../../boards/node/index.ts";
import type { Client, MqttError } from "../../src/client.ts";
import { FULL_SOAK, formatSoak, runSoak } from "../../sim/soak.ts";
import { HOST, needMosquitto, startMosquitto, waitFor } from "../helpers/brokers.ts";

test("soak: 600 QoS 1 + 600 QoS 2 messages through cuts and a broker restart", { timeout: 60000 }, async (t) => {
  if (!needMosquitto(t)) return;
  const summary = await runSoak({
    ...FULL_SOAK,
    qos1: 600,
    qos2: 600,
    cuts: 12,
    restarts: 1,
    ratePerSec: 300,
    seed: 4242,
    timeoutMs: 40000,
    settleMs: 1000,
  });
  for (const line of formatSoak(summary).split("\n")) t.diagnostic(line);
  const [q1, q2] = summary.streams;
  assert.equal(q1.sent, 600);
  assert.equal(q2.sent, 600);
  assert.equal(q1.lost, 0, "QoS 1 lost messages");
  assert.equal(q2.lost, 0, "QoS 2 lost messages");
  assert.equal(q2.duplicates, 0, "QoS 2 delivered a message twice");
  assert.equal(q1.outOfOrder, 0, "QoS 1 first deliveries out of order: " + q1.orderBreaks.join("; "));
  assert.equal(q2.outOfOrder, 0, "QoS 2 out of order: " + q2.orderBreaks.join("; "));
  assert.equal(q1.acknowledged, 600);
  assert.equal(q2.acknowledged, 600);
  assert.equal(summary.restarts, 1);
  // The faults really happened: cuts, and reconnects on both sides.
  assert.ok(summary.cuts >= 6, "only " + summary.cuts + " cuts");
  assert.ok(summary.reconnects.publisher >= 1 && summary.reconnects.subscriber >= 1);
  assert.deepEqual(summary.problems, []);
});

function end(client: Client): Promise<void> {
  return new Promise((resolve) => client.end(true, () => resolve()));
}

test("a QoS 2 backlog larger than a small incoming table arrives once each, in order, without a failure", { timeout: 30000 }, async (t) => {
  if (!needMosquitto(t)) return;
  const broker = await startMosquitto();
  const clients: Client[] = [];
  try {
    const topic = "backlog/" + process.pid;
    const count = 300;
    const id = "backlog-sub-" + process.pid;
    // The test is about the table's size: 8 slots against a broker that sends all 300 at once.
    const subOptions = { host: HOST, port: broker.port, clientId: id, clean: false, keepalive: 10, incomingQos2Slots: 8 };
    // Subscribe, then go away so the broker queues the messages for this session.
    const first = connect(subOptions);
    clients.push(first);
    await new Promise<void>((resolve, reject) => first.subscribe(topic, { qos: 2 }, (err) => (err ? reject(err) : resolve())));
    await end(first);

    // Default options: the whole backlog is published at once, without waiting.
    const pub = connect({ host: HOST, port: broker.port, clientId: "backlog-pub-" + process.pid });
    clients.push(pub);
    let acked = 0;
    for (let i = 0; i < count; i++) pub.publish(topic, String(i), { qos: 2 }, (err) => { if (!err) acked++; });
    await waitFor(() => acked === count, 10000, "the broker to take every message");

    const seqs: number[] = [];
    const errors: MqttError[] = [];
    let connects = 0;
    const sub = connect(subOptions);
    clients.push(sub);
    sub.on("connect", () => connects++);
    sub.on("error", (err: MqttError) => errors.push(err));
    sub.on("message", (_topic: string, payload: Uint8Array) => seqs.push(Number(Buffer.from(payload).toString())));
    await waitFor(() => seqs.length >= count, 20000, "the backlog", () => seqs.length + " delivered, errors: " + errors.map((e) => e.message).join("; "));
    const expected = Array.from({ length: count }, (_, i) => i);
    assert.deepEqual(seqs, expected, "each message once, in order");
    // What did not fit was withheld (no PUBREC) and fetched by a reconnect once the table had
    // drained: no error, no failed connection.
    t.diagnostic("connections while draining the backlog: " + connects);
    assert.deepEqual(errors.map((e) => e.message), []);
  } finally {
    for (const c of clients) await end(c);
    await broker.close();
  }
});

test("an MQTT.js-style loop with default options: 20,000 QoS 1 and 10,000 QoS 2 issued without waiting, all delivered", { timeout: 120000 }, async (t) => {
  if (!needMosquitto(t)) return;
  const broker = await startMosquitto();
  const clients: Client[] = [];
  try {
    const topic = "loop/" + process.pid;
    const q1 = 20000;
    const q2 = 10000;
    const sub = connect({ host: HOST, port: broker.port });
    clients.push(sub);
    const seen = [new Uint8Array(q1), new Uint8Array(q2)];
    let received = 0;
    let duplicates = 0;
    sub.on("message", (_topic: string, payload: Uint8Array, packet: { qos: number }) => {
      let seq = 0;
      for (let i = 0; i < payload.length; i++) seq = seq * 10 + payload[i] - 48;
      const k = packet.qos === 2 ? 1 : 0;
      if (seen[k][seq]) duplicates++;
      else received++;
      seen[k][seq] = 1;
    });
    await new Promise<void>((resolve, reject) => sub.subscribe(topic + "/#", { qos: 2 }, (err) => (err ? reject(err) : resolve())));

    const pub = connect({ host: HOST, port: broker.port });
    clients.push(pub);
    const errors: string[] = [];
    let acked = 0;
    const done = (err: MqttError | null) => {
      if (err) errors.push(err.message);
      else acked++;
    };
    const startMs = Date.now();
    // As MQTT.js users write it: 1,000 publishes per tick, the return value ignored.
    let next = 0;
    const total = q1 + q2;
    await new Promise<void>((resolve) => {
      const tick = () => {
        for (let i = 0; i < 1000 && next < total; i++, next++) {
          if (next < q1) pub.publish(topic + "/1", String(next), { qos: 1 }, done);
          else pub.publish(topic + "/2", String(next - q1), { qos: 2 }, done);
        }
        if (next < total) setImmediate(tick);
        else resolve();
      };
      tick();
    });
    await waitFor(() => (acked + errors.length === total && received === total) || errors.length > 0, 100000, "every message", () =>
      "acknowledged " + acked + ", received " + received + ", errors " + errors.length,
    );
    t.diagnostic(total + " messages in " + (Date.now() - startMs) + " ms; received " + received + ", duplicates " + duplicates);
    assert.deepEqual(errors.slice(0, 3), []);
    assert.equal(acked, total);
    assert.equal(received, total);
  } finally {
    for (const c of clients) await end(c);
    await broker.close();
  }
});

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
import { ERR_INCOMING_FULL } from "../../src/status.ts";
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

test("a QoS 2 backlog larger than the subscriber's incoming table still arrives once each, in order", { timeout: 30000 }, async (t) => {
  if (!needMosquitto(t)) return;
  const broker = await startMosquitto();
  const clients: Client[] = [];
  try {
    const topic = "backlog/" + process.pid;
    const count = 300;
    const id = "backlog-sub-" + process.pid;
    const subOptions = { host: HOST, port: broker.port, clientId: id, clean: false, keepalive: 10, incomingQos2Slots: 8, reconnect: { minMs: 20, maxMs: 100, maxTakeovers: 0 } };
    // Subscribe, then go away so the broker queues the messages for this session.
    const first = connect(subOptions);
    clients.push(first);
    await new Promise<void>((resolve, reject) => first.subscribe(topic, { qos: 2 }, (err) => (err ? reject(err) : resolve())));
    await end(first);

    const pub = connect({ host: HOST, port: broker.port, clientId: "backlog-pub-" + process.pid, outboxSlots: 64 });
    clients.push(pub);
    let acked = 0;
    let next = 0;
    // Publish at the pace the outbox allows: a full outbox means try again shortly.
    while (next < count) {
      let full = false;
      pub.publish(topic, String(next), { qos: 2 }, (err) => {
        if (err) full = true;
        else acked++;
      });
      if (full) await new Promise((r) => setTimeout(r, 5));
      else next++;
    }
    await waitFor(() => acked === count, 10000, "the broker to take every message");

    const seqs: number[] = [];
    const errors: MqttError[] = [];
    const sub = connect(subOptions);
    clients.push(sub);
    sub.on("error", (err: MqttError) => errors.push(err));
    sub.on("message", (_topic: string, payload: Uint8Array) => seqs.push(Number(Buffer.from(payload).toString())));
    await waitFor(() => seqs.length >= count, 20000, "the backlog", () => seqs.length + " delivered, errors: " + errors.map((e) => e.message).join("; "));
    await new Promise((r) => setTimeout(r, 500));
    const expected = Array.from({ length: count }, (_, i) => i);
    assert.deepEqual(seqs, expected, "each message once, in order");
    // The table was too small for the burst: connections failed with ERR_INCOMING_FULL, and
    // nothing else went wrong.
    t.diagnostic("ERR_INCOMING_FULL failures while draining the backlog: " + errors.length);
    for (const e of errors) assert.equal(e.code, ERR_INCOMING_FULL, e.message);
  } finally {
    for (const c of clients) await end(c);
    await broker.close();
  }
});

/**
 * The behaviour every real broker must show with this client, run against aedes and mosquitto
 * (aedes.test.ts, mosquitto.test.ts). Each broker says how to start it plainly, refusing some
 * subscriptions, and with a password; everything else is the same test.
 */
import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import { nodeBoard } from "../../boards/node/index.ts";
import { IDLE } from "../../src/client.ts";
import { ERR_EARLY_CLOSE, ERR_REFUSED, ERR_SUBSCRIBE_REFUSED } from "../../src/status.ts";
import { sleep, startProxy, waitFor, type Proxy, type RunningBroker } from "../helpers/brokers.ts";
import { Clients, uniqueName, within } from "./support.ts";

export interface BrokerUnderTest {
  name: string;
  /** False (after skipping the test with a notice, or failing it when the broker is required) when it cannot run here. */
  available(t: TestContext): boolean;
  /** Whether it can be started here at all (no test context needed). */
  installed(): boolean;
  start(): Promise<RunningBroker>;
  /** A broker that refuses (SUBACK 0x80) every filter under `denied/` and accepts those under `ok/`. */
  startDenying(): Promise<RunningBroker>;
  /** A broker that accepts only `user` with `password`. */
  startWithPassword(user: string, password: string): Promise<RunningBroker>;
  /** The CONNACK return code it gives for a wrong password (4 or 5 in MQTT 3.1.1). */
  badPasswordCode: number;
}

const TEST = { timeout: 20000 };

export function brokerSuite(b: BrokerUnderTest): void {
  describe("client against " + b.name, { concurrency: true }, () => {
    let broker: RunningBroker | null = null;

    before(async () => {
      // Started once for the plain tests; the tests that need another configuration start their own.
      if (b.installed()) broker = await b.start();
    }, { timeout: 10000 });
    after(async () => {
      if (broker) await broker.close();
    }, { timeout: 10000 });

    /** Per test: the shared broker (or null when the test was skipped), clients and proxies ended after. */
    function setup(t: TestContext): { port: number; clients: Clients; proxies: Proxy[] } | null {
      if (!b.available(t)) return null;
      if (!broker) throw new Error(b.name + " did not start");
      const clients = new Clients();
      const proxies: Proxy[] = [];
      t.after(async () => {
        try {
          await clients.endAll();
        } finally {
          for (const p of proxies) await p.close();
        }
      });
      return { port: broker.port, clients, proxies };
    }

    it("publishes the will after an abnormal close, and not after end()", TEST, async (t) => {
      const s = setup(t);
      if (!s) return;
      const base = uniqueName("will");
      const proxy = await startProxy(s.port);
      s.proxies.push(proxy);
      const observer = s.clients.open("observer", { port: s.port });
      await observer.waitConnected(1, 3000);
      assert.equal((await observer.subscribe(base + "/#", 1)).err, null);
      const will = (name: string) => ({ topic: base + "/" + name, payload: "gone-" + name, qos: 1, retain: false });

      // Socket destroyed under the client (the relay drops both sides): no DISCONNECT is sent.
      const cut = s.clients.open("cut", { port: proxy.port, will: will("cut"), reconnect: false });
      await cut.waitConnected(1, 3000);
      proxy.cut();
      await observer.waitMessages(base + "/cut", 1, 3000);
      assert.deepEqual(observer.payloads(base + "/cut"), ["gone-cut"]);
      await waitFor(() => cut.client.state === IDLE, 2000, "the cut client to go idle", () => cut.describe());

      // The transport ended by its owner behind the client's back: a clean TCP close, but no DISCONNECT.
      const board = nodeBoard();
      const bare = s.clients.openOnBoard("bare", { port: s.port, will: will("bare"), reconnect: false }, board);
      await bare.waitConnected(1, 3000);
      board.transport.close();
      await observer.waitMessages(base + "/bare", 1, 3000);
      assert.deepEqual(observer.payloads(base + "/bare"), ["gone-bare"]);

      // end(): DISCONNECT, so the broker discards the will [MQTT-3.1.2-10].
      const clean = s.clients.open("clean", { port: s.port, will: will("clean") });
      await clean.waitConnected(1, 3000);
      await within(new Promise<void>((resolve) => clean.client.end(() => resolve())), 3000, "end()");
      await sleep(200);
      // A marker on the will topic: once it is here, a will published at the close would be too.
      assert.equal(await observer.publish(base + "/clean", "marker", 1), null);
      await observer.waitMessages(base + "/clean", 1, 3000);
      assert.deepEqual(observer.payloads(base + "/clean"), ["marker"]);
      assert.equal(clean.errors.length, 0, clean.describe());
    });

    it("keeps retained messages for new subscribers and clears them with an empty payload", TEST, async (t) => {
      const s = setup(t);
      if (!s) return;
      const topic = uniqueName("ret") + "/t";
      const pub = s.clients.open("pub", { port: s.port });
      await pub.waitConnected(1, 3000);
      assert.equal(await pub.publish(topic, "keep", 1, true), null);

      const first = s.clients.open("first", { port: s.port });
      await first.waitConnected(1, 3000);
      assert.equal((await first.subscribe(topic, 1)).err, null);
      await first.waitMessages(topic, 1, 3000);
      assert.deepEqual(first.messages.map((m) => [m.payload, m.retain]), [["keep", true]]);

      // An empty retained payload clears it [MQTT-3.3.1-10]; live deliveries carry retain 0 [MQTT-3.3.1-9].
      assert.equal(await pub.publish(topic, "", 1, true), null);
      const second = s.clients.open("second", { port: s.port });
      await second.waitConnected(1, 3000);
      assert.equal((await second.subscribe(topic, 1)).err, null);
      assert.equal(await pub.publish(topic, "live", 1), null);
      await second.waitMessages(topic, 1, 3000);
      await first.waitMessages(topic, 3, 3000);
      assert.deepEqual(second.messages.map((m) => [m.payload, m.retain]), [["live", false]]);
      assert.deepEqual(first.messages.map((m) => [m.payload, m.retain]), [["keep", true], ["", false], ["live", false]]);
    });

    it("delivers many QoS 2 messages exactly once and in order", TEST, async (t) => {
      const s = setup(t);
      if (!s) return;
      const topic = uniqueName("qos2") + "/t";
      const count = 300;
      // aedes has no in-flight window toward a subscriber, and mosquitto's is 65534 here: every
      // message may await its PUBREL at once. The default table (one bit per id) takes them all.
      const sub = s.clients.open("sub", { port: s.port });
      await sub.waitConnected(1, 3000);
      assert.deepEqual((await sub.subscribe(topic, 2)).granted, [{ topic, qos: 2 }]);
      const pub = s.clients.open("pub", { port: s.port });
      await pub.waitConnected(1, 3000);
      const done: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) done.push(pub.publish(topic, "m" + i, 2));
      const results = await within(Promise.all(done), 10000, count + " QoS 2 publishes");
      assert.ok(results.every((r) => r === null), "every publish completed");
      // Sent after every PUBCOMP: once it arrives, nothing earlier can still be on its way.
      assert.equal(await pub.publish(topic, "end", 2), null);
      await sub.waitMessages(topic, count + 1, 10000);
      const expected: string[] = [];
      for (let i = 0; i < count; i++) expected.push("m" + i);
      expected.push("end");
      assert.deepEqual(sub.payloads(topic), expected);
      assert.ok(sub.messages.every((m) => m.qos === 2));
      assert.equal(sub.errors.length + pub.errors.length, 0, sub.describe() + " | " + pub.describe());
    });

    it("resumes a persistent session after a forced disconnect with nothing lost", TEST, async (t) => {
      const s = setup(t);
      if (!s) return;
      const base = uniqueName("resume");
      const proxy = await startProxy(s.port);
      s.proxies.push(proxy);
      const q1 = base + "/q1";
      const q2 = base + "/q2";
      const own1 = base + "/own/1";
      const own2 = base + "/own/2";

      const watcher = s.clients.open("watcher", { port: s.port });
      await watcher.waitConnected(1, 3000);
      assert.equal((await watcher.subscribe(base + "/own/#", 2)).err, null);

      const durable = s.clients.open("durable", { port: proxy.port, clientId: base, clean: false, reconnect: false });
      await durable.waitConnected(1, 3000);
      assert.equal((await durable.subscribe(q1, 1)).err, null);
      assert.equal((await durable.subscribe(q2, 2)).err, null);

      // The broker takes the client's publishes but its acknowledgements are lost, then the link dies.
      proxy.swallowDown = true;
      const own1Done = durable.publish(own1, "own-1", 1);
      const own2Done = durable.publish(own2, "own-2", 2);
      await watcher.waitMessages(own1, 1, 3000);
      await sleep(100);
      proxy.cut();
      await waitFor(() => durable.client.state === IDLE, 2000, "the durable client to go idle", () => durable.describe());
      proxy.swallowDown = false;

      // Published to its subscriptions while it is away.
      const pub = s.clients.open("pub", { port: s.port });
      await pub.waitConnected(1, 3000);
      const sent: Promise<unknown>[] = [];
      for (let i = 0; i < 5; i++) {
        sent.push(pub.publish(q1, "q1-" + i, 1));
        sent.push(pub.publish(q2, "q2-" + i, 2));
      }
      assert.ok((await within(Promise.all(sent), 5000, "offline publishes")).every((r) => r === null));

      durable.client.reconnect();
      await durable.waitConnected(2, 3000);
      assert.equal(durable.connects[1].sessionPresent, true);
      assert.deepEqual(await within(Promise.all([own1Done, own2Done]), 5000, "the client's own publishes"), [null, null]);

      // Markers after the queued messages, on the same topics: when they are in, so is the rest.
      assert.equal(await pub.publish(q1, "q1-end", 1), null);
      assert.equal(await pub.publish(q2, "q2-end", 2), null);
      await durable.waitMessages(q1, 6, 5000);
      await durable.waitMessages(q2, 6, 5000);
      assert.deepEqual(durable.payloads(q1), ["q1-0", "q1-1", "q1-2", "q1-3", "q1-4", "q1-end"]);
      assert.deepEqual(durable.payloads(q2), ["q2-0", "q2-1", "q2-2", "q2-3", "q2-4", "q2-end"]);

      // Its QoS 2 publish, re-sent with DUP, reached the watcher once; the QoS 1 one at least once.
      assert.equal(await durable.publish(own2, "own-end", 2), null);
      await watcher.waitMessages(own2, 2, 3000);
      assert.deepEqual(watcher.payloads(own2), ["own-2", "own-end"]);
      assert.ok(watcher.payloads(own1).length >= 1 && watcher.payloads(own1).every((p) => p === "own-1"));
    });

    it("reports repeated takeovers by a client with the same id as ERR_EARLY_CLOSE and keeps trying", TEST, async (t) => {
      const s = setup(t);
      if (!s) return;
      const id = uniqueName("same");
      const reconnect = { minMs: 100, maxMs: 400, stableMs: 5000 };
      const older = s.clients.open("older", { port: s.port, clientId: id, reconnect });
      await older.waitConnected(1, 3000);
      const newer = s.clients.open("newer", { port: s.port, clientId: id, reconnect });
      await newer.waitConnected(1, 3000);
      // The broker closes the older connection [MQTT-3.1.4-2]; each reconnect takes the id back.
      await waitFor(() => older.offlines >= 1, 2000, "the older client to be disconnected", () => older.describe());
      const early = (c: typeof older) => c.errors.filter((e) => e.code === ERR_EARLY_CLOSE).length;
      await waitFor(() => early(older) + early(newer) >= 4, 8000, "early closes on both sides", () => older.describe() + " | " + newer.describe());
      for (const c of [older, newer]) {
        for (const e of c.errors) assert.equal(e.code, ERR_EARLY_CLOSE, e.message);
      }
      assert.match(older.errors[0].message, /another client with this id\?/);
      // Neither stops: both are still connected or on their way back.
      for (const c of [older, newer]) assert.notEqual(c.client.state, IDLE, c.describe());
    });

    it("delivers at the QoS the broker granted", TEST, async (t) => {
      const s = setup(t);
      if (!s) return;
      const base = uniqueName("granted");
      const sub = s.clients.open("sub", { port: s.port });
      await sub.waitConnected(1, 3000);
      for (const qos of [0, 1, 2]) {
        const r = await sub.subscribe(base + "/" + qos, qos);
        assert.equal(r.err, null);
        assert.deepEqual(r.granted, [{ topic: base + "/" + qos, qos }]);
      }
      const pub = s.clients.open("pub", { port: s.port });
      await pub.waitConnected(1, 3000);
      // Published at QoS 2, delivered at min(published, granted) [MQTT-3.8.4-6].
      for (const qos of [0, 1, 2]) assert.equal(await pub.publish(base + "/" + qos, "at-2", 2), null);
      for (const qos of [0, 1, 2]) await sub.waitMessages(base + "/" + qos, 1, 3000);
      for (const qos of [0, 1, 2]) {
        const got = sub.messages.filter((m) => m.topic === base + "/" + qos);
        assert.deepEqual(got.map((m) => [m.payload, m.qos]), [["at-2", qos]], "subscribed at " + qos);
      }
    });

    it("reports a subscription the broker refuses as an error for that filter", TEST, async (t) => {
      if (!b.available(t)) return;
      const denying = await b.startDenying();
      const clients = new Clients();
      t.after(async () => {
        try {
          await clients.endAll();
        } finally {
          await denying.close();
        }
      });
      const base = uniqueName("acl");
      const sub = clients.open("sub", { port: denying.port });
      await sub.waitConnected(1, 3000);
      const r = await within(sub.subscribe(["ok/" + base, "denied/" + base], 1), 3000, "SUBACK");
      assert.ok(r.err, "an error for the refused filter");
      assert.equal(r.err!.code, ERR_SUBSCRIBE_REFUSED);
      assert.match(r.err!.message, new RegExp("subscription refused for 'denied/" + base + "'"));
      assert.deepEqual(r.granted, [{ topic: "ok/" + base, qos: 1 }, { topic: "denied/" + base, qos: 128 }]);
      // Without a callback the refusal is an 'error' event.
      sub.client.subscribe("denied/" + base + "/alone", { qos: 0 });
      await sub.waitErrors(1, 3000);
      assert.equal(sub.errors[0].code, ERR_SUBSCRIBE_REFUSED);
      // The granted filter works and the connection is still the first one.
      const pub = clients.open("pub", { port: denying.port });
      await pub.waitConnected(1, 3000);
      assert.equal(await pub.publish("ok/" + base, "through", 1), null);
      await sub.waitMessages("ok/" + base, 1, 3000);
      assert.equal(sub.connects.length, 1);
    });

    it("reports bad credentials clearly and retries them only after the longest delay", TEST, async (t) => {
      if (!b.available(t)) return;
      const guarded = await b.startWithPassword("alice", "right-pass");
      const clients = new Clients();
      const proxy = await startProxy(guarded.port);
      t.after(async () => {
        try {
          await clients.endAll();
        } finally {
          await proxy.close();
          await guarded.close();
        }
      });
      // A refusal waits maxMs/2..maxMs before the next attempt: none within the second below.
      const reconnect = { minMs: 100, maxMs: 5000 };
      const wrong = clients.open("wrong", { port: proxy.port, username: "alice", password: "wrong-pass", reconnect });
      const anonymous = clients.open("anonymous", { port: proxy.port, reconnect });
      await wrong.waitErrors(1, 3000);
      await anonymous.waitErrors(1, 3000);
      // Long enough for several retries if the client made any.
      await sleep(1000);
      for (const c of [wrong, anonymous]) {
        assert.equal(c.errors.length, 1, c.describe());
        const err = c.errors[0];
        assert.equal(err.code, ERR_REFUSED);
        assert.ok(err.returnCode === 4 || err.returnCode === 5, "return code " + err.returnCode);
        assert.match(err.message, /^mcu-mqtt: connection refused: (bad user name or password|not authorized)$/);
        assert.equal(c.connects.length, 0);
        assert.equal(c.reconnects, 0);
        assert.notEqual(c.client.state, IDLE, "an unattended node keeps trying");
      }
      assert.equal(wrong.errors[0].returnCode, b.badPasswordCode);
      assert.equal(proxy.accepted, 2, "one connection attempt per client");
      const right = clients.open("right", { port: proxy.port, username: "alice", password: "right-pass" });
      await right.waitConnected(1, 3000);
      assert.equal(right.errors.length, 0, right.describe());
    });
  });
}

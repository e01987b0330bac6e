/**
 * The compact client (src/compact.ts) over a Node socket (./node-link.ts) against real brokers on
 * 127.0.0.1: aedes in this process and the system's mosquitto. Default options, except where a
 * test is about one; the board sizes are Espruino's (the smallest).
 */
import { after, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { BoardClient, type BoardError, type BoardOptions } from "../../src/compact.ts";
import { HOST, needMosquitto, startAedes, startMosquitto, waitFor, type RunningBroker } from "../helpers/brokers.ts";
import { ESPRUINO_DEFAULTS } from "./helpers.ts";
import { nodeBoard, type NodeLink } from "./node-link.ts";

interface Msg {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

interface Live {
  client: BoardClient;
  link: NodeLink;
  messages: Msg[];
  errors: BoardError[];
}

let seq = 0;
const live: BoardClient[] = [];

function start(port: number, options?: BoardOptions): Live {
  const link = nodeBoard();
  const client = new BoardClient(Object.assign({ host: HOST, port: port, clientId: "compact-" + process.pid + "-" + seq++ }, options), link, ESPRUINO_DEFAULTS);
  live.push(client);
  const l: Live = { client: client, link: link, messages: [], errors: [] };
  client.on("message", (topic: string, payload: Uint8Array, info: { qos: number; retain: boolean }) => {
    l.messages.push({ topic: topic, payload: Buffer.from(payload).toString("utf8"), qos: info.qos, retain: info.retain });
  });
  client.on("error", (e: BoardError) => l.errors.push(e));
  return l;
}

function once(c: BoardClient, event: string): Promise<unknown> {
  return new Promise((resolve) => {
    const f = (x: unknown) => {
      c.off(event, f);
      resolve(x);
    };
    c.on(event, f);
  });
}

function subscribed(c: BoardClient, filter: string, qos: number): Promise<{ topic: string; qos: number }[]> {
  return new Promise((resolve, reject) => {
    c.subscribe(filter, { qos: qos }, (err, granted) => (err ? reject(err) : resolve(granted as { topic: string; qos: number }[])));
  });
}

function published(c: BoardClient, topic: string, payload: string, opts: { qos?: number; retain?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    c.publish(topic, payload, opts, (err) => (err ? reject(err) : resolve()));
  });
}

function ended(c: BoardClient): Promise<void> {
  return new Promise((resolve) => c.end(() => resolve()));
}

async function connectedClient(port: number, options?: BoardOptions): Promise<Live> {
  const l = start(port, options);
  await once(l.client, "connect");
  return l;
}

/** A bound on every test: a lost acknowledgement would otherwise wait forever. */
const BOUND = { timeout: 30000 };

function suite(name: string, startBroker: () => Promise<RunningBroker>, skip: (t: TestContext) => boolean) {
  describe("compact client against " + name, () => {
    let broker: RunningBroker | null = null;
    let port = 0;
    const ready = async (t: TestContext) => {
      if (!skip(t)) return false;
      if (!broker) {
        broker = await startBroker();
        port = broker.port;
      }
      return true;
    };
    after(async () => {
      for (const c of live.splice(0)) await ended(c);
      if (broker) await broker.close();
    });

    test("QoS 0, 1 and 2 round trips", BOUND, async (t) => {
      if (!(await ready(t))) return;
      const a = await connectedClient(port);
      const top = "rt/" + seq;
      assert.deepEqual(await subscribed(a.client, top + "/#", 2), [{ topic: top + "/#", qos: 2 }]);
      for (const qos of [0, 1, 2]) await published(a.client, top + "/" + qos, "m" + qos + " é😀", { qos: qos });
      await waitFor(() => a.messages.length === 3, 10000, "3 messages");
      assert.deepEqual(
        a.messages.map((m) => [m.topic, m.payload, m.qos]).sort(),
        [0, 1, 2].map((q) => [top + "/" + q, "m" + q + " é😀", q]),
      );
      assert.deepEqual(a.errors, []);
      await ended(a.client);
    });

    test("the will fires when the link is cut", BOUND, async (t) => {
      if (!(await ready(t))) return;
      const wt = "will/" + seq;
      const watcher = await connectedClient(port);
      await subscribed(watcher.client, wt, 1);
      const dying = await connectedClient(port, { will: { topic: wt, payload: "gone", qos: 1 } });
      (dying.link.socket() as NonNullable<ReturnType<NodeLink["socket"]>>).destroy();
      await waitFor(() => watcher.messages.length === 1, 10000, "the will");
      assert.deepEqual(watcher.messages[0], { topic: wt, payload: "gone", qos: 1, retain: false });
      await once(dying.client, "connect"); // reconnects by itself
      await ended(dying.client);
      await ended(watcher.client);
    });

    test("retained messages reach a later subscriber with retain set", BOUND, async (t) => {
      if (!(await ready(t))) return;
      const rt = "ret/" + seq;
      const a = await connectedClient(port);
      await published(a.client, rt, "kept", { qos: 1, retain: true });
      const b = await connectedClient(port);
      await subscribed(b.client, rt, 1);
      await waitFor(() => b.messages.length === 1, 10000, "the retained message");
      assert.deepEqual(b.messages[0], { topic: rt, payload: "kept", qos: 1, retain: true });
      await published(a.client, rt, "", { qos: 1, retain: true }); // clears it
      await ended(a.client);
      await ended(b.client);
    });

    test("a 16 KB QoS 0 payload: streamed out with defaults, taken by a client whose maxPacketBytes allows it", BOUND, async (t) => {
      if (!(await ready(t))) return;
      const a = await connectedClient(port);
      // Espruino's default maxPacketBytes (2048) cannot take it: that client skips it and says so.
      const big = await connectedClient(port, { maxPacketBytes: 20480 });
      const top = "big/" + seq;
      await subscribed(a.client, top, 0);
      await subscribed(big.client, top, 0);
      const payload = Array.from({ length: 16384 }, (_, i) => String.fromCharCode(33 + (i % 90))).join("");
      a.client.publish(top, payload);
      a.client.publish(top, "small after");
      await waitFor(() => big.messages.length === 2 && a.messages.length === 1, 10000, "the messages");
      assert.equal(big.messages[0].payload.length, 16384);
      assert.equal(big.messages[0].payload, payload);
      assert.equal(big.messages[1].payload, "small after");
      assert.deepEqual(a.messages.map((m) => m.payload), ["small after"]);
      assert.deepEqual(a.errors.map((e) => e.code), [-17]);
      await ended(a.client);
      await ended(big.client);
    });

    test("200 QoS 1 messages in a burst, publishing on at drain: all delivered once, in order", BOUND, async (t) => {
      if (!(await ready(t))) return;
      const a = await connectedClient(port);
      const top = "burst/" + seq;
      await subscribed(a.client, top, 1);
      let acked = 0;
      let waits = 0;
      for (let i = 0; i < 200; i++) {
        const taken = a.client.publish(top, "n" + i, { qos: 1 }, (err) => {
          assert.equal(err, null);
          acked++;
        });
        if (!taken) {
          waits++;
          await once(a.client, "drain");
        }
      }
      await waitFor(() => a.messages.length >= 200 && acked === 200, 20000, "200 messages", () => a.messages.length + " arrived, " + acked + " acknowledged");
      assert.deepEqual(
        a.messages.map((m) => m.payload),
        Array.from({ length: 200 }, (_, i) => "n" + i),
      );
      assert.ok(waits > 0, "the outbox said wait at least once");
      assert.deepEqual(a.errors, []);
      await ended(a.client);
    });
  });
}

suite("aedes", () => startAedes(), () => true);
suite("mosquitto", () => startMosquitto(), (t) => needMosquitto(t));

/**
 * The QoS 0-only client against real brokers over the Node board: aedes always, mosquitto when
 * installed (required in CI). A full client is the peer that publishes at QoS 1 and 2 and
 * watches the will.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { nodeBoard } from "../../boards/node/index.ts";
import { ENDED, LiteClient, type LiteOptions } from "../../src/lite.ts";
import type { MqttError } from "../../src/errors.ts";
import { ERR_REFUSED } from "../../src/status.ts";
import {
  HOST,
  mosquittoAvailable,
  needMosquitto,
  startAedes,
  startMosquitto,
  startProxy,
  waitFor,
  writePasswordFile,
  type RunningBroker,
} from "../helpers/brokers.ts";
import { Clients, uniqueName, within } from "../integration/support.ts";

/** A lite client and what it reported. */
class LiteProbe {
  readonly client: LiteClient;
  readonly messages: { topic: string; payload: Buffer; qos: number; retain: boolean }[] = [];
  readonly errors: MqttError[] = [];
  connects = 0;
  closes = 0;

  constructor(options: LiteOptions) {
    this.client = new LiteClient({ host: HOST, keepalive: 5, connectTimeoutMs: 2000, reconnect: { minMs: 100, maxMs: 400 }, ...options }, nodeBoard());
    this.client.on("connect", () => this.connects++);
    this.client.on("close", () => this.closes++);
    this.client.on("error", (e: MqttError) => this.errors.push(e));
    this.client.on("message", (topic: string, payload: Uint8Array, p: { qos: number; retain: boolean }) => {
      this.messages.push({ topic, payload: Buffer.from(payload), qos: p.qos, retain: p.retain });
    });
  }

  describe(): string {
    return "state " + this.client.state + ", " + this.connects + " connects, errors: " + this.errors.map((e) => e.message).join("; ");
  }

  waitConnected(n: number): Promise<void> {
    return waitFor(() => this.connects >= n, 5000, "lite client to connect " + n + " time(s)", () => this.describe());
  }

  subscribe(filter: string): Promise<MqttError | null> {
    return within(new Promise((resolve) => this.client.subscribe(filter, (err) => resolve(err))), 5000, "SUBACK for " + filter);
  }

  async end(): Promise<void> {
    if (this.client.state === ENDED) return;
    await within(new Promise<void>((resolve) => this.client.end(() => resolve())), 3000, "lite client to end");
  }
}

function brokerCases(name: string, start: () => Promise<RunningBroker>): void {
  describe("QoS 0 client against " + name, () => {
    let broker: RunningBroker;
    const clients = new Clients();
    const lites: LiteProbe[] = [];
    const lite = (o: LiteOptions) => {
      const p = new LiteProbe(o);
      lites.push(p);
      return p;
    };
    before(async () => {
      broker = await start();
    });
    after(async () => {
      for (const l of lites) await l.end();
      await clients.endAll();
      await broker.close();
    });

    it("publishes and receives at QoS 0; QoS 1 and 2 publishes reach it at QoS 0; every byte value and 16 KB", async () => {
      const topic = uniqueName("lite");
      const l = lite({ port: broker.port, clientId: uniqueName("l"), username: "maker", password: "secret", rxBytes: 20000, txBytes: 20000 });
      await l.waitConnected(1);
      assert.equal(await l.subscribe(topic + "/#"), null);
      const peer = clients.open("peer", { port: broker.port, clientId: uniqueName("peer") });
      await peer.waitConnected(1, 5000);
      assert.equal(l.client.publish(topic + "/self", "to myself"), true);
      assert.equal(await peer.publish(topic + "/q1", "one", 1), null);
      assert.equal(await peer.publish(topic + "/q2", "two", 2), null);
      const all = new Uint8Array(256).map((_, i) => i);
      const big = new Uint8Array(16384).map((_, i) => (i * 31 + 7) & 255);
      assert.equal(l.client.publish(topic + "/all", all), true);
      assert.equal(l.client.publish(topic + "/big", big), true);
      await waitFor(() => l.messages.length >= 5, 5000, "five messages", () => JSON.stringify(l.messages.map((m) => m.topic)));
      const by = (t: string) => l.messages.find((m) => m.topic === topic + "/" + t)!;
      assert.equal(by("self").payload.toString(), "to myself");
      assert.deepEqual([by("q1").qos, by("q1").payload.toString()], [0, "one"]);
      assert.deepEqual([by("q2").qos, by("q2").payload.toString()], [0, "two"]);
      assert.deepEqual(new Uint8Array(by("all").payload), all);
      assert.deepEqual(new Uint8Array(by("big").payload), big);
      assert.equal(l.messages.length, 5);
      assert.deepEqual(l.errors, []);
    });

    it("keepalive: pings keep an idle connection open", async () => {
      const l = lite({ port: broker.port, clientId: uniqueName("ka"), keepalive: 1 });
      await l.waitConnected(1);
      await new Promise((r) => setTimeout(r, 2600));
      assert.equal(l.client.connected, true);
      assert.equal(l.connects, 1);
      assert.deepEqual(l.errors, []);
    });

    it("a cut link: the will fires (offline, retained), the client reconnects and its subscription is made again", async () => {
      const topic = uniqueName("will");
      const proxy = await startProxy(broker.port);
      try {
        const watcher = clients.open("watcher", { port: broker.port, clientId: uniqueName("w") });
        await watcher.waitConnected(1, 5000);
        assert.equal((await watcher.subscribe(topic + "/#", 1)).err, null);
        const l = lite({ port: proxy.port, clientId: uniqueName("lw"), will: { topic: topic + "/status", payload: "offline", retain: true } });
        await l.waitConnected(1);
        l.client.publish(topic + "/status", "online", { retain: true });
        assert.equal(await l.subscribe(topic + "/cmd"), null);
        await watcher.waitMessages(topic + "/status", 1, 5000);
        proxy.cut();
        await watcher.waitMessages(topic + "/status", 2, 5000);
        assert.deepEqual(watcher.payloads(topic + "/status"), ["online", "offline"]);
        await l.waitConnected(2);
        // No SUBACK to wait for: the resubscribe has no callback. Publish until one arrives.
        await waitFor(() => {
          watcher.client.publish(topic + "/cmd", "ping", { qos: 0 });
          return l.messages.some((m) => m.topic === topic + "/cmd");
        }, 5000, "a message on the restored subscription");
        assert.equal(l.errors.length >= 1, true, "the cut is reported");
        assert.match(l.errors[0].message, /connection lost/);
      } finally {
        await proxy.close();
      }
    });

    it("end() sends DISCONNECT: no will", async () => {
      const topic = uniqueName("nowill");
      const watcher = clients.open("watcher2", { port: broker.port, clientId: uniqueName("w2") });
      await watcher.waitConnected(1, 5000);
      assert.equal((await watcher.subscribe(topic, 1)).err, null);
      const l = lite({ port: broker.port, clientId: uniqueName("ln"), will: { topic, payload: "gone" } });
      await l.waitConnected(1);
      await l.end();
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(watcher.payloads(topic), []);
    });
  });
}

brokerCases("aedes", () => startAedes());

if (mosquittoAvailable() || process.env.MCU_MQTT_REQUIRE_MOSQUITTO === "1") {
  brokerCases("mosquitto", () => startMosquitto());
}

describe("QoS 0 client, mosquitto with a password file", () => {
  it("bad credentials: refused with the return code, no retry", async (t) => {
    if (!needMosquitto(t)) return;
    const dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-lite-auth-"));
    const file = join(dir, "passwd");
    writePasswordFile(file, "maker", "right");
    const broker = await startMosquitto(["allow_anonymous false", "password_file " + file]);
    const l = new LiteProbe({ port: broker.port, clientId: uniqueName("auth"), username: "maker", password: "wrong" });
    try {
      await waitFor(() => l.errors.length >= 1, 5000, "a refusal", () => l.describe());
      assert.equal(l.errors[0].code, ERR_REFUSED);
      assert.equal(l.errors[0].returnCode, 5);
      assert.doesNotMatch(l.errors[0].message, /wrong/);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(l.connects, 0);
      assert.equal(l.errors.length, 1, "no retry after a refusal: " + l.describe());
      const ok = new LiteProbe({ port: broker.port, clientId: uniqueName("auth-ok"), username: "maker", password: "right" });
      await ok.waitConnected(1);
      await ok.end();
    } finally {
      await l.end();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The shared broker behaviour (broker-suite.ts) against the system's mosquitto, plus what needs
 * mosquitto's persistence. Skipped with a notice when mosquitto is not installed, unless
 * MCU_MQTT_REQUIRE_MOSQUITTO=1 makes that a failure.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  mosquittoAvailable,
  mosquittoDynsecPlugin,
  needMosquitto,
  startMosquitto,
  writePasswordFile,
  waitFor,
  type RunningMosquitto,
} from "../helpers/brokers.ts";
import { brokerSuite } from "./broker-suite.ts";
import { Clients, uniqueName, within } from "./support.ts";

/** Starts mosquitto with files (ACL, passwords) written into a temp dir of their own, removed on close. */
async function withFiles(write: (dir: string) => string[]): Promise<RunningMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-mosquitto-files-"));
  try {
    const broker = await startMosquitto(write(dir));
    const close = broker.close;
    broker.close = async () => {
      await close();
      rmSync(dir, { recursive: true, force: true });
    };
    return broker;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

brokerSuite({
  name: "mosquitto",
  available: (t) => needMosquitto(t),
  installed: mosquittoAvailable,
  start: () => startMosquitto(),
  startDenying: () =>
    withFiles((dir) => {
      // mosquitto 2.0.11's acl_file does not check subscriptions at all (it grants them and
      // filters delivery), so the refusal comes from the dynamic-security plugin: anonymous
      // clients are in a group whose role denies subscribing under denied/.
      const plugin = mosquittoDynsecPlugin();
      if (!plugin) throw new Error("mosquitto_dynamic_security.so not found (set MOSQUITTO_DYNSEC_PLUGIN)");
      const config = join(dir, "dynamic-security.json");
      writeFileSync(
        config,
        JSON.stringify({
          defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: true, unsubscribe: true },
          clients: [],
          groups: [{ groupname: "anonymous", roles: [{ rolename: "no-denied" }] }],
          roles: [{ rolename: "no-denied", acls: [{ acltype: "subscribePattern", topic: "denied/#", allow: false, priority: 0 }] }],
          anonymousGroup: "anonymous",
        }),
      );
      return ["plugin " + plugin, "plugin_opt_config_file " + config];
    }),
  startWithPassword: (user, password) =>
    withFiles((dir) => {
      const file = join(dir, "passwords");
      writePasswordFile(file, user, password);
      return ["password_file " + file];
    }),
  badPasswordCode: 5,
});

describe("client against mosquitto with persistence", () => {
  it("gets what was queued for its persistent session after a broker restart, exactly once", { timeout: 20000 }, async (t) => {
    if (!needMosquitto(t)) return;
    const broker = await startMosquitto([], { persistence: true });
    const clients = new Clients();
    t.after(async () => {
      try {
        await clients.endAll();
      } finally {
        await broker.close();
      }
    });
    const base = uniqueName("restart");
    const q1 = base + "/q1";
    const q2 = base + "/q2";
    const durable = clients.open("durable", { port: broker.port, clientId: base, clean: false });
    await durable.waitConnected(1, 3000);
    assert.equal((await durable.subscribe(q1, 1)).err, null);
    assert.equal((await durable.subscribe(q2, 2)).err, null);
    await within(new Promise<void>((resolve) => durable.client.end(() => resolve())), 3000, "end()");

    const pub = clients.open("pub", { port: broker.port });
    await pub.waitConnected(1, 3000);
    for (let i = 0; i < 3; i++) {
      assert.equal(await pub.publish(q1, "q1-" + i, 1), null);
      assert.equal(await pub.publish(q2, "q2-" + i, 2), null);
    }

    // The publisher loses the broker, queues a message while it is away, and reconnects by itself.
    const restarted = broker.restart();
    await waitFor(() => pub.offlines >= 1, 3000, "the publisher to notice the restart", () => pub.describe());
    const during = pub.publish(q1, "q1-during", 1);
    await restarted;
    await pub.waitConnected(2, 5000);
    assert.equal(await within(during, 3000, "the publish queued during the restart"), null);

    const back = clients.open("back", { port: broker.port, clientId: base, clean: false });
    await back.waitConnected(1, 3000);
    assert.equal(back.connects[0].sessionPresent, true, "the session survived the restart");
    assert.equal(await pub.publish(q1, "q1-end", 1), null);
    assert.equal(await pub.publish(q2, "q2-end", 2), null);
    await back.waitMessages(q1, 5, 5000);
    await back.waitMessages(q2, 4, 5000);
    assert.deepEqual(back.payloads(q1), ["q1-0", "q1-1", "q1-2", "q1-during", "q1-end"]);
    assert.deepEqual(back.payloads(q2), ["q2-0", "q2-1", "q2-2", "q2-end"]);
    assert.equal(back.errors.length, 0, back.describe());
  });
});

/**
 * The chat example with two scripted participants on a mosquitto of its own (the chat's topics
 * are fixed), watched by mosquitto_sub on the public room. The chat runs bundled (support.ts),
 * and every step waits for the line it expects.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HOST, startMosquitto, type RunningMosquitto } from "../helpers/brokers.ts";
import { killAll, startChat, startMosquittoSub, subscribed, TEST_LIMIT, toolsMissing } from "./support.ts";

const missing = toolsMissing();

describe("the chat example", { skip: missing || false }, () => {
  let broker: RunningMosquitto;

  before(async () => {
    broker = await startMosquitto();
  });

  after(async () => {
    killAll();
    if (broker) await broker.close();
  });

  it("two participants talk in the room and in private; /quit and the will announce leaving", TEST_LIMIT, async () => {
    const url = "mqtt://" + HOST + ":" + broker.port;
    const room = startMosquittoSub(["-h", HOST, "-p", String(broker.port), "-t", "chat/public", "-v", "-q", "1", "-i", "room-watch"]);
    await subscribed(broker, "room-watch");
    const alice = startChat("alice", url);
    await alice.waitForOutput("* alice joined\n");
    const bob = startChat("bob", url);
    await bob.waitForOutput("* bob joined\n");
    await alice.waitForOutput("* bob joined\n");

    alice.write("hello room\n");
    await bob.waitForOutput("alice: hello room\n");
    await alice.waitForOutput("alice: hello room\n");

    bob.write("/priv alice just between us\n");
    await alice.waitForOutput("(private) bob: just between us\n");
    await bob.waitForOutput("(to alice) just between us\n");
    alice.write("/priv bob same here\n");
    await bob.waitForOutput("(private) alice: same here\n");

    alice.write("/nonsense\n");
    await alice.waitForOutput("! unknown command /nonsense");

    // bob's process dies without a goodbye: his will tells the room.
    bob.kill("SIGKILL");
    await bob.finish();
    await alice.waitForOutput("* bob left unexpectedly\n");

    alice.write("/quit lunch time\n");
    const end = await alice.finish();
    assert.equal(end.code, 0, end.stderr);

    await room.waitForOutput("chat/public * alice left (lunch time)\n");
    room.kill("SIGTERM");
    const seen = (await room.finish()).stdout.toString();
    assert.equal(
      seen,
      [
        "chat/public * alice joined",
        "chat/public * bob joined",
        "chat/public alice: hello room",
        "chat/public * bob left unexpectedly",
        "chat/public * alice left (lunch time)",
        "",
      ].join("\n"),
    );
    // Nothing private reached the room, and nobody saw the other's private echo.
    assert.ok(!bob.stdoutText().includes("(private) bob:"));
    assert.ok(!alice.stdoutText().includes("(to bob) just between us"));
  });
});

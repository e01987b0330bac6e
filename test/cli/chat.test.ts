/**
 * The chat example with two scripted participants on a mosquitto of its own (the chat's topics
 * are fixed), watched by mosquitto_sub on the public room.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HOST, startMosquitto, type RunningMosquitto } from "../helpers/brokers.ts";
import { killAll, startChat, startMosquittoSub, subscribed, toolsMissing } from "./support.ts";

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

  it("two participants talk in the room and in private; /quit and the will announce leaving", { timeout: 20000 }, async () => {
    const url = "mqtt://" + HOST + ":" + broker.port;
    const room = startMosquittoSub(["-h", HOST, "-p", String(broker.port), "-t", "chat/public", "-v", "-q", "1", "-i", "room-watch"]);
    await subscribed(broker, "room-watch");
    const alice = startChat("alice", url);
    await alice.waitForOutput("* alice joined\n", 8000);
    const bob = startChat("bob", url);
    await bob.waitForOutput("* bob joined\n", 8000);
    await alice.waitForOutput("* bob joined\n", 5000);

    alice.write("hello room\n");
    await bob.waitForOutput("alice: hello room\n", 5000);
    await alice.waitForOutput("alice: hello room\n", 5000);

    bob.write("/priv alice just between us\n");
    await alice.waitForOutput("(private) bob: just between us\n", 5000);
    await bob.waitForOutput("(to alice) just between us\n", 5000);
    alice.write("/priv bob same here\n");
    await bob.waitForOutput("(private) alice: same here\n", 5000);

    alice.write("/nonsense\n");
    await alice.waitForOutput("! unknown command /nonsense", 5000);

    // bob's process dies without a goodbye: his will tells the room.
    bob.kill("SIGKILL");
    await bob.finish(5000);
    await alice.waitForOutput("* bob left unexpectedly\n", 5000);

    alice.write("/quit lunch time\n");
    const end = await alice.finish(8000);
    assert.equal(end.code, 0, end.stderr);

    await room.waitForOutput("chat/public * alice left (lunch time)\n", 5000);
    room.kill("SIGTERM");
    const seen = (await room.finish(5000)).stdout.toString();
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

/**
 * The session fuzzer (session-fuzz.ts) on a bounded number of inputs with fixed seeds; `npm run
 * fuzz` runs a million. Also checks that the fuzzer can fail: a session broken on purpose must be
 * caught.
 */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { Session } from "../../src/session/session.ts";
import { runSessionFuzz, summarizeSessionFuzz, type SessionFuzzReport } from "./session-fuzz.ts";

function explain(r: SessionFuzzReport): string {
  return summarizeSessionFuzz(r) + "\n" + r.firstFailures.map((f) => `input ${f.iteration}: ${f.what}\n  ${f.input}\n  ${f.config}`).join("\n");
}

for (const seed of [1, 0x5eed]) {
  test(`session fuzz, seed ${seed}: 30,000 inputs, no failure, both outcomes exercised`, { timeout: 15000 }, (t) => {
    const r = runSessionFuzz(seed, 30000);
    t.diagnostic(summarizeSessionFuzz(r));
    assert.equal(r.failures, 0, explain(r));
    assert.equal(r.inputs, 30000);
    // Not vacuous: inputs that ended the link and inputs that were taken, and recoveries after
    // the failures with their round trips checked.
    assert.ok(r.failingInputs > 1000, "failing inputs: " + r.failingInputs);
    assert.ok(r.passingInputs > 1000, "passing inputs: " + r.passingInputs);
    assert.ok(r.roundTrips >= r.failingInputs * 0.9, "round trips " + r.roundTrips + " for " + r.failingInputs + " failures");
    assert.ok(r.mutatedInputs > 5000, "mutated inputs: " + r.mutatedInputs);
    assert.ok(r.messagesDelivered > 1000 && r.tokensDone > 1000, "messages " + r.messagesDelivered + ", requests done " + r.tokensDone);
    assert.ok(r.packetsDropped > 100, "oversized packets dropped: " + r.packetsDropped);
    assert.ok(r.pingsSent > 10 && r.refusals > 10, "PINGREQs " + r.pingsSent + ", refusals " + r.refusals);
    // Failures of several kinds: framing, decoding, packets a broker must not send, the incoming
    // QoS 2 table, ping timeouts.
    for (const name of [
      "bad packet type",
      "malformed packet",
      "reserved flags set",
      "unexpected packet from the broker",
      "too many incoming QoS 2 messages awaiting PUBREL",
      "no PINGRESP within the ping timeout",
    ]) {
      assert.ok((r.failStatuses[name] || 0) > 0, "no input ended with '" + name + "': " + JSON.stringify(r.failStatuses));
    }
  });
}

test("the same seed gives the same run", () => {
  const a = runSessionFuzz(99, 2000);
  const b = runSessionFuzz(99, 2000);
  assert.deepEqual(a, b);
});

/** Runs the fuzzer with one Session method replaced, and puts it back. */
function withPatched(name: keyof Session, replacement: unknown, count: number): SessionFuzzReport {
  const proto = Session.prototype as unknown as Record<string, unknown>;
  const original = proto[name as string];
  proto[name as string] = replacement;
  try {
    return runSessionFuzz(3, count);
  } finally {
    proto[name as string] = original;
  }
}

test("the fuzzer catches a session that ignores malformed packets", () => {
  const r = withPatched("onPacketError", function () {}, 3000);
  assert.ok(r.failures > 0, "not caught");
  assert.ok(r.firstFailures.some((f) => /without failing/.test(f.what)), r.firstFailures.map((f) => f.what).join("; "));
});

test("the fuzzer catches an exception escaping the session", () => {
  const original = Session.prototype.onPacket;
  const r = withPatched(
    "onPacket",
    function (this: Session, buf: Uint8Array, p: { type: number }) {
      if (p.type === 13) throw new Error("boom on PINGRESP");
      original.call(this, buf, p as never);
    },
    3000,
  );
  assert.ok(r.firstFailures.some((f) => /threw: Error: boom on PINGRESP/.test(f.what)), r.firstFailures.map((f) => f.what).join("; "));
});

test("the fuzzer catches a session that forgets its in-flight messages", () => {
  // A linkDown that also empties the outbox: held messages are never acknowledged.
  const original = Session.prototype.linkDown;
  const r = withPatched(
    "linkDown",
    function (this: Session) {
      original.call(this);
      const box = this.outbox;
      box.count = 0;
      box.head = 0;
    },
    3000,
  );
  assert.ok(r.failures > 0, "not caught");
});

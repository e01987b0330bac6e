/**
 * The session fuzzer (session-fuzz.ts) on a bounded number of inputs with fixed seeds; `npm run
 * fuzz` runs a million. Also checks that the fuzzer can fail: a session broken on purpose must be
 * caught.
 */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { PINGREQ, PUBREC } from "../../src/packet/index.ts";
import { Session, type SessionEvents } from "../../src/session/session.ts";
import { runSessionFuzz, summarizeSessionFuzz, type SessionFuzzReport } from "./session-fuzz.ts";

/** The private parts of Session the planted bugs below use. */
type PrivateMethod = "onPublish" | "onPubrel" | "sendAck" | "sendSlice";
interface Private {
  incoming: Uint8Array;
  events: SessionEvents;
  withheld: boolean;
  big: unknown;
  onPublish(buf: Uint8Array, p: { qos: number; packetId: number }): void;
  sendAck(type: number, id: number): void;
  sendSlice(bytes: Uint8Array, off: number, len: number): void;
}
const privateProto = Session.prototype as unknown as Private;

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
    // Large QoS 0 packets written in slices and put together; incoming QoS 2 messages withheld
    // with the table full, and the table drained after that (onWithheld, then a reconnect).
    assert.ok(r.slicedPackets > 50, "sliced packets: " + r.slicedPackets);
    assert.ok(r.withheldMessages > 50 && r.withheldCalls > 5, "withheld messages " + r.withheldMessages + ", onWithheld calls " + r.withheldCalls);
    // Failures of several kinds: framing, decoding, packets a broker must not send, ping
    // timeouts. A full incoming QoS 2 table is not one: it withholds PUBREC instead.
    for (const name of [
      "bad packet type",
      "malformed packet",
      "reserved flags set",
      "unexpected packet from the broker",
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

/** Runs the fuzzer with one Session method (private ones too) replaced, and puts it back. */
function withPatched(name: keyof Session | PrivateMethod, replacement: unknown, count: number): SessionFuzzReport {
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

test("the fuzzer catches a session that acknowledges a withheld QoS 2 message", () => {
  const original = privateProto.onPublish;
  const r = withPatched(
    "onPublish",
    function (this: Private, buf: Uint8Array, p: { qos: number; packetId: number }) {
      const qos = p.qos;
      const id = p.packetId;
      original.call(this, buf, p);
      // Neither in the table nor refused: withheld, and PUBREC sent all the same.
      if (qos === 2 && this.withheld && (this.incoming[id >> 3] & (1 << (id & 7))) === 0) this.sendAck(PUBREC, id);
    },
    5000,
  );
  assert.ok(r.firstFailures.some((f) => /sent ack type 5 id \d+; the model owes/.test(f.what)), r.firstFailures.map((f) => f.what).join("; "));
});

test("the fuzzer catches a session that never asks for its withheld messages", () => {
  const r = withPatched(
    "onPubrel",
    function (this: Private, id: number) {
      const bit = 1 << (id & 7);
      if (this.incoming[id >> 3] & bit) {
        this.incoming[id >> 3] &= ~bit;
        (this as unknown as { incomingCount: number }).incomingCount--;
      }
      this.sendAck(7, id); // PUBCOMP, and no onWithheld
    },
    20000,
  );
  assert.ok(r.firstFailures.some((f) => /onWithheld called 0 times; the model says 1/.test(f.what)), r.firstFailures.map((f) => f.what).join("; "));
});

test("the fuzzer catches a packet written between the slices of a large one", () => {
  const original = privateProto.sendSlice;
  const ping = new Uint8Array([PINGREQ << 4, 0]);
  const r = withPatched(
    "sendSlice",
    function (this: Private, bytes: Uint8Array, off: number, len: number) {
      this.events.sendBytes(ping, 0, 2);
      original.call(this, bytes, off, len);
    },
    5000,
  );
  assert.ok(r.firstFailures.some((f) => /between the slices of one packet/.test(f.what)), r.firstFailures.map((f) => f.what).join("; "));
});

test("the fuzzer catches an acknowledgement not held behind a large packet", () => {
  const r = withPatched(
    "sendAck",
    function (this: Private & { ackBuf: Uint8Array }, type: number, id: number) {
      // The deferral left out: written at once, in the middle of the large packet.
      const b = this.ackBuf;
      b[0] = (type << 4) | (type === 6 ? 2 : 0);
      b[1] = 2;
      b[2] = id >> 8;
      b[3] = id & 0xff;
      this.events.sendBytes(b, 0, 4);
    },
    30000,
  );
  assert.ok(r.firstFailures.some((f) => /between the slices of one packet/.test(f.what)), r.firstFailures.map((f) => f.what).join("; "));
});

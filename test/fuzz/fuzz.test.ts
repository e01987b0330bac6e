/**
 * A bounded fuzz run with a fixed seed (the long one is `npm run fuzz`). It must find no failure,
 * and it must have exercised what it claims to: accepted, rejected and incomplete inputs, every
 * packet type, many distinct statuses, and every kind of receiver event. It is also shown to fail
 * when the decoder is broken, so it cannot pass vacuously.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ERR_FILTER,
  ERR_FLAGS,
  ERR_MALFORMED,
  ERR_PACKET_ID,
  ERR_PACKET_TYPE,
  ERR_PROTOCOL,
  ERR_REMAINING_LENGTH,
  ERR_RETURN_CODE,
  ERR_TOPIC,
  ERR_UTF8,
  NEED_MORE,
} from "../../src/status.ts";
import { decodePacket, type DecodedPacket } from "../../src/packet/index.ts";
import { runFuzz, summarize } from "./fuzz.ts";

const SEED = 20240611;
const COUNT = 40000;

describe("fuzz", () => {
  test(`${COUNT} inputs from seed ${SEED}: no failure, and every path exercised`, () => {
    const r = runFuzz(SEED, COUNT);
    const summary = summarize(r);
    assert.equal(r.failures, 0, summary + "\n" + JSON.stringify(r.firstFailures, null, 1));
    assert.equal(r.inputs, COUNT);
    // Each verdict of decodePacket came up often.
    assert.equal(r.accepted + r.rejected + r.needMore, COUNT);
    assert.ok(r.accepted > COUNT * 0.1, "too few accepted inputs\n" + summary);
    assert.ok(r.rejected > COUNT * 0.3, "too few rejected inputs\n" + summary);
    assert.ok(r.needMore > COUNT * 0.1, "too few incomplete inputs\n" + summary);
    // Every packet type was accepted, so every decoder body ran to its end.
    for (let type = 1; type <= 14; type++) {
      assert.ok((r.acceptedByType[type] ?? 0) > 50, `type ${type} accepted too rarely\n${summary}`);
    }
    // The rejections reached deep into the packets, not only the header.
    for (const status of [
      ERR_PACKET_TYPE,
      ERR_REMAINING_LENGTH,
      ERR_FLAGS,
      ERR_PACKET_ID,
      ERR_UTF8,
      ERR_TOPIC,
      ERR_FILTER,
      ERR_MALFORMED,
      ERR_PROTOCOL,
      ERR_RETURN_CODE,
    ]) {
      assert.ok((r.byStatus[status] ?? 0) > 10, `status ${status} too rare\n${summary}`);
    }
    // The receiver delivered packets, refused some, drained oversized ones and lost framing.
    assert.ok(r.receivedPackets > COUNT, summary);
    assert.ok(r.receiverErrors > COUNT * 0.2, summary);
    assert.ok(r.tooLarge > 100, summary);
    assert.ok(r.framingLost > 100, summary);
    assert.ok(r.chunks > r.streams * 3, "streams were not split into chunks\n" + summary);
  });

  test("the same seed gives the same run", () => {
    assert.deepEqual(runFuzz(7, 1000), runFuzz(7, 1000));
    assert.notDeepEqual(runFuzz(7, 1000).byStatus, runFuzz(8, 1000).byStatus);
  });

  test("a decoder that reads one byte past its range is caught", () => {
    const peeking = (buf: Uint8Array, off: number, end: number, out: DecodedPacket): number => {
      void buf[end];
      return decodePacket(buf, off, end, out);
    };
    const r = runFuzz(SEED, 200, { decodePacket: peeking });
    assert.ok(r.failures >= 200, summarize(r));
    assert.ok(r.firstFailures.every((f) => f.what === "read outside the range"));
  });

  test("a decoder that accepts what it should refuse is caught by the round trip", () => {
    // Accepts the first byte of any rejected input as a one-byte "packet" of its type.
    const lax = (buf: Uint8Array, off: number, end: number, out: DecodedPacket): number => {
      const n = decodePacket(buf, off, end, out);
      if (n >= 0 || n === NEED_MORE) return n;
      out.type = 12;
      out.length = 2;
      return end - off >= 2 ? 2 : n;
    };
    const r = runFuzz(SEED, 2000, { decodePacket: lax });
    assert.ok(r.failures > 0, summarize(r));
    assert.ok(r.firstFailures.some((f) => f.what === "semantic consistency"));
  });

  test("a decoder that throws is caught", () => {
    const throwing = (buf: Uint8Array, off: number, end: number, out: DecodedPacket): number => {
      if (end - off > 40) throw new Error("boom");
      return decodePacket(buf, off, end, out);
    };
    const r = runFuzz(SEED, 2000, { decodePacket: throwing });
    assert.ok(r.failures > 0);
    assert.ok(r.firstFailures.some((f) => f.what === "exception" && f.detail.includes("boom")));
  });
});

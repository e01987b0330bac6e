/**
 * Property tests of the packet codec on generated valid packets of every type:
 * encode → decode → read gives the packet back, sizes agree, prefixes need more bytes, and an
 * encoder writes only inside its packet's bytes.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ERR_BUFFER_TOO_SMALL, ERR_CLIENT_ID, ERR_FLAGS, ERR_MALFORMED, NEED_MORE } from "../../src/status.ts";
import {
  CONNACK,
  CONNECT,
  DecodedPacket,
  MAX_REMAINING_LENGTH,
  PUBLISH,
  decodePacket,
  encodePacket,
  encodePublish,
  packetLength,
  packetSize,
  publishSize,
  readPacket,
  remainingLengthSize,
  type Packet,
} from "../../src/packet/index.ts";
import { anyPacket, expectedRead, hex, packetsByType, show } from "../helpers/arbitraries.ts";

/** Encodes `p` alone into a buffer of exactly its size. */
function encodeAlone(p: Packet): Uint8Array {
  const size = packetSize(p);
  assert.ok(size > 0, `packetSize gave ${size} for ${show(p)}`);
  const buf = new Uint8Array(size);
  assert.equal(encodePacket(buf, 0, p), size, show(p));
  return buf;
}

/** Bytes of the remaining-length field starting at `off` (continuation bits followed). */
function countLengthBytes(buf: Uint8Array, off: number): number {
  let n = 1;
  while (buf[off + n - 1] & 0x80) n++;
  return n;
}

const RUNS: Record<string, number> = { CONNECT: 1000, PUBLISH: 1000, SUBSCRIBE: 500, UNSUBSCRIBE: 500, SUBACK: 500 };

describe("encode → decode → read gives the packet back", () => {
  for (const name of Object.keys(packetsByType)) {
    test(name, () => {
      fc.assert(
        fc.property(packetsByType[name], fc.nat(), (p, cut) => {
          const bytes = encodeAlone(p);
          const size = bytes.length;
          assert.equal(packetLength(bytes, 0, size), size);
          const out = new DecodedPacket();
          assert.equal(decodePacket(bytes, 0, size, out), size, `${show(p)} → ${hex(bytes)}`);
          assert.equal(out.type, p.type);
          assert.equal(out.length, size);
          // The fixed header is one type byte and the minimal remaining-length bytes.
          assert.equal(out.bodyOff, 1 + remainingLengthSize(size - out.bodyOff));
          assert.deepEqual(readPacket(bytes, out), expectedRead(p));
          // Any strict prefix is "need more", never an error.
          const prefix = cut % size;
          assert.equal(decodePacket(bytes, 0, prefix, new DecodedPacket()), NEED_MORE, `prefix ${prefix} of ${hex(bytes)}`);
        }),
        { numRuns: RUNS[name] ?? 200 },
      );
    });
  }

  test("every strict prefix of small packets needs more bytes", () => {
    fc.assert(
      fc.property(anyPacket, (p) => {
        const bytes = encodeAlone(p);
        if (bytes.length > 300) return;
        const out = new DecodedPacket();
        for (let end = 0; end < bytes.length; end++) {
          assert.equal(decodePacket(bytes, 0, end, out), NEED_MORE, `${end} of ${hex(bytes)}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("PUBLISH through publishSize/encodePublish gives the same bytes as through encodePacket", () => {
    fc.assert(
      fc.property(packetsByType.PUBLISH, (p) => {
        if (p.type !== PUBLISH) return;
        const bytes = encodeAlone(p);
        assert.equal(publishSize(p.topic, p.payload, p.qos, p.dup, p.packetId), bytes.length);
        const again = new Uint8Array(bytes.length);
        assert.equal(encodePublish(again, 0, p.topic, p.payload, p.qos, p.retain, p.dup, p.packetId), bytes.length);
        assert.equal(hex(again), hex(bytes));
      }),
      { numRuns: 300 },
    );
  });

  test("a stream of packets decodes one after another with one reused DecodedPacket", () => {
    fc.assert(
      fc.property(fc.array(anyPacket, { minLength: 1, maxLength: 12 }), (packets) => {
        const parts = packets.map(encodeAlone);
        const total = parts.reduce((n, b) => n + b.length, 0);
        const stream = new Uint8Array(total);
        let o = 0;
        for (const b of parts) {
          stream.set(b, o);
          o += b.length;
        }
        const out = new DecodedPacket();
        let off = 0;
        for (let i = 0; i < packets.length; i++) {
          const n = decodePacket(stream, off, total, out);
          assert.equal(n, parts[i].length);
          assert.deepEqual(readPacket(stream, out), expectedRead(packets[i]));
          off += n;
        }
        assert.equal(off, total);
        assert.equal(decodePacket(stream, off, total, out), NEED_MORE);
      }),
      { numRuns: 300 },
    );
  });
});

describe("sizes", () => {
  test("packetSize equals the encoded length, and the header uses the fewest length bytes", () => {
    fc.assert(
      fc.property(anyPacket, (p) => {
        const size = packetSize(p);
        const buf = new Uint8Array(size + 8);
        assert.equal(encodePacket(buf, 3, p) - 3, size);
        // The fixed header: one byte, then the fewest bytes that hold the remaining length.
        const lengthBytes = packetLength(buf, 3, buf.length) === size ? countLengthBytes(buf, 4) : -1;
        assert.equal(lengthBytes, remainingLengthSize(size - 1 - lengthBytes));
      }),
      { numRuns: 1000 },
    );
  });

  test("remaining-length boundaries: 1, 2, 3 and 4 bytes (127/128, 16,383/16,384, 2,097,151/2,097,152)", () => {
    const cases: Array<[number, number]> = [
      [3, 1],
      [127, 1],
      [128, 2],
      [16383, 2],
      [16384, 3],
      [2097151, 3],
      [2097152, 4],
    ];
    for (const [remaining, lengthBytes] of cases) {
      assert.equal(remainingLengthSize(remaining), lengthBytes);
      // A QoS 0 PUBLISH to "t" has 3 bytes of variable header; the payload makes up the rest.
      const payload = new Uint8Array(remaining - 3);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
      const p: Packet = { type: PUBLISH, topic: "t", payload, qos: 0, retain: false, dup: false, packetId: 0 };
      const size = packetSize(p);
      assert.equal(size, 1 + lengthBytes + remaining);
      const bytes = encodeAlone(p);
      const out = new DecodedPacket();
      assert.equal(decodePacket(bytes, 0, size, out), size);
      assert.equal(out.bodyOff, 1 + lengthBytes);
      assert.deepEqual(readPacket(bytes, out), expectedRead(p));
    }
    assert.equal(remainingLengthSize(MAX_REMAINING_LENGTH), 4);
  });
});

describe("encoding at an offset inside a larger buffer", () => {
  test("writes only inside [off, off + size), the same bytes as alone, and decodes from there", () => {
    fc.assert(
      fc.property(anyPacket, fc.nat(40), fc.nat(40), (p, off, slack) => {
        const alone = encodeAlone(p);
        const size = alone.length;
        // Two fills: a stray write can look unchanged against one of them, never against both.
        for (const fill of [0x00, 0xff]) {
          const buf = new Uint8Array(off + size + slack).fill(fill);
          assert.equal(encodePacket(buf, off, p), off + size);
          for (let i = 0; i < off; i++) assert.equal(buf[i], fill, `byte ${i} before the packet changed`);
          for (let i = off + size; i < buf.length; i++) assert.equal(buf[i], fill, `byte ${i} after the packet changed`);
          assert.equal(hex(buf.subarray(off, off + size)), hex(alone));
          const out = new DecodedPacket();
          // Bytes after the packet belong to the next one: they do not change the result.
          assert.equal(decodePacket(buf, off, buf.length, out), size);
          assert.deepEqual(readPacket(buf, out), expectedRead(p));
        }
      }),
      { numRuns: 1000 },
    );
  });

  test("with one byte too few, returns ERR_BUFFER_TOO_SMALL and writes nothing", () => {
    fc.assert(
      fc.property(anyPacket, fc.nat(20), (p, off) => {
        const size = packetSize(p);
        for (const fill of [0x00, 0xff]) {
          const buf = new Uint8Array(off + size - 1).fill(fill);
          assert.equal(encodePacket(buf, off, p), ERR_BUFFER_TOO_SMALL);
          assert.ok(buf.every((b) => b === fill), "a refused encode wrote bytes");
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("what the encoder refuses to send, the decoder refuses to accept", () => {
  // Found by the fuzzer's round-trip check: each of these decoded, but the packet read from it
  // could not be encoded again.
  function decodeStatus(bytes: number[]): number {
    const b = Uint8Array.from(bytes);
    return decodePacket(b, 0, b.length, new DecodedPacket());
  }

  test("CONNACK with session present and a refusal [MQTT-3.2.2-4]", () => {
    for (let rc = 0; rc <= 255; rc++) {
      const want = rc === 0 ? 4 : ERR_FLAGS;
      assert.equal(decodeStatus([0x20, 0x02, 0x01, rc]), want, `return code ${rc}`);
      assert.equal(encodePacket(new Uint8Array(4), 0, { type: CONNACK, sessionPresent: true, returnCode: rc }), want);
      assert.equal(decodeStatus([0x20, 0x02, 0x00, rc]), 4);
    }
  });

  test("PUBLISH QoS 0 with DUP [MQTT-3.3.1-2]", () => {
    // Topic "a", payload "x"; with and without RETAIN.
    assert.equal(decodeStatus([0x38, 0x04, 0x00, 0x01, 0x61, 0x78]), ERR_FLAGS);
    assert.equal(decodeStatus([0x39, 0x04, 0x00, 0x01, 0x61, 0x78]), ERR_FLAGS);
    assert.equal(decodeStatus([0x30, 0x04, 0x00, 0x01, 0x61, 0x78]), 6);
    const p: Packet = { type: PUBLISH, topic: "a", payload: "x", qos: 0, retain: false, dup: true, packetId: 0 };
    assert.equal(encodePacket(new Uint8Array(16), 0, p), ERR_FLAGS);
  });

  /** A CONNECT with the given level, flags and client id bytes, and nothing else. */
  function connect(level: number, flags: number, id: number[]): number[] {
    const name = level === 3 ? [0x4d, 0x51, 0x49, 0x73, 0x64, 0x70] : [0x4d, 0x51, 0x54, 0x54];
    const body = [0x00, name.length, ...name, level, flags, 0x00, 0x3c, id.length >> 8, id.length & 0xff, ...id];
    return [0x10, body.length, ...body];
  }

  test("CONNECT 3.1.1 with an empty client id and no clean session [MQTT-3.1.3-7] [MQTT-3.1.3-8]", () => {
    assert.equal(decodeStatus(connect(4, 0x00, [])), ERR_CLIENT_ID);
    assert.equal(decodeStatus(connect(4, 0x02, [])), 14);
    const p: Packet = { type: CONNECT, protocolVersion: 4, clientId: "", clean: false, keepalive: 60 };
    assert.equal(encodePacket(new Uint8Array(32), 0, p), ERR_CLIENT_ID);
  });

  test("CONNECT 3.1 with a client id of 0 or more than 23 bytes", () => {
    const id = (n: number): number[] => new Array<number>(n).fill(0x61);
    assert.equal(decodeStatus(connect(3, 0x02, [])), ERR_CLIENT_ID);
    assert.equal(decodeStatus(connect(3, 0x02, id(1))), 2 + 14 + 1);
    assert.equal(decodeStatus(connect(3, 0x02, id(23))), 2 + 14 + 23);
    assert.equal(decodeStatus(connect(3, 0x02, id(24))), ERR_CLIENT_ID);
    // 3.1.1 has no such limit.
    assert.equal(decodeStatus(connect(4, 0x02, id(24))), 2 + 12 + 24);
    const p: Packet = { type: CONNECT, protocolVersion: 3, clientId: "a".repeat(24), clean: true, keepalive: 60 };
    assert.equal(encodePacket(new Uint8Array(64), 0, p), ERR_CLIENT_ID);
  });

  test("a malformed CONNECT is ERR_MALFORMED even with a forbidden client id (that check comes last)", () => {
    const bytes = connect(4, 0x00, []);
    bytes.push(0x00);
    bytes[1]++;
    assert.equal(decodeStatus(bytes), ERR_MALFORMED);
  });
});

/**
 * The annotated vector table drives encode, decode and round-trip tests for every packet, the
 * exact status of every invalid vector, and truncation at every length.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  NEED_MORE,
  ERR_REMAINING_LENGTH,
  ERR_UNEXPECTED_PACKET,
} from "../../src/status.ts";
import {
  connectSize,
  decodeFromBroker,
  decodePacket,
  encodePacket,
  packetLength,
  packetSize,
  publishSize,
  readPacket,
  subscribeSize,
  unsubscribeSize,
} from "../../src/packet/index.ts";
import {
  CONNECT,
  DecodedPacket,
  DISCONNECT,
  PINGREQ,
  PUBLISH,
  SUBSCRIBE,
  UNSUBSCRIBE,
  type Packet,
} from "../../src/packet/types.ts";
import { invalidVectors, validVectors } from "../vectors/packets.ts";
import { firstChanged, normalize, sentinelBuffer } from "./helpers.ts";

/** One out-object for the whole file: decoding must not depend on a fresh one. */
const out = new DecodedPacket();

function encodeToArray(p: Packet): number[] {
  const size = packetSize(p);
  assert.ok(size > 0, "packetSize returned " + size);
  const buf = new Uint8Array(size);
  assert.equal(encodePacket(buf, 0, p), size);
  return Array.from(buf);
}

function decodeToPacket(bytes: Uint8Array): Packet {
  const n = decodePacket(bytes, 0, bytes.length, out);
  assert.equal(n, bytes.length, "decodePacket returned " + n);
  return readPacket(bytes, out);
}


describe("the vector table itself", () => {
  test("names are unique", () => {
    const names = new Set<string>();
    for (const v of [...validVectors, ...invalidVectors]) {
      assert.ok(!names.has(v.name), "duplicate vector name: " + v.name);
      names.add(v.name);
    }
  });

  test("every byte is 0..255 and every packet type 1..14 has a valid vector", () => {
    const types = new Set<number>();
    for (const v of [...validVectors, ...invalidVectors]) {
      for (const b of v.bytes) assert.ok(Number.isInteger(b) && b >= 0 && b <= 255, v.name);
    }
    for (const v of validVectors) types.add(v.packet.type);
    for (let t = 1; t <= 14; t++) assert.ok(types.has(t), "no valid vector of type " + t);
  });
});

describe("valid vectors", () => {
  for (const v of validVectors) {
    describe(v.name, () => {
      test("encode", () => {
        const size = packetSize(v.packet);
        assert.equal(size, v.bytes.length);
        if (v.packet.type === PUBLISH) {
          const p = v.packet;
          assert.equal(publishSize(p.topic, p.payload, p.qos, p.dup, p.packetId), v.bytes.length);
        }
        if (v.packet.type === CONNECT) assert.equal(connectSize(v.packet), v.bytes.length);
        if (v.packet.type === SUBSCRIBE) {
          const subs = v.packet.subscriptions;
          assert.equal(subscribeSize(v.packet.packetId, subs.map((s) => s.topic), subs.map((s) => s.qos)), v.bytes.length);
        }
        if (v.packet.type === UNSUBSCRIBE) assert.equal(unsubscribeSize(v.packet.packetId, v.packet.topics), v.bytes.length);
        // Exactly the room needed, at offset 0.
        const exact = new Uint8Array(size);
        assert.equal(encodePacket(exact, 0, v.packet), size);
        assert.deepEqual(Array.from(exact), v.bytes);
        // At a nonzero offset inside a larger buffer: the bytes around stay as they were.
        // (encodePacket hands each type to its own encoder, the ones the clients call.)
        const off = 7;
        const buf = sentinelBuffer(off + size + 5);
        assert.equal(encodePacket(buf, off, v.packet), off + size);
        assert.deepEqual(Array.from(buf.subarray(off, off + size)), v.bytes);
        assert.equal(firstChanged(buf.subarray(0, off)), -1);
        assert.equal(firstChanged(buf.subarray(off + size)), -1);
      });

      test("decode", () => {
        const bytes = Uint8Array.from(v.bytes);
        assert.equal(packetLength(bytes, 0, bytes.length), bytes.length);
        assert.deepEqual(normalize(decodeToPacket(bytes)), normalize(v.packet));
        assert.equal(out.type, v.packet.type);
        assert.equal(out.length, bytes.length);
        // At an offset, with unrelated bytes before and after the packet.
        const off = 3;
        const buf = new Uint8Array(off + bytes.length + 4).fill(0xff);
        buf.set(bytes, off);
        assert.equal(decodePacket(buf, off, buf.length, out), bytes.length);
        assert.equal(out.bodyOff > off, true);
        assert.deepEqual(normalize(readPacket(buf, out)), normalize(v.packet));
      });

      test("decode as a client", () => {
        const bytes = Uint8Array.from(v.bytes);
        const t = v.packet.type;
        const clientOnly = t === CONNECT || t === SUBSCRIBE || t === UNSUBSCRIBE || t === PINGREQ || t === DISCONNECT;
        const status = decodeFromBroker(bytes, 0, bytes.length, out);
        assert.equal(status, clientOnly ? ERR_UNEXPECTED_PACKET : bytes.length);
        assert.equal(out.type, t);
        if (!clientOnly) assert.deepEqual(normalize(readPacket(bytes, out)), normalize(v.packet));
      });

      test("round trip", () => {
        // packet -> bytes -> packet
        const encoded = Uint8Array.from(encodeToArray(v.packet));
        const decoded = decodeToPacket(encoded);
        assert.deepEqual(normalize(decoded), normalize(v.packet));
        // bytes -> packet -> bytes
        assert.deepEqual(encodeToArray(decodeToPacket(Uint8Array.from(v.bytes))), v.bytes);
      });

      test("every truncation needs more", () => {
        const bytes = Uint8Array.from(v.bytes);
        const shifted = new Uint8Array(bytes.length + 2);
        shifted.set(bytes, 2);
        for (let k = 0; k < bytes.length; k++) {
          // A view that ends at k: nothing past it can be read.
          const status = decodePacket(bytes.subarray(0, k), 0, k, out);
          if (status !== NEED_MORE) assert.fail("truncated at " + k + " of " + bytes.length + ": " + status);
          const atOff = decodePacket(shifted.subarray(0, 2 + k), 2, 2 + k, out);
          if (atOff !== NEED_MORE) assert.fail("at offset 2, truncated at " + k + ": " + atOff);
        }
      });
    });
  }
});

describe("invalid vectors", () => {
  for (const v of invalidVectors) {
    test(v.name, () => {
      const bytes = Uint8Array.from(v.bytes);
      assert.equal(decodePacket(bytes, 0, bytes.length, out), v.status);
      // The same at an offset, with more bytes following.
      const buf = new Uint8Array(bytes.length + 9);
      buf.set(bytes, 5);
      assert.equal(decodePacket(buf, 5, buf.length, out), v.status);
      // A client's decoder agrees, except that it refuses a client's packet types outright.
      const t = bytes[0] >> 4;
      const clientOnly = t === CONNECT || t === SUBSCRIBE || t === UNSUBSCRIBE || t === PINGREQ || t === DISCONNECT;
      const asClient = decodeFromBroker(bytes, 0, bytes.length, out);
      if (clientOnly && v.status !== NEED_MORE && asClient === ERR_UNEXPECTED_PACKET) return;
      assert.equal(asClient, v.status);
    });
  }
});

describe("remaining length", () => {
  const cases: Array<{ header: number[]; remaining: number }> = [
    { header: [0x00], remaining: 0 },
    { header: [0x7f], remaining: 127 },
    { header: [0x80, 0x01], remaining: 128 },
    { header: [0xff, 0x7f], remaining: 16383 },
    { header: [0x80, 0x80, 0x01], remaining: 16384 },
    { header: [0xff, 0xff, 0x7f], remaining: 2097151 },
    { header: [0x80, 0x80, 0x80, 0x01], remaining: 2097152 },
    { header: [0xff, 0xff, 0xff, 0x7f], remaining: 268435455 },
  ];
  for (const c of cases) {
    test("packetLength reads " + c.remaining + " from " + c.header.length + " byte(s)", () => {
      const bytes = Uint8Array.from([0x30, ...c.header]);
      assert.equal(packetLength(bytes, 0, bytes.length), 1 + c.header.length + c.remaining);
      // Known from the header alone; the body has not arrived, so decoding needs more.
      if (c.remaining > 0) assert.equal(decodePacket(bytes, 0, bytes.length, out), NEED_MORE);
      for (let k = 0; k < bytes.length; k++) assert.equal(packetLength(bytes, 0, k), NEED_MORE);
    });
  }

  test("a four-byte remaining length encodes and decodes (2,097,152)", () => {
    const payload = new Uint8Array(2097152 - 3).fill(0x5a);
    const p: Packet = { type: PUBLISH, topic: "t", payload, qos: 0, retain: false, dup: false, packetId: 0 };
    const size = packetSize(p);
    assert.equal(size, 1 + 4 + 2097152);
    const buf = new Uint8Array(size);
    assert.equal(encodePacket(buf, 0, p), size);
    assert.deepEqual(Array.from(buf.subarray(0, 8)), [0x30, 0x80, 0x80, 0x80, 0x01, 0x00, 0x01, 0x74]);
    assert.equal(decodePacket(buf, 0, size, out), size);
    assert.equal(out.payloadOff, 8);
    assert.equal(out.payloadLen, payload.length);
    assert.deepEqual(normalize(readPacket(buf, out)), normalize(p));
  });

  test("a fifth length byte is refused before its value matters", () => {
    for (const fifth of [0x00, 0x01, 0x7f]) {
      const bytes = Uint8Array.from([0x30, 0x80, 0x80, 0x80, 0x80, fifth]);
      assert.equal(packetLength(bytes, 0, bytes.length), ERR_REMAINING_LENGTH);
    }
    // Four continuation bytes and nothing else: that is already more than four length bytes.
    const four = Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff]);
    assert.equal(packetLength(four, 0, four.length), ERR_REMAINING_LENGTH);
  });
});

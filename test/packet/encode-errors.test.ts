/**
 * Every bad input a caller can hand the encoder: each returns its own status, packetSize (or
 * publishSize) agrees, and the destination buffer is left exactly as it was.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ERR_BUFFER_TOO_SMALL,
  ERR_CLIENT_ID,
  ERR_EMPTY,
  ERR_FIELD_TOO_LONG,
  ERR_FILTER,
  ERR_FLAGS,
  ERR_KEEPALIVE,
  ERR_PACKET_ID,
  ERR_PACKET_TYPE,
  ERR_PASSWORD,
  ERR_PROTOCOL,
  ERR_QOS,
  ERR_REMAINING_LENGTH,
  ERR_RETURN_CODE,
  ERR_TOPIC,
  ERR_UTF8,
} from "../../src/status.ts";
import {
  encodeAck,
  encodeConnack,
  encodeEmpty,
  encodePacket,
  encodePublish,
  packetSize,
  publishSize,
  remainingLengthSize,
} from "../../src/packet/index.ts";
import {
  CONNACK,
  CONNECT,
  MAX_REMAINING_LENGTH,
  PINGREQ,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE,
  type Bytes,
  type ConnectPacket,
  type Packet,
  type PublishPacket,
  type Subscription,
} from "../../src/packet/types.ts";
import { validVectors } from "../vectors/packets.ts";
import { firstChanged, sentinelBuffer } from "./helpers.ts";

/** Room for any valid packet in this file, so that only the bad input can fail the call. */
const ROOMY = 200_000;

/** A string of `n` ASCII bytes. */
function ascii(n: number): string {
  return "a".repeat(n);
}

function expectRefused(p: Packet, status: number): void {
  assert.equal(packetSize(p), status, "packetSize");
  const buf = sentinelBuffer(ROOMY);
  assert.equal(encodePacket(buf, 0, p), status, "encodePacket");
  assert.equal(firstChanged(buf), -1, "encodePacket wrote into the buffer");
  const off = 100;
  assert.equal(encodePacket(buf, off, p), status, "encodePacket at an offset");
  assert.equal(firstChanged(buf), -1, "encodePacket wrote into the buffer");
}

function publish(over: Partial<PublishPacket>): PublishPacket {
  return { type: PUBLISH, topic: "a/b", payload: "x", qos: 1, retain: false, dup: false, packetId: 1, ...over };
}

function expectPublishRefused(over: Partial<PublishPacket>, status: number): void {
  const p = publish(over);
  expectRefused(p, status);
  assert.equal(publishSize(p.topic, p.payload, p.qos, p.dup, p.packetId), status, "publishSize");
  const buf = sentinelBuffer(ROOMY);
  assert.equal(encodePublish(buf, 3, p.topic, p.payload, p.qos, p.retain, p.dup, p.packetId), status);
  assert.equal(firstChanged(buf), -1, "encodePublish wrote into the buffer");
}

function connect(over: Partial<ConnectPacket>): ConnectPacket {
  return { type: CONNECT, protocolVersion: 4, clientId: "abc", clean: true, keepalive: 60, ...over };
}

const will = { topic: "w", payload: "bye" as Bytes, qos: 1, retain: false };

describe("the bad-input helpers accept the good input they start from", () => {
  // Guards the tests below: if the base packet were refused, every case would pass vacuously.
  const bases: Packet[] = [
    publish({}),
    publish({ payload: new Uint8Array(10) }),
    connect({}),
    connect({ will, username: "u", password: "p" }),
    connect({ protocolVersion: 3, clientId: ascii(23) }),
    connect({ clientId: "", clean: true }),
    connect({ clientId: ascii(65535), username: ascii(65535) }),
    connect({ will: { topic: ascii(65535), payload: new Uint8Array(65535), qos: 2, retain: true } }),
    connect({ username: "u", password: new Uint8Array(65535) }),
    connect({ keepalive: 65535 }),
    { type: SUBSCRIBE, packetId: 65535, subscriptions: [{ topic: ascii(65535), qos: 2 }] },
    { type: UNSUBSCRIBE, packetId: 1, topics: ["a/+/#"] },
    { type: SUBACK, packetId: 1, granted: [0, 1, 2, 0x80] },
    { type: CONNACK, sessionPresent: false, returnCode: 5 },
    publish({ topic: ascii(65535) }),
    publish({ topic: "é".repeat(32767) + "a" }),
  ];
  for (const p of bases) {
    test("type " + p.type + " (" + packetSize(p) + " bytes)", () => {
      const size = packetSize(p);
      assert.ok(size > 0, "packetSize returned " + size);
      assert.equal(encodePacket(new Uint8Array(size), 0, p), size);
    });
  }
});

describe("PUBLISH", () => {
  test("topic with \"+\" or \"#\" [MQTT-3.3.2-2]", () => {
    for (const topic of ["a/+", "+", "a/#", "#", "+/b", "a+b", "a#"]) expectPublishRefused({ topic }, ERR_TOPIC);
  });
  test("empty topic [MQTT-4.7.3-1]", () => expectPublishRefused({ topic: "" }, ERR_TOPIC));
  test("topic with a lone surrogate", () => {
    for (const topic of ["a\ud800", "\udc00b", "a\ud800b", "a\udbff\ud7ff", "\udfff\ud800"]) {
      expectPublishRefused({ topic }, ERR_UTF8);
    }
  });
  test("topic with U+0000 [MQTT-1.5.3-2]", () => {
    expectPublishRefused({ topic: "a\u0000b" }, ERR_UTF8);
    expectPublishRefused({ topic: "\u0000" }, ERR_UTF8);
  });
  test("topic over 65,535 bytes, counted in UTF-8 bytes not characters", () => {
    expectPublishRefused({ topic: ascii(65536) }, ERR_FIELD_TOO_LONG);
    expectPublishRefused({ topic: "é".repeat(32768) }, ERR_FIELD_TOO_LONG); // 32,768 chars
    expectPublishRefused({ topic: "€".repeat(21845) + "a" }, ERR_FIELD_TOO_LONG); // 21,846 chars
    expectPublishRefused({ topic: "😀".repeat(16384) }, ERR_FIELD_TOO_LONG); // 4 bytes each
  });
  test("string payload with a lone surrogate", () => {
    expectPublishRefused({ payload: "x\ud800" }, ERR_UTF8);
    expectPublishRefused({ payload: "\udc00", qos: 0, packetId: 0 }, ERR_UTF8);
  });
  test("QoS 3 and other non-QoS values", () => {
    for (const qos of [3, -1, 1.5, 4, NaN]) expectPublishRefused({ qos }, ERR_QOS);
  });
  test("packet id 0, 65536 and non-integers at QoS 1 and 2 [MQTT-2.3.1-1]", () => {
    for (const qos of [1, 2]) {
      for (const packetId of [0, 65536, -1, 1.5, NaN]) expectPublishRefused({ qos, packetId }, ERR_PACKET_ID);
    }
  });
  test("DUP with QoS 0 [MQTT-3.3.1-2]", () => {
    expectPublishRefused({ qos: 0, dup: true, packetId: 0 }, ERR_FLAGS);
  });
  test("remaining length over 268,435,455", () => {
    // A zero-filled typed array is allocated lazily: its pages are never touched, because the
    // encoder refuses the size before it reads the payload.
    const payload = new Uint8Array(MAX_REMAINING_LENGTH - 3 + 1); // 2 + 1 (topic "t") + payload
    expectPublishRefused({ topic: "t", qos: 0, packetId: 0, payload }, ERR_REMAINING_LENGTH);
    // One byte less is exactly the largest packet: sized, then refused only for want of room.
    const largest = payload.subarray(1);
    assert.equal(publishSize("t", largest, 0, false, 0), 1 + 4 + MAX_REMAINING_LENGTH);
    const buf = sentinelBuffer(64);
    assert.equal(encodePublish(buf, 0, "t", largest, 0, false, false, 0), ERR_BUFFER_TOO_SMALL);
    assert.equal(firstChanged(buf), -1);
  });
});

describe("acknowledgements and empty packets", () => {
  for (const type of [PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK] as const) {
    test("type " + type + " with packet id 0, 65536 or a fraction", () => {
      for (const packetId of [0, 65536, -1, 2.5]) {
        expectRefused({ type, packetId }, ERR_PACKET_ID);
        const buf = sentinelBuffer(16);
        assert.equal(encodeAck(buf, 0, type, packetId), ERR_PACKET_ID);
        assert.equal(firstChanged(buf), -1);
      }
    });
  }
  test("encodeAck with a type that is not an acknowledgement", () => {
    for (const type of [0, CONNECT, CONNACK, PUBLISH, SUBSCRIBE, SUBACK, UNSUBSCRIBE, PINGREQ, 15, 16]) {
      const buf = sentinelBuffer(16);
      assert.equal(encodeAck(buf, 0, type, 1), ERR_PACKET_TYPE, "type " + type);
      assert.equal(firstChanged(buf), -1);
    }
  });
  test("encodeEmpty with a type that is not PINGREQ, PINGRESP or DISCONNECT", () => {
    for (const type of [0, CONNECT, CONNACK, PUBLISH, PUBACK, PUBREL, SUBACK, UNSUBACK, 15]) {
      const buf = sentinelBuffer(16);
      assert.equal(encodeEmpty(buf, 0, type), ERR_PACKET_TYPE, "type " + type);
      assert.equal(firstChanged(buf), -1);
    }
  });
  test("encodePacket with packet type 0 or 15", () => {
    for (const type of [0, 15]) expectRefused({ type } as unknown as Packet, ERR_PACKET_TYPE);
  });
});

describe("CONNACK", () => {
  test("session present with a refusal [MQTT-3.2.2-4]", () => {
    for (let returnCode = 1; returnCode <= 5; returnCode++) {
      expectRefused({ type: CONNACK, sessionPresent: true, returnCode }, ERR_FLAGS);
      const buf = sentinelBuffer(16);
      assert.equal(encodeConnack(buf, 0, true, returnCode), ERR_FLAGS);
      assert.equal(firstChanged(buf), -1);
    }
  });
  test("return code outside 0..255", () => {
    for (const returnCode of [-1, 256, 1.5, NaN]) {
      expectRefused({ type: CONNACK, sessionPresent: false, returnCode }, ERR_RETURN_CODE);
    }
  });
});

describe("CONNECT", () => {
  test("keepalive -1, 65536, 1.5 and NaN", () => {
    for (const keepalive of [-1, 65536, 1.5, NaN]) expectRefused(connect({ keepalive }), ERR_KEEPALIVE);
  });
  test("protocol version other than 3 and 4", () => {
    for (const protocolVersion of [5, 0, 2, 3.5]) expectRefused(connect({ protocolVersion }), ERR_PROTOCOL);
  });
  test("empty client id without clean session [MQTT-3.1.3-7]", () => {
    expectRefused(connect({ clientId: "", clean: false }), ERR_CLIENT_ID);
  });
  test("MQTT 3.1 client id of 0 bytes and of 24 bytes", () => {
    expectRefused(connect({ protocolVersion: 3, clientId: "" }), ERR_CLIENT_ID);
    expectRefused(connect({ protocolVersion: 3, clientId: "", clean: false }), ERR_CLIENT_ID);
    expectRefused(connect({ protocolVersion: 3, clientId: ascii(24) }), ERR_CLIENT_ID);
    expectRefused(connect({ protocolVersion: 3, clientId: "é".repeat(12) }), ERR_CLIENT_ID); // 24 bytes
  });
  test("invalid UTF-8 in the client id, user name, will topic, password or will payload", () => {
    expectRefused(connect({ clientId: "a\ud800" }), ERR_UTF8);
    expectRefused(connect({ clientId: "a\u0000" }), ERR_UTF8);
    expectRefused(connect({ username: "\udc00" }), ERR_UTF8);
    expectRefused(connect({ username: "u\u0000" }), ERR_UTF8);
    expectRefused(connect({ username: "u", password: "p\ud800" }), ERR_UTF8);
    expectRefused(connect({ will: { ...will, topic: "w\udbff" } }), ERR_UTF8);
    expectRefused(connect({ will: { ...will, topic: "w\u0000" } }), ERR_UTF8);
    expectRefused(connect({ will: { ...will, payload: "\ud800x" } }), ERR_UTF8);
  });
  test("a field over 65,535 bytes", () => {
    expectRefused(connect({ clientId: ascii(65536) }), ERR_FIELD_TOO_LONG);
    expectRefused(connect({ protocolVersion: 3, clientId: ascii(65536) }), ERR_FIELD_TOO_LONG);
    expectRefused(connect({ username: ascii(65536) }), ERR_FIELD_TOO_LONG);
    expectRefused(connect({ username: "u", password: new Uint8Array(65536) }), ERR_FIELD_TOO_LONG);
    expectRefused(connect({ username: "u", password: "é".repeat(32768) }), ERR_FIELD_TOO_LONG);
    expectRefused(connect({ will: { ...will, topic: ascii(65536) } }), ERR_FIELD_TOO_LONG);
    expectRefused(connect({ will: { ...will, payload: new Uint8Array(65536) } }), ERR_FIELD_TOO_LONG);
  });
  test("password without user name [MQTT-3.1.2-22]", () => {
    expectRefused(connect({ password: "p" }), ERR_PASSWORD);
    expectRefused(connect({ password: new Uint8Array(0) }), ERR_PASSWORD);
    expectRefused(connect({ protocolVersion: 3, password: "p" }), ERR_PASSWORD);
  });
  test("will QoS 3 [MQTT-3.1.2-14]", () => {
    for (const qos of [3, -1, 1.5]) expectRefused(connect({ will: { ...will, qos } }), ERR_QOS);
  });
  test("will topic empty or with a wildcard", () => {
    for (const topic of ["", "a/+", "#"]) expectRefused(connect({ will: { ...will, topic } }), ERR_TOPIC);
  });
});

describe("SUBSCRIBE and UNSUBSCRIBE", () => {
  const sub = (subscriptions: Subscription[], packetId = 1): Packet => ({ type: SUBSCRIBE, packetId, subscriptions });
  const unsub = (topics: string[], packetId = 1): Packet => ({ type: UNSUBSCRIBE, packetId, topics });

  test("no filters [MQTT-3.8.3-3] [MQTT-3.10.3-2]", () => {
    expectRefused(sub([]), ERR_EMPTY);
    expectRefused(unsub([]), ERR_EMPTY);
  });
  test("bad filters [MQTT-4.7.1-2] [MQTT-4.7.1-3]", () => {
    for (const topic of ["a/#/b", "a+", "#a", "+a", "a/b#", "a/+b", "##", "", "a/#/"]) {
      expectRefused(sub([{ topic, qos: 0 }]), ERR_FILTER);
      expectRefused(sub([{ topic: "ok/+", qos: 1 }, { topic, qos: 0 }]), ERR_FILTER);
      expectRefused(unsub([topic]), ERR_FILTER);
      expectRefused(unsub(["ok/#", topic]), ERR_FILTER);
    }
  });
  test("filter with invalid UTF-8 or over 65,535 bytes", () => {
    for (const topic of ["a/\ud800", "\u0000"]) {
      expectRefused(sub([{ topic, qos: 0 }]), ERR_UTF8);
      expectRefused(unsub([topic]), ERR_UTF8);
    }
    expectRefused(sub([{ topic: ascii(65536), qos: 0 }]), ERR_FIELD_TOO_LONG);
    expectRefused(unsub([ascii(65536)]), ERR_FIELD_TOO_LONG);
  });
  test("requested QoS 3", () => {
    expectRefused(sub([{ topic: "a", qos: 3 }]), ERR_QOS);
    expectRefused(sub([{ topic: "a", qos: 0 }, { topic: "b", qos: 3 }]), ERR_QOS);
  });
  test("packet id 0 and 65536", () => {
    for (const id of [0, 65536]) {
      expectRefused(sub([{ topic: "a", qos: 0 }], id), ERR_PACKET_ID);
      expectRefused(unsub(["a"], id), ERR_PACKET_ID);
    }
  });
  test("remaining length over 268,435,455, from one shared 65,535-byte filter", () => {
    // 21,845 three-byte characters: 65,535 bytes of UTF-8 in one 43 KB string. The arrays hold
    // that one string thousands of times, so the packet is huge and the memory is not. Each
    // sizing walks all 89 million characters (about a second), so this test sizes sparingly;
    // the exact boundary is checked on PUBLISH, where sizing a payload costs nothing.
    const filter = "\u0800".repeat(21845);
    // SUBSCRIBE entry: 2 + 65,535 + 1 = 65,538 bytes; 2 + 4,096 entries > 268,435,455.
    assert.ok(2 + 4096 * 65538 > MAX_REMAINING_LENGTH && 2 + 4095 * 65538 <= MAX_REMAINING_LENGTH);
    const p: Packet = { type: SUBSCRIBE, packetId: 1, subscriptions: new Array(4096).fill({ topic: filter, qos: 0 }) };
    assert.equal(packetSize(p), ERR_REMAINING_LENGTH);
    let buf = sentinelBuffer(1024);
    assert.equal(encodePacket(buf, 0, p), ERR_REMAINING_LENGTH);
    assert.equal(firstChanged(buf), -1);
    // UNSUBSCRIBE entry: 2 + 65,535 = 65,537 bytes; 2 + 4,096 entries > 268,435,455.
    assert.ok(2 + 4096 * 65537 > MAX_REMAINING_LENGTH && 2 + 4095 * 65537 <= MAX_REMAINING_LENGTH);
    buf = sentinelBuffer(1024);
    assert.equal(encodePacket(buf, 0, unsub(new Array(4096).fill(filter))), ERR_REMAINING_LENGTH);
    assert.equal(firstChanged(buf), -1);
  });
});

describe("SUBACK", () => {
  const suback = (granted: number[], packetId = 1): Packet => ({ type: SUBACK, packetId, granted });
  test("return code 3 and others outside 0, 1, 2, 0x80 [MQTT-3.9.3-2]", () => {
    for (const code of [3, 0x81, 0x7f, 0xff, -1, 256, 1.5]) {
      expectRefused(suback([code]), ERR_RETURN_CODE);
      expectRefused(suback([0, code]), ERR_RETURN_CODE);
    }
  });
  test("no return codes", () => expectRefused(suback([]), ERR_EMPTY));
  test("packet id 0 and 65536", () => {
    expectRefused(suback([0], 0), ERR_PACKET_ID);
    expectRefused(suback([0], 65536), ERR_PACKET_ID);
  });
});

describe("buffer too small", () => {
  // encodePacket hands each type to its own encoder: these reach every one of them.
  for (const v of validVectors) {
    test(v.name, () => {
      const size = v.bytes.length;
      // One byte short, at offset 0.
      let buf = sentinelBuffer(size - 1);
      assert.equal(encodePacket(buf, 0, v.packet), ERR_BUFFER_TOO_SMALL);
      assert.equal(firstChanged(buf), -1);
      // Room enough, but the offset is too near the end, past it, or negative.
      buf = sentinelBuffer(size + 8);
      for (const off of [9, 10, size + 8, size + 9, -1, -size]) {
        assert.equal(encodePacket(buf, off, v.packet), ERR_BUFFER_TOO_SMALL, "offset " + off);
        assert.equal(firstChanged(buf), -1, "offset " + off);
      }
      // Exactly at the end fits.
      assert.equal(encodePacket(buf, 8, v.packet), size + 8);
      assert.deepEqual(Array.from(buf.subarray(8)), v.bytes);
      assert.equal(firstChanged(buf.subarray(0, 8)), -1);
    });
  }
});

describe("remainingLengthSize", () => {
  const cases: Array<[number, number]> = [
    [0, 1],
    [127, 1],
    [128, 2],
    [16383, 2],
    [16384, 3],
    [2097151, 3],
    [2097152, 4],
    [268435455, 4],
  ];
  for (const [remaining, bytes] of cases) {
    test(remaining + " takes " + bytes + " byte(s)", () => {
      assert.equal(remainingLengthSize(remaining), bytes);
    });
  }
  test("packet sizes follow it at each boundary", () => {
    for (const [remaining, bytes] of cases) {
      if (remaining < 3 || remaining > 3_000_000) continue;
      const payload = new Uint8Array(remaining - 3);
      assert.equal(publishSize("t", payload, 0, false, 0), 1 + bytes + remaining);
    }
  });
});

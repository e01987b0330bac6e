/**
 * Differential tests against mqtt-packet (the codec of MQTT.js), used here as an oracle only:
 * on generated valid packets, its `generate` gives the bytes our encoder gives, its parser reads
 * our bytes back to the same fields, and our decoder reads its bytes back to the same packet.
 *
 * Field names differ: mqtt-packet has `cmd` (a name) for our `type`, `messageId` for `packetId`,
 * `unsubscriptions` for `topics`, `protocolId` ("MQTT"/"MQIsdp") beside `protocolVersion`, and
 * gives Buffers where we give Uint8Arrays. `toMqttPacket` and `fromMqttPacket` translate.
 *
 * Where mqtt-packet legitimately differs, the difference is stated where it is handled:
 * - It validates almost nothing on generate (topics, UTF-8, packet ids, 3.1 client id length):
 *   we only feed it valid packets, so that does not matter here.
 * - Its parsed packets carry header fields for every type (`retain`, `qos`, `dup`, `length`): the
 *   fixed flags 0010 of PUBREL, SUBSCRIBE and UNSUBSCRIBE show up as `qos: 1`. These are checked
 *   against what the header must hold rather than mapped onto our packet, which has no such fields.
 * - It reports no packet id for a QoS 0 PUBLISH (none is on the wire); we report 0.
 * - It needs Buffers, not plain Uint8Arrays, for binary payloads and passwords (it calls
 *   Buffer methods on them), so those are wrapped, not copied.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as mqtt from "mqtt-packet";
import {
  CONNACK,
  CONNECT,
  DISCONNECT,
  DecodedPacket,
  PINGREQ,
  PINGRESP,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE,
  decodePacket,
  encodePacket,
  packetSize,
  readPacket,
  type Bytes,
  type ConnectPacket,
  type Packet,
} from "../../src/packet/index.ts";
import { anyPacket, expectedRead, hex, packetsByType, show } from "../helpers/arbitraries.ts";

const CMD: Record<number, string> = {
  [CONNECT]: "connect",
  [CONNACK]: "connack",
  [PUBLISH]: "publish",
  [PUBACK]: "puback",
  [PUBREC]: "pubrec",
  [PUBREL]: "pubrel",
  [PUBCOMP]: "pubcomp",
  [SUBSCRIBE]: "subscribe",
  [SUBACK]: "suback",
  [UNSUBSCRIBE]: "unsubscribe",
  [UNSUBACK]: "unsuback",
  [PINGREQ]: "pingreq",
  [PINGRESP]: "pingresp",
  [DISCONNECT]: "disconnect",
};
const TYPE: Record<string, number> = {};
for (const t of Object.keys(CMD)) TYPE[CMD[Number(t)]] = Number(t);

/** mqtt-packet takes a string as is (it writes it as UTF-8) and binary data as a Buffer. */
function theirBytes(data: Bytes): string | Buffer {
  return typeof data === "string" ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A Buffer from mqtt-packet as a plain Uint8Array copy, for comparison with ours. */
function ours(data: Buffer): Uint8Array {
  return new Uint8Array(data);
}

/** Our packet as mqtt-packet's input object. */
function toMqttPacket(p: Packet): mqtt.Packet {
  switch (p.type) {
    case CONNECT: {
      const q: Record<string, unknown> = {
        cmd: "connect",
        protocolId: p.protocolVersion === 3 ? "MQIsdp" : "MQTT",
        protocolVersion: p.protocolVersion,
        clientId: p.clientId,
        clean: p.clean,
        keepalive: p.keepalive,
      };
      if (p.will !== undefined) {
        q.will = { topic: p.will.topic, payload: theirBytes(p.will.payload), qos: p.will.qos, retain: p.will.retain };
      }
      if (p.username !== undefined) q.username = p.username;
      if (p.password !== undefined) q.password = theirBytes(p.password);
      return q as unknown as mqtt.Packet;
    }
    case CONNACK:
      return { cmd: "connack", sessionPresent: p.sessionPresent, returnCode: p.returnCode };
    case PUBLISH: {
      const q: Record<string, unknown> = {
        cmd: "publish",
        topic: p.topic,
        payload: theirBytes(p.payload),
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
      };
      if (p.qos > 0) q.messageId = p.packetId;
      return q as unknown as mqtt.Packet;
    }
    case SUBSCRIBE:
      return {
        cmd: "subscribe",
        messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos as mqtt.QoS })),
      };
    case SUBACK:
      return { cmd: "suback", messageId: p.packetId, granted: p.granted };
    case UNSUBSCRIBE:
      return { cmd: "unsubscribe", messageId: p.packetId, unsubscriptions: p.topics };
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
    case UNSUBACK:
      return { cmd: CMD[p.type], messageId: p.packetId } as mqtt.Packet;
    default:
      return { cmd: CMD[p.type] } as mqtt.Packet;
  }
}

/**
 * mqtt-packet's parsed object in our read form, checking on the way the header fields it reports
 * for every type against what the fixed header must hold.
 */
function fromMqttPacket(q: Record<string, any>, remaining: number): Packet {
  const type = TYPE[q.cmd];
  assert.ok(type !== undefined, `unknown cmd ${q.cmd}`);
  assert.equal(q.length, remaining, "mqtt-packet's remaining length");
  if (type !== PUBLISH) {
    // The fixed flags 0010 of PUBREL, SUBSCRIBE and UNSUBSCRIBE read as qos 1; others are 0000.
    const flagged = type === PUBREL || type === SUBSCRIBE || type === UNSUBSCRIBE;
    assert.equal(q.qos, flagged ? 1 : 0);
    assert.equal(q.dup, false);
    assert.equal(q.retain, false);
  }
  switch (type) {
    case CONNECT: {
      assert.equal(q.protocolId, q.protocolVersion === 3 ? "MQIsdp" : "MQTT");
      assert.equal(q.bridgeMode, undefined);
      const p: ConnectPacket = {
        type: CONNECT,
        protocolVersion: q.protocolVersion,
        clientId: q.clientId,
        clean: q.clean,
        keepalive: q.keepalive,
      };
      if (q.will !== undefined) {
        p.will = { topic: q.will.topic, payload: ours(q.will.payload), qos: q.will.qos, retain: q.will.retain };
      }
      if (q.username !== undefined) p.username = q.username;
      if (q.password !== undefined) p.password = ours(q.password);
      return p;
    }
    case CONNACK:
      return { type: CONNACK, sessionPresent: q.sessionPresent, returnCode: q.returnCode };
    case PUBLISH:
      // No packet id on the wire for QoS 0: mqtt-packet leaves messageId out, we report 0.
      if (q.qos === 0) assert.equal(q.messageId, undefined);
      return {
        type: PUBLISH,
        topic: q.topic,
        payload: ours(q.payload),
        qos: q.qos,
        retain: q.retain,
        dup: q.dup,
        packetId: q.qos > 0 ? q.messageId : 0,
      };
    case SUBSCRIBE:
      return {
        type: SUBSCRIBE,
        packetId: q.messageId,
        subscriptions: q.subscriptions.map((s: { topic: string; qos: number }) => {
          // 3.1.1 has no subscription options beyond QoS; mqtt-packet adds none for level 3/4.
          assert.deepEqual(Object.keys(s).sort(), ["qos", "topic"]);
          return { topic: s.topic, qos: s.qos };
        }),
      };
    case SUBACK:
      return { type: SUBACK, packetId: q.messageId, granted: q.granted.slice() };
    case UNSUBSCRIBE:
      return { type: UNSUBSCRIBE, packetId: q.messageId, topics: q.unsubscriptions.slice() };
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
    case UNSUBACK:
      return { type: type, packetId: q.messageId } as Packet;
    default:
      return { type: type } as Packet;
  }
}

/** mqtt-packet's generate; it throws (through its stream's 'error') on what it refuses. */
function theirGenerate(p: Packet): Uint8Array {
  return ours(mqtt.generate(toMqttPacket(p)));
}

/** Parses `bytes` with mqtt-packet, expecting exactly one packet, no error, nothing left over. */
function theirParse(bytes: Uint8Array): Record<string, any> {
  const parser = mqtt.parser({ protocolVersion: 4 });
  const packets: Record<string, any>[] = [];
  const errors: Error[] = [];
  parser.on("packet", (q: Record<string, any>) => packets.push(q));
  parser.on("error", (e: Error) => errors.push(e));
  const left = parser.parse(Buffer.from(bytes));
  assert.deepEqual(errors, [], "mqtt-packet refused our bytes");
  assert.equal(packets.length, 1, "mqtt-packet packet count");
  assert.equal(left, 0, "bytes mqtt-packet left unparsed");
  return packets[0];
}

function ourEncode(p: Packet): Uint8Array {
  const size = packetSize(p);
  assert.ok(size > 0, `packetSize ${size} for ${show(p)}`);
  const buf = new Uint8Array(size);
  assert.equal(encodePacket(buf, 0, p), size);
  return buf;
}

function ourDecode(bytes: Uint8Array): Packet {
  const out = new DecodedPacket();
  assert.equal(decodePacket(bytes, 0, bytes.length, out), bytes.length, hex(bytes));
  return readPacket(bytes, out);
}

/** The remaining length of an encoded packet: its size less the fixed header. */
function remainingOf(bytes: Uint8Array): number {
  let i = 1;
  while (bytes[i] & 0x80) i++;
  return bytes.length - i - 1;
}

const RUNS: Record<string, number> = { CONNECT: 800, PUBLISH: 800, SUBSCRIBE: 400, UNSUBSCRIBE: 400, SUBACK: 400 };

describe("mqtt-packet generate gives the bytes our encoder gives", () => {
  for (const name of Object.keys(packetsByType)) {
    test(name, () => {
      fc.assert(
        fc.property(packetsByType[name], (p) => {
          assert.equal(hex(theirGenerate(p)), hex(ourEncode(p)), show(p));
        }),
        { numRuns: RUNS[name] ?? 100 },
      );
    });
  }
});

describe("mqtt-packet parses our bytes to the same fields", () => {
  for (const name of Object.keys(packetsByType)) {
    test(name, () => {
      fc.assert(
        fc.property(packetsByType[name], (p) => {
          const bytes = ourEncode(p);
          assert.deepEqual(fromMqttPacket(theirParse(bytes), remainingOf(bytes)), expectedRead(p), show(p));
        }),
        { numRuns: RUNS[name] ?? 100 },
      );
    });
  }
});

describe("our decoder parses mqtt-packet's bytes to the same packet", () => {
  for (const name of Object.keys(packetsByType)) {
    test(name, () => {
      fc.assert(
        fc.property(packetsByType[name], (p) => {
          assert.deepEqual(ourDecode(theirGenerate(p)), expectedRead(p), show(p));
        }),
        { numRuns: RUNS[name] ?? 100 },
      );
    });
  }

  test("a stream of mqtt-packet's packets, and mqtt-packet reading a stream of ours", () => {
    fc.assert(
      fc.property(fc.array(anyPacket, { minLength: 2, maxLength: 8 }), (packets) => {
        const theirs = Buffer.concat(packets.map((p) => mqtt.generate(toMqttPacket(p))));
        const out = new DecodedPacket();
        let off = 0;
        for (const p of packets) {
          const n = decodePacket(theirs, off, theirs.length, out);
          assert.ok(n > 0, `status ${n} at ${off}`);
          assert.deepEqual(readPacket(new Uint8Array(theirs.buffer, theirs.byteOffset, theirs.length), out), expectedRead(p));
          off += n;
        }
        assert.equal(off, theirs.length);

        // mqtt-packet's parser switches to the protocol level of a CONNECT it has read; all ours
        // are 3 or 4, which parse the other packets the same way.
        const parser = mqtt.parser({ protocolVersion: 4 });
        const seen: Packet[] = [];
        const errors: Error[] = [];
        parser.on("packet", (q: Record<string, any>) => seen.push(fromMqttPacket(q, q.length)));
        parser.on("error", (e: Error) => errors.push(e));
        parser.parse(Buffer.concat(packets.map((p) => Buffer.from(ourEncode(p)))));
        assert.deepEqual(errors, []);
        assert.deepEqual(seen, packets.map(expectedRead));
      }),
      { numRuns: 200 },
    );
  });

  test("a PUBLISH with a 4-byte remaining length", () => {
    const payload = new Uint8Array(2097152);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const p: Packet = { type: PUBLISH, topic: "big/€", payload, qos: 1, retain: true, dup: false, packetId: 65535 };
    const bytes = ourEncode(p);
    const theirs = theirGenerate(p);
    assert.equal(bytes.length, theirs.length);
    assert.ok(Buffer.from(bytes).equals(Buffer.from(theirs)));
    assert.deepEqual(fromMqttPacket(theirParse(bytes), remainingOf(bytes)), expectedRead(p));
    assert.deepEqual(ourDecode(theirs), expectedRead(p));
  });
});

/**
 * fast-check arbitraries for valid MQTT 3.1/3.1.1 packets of every type, in the plain-object form
 * of src/packet/types.ts, and helpers to compare them with what `readPacket` gives back.
 *
 * "Valid" means what the protocol allows a sender to put on the wire: packet ids 1..65,535 where
 * one is carried, QoS 0..2, no DUP on QoS 0, topic names without wildcards, filters with
 * well-placed wildcards, strings of well-formed UTF-8 without U+0000, a password only with a user
 * name, 3.1 client ids of 1..23 bytes, an empty 3.1.1 client id only with a clean session.
 */
import fc from "fast-check";
import {
  CONNACK,
  CONNECT,
  DISCONNECT,
  PINGREQ,
  PINGRESP,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  SUBACK_FAILURE,
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE,
  type AckPacket,
  type Bytes,
  type ConnackPacket,
  type ConnectPacket,
  type EmptyPacket,
  type Packet,
  type PublishPacket,
  type SubackPacket,
  type SubscribePacket,
  type UnsubscribePacket,
  type WillMessage,
} from "../../src/packet/index.ts";
import { Prng } from "./prng.ts";

const encoder = new TextEncoder();

/** The UTF-8 bytes of a string (via Node's TextEncoder), or the bytes themselves. */
export function toBytes(data: Bytes): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** UTF-8 byte length of a string that holds no lone surrogate. */
export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

// ---------------------------------------------------------------------------------------------
// Strings

/**
 * One code point, drawn evenly from the 1-, 2-, 3- and 4-byte UTF-8 ranges (fast-check biases
 * each range towards its bounds, so U+007F, U+0080, U+07FF, U+0800, U+FFFF, U+10000 and U+10FFFF
 * come up often). Never a surrogate; U+0000 only when `allowNul`.
 */
export function codePoint(allowNul = false): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.integer({ min: allowNul ? 0 : 1, max: 0x7f }),
      fc.integer({ min: 0x80, max: 0x7ff }),
      fc.integer({ min: 0x800, max: 0xd7ff }),
      fc.integer({ min: 0xe000, max: 0xffff }),
      fc.integer({ min: 0x10000, max: 0x10ffff }),
    )
    .map((cp) => String.fromCodePoint(cp));
}

/** A string MQTT may carry: well-formed, no surrogate halves, no U+0000. */
export function mqttString(constraints: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<string> {
  return fc.string({ unit: codePoint(false), minLength: constraints.minLength, maxLength: constraints.maxLength });
}

/** A 3.1 client identifier: 1 to 23 bytes of UTF-8 [MQTT 3.1, section 3.1]. */
export const clientId31: fc.Arbitrary<string> = mqttString({ minLength: 1, maxLength: 23 }).map((s) => {
  // Keep whole code points while they fit in 23 bytes; the first always fits (4 bytes at most).
  let out = "";
  for (const ch of s) {
    if (byteLength(out + ch) > 23) break;
    out += ch;
  }
  return out;
});

// ---------------------------------------------------------------------------------------------
// Topics

/** A character allowed inside a topic level: a few frequent ASCII ones, or any code point. */
const levelChar: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom("a", "b", "c", "$", " ", "-", "_", "0"), weight: 3 },
  { arbitrary: codePoint(false).filter((c) => c !== "/" && c !== "+" && c !== "#"), weight: 1 },
);

/** One topic level (possibly empty). */
export const topicLevel: fc.Arbitrary<string> = fc.string({ unit: levelChar, maxLength: 6 });

/** A topic name for PUBLISH: 1..6 levels, never empty, no wildcard. */
export const topicName: fc.Arbitrary<string> = fc
  .array(topicLevel, { minLength: 1, maxLength: 6 })
  .map((levels) => levels.join("/"))
  .filter((s) => s.length > 0);

/** A topic filter: levels that are names or `+`, optionally ending in `#`. */
export const topicFilter: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(fc.oneof({ arbitrary: topicLevel, weight: 3 }, { arbitrary: fc.constant("+"), weight: 1 }), {
      maxLength: 6,
    }),
    fc.boolean(),
  )
  .map(([levels, hash]) => (hash || levels.length === 0 ? levels.concat("#") : levels).join("/"))
  .filter((s) => s.length > 0);

// ---------------------------------------------------------------------------------------------
// Payloads

/** Random bytes of a size fast-check would be slow to build byte by byte. */
function largeBytes(minLength: number, maxLength: number): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.integer({ min: minLength, max: maxLength }), fc.integer())
    .map(([n, seed]) => new Prng(seed).bytes(n));
}

/**
 * A payload or password: mostly small byte arrays and strings (which may hold U+0000, as a payload
 * may), sometimes 128..20,000 bytes so that 2- and 3-byte remaining lengths come up.
 */
export const payload: fc.Arbitrary<Bytes> = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 40 }), weight: 4 },
  { arbitrary: fc.string({ unit: codePoint(true), maxLength: 20 }), weight: 3 },
  { arbitrary: largeBytes(100, 20000), weight: 1 },
);

/** A will or password payload: a binary field, so at most 65,535 bytes (these stay well under). */
const smallPayload: fc.Arbitrary<Bytes> = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.string({ unit: codePoint(true), maxLength: 20 }),
);

export const packetId: fc.Arbitrary<number> = fc.integer({ min: 1, max: 65535 });
export const qos: fc.Arbitrary<number> = fc.constantFrom(0, 1, 2);

// ---------------------------------------------------------------------------------------------
// Packets

export const will: fc.Arbitrary<WillMessage> = fc.record({
  topic: topicName,
  payload: smallPayload,
  qos: qos,
  retain: fc.boolean(),
});

export const connectPacket: fc.Arbitrary<ConnectPacket> = fc
  .record({
    protocolVersion: fc.constantFrom(3, 4),
    id31: clientId31,
    id311: fc.oneof(mqttString({ maxLength: 30 }), fc.constant("")),
    clean: fc.boolean(),
    keepalive: fc.integer({ min: 0, max: 65535 }),
    will: fc.option(will, { nil: undefined }),
    username: fc.option(mqttString({ maxLength: 20 }), { nil: undefined }),
    password: fc.option(smallPayload, { nil: undefined }),
  })
  .map((r) => {
    const clientId = r.protocolVersion === 3 ? r.id31 : r.id311;
    const p: ConnectPacket = {
      type: CONNECT,
      protocolVersion: r.protocolVersion,
      clientId: clientId,
      // [MQTT-3.1.3-7] an empty client id needs a clean session.
      clean: clientId === "" ? true : r.clean,
      keepalive: r.keepalive,
    };
    if (r.will !== undefined) p.will = r.will;
    if (r.username !== undefined) {
      p.username = r.username;
      // [MQTT-3.1.2-22] a password only with a user name.
      if (r.password !== undefined) p.password = r.password;
    }
    return p;
  });

export const connackPacket: fc.Arbitrary<ConnackPacket> = fc
  .record({
    // 0..5 are the codes 3.1.1 defines; the rest are reserved but fit the byte.
    returnCode: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 255 })),
    sessionPresent: fc.boolean(),
  })
  .map((r) => ({
    type: CONNACK,
    // [MQTT-3.2.2-4] session present only with return code 0.
    sessionPresent: r.returnCode === 0 && r.sessionPresent,
    returnCode: r.returnCode,
  }));

export const publishPacket: fc.Arbitrary<PublishPacket> = fc
  .record({ topic: topicName, payload: payload, qos: qos, retain: fc.boolean(), dup: fc.boolean(), packetId: packetId })
  .map((r) => ({
    type: PUBLISH,
    topic: r.topic,
    payload: r.payload,
    qos: r.qos,
    retain: r.retain,
    // [MQTT-3.3.1-2] no DUP on QoS 0; and no packet id there (0 is what decoding reports).
    dup: r.qos > 0 && r.dup,
    packetId: r.qos > 0 ? r.packetId : 0,
  }));

export const ackPacket: fc.Arbitrary<AckPacket> = fc
  .record({ type: fc.constantFrom(PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK), packetId: packetId })
  .map((r) => ({ type: r.type, packetId: r.packetId }));

export const subscribePacket: fc.Arbitrary<SubscribePacket> = fc
  .record({
    packetId: packetId,
    subscriptions: fc.array(fc.record({ topic: topicFilter, qos: qos }), { minLength: 1, maxLength: 8 }),
  })
  .map((r) => ({ type: SUBSCRIBE, packetId: r.packetId, subscriptions: r.subscriptions }));

export const subackPacket: fc.Arbitrary<SubackPacket> = fc
  .record({
    packetId: packetId,
    granted: fc.array(fc.constantFrom(0, 1, 2, SUBACK_FAILURE), { minLength: 1, maxLength: 16 }),
  })
  .map((r) => ({ type: SUBACK, packetId: r.packetId, granted: r.granted }));

export const unsubscribePacket: fc.Arbitrary<UnsubscribePacket> = fc
  .record({ packetId: packetId, topics: fc.array(topicFilter, { minLength: 1, maxLength: 8 }) })
  .map((r) => ({ type: UNSUBSCRIBE, packetId: r.packetId, topics: r.topics }));

export const emptyPacket: fc.Arbitrary<EmptyPacket> = fc
  .constantFrom(PINGREQ, PINGRESP, DISCONNECT)
  .map((type) => ({ type: type }));

/** One arbitrary per packet type 1..14, keyed by name, so a test can cover every type by name. */
export const packetsByType: Record<string, fc.Arbitrary<Packet>> = {
  CONNECT: connectPacket,
  CONNACK: connackPacket,
  PUBLISH: publishPacket,
  PUBACK: ackPacket.map((p) => ({ type: PUBACK, packetId: p.packetId })),
  PUBREC: ackPacket.map((p) => ({ type: PUBREC, packetId: p.packetId })),
  PUBREL: ackPacket.map((p) => ({ type: PUBREL, packetId: p.packetId })),
  PUBCOMP: ackPacket.map((p) => ({ type: PUBCOMP, packetId: p.packetId })),
  SUBSCRIBE: subscribePacket,
  SUBACK: subackPacket,
  UNSUBSCRIBE: unsubscribePacket,
  UNSUBACK: ackPacket.map((p) => ({ type: UNSUBACK, packetId: p.packetId })),
  PINGREQ: fc.constant({ type: PINGREQ }),
  PINGRESP: fc.constant({ type: PINGRESP }),
  DISCONNECT: fc.constant({ type: DISCONNECT }),
};

/** Any valid packet, every type about equally often. */
export const anyPacket: fc.Arbitrary<Packet> = fc.oneof(
  ...Object.keys(packetsByType).map((name) => packetsByType[name]),
);

// ---------------------------------------------------------------------------------------------
// Expected decoding

/**
 * What `readPacket` should give back for a packet encoded from `p`: the same fields, with every
 * payload and password as its bytes (a string as its UTF-8), and no keys for absent options.
 */
export function expectedRead(p: Packet): Packet {
  switch (p.type) {
    case CONNECT: {
      const out: ConnectPacket = {
        type: CONNECT,
        protocolVersion: p.protocolVersion,
        clientId: p.clientId,
        clean: p.clean,
        keepalive: p.keepalive,
      };
      if (p.will !== undefined) {
        out.will = { topic: p.will.topic, payload: toBytes(p.will.payload), qos: p.will.qos, retain: p.will.retain };
      }
      if (p.username !== undefined) out.username = p.username;
      if (p.password !== undefined) out.password = toBytes(p.password);
      return out;
    }
    case CONNACK:
      return { type: CONNACK, sessionPresent: p.sessionPresent, returnCode: p.returnCode };
    case PUBLISH:
      return {
        type: PUBLISH,
        topic: p.topic,
        payload: toBytes(p.payload),
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
        packetId: p.qos > 0 ? p.packetId : 0,
      };
    case SUBSCRIBE:
      return {
        type: SUBSCRIBE,
        packetId: p.packetId,
        subscriptions: p.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos })),
      };
    case SUBACK:
      return { type: SUBACK, packetId: p.packetId, granted: p.granted.slice() };
    case UNSUBSCRIBE:
      return { type: UNSUBSCRIBE, packetId: p.packetId, topics: p.topics.slice() };
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
    case UNSUBACK:
      return { type: p.type, packetId: p.packetId };
    default:
      return { type: p.type };
  }
}

/** A short description of a packet for failure messages (payloads as hex). */
export function show(p: unknown): string {
  return JSON.stringify(p, (_key, value) =>
    value instanceof Uint8Array ? "<" + Buffer.from(value).toString("hex") + ">" : value,
  );
}

/** Bytes as lowercase hex. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

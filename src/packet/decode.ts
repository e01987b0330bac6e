/**
 * Decoding: a byte range in, a filled `DecodedPacket` out, nothing allocated.
 *
 * Every function reads only inside [off, end) and returns a status rather than throwing:
 * NEED_MORE when the bytes are a valid prefix of a packet, a specific error when they cannot be.
 */
import {
  ERR_CLIENT_ID,
  ERR_EMPTY,
  ERR_FLAGS,
  ERR_MALFORMED,
  ERR_PACKET_ID,
  ERR_PACKET_TYPE,
  ERR_PASSWORD,
  ERR_PROTOCOL,
  ERR_QOS,
  ERR_REMAINING_LENGTH,
  ERR_RETURN_CODE,
  ERR_UNEXPECTED_PACKET,
  NEED_MORE,
} from "../status.ts";
import { validateTopicFilterBytes, validateTopicNameBytes } from "../topic.ts";
import { validateUtf8 } from "../utf8.ts";
import {
  CONNACK,
  CONNECT,
  DISCONNECT,
  MQTT_3_1,
  MQTT_3_1_1,
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
  type DecodedPacket,
} from "./types.ts";

/**
 * The size of the packet that starts at `off`, fixed header included, read from its first bytes.
 * Returns NEED_MORE while the remaining length is incomplete, ERR_PACKET_TYPE for type 0 or 15,
 * ERR_REMAINING_LENGTH for a fifth length byte or a non-minimal encoding (a last byte of 0 after
 * the first).
 */
export function packetLength(buf: Uint8Array, off: number, end: number): number {
  if (off >= end) return NEED_MORE;
  const type = buf[off] >> 4;
  if (type === 0 || type === 15) return ERR_PACKET_TYPE;
  let remaining = 0;
  let scale = 1;
  for (let i = 1; i <= 4; i++) {
    if (off + i >= end) return NEED_MORE;
    const digit = buf[off + i];
    // A continuation that ends in a zero byte could have been written shorter.
    if (i > 1 && digit === 0) return ERR_REMAINING_LENGTH;
    remaining += (digit & 0x7f) * scale;
    if ((digit & 0x80) === 0) return 1 + i + remaining;
    scale *= 128;
  }
  return ERR_REMAINING_LENGTH;
}

function u16(buf: Uint8Array, off: number): number {
  return (buf[off] << 8) | buf[off + 1];
}

/** Fixed-header flags each type must carry [MQTT-2.2.2-1]; PUBLISH (-1) carries its own. */
const REQUIRED_FLAGS = [-1, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, -1];

/** Decodes the body of a packet whose fixed header has been checked; 0 or a negative status. */
type BodyDecoder = (buf: Uint8Array, p: number, end: number, type: number, flags: number, out: DecodedPacket) => number;

/** The fixed header, common to both decoders; then `body` decodes the rest. */
function decodeWith(body: BodyDecoder, buf: Uint8Array, off: number, end: number, out: DecodedPacket): number {
  const length = packetLength(buf, off, end);
  if (length < 0) return length;
  if (off + length > end) return NEED_MORE;
  const first = buf[off];
  const type = first >> 4;
  const flags = first & 0x0f;
  // packetLength has checked the remaining-length bytes: skip those with the continuation bit.
  let bodyOff = off + 1;
  while (buf[bodyOff] & 0x80) bodyOff++;
  bodyOff++;
  out.type = type;
  out.flags = flags;
  out.length = length;
  out.bodyOff = bodyOff;
  const required = REQUIRED_FLAGS[type];
  if (required >= 0 && flags !== required) return ERR_FLAGS;
  const status = body(buf, bodyOff, off + length, type, flags, out);
  return status < 0 ? status : length;
}

/**
 * Decodes the packet at `off` (ending no later than `end`) into `out`, whichever side sent it.
 * Returns the packet's length in bytes, or NEED_MORE, or a negative status: ERR_PACKET_TYPE,
 * ERR_REMAINING_LENGTH, ERR_FLAGS, ERR_QOS, ERR_PACKET_ID, ERR_UTF8, ERR_TOPIC, ERR_FILTER,
 * ERR_MALFORMED, ERR_PROTOCOL, ERR_PASSWORD, ERR_EMPTY, ERR_RETURN_CODE, ERR_CLIENT_ID (a
 * CONNECT that is well-formed but whose client id the protocol forbids; a server answers it with
 * CONNACK 0x02).
 * String and payload fields are left in `buf` and described by offsets in `out`.
 */
export function decodePacket(buf: Uint8Array, off: number, end: number, out: DecodedPacket): number {
  return decodeWith(decodeAnyBody, buf, off, end, out);
}

/**
 * Decodes a packet a broker sent, as `decodePacket` does. The types only a client sends (CONNECT,
 * SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT) return ERR_UNEXPECTED_PACKET, with `out.type` set.
 * A client needs only this one: it leaves the broker-side decoders out of board bundles.
 */
export function decodeFromBroker(buf: Uint8Array, off: number, end: number, out: DecodedPacket): number {
  return decodeWith(decodeBrokerBody, buf, off, end, out);
}

function decodeAnyBody(buf: Uint8Array, p: number, end: number, type: number, flags: number, out: DecodedPacket): number {
  switch (type) {
    case CONNECT:
      return decodeConnect(buf, p, end, out);
    case SUBSCRIBE:
    case UNSUBSCRIBE:
      return decodeFilterList(buf, p, end, type === SUBSCRIBE, out);
    case PINGREQ:
    case DISCONNECT:
      return end === p ? 0 : ERR_MALFORMED;
  }
  return decodeBrokerBody(buf, p, end, type, flags, out);
}

function decodeBrokerBody(buf: Uint8Array, p: number, end: number, type: number, flags: number, out: DecodedPacket): number {
  const n = end - p;
  switch (type) {
    case CONNACK:
      if (n !== 2) return ERR_MALFORMED;
      // [MQTT-3.2.2-1] bits 7-1 of the acknowledge flags are reserved.
      if ((buf[p] & 0xfe) !== 0) return ERR_FLAGS;
      out.sessionPresent = buf[p] === 1;
      out.returnCode = buf[p + 1];
      // [MQTT-3.2.2-4] a refusal (non-zero return code) carries session present 0. encodeConnack
      // refuses this combination too; accepting it here made a packet that cannot be re-encoded.
      if (out.sessionPresent && out.returnCode !== 0) return ERR_FLAGS;
      return 0;
    case PUBLISH:
      return decodePublish(buf, p, end, flags, out);
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
    case UNSUBACK:
      if (n !== 2) return ERR_MALFORMED;
      out.packetId = u16(buf, p);
      return out.packetId === 0 ? ERR_PACKET_ID : 0;
    case SUBACK:
      if (n < 2) return ERR_MALFORMED;
      out.packetId = u16(buf, p);
      if (out.packetId === 0) return ERR_PACKET_ID;
      if (n === 2) return ERR_EMPTY;
      for (let i = p + 2; i < end; i++) {
        const code = buf[i];
        if (code > 2 && code !== SUBACK_FAILURE) return ERR_RETURN_CODE;
      }
      out.payloadOff = p + 2;
      out.payloadLen = n - 2;
      out.count = n - 2;
      return 0;
    case PINGRESP:
      return n === 0 ? 0 : ERR_MALFORMED;
  }
  return ERR_UNEXPECTED_PACKET;
}

function decodePublish(buf: Uint8Array, p: number, end: number, flags: number, out: DecodedPacket): number {
  const qos = (flags >> 1) & 3;
  // [MQTT-3.3.1-4] both QoS bits set is malformed.
  if (qos === 3) return ERR_QOS;
  out.qos = qos;
  out.dup = (flags & 8) !== 0;
  out.retain = (flags & 1) !== 0;
  // [MQTT-3.3.1-2] DUP must be 0 for QoS 0. encodePublish refuses it too; accepting it here made a
  // packet that cannot be re-encoded (or forwarded) as it came.
  if (qos === 0 && out.dup) return ERR_FLAGS;
  if (end - p < 2) return ERR_MALFORMED;
  const topicLen = u16(buf, p);
  p += 2;
  if (p + topicLen > end) return ERR_MALFORMED;
  const topicStatus = validateTopicNameBytes(buf, p, topicLen);
  if (topicStatus < 0) return topicStatus;
  out.topicOff = p;
  out.topicLen = topicLen;
  p += topicLen;
  out.packetId = 0;
  if (qos > 0) {
    if (p + 2 > end) return ERR_MALFORMED;
    out.packetId = u16(buf, p);
    if (out.packetId === 0) return ERR_PACKET_ID;
    p += 2;
  }
  out.payloadOff = p;
  out.payloadLen = end - p;
  return 0;
}

function decodeFilterList(buf: Uint8Array, p: number, end: number, withQos: boolean, out: DecodedPacket): number {
  if (end - p < 2) return ERR_MALFORMED;
  out.packetId = u16(buf, p);
  if (out.packetId === 0) return ERR_PACKET_ID;
  p += 2;
  // [MQTT-3.8.3-3] / [MQTT-3.10.3-2] at least one filter.
  if (p === end) return ERR_EMPTY;
  out.payloadOff = p;
  out.payloadLen = end - p;
  out.topicOff = p + 2;
  let count = 0;
  while (p < end) {
    if (end - p < 2) return ERR_MALFORMED;
    const len = u16(buf, p);
    p += 2;
    if (p + len + (withQos ? 1 : 0) > end) return ERR_MALFORMED;
    const status = validateTopicFilterBytes(buf, p, len);
    if (status < 0) return status;
    if (count === 0) out.topicLen = len;
    p += len;
    if (withQos) {
      const requested = buf[p++];
      // [MQTT-3.8.3-4] the upper six bits of the requested QoS byte are reserved.
      if (requested & 0xfc) return ERR_FLAGS;
      if (requested === 3) return ERR_QOS;
    }
    count++;
  }
  out.count = count;
  return 0;
}

/** Reads a two-byte-length field at `p`; returns the offset after it or ERR_MALFORMED. */
function field(buf: Uint8Array, p: number, end: number): number {
  if (end - p < 2) return ERR_MALFORMED;
  const len = u16(buf, p);
  return p + 2 + len > end ? ERR_MALFORMED : p + 2 + len;
}

function decodeConnect(buf: Uint8Array, p: number, end: number, out: DecodedPacket): number {
  let next = field(buf, p, end);
  if (next < 0) return next;
  const nameLen = next - p - 2;
  const level = next < end ? buf[next] : -1;
  if (level < 0) return ERR_MALFORMED;
  if (!(nameLen === 4 && level === MQTT_3_1_1 && isAscii(buf, p + 2, "MQTT")) &&
      !(nameLen === 6 && level === MQTT_3_1 && isAscii(buf, p + 2, "MQIsdp"))) {
    return ERR_PROTOCOL;
  }
  out.protocolVersion = level;
  p = next + 1;
  if (end - p < 3) return ERR_MALFORMED;
  const flags = buf[p];
  out.keepalive = u16(buf, p + 1);
  p += 3;
  // [MQTT-3.1.2-3] bit 0 of the connect flags is reserved.
  if (flags & 1) return ERR_FLAGS;
  out.clean = (flags & 0x02) !== 0;
  out.hasWill = (flags & 0x04) !== 0;
  out.willQos = (flags >> 3) & 3;
  out.willRetain = (flags & 0x20) !== 0;
  out.hasPassword = (flags & 0x40) !== 0;
  out.hasUsername = (flags & 0x80) !== 0;
  if (out.willQos === 3) return ERR_QOS;
  // [MQTT-3.1.2-13] [MQTT-3.1.2-15] without a will, its QoS and retain bits must be 0.
  if (!out.hasWill && (out.willQos !== 0 || out.willRetain)) return ERR_FLAGS;
  // [MQTT-3.1.2-22] a password needs a user name.
  if (out.hasPassword && !out.hasUsername) return ERR_PASSWORD;

  next = field(buf, p, end);
  if (next < 0) return next;
  out.clientIdOff = p + 2;
  out.clientIdLen = next - p - 2;
  const idStatus = validateUtf8(buf, out.clientIdOff, out.clientIdLen);
  if (idStatus < 0) return idStatus;
  p = next;
  if (out.hasWill) {
    next = field(buf, p, end);
    if (next < 0) return next;
    out.willTopicOff = p + 2;
    out.willTopicLen = next - p - 2;
    const status = validateTopicNameBytes(buf, out.willTopicOff, out.willTopicLen);
    if (status < 0) return status;
    p = next;
    next = field(buf, p, end);
    if (next < 0) return next;
    out.willPayloadOff = p + 2;
    out.willPayloadLen = next - p - 2;
    p = next;
  }
  if (out.hasUsername) {
    next = field(buf, p, end);
    if (next < 0) return next;
    out.usernameOff = p + 2;
    out.usernameLen = next - p - 2;
    const status = validateUtf8(buf, out.usernameOff, out.usernameLen);
    if (status < 0) return status;
    p = next;
  }
  if (out.hasPassword) {
    next = field(buf, p, end);
    if (next < 0) return next;
    out.passwordOff = p + 2;
    out.passwordLen = next - p - 2;
    p = next;
  }
  if (p !== end) return ERR_MALFORMED;
  // Checked last, so that ERR_CLIENT_ID means "well-formed, answer CONNACK 0x02": an empty client
  // id needs a clean session [MQTT-3.1.3-7] [MQTT-3.1.3-8]; MQTT 3.1 allows 1 to 23 bytes. These
  // are the rules connectRemaining enforces when encoding; without them here a decoded CONNECT
  // could not be encoded again.
  if (out.clientIdLen === 0 && (level === MQTT_3_1 || !out.clean)) return ERR_CLIENT_ID;
  if (level === MQTT_3_1 && out.clientIdLen > 23) return ERR_CLIENT_ID;
  return 0;
}

function isAscii(buf: Uint8Array, off: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (buf[off + i] !== text.charCodeAt(i)) return false;
  }
  return true;
}

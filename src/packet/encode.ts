/**
 * Encoding: every packet into a caller-provided buffer at an offset.
 *
 * Each encoder validates everything first and only then writes, so a failure leaves the buffer as
 * it was. Success returns the offset just past the packet; failure a negative status.
 */
import {
  ERR_BUFFER_TOO_SMALL,
  ERR_CLIENT_ID,
  ERR_EMPTY,
  ERR_FIELD_TOO_LONG,
  ERR_FLAGS,
  ERR_KEEPALIVE,
  ERR_PACKET_ID,
  ERR_PACKET_TYPE,
  ERR_PASSWORD,
  ERR_PROTOCOL,
  ERR_QOS,
  ERR_REMAINING_LENGTH,
  ERR_RETURN_CODE,
} from "../status.ts";
import { MAX_STRING_BYTES, validateTopicFilter, validateTopicName } from "../topic.ts";
import { encodeUtf8, utf8Length } from "../utf8.ts";
import {
  CONNACK,
  CONNECT,
  DISCONNECT,
  MAX_REMAINING_LENGTH,
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
  type Bytes,
  type ConnectPacket,
  type Packet,
  type Subscription,
} from "./types.ts";

/** Bytes the remaining-length field takes for `remaining` (1 to 4). */
export function remainingLengthSize(remaining: number): number {
  return remaining < 128 ? 1 : remaining < 16384 ? 2 : remaining < 2097152 ? 3 : 4;
}

function writeRemainingLength(buf: Uint8Array, off: number, remaining: number): number {
  do {
    let digit = remaining % 128;
    remaining = (remaining - digit) / 128;
    if (remaining > 0) digit |= 0x80;
    buf[off++] = digit;
  } while (remaining > 0);
  return off;
}

/** Bytes of a payload or password; ERR_UTF8 for a string that cannot be encoded. */
function bytesLength(data: Bytes): number {
  return typeof data === "string" ? utf8Length(data, true) : data.length;
}

function writeBytes(buf: Uint8Array, off: number, data: Bytes): number {
  if (typeof data === "string") return encodeUtf8(data, buf, off);
  buf.set(data, off);
  return off + data.length;
}

/** Writes a two-byte length prefix and then the data. */
function writeField(buf: Uint8Array, off: number, data: Bytes): number {
  const end = writeBytes(buf, off + 2, data);
  const n = end - off - 2;
  buf[off] = n >> 8;
  buf[off + 1] = n & 0xff;
  return end;
}

/** Length of a prefixed MQTT string field (2 + bytes), or a negative status. */
function stringFieldLength(text: string): number {
  const n = utf8Length(text);
  if (n < 0) return n;
  return n > MAX_STRING_BYTES ? ERR_FIELD_TOO_LONG : n + 2;
}

function binaryFieldLength(data: Bytes): number {
  const n = bytesLength(data);
  if (n < 0) return n;
  return n > MAX_STRING_BYTES ? ERR_FIELD_TOO_LONG : n + 2;
}

function isQos(qos: number): boolean {
  return qos === 0 || qos === 1 || qos === 2;
}

function isPacketId(id: number): boolean {
  return id >= 1 && id <= 65535 && id === Math.floor(id);
}

/** Turns a remaining length (or a status) into the whole packet's size (or the status). */
function totalSize(remaining: number): number {
  if (remaining < 0) return remaining;
  if (remaining > MAX_REMAINING_LENGTH) return ERR_REMAINING_LENGTH;
  return 1 + remainingLengthSize(remaining) + remaining;
}

/** Writes the fixed header once the room for the whole packet is known to be there. */
function writeHeader(buf: Uint8Array, off: number, first: number, remaining: number): number {
  buf[off] = first;
  return writeRemainingLength(buf, off + 1, remaining);
}

function hasRoom(buf: Uint8Array, off: number, size: number): boolean {
  return off >= 0 && off + size <= buf.length;
}

// ---------------------------------------------------------------------------------------------
// PUBLISH: the hot path, so it takes its fields as arguments instead of an object.

function publishRemaining(topic: string, payload: Bytes, qos: number, dup: boolean, packetId: number): number {
  if (!isQos(qos)) return ERR_QOS;
  // [MQTT-3.3.1-2] DUP must be 0 for QoS 0.
  if (qos === 0 && dup) return ERR_FLAGS;
  if (qos > 0 && !isPacketId(packetId)) return ERR_PACKET_ID;
  const topicStatus = validateTopicName(topic);
  if (topicStatus < 0) return topicStatus;
  const payloadLen = bytesLength(payload);
  if (payloadLen < 0) return payloadLen;
  return 2 + utf8Length(topic) + (qos > 0 ? 2 : 0) + payloadLen;
}

/**
 * Size in bytes of a PUBLISH, or a negative status: ERR_QOS, ERR_FLAGS (DUP with QoS 0),
 * ERR_PACKET_ID, ERR_TOPIC, ERR_UTF8, ERR_FIELD_TOO_LONG, ERR_REMAINING_LENGTH.
 */
export function publishSize(topic: string, payload: Bytes, qos: number, dup: boolean, packetId: number): number {
  return totalSize(publishRemaining(topic, payload, qos, dup, packetId));
}

/**
 * Encodes a PUBLISH at `off`. Returns the offset after it, or a status of `publishSize`, or
 * ERR_BUFFER_TOO_SMALL. A string payload is sent as UTF-8.
 */
export function encodePublish(
  buf: Uint8Array,
  off: number,
  topic: string,
  payload: Bytes,
  qos: number,
  retain: boolean,
  dup: boolean,
  packetId: number,
): number {
  const remaining = publishRemaining(topic, payload, qos, dup, packetId);
  const size = totalSize(remaining);
  if (size < 0) return size;
  if (!hasRoom(buf, off, size)) return ERR_BUFFER_TOO_SMALL;
  let p = writeHeader(buf, off, (PUBLISH << 4) | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), remaining);
  p = writeField(buf, p, topic);
  if (qos > 0) {
    buf[p++] = packetId >> 8;
    buf[p++] = packetId & 0xff;
  }
  return writeBytes(buf, p, payload);
}

// ---------------------------------------------------------------------------------------------
// Packets that carry a packet identifier only, and packets that are a fixed header only.

/**
 * Writes only the start of a PUBLISH: fixed header, topic and packet id, for a payload of
 * `payloadLen` bytes that the caller sends after it (a payload larger than `buf`, sent in slices
 * from where it lies). Returns the offset after the header, or a status: as `encodePublish`, and
 * ERR_BUFFER_TOO_SMALL when the header itself does not fit.
 */
export function encodePublishHeader(
  buf: Uint8Array,
  off: number,
  topic: string,
  payloadLen: number,
  qos: number,
  retain: boolean,
  dup: boolean,
  packetId: number,
): number {
  const head = publishRemaining(topic, "", qos, dup, packetId);
  if (head < 0) return head;
  const remaining = head + payloadLen;
  const size = totalSize(remaining);
  if (size < 0) return size;
  if (!hasRoom(buf, off, size - payloadLen)) return ERR_BUFFER_TOO_SMALL;
  let p = writeHeader(buf, off, (PUBLISH << 4) | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), remaining);
  p = writeField(buf, p, topic);
  if (qos > 0) {
    buf[p++] = packetId >> 8;
    buf[p++] = packetId & 0xff;
  }
  return p;
}

/**
 * Encodes PUBACK, PUBREC, PUBREL, PUBCOMP or UNSUBACK. Returns the offset after it (4 bytes on),
 * or ERR_PACKET_TYPE, ERR_PACKET_ID, ERR_BUFFER_TOO_SMALL.
 */
export function encodeAck(buf: Uint8Array, off: number, type: number, packetId: number): number {
  if (type !== PUBACK && type !== PUBREC && type !== PUBREL && type !== PUBCOMP && type !== UNSUBACK) {
    return ERR_PACKET_TYPE;
  }
  if (!isPacketId(packetId)) return ERR_PACKET_ID;
  if (!hasRoom(buf, off, 4)) return ERR_BUFFER_TOO_SMALL;
  // [MQTT-3.6.1-1] PUBREL has the fixed-header flags 0010.
  buf[off] = (type << 4) | (type === PUBREL ? 2 : 0);
  buf[off + 1] = 2;
  buf[off + 2] = packetId >> 8;
  buf[off + 3] = packetId & 0xff;
  return off + 4;
}

/**
 * Encodes PINGREQ, PINGRESP or DISCONNECT. Returns the offset after it (2 bytes on), or
 * ERR_PACKET_TYPE, ERR_BUFFER_TOO_SMALL.
 */
export function encodeEmpty(buf: Uint8Array, off: number, type: number): number {
  if (type !== PINGREQ && type !== PINGRESP && type !== DISCONNECT) return ERR_PACKET_TYPE;
  if (!hasRoom(buf, off, 2)) return ERR_BUFFER_TOO_SMALL;
  buf[off] = type << 4;
  buf[off + 1] = 0;
  return off + 2;
}

/**
 * Encodes a CONNACK (a broker's packet; the scripted test broker sends it). Returns the offset
 * after it, or ERR_RETURN_CODE (not 0..255), ERR_FLAGS (session present with a refusal,
 * [MQTT-3.2.2-4]), ERR_BUFFER_TOO_SMALL.
 */
export function encodeConnack(buf: Uint8Array, off: number, sessionPresent: boolean, returnCode: number): number {
  if (!(returnCode >= 0 && returnCode <= 255) || returnCode !== Math.floor(returnCode)) return ERR_RETURN_CODE;
  if (returnCode !== 0 && sessionPresent) return ERR_FLAGS;
  if (!hasRoom(buf, off, 4)) return ERR_BUFFER_TOO_SMALL;
  buf[off] = CONNACK << 4;
  buf[off + 1] = 2;
  buf[off + 2] = sessionPresent ? 1 : 0;
  buf[off + 3] = returnCode;
  return off + 4;
}

// ---------------------------------------------------------------------------------------------
// CONNECT

const NAME_MQTT = "MQTT";
const NAME_MQISDP = "MQIsdp";

function connectRemaining(p: ConnectPacket): number {
  const v = p.protocolVersion;
  if (v !== MQTT_3_1 && v !== MQTT_3_1_1) return ERR_PROTOCOL;
  const k = p.keepalive;
  if (!(k >= 0 && k <= 65535) || k !== Math.floor(k)) return ERR_KEEPALIVE;
  const idLen = stringFieldLength(p.clientId);
  if (idLen < 0) return idLen;
  // MQTT 3.1 allows 1 to 23 characters; 3.1.1 allows an empty id only with a clean session
  // [MQTT-3.1.3-7].
  if (v === MQTT_3_1 && (idLen === 2 || idLen > 25)) return ERR_CLIENT_ID;
  if (v === MQTT_3_1_1 && idLen === 2 && !p.clean) return ERR_CLIENT_ID;
  // Variable header: protocol name field, level, flags, keepalive.
  let n = (v === MQTT_3_1 ? 8 : 6) + 4 + idLen;
  const will = p.will;
  if (will) {
    if (!isQos(will.qos)) return ERR_QOS;
    const topicStatus = validateTopicName(will.topic);
    if (topicStatus < 0) return topicStatus;
    const wt = stringFieldLength(will.topic);
    const wp = binaryFieldLength(will.payload);
    if (wp < 0) return wp;
    n += wt + wp;
  }
  if (p.username !== undefined) {
    const u = stringFieldLength(p.username);
    if (u < 0) return u;
    n += u;
  }
  if (p.password !== undefined) {
    // [MQTT-3.1.2-22] a password needs a user name.
    if (p.username === undefined) return ERR_PASSWORD;
    const w = binaryFieldLength(p.password);
    if (w < 0) return w;
    n += w;
  }
  return n;
}

/**
 * Size in bytes of a CONNECT, or a negative status: ERR_PROTOCOL, ERR_KEEPALIVE, ERR_CLIENT_ID,
 * ERR_QOS, ERR_TOPIC, ERR_UTF8, ERR_FIELD_TOO_LONG, ERR_PASSWORD, ERR_REMAINING_LENGTH.
 */
export function connectSize(p: ConnectPacket): number {
  return totalSize(connectRemaining(p));
}

/** Encodes a CONNECT at `off`. Returns the offset after it, or a status of `connectSize`, or ERR_BUFFER_TOO_SMALL. */
export function encodeConnect(buf: Uint8Array, off: number, p: ConnectPacket): number {
  const remaining = connectRemaining(p);
  const size = totalSize(remaining);
  if (size < 0) return size;
  if (!hasRoom(buf, off, size)) return ERR_BUFFER_TOO_SMALL;
  return writeConnect(buf, off, p, remaining);
}

function writeConnect(buf: Uint8Array, off: number, p: ConnectPacket, remaining: number): number {
  let o = writeHeader(buf, off, CONNECT << 4, remaining);
  o = writeField(buf, o, p.protocolVersion === MQTT_3_1 ? NAME_MQISDP : NAME_MQTT);
  buf[o++] = p.protocolVersion;
  const will = p.will;
  let flags = p.clean ? 0x02 : 0;
  if (will) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password !== undefined) flags |= 0x40;
  if (p.username !== undefined) flags |= 0x80;
  buf[o++] = flags;
  buf[o++] = p.keepalive >> 8;
  buf[o++] = p.keepalive & 0xff;
  o = writeField(buf, o, p.clientId);
  if (will) {
    o = writeField(buf, o, will.topic);
    o = writeField(buf, o, will.payload);
  }
  if (p.username !== undefined) o = writeField(buf, o, p.username);
  if (p.password !== undefined) o = writeField(buf, o, p.password);
  return o;
}

// ---------------------------------------------------------------------------------------------
// SUBSCRIBE, SUBACK, UNSUBSCRIBE

/**
 * Remaining length of a SUBSCRIBE (`qos` given, one per filter) or an UNSUBSCRIBE (`qos` null).
 * The filters and their QoS are parallel arrays: that is how a client keeps them, and it spares
 * an object per filter.
 */
function filterListRemaining(packetId: number, topics: string[], qos: number[] | null): number {
  if (!isPacketId(packetId)) return ERR_PACKET_ID;
  // [MQTT-3.8.3-3] / [MQTT-3.10.3-2] at least one filter.
  if (topics.length === 0) return ERR_EMPTY;
  let n = 2;
  for (let i = 0; i < topics.length; i++) {
    if (qos !== null && !isQos(qos[i])) return ERR_QOS;
    const status = validateTopicFilter(topics[i]);
    if (status < 0) return status;
    n += stringFieldLength(topics[i]) + (qos !== null ? 1 : 0);
  }
  return n;
}

function encodeFilterList(buf: Uint8Array, off: number, packetId: number, topics: string[], qos: number[] | null): number {
  const remaining = filterListRemaining(packetId, topics, qos);
  const size = totalSize(remaining);
  if (size < 0) return size;
  if (!hasRoom(buf, off, size)) return ERR_BUFFER_TOO_SMALL;
  // [MQTT-3.8.1-1] / [MQTT-3.10.1-1] SUBSCRIBE and UNSUBSCRIBE have the fixed-header flags 0010.
  let o = writeHeader(buf, off, ((qos !== null ? SUBSCRIBE : UNSUBSCRIBE) << 4) | 2, remaining);
  buf[o++] = packetId >> 8;
  buf[o++] = packetId & 0xff;
  for (let i = 0; i < topics.length; i++) {
    o = writeField(buf, o, topics[i]);
    if (qos !== null) buf[o++] = qos[i];
  }
  return o;
}

/**
 * Size in bytes of a SUBSCRIBE to `topics[i]` at `qos[i]`, or a negative status: ERR_PACKET_ID,
 * ERR_EMPTY, ERR_QOS, ERR_FILTER, ERR_UTF8, ERR_FIELD_TOO_LONG, ERR_REMAINING_LENGTH.
 */
export function subscribeSize(packetId: number, topics: string[], qos: number[]): number {
  return totalSize(filterListRemaining(packetId, topics, qos));
}

/** Encodes a SUBSCRIBE at `off`. Returns the offset after it, or a status of `subscribeSize`, or ERR_BUFFER_TOO_SMALL. */
export function encodeSubscribe(buf: Uint8Array, off: number, packetId: number, topics: string[], qos: number[]): number {
  return encodeFilterList(buf, off, packetId, topics, qos);
}

/**
 * Size in bytes of an UNSUBSCRIBE from `topics`, or a negative status: ERR_PACKET_ID, ERR_EMPTY,
 * ERR_FILTER, ERR_UTF8, ERR_FIELD_TOO_LONG, ERR_REMAINING_LENGTH.
 */
export function unsubscribeSize(packetId: number, topics: string[]): number {
  return totalSize(filterListRemaining(packetId, topics, null));
}

/** Encodes an UNSUBSCRIBE at `off`. Returns the offset after it, or a status of `unsubscribeSize`, or ERR_BUFFER_TOO_SMALL. */
export function encodeUnsubscribe(buf: Uint8Array, off: number, packetId: number, topics: string[]): number {
  return encodeFilterList(buf, off, packetId, topics, null);
}

function subackRemaining(packetId: number, granted: number[]): number {
  if (!isPacketId(packetId)) return ERR_PACKET_ID;
  if (granted.length === 0) return ERR_EMPTY;
  for (let i = 0; i < granted.length; i++) {
    // [MQTT-3.9.3-2] only 0x00, 0x01, 0x02 and 0x80 are allowed.
    if (!isQos(granted[i]) && granted[i] !== SUBACK_FAILURE) return ERR_RETURN_CODE;
  }
  return 2 + granted.length;
}

// ---------------------------------------------------------------------------------------------
// Any packet, from its plain-object form.

function subscriptionTopics(subs: Subscription[]): string[] {
  const topics: string[] = [];
  for (let i = 0; i < subs.length; i++) topics.push(subs[i].topic);
  return topics;
}

function subscriptionQos(subs: Subscription[]): number[] {
  const qos: number[] = [];
  for (let i = 0; i < subs.length; i++) qos.push(subs[i].qos);
  return qos;
}

/** Remaining length of `p`, or a negative status. */
function remainingOf(p: Packet): number {
  switch (p.type) {
    case CONNECT:
      return connectRemaining(p);
    case CONNACK:
      // The checks of encodeConnack, so that packetSize refuses what encodePacket refuses.
      if (!(p.returnCode >= 0 && p.returnCode <= 255) || p.returnCode !== Math.floor(p.returnCode)) {
        return ERR_RETURN_CODE;
      }
      // [MQTT-3.2.2-4] a refusal carries session present 0.
      return p.returnCode !== 0 && p.sessionPresent ? ERR_FLAGS : 2;
    case PUBLISH:
      return publishRemaining(p.topic, p.payload, p.qos, p.dup, p.packetId);
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
    case UNSUBACK:
      return isPacketId(p.packetId) ? 2 : ERR_PACKET_ID;
    case SUBSCRIBE:
      return filterListRemaining(p.packetId, subscriptionTopics(p.subscriptions), subscriptionQos(p.subscriptions));
    case SUBACK:
      return subackRemaining(p.packetId, p.granted);
    case UNSUBSCRIBE:
      return filterListRemaining(p.packetId, p.topics, null);
    case PINGREQ:
    case PINGRESP:
    case DISCONNECT:
      return 0;
  }
  return ERR_PACKET_TYPE;
}

/**
 * Size in bytes of any packet, or a negative status (the same ones `encodePacket` returns, except
 * ERR_BUFFER_TOO_SMALL).
 */
export function packetSize(p: Packet): number {
  return totalSize(remainingOf(p));
}

/**
 * Encodes any packet at `off` in `buf`. Returns the offset after it, or a negative status:
 * ERR_BUFFER_TOO_SMALL, ERR_PACKET_TYPE, ERR_PACKET_ID, ERR_QOS, ERR_FLAGS, ERR_TOPIC, ERR_FILTER,
 * ERR_UTF8, ERR_FIELD_TOO_LONG, ERR_REMAINING_LENGTH, ERR_EMPTY, ERR_RETURN_CODE, ERR_PROTOCOL,
 * ERR_KEEPALIVE, ERR_CLIENT_ID, ERR_PASSWORD. On failure nothing is written.
 */
export function encodePacket(buf: Uint8Array, off: number, p: Packet): number {
  switch (p.type) {
    case PUBLISH:
      return encodePublish(buf, off, p.topic, p.payload, p.qos, p.retain, p.dup, p.packetId);
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
    case UNSUBACK:
      return encodeAck(buf, off, p.type, p.packetId);
    case PINGREQ:
    case PINGRESP:
    case DISCONNECT:
      return encodeEmpty(buf, off, p.type);
    case CONNACK:
      return encodeConnack(buf, off, p.sessionPresent, p.returnCode);
    case CONNECT:
      return encodeConnect(buf, off, p);
    case SUBSCRIBE:
      return encodeSubscribe(buf, off, p.packetId, subscriptionTopics(p.subscriptions), subscriptionQos(p.subscriptions));
    case UNSUBSCRIBE:
      return encodeUnsubscribe(buf, off, p.packetId, p.topics);
    case SUBACK: {
      const remaining = subackRemaining(p.packetId, p.granted);
      const size = totalSize(remaining);
      if (size < 0) return size;
      if (!hasRoom(buf, off, size)) return ERR_BUFFER_TOO_SMALL;
      let o = writeHeader(buf, off, SUBACK << 4, remaining);
      buf[o++] = p.packetId >> 8;
      buf[o++] = p.packetId & 0xff;
      for (let i = 0; i < p.granted.length; i++) buf[o++] = p.granted[i];
      return o;
    }
  }
  return ERR_PACKET_TYPE;
}

/**
 * The plain-object form of a decoded packet. This allocates (strings, copied payloads, arrays):
 * it serves the scripted test broker, debug logs and tests, never the client's message path.
 */
import { decodeUtf8 } from "../utf8.ts";
import {
  CONNACK,
  CONNECT,
  PUBLISH,
  SUBACK,
  SUBSCRIBE,
  UNSUBSCRIBE,
  type DecodedPacket,
  type Packet,
  type Subscription,
} from "./types.ts";

/** A copy of `len` bytes at `off`. (Not `slice`: duktape's typed arrays lack it.) */
function copyBytes(buf: Uint8Array, off: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(buf.subarray(off, off + len));
  return out;
}

function u16(buf: Uint8Array, off: number): number {
  return (buf[off] << 8) | buf[off + 1];
}

/** Builds the plain-object form of the packet `decoded` describes in `buf`. */
export function readPacket(buf: Uint8Array, decoded: DecodedPacket): Packet {
  const d = decoded;
  switch (d.type) {
    case CONNECT: {
      const p: Packet = {
        type: CONNECT,
        protocolVersion: d.protocolVersion,
        clientId: decodeUtf8(buf, d.clientIdOff, d.clientIdLen),
        clean: d.clean,
        keepalive: d.keepalive,
      };
      if (d.hasWill) {
        p.will = {
          topic: decodeUtf8(buf, d.willTopicOff, d.willTopicLen),
          payload: copyBytes(buf, d.willPayloadOff, d.willPayloadLen),
          qos: d.willQos,
          retain: d.willRetain,
        };
      }
      if (d.hasUsername) p.username = decodeUtf8(buf, d.usernameOff, d.usernameLen);
      if (d.hasPassword) p.password = copyBytes(buf, d.passwordOff, d.passwordLen);
      return p;
    }
    case CONNACK:
      return { type: CONNACK, sessionPresent: d.sessionPresent, returnCode: d.returnCode };
    case PUBLISH:
      return {
        type: PUBLISH,
        topic: decodeUtf8(buf, d.topicOff, d.topicLen),
        payload: copyBytes(buf, d.payloadOff, d.payloadLen),
        qos: d.qos,
        retain: d.retain,
        dup: d.dup,
        packetId: d.packetId,
      };
    case SUBSCRIBE:
    case UNSUBSCRIBE: {
      const subs: Subscription[] = [];
      const topics: string[] = [];
      let p = d.payloadOff;
      const end = d.payloadOff + d.payloadLen;
      while (p < end) {
        const len = u16(buf, p);
        const topic = decodeUtf8(buf, p + 2, len);
        p += 2 + len;
        if (d.type === SUBSCRIBE) subs.push({ topic: topic, qos: buf[p++] });
        else topics.push(topic);
      }
      if (d.type === SUBSCRIBE) return { type: SUBSCRIBE, packetId: d.packetId, subscriptions: subs };
      return { type: UNSUBSCRIBE, packetId: d.packetId, topics: topics };
    }
    case SUBACK: {
      const granted: number[] = [];
      for (let i = 0; i < d.count; i++) granted.push(buf[d.payloadOff + i]);
      return { type: SUBACK, packetId: d.packetId, granted: granted };
    }
  }
  if (d.type >= 4 && d.type <= 7) return { type: d.type, packetId: d.packetId } as Packet;
  if (d.type === 11) return { type: 11, packetId: d.packetId };
  return { type: d.type } as Packet;
}

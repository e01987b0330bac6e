/**
 * Shared by the packet tests: comparing packets with their byte fields as bytes, and encoding
 * with each type's own encoder.
 */
import {
  encodeAck,
  encodeConnack,
  encodeConnect,
  encodeEmpty,
  encodePacket,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
} from "../../src/packet/encode.ts";
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
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE,
  type Bytes,
  type Packet,
} from "../../src/packet/types.ts";

const encoder = new TextEncoder();

/** A payload or password as bytes; a string becomes its UTF-8 (the encoder sends it so). */
export function asBytes(data: Bytes): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : new Uint8Array(data);
}

/**
 * A copy of `p` in which every payload and password is a plain Uint8Array, so that a packet
 * built with string payloads compares equal to the one `readPacket` returns.
 */
export function normalize(p: Packet): Packet {
  const q = { ...p } as Packet & { payload?: Bytes; password?: Bytes; will?: { payload: Bytes } };
  if (q.payload !== undefined) q.payload = asBytes(q.payload);
  if (q.password !== undefined) q.password = asBytes(q.password);
  if (q.will !== undefined) q.will = { ...q.will, payload: asBytes(q.will.payload) };
  return q;
}

/** A buffer of `size` bytes, each `sentinel`. */
export function sentinelBuffer(size: number, sentinel = 0xa5): Uint8Array {
  return new Uint8Array(size).fill(sentinel);
}

/** The index of the first byte that is not `sentinel`, or -1. */
export function firstChanged(buf: Uint8Array, sentinel = 0xa5): number {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== sentinel) return i;
  return -1;
}

/** Encodes with the type's own encoder (the ones the client calls on its hot paths). */
export function encodeDirect(buf: Uint8Array, off: number, p: Packet): number {
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
      return encodeSubscribe(buf, off, p.packetId, p.subscriptions.map((s) => s.topic), p.subscriptions.map((s) => s.qos));
    case UNSUBSCRIBE:
      return encodeUnsubscribe(buf, off, p.packetId, p.topics);
  }
  return encodePacket(buf, off, p);
}

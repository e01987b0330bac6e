/**
 * Shared by the packet tests: comparing packets with their byte fields as bytes, and buffers
 * filled with a sentinel to see what an encoder wrote.
 */
import {
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

/**
 * Bytes on the wire for session and client tests: packets the test plays as the broker, encoded
 * with our codec, and a log of what the client wrote, decoded back into plain packets.
 */
import {
  CONNACK,
  PACKET_NAMES,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  UNSUBACK,
  DecodedPacket,
  decodePacket,
  encodePacket,
  packetSize,
  readPacket,
  statusText,
  type Bytes,
  type Packet,
  type PublishPacket,
} from "../../src/index.ts";

/** The bytes of `p`. Throws for a packet the encoder refuses (a broken test, not a finding). */
export function enc(p: Packet): Uint8Array {
  const size = packetSize(p);
  if (size < 0) throw new Error("enc: " + statusText(size) + " for " + JSON.stringify(p));
  const buf = new Uint8Array(size);
  const end = encodePacket(buf, 0, p);
  if (end !== size) throw new Error("enc: " + statusText(end));
  return buf;
}

/** Several packets (or raw byte arrays) back to back. */
export function encAll(items: (Packet | Uint8Array)[]): Uint8Array {
  const parts = items.map((x) => (x instanceof Uint8Array ? x : enc(x)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function connack(returnCode = 0, sessionPresent = false): Packet {
  return { type: CONNACK, sessionPresent: sessionPresent, returnCode: returnCode };
}

export function publish(topic: string, payload: Bytes, qos = 0, packetId = 0, dup = false, retain = false): PublishPacket {
  return { type: PUBLISH, topic: topic, payload: payload, qos: qos, retain: retain, dup: dup, packetId: qos > 0 ? packetId : 0 };
}

export function puback(id: number): Packet {
  return { type: PUBACK, packetId: id };
}
export function pubrec(id: number): Packet {
  return { type: PUBREC, packetId: id };
}
export function pubrel(id: number): Packet {
  return { type: PUBREL, packetId: id };
}
export function pubcomp(id: number): Packet {
  return { type: PUBCOMP, packetId: id };
}
export function unsuback(id: number): Packet {
  return { type: UNSUBACK, packetId: id };
}
export function suback(id: number, granted: number[]): Packet {
  return { type: SUBACK, packetId: id, granted: granted };
}

/**
 * Decodes a byte stream that must hold whole, valid packets only. Throws (with the offset) on a
 * malformed or partial packet: what the client writes must always be a clean stream.
 */
export function decodeStream(bytes: Uint8Array): Packet[] {
  const out: Packet[] = [];
  const d = new DecodedPacket();
  let off = 0;
  while (off < bytes.length) {
    const n = decodePacket(bytes, off, bytes.length, d);
    if (n < 0) throw new Error("decodeStream: " + statusText(n) + " at offset " + off);
    out.push(readPacket(bytes, d));
    off += n;
  }
  return out;
}

/** The bytes a client wrote, one copy per write, and the packets they make. */
export class WireLog {
  /** Each write, copied (the writer may reuse its buffer at once). */
  writes: Uint8Array[] = [];
  /** How many packets `take` has handed out already. */
  private taken = 0;

  record(bytes: Uint8Array, off: number, len: number): void {
    this.writes.push(bytes.slice(off, off + len));
  }

  bytes(): Uint8Array {
    return encAll(this.writes);
  }

  /** Every packet written so far. */
  packets(): Packet[] {
    return decodeStream(this.bytes());
  }

  /** The packets written since the last `take`. */
  take(): Packet[] {
    const all = this.packets();
    const fresh = all.slice(this.taken);
    this.taken = all.length;
    return fresh;
  }

  clear(): void {
    this.writes = [];
    this.taken = 0;
  }
}

/** A payload as text, for short assertions. */
export function text(payload: Bytes): string {
  return typeof payload === "string" ? payload : new TextDecoder().decode(payload);
}

/** A compact one-line form of a packet: "PUBLISH q1 id3 dup a/b 'x'", "PUBACK 3", ... */
export function brief(p: Packet): string {
  const name = PACKET_NAMES[p.type];
  switch (p.type) {
    case PUBLISH:
      return name + " q" + p.qos + (p.qos > 0 ? " id" + p.packetId : "") + (p.dup ? " dup" : "") + (p.retain ? " retain" : "") + " " + p.topic + " '" + text(p.payload) + "'";
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
    case UNSUBACK:
      return name + " " + p.packetId;
    case SUBACK:
      return name + " " + p.packetId + " [" + p.granted.join(",") + "]";
    case 8:
      return name + " " + p.packetId + " " + p.subscriptions.map((s) => s.topic + ":" + s.qos).join(",");
    case 10:
      return name + " " + p.packetId + " " + p.topics.join(",");
    case CONNACK:
      return name + " " + p.returnCode + (p.sessionPresent ? " sp" : "");
  }
  return name;
}

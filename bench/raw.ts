/**
 * The raw-socket floor: MQTT packets built by hand (not with our codec) and a reader that looks
 * only at fixed headers, plus the packet id or payload prefix where the run needs it. What the
 * floor measures is the broker and Node's sockets, with as little client work as possible.
 */
import * as net from "node:net";

export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBACK = 9;

function remainingLengthBytes(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  const out = Buffer.alloc(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, ...remainingLengthBytes(body.length)]), body]);
}

/** CONNECT, MQTT 3.1.1, clean session, keepalive off. */
export function connectPacket(clientId: string): Buffer {
  return packet(0x10, Buffer.concat([str("MQTT"), Buffer.from([4, 0x02, 0, 0]), str(clientId)]));
}

export function subscribePacket(packetId: number, filter: string, qos: number): Buffer {
  return packet(0x82, Buffer.concat([Buffer.from([packetId >> 8, packetId & 255]), str(filter), Buffer.from([qos])]));
}

/** A PUBLISH; the packet id (QoS 1/2) sits at `idOffset(...)` for patching. */
export function publishPacket(topic: string, payload: Uint8Array, qos: number, packetId: number): Buffer {
  const id = qos > 0 ? Buffer.from([packetId >> 8, packetId & 255]) : Buffer.alloc(0);
  return packet(0x30 | (qos << 1), Buffer.concat([str(topic), id, payload]));
}

/** Where the payload of a packet from `publishPacket` starts. */
export function payloadOffset(topic: string, payloadLen: number, qos: number): number {
  const body = 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + payloadLen;
  return 1 + remainingLengthBytes(body).length + 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0);
}

/** Writes the 4-byte acknowledgement `type` (PUBACK, PUBREC, PUBREL, PUBCOMP) for `id` at `off`. */
export function putAck(buf: Buffer, off: number, type: number, id: number): number {
  buf[off] = (type << 4) | (type === PUBREL ? 2 : 0);
  buf[off + 1] = 2;
  buf[off + 2] = id >> 8;
  buf[off + 3] = id & 255;
  return off + 4;
}

/**
 * Splits a byte stream into packets by their fixed headers. For each packet it calls
 * `onPacket(first, prefix, prefixLen, remaining)` where `prefix` holds the first `prefixLen`
 * bytes of the body: none for a QoS 0 PUBLISH, two for the acks, the topic and packet id of a
 * QoS 1/2 PUBLISH, and up to 96 bytes of any PUBLISH with `capturePublish` (the latency runs
 * read the payload's timestamp). Bodies are otherwise skipped.
 */
export class FrameReader {
  private first = 0;
  private mult = 1;
  private remaining = 0;
  private headerBytes = 0;
  /** Body bytes still to skip or capture; -1 while the fixed header is incomplete. */
  private left = -1;
  private want = 0;
  private prefix = Buffer.alloc(96);
  private prefixLen = 0;
  /** A QoS 1/2 PUBLISH whose topic length is not read yet. */
  private idPending = false;

  constructor(
    private capturePublish: boolean,
    private onPacket: (first: number, prefix: Buffer, prefixLen: number, remaining: number) => void,
  ) {}

  /** Takes the first `n` bytes of `chunk` (all of it when `n` is omitted). */
  push(chunk: Uint8Array, n: number = chunk.length): void {
    let i = 0;
    while (i < n) {
      if (this.left < 0) {
        const b = chunk[i++];
        if (this.headerBytes === 0) {
          this.first = b;
          this.mult = 1;
          this.remaining = 0;
          this.headerBytes = 1;
          continue;
        }
        this.remaining += (b & 127) * this.mult;
        this.mult *= 128;
        this.headerBytes++;
        if (b & 0x80) continue;
        this.headerBytes = 0;
        this.left = this.remaining;
        const type = this.first >> 4;
        const qos = (this.first >> 1) & 3;
        // A QoS 1/2 PUBLISH needs its topic length (2 bytes) first, then the id after the topic.
        if (type === PUBLISH) this.want = this.capturePublish ? Math.min(this.remaining, 96) : qos > 0 ? 2 : 0;
        else this.want = Math.min(this.remaining, 2);
        this.idPending = type === PUBLISH && qos > 0 && !this.capturePublish;
        this.prefixLen = 0;
        if (this.left === 0) this.done();
        continue;
      }
      if (this.prefixLen < this.want) {
        const take = Math.min(this.want - this.prefixLen, n - i);
        // A byte loop: Buffer#copy from an offset allocates a view per call.
        const prefix = this.prefix;
        for (let k = 0; k < take; k++) prefix[this.prefixLen + k] = chunk[i + k];
        this.prefixLen += take;
        this.left -= take;
        i += take;
        if (this.idPending && this.prefixLen === 2) {
          this.idPending = false;
          this.want = Math.min(this.remaining, 4 + ((prefix[0] << 8) | prefix[1]));
        }
      } else {
        const take = Math.min(this.left, n - i);
        this.left -= take;
        i += take;
      }
      if (this.left === 0) this.done();
    }
  }

  private done(): void {
    this.left = -1;
    this.onPacket(this.first, this.prefix, this.prefixLen, this.remaining);
  }
}

/** The packet id of a QoS 1/2 PUBLISH from its body prefix. */
export function publishId(prefix: Buffer): number {
  const topicLen = (prefix[0] << 8) | prefix[1];
  return (prefix[2 + topicLen] << 8) | prefix[3 + topicLen];
}

/** Where the payload starts within a PUBLISH body prefix. */
export function publishPayloadStart(prefix: Buffer, qos: number): number {
  const topicLen = (prefix[0] << 8) | prefix[1];
  return 2 + topicLen + (qos > 0 ? 2 : 0);
}

/**
 * A bare TCP connection to the broker. Reads land in one buffer of its own (`onread`, Node's
 * cheapest read path: no Buffer or stream event per chunk) and go to `onBytes`, valid during
 * the call only.
 */
export class RawLink {
  readonly socket: net.Socket;
  onBytes: (buf: Buffer, n: number) => void = () => {};
  private readBuffer = Buffer.allocUnsafe(65536);

  private constructor(host: string, port: number) {
    this.socket = net.connect({
      host,
      port,
      onread: {
        buffer: this.readBuffer,
        callback: (n: number, buf: Uint8Array) => {
          this.onBytes(buf as Buffer, n);
          return true;
        },
      },
    });
    this.socket.setNoDelay(true);
  }

  /** Connects, sends CONNECT and resolves once CONNACK arrived (return code 0). */
  static open(host: string, port: number, clientId: string): Promise<RawLink> {
    return new Promise((resolve, reject) => {
      const link = new RawLink(host, port);
      const socket = link.socket;
      socket.on("error", reject);
      link.expect(4, (got) => {
        socket.off("error", reject);
        if (got[0] !== 0x20 || got[3] !== 0) reject(new Error("raw CONNACK refused: " + got.toString("hex")));
        else if (got.length > 4) reject(new Error("raw: unexpected bytes after CONNACK"));
        else resolve(link);
      });
      socket.on("connect", () => socket.write(connectPacket(clientId)));
    });
  }

  /** Sends SUBSCRIBE and resolves on its SUBACK. */
  subscribe(filter: string, qos: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.expect(5, (got) => {
        if (got[0] !== 0x90 || got[4] > 2) reject(new Error("raw SUBACK refused: " + got.toString("hex")));
        else resolve();
      });
      this.socket.write(subscribePacket(1, filter, qos));
    });
  }

  /** Ends the connection with DISCONNECT and waits for the close. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      const socket = this.socket;
      if (socket.destroyed) return resolve();
      socket.once("close", () => resolve());
      // Whatever still arrives (a PUBREL for a message already counted) gets no answer.
      this.onBytes = () => {};
      socket.end(Buffer.from([0xe0, 0]));
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  /** Gathers `count` bytes (copied out of the read buffer), then hands them to `done`. */
  private expect(count: number, done: (got: Buffer) => void): void {
    let got = Buffer.alloc(0);
    this.onBytes = (buf, n) => {
      got = Buffer.concat([got, buf.subarray(0, n)]);
      if (got.length < count) return;
      this.onBytes = () => {};
      done(got);
    };
  }
}

/**
 * The `-d` packet log: a transport that sits between the client and the real one and describes
 * every packet written and received in the words of libmosquitto's debug log
 * ("Client X sending CONNECT", "Client X received PUBACK (Mid: 1, RC:0)", ...).
 *
 * The core is untouched: the bytes are copied into a buffer of the log's own and decoded there
 * with the core's codec (packetLength, decodePacket, readPacket), once a whole packet is in.
 * The password in CONNECT is never read into a line.
 */
import { decodePacket, packetLength } from "../src/packet/decode.ts";
import { readPacket } from "../src/packet/read.ts";
import {
  CONNACK,
  CONNECT,
  DecodedPacket,
  DISCONNECT,
  PACKET_NAMES,
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
  type SubackPacket,
  type SubscribePacket,
  type UnsubscribePacket,
} from "../src/packet/types.ts";
import { NEED_MORE, statusText } from "../src/status.ts";
import type { Transport, TransportEvents } from "../src/transport.ts";
import { decodeUtf8 } from "../src/utf8.ts";


/** `n` as mosquitto prints it: 0/1 for flags. */
function bit(flag: boolean): number {
  return flag ? 1 : 0;
}

export interface DescribeOptions {
  /** Add mosquitto_sub's "Subscribed (mid: 1): 0, 1" after each SUBACK. */
  subscribedLine?: boolean;
}

/**
 * Lines describing one whole packet (`len` bytes of `buf` from `off`), sent or received by
 * `clientId`. A SUBSCRIBE or UNSUBSCRIBE gives one line per topic, as libmosquitto logs it.
 * Never includes the CONNECT password (nor any other CONNECT field but the client id's owner).
 */
export function describePacket(
  clientId: string,
  sending: boolean,
  buf: Uint8Array,
  off: number,
  len: number,
  options?: DescribeOptions,
): string[] {
  const who = "Client " + clientId + (sending ? " sending " : " received ");
  const d = new DecodedPacket();
  const status = decodePacket(buf, off, off + len, d);
  const type = buf[off] >> 4;
  if (status < 0) return [who + PACKET_NAMES[type] + " (malformed: " + statusText(status) + ", " + len + " bytes)"];
  switch (type) {
    case CONNECT:
    case PINGREQ:
    case PINGRESP:
    case DISCONNECT:
      return [who + PACKET_NAMES[type]];
    case CONNACK:
      return [who + "CONNACK (" + d.returnCode + ")"];
    case PUBLISH: {
      const topic = decodeUtf8(buf, d.topicOff, d.topicLen);
      return [
        who + "PUBLISH (d" + bit(d.dup) + ", q" + d.qos + ", r" + bit(d.retain) + ", m" + d.packetId + ", '" + topic + "', ... (" + d.payloadLen + " bytes))",
      ];
    }
    case PUBACK:
      return [sending ? who + "PUBACK (m" + d.packetId + ", rc0)" : who + "PUBACK (Mid: " + d.packetId + ", RC:0)"];
    case PUBREC:
      return [sending ? who + "PUBREC (m" + d.packetId + ", rc0)" : who + "PUBREC (Mid: " + d.packetId + ")"];
    case PUBREL:
      return [sending ? who + "PUBREL (m" + d.packetId + ")" : who + "PUBREL (Mid: " + d.packetId + ")"];
    case PUBCOMP:
      return [sending ? who + "PUBCOMP (m" + d.packetId + ")" : who + "PUBCOMP (Mid: " + d.packetId + ", RC:0)"];
    case SUBSCRIBE: {
      const p = readPacket(buf, d) as SubscribePacket;
      const lines: string[] = [];
      for (let i = 0; i < p.subscriptions.length; i++) {
        const s = p.subscriptions[i];
        lines.push(who + "SUBSCRIBE (Mid: " + p.packetId + ", Topic: " + s.topic + ", QoS: " + s.qos + ", Options: 0x00)");
      }
      return lines;
    }
    case SUBACK: {
      const lines = [who + "SUBACK"];
      if (options && options.subscribedLine) {
        const p = readPacket(buf, d) as SubackPacket;
        lines.push("Subscribed (mid: " + p.packetId + "): " + p.granted.join(", "));
      }
      return lines;
    }
    case UNSUBSCRIBE: {
      const p = readPacket(buf, d) as UnsubscribePacket;
      const lines: string[] = [];
      for (let i = 0; i < p.topics.length; i++) lines.push(who + "UNSUBSCRIBE (Mid: " + p.packetId + ", Topic: " + p.topics[i] + ")");
      return lines;
    }
    case UNSUBACK:
      return [who + "UNSUBACK"];
  }
  return [who + PACKET_NAMES[type]];
}

/** The client id a CONNECT packet carries (only that field is read). */
function connectClientId(buf: Uint8Array, off: number, len: number): string {
  const d = new DecodedPacket();
  if (decodePacket(buf, off, off + len, d) < 0) return "(unknown)";
  return decodeUtf8(buf, d.clientIdOff, d.clientIdLen);
}

/**
 * Gathers a byte stream into whole packets. Bytes are copied: the caller's chunk is only valid
 * during its call, and the core may reuse the buffer it wrote from.
 */
export class PacketSplitter {
  private buf = new Uint8Array(1024);
  private used = 0;
  /** The stream stopped making sense: what follows is passed on unparsed until `reset`. */
  private broken = false;

  /**
   * Adds bytes and calls `onPacket(buf, off, len)` for each whole packet now complete. When the
   * bytes cannot be a packet, `onBad(status, buf, off, len)` receives them and everything after
   * them, unparsed, until `reset`. The `buf` given to either is valid during the call only.
   */
  push(
    chunk: Uint8Array,
    off: number,
    len: number,
    onPacket: (buf: Uint8Array, off: number, len: number) => void,
    onBad: (status: number, buf: Uint8Array, off: number, len: number) => void,
  ): void {
    if (this.broken) {
      onBad(0, chunk, off, len);
      return;
    }
    if (this.used + len > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.used + len) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.buf.subarray(0, this.used));
      this.buf = bigger;
    }
    this.buf.set(chunk.subarray(off, off + len), this.used);
    this.used += len;
    let start = 0;
    while (start < this.used) {
      const size = packetLength(this.buf, start, this.used);
      if (size === NEED_MORE || start + size > this.used) break;
      if (size < 0) {
        this.broken = true;
        const rest = this.used - start;
        this.used = 0;
        onBad(size, this.buf, start, rest);
        return;
      }
      onPacket(this.buf, start, size);
      start += size;
    }
    if (start > 0) {
      this.buf.copyWithin(0, start, this.used);
      this.used -= start;
    }
  }

  reset(): void {
    this.used = 0;
    this.broken = false;
  }
}

/**
 * A transport that logs each packet through `print` and passes everything on to `inner`.
 * Sent packets are logged before they are written. Received bytes reach the client a whole
 * packet at a time, each just after its line, so the log reads in the order things happen
 * (a PUBLISH, then the PUBACK it causes) however the socket chunked them; the transport contract
 * allows any chunking.
 */
export class PacketLog implements Transport, TransportEvents {
  private readonly inner: Transport;
  private readonly print: (line: string) => void;
  private readonly options: DescribeOptions;
  private events: TransportEvents | null = null;
  private readonly sent = new PacketSplitter();
  private readonly received = new PacketSplitter();
  private clientId = "(unknown)";
  private readonly onSent: (buf: Uint8Array, off: number, len: number) => void;
  private readonly onReceived: (buf: Uint8Array, off: number, len: number) => void;
  private readonly onBadSent: (status: number) => void;
  private readonly onBadReceived: (status: number, buf: Uint8Array, off: number, len: number) => void;

  constructor(inner: Transport, print: (line: string) => void, options?: DescribeOptions) {
    this.inner = inner;
    this.print = print;
    this.options = options ? options : {};
    this.onSent = (buf, off, len) => {
      if (buf[off] >> 4 === CONNECT) this.clientId = connectClientId(buf, off, len);
      this.printAll(describePacket(this.clientId, true, buf, off, len, this.options));
    };
    this.onReceived = (buf, off, len) => {
      this.printAll(describePacket(this.clientId, false, buf, off, len, this.options));
      if (this.events) this.events.onData(buf, off, len);
    };
    this.onBadSent = (status) => {
      if (status < 0) this.print("Client " + this.clientId + " sending bytes that are not a packet: " + statusText(status));
    };
    this.onBadReceived = (status, buf, off, len) => {
      if (status < 0) this.print("Client " + this.clientId + " received bytes that are not a packet: " + statusText(status));
      // The client judges them itself.
      if (this.events) this.events.onData(buf, off, len);
    };
  }

  private printAll(lines: string[]): void {
    for (let i = 0; i < lines.length; i++) this.print(lines[i]);
  }

  open(host: string, port: number, events: TransportEvents): void {
    this.events = events;
    this.sent.reset();
    this.received.reset();
    this.inner.open(host, port, this);
  }

  write(bytes: Uint8Array, off: number, len: number): boolean {
    this.sent.push(bytes, off, len, this.onSent, this.onBadSent);
    return this.inner.write(bytes, off, len);
  }

  close(): void {
    this.inner.close();
  }

  /** @internal */
  onOpen(): void {
    if (this.events) this.events.onOpen();
  }

  /** @internal */
  onData(chunk: Uint8Array, off: number, len: number): void {
    this.received.push(chunk, off, len, this.onReceived, this.onBadReceived);
  }

  /** @internal */
  onDrain(): void {
    if (this.events) this.events.onDrain();
  }

  /** @internal */
  onClose(reason: unknown): void {
    if (this.events) this.events.onClose(reason);
  }
}

/**
 * A scriptable MQTT broker in this process, on 127.0.0.1, for what real brokers rarely do:
 * malformed packets, withheld answers, duplicates, connections closed mid-packet.
 *
 * It is built on our own codec (src/packet): each connection feeds a `Receiver`, which decodes
 * with `decodePacket`; `readPacket` gives the plain-object form handed to the test's handlers, and
 * `encodePacket` writes what they send back. It is not a broker in the routing sense: it keeps no
 * subscriptions and forwards nothing. By default it answers like a well-behaved one (CONNACK 0,
 * SUBACK granting what was asked, PUBACK/PUBREC/PUBCOMP, PINGRESP, UNSUBACK); a test replaces the
 * answer to any packet type with `on(type, handler)` and can send any packet or raw bytes.
 */
import * as net from "node:net";
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
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE,
  Receiver,
  decodePacket,
  encodePacket,
  packetSize,
  readPacket,
  statusText,
  type DecodedPacket,
  type Packet,
  type PacketSink,
} from "../../src/index.ts";
import { HOST } from "./brokers.ts";

/** One packet as the broker received it, with the time it arrived (ms, `Date.now()`). */
export interface Received {
  packet: Packet;
  atMs: number;
}

/** Answers one incoming packet. The default answer is there to fall back on. */
export type PacketHandler = (conn: ScriptedConnection, packet: Packet) => void;

export class ScriptedConnection implements PacketSink {
  /** 0 for the first connection the broker accepted, 1 for the next, ... */
  readonly index: number;
  readonly socket: net.Socket;
  readonly openedAtMs: number;
  /** Every packet received, in order. */
  readonly received: Received[] = [];
  /** Decode failures: a client that sends something malformed is a failed test. */
  readonly errors: string[] = [];
  closed = false;
  closedAtMs = -1;
  /** The CONNECT of this connection, once it has arrived. */
  connect: Packet | null = null;
  private receiver: Receiver;
  private broker: ScriptedBroker;

  constructor(broker: ScriptedBroker, socket: net.Socket, index: number) {
    this.broker = broker;
    this.socket = socket;
    this.index = index;
    this.openedAtMs = Date.now();
    this.receiver = new Receiver(broker.maxPacketBytes, this, decodePacket);
    // A copy of its own, so that packets kept in `received` never share memory with the socket.
    socket.on("data", (chunk: Buffer) => this.receiver.push(new Uint8Array(chunk)));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      this.closed = true;
      this.closedAtMs = Date.now();
    });
  }

  /** Sends one packet; throws when the packet cannot be encoded (a mistake in the test). */
  send(packet: Packet): void {
    const size = packetSize(packet);
    if (size < 0) throw new Error("scripted broker cannot encode packet type " + packet.type + ": " + statusText(size));
    const buf = new Uint8Array(size);
    const end = encodePacket(buf, 0, packet);
    if (end !== size) throw new Error("scripted broker encoding failed: " + statusText(end));
    this.sendRaw(buf);
  }

  /** The bytes `packet` encodes to, for tests that send it in pieces or bend it. */
  static bytes(packet: Packet): Uint8Array {
    const size = packetSize(packet);
    if (size < 0) throw new Error("cannot encode packet type " + packet.type + ": " + statusText(size));
    const buf = new Uint8Array(size);
    encodePacket(buf, 0, packet);
    return buf;
  }

  /** Sends bytes as they are. */
  sendRaw(bytes: Uint8Array | number[]): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(Buffer.from(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes)));
  }

  /** Closes with a FIN, after what was written. */
  end(): void {
    this.socket.end();
  }

  /** Closes at once, dropping whatever was not sent yet. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Packets of `type` received on this connection. */
  packets(type: number): Packet[] {
    const out: Packet[] = [];
    for (const r of this.received) if (r.packet.type === type) out.push(r.packet);
    return out;
  }

  /** The well-behaved answer to `packet`. */
  reply(packet: Packet): void {
    switch (packet.type) {
      case CONNECT:
        this.send({ type: CONNACK, sessionPresent: this.broker.sessionPresent && !packet.clean, returnCode: 0 });
        return;
      case PUBLISH:
        if (packet.qos === 1) this.send({ type: PUBACK, packetId: packet.packetId });
        else if (packet.qos === 2) this.send({ type: PUBREC, packetId: packet.packetId });
        return;
      case PUBREL:
        this.send({ type: PUBCOMP, packetId: packet.packetId });
        return;
      case SUBSCRIBE:
        this.send({ type: SUBACK, packetId: packet.packetId, granted: packet.subscriptions.map((s) => s.qos) });
        return;
      case UNSUBSCRIBE:
        this.send({ type: UNSUBACK, packetId: packet.packetId });
        return;
      case PINGREQ:
        this.send({ type: PINGRESP });
        return;
      case DISCONNECT:
        this.socket.end();
        return;
    }
  }

  /** @internal Receiver sink. */
  onPacket(buf: Uint8Array, decoded: DecodedPacket): void {
    const packet = readPacket(buf, decoded);
    this.received.push({ packet, atMs: Date.now() });
    if (packet.type === CONNECT) this.connect = packet;
    const handler = this.broker.handlers[packet.type];
    if (handler) handler(this, packet);
    else this.reply(packet);
  }

  /** @internal Receiver sink. */
  onPacketError(status: number, type: number, length: number): void {
    this.errors.push(statusText(status) + " (type " + type + ", " + length + " bytes)");
    this.socket.destroy();
  }
}

export class ScriptedBroker {
  port = 0;
  /** Every connection accepted, in order. */
  readonly connections: ScriptedConnection[] = [];
  /** Handlers by packet type, replacing the default answer. */
  readonly handlers: (PacketHandler | undefined)[] = [];
  /** Largest packet accepted from a client. */
  readonly maxPacketBytes: number;
  /** What the default CONNACK says to a client that asked for a persistent session. */
  sessionPresent = false;
  private server: net.Server;
  private onConnection: ((conn: ScriptedConnection) => void) | null = null;

  constructor(maxPacketBytes?: number) {
    this.maxPacketBytes = maxPacketBytes === undefined ? 64 * 1024 : maxPacketBytes;
    this.server = net.createServer((socket) => {
      socket.setNoDelay(true);
      const conn = new ScriptedConnection(this, socket, this.connections.length);
      this.connections.push(conn);
      if (this.onConnection) this.onConnection(conn);
    });
  }

  /** Replaces the answer to packets of `type`; `undefined` restores the default. */
  on(type: number, handler: PacketHandler | undefined): this {
    this.handlers[type] = handler;
    return this;
  }

  /** Runs `handler` for each new connection, before any of its bytes are read. */
  onConnect(handler: (conn: ScriptedConnection) => void): this {
    this.onConnection = handler;
    return this;
  }

  /** The newest connection (throws when there is none). */
  get last(): ScriptedConnection {
    const c = this.connections[this.connections.length - 1];
    if (!c) throw new Error("scripted broker: no connection yet");
    return c;
  }

  /** Decode errors on any connection, joined, for assertions. */
  errors(): string[] {
    const out: string[] = [];
    for (const c of this.connections) for (const e of c.errors) out.push("connection " + c.index + ": " + e);
    return out;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, HOST, () => {
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Starts a scripted broker on 127.0.0.1 and a free port. */
export async function startScriptedBroker(maxPacketBytes?: number): Promise<ScriptedBroker> {
  const broker = new ScriptedBroker(maxPacketBytes);
  await broker.listen();
  return broker;
}

export { CONNACK, CONNECT, DISCONNECT, PINGREQ, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE };

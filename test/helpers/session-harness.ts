/**
 * A Session with no socket: a manual clock, a recorder of every event it reports, and a log of
 * the bytes it sends, decoded back into packets.
 */
import { Session, type SessionConfig, type SessionEvents } from "../../src/session/session.ts";
import type { DecodedPacket, Packet } from "../../src/index.ts";
import { ManualClock } from "./manual-clock.ts";
import { WireLog, enc, encAll } from "./wire.ts";

export interface RecordedMessage {
  topic: string;
  /** A copy: the session's view is valid during the call only. */
  payload: Uint8Array;
  qos: number;
  dup: boolean;
  retain: boolean;
  packetId: number;
}

export type Recorded =
  | { kind: "connected"; sessionPresent: boolean }
  | { kind: "refused"; returnCode: number }
  | { kind: "failed"; status: number }
  | { kind: "message"; message: RecordedMessage }
  | { kind: "done"; token: unknown; status: number; granted: number[] | null }
  | { kind: "dropped"; status: number; type: number; length: number }
  | { kind: "withheld" };

export const DEFAULT_CONFIG: SessionConfig = {
  protocolVersion: 4,
  clientId: "test-client",
  clean: true,
  keepalive: 10,
  connectTimeoutMs: 5000,
  pingTimeoutMs: 3000,
  rxBytes: 256,
  txBytes: 256,
  outboxBytes: 1024,
  maxInflight: 4,
  incomingQos2Slots: 4,
  requestSlots: 4,
};

export class SessionHarness implements SessionEvents {
  readonly clock: ManualClock;
  readonly session: Session;
  readonly wire = new WireLog();
  events: Recorded[] = [];
  /** What `sendBytes` returns. */
  writeResult = true;
  /** Called from inside onMessage, after recording. */
  onMessageHook: ((topic: string, payload: Uint8Array, packet: DecodedPacket) => void) | null = null;
  /** Called from inside sendBytes, after recording. */
  onSendHook: ((bytes: Uint8Array, off: number, len: number) => void) | null = null;
  /** Called from inside onDone, after recording. */
  onDoneHook: ((token: unknown, status: number) => void) | null = null;

  constructor(overrides?: Partial<SessionConfig>, startMs?: number) {
    this.clock = new ManualClock(startMs);
    const config: SessionConfig = Object.assign({}, DEFAULT_CONFIG, overrides || {});
    this.session = new Session(config, this.clock, this);
  }

  // SessionEvents
  sendBytes(bytes: Uint8Array, off: number, len: number): boolean {
    this.wire.record(bytes, off, len);
    if (this.onSendHook) this.onSendHook(bytes, off, len);
    return this.writeResult;
  }
  onConnected(sessionPresent: boolean): void {
    this.events.push({ kind: "connected", sessionPresent: sessionPresent });
  }
  onRefused(returnCode: number): void {
    this.events.push({ kind: "refused", returnCode: returnCode });
  }
  onFailed(status: number): void {
    this.events.push({ kind: "failed", status: status });
  }
  onMessage(topic: string, buf: Uint8Array, packet: DecodedPacket): void {
    const payload = buf.subarray(packet.payloadOff, packet.payloadOff + packet.payloadLen);
    this.events.push({
      kind: "message",
      message: { topic: topic, payload: payload.slice(), qos: packet.qos, dup: packet.dup, retain: packet.retain, packetId: packet.packetId },
    });
    if (this.onMessageHook) this.onMessageHook(topic, payload, packet);
  }
  onDone(token: unknown, status: number, granted: number[] | null): void {
    this.events.push({ kind: "done", token: token, status: status, granted: granted === null ? null : granted.slice() });
    if (this.onDoneHook) this.onDoneHook(token, status);
  }
  onDropped(status: number, type: number, length: number): void {
    this.events.push({ kind: "dropped", status: status, type: type, length: length });
  }
  onWithheld(): void {
    this.events.push({ kind: "withheld" });
  }

  // Driving
  /** Delivers packets (or raw bytes) from the broker, optionally in chunks of `chunkBytes`. */
  deliver(data: Packet | Packet[] | Uint8Array, chunkBytes?: number): void {
    const bytes = data instanceof Uint8Array ? data : Array.isArray(data) ? encAll(data) : enc(data);
    const step = chunkBytes === undefined ? bytes.length || 1 : chunkBytes;
    for (let off = 0; off < bytes.length; off += step) {
      this.session.receive(bytes, off, Math.min(bytes.length, off + step));
    }
  }

  /** The events since the last call, and forgets them. */
  takeEvents(): Recorded[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  /** linkUp, then CONNACK: a connected session with the CONNECT taken off the wire log. */
  connect(sessionPresent = false): void {
    this.session.linkUp();
    this.deliver({ type: 2, sessionPresent: sessionPresent, returnCode: 0 });
  }
}

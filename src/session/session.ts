/**
 * The session: MQTT 3.1.1 client behaviour without I/O.
 *
 * Bytes and time go in (`receive`, `tick`, `linkUp`, `linkDown`); bytes and events come out
 * through one `SessionEvents` object handed over at construction. The clock is only read. Every
 * buffer and table is allocated here, in the constructor, from the configured sizes.
 */
import { DEBUG } from "../build-flags.ts";
import { DecodedPacket } from "../packet/types.ts";
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
  SUBACK_FAILURE,
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE,
  type Bytes,
  type ConnectPacket,
  type WillMessage,
} from "../packet/types.ts";
import {
  connectSize,
  encodeAck,
  encodeConnect,
  encodeEmpty,
  encodePublish,
  encodePublishHeader,
  encodeSubscribe,
  encodeUnsubscribe,
  publishSize,
  subscribeSize,
  unsubscribeSize,
} from "../packet/encode.ts";
import { decodeFromBroker } from "../packet/decode.ts";
import { Receiver, type PacketSink } from "../packet/receiver.ts";
import {
  ERR_CONNECT_TIMEOUT,
  ERR_CONNECTION_LOST,
  ERR_DROPPED,
  ERR_MALFORMED,
  ERR_OUTBOX_FULL,
  ERR_PACKET_TOO_LARGE,
  ERR_PING_TIMEOUT,
  ERR_QOS,
  ERR_REQUESTS_FULL,
  ERR_TX_TOO_LARGE,
  ERR_UNEXPECTED_PACKET,
} from "../status.ts";
import { decodeUtf8Reusing, utf8Length } from "../utf8.ts";
import { AWAIT_PUBACK, AWAIT_PUBCOMP, AWAIT_PUBREC, DONE, Outbox, QUEUED } from "./outbox.ts";

/** A clock in milliseconds that never goes back. It is only read. */
export interface Clock {
  now(): number;
}

/** Everything the session needs to know, already validated and with defaults filled in. */
export interface SessionConfig {
  protocolVersion: number;
  clientId: string;
  clean: boolean;
  /** Seconds; 0 turns keepalive and the ping deadline off. */
  keepalive: number;
  username?: string;
  password?: Bytes;
  will?: WillMessage;
  connectTimeoutMs: number;
  /** How long to wait for PINGRESP before the link is declared dead. */
  pingTimeoutMs: number;
  /** Largest packet accepted from the broker (receive buffer). */
  rxBytes: number;
  /** Largest packet sent (transmit buffer). */
  txBytes: number;
  /** Most bytes of the pool holding unacknowledged and queued PUBLISH packets. */
  outboxBytes: number;
  /**
   * Bytes the pool starts with (default: all of `outboxBytes` at once); it doubles up to
   * `outboxBytes` as needed. A host sets a large limit and a small start.
   */
  outboxStartBytes?: number;
  /** Starting size of the outbox's slot tables (default 32); they grow, bytes are the limit. */
  outboxSlots?: number;
  /**
   * What a publish that does not fit the outbox while offline does: OVERFLOW_REFUSE (default)
   * refuses it; OVERFLOW_DROP_OLDEST drops the oldest held messages until it fits.
   */
  overflow?: number;
  /** Most QoS 1/2 messages sent and not yet acknowledged. */
  maxInflight: number;
  /**
   * Most incoming QoS 2 messages between PUBREC and PUBREL, for a persistent session (65,535:
   * no limit). What does not fit is withheld, not refused (see `onPublish`).
   */
  incomingQos2Slots: number;
  /** Most SUBSCRIBE/UNSUBSCRIBE requests awaiting acknowledgement. */
  requestSlots: number;
}

/** What the session tells its owner. One long-lived object. */
export interface SessionEvents {
  /**
   * Sends bytes. Returns false when the transport wants the sender to wait for `drained()`.
   * `slice` is true for a piece of a payload whose packet started in an earlier call.
   */
  sendBytes(bytes: Uint8Array, off: number, len: number, slice?: boolean): boolean;
  /** CONNACK accepted the connection. */
  onConnected(sessionPresent: boolean): void;
  /** CONNACK refused the connection with `returnCode` (1..255). The link should be closed. */
  onRefused(returnCode: number): void;
  /** The link must be closed: a timeout or a protocol violation (`status`). */
  onFailed(status: number): void;
  /**
   * An application message. Its payload is `packet.payloadLen` bytes of `buf` at
   * `packet.payloadOff`, valid during the call only. No view is made here: a view is an
   * allocation per message, which the application may not want.
   */
  onMessage(topic: string, buf: Uint8Array, packet: DecodedPacket): void;
  /** A publish, subscribe or unsubscribe finished: `status` 0 or negative; `granted` for SUBACK. */
  onDone(token: unknown, status: number, granted: number[] | null): void;
  /** A packet from the broker was dropped without closing the link (too large: `status`). */
  onDropped(status: number, type: number, length: number): void;
  /** Debug builds only (see build-flags.ts): each packet from the broker, before it is handled. */
  onReceived?(packet: DecodedPacket): void;
  /**
   * Incoming QoS 2 messages were withheld (the table was full) and the table has drained: close
   * this connection and connect again at once, so the broker sends them again.
   */
  onWithheld?(): void;
}

/** `SessionConfig.overflow` values. */
export const OVERFLOW_REFUSE = 0;
export const OVERFLOW_DROP_OLDEST = 1;

/** Bytes of a bitset with one bit per packet id (1..65,535). */
const ID_BITSET_BYTES = 8192;

/** Connection states of the session. The transport's own states belong to the client. */
export const LINK_DOWN = 0;
export const AWAIT_CONNACK = 1;
export const CONNECTED = 2;

const FREE = 0;

export class Session implements PacketSink {
  readonly config: SessionConfig;
  state = LINK_DOWN;
  private clock: Clock;
  private events: SessionEvents;
  private receiver: Receiver;
  private tx: Uint8Array;
  /** Acknowledgements are built here, so one can go out while a PUBLISH occupies `tx`. */
  private ackBuf: Uint8Array;
  private connectPacket: ConnectPacket;
  readonly outbox: Outbox;
  /** QoS 1/2 records sent and not yet finished. */
  private inflight = 0;
  private writable = true;
  private lastSendMs = 0;
  /** When the last packet arrived from the broker. */
  private lastReceiveMs = 0;
  private pingSentMs = -1;
  private connectStartMs = 0;
  private nextId = 1;
  /** Packet ids held by a message or request, one bit each: allocation without a search. */
  private idsInUse: Uint8Array;

  /** The topic string of the last message received (see `topicOf`). */
  private lastTopic = "";

  /**
   * Incoming QoS 2 packet ids between PUBREC and PUBREL, one bit each: delivered once, never
   * again. A bitset of every id cannot fill, whatever the broker's in-flight window; the count
   * enforces a smaller `incomingQos2Slots` when one is set.
   */
  private incoming: Uint8Array;
  private incomingCount = 0;
  /** A QoS 2 message was withheld on this connection because the table was full. */
  private withheld = false;

  /**
   * A QoS 0 PUBLISH larger than tx being written: header first, then its payload in slices
   * straight from the caller's bytes (or string). Nothing else is written until it is complete.
   */
  private big: Bytes | null = null;
  private bigOff = 0;
  private bigEnd = 0;
  private bigToken: unknown = null;
  /** Acknowledgements (type << 16 | id) that came due while `big` was being written. */
  private deferred: Uint32Array;
  private deferredCount = 0;
  private deferredPing = false;

  /** SUBSCRIBE/UNSUBSCRIBE requests awaiting their acknowledgement. */
  private reqKind: Uint8Array;
  private reqId: Uint16Array;
  private reqSent: Uint8Array;
  private reqToken: unknown[];
  private reqTopics: (string[] | null)[];
  private reqQos: (number[] | null)[];

  /** The subscriptions the broker granted, to subscribe again when it has lost the session. */
  private subTopics: string[] = [];
  private subQos: number[] = [];
  /** Index of the first subscription still waiting for a free request slot to be restored, or -1. */
  private resubscribeNext = -1;

  constructor(config: SessionConfig, clock: Clock, events: SessionEvents) {
    this.config = config;
    this.clock = clock;
    this.events = events;
    this.connectPacket = {
      type: CONNECT,
      protocolVersion: config.protocolVersion,
      clientId: config.clientId,
      clean: config.clean,
      keepalive: config.keepalive,
      username: config.username,
      password: config.password,
      will: config.will,
    };
    this.receiver = new Receiver(config.rxBytes, this, decodeFromBroker);
    this.tx = new Uint8Array(config.txBytes);
    this.ackBuf = new Uint8Array(4);
    this.outbox = new Outbox(config.outboxBytes, config.outboxSlots ? config.outboxSlots : 32, config.outboxStartBytes);
    this.idsInUse = new Uint8Array(ID_BITSET_BYTES);
    this.incoming = new Uint8Array(ID_BITSET_BYTES);
    this.deferred = new Uint32Array(16);
    const n = config.requestSlots;
    this.reqKind = new Uint8Array(n);
    this.reqId = new Uint16Array(n);
    this.reqSent = new Uint8Array(n);
    this.reqToken = new Array(n);
    this.reqTopics = new Array(n);
    this.reqQos = new Array(n);
    for (let i = 0; i < n; i++) {
      this.reqToken[i] = null;
      this.reqTopics[i] = null;
      this.reqQos[i] = null;
    }
  }

  /**
   * Size of the CONNECT this session sends, or a negative status when its fields are invalid;
   * ERR_TX_TOO_LARGE when it does not fit the transmit buffer.
   */
  connectSize(): number {
    const size = connectSize(this.connectPacket);
    if (size < 0) return size;
    return size > this.tx.length ? ERR_TX_TOO_LARGE : size;
  }

  // -------------------------------------------------------------------------------------------
  // Link events

  /** The transport is open: send CONNECT and wait for CONNACK. */
  linkUp(): void {
    this.receiver.reset();
    this.writable = true;
    this.pingSentMs = -1;
    this.state = AWAIT_CONNACK;
    this.connectStartMs = this.clock.now();
    this.lastReceiveMs = this.connectStartMs;
    const end = encodeConnect(this.tx, 0, this.connectPacket);
    if (end > 0) this.send(this.tx, 0, end);
  }

  /** The transport closed or failed. In-flight messages stay for the next connection. */
  linkDown(): void {
    this.state = LINK_DOWN;
    this.withheld = false;
    this.deferredCount = 0;
    this.deferredPing = false;
    if (this.big !== null) {
      // Cut mid-packet: a QoS 0 message is not sent again.
      const token = this.bigToken;
      this.big = null;
      this.bigToken = null;
      this.events.onDone(token, ERR_CONNECTION_LOST, null);
    }
    this.resubscribeNext = -1;
    this.receiver.reset();
    this.pingSentMs = -1;
    this.writable = true;
    for (let i = 0; i < this.reqKind.length; i++) this.reqSent[i] = 0;
    // Records in flight stay counted: CONNACK decides whether they are resent or start over.
  }

  /** The transport can take more bytes after a write returned false. */
  drained(): void {
    this.writable = true;
    this.continueBig();
    this.pump();
  }

  /** Bytes from the broker, in chunks of any size. */
  receive(chunk: Uint8Array, start?: number, end?: number): void {
    if (this.state === LINK_DOWN) return;
    // One clock read per chunk, not per packet: it marks the link as heard from for keepalive.
    this.lastReceiveMs = this.clock.now();
    this.receiver.push(chunk, start, end);
  }

  /** Sends DISCONNECT (when connected) and marks the link down. The caller closes the transport. */
  disconnect(): void {
    // Not in the middle of a large payload: the broker would read DISCONNECT as payload bytes.
    if (this.state === CONNECTED && this.big === null) {
      const end = encodeEmpty(this.ackBuf, 0, DISCONNECT);
      this.send(this.ackBuf, 0, end);
    }
    this.linkDown();
  }

  /**
   * Runs the deadlines: connect timeout, keepalive ping, ping timeout. Returns the clock time at
   * which it wants to run again, or -1 when no deadline is pending.
   */
  tick(): number {
    const now = this.clock.now();
    if (this.state === AWAIT_CONNACK) {
      const deadline = this.connectStartMs + this.config.connectTimeoutMs;
      if (now >= deadline) {
        this.fail(ERR_CONNECT_TIMEOUT);
        return -1;
      }
      return deadline;
    }
    const keepaliveMs = this.config.keepalive * 1000;
    if (this.state !== CONNECTED || keepaliveMs === 0) return -1;
    if (this.pingSentMs >= 0) {
      const deadline = this.pingSentMs + this.config.pingTimeoutMs;
      if (now >= deadline) {
        this.fail(ERR_PING_TIMEOUT);
        return -1;
      }
      return deadline;
    }
    // [MQTT-3.1.2-23] a packet must go out within each keepalive period; a client that only
    // listens sends PINGREQ. A client that only publishes QoS 0 hears nothing back, so a ping also
    // goes out after a keepalive period without receiving: otherwise a half-open link would stay
    // unnoticed for as long as TCP keeps retransmitting.
    const quietSinceMs = this.lastSendMs < this.lastReceiveMs ? this.lastSendMs : this.lastReceiveMs;
    if (now - quietSinceMs >= keepaliveMs) {
      // Start the PINGRESP deadline before writing: a transport may deliver the answer inside
      // write(), and setting it afterwards would turn that answer into a ping timeout.
      this.pingSentMs = now;
      if (this.big !== null) {
        // It goes out after the large packet; a write that never completes then times out.
        this.deferredPing = true;
      } else {
        const end = encodeEmpty(this.ackBuf, 0, PINGREQ);
        this.send(this.ackBuf, 0, end);
      }
      if (this.state !== CONNECTED) return -1;
      return this.pingSentMs < 0 ? this.lastSendMs + keepaliveMs : now + this.config.pingTimeoutMs;
    }
    return quietSinceMs + keepaliveMs;
  }

  // -------------------------------------------------------------------------------------------
  // Requests from the application

  /**
   * Publishes a message; QoS 1/2 (and QoS 0 while it cannot be sent at once) wait in the outbox.
   * A QoS 0 message larger than tx, sent at once, goes out as header + slices of `payload`, which
   * must then stay unchanged until `token` is reported.
   * Returns 0, or a status: ERR_QOS, ERR_TOPIC, ERR_UTF8, ERR_FIELD_TOO_LONG,
   * ERR_REMAINING_LENGTH (invalid input), ERR_TX_TOO_LARGE (a QoS 0 header larger than tx),
   * ERR_OUTBOX_FULL (see `refusedBytes`). On failure nothing is queued or sent and `token` is not
   * reported through `done`. With OVERFLOW_DROP_OLDEST, offline, older messages may be dropped
   * first: each one's token is reported with ERR_DROPPED.
   */
  publish(topic: string, payload: Bytes, qos: number, retain: boolean, token: unknown): number {
    if (qos !== 0 && qos !== 1 && qos !== 2) return ERR_QOS;
    // Packet id 1 stands in for the real one, which only changes the bytes, not the size.
    const size = publishSize(topic, payload, qos, false, 1);
    if (size < 0) return size;
    this.refusedBytes = 0;
    if (qos === 0 && this.state === CONNECTED && this.writable && this.outbox.liveCount === 0 && this.big === null) {
      if (size > this.tx.length) return this.publishBig(topic, payload, retain, token);
      const end = encodePublish(this.tx, 0, topic, payload, 0, retain, false, 0);
      this.send(this.tx, 0, end);
      this.events.onDone(token, 0, null);
      return 0;
    }
    const box = this.outbox;
    if (size > box.limitBytes) {
      this.refusedBytes = size;
      return ERR_OUTBOX_FULL;
    }
    let slot = box.reserve(size, token);
    while (slot < 0 && this.config.overflow === OVERFLOW_DROP_OLDEST && this.state !== CONNECTED && this.dropOldest()) {
      slot = box.reserve(size, token);
    }
    if (slot < 0) return ERR_OUTBOX_FULL;
    // The packet id is given when the message is sent (see `pump`): only messages in flight
    // hold one, so any number can wait in the outbox.
    encodePublish(box.pool, box.offset[slot], topic, payload, qos, retain, false, 1);
    this.pump();
    return 0;
  }

  /**
   * Size of the last message `publish` refused because it is larger than the whole outbox (0
   * when the last refusal, if any, was for want of room now).
   */
  refusedBytes = 0;

  /**
   * Drops the oldest held message to make room (offline, OVERFLOW_DROP_OLDEST). False when there
   * is none that may go: a persistent session's message awaiting PUBCOMP was taken by the broker
   * and must be released (PUBREL) on the next connection.
   */
  private dropOldest(): boolean {
    const box = this.outbox;
    if (box.count === 0) return false;
    const s = box.head; // never DONE: finish() frees done records at the head
    const st = box.state[s];
    if (st === AWAIT_PUBCOMP && !this.config.clean) return false;
    const token = box.token[s];
    if (st >= AWAIT_PUBACK && st <= AWAIT_PUBCOMP) this.inflight--;
    this.finishRecord(s);
    // A clean session's message awaiting PUBCOMP had reached the broker: it is done, not dropped.
    this.events.onDone(token, st === AWAIT_PUBCOMP ? 0 : ERR_DROPPED, null);
    return true;
  }

  /** Starts writing a QoS 0 PUBLISH larger than tx (see `big`). */
  private publishBig(topic: string, payload: Bytes, retain: boolean, token: unknown): number {
    const payloadLen = typeof payload === "string" ? utf8Length(payload) : payload.length;
    const end = encodePublishHeader(this.tx, 0, topic, payloadLen, 0, retain, false, 0);
    if (end < 0) return ERR_TX_TOO_LARGE;
    this.big = payload;
    this.bigOff = 0;
    this.bigEnd = payload.length;
    this.bigToken = token;
    this.send(this.tx, 0, end);
    this.continueBig();
    return 0;
  }

  /** Writes slices of the large payload while the transport takes them; then what waited. */
  private continueBig(): void {
    while (this.big !== null && this.writable && this.state === CONNECTED) {
      const payload = this.big;
      if (typeof payload === "string") {
        const tx = this.tx;
        let n = 0;
        let i = this.bigOff;
        // Whole characters only: at most 4 bytes each.
        while (i < this.bigEnd && n <= tx.length - 4) {
          let c = payload.charCodeAt(i++);
          if (c >= 0xd800 && c < 0xdc00 && i < this.bigEnd) {
            c = 0x10000 + ((c - 0xd800) << 10) + (payload.charCodeAt(i++) - 0xdc00);
          }
          if (c < 0x80) tx[n++] = c;
          else if (c < 0x800) {
            tx[n++] = 0xc0 | (c >> 6);
            tx[n++] = 0x80 | (c & 63);
          } else if (c < 0x10000) {
            tx[n++] = 0xe0 | (c >> 12);
            tx[n++] = 0x80 | ((c >> 6) & 63);
            tx[n++] = 0x80 | (c & 63);
          } else {
            tx[n++] = 0xf0 | (c >> 18);
            tx[n++] = 0x80 | ((c >> 12) & 63);
            tx[n++] = 0x80 | ((c >> 6) & 63);
            tx[n++] = 0x80 | (c & 63);
          }
        }
        this.bigOff = i;
        this.sendSlice(tx, 0, n);
      } else {
        const left = this.bigEnd - this.bigOff;
        const n = left < this.tx.length ? left : this.tx.length;
        const off = this.bigOff;
        this.bigOff += n;
        this.sendSlice(payload, off, n);
      }
      if (this.big !== null && this.bigOff >= this.bigEnd) {
        const token = this.bigToken;
        this.big = null;
        this.bigToken = null;
        // Control packets that came due meanwhile go first, in the order they came.
        for (let k = 0; k < this.deferredCount && this.state === CONNECTED; k++) {
          const v = this.deferred[k];
          this.sendAck(v >>> 16, v & 0xffff);
        }
        this.deferredCount = 0;
        if (this.deferredPing && this.state === CONNECTED) {
          this.deferredPing = false;
          const e = encodeEmpty(this.ackBuf, 0, PINGREQ);
          this.send(this.ackBuf, 0, e);
        }
        this.sendRequests();
        this.events.onDone(token, 0, null);
        this.pump();
      }
    }
  }

  private sendSlice(bytes: Uint8Array, off: number, len: number): void {
    this.lastSendMs = this.clock.now();
    if (!this.events.sendBytes(bytes, off, len, true)) this.writable = false;
  }

  /**
   * Subscribes to `topics` at the matching `qos` values. Sent now when connected, else on
   * connecting. Returns 0, or ERR_REQUESTS_FULL, ERR_TX_TOO_LARGE, or an encoding status for an
   * invalid filter or QoS.
   */
  subscribe(topics: string[], qos: number[], token: unknown): number {
    return this.request(SUBSCRIBE, topics, qos, token);
  }

  /** Unsubscribes from `topics`. Statuses as for `subscribe`. */
  unsubscribe(topics: string[], token: unknown): number {
    return this.request(UNSUBSCRIBE, topics, null, token);
  }

  /**
   * Forgets every queued and in-flight message and pending request, reporting each token with
   * `status`. Used when the client ends for good.
   */
  abandon(status: number): void {
    const box = this.outbox;
    while (box.count > 0) {
      const slot = box.head;
      const token = box.token[slot];
      const live = box.state[slot] !== DONE;
      box.finish(slot);
      if (live) this.events.onDone(token, status, null);
    }
    this.inflight = 0;
    if (this.big !== null) {
      const token = this.bigToken;
      this.big = null;
      this.bigToken = null;
      this.events.onDone(token, status, null);
    }
    for (let i = 0; i < this.reqKind.length; i++) {
      if (this.reqKind[i] === FREE) continue;
      const token = this.reqToken[i];
      this.freeRequest(i);
      if (token !== null) this.events.onDone(token, status, null);
    }
    this.idsInUse.fill(0);
  }

  /** Messages held in the outbox (queued or awaiting acknowledgement), and a large one being written. */
  pendingMessages(): number {
    return this.outbox.liveCount + (this.big !== null ? 1 : 0);
  }

  /** Requests (subscribe, unsubscribe) awaiting acknowledgement. */
  pendingRequests(): number {
    let n = 0;
    for (let i = 0; i < this.reqKind.length; i++) if (this.reqKind[i] !== FREE) n++;
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Packets from the broker (PacketSink)

  onPacket(buf: Uint8Array, p: DecodedPacket): void {
    if (DEBUG && this.events.onReceived) this.events.onReceived(p);
    const type = p.type;
    if (this.state === AWAIT_CONNACK) {
      // [MQTT-3.2.0-1] the first packet from the server is CONNACK.
      if (type !== CONNACK) this.fail(ERR_UNEXPECTED_PACKET);
      else this.onConnack(p.sessionPresent, p.returnCode);
      return;
    }
    if (this.state !== CONNECTED) return;
    switch (type) {
      case PUBLISH:
        this.onPublish(buf, p);
        return;
      case PUBACK:
        this.onPublishAck(p.packetId, AWAIT_PUBACK);
        return;
      case PUBREC:
        this.onPubrec(p.packetId);
        return;
      case PUBCOMP:
        this.onPublishAck(p.packetId, AWAIT_PUBCOMP);
        return;
      case PUBREL:
        this.onPubrel(p.packetId);
        return;
      case SUBACK:
        this.onSuback(buf, p);
        return;
      case UNSUBACK:
        this.onUnsuback(p.packetId);
        return;
      case PINGRESP:
        this.pingSentMs = -1;
        return;
    }
    // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ and DISCONNECT never come from a server; a second
    // CONNACK is a protocol violation [MQTT-3.2.0-1] too.
    this.fail(ERR_UNEXPECTED_PACKET);
  }

  onPacketError(status: number, type: number, length: number): void {
    if (status === ERR_PACKET_TOO_LARGE) {
      // The receiver drains it and the stream stays in step: report it and carry on.
      this.events.onDropped(status, type, length);
      return;
    }
    // [MQTT-4.8.0-1] a malformed packet closes the network connection.
    this.fail(status);
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  private send(bytes: Uint8Array, off: number, len: number): void {
    this.lastSendMs = this.clock.now();
    if (!this.events.sendBytes(bytes, off, len)) this.writable = false;
  }

  private fail(status: number): void {
    this.linkDown();
    this.events.onFailed(status);
  }

  private onConnack(sessionPresent: boolean, returnCode: number): void {
    if (returnCode !== 0) {
      this.linkDown();
      this.events.onRefused(returnCode);
      return;
    }
    this.state = CONNECTED;
    const box = this.outbox;
    // A broker that kept the session gets the unacknowledged messages again, in order, with DUP
    // set [MQTT-4.4.0-1]; one that did not gets them afresh, and the subscriptions again.
    const resume = sessionPresent && !this.config.clean;
    if (!resume && this.incomingCount > 0) {
      this.incoming.fill(0);
      this.incomingCount = 0;
    }
    let slot = box.head;
    let left = box.count;
    while (left-- > 0 && this.state === CONNECTED) {
      const s = slot;
      slot = slot + 1 === box.slots ? 0 : slot + 1;
      const st = box.state[s];
      const off = box.offset[s];
      if (st === AWAIT_PUBACK || st === AWAIT_PUBREC) {
        if (resume && this.writable) {
          box.pool[off] |= 0x08;
          this.send(box.pool, off, box.length[s]);
        } else {
          // Afresh for a new session. For a resumed one, once the transport has room again:
          // pump() resends it in order with DUP kept. Resending every unacknowledged message at
          // once, past a write that returned false, overruns the small fixed send queues of the
          // boards (Kaluma's paced queue, Espruino's heap).
          if (resume) box.pool[off] |= 0x08;
          else box.pool[off] &= ~0x08;
          box.state[s] = QUEUED;
          this.inflight--;
        }
      } else if (st === AWAIT_PUBCOMP) {
        if (resume) {
          this.sendAck(PUBREL, box.packetId[s]);
        } else {
          // The broker had taken the message (it sent PUBREC): for a new session it is done.
          const token = box.token[s];
          this.inflight--;
          this.finishRecord(s);
          this.events.onDone(token, 0, null);
        }
      }
    }
    if (this.state !== CONNECTED) return;
    if (!resume && this.subTopics.length > 0) this.resubscribe(0);
    this.sendRequests();
    this.events.onConnected(sessionPresent);
    this.pump();
  }

  private onPublish(buf: Uint8Array, p: DecodedPacket): void {
    const qos = p.qos;
    const id = p.packetId;
    if (qos === 2) {
      const bit = 1 << (id & 7);
      if (this.incoming[id >> 3] & bit) {
        // Delivered already; the broker re-sent it (DUP) before seeing our PUBREC.
        this.sendAck(PUBREC, id);
        return;
      }
      if (this.incomingCount >= this.config.incomingQos2Slots && !this.config.clean) {
        // The table is full: withhold PUBREC. Nothing is delivered and nothing is lost: the
        // broker keeps the message until it has our PUBREC, and sends it again on the next
        // connection of this persistent session (onPubrel asks for that connection once the
        // table has drained). Closing the link instead turned a broker whose in-flight window
        // exceeds the table into a reconnect loop that never got through the backlog. A clean
        // session needs no limit: its broker never sends a message again, so the ids only
        // mark what is between PUBREC and PUBREL.
        this.withheld = true;
        return;
      }
      this.incoming[id >> 3] |= bit;
      this.incomingCount++;
    }
    const topic = this.topicOf(buf, p.topicOff, p.topicLen);
    this.events.onMessage(topic, buf, p);
    // The handler may have ended the connection; only a live link gets the acknowledgement.
    if (this.state !== CONNECTED) return;
    if (qos === 1) this.sendAck(PUBACK, id);
    else if (qos === 2) this.sendAck(PUBREC, id);
  }

  /**
   * The topic of an incoming PUBLISH as a string. A message on the same topic as the previous one
   * gets the same string back instead of a new one: decoding builds a string per character, and a
   * subscriber mostly hears a few topics over and over. Only an all-ASCII topic is reused, as
   * only then do equal bytes mean equal characters.
   */
  private topicOf(buf: Uint8Array, off: number, len: number): string {
    const topic = decodeUtf8Reusing(buf, off, len, this.lastTopic);
    this.lastTopic = topic;
    return topic;
  }

  private onPubrel(id: number): void {
    const bit = 1 << (id & 7);
    if (this.incoming[id >> 3] & bit) {
      this.incoming[id >> 3] &= ~bit;
      this.incomingCount--;
    }
    // [MQTT-4.3.3-2] answer PUBREL with PUBCOMP, known id or not (it may be a resend).
    this.sendAck(PUBCOMP, id);
    if (this.withheld && this.incomingCount === 0 && this.state === CONNECTED && this.events.onWithheld) {
      this.withheld = false;
      this.events.onWithheld();
    }
  }

  /** Marks a record done and lets go of its packet id. */
  private finishRecord(s: number): void {
    const id = this.outbox.packetId[s];
    if (id !== 0) this.idsInUse[id >> 3] &= ~(1 << (id & 7));
    this.outbox.finish(s);
  }

  private onPublishAck(id: number, awaiting: number): void {
    const s = this.outbox.find(id, awaiting, this.inflight);
    if (s < 0) return; // a late duplicate acknowledgement: nothing waits for it
    const token = this.outbox.token[s];
    this.inflight--;
    this.finishRecord(s);
    this.events.onDone(token, 0, null);
    this.pump();
  }

  private onPubrec(id: number): void {
    const box = this.outbox;
    let s = box.find(id, AWAIT_PUBREC, this.inflight);
    if (s >= 0) box.state[s] = AWAIT_PUBCOMP;
    else s = box.find(id, AWAIT_PUBCOMP, this.inflight); // a repeated PUBREC gets PUBREL again
    if (s >= 0) this.sendAck(PUBREL, id);
  }

  /** Sends an acknowledgement, or keeps it until a large payload being written is complete. */
  private sendAck(type: number, id: number): void {
    if (this.big !== null) {
      if (this.deferredCount === this.deferred.length) {
        const more = new Uint32Array(this.deferred.length * 2);
        more.set(this.deferred);
        this.deferred = more;
      }
      this.deferred[this.deferredCount++] = (type << 16) | id;
      return;
    }
    const end = encodeAck(this.ackBuf, 0, type, id);
    if (end > 0) this.send(this.ackBuf, 0, end);
  }

  /** Sends queued messages in order while the window and the transport allow. */
  private pump(): void {
    if (this.state !== CONNECTED || this.big !== null) return;
    const box = this.outbox;
    let slot = box.head;
    let left = box.count;
    while (left-- > 0) {
      const s = slot;
      slot = slot + 1 === box.slots ? 0 : slot + 1;
      if (box.state[s] !== QUEUED) continue;
      if (!this.writable || this.state !== CONNECTED) return;
      const qos = (box.pool[box.offset[s]] >> 1) & 3;
      if (qos > 0 && this.inflight >= this.config.maxInflight) return;
      if (qos === 0) {
        this.send(box.pool, box.offset[s], box.length[s]);
        const token = box.token[s];
        box.finish(s);
        this.events.onDone(token, 0, null);
      } else {
        if (box.packetId[s] === 0) {
          // The id is given now, written in place after the topic.
          const id = this.allocateId();
          box.packetId[s] = id;
          const pool = box.pool;
          let p = box.offset[s] + 1;
          while (pool[p] & 0x80) p++;
          p++;
          p += 2 + ((pool[p] << 8) | pool[p + 1]);
          pool[p] = id >> 8;
          pool[p + 1] = id & 0xff;
        }
        // Await the acknowledgement before writing: a transport may deliver PUBACK/PUBREC inside
        // write(), and a record still QUEUED then would take it for a stray duplicate and wait
        // for ever.
        box.state[s] = qos === 1 ? AWAIT_PUBACK : AWAIT_PUBREC;
        this.inflight++;
        this.send(box.pool, box.offset[s], box.length[s]);
      }
    }
  }

  /**
   * A packet id not used by any message or request in flight, marked as used. Only messages in
   * flight and requests hold ids, far fewer than 65,535, so the search ends.
   */
  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      const bit = 1 << (id & 7);
      if ((this.idsInUse[id >> 3] & bit) === 0) {
        this.idsInUse[id >> 3] |= bit;
        return id;
      }
    }
  }

  private requestIndex(id: number): number {
    for (let i = 0; i < this.reqKind.length; i++) {
      if (this.reqKind[i] !== FREE && this.reqId[i] === id) return i;
    }
    return -1;
  }

  private request(kind: number, topics: string[], qos: number[] | null, token: unknown): number {
    const size = this.requestSize(kind, topics, qos);
    if (size < 0) return size;
    let i = 0;
    while (i < this.reqKind.length && this.reqKind[i] !== FREE) i++;
    if (i === this.reqKind.length) return ERR_REQUESTS_FULL;
    this.reqKind[i] = kind;
    this.reqId[i] = this.allocateId();
    this.reqSent[i] = 0;
    this.reqToken[i] = token;
    this.reqTopics[i] = topics;
    this.reqQos[i] = qos;
    this.sendRequests();
    return 0;
  }

  /** Encodes the SUBSCRIBE or UNSUBSCRIBE of a request into tx; the offset after it or a status. */
  private encodeRequest(kind: number, packetId: number, topics: string[], qos: number[] | null): number {
    return kind === SUBSCRIBE
      ? encodeSubscribe(this.tx, 0, packetId, topics, qos as number[])
      : encodeUnsubscribe(this.tx, 0, packetId, topics);
  }

  private requestSize(kind: number, topics: string[], qos: number[] | null): number {
    // Packet id 1 stands in for the real one: the size does not depend on it.
    const size = kind === SUBSCRIBE ? subscribeSize(1, topics, qos as number[]) : unsubscribeSize(1, topics);
    if (size < 0) return size;
    return size > this.tx.length ? ERR_TX_TOO_LARGE : size;
  }

  private sendRequests(): void {
    if (this.big !== null) return; // they follow the large packet
    for (let i = 0; i < this.reqKind.length; i++) {
      if (this.state !== CONNECTED) return;
      if (this.reqKind[i] === FREE || this.reqSent[i]) continue;
      const end = this.encodeRequest(this.reqKind[i], this.reqId[i], this.reqTopics[i] as string[], this.reqQos[i]);
      this.reqSent[i] = 1;
      if (end > 0) this.send(this.tx, 0, end);
    }
  }

  /**
   * Subscribes again to the granted subscriptions from index `start` on, as many filters to a
   * SUBSCRIBE as the transmit buffer holds. When the request table is full, the rest follow as
   * SUBACKs free it (`resubscribeNext`).
   */
  private resubscribe(start: number): void {
    this.resubscribeNext = -1;
    let first = start;
    let topics: string[] = [];
    let qos: number[] = [];
    for (let k = start; k < this.subTopics.length; k++) {
      const topic = this.subTopics[k];
      // A subscribe the application made is pending and goes out again anyway.
      if (this.hasPendingSubscribe(topic)) continue;
      if (topics.length === 0) first = k;
      topics.push(topic);
      qos.push(this.subQos[k]);
      if (topics.length > 1 && this.requestSize(SUBSCRIBE, topics, qos) === ERR_TX_TOO_LARGE) {
        topics.pop();
        qos.pop();
        if (this.request(SUBSCRIBE, topics, qos, null) === ERR_REQUESTS_FULL) {
          this.resubscribeNext = first;
          return;
        }
        topics = [topic];
        qos = [this.subQos[k]];
        first = k;
      }
    }
    if (topics.length > 0 && this.request(SUBSCRIBE, topics, qos, null) === ERR_REQUESTS_FULL) {
      this.resubscribeNext = first;
    }
  }

  private hasPendingSubscribe(topic: string): boolean {
    for (let i = 0; i < this.reqKind.length; i++) {
      if (this.reqKind[i] !== SUBSCRIBE) continue;
      const topics = this.reqTopics[i] as string[];
      for (let k = 0; k < topics.length; k++) if (topics[k] === topic) return true;
    }
    return false;
  }

  private freeRequest(i: number): void {
    const id = this.reqId[i];
    if (this.reqKind[i] !== FREE && id !== 0) this.idsInUse[id >> 3] &= ~(1 << (id & 7));
    this.reqKind[i] = FREE;
    this.reqToken[i] = null;
    this.reqTopics[i] = null;
    this.reqQos[i] = null;
  }

  private onSuback(buf: Uint8Array, p: DecodedPacket): void {
    const i = this.requestIndex(p.packetId);
    if (i < 0 || this.reqKind[i] !== SUBSCRIBE) return;
    const topics = this.reqTopics[i] as string[];
    const qos = this.reqQos[i] as number[];
    // [MQTT-3.8.4-5] one return code per filter, in order.
    if (p.count !== topics.length) {
      this.fail(ERR_MALFORMED);
      return;
    }
    const granted: number[] = [];
    for (let k = 0; k < p.count; k++) {
      const code = buf[p.payloadOff + k];
      granted.push(code);
      if (code !== SUBACK_FAILURE) this.remember(topics[k], qos[k]);
    }
    const token = this.reqToken[i];
    this.freeRequest(i);
    if (this.resubscribeNext >= 0) this.resubscribe(this.resubscribeNext);
    if (token !== null) this.events.onDone(token, 0, granted);
  }

  private onUnsuback(id: number): void {
    const i = this.requestIndex(id);
    if (i < 0 || this.reqKind[i] !== UNSUBSCRIBE) return;
    const topics = this.reqTopics[i] as string[];
    for (let k = 0; k < topics.length; k++) this.forget(topics[k]);
    const token = this.reqToken[i];
    this.freeRequest(i);
    if (this.resubscribeNext >= 0) this.resubscribe(this.resubscribeNext);
    if (token !== null) this.events.onDone(token, 0, null);
  }

  private remember(topic: string, qos: number): void {
    for (let k = 0; k < this.subTopics.length; k++) {
      if (this.subTopics[k] === topic) {
        this.subQos[k] = qos;
        return;
      }
    }
    this.subTopics.push(topic);
    this.subQos.push(qos);
  }

  private forget(topic: string): void {
    for (let k = 0; k < this.subTopics.length; k++) {
      if (this.subTopics[k] === topic) {
        this.subTopics.splice(k, 1);
        this.subQos.splice(k, 1);
        if (this.resubscribeNext > k) this.resubscribeNext--;
        return;
      }
    }
  }
}


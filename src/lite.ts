/**
 * The QoS 0-only client, for boards with little memory (a stock ESP32 build of Espruino).
 *
 * It is a second, smaller client over the same codec and board seams, not the full client with
 * parts switched off: what the full client costs is its shared machinery (outbox, in-flight
 * tables, QoS 2 state, the session layer), so a small build needs a small machine. It sends and
 * receives QoS 0 only, always with a clean session, and keeps nothing while offline:
 * - `publish` writes at once or drops the message and says so (returns false; the callback or an
 *   `error` event gets ERR_NOT_CONNECTED or ERR_BUSY). QoS 0 promises at most once; on a board
 *   with a few KB free, queueing for an absent broker is how it runs out of memory.
 * - subscriptions are kept and made again after every reconnect (a clean session forgets them).
 * - keepalive with a PINGRESP deadline, a connect timeout, reconnect with jittered backoff, the
 *   will, user name and password, packets split or joined anywhere in the stream.
 * A PUBLISH at QoS 1 or 2 from the broker cannot happen with a clean session and QoS 0
 * subscriptions; it is a protocol error here and closes the link.
 */
import { decodeFromBroker } from "./packet/decode.ts";
import { connectSize, encodeConnect, encodeEmpty, encodePublish, encodeSubscribe, encodeUnsubscribe, subscribeSize, unsubscribeSize } from "./packet/encode.ts";
import { Receiver, type PacketSink } from "./packet/receiver.ts";
import {
  CONNACK,
  DISCONNECT,
  MQTT_3_1_1,
  PINGREQ,
  PINGRESP,
  PUBLISH,
  SUBACK,
  SUBACK_FAILURE,
  UNSUBACK,
  type Bytes,
  type ConnectPacket,
  type DecodedPacket,
} from "./packet/types.ts";
import { invalid, lostError, mqttError, refusalError, type MqttError } from "./errors.ts";
import { addListener, emitTo, removeListener, type Listener, type ListenerTable } from "./listeners.ts";
import { generateClientId, positive } from "./options.ts";
import {
  ERR_BUSY,
  ERR_CONNECT_TIMEOUT,
  ERR_ENDED,
  ERR_NOT_CONNECTED,
  ERR_PACKET_TOO_LARGE,
  ERR_PING_TIMEOUT,
  ERR_REQUESTS_FULL,
  ERR_SUBSCRIBE_REFUSED,
  ERR_UNEXPECTED_PACKET,
  statusText,
} from "./status.ts";
import type { Board, TransportEvents } from "./transport.ts";
import { decodeUtf8Reusing } from "./utf8.ts";

/** Options of `createLiteClient` (and of each board's QoS 0 `connect`). */
export interface LiteOptions {
  host?: string;
  port?: number;
  /** Generated when empty. */
  clientId?: string;
  /** Seconds between packets before a PINGREQ (default 60; 0 turns keepalive off). */
  keepalive?: number;
  username?: string;
  password?: Bytes;
  /** Sent by the broker at QoS 0 when this client vanishes. */
  will?: { topic: string; payload: Bytes; retain?: boolean };
  /** 4 for MQTT 3.1.1 (default), 3 for MQTT 3.1. */
  protocolVersion?: number;
  /** Reconnect delays (default 1,000 to 30,000 ms), or false to stay offline after a loss. */
  reconnect?: { minMs?: number; maxMs?: number } | false;
  /** How long to wait for the connection and CONNACK (default 30,000 ms). */
  connectTimeoutMs?: number;
  /** How long to wait for PINGRESP (default: the keepalive period, at most 30,000 ms). */
  pingTimeoutMs?: number;
  /** Largest packet accepted from the broker (default 1,024 bytes; larger ones are dropped). */
  rxBytes?: number;
  /** Largest packet sent (default 1,024 bytes). */
  txBytes?: number;
  /** Most SUBSCRIBE/UNSUBSCRIBE awaiting acknowledgement (default 4). */
  requestSlots?: number;
}

/** `payload` is a view into the receive buffer, valid during the call only: copy it to keep it. */
export type LiteMessageHandler = (topic: string, payload: Uint8Array, packet: DecodedPacket) => void;
export type LiteCallback = (err: MqttError | null) => void;

// States. One field holds the state; this table is the whole machine.
//
//   state        event                      next          action
//   OPENING      transport open             CONNECTING    send CONNECT
//   OPENING,
//   CONNECTING   timeout                    DROPPING      emit error, close transport
//   CONNECTING   CONNACK accepted           CONNECTED     emit connect, subscribe again
//   CONNECTING   CONNACK refused            DROPPING      emit error; retry later only if code 3
//   CONNECTING,
//   CONNECTED    bad packet / ping timeout  DROPPING      emit error, close transport
//   OPENING,
//   CONNECTING,
//   CONNECTED    transport closed           WAITING/IDLE  emit error and close; backoff (reset
//                                                          after a connection of STABLE_MS)
//   DROPPING     transport closed           WAITING/IDLE  emit close; backoff
//   WAITING      backoff timer              OPENING       open transport
//   IDLE         reconnect()                OPENING       (after a refusal, or reconnect: false)
//   any live     end()                      ENDING/ENDED  DISCONNECT if connected, close
//   ENDING       transport closed           ENDED         emit end
export const OPENING = 1;
export const CONNECTING = 2;
export const CONNECTED = 3;
export const DROPPING = 4;
export const WAITING = 5;
export const IDLE = 6;
export const ENDING = 7;
export const ENDED = 8;

/**
 * A connection that lasted this long resets the backoff. One the broker closes sooner (a
 * takeover by a second client with the same id, a broker that drops the client on purpose) keeps
 * the delay growing, so two clients that take the id from each other do not do so at full speed.
 */
const STABLE_MS = 10000;


export class LiteClient implements TransportEvents, PacketSink {
  /** One of OPENING .. ENDED (read it; the client alone changes it). */
  state = OPENING;
  private board: Board;
  private brokerHost: string;
  private brokerPort: number;
  private connectPacket: ConnectPacket;
  private keepaliveMs: number;
  private pingWaitMs: number;
  private openWaitMs: number;
  private minDelayMs: number;
  /** 0 when reconnecting is off. */
  private maxDelayMs: number;
  private delayMs: number;
  private tx: Uint8Array;
  private receiver: Receiver;
  /** The single timer: connect deadline, keepalive check or backoff, by state. */
  private timerHandle: unknown = null;
  private writable = true;
  private lastSendMs = 0;
  private lastReceiveMs = 0;
  private pingSentMs = -1;
  private connectedAtMs = 0;
  /** The topic of the last message received (see decodeUtf8Reusing). */
  private lastTopic = "";
  /** After a refusal other than "server unavailable": wait for reconnect(). */
  private stayIdle = false;
  private listeners: ListenerTable = {};
  private endCallback: (() => void) | null = null;
  /** Filters to subscribe to again after each reconnect. */
  private filters: string[] = [];
  /** Per filter: the packet id of the SUBSCRIBE that made it again, until its SUBACK (else 0). */
  private filterIds: number[] = [];
  /** Requests awaiting SUBACK/UNSUBACK, by slot: packet id (0 = free), filters, callback. */
  private reqIds: number[] = [];
  private reqFilters: string[][] = [];
  private reqCallbacks: (LiteCallback | null)[] = [];
  private reqSubscribe: boolean[] = [];
  private nextId = 0;
  /** For `subscribe` requests sized before they are encoded: one QoS 0 per filter. */
  private zeros: number[] = [];

  /** True while connected to the broker (a field, not a getter: Espruino handles those poorly). */
  connected = false;

  constructor(options: LiteOptions, board: Board) {
    this.board = board;
    this.brokerHost = options.host ? options.host : "127.0.0.1";
    this.brokerPort = options.port ? options.port : 1883;
    const keepalive = options.keepalive !== undefined ? options.keepalive : 60;
    this.keepaliveMs = keepalive * 1000;
    const ping = this.keepaliveMs > 0 && this.keepaliveMs < 30000 ? this.keepaliveMs : 30000;
    this.pingWaitMs = positive(options.pingTimeoutMs, ping, "pingTimeoutMs");
    this.openWaitMs = positive(options.connectTimeoutMs, 30000, "connectTimeoutMs");
    const reconnect = options.reconnect ? options.reconnect : {};
    this.minDelayMs = positive(reconnect.minMs, 1000, "reconnect.minMs");
    this.maxDelayMs = options.reconnect === false ? 0 : positive(reconnect.maxMs, 30000, "reconnect.maxMs");
    this.delayMs = this.minDelayMs;
    let clientId = options.clientId;
    if (!clientId) clientId = generateClientId(board.random ? board.random : Math.random);
    const will = options.will;
    this.connectPacket = {
      type: 1,
      protocolVersion: options.protocolVersion !== undefined ? options.protocolVersion : MQTT_3_1_1,
      clientId: clientId,
      clean: true,
      keepalive: keepalive,
      will: will ? { topic: will.topic, payload: will.payload, qos: 0, retain: !!will.retain } : undefined,
      username: options.username,
      password: options.password,
    };
    this.tx = new Uint8Array(positive(options.txBytes, 1024, "txBytes"));
    const size = connectSize(this.connectPacket);
    if (size < 0) throw invalid("cannot build CONNECT: " + statusText(size));
    if (size > this.tx.length) throw invalid("CONNECT needs " + size + " bytes, txBytes is " + this.tx.length);
    this.receiver = new Receiver(positive(options.rxBytes, 1024, "rxBytes"), this, decodeFromBroker);
    const slots = positive(options.requestSlots, 4, "requestSlots");
    for (let i = 0; i < slots; i++) {
      this.reqIds.push(0);
      this.reqFilters.push([]);
      this.reqCallbacks.push(null);
      this.reqSubscribe.push(false);
    }
    this.openLink();
  }

  // -------------------------------------------------------------------------------------------
  // Events

  /**
   * Listens to `connect`, `message(topic, payload, packet)`, `rawMessage(topic, buf, packet)` (the
   * payload is `packet.payloadLen` bytes of `buf` at `packet.payloadOff`: nothing allocated),
   * `error(err)`, `close` (a connection ended), `drain` (publishing is possible again after
   * ERR_BUSY) or `end`.
   */
  on(event: string, listener: (...args: never[]) => void): this {
    addListener(this.listeners, event, listener as Listener);
    return this;
  }

  /** Removes a listener added with `on`. */
  off(event: string, listener: (...args: never[]) => void): this {
    removeListener(this.listeners, event, listener as Listener);
    return this;
  }

  /** Calls the listeners of `event` (see `emitTo`). */
  private emitEvent(event: string, a?: unknown, b?: unknown, c?: unknown): void {
    emitTo(this.listeners, event, a, b, c);
  }

  // -------------------------------------------------------------------------------------------
  // API

  /**
   * Publishes `payload` (bytes, or a string sent as UTF-8) on `topic` at QoS 0. Returns true when
   * the packet was handed to the transport; false when it was dropped because the client is not
   * connected (ERR_NOT_CONNECTED) or the transport is still sending (ERR_BUSY; `drain` follows).
   * The reason goes to `callback`, or to `error` listeners without one. Throws for an invalid
   * topic, a QoS other than 0, a packet larger than txBytes and after `end()`.
   */
  publish(topic: string, payload: Bytes, options?: { qos?: number; retain?: boolean } | LiteCallback, callback?: LiteCallback): boolean {
    if (typeof options === "function") {
      callback = options;
      options = undefined;
    }
    if (options && options.qos) throw invalid("this build publishes at QoS 0 only");
    this.checkLive("publish");
    const end = encodePublish(this.tx, 0, topic, payload, 0, !!(options && options.retain), false, 0);
    if (end < 0) throw invalid("cannot publish to '" + topic + "': " + statusText(end));
    const status = this.state !== CONNECTED ? ERR_NOT_CONNECTED : this.writable ? 0 : ERR_BUSY;
    if (status === 0) this.send(end);
    if (callback) callback(status === 0 ? null : mqttError(status));
    else if (status < 0) this.emitEvent("error", mqttError(status));
    return status === 0;
  }

  /**
   * Subscribes to one filter or several at QoS 0, now and after every reconnect. `callback(err)`
   * runs on SUBACK; a refusal makes `err` non-null and the filter is forgotten. Throws for an
   * invalid filter, a QoS other than 0 and after `end()`.
   */
  subscribe(filters: string | string[], options?: { qos?: number } | LiteCallback, callback?: LiteCallback): this {
    if (typeof options === "function") {
      callback = options;
      options = undefined;
    }
    if (options && options.qos) throw invalid("this build subscribes at QoS 0 only");
    const list = typeof filters === "string" ? [filters] : filters.slice(0);
    while (this.zeros.length < list.length) this.zeros.push(0);
    this.checkRequest(subscribeSize(1, list, this.zeros), "subscribe");
    for (let i = 0; i < list.length; i++) {
      if (this.filters.indexOf(list[i]) >= 0) continue;
      this.filters.push(list[i]);
      this.filterIds.push(0);
    }
    this.request(true, list, callback ? callback : null);
    return this;
  }

  /** Unsubscribes from one filter or several; `callback(err)` runs on UNSUBACK. */
  unsubscribe(filters: string | string[], callback?: LiteCallback): this {
    const list = typeof filters === "string" ? [filters] : filters.slice(0);
    this.checkRequest(unsubscribeSize(1, list), "unsubscribe");
    for (let i = 0; i < list.length; i++) this.forget(list[i]);
    this.request(false, list, callback ? callback : null);
    return this;
  }

  /**
   * Connects again now: after a refusal, with `reconnect: false`, or to skip a backoff wait.
   * Does nothing while a connection is open or being opened, and after `end()`.
   */
  reconnect(): this {
    if (this.state === WAITING || this.state === IDLE) this.openLink();
    return this;
  }

  /**
   * Closes the client for good: DISCONNECT if connected (so the broker discards the will), then
   * the transport. `callback` runs once it has ended.
   */
  end(callback?: () => void): this {
    if (this.state === ENDED) {
      if (callback) this.board.timers.set(callback, 0);
      return this;
    }
    if (this.state === ENDING) {
      // Both callbacks run once the transport has closed.
      const first = this.endCallback;
      if (callback) this.endCallback = first ? function () { first(); callback(); } : callback;
      return this;
    }
    this.endCallback = callback ? callback : null;
    this.failRequests(mqttError(ERR_ENDED));
    const wasOpen = this.state === OPENING || this.state === CONNECTING || this.state === CONNECTED || this.state === DROPPING;
    if (this.state === CONNECTED) this.send(encodeEmpty(this.tx, 0, DISCONNECT));
    this.setTimer(-1);
    this.connected = false;
    if (wasOpen) {
      this.state = ENDING;
      this.board.transport.close();
    } else {
      this.becomeEnded();
    }
    return this;
  }

  // -------------------------------------------------------------------------------------------
  // Transport events

  onOpen(): void {
    if (this.state !== OPENING) return;
    this.state = CONNECTING;
    this.receiver.reset();
    this.writable = true;
    this.pingSentMs = -1;
    this.send(encodeConnect(this.tx, 0, this.connectPacket));
  }

  onData(chunk: Uint8Array, off: number, len: number): void {
    if (this.state !== CONNECTING && this.state !== CONNECTED) return;
    this.lastReceiveMs = this.board.clock.now();
    this.receiver.push(chunk, off, off + len);
  }

  onDrain(): void {
    if (this.writable) return;
    this.writable = true;
    if (this.state === CONNECTED) this.emitEvent("drain");
  }

  onClose(reason: unknown): void {
    const state = this.state;
    if (state === ENDED || state === WAITING || state === IDLE) return;
    this.connected = false;
    this.receiver.reset();
    if (state === ENDING) {
      this.becomeEnded();
      return;
    }
    this.setTimer(-1);
    if (state === CONNECTED && this.board.clock.now() - this.connectedAtMs >= STABLE_MS) this.delayMs = this.minDelayMs;
    // Requests in flight are sent again after the next CONNACK.
    for (let i = 0; i < this.reqIds.length; i++) if (this.reqIds[i] > 0) this.reqIds[i] = -1;
    if (this.stayIdle || this.maxDelayMs === 0) {
      this.state = IDLE;
    } else {
      // Equal jitter: half the delay fixed, half random, so a fleet that lost the same broker
      // does not come back in step.
      const random = this.board.random ? this.board.random : Math.random;
      this.state = WAITING;
      this.setTimer(this.delayMs / 2 + random() * (this.delayMs / 2));
      this.delayMs = this.delayMs * 2 < this.maxDelayMs ? this.delayMs * 2 : this.maxDelayMs;
    }
    if (state !== DROPPING) this.emitEvent("error", lostError(reason ? reason : "connection closed"));
    this.emitEvent("close");
  }

  // -------------------------------------------------------------------------------------------
  // Packets from the broker

  onPacket(buf: Uint8Array, p: DecodedPacket): void {
    const type = p.type;
    if (this.state === CONNECTING) {
      if (type !== CONNACK) return this.drop(mqttError(ERR_UNEXPECTED_PACKET));
      if (p.returnCode !== 0) {
        // Only "server unavailable" may pass by itself; retrying a bad password would hammer
        // the broker with the same refusal.
        if (p.returnCode !== 3) this.stayIdle = true;
        return this.drop(refusalError(p.returnCode));
      }
      this.state = CONNECTED;
      this.connected = true;
      this.stayIdle = false;
      this.lastReceiveMs = this.board.clock.now();
      this.connectedAtMs = this.lastReceiveMs;
      this.setTimer(this.keepaliveMs > 0 ? this.keepaliveMs : -1);
      this.restore();
      this.emitEvent("connect");
      return;
    }
    if (type === PUBLISH && p.qos === 0) {
      // The same string as last time while the topic repeats: nothing allocated then.
      const topic = decodeUtf8Reusing(buf, p.topicOff, p.topicLen, this.lastTopic);
      this.lastTopic = topic;
      // The payload view is made only for `message` listeners: `rawMessage` reads it in place.
      if (this.listeners["rawMessage"]) this.emitEvent("rawMessage", topic, buf, p);
      if (this.listeners["message"]) this.emitEvent("message", topic, buf.subarray(p.payloadOff, p.payloadOff + p.payloadLen), p);
    } else if (type === PINGRESP) {
      this.pingSentMs = -1;
    } else if (type === SUBACK || type === UNSUBACK) {
      this.acknowledged(buf, p);
    } else {
      this.drop(mqttError(ERR_UNEXPECTED_PACKET));
    }
  }

  onPacketError(status: number, type: number, length: number): void {
    if (status === ERR_PACKET_TOO_LARGE) {
      // Drained by the receiver; the stream stays in step.
      this.emitEvent("error", mqttError(status, "dropped a packet of type " + type + " and " + length + " bytes: larger than rxBytes"));
      return;
    }
    // [MQTT-4.8.0-1] a malformed packet closes the network connection.
    this.drop(mqttError(status));
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  private openLink(): void {
    this.state = OPENING;
    this.setTimer(this.openWaitMs);
    this.board.transport.open(this.brokerHost, this.brokerPort, this);
  }

  /** Reports `err` and closes the transport; onClose continues. */
  private drop(err: MqttError): void {
    this.state = DROPPING;
    this.connected = false;
    this.setTimer(-1);
    this.emitEvent("error", err);
    if (this.state === DROPPING) this.board.transport.close();
  }

  private becomeEnded(): void {
    this.state = ENDED;
    this.emitEvent("end");
    const callback = this.endCallback;
    this.endCallback = null;
    if (callback) callback();
  }

  /** Sends tx[0, end); a negative `end` (an encode failure) sends nothing. */
  private send(end: number): void {
    if (end <= 0) return;
    this.lastSendMs = this.board.clock.now();
    if (!this.board.transport.write(this.tx, 0, end)) this.writable = false;
  }

  /** Clears the timer and, for `ms` ≥ 0, sets it again. */
  private setTimer(ms: number): void {
    if (this.timerHandle !== null) this.board.timers.clear(this.timerHandle);
    this.timerHandle = null;
    if (ms < 0) return;
    const self = this;
    this.timerHandle = this.board.timers.set(function () {
      self.timerHandle = null;
      self.timerFired();
    }, ms);
  }

  private timerFired(): void {
    const state = this.state;
    if (state === WAITING) return this.openLink();
    if (state === OPENING || state === CONNECTING) return this.drop(mqttError(ERR_CONNECT_TIMEOUT));
    if (state !== CONNECTED) return;
    const now = this.board.clock.now();
    const ka = this.keepaliveMs;
    if (this.pingSentMs >= 0) {
      if (now - this.pingSentMs >= this.pingWaitMs) return this.drop(mqttError(ERR_PING_TIMEOUT));
    } else if (now - this.lastSendMs >= ka || now - this.lastReceiveMs >= ka) {
      // After a keepalive period without sending or without receiving: a client that only
      // publishes at QoS 0 would otherwise never notice a half-open link.
      this.send(encodeEmpty(this.tx, 0, PINGREQ));
      this.pingSentMs = now;
    }
    const quiet = this.lastSendMs < this.lastReceiveMs ? this.lastSendMs : this.lastReceiveMs;
    const next = this.pingSentMs >= 0 ? this.pingSentMs + this.pingWaitMs : quiet + ka;
    this.setTimer(next > now ? next - now : 1);
  }

  private checkLive(what: string): void {
    if (this.state === ENDING || this.state === ENDED) throw invalid(what + " after end()");
  }

  private checkRequest(size: number, what: string): void {
    this.checkLive(what);
    if (size < 0) throw invalid("cannot " + what + ": " + statusText(size));
    if (size > this.tx.length) throw invalid("the request needs " + size + " bytes, txBytes is " + this.tx.length);
  }

  /** Takes a request slot and sends the request if connected (else after the next CONNACK). */
  private request(subscribe: boolean, filters: string[], callback: LiteCallback | null): void {
    const i = this.reqIds.indexOf(0);
    if (i < 0) {
      const err = mqttError(ERR_REQUESTS_FULL);
      if (callback) callback(err);
      else this.emitEvent("error", err);
      return;
    }
    this.reqIds[i] = -1;
    this.reqFilters[i] = filters;
    this.reqCallbacks[i] = callback;
    this.reqSubscribe[i] = subscribe;
    if (this.state === CONNECTED) this.sendRequest(i);
  }

  /** A packet id no request or restoring SUBSCRIBE holds. */
  private newPacketId(): number {
    let id = this.nextId;
    do id = id >= 65535 ? 1 : id + 1;
    while (this.reqIds.indexOf(id) >= 0 || this.filterIds.indexOf(id) >= 0);
    this.nextId = id;
    return id;
  }

  /** Drops `filter` from those made again after a reconnect. */
  private forget(filter: string): void {
    const k = this.filters.indexOf(filter);
    if (k < 0) return;
    this.filters.splice(k, 1);
    this.filterIds.splice(k, 1);
  }

  private sendRequest(i: number): void {
    const id = this.newPacketId();
    this.reqIds[i] = id;
    const filters = this.reqFilters[i];
    this.send(this.reqSubscribe[i] ? encodeSubscribe(this.tx, 0, id, filters, this.zeros) : encodeUnsubscribe(this.tx, 0, id, filters));
  }

  /** After CONNACK: the requests that wait, then every filter no request covers, again. */
  private restore(): void {
    const pending: string[] = [];
    for (let i = 0; i < this.reqIds.length; i++) {
      if (this.reqIds[i] === 0) continue;
      if (this.reqSubscribe[i]) pending.push.apply(pending, this.reqFilters[i]);
      this.sendRequest(i);
    }
    for (let k = 0; k < this.filters.length; k++) this.filterIds[k] = 0;
    for (let k = 0; k < this.filters.length; k++) {
      const filter = this.filters[k];
      if (pending.indexOf(filter) >= 0) continue;
      // One filter a SUBSCRIBE, so that its SUBACK names the filter a refusal is about.
      const id = this.newPacketId();
      this.filterIds[k] = id;
      this.send(encodeSubscribe(this.tx, 0, id, [filter], this.zeros));
    }
  }

  private acknowledged(buf: Uint8Array, p: DecodedPacket): void {
    const i = this.reqIds.indexOf(p.packetId);
    const restoring = i < 0 ? this.filterIds.indexOf(p.packetId) : -1;
    let filters: string[] = [];
    if (i >= 0) filters = this.reqFilters[i];
    else if (restoring >= 0) {
      filters = [this.filters[restoring]];
      this.filterIds[restoring] = 0;
    }
    let refused: string | null = null;
    if (p.type === SUBACK) {
      for (let k = 0; k < p.count; k++) {
        if (buf[p.payloadOff + k] !== SUBACK_FAILURE) continue;
        refused = k < filters.length ? filters[k] : "a filter";
        this.forget(refused);
      }
    }
    const err = refused !== null ? mqttError(ERR_SUBSCRIBE_REFUSED, "subscription refused: " + refused) : null;
    if (i < 0) {
      if (err) this.emitEvent("error", err);
      return;
    }
    const callback = this.reqCallbacks[i];
    this.reqIds[i] = 0;
    this.reqFilters[i] = [];
    this.reqCallbacks[i] = null;
    if (callback) callback(err);
    else if (err) this.emitEvent("error", err);
  }

  private failRequests(err: MqttError): void {
    for (let i = 0; i < this.reqIds.length; i++) {
      if (this.reqIds[i] === 0) continue;
      const callback = this.reqCallbacks[i];
      this.reqIds[i] = 0;
      this.reqCallbacks[i] = null;
      if (callback) callback(err);
    }
  }
}

/** Creates a QoS 0-only client on `board` and starts connecting. */
export function createLiteClient(options: LiteOptions, board: Board): LiteClient {
  return new LiteClient(options, board);
}

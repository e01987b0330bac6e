/**
 * The client: the session wired to a transport and timers, with reconnects, and the API that
 * MQTT.js users know (`publish`, `subscribe`, `unsubscribe`, `end`, events).
 */
import type { DecodedPacket } from "./packet/types.ts";
import { MQTT_3_1, MQTT_3_1_1, PACKET_NAMES, PUBACK, PUBLISH, UNSUBACK, type Bytes, type WillMessage } from "./packet/types.ts";
import { DEBUG } from "./build-flags.ts";
import {
  AWAIT_CONNACK,
  CONNECTED as SESSION_CONNECTED,
  OVERFLOW_DROP_OLDEST,
  OVERFLOW_REFUSE,
  Session,
  type SessionConfig,
  type SessionEvents,
} from "./session/session.ts";
import {
  ERR_CONNECT_TIMEOUT,
  ERR_DROPPED,
  ERR_EARLY_CLOSE,
  ERR_ENDED,
  ERR_OUTBOX_FULL,
  ERR_REQUESTS_FULL,
  ERR_SUBSCRIBE_REFUSED,
  ERR_TX_TOO_LARGE,
  statusText,
} from "./status.ts";
import { invalid, lostError, mqttError, refusalError, type MqttError } from "./errors.ts";
import { addListener, emitTo, removeListener, type Listener, type ListenerTable } from "./listeners.ts";
import { generateClientId, positive } from "./options.ts";
import { topicMatches, validateTopicFilter, validateTopicName } from "./topic.ts";
import type { Board, TransportEvents } from "./transport.ts";
import { utf8Length } from "./utf8.ts";

/** Options of `createClient` (and of each board's `connect`). */
export interface ClientOptions {
  host?: string;
  port?: number;
  /** Generated when empty and `clean` is true. */
  clientId?: string;
  /** Clean session (default true). */
  clean?: boolean;
  /** Seconds between packets before a PINGREQ (default 60; 0 turns keepalive off). */
  keepalive?: number;
  username?: string;
  password?: Bytes;
  will?: WillMessage;
  /** 4 for MQTT 3.1.1 (default), 3 for MQTT 3.1. */
  protocolVersion?: number;
  /** Reconnect delays, or false to stay offline after a lost connection. */
  reconnect?: ReconnectOptions | false;
  /** How long to wait for CONNACK (default 30,000 ms). */
  connectTimeoutMs?: number;
  /** How long to wait for PINGRESP (default: the keepalive period, at most 30,000 ms). */
  pingTimeoutMs?: number;
  /** Largest packet accepted from the broker (default 4,096 bytes). */
  rxBytes?: number;
  /** Largest packet sent (default 4,096 bytes). */
  txBytes?: number;
  /**
   * Most bytes of queued and unacknowledged publishes (default 8,192; on Node 16 MB, allocated as
   * needed). The only limit on how many messages wait: `publish` returns false past half of it.
   */
  outboxBytes?: number;
  /** Where the outbox's pool starts when it may grow up to `outboxBytes` (default: all of it). */
  outboxStartBytes?: number;
  /** Starting size of the outbox's tables (default 32). Not a limit: they grow with the bytes. */
  outboxSlots?: number;
  /**
   * A publish that does not fit the outbox while offline: "refuse" (default) reports
   * ERR_OUTBOX_FULL to it; "drop-oldest" drops the oldest held messages until it fits, each with
   * ERR_DROPPED to its callback and a `dropped` event (the running total). Telemetry that values
   * the newest readings wants "drop-oldest".
   */
  overflow?: "refuse" | "drop-oldest";
  /** Most QoS 1/2 publishes awaiting acknowledgement (default 16). */
  maxInflight?: number;
  /**
   * Most incoming QoS 2 messages between PUBREC and PUBREL in a persistent session (default
   * 65,535: no limit; the table is one bit per packet id, 8 KB). When a smaller table is full the
   * client withholds PUBREC for what does not fit (nothing is delivered or lost: the broker keeps
   * it), and once the table has drained reconnects at once to receive the rest. A clean session
   * needs no table limit and ignores it.
   */
  incomingQos2Slots?: number;
  /** Most SUBSCRIBE/UNSUBSCRIBE awaiting acknowledgement (default 8). */
  requestSlots?: number;
}

export interface ReconnectOptions {
  /** First delay (default 1,000 ms). */
  minMs?: number;
  /** Largest delay (default 30,000 ms). */
  maxMs?: number;
  /**
   * A connection that lasts this long resets the delay to minMs (default 10,000 ms). One that the
   * broker closes sooner is an early close: an `error` with code ERR_EARLY_CLOSE, and the delay
   * keeps growing. In MQTT 3.1.1 this is how a takeover looks (a second client with the same id
   * makes the broker close the first [MQTT-3.1.4-2]); the growing delay slows such a fight, and
   * the client never stops trying: a flaky link or a broker in a crash loop looks the same.
   */
  stableMs?: number;
  /** Ignored: the client no longer stops after early closes (see `stableMs`). */
  maxTakeovers?: number;
}

export interface PublishOptions {
  qos?: number;
  retain?: boolean;
}

export interface SubscribeOptions {
  qos?: number;
  /** Receives the messages whose topic this subscription's filter matches. */
  onMessage?: MessageHandler;
}

/** `payload` is a view into the receive buffer, valid during the call only: copy it to keep it. */
export type MessageHandler = (topic: string, payload: Uint8Array, packet: DecodedPacket) => void;
export type ErrorCallback = (err: MqttError | null) => void;
export interface Granted {
  topic: string;
  /** Granted QoS, or 128 when the broker refused this filter. */
  qos: number;
}
export type SubscribeCallback = (err: MqttError | null, granted: Granted[]) => void;
export { mqttError, type MqttError };

// Client states. One field holds the state; the table below is the whole machine.
//
//   state        event                      next          action
//   OPENING      transport open             CONNECTING    session sends CONNECT
//   OPENING      transport closed           WAITING/IDLE  backoff, or stay offline
//   CONNECTING   CONNACK accepted           CONNECTED     emit connect
//   CONNECTING   CONNACK refused            DROPPING      emit error; retry after maxMs
//   CONNECTING   timeout / bad packet       DROPPING      close transport
//   CONNECTED    timeout / bad packet       DROPPING      close transport
//   CONNECTED    QoS 2 withheld, drained    DROPPING      close; reconnect at once
//   CONNECTING,
//   CONNECTED    transport closed           WAITING/IDLE  emit offline, backoff; an early close
//                                                          also emits error ERR_EARLY_CLOSE
//   DROPPING     transport closed           WAITING/IDLE  emit close
//   WAITING      backoff timer              OPENING       emit reconnect
//   IDLE         reconnect()                OPENING
//   any live     end(force)                 STOPPING      DISCONNECT if connected, close
//   CONNECTED    end() with messages held   ENDING        wait for the outbox to empty
//   ENDING       outbox empty               STOPPING      DISCONNECT, close
//   STOPPING     transport closed           ENDED         emit close, end
//   WAITING/IDLE end()                      ENDED         emit end
export const OPENING = 1;
export const CONNECTING = 2;
export const CONNECTED = 3;
export const DROPPING = 4;
export const WAITING = 5;
export const IDLE = 6;
export const ENDING = 7;
export const STOPPING = 8;
export const ENDED = 9;


/** A debug line for a packet about to be written: its type, QoS and packet id, its size. */
function describeSent(bytes: Uint8Array, off: number, len: number): string {
  const type = bytes[off] >> 4;
  let p = off + 1;
  while (bytes[p] & 0x80) p++;
  p++; // past the remaining length: p is the variable header
  let text = PACKET_NAMES[type];
  let hasId = type >= PUBACK && type <= UNSUBACK;
  if (type === PUBLISH) {
    const qos = (bytes[off] >> 1) & 3;
    text += " q" + qos;
    hasId = qos > 0;
    p += 2 + ((bytes[p] << 8) | bytes[p + 1]); // past the topic
  }
  if (hasId) text += " id " + ((bytes[p] << 8) | bytes[p + 1]);
  return text + ", " + len + " bytes";
}

const STATE_NAMES = ["", "opening", "connecting", "connected", "dropping", "waiting", "idle", "ending", "stopping", "ended"];


/** The largest client id MQTT 3.1 accepts. */
const MAX_ID_3_1 = 23;

/** A pending subscribe or unsubscribe, carried through the session as its token. */
interface RequestToken {
  topics: string[];
  callback: SubscribeCallback | ErrorCallback | undefined;
  subscribe: boolean;
}


export class Client implements SessionEvents, TransportEvents {
  /** One of OPENING .. ENDED. */
  state = OPENING;
  /** True between an accepted CONNACK and the loss of that connection. */
  connected = false;
  readonly options: ClientOptions;
  readonly session: Session;
  /** The client id sent in CONNECT (generated when none was given). */
  readonly clientId: string;
  private board: Board;
  private host: string;
  private port: number;
  private reconnectMinMs: number;
  private reconnectMaxMs: number;
  private stableMs: number;
  private reconnectEnabled: boolean;
  /** Failed attempts since the last stable connection: drives the backoff. */
  private attempts = 0;
  /** Accepted connections in a row that the broker closed before they were stable. */
  private earlyCloses = 0;
  /** The next retry waits the longest delay (after a refusal). */
  private retryAtMax = false;
  /** The next retry starts at once (to fetch withheld QoS 2 messages). */
  private retryNow = false;
  /** Publishes refused or past the high-water mark since the last `drain`. */
  private needDrain = false;
  private drainAtBytes: number;
  private highWaterBytes: number;
  /** Messages dropped by the "drop-oldest" overflow policy, in total. */
  dropped = 0;
  private connectedAtMs = -1;
  /** When the transport was asked to open: the connect timeout covers opening too. */
  private openedAtMs = 0;
  /** Whether the next close leaves the client idle (refusal, or reconnect disabled). */
  private stayIdle = false;
  private timer: unknown = undefined;
  private timerAtMs = -1;
  private backoffAtMs = -1;
  private listeners: ListenerTable = {};
  private handlerFilters: string[] = [];
  private handlers: MessageHandler[] = [];
  private endCallbacks: (() => void)[] = [];
  private onTimer: () => void;

  constructor(options: ClientOptions, board: Board) {
    this.options = options;
    this.board = board;
    const random = board.random ? board.random : Math.random;
    this.host = options.host === undefined ? "127.0.0.1" : options.host;
    this.port = options.port === undefined ? 1883 : options.port;
    const version = options.protocolVersion === undefined ? MQTT_3_1_1 : options.protocolVersion;
    if (version !== MQTT_3_1 && version !== MQTT_3_1_1) throw invalid("protocolVersion must be 3 (MQTT 3.1) or 4 (MQTT 3.1.1)");
    const clean = options.clean === undefined ? true : !!options.clean;
    let clientId = options.clientId === undefined ? "" : options.clientId;
    if (clientId === "") {
      // [MQTT-3.1.3-7] an empty id needs a clean session; we generate one so 3.1 works too.
      if (!clean) throw invalid("a client id is required when clean is false");
      clientId = generateClientId(random);
    }
    if (version === MQTT_3_1 && utf8Length(clientId) > MAX_ID_3_1) {
      throw invalid("MQTT 3.1 allows client ids of at most 23 bytes");
    }
    const keepalive = options.keepalive === undefined ? 60 : options.keepalive;
    if (!(keepalive >= 0 && keepalive <= 65535) || keepalive !== Math.floor(keepalive)) {
      throw invalid("keepalive must be a whole number of seconds from 0 to 65535");
    }
    if (options.will) {
      const will = options.will;
      if (will.qos !== 0 && will.qos !== 1 && will.qos !== 2) throw invalid("will qos must be 0, 1 or 2");
      const status = validateTopicName(will.topic);
      if (status < 0) throw invalid("invalid will topic '" + will.topic + "': " + statusText(status));
    }
    const reconnect = options.reconnect;
    this.reconnectEnabled = reconnect !== false;
    const r: ReconnectOptions = reconnect ? reconnect : {};
    this.reconnectMinMs = positive(r.minMs, 1000, "reconnect.minMs");
    this.reconnectMaxMs = positive(r.maxMs, 30000, "reconnect.maxMs");
    if (this.reconnectMaxMs < this.reconnectMinMs) this.reconnectMaxMs = this.reconnectMinMs;
    this.stableMs = positive(r.stableMs, 10000, "reconnect.stableMs");
    const overflow = options.overflow === undefined ? "refuse" : options.overflow;
    if (overflow !== "refuse" && overflow !== "drop-oldest") throw invalid('overflow must be "refuse" or "drop-oldest"');
    const outboxBytes = positive(options.outboxBytes, 8192, "outboxBytes");
    this.highWaterBytes = outboxBytes / 2;
    this.drainAtBytes = outboxBytes / 4;
    const keepaliveMs = keepalive * 1000;
    const config: SessionConfig = {
      protocolVersion: version,
      clientId: clientId,
      clean: clean,
      keepalive: keepalive,
      username: options.username,
      password: options.password,
      will: options.will,
      connectTimeoutMs: positive(options.connectTimeoutMs, 30000, "connectTimeoutMs"),
      pingTimeoutMs: positive(
        options.pingTimeoutMs,
        keepaliveMs > 0 && keepaliveMs < 30000 ? keepaliveMs : 30000,
        "pingTimeoutMs",
      ),
      rxBytes: positive(options.rxBytes, 4096, "rxBytes"),
      txBytes: positive(options.txBytes, 4096, "txBytes"),
      outboxBytes: outboxBytes,
      outboxStartBytes: options.outboxStartBytes === undefined ? undefined : positive(options.outboxStartBytes, 1, "outboxStartBytes"),
      outboxSlots: positive(options.outboxSlots, 32, "outboxSlots"),
      overflow: overflow === "drop-oldest" ? OVERFLOW_DROP_OLDEST : OVERFLOW_REFUSE,
      maxInflight: positive(options.maxInflight, 16, "maxInflight"),
      incomingQos2Slots: positive(options.incomingQos2Slots, 65535, "incomingQos2Slots"),
      requestSlots: positive(options.requestSlots, 8, "requestSlots"),
    };
    this.clientId = clientId;
    this.session = new Session(config, board.clock, this);
    const connectStatus = this.session.connectSize();
    if (connectStatus < 0) throw invalid("cannot build CONNECT: " + statusText(connectStatus));
    const self = this;
    this.onTimer = function () {
      self.timer = undefined;
      self.timerAtMs = -1;
      self.runDeadlines();
    };
    this.open();
    this.afterEvent();
  }

  /** Name of the current state, for logs. */
  stateName(): string {
    return STATE_NAMES[this.state];
  }

  // -------------------------------------------------------------------------------------------
  // Events

  /**
   * Adds a listener: connect, message, rawMessage, close, offline, reconnect, error, end, drop,
   * drain (room in the outbox again after `publish` returned false), dropped (count: messages
   * dropped so far by the "drop-oldest" overflow policy), and debug (one line per state change and per packet sent or received; in debug builds only:
   * Node, not the board bundles).
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

  removeListener(event: string, listener: (...args: never[]) => void): this {
    return this.off(event, listener);
  }

  /** Calls the listeners of `event` (see `emitTo`). */
  private emit(event: string, a?: unknown, b?: unknown, c?: unknown): void {
    emitTo(this.listeners, event, a, b, c);
  }

  private call(fn: Function, a?: unknown, b?: unknown): void {
    try {
      fn(a, b);
    } catch (e) {
      this.emit("error", e);
    }
  }

  // -------------------------------------------------------------------------------------------
  // API

  /**
   * Publishes `payload` (bytes, or a string sent as UTF-8) on `topic`.
   *
   * Returns true, or false when the message was refused or is queued with the outbox past its
   * high-water mark (half of `outboxBytes`): then wait for the `drain` event (a quarter or less
   * held) before publishing more, as with a Node stream. Ignoring false is safe until the outbox
   * is full; then publishes are refused (or, with overflow "drop-oldest" while offline, older
   * messages are dropped).
   *
   * Throws for programmer errors: an invalid topic (empty, wildcard, bad UTF-8), QoS not 0/1/2,
   * a call after `end()`. A refusal (the outbox is full, or the message is larger than
   * `outboxBytes`) is reported to `callback` (or as an `error` event without one). QoS 1/2
   * messages published while offline wait in the outbox; `callback` runs when the broker
   * acknowledged (QoS 1/2) or the message was written (QoS 0), possibly before `publish`
   * returns. A QoS 0 message larger than `txBytes` sent at once is written in slices straight
   * from `payload`: keep its bytes unchanged until `callback` runs.
   */
  publish(topic: string, payload: Bytes, options?: PublishOptions | ErrorCallback, callback?: ErrorCallback): boolean {
    if (typeof options === "function") {
      callback = options;
      options = undefined;
    }
    const qos = options && options.qos !== undefined ? options.qos : 0;
    const retain = options && options.retain ? true : false;
    this.checkLive("publish");
    const session = this.session;
    const status = session.publish(topic, payload, qos, retain, callback === undefined ? null : callback);
    let ok = true;
    if (status < 0) {
      if (status === ERR_OUTBOX_FULL) {
        const limit = session.outbox.limitBytes;
        const text = session.refusedBytes > 0
          ? "a " + session.refusedBytes + "-byte message does not fit the outbox: raise outboxBytes (" + limit + ")"
          : "outbox full: " + session.pendingMessages() + " messages (" + session.outbox.liveBytes + " of " + limit + " bytes) await the broker";
        ok = false;
        this.fail(callback, mqttError(status, text));
      } else if (status === ERR_TX_TOO_LARGE) {
        throw invalid("cannot publish to '" + topic + "': the packet header is larger than the transmit buffer: raise txBytes");
      } else {
        throw invalid("cannot publish to '" + topic + "': " + statusText(status));
      }
    }
    if (!ok || session.outbox.liveBytes > this.highWaterBytes) {
      ok = false;
      this.needDrain = true;
    }
    // Never `drain` from inside publish: the caller has not seen false yet (see afterEvent).
    this.afterEvent(true);
    return ok;
  }

  /**
   * Subscribes to one filter or several. `callback(err, granted)` receives the granted QoS per
   * filter; a filter the broker refused (0x80) has qos 128 and makes `err` non-null.
   * `options.onMessage` receives the messages this filter matches.
   * Throws for an invalid filter or QoS and after `end()`.
   */
  subscribe(
    filters: string | string[],
    options?: SubscribeOptions | SubscribeCallback,
    callback?: SubscribeCallback,
  ): this {
    if (typeof options === "function") {
      callback = options;
      options = undefined;
    }
    const topics = typeof filters === "string" ? [filters] : filters.slice(0);
    const qos = options && options.qos !== undefined ? options.qos : 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw invalid("qos must be 0, 1 or 2");
    if (topics.length === 0) throw invalid("subscribe needs at least one filter");
    for (let i = 0; i < topics.length; i++) {
      const status = validateTopicFilter(topics[i]);
      if (status < 0) throw invalid("invalid topic filter '" + topics[i] + "': " + statusText(status));
    }
    this.checkLive("subscribe");
    const levels: number[] = [];
    for (let i = 0; i < topics.length; i++) levels.push(qos);
    const token: RequestToken = { topics: topics, callback: callback, subscribe: true };
    const status = this.session.subscribe(topics, levels, token);
    if (status < 0) {
      if (status === ERR_REQUESTS_FULL || status === ERR_TX_TOO_LARGE) {
        this.fail(callback, mqttError(status));
        return this;
      }
      throw invalid("cannot subscribe: " + statusText(status));
    }
    const handler = options && options.onMessage;
    if (handler) {
      // New arrays rather than push/splice (here and in removeHandlers): onMessage walks the
      // arrays it started with, so a handler that subscribes or unsubscribes does not make the
      // next handler miss the message or a new one get it early.
      const filters = this.handlerFilters.slice(0);
      const handlers = this.handlers.slice(0);
      for (let i = 0; i < topics.length; i++) {
        filters.push(topics[i]);
        handlers.push(handler);
      }
      this.handlerFilters = filters;
      this.handlers = handlers;
    }
    this.afterEvent();
    return this;
  }

  /** Unsubscribes from one filter or several; their `onMessage` handlers are removed. */
  unsubscribe(filters: string | string[], callback?: ErrorCallback): this {
    const topics = typeof filters === "string" ? [filters] : filters.slice(0);
    if (topics.length === 0) throw invalid("unsubscribe needs at least one filter");
    for (let i = 0; i < topics.length; i++) {
      const status = validateTopicFilter(topics[i]);
      if (status < 0) throw invalid("invalid topic filter '" + topics[i] + "': " + statusText(status));
    }
    this.checkLive("unsubscribe");
    const token: RequestToken = { topics: topics, callback: callback, subscribe: false };
    const status = this.session.unsubscribe(topics, token);
    if (status < 0) {
      this.fail(callback, mqttError(status));
      return this;
    }
    for (let i = 0; i < topics.length; i++) this.removeHandlers(topics[i]);
    this.afterEvent();
    return this;
  }

  /**
   * Closes the client for good. Without `force`, a connected client first waits until every
   * queued and unacknowledged message is acknowledged, then sends DISCONNECT (so the broker
   * discards the will). With `force`, or when not connected, it stops at once and the callbacks
   * of messages still held receive an ERR_ENDED error. `callback` runs once the client has ended.
   */
  end(force?: boolean | (() => void), callback?: () => void): this {
    if (typeof force === "function") {
      callback = force;
      force = false;
    }
    if (callback) {
      if (this.state === ENDED) this.call(callback);
      else this.endCallbacks.push(callback);
    }
    switch (this.state) {
      case ENDED:
      case STOPPING:
        return this;
      case CONNECTED:
        if (!force && (this.session.pendingMessages() > 0 || this.session.pendingRequests() > 0)) {
          this.enter(ENDING);
          return this;
        }
        this.stop();
        return this;
      case ENDING:
        if (force) this.stop();
        return this;
      case OPENING:
      case CONNECTING:
      case DROPPING:
        this.stop();
        return this;
    }
    // WAITING or IDLE: nothing is open.
    this.finishEnd();
    return this;
  }

  /** Connects again at once, from the idle state or while waiting to retry. */
  reconnect(): this {
    if (this.state === IDLE || this.state === WAITING) {
      this.backoffAtMs = -1;
      this.open();
      this.afterEvent();
    }
    return this;
  }

  // -------------------------------------------------------------------------------------------
  // Transport events

  /** @internal */
  onOpen(): void {
    if (this.state !== OPENING) return;
    this.enter(CONNECTING);
    this.session.linkUp();
    this.afterEvent();
  }

  /** @internal */
  onData(chunk: Uint8Array, off: number, len: number): void {
    this.session.receive(chunk, off, off + len);
    this.afterEvent();
  }

  /** @internal */
  onDrain(): void {
    this.session.drained();
    this.afterEvent();
  }

  /** @internal */
  onClose(reason: unknown): void {
    // Whether this connection had been accepted, and since when. Not `connected`: drop() clears
    // that when a failure (ping timeout, bad packet) ends an accepted connection, and such a loss
    // must still emit offline and, after stableMs, reset the backoff.
    const upSinceMs = this.connectedAtMs;
    const wasConnected = upSinceMs >= 0;
    this.connectedAtMs = -1;
    this.connected = false;
    this.session.linkDown();
    const state = this.state;
    if (state === ENDED || state === IDLE || state === WAITING) return;
    const ending = state === STOPPING || state === ENDING;
    // Nothing is open any more. Until the listeners below have run, the client is idle (or
    // stopping), so an end() or reconnect() they call sees the link as closed and takes effect.
    this.enter(ending ? STOPPING : IDLE);
    let early = false;
    if (!ending && wasConnected && this.board.clock.now() - upSinceMs >= this.stableMs) {
      this.attempts = 0;
      this.earlyCloses = 0;
    } else if (!ending && wasConnected && state === CONNECTED) {
      // The broker closed an accepted connection early: reported, and the backoff keeps growing
      // (attempts is not reset). Not a reason to stop: an unattended node must keep trying, and
      // a flaky link or a broker in a crash loop looks just like a takeover.
      this.earlyCloses++;
      early = true;
    }
    if (early) {
      // One error per close, as for any lost connection, with its own code.
      const lost = reason ? lostError(reason).message.replace("mcu-mqtt: ", "") + "; " : "";
      this.emit(
        "error",
        mqttError(
          ERR_EARLY_CLOSE,
          lost + "closed " + this.earlyCloses + (this.earlyCloses === 1 ? " time" : " times") +
            " in a row soon after connecting (another client with this id?)",
        ),
      );
    } else if (reason && state !== DROPPING && state !== STOPPING) {
      this.emit("error", lostError(reason));
    }
    this.emit("close");
    if (wasConnected) this.emit("offline");
    if (ending) {
      this.finishEnd();
      return;
    }
    // A listener ended the client or started a new attempt: that decides.
    if (this.state !== IDLE) return;
    this.retryOrIdle();
  }

  // -------------------------------------------------------------------------------------------
  // Session events

  /** @internal */
  sendBytes(bytes: Uint8Array, off: number, len: number, slice?: boolean): boolean {
    if (DEBUG && this.listeners["debug"]) this.emit("debug", slice ? "sent payload slice, " + len + " bytes" : "sent " + describeSent(bytes, off, len));
    return this.board.transport.write(bytes, off, len);
  }

  /** @internal Debug builds only: each packet from the broker, before it is handled. */
  onReceived(p: DecodedPacket): void {
    if (!DEBUG || !this.listeners["debug"]) return;
    let text = PACKET_NAMES[p.type];
    if (p.type === PUBLISH) text += " q" + p.qos;
    if ((p.type === PUBLISH && p.qos > 0) || (p.type >= PUBACK && p.type <= UNSUBACK)) text += " id " + p.packetId;
    this.emit("debug", "received " + text + ", " + p.length + " bytes");
  }

  /** @internal */
  onConnected(sessionPresent: boolean): void {
    if (this.state !== CONNECTING) return;
    this.enter(CONNECTED);
    this.connected = true;
    this.connectedAtMs = this.board.clock.now();
    this.emit("connect", { sessionPresent: sessionPresent, returnCode: 0 });
  }

  /** @internal */
  onRefused(returnCode: number): void {
    const err = refusalError(returnCode);
    // Retried, but at the longest delay: a bad password or a rejected id may be fixed on the
    // broker's side while an unattended node waits, and retrying sooner would hammer the broker
    // with the same refusal.
    this.retryAtMax = true;
    // The reason first, then the close: a transport that reports onClose inside close() would
    // otherwise put 'close' (and the retry) before the 'error' that explains it.
    this.emit("error", err);
    this.drop();
  }

  /** @internal */
  onFailed(status: number): void {
    // As in onRefused: the error before the close it causes.
    this.emit("error", mqttError(status));
    this.drop();
  }

  /** @internal */
  onWithheld(): void {
    // Not a failure: the broker resends what was withheld on the next connection at once.
    if (DEBUG && this.listeners["debug"]) this.emit("debug", "incoming QoS 2 messages withheld: reconnecting to receive them");
    this.retryNow = true;
    this.drop();
  }

  /** @internal */
  onMessage(topic: string, buf: Uint8Array, packet: DecodedPacket): void {
    // The payload view (96 bytes in V8) is made only for listeners that take one: a
    // `rawMessage` listener reads the payload where it lies, and nothing is allocated.
    if (this.listeners["rawMessage"]) this.emit("rawMessage", topic, buf, packet);
    let payload: Uint8Array | null = null;
    if (this.listeners["message"]) {
      payload = buf.subarray(packet.payloadOff, packet.payloadOff + packet.payloadLen);
      this.emit("message", topic, payload, packet);
    }
    const filters = this.handlerFilters;
    const handlers = this.handlers;
    for (let i = 0; i < handlers.length; i++) {
      if (topicMatches(filters[i], topic)) {
        if (payload === null) payload = buf.subarray(packet.payloadOff, packet.payloadOff + packet.payloadLen);
        try {
          handlers[i](topic, payload, packet);
        } catch (e) {
          this.emit("error", e);
        }
      }
    }
  }

  /** @internal */
  onDone(token: unknown, status: number, granted: number[] | null): void {
    if (status === ERR_DROPPED) {
      this.dropped++;
      this.emit("dropped", this.dropped);
      if (typeof token === "function") this.call(token, mqttError(status));
      return;
    }
    if (token === null || token === undefined) return;
    if (typeof token === "function") {
      this.call(token, status < 0 ? mqttError(status) : null);
      return;
    }
    const req = token as RequestToken;
    if (!req.subscribe) {
      if (req.callback) this.call(req.callback, status < 0 ? mqttError(status) : null);
      return;
    }
    const list: Granted[] = [];
    let refused = "";
    for (let i = 0; i < req.topics.length; i++) {
      const code = granted ? granted[i] : 128;
      list.push({ topic: req.topics[i], qos: code });
      if (granted && code === 128) {
        refused += (refused ? ", '" : "'") + req.topics[i] + "'";
        this.removeHandlers(req.topics[i]);
      }
    }
    let err: MqttError | null = null;
    if (status < 0) err = mqttError(status);
    else if (refused) err = mqttError(ERR_SUBSCRIBE_REFUSED, "subscription refused for " + refused);
    if (req.callback) this.call(req.callback, err, list);
    else if (err) this.emit("error", err);
  }

  /** @internal */
  onDropped(status: number, type: number, length: number): void {
    this.emit("drop", mqttError(status, statusText(status) + " (type " + type + ", " + length + " bytes): dropped"));
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  private checkLive(what: string): void {
    if (this.state === ENDED || this.state === STOPPING || this.state === ENDING) {
      throw invalid(what + " after end()");
    }
  }

  private fail(callback: Function | undefined, err: MqttError): void {
    if (callback) this.call(callback, err, []);
    else this.emit("error", err);
  }

  private removeHandlers(filter: string): void {
    if (this.handlerFilters.indexOf(filter) < 0) return;
    const filters: string[] = [];
    const handlers: MessageHandler[] = [];
    for (let i = 0; i < this.handlerFilters.length; i++) {
      if (this.handlerFilters[i] === filter) continue;
      filters.push(this.handlerFilters[i]);
      handlers.push(this.handlers[i]);
    }
    this.handlerFilters = filters;
    this.handlers = handlers;
  }

  /** Moves to `next`; debug builds log the transition. */
  private enter(next: number): void {
    if (DEBUG && next !== this.state && this.listeners["debug"]) this.emit("debug", "state " + STATE_NAMES[this.state] + " -> " + STATE_NAMES[next]);
    this.state = next;
  }

  private open(): void {
    this.enter(OPENING);
    this.stayIdle = false;
    this.retryAtMax = false;
    this.retryNow = false;
    this.openedAtMs = this.board.clock.now();
    this.board.transport.open(this.host, this.port, this);
  }

  /** Closes the transport after a failure; the close decides what follows. */
  private drop(): void {
    if (this.state === STOPPING || this.state === ENDED) return;
    if (this.state === ENDING) {
      this.enter(STOPPING);
    } else {
      this.enter(DROPPING);
    }
    this.connected = false;
    this.board.transport.close();
  }

  /** Ends now: DISCONNECT when connected, close, and ENDED once the transport has closed. */
  private stop(): void {
    // DROPPING has asked the transport to close already; its onClose ends the client.
    const closing = this.state === DROPPING;
    // The session forgets the link in every state, not only when connected: a session left
    // awaiting CONNACK would still run its connect deadline (an error after end()) or take a
    // late CONNACK and write queued messages while the transport closes.
    this.session.disconnect();
    this.enter(STOPPING);
    this.connected = false;
    this.connectedAtMs = -1; // ended on purpose: not a lost connection, no offline
    if (!closing) this.board.transport.close();
  }

  private finishEnd(): void {
    if (this.state === ENDED) return;
    this.enter(ENDED);
    this.clearTimer();
    this.session.abandon(ERR_ENDED);
    this.emit("end");
    const callbacks = this.endCallbacks;
    this.endCallbacks = [];
    for (let i = 0; i < callbacks.length; i++) this.call(callbacks[i]);
  }

  private retryOrIdle(): void {
    if ((!this.reconnectEnabled || this.stayIdle) && !this.retryNow) {
      this.enter(IDLE);
      this.clearTimer();
      return;
    }
    this.enter(WAITING);
    if (this.retryNow) {
      this.retryNow = false;
      this.backoffAtMs = this.board.clock.now();
      this.afterEvent();
      return;
    }
    let delay = this.reconnectMinMs;
    for (let i = 0; i < this.attempts && delay < this.reconnectMaxMs; i++) delay *= 2;
    if (delay > this.reconnectMaxMs || this.retryAtMax) delay = this.reconnectMaxMs;
    // Equal jitter: half the delay fixed, half random, so a fleet that lost the same broker
    // does not come back in one burst.
    const random = this.board.random ? this.board.random : Math.random;
    delay = delay / 2 + random() * (delay / 2);
    this.attempts++;
    this.backoffAtMs = this.board.clock.now() + delay;
    this.afterEvent();
  }

  /** Runs whatever is due and arms the one timer for the next deadline. */
  private runDeadlines(): void {
    if (this.state === OPENING && this.board.clock.now() >= this.openedAtMs + this.session.config.connectTimeoutMs) {
      // Some runtimes (Kaluma) report a refused or unanswered connection by nothing at all: the
      // client owns this deadline too. The error goes before the close, as in onFailed.
      this.emit("error", mqttError(ERR_CONNECT_TIMEOUT, "no connection to " + this.host + ":" + this.port + " within the connect timeout"));
      this.drop();
    }
    if (this.state === WAITING && this.backoffAtMs >= 0 && this.board.clock.now() >= this.backoffAtMs) {
      this.backoffAtMs = -1;
      this.emit("reconnect");
      if (this.state === WAITING) this.open();
    }
    this.afterEvent();
  }

  private afterEvent(inPublish?: boolean): void {
    // A `drain` due during publish (a refusal with the outbox nearly empty) waits for the timer.
    const drainDue = this.needDrain && this.session.outbox.liveBytes <= this.drainAtBytes && this.state !== ENDED;
    if (drainDue && !inPublish) {
      this.needDrain = false;
      this.emit("drain");
    }
    if (this.state === ENDING && this.session.pendingMessages() === 0 && this.session.pendingRequests() === 0) {
      this.stop();
      return;
    }
    let next = this.session.state === AWAIT_CONNACK || this.session.state === SESSION_CONNECTED ? this.session.tick() : -1;
    if (this.state === OPENING) next = this.openedAtMs + this.session.config.connectTimeoutMs;
    if (this.state === WAITING && this.backoffAtMs >= 0 && (next < 0 || this.backoffAtMs < next)) next = this.backoffAtMs;
    if (drainDue && inPublish) next = this.board.clock.now();
    if (next < 0) return;
    if (this.timer !== undefined && this.timerAtMs <= next) return;
    this.clearTimer();
    const delay = next - this.board.clock.now();
    this.timerAtMs = next;
    this.timer = this.board.timers.set(this.onTimer, delay > 0 ? delay : 0);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      this.board.timers.clear(this.timer);
      this.timer = undefined;
      this.timerAtMs = -1;
    }
  }
}

/** Creates a client on `board` and starts connecting. */
export function createClient(options: ClientOptions, board: Board): Client {
  return new Client(options, board);
}

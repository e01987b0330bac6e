/**
 * The board client: one state machine, a codec of a few lines, QoS 1/2 as a layer a build can
 * leave out (QOS12 false makes the QoS 0 bundles).
 *
 * Every board bundle is this file plus a few lines of adapter (boards/espruino, boards/kaluma).
 * Packets are binary strings, one char per byte:
 * - On Espruino sockets take and give Strings: a packet is built by native concatenation and
 *   written as it is, and a received packet is read with `charCodeAt` at a few places and
 *   `substr`. Going through typed arrays there costs a copy each way and ~10x the time in
 *   JavaScript loops (measured on its interpreter). Kaluma's sockets take binary strings as well.
 * - On a board each function, property and buffer costs memory: no buffers are kept at all; the
 *   outbox is an array of packet strings whose bytes are its only limit.
 * - The payload of a QoS 0 publish larger than SLICE is written in slices, straight from the
 *   caller's string, pausing when the link says wait and going on at `onDrain`; control packets
 *   due meanwhile wait in `q_`.
 * - Errors carry a numeric `code` (src/status.ts); texts stay out of board builds.
 * - One timer ticks once a second while the client lives: connect timeout, keepalive, PINGRESP
 *   deadline, reconnect backoff.
 * Private members end in `_`: the bundler renames them to one or two letters.
 */
import { BYTE_STRINGS, QOS12 } from "./build-flags.ts";
import {
  ERR_BUSY,
  ERR_CONNECT_TIMEOUT,
  ERR_CONNECTION_LOST,
  ERR_DROPPED,
  ERR_EARLY_CLOSE,
  ERR_ENDED,
  ERR_MALFORMED,
  ERR_NOT_CONNECTED,
  ERR_OUTBOX_FULL,
  ERR_PACKET_TOO_LARGE,
  ERR_PING_TIMEOUT,
  ERR_REFUSED,
  ERR_SUBSCRIBE_REFUSED,
  ERR_UNEXPECTED_PACKET,
} from "./status.ts";

export type Payload = string | Uint8Array;

/** What the client hears from its link. One long-lived object: the client itself. */
export interface LinkEvents {
  onOpen(): void;
  /** Bytes as a binary string (one char per byte) or as bytes, split or joined anywhere. */
  onData(data: string | Uint8Array): void;
  /** The link has room again after `write` returned false. */
  onDrain(): void;
  /** Exactly once per `open`, never from inside a call of the client's. */
  onClose(reason?: unknown): void;
}

/**
 * A board: its clock, one-shot timers and a link to the broker, in one flat object (every
 * object and function costs memory on a board).
 */
export interface Board {
  /** Milliseconds; only differences are used. */
  now(): number;
  /** Calls `callback(arg)` once, `ms` from now (Espruino's and Node's setTimeout do as much). */
  set(callback: (arg: any) => void, ms: number, arg: unknown): unknown;
  /** Takes only handles `set` returned. */
  clear(handle: unknown): void;
  /** Starts connecting; the outcome is onOpen or onClose, never a throw. */
  open(host: string, port: number, events: LinkEvents): void;
  /** Takes the binary string; false: hold bulk writes until onDrain. */
  write(data: string): boolean;
  /** onClose follows. */
  close(): void;
  /** A number in [0, 1); called unbound. Math.random when absent. */
  random?(): number;
}

export interface BoardOptions {
  host?: string;
  port?: number;
  /** Generated ("mcu-mqtt-" and 8 hex digits) when empty. */
  clientId?: string;
  /** Clean session (default true). */
  clean?: boolean;
  /** Seconds (default 60; 0 turns keepalive off). */
  keepalive?: number;
  username?: string;
  password?: Payload;
  will?: { topic: string; payload: Payload; qos?: number; retain?: boolean };
  /** 4: MQTT 3.1.1 (default); 3: MQTT 3.1. */
  protocolVersion?: number;
  /** Reconnect delays (default 1,000 to 30,000 ms, jittered), or false to stay offline after a loss. */
  reconnect?: { minMs?: number; maxMs?: number } | false;
  /** Connection and CONNACK deadline (default 30,000 ms). */
  connectTimeoutMs?: number;
  /** PINGRESP deadline (default the keepalive, at most 30,000 ms). */
  pingTimeoutMs?: number;
  /** Largest packet taken from the broker; a larger one is skipped and reported. */
  maxPacketBytes?: number;
  /** Bytes the outbox holds: QoS 1/2 messages until acknowledged, anything queued while offline. */
  outboxBytes?: number;
  /** QoS 2 messages from the broker awaiting PUBREL (persistent sessions only). */
  incomingQos2Slots?: number;
  /** What a publish that does not fit the outbox while offline does (default "refuse"). */
  overflow?: "refuse" | "drop-oldest";
}

/** Sizes a board bundle passes as its own defaults. */
export interface BoardDefaults {
  maxPacketBytes: number;
  outboxBytes: number;
  incomingQos2Slots: number;
}

export interface BoardError extends Error {
  code: number;
  returnCode?: number;
  reason?: unknown;
}
export type Callback = (err: BoardError | null, granted?: { topic: string; qos: number }[]) => void;
/** What a `message` listener gets third: the same object every time. */
export interface MessageInfo {
  qos: number;
  retain: boolean;
  dup: boolean;
}

// States: one field, and this table is the whole machine.
//   state        event                        next         action
//   WAITING      tick past the deadline       OPENING      open the link
//   OPENING      link open                    CONNECTING   send CONNECT
//   OPENING,
//   CONNECTING   tick past the deadline       DROPPING     error, close the link
//   CONNECTING   CONNACK 0                    CONNECTED    emit connect, subscribe again, resend
//   CONNECTING   CONNACK refused              DROPPING     error (returnCode), backoff at its most
//   CONNECTED    tick, idle for keepalive     CONNECTED    PINGREQ, PINGRESP deadline
//   CONNECTED    PINGRESP deadline passed     DROPPING     error, close the link
//   CONNECTING,
//   CONNECTED    malformed/unexpected packet  DROPPING     error, close the link
//   OPENING..
//   DROPPING     link closed                  WAITING      error unless asked for, offline, close;
//                                                          IDLE instead when reconnect is false
//   IDLE         reconnect()                  WAITING      deadline now
//   any but ENDED end()                       ENDING       DISCONNECT when connected, close
//   ENDING       link closed                  ENDED        end callback, timer stopped
export const WAITING = 0;
export const OPENING = 1;
export const CONNECTING = 2;
export const CONNECTED = 3;
export const DROPPING = 4;
export const IDLE = 5;
export const ENDING = 6;
export const ENDED = 7;

// Outbox entry states, kept as state << 16 | packet id.
const QUEUED = 1;
const SENT = 2;
const RELEASED = 3;

/** A connection that lasted this long resets the backoff; one that ended sooner is an early close. */
const STABLE_MS = 10000;
const TICK_MS = 1000;
/** A QoS 0 payload longer than this goes out in slices of this size. */
const SLICE = 512;

/** An error with a numeric code; board builds carry no texts. */
export function boardError(code: number, returnCode?: number): BoardError {
  const e = new Error("mcu-mqtt " + code) as BoardError;
  e.code = code;
  if (returnCode) e.returnCode = returnCode;
  return e;
}

const chr = String.fromCharCode;
/** A packet larger than this is received into a buffer of its own (not on Espruino). */
const BIG = 2048;

/** Whether `s` is ASCII, which needs no UTF-8 work either way. */
function ascii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

/** Bytes `a` to `z` of `x` as a binary string, 256 at a time (Espruino's `apply` takes no more). */
function bin(x: Uint8Array, a: number, z: number): string {
  let s = "";
  for (; a < z; a += 256) s += chr.apply(null, x.subarray(a, Math.min(z, a + 256)) as unknown as number[]);
  return s;
}

/** `x` as it goes on the wire: UTF-8 bytes as chars (strings are bytes already on Espruino). */
function wire(x: Payload): string {
  if (typeof x !== "string") return bin(x, 0, x.length);
  return BYTE_STRINGS || ascii(x) ? x : unescape(encodeURIComponent(x));
}

/** A 16-bit number as two chars. */
function u16(n: number): string {
  return chr(n >> 8, n & 255);
}

/** A string with its 2-byte length. */
function lstr(x: Payload): string {
  const w = wire(x);
  return u16(w.length) + w;
}

/** A packet: first byte `h`, remaining length `n`; the body follows. */
function head(h: number, n: number): string {
  let s = chr(h);
  do {
    s += chr(n > 127 ? (n & 127) | 128 : n);
    n >>>= 7;
  } while (n);
  return s;
}

export class BoardClient implements LinkEvents {
  private st_ = WAITING;
  private bd_: Board;
  private o_: BoardOptions;
  private id_: string;
  /** Listeners by event name. */
  private ls_: { [event: string]: Function[] } = {};
  // Fields left undefined until used cost nothing on Espruino: most start that way.
  /** Received bytes not handled yet; bytes still to skip of a packet too large to take. */
  private rs_!: string;
  /**
   * A packet larger than BIG on its way in, and how much of it is in. It is put together in
   * bytes, not as a string that grows chunk by chunk (each step a copy), and its payload is
   * handed over as a view: a 16 KB message costs 16 KB, not three times that.
   */
  private bg_?: Uint8Array;
  private bn_!: number;
  /** While a large packet is handled: where its payload is. */
  private bp_?: Uint8Array;
  private sk_!: number;
  /** The link said wait: bulk writes hold until onDrain. */
  busy_?: boolean;
  /** Something was refused or passed the high-water mark: emit drain when there is room. */
  wd_?: boolean;
  /** The QoS 0 payload being streamed, and how far. */
  sp_?: Payload | null;
  private si_!: number;
  /** Control packets due while a payload streams; writes held while a chunk is handled. */
  private q_!: string[];
  private ck_?: string;
  private tm_: unknown;
  /** When the timer was armed: a tick that comes much later means this program was not running. */
  private ta_?: number;
  /** Deadline of the state, last write, PINGRESP deadline, connected at. */
  private dl_!: number;
  private lw_!: number;
  private pd_?: number;
  private ct_!: number;
  /** Backoff: the next delay; unset or 0, the least (the first, and after a connection that lasted). */
  private bo_?: number;
  /** Error to report when the link closes (0: a close asked for quietly); CONNACK return code. */
  private why_!: number;
  private rc_!: number;
  private pid_ = 0;
  /** Callbacks by packet id: publishes (QoS 1/2), subscribes and unsubscribes. */
  cb_: { [id: number]: Callback } = {};
  /** Filters to subscribe again, with their QoS; callbacks of subscribes made offline. */
  private subs_: { [filter: string]: number } = {};
  private pc_: Callback[] = [];
  private ec_?: () => void;
  private m_: MessageInfo = { qos: 0, retain: false, dup: false };
  /** The outbox: packets, and their state << 16 | packet id; live bytes. */
  ob_!: string[];
  oi_!: number[];
  ol_!: number;
  /** Largest packet taken; outbox bytes; incoming QoS 2 slots (the options or the board's defaults). */
  private mp_: number;
  om_!: number;
  private is_!: number;
  /** Incoming QoS 2 ids awaiting PUBREL (persistent sessions), and whether one was held back. */
  private it_?: number[];
  private wh_?: boolean;
  /** Messages dropped by the overflow policy. */
  dropped!: number;
  /** Between CONNACK and the loss of the link. */
  connected = false;

  constructor(options: BoardOptions, board: Board, defaults: BoardDefaults) {
    const o = options || {};
    this.o_ = o;
    this.bd_ = board;
    if (o.password !== undefined && o.username === undefined) throw new Error("mcu-mqtt: bad password without username");
    let id = o.clientId;
    if (!id) {
      id = "mcu-mqtt-";
      for (let i = 0; i < 8; i++) id += Math.floor((board.random || Math.random)() * 16).toString(16);
    }
    this.id_ = id;
    // Kept under short names: the caller's options gain no properties (each costs variables).
    this.mp_ = o.maxPacketBytes || defaults.maxPacketBytes;
    if (QOS12) {
      this.ob_ = [];
      this.oi_ = [];
      this.ol_ = this.dropped = 0;
      this.om_ = o.outboxBytes || defaults.outboxBytes;
      if (o.clean === false) {
        this.it_ = [];
        this.is_ = o.incomingQos2Slots || defaults.incomingQos2Slots;
      }
    }
    this.tick_();
  }

  // ---- events ----

  on(event: string, listener: Function): this {
    (this.ls_[event] || (this.ls_[event] = [])).push(listener);
    return this;
  }

  off(event: string, listener: Function): this {
    const l = this.ls_[event];
    const i = l ? l.indexOf(listener) : -1;
    if (i >= 0) l.splice(i, 1);
    return this;
  }

  emit_(event: string, a?: unknown, b?: unknown, c?: unknown): void {
    const l = this.ls_[event];
    if (l) for (let i = 0; i < l.length; i++) l[i](a, b, c);
  }

  // ---- the public API ----

  /**
   * Publishes `payload` on `topic`. Returns false when the message was refused (its callback or
   * an `error` event says why) or when it was taken but the caller should wait for `drain`.
   * Throws for a topic with wildcards, a QoS this build does not have, or a QoS 1/2 message
   * larger than the outbox.
   */
  publish(topic: string, payload: Payload, options?: { qos?: number; retain?: boolean } | Callback, callback?: Callback): boolean {
    if (typeof options === "function") {
      callback = options;
      options = undefined;
    }
    const qos = (options && options.qos) || 0;
    if (typeof topic !== "string" || !topic || topic.indexOf("+") >= 0 || topic.indexOf("#") >= 0) throw new Error("mcu-mqtt: bad topic");
    if (qos !== 0 && (!QOS12 || (qos !== 1 && qos !== 2))) throw new Error("mcu-mqtt: bad qos");
    // Bytes stay bytes until they go out: a long payload is turned into a string a slice at a time.
    const p = payload instanceof Uint8Array ? payload : wire(String(payload));
    const t = lstr(topic);
    const h = 0x30 | (qos << 1) | (options && options.retain ? 1 : 0);
    let code = ERR_ENDED;
    if (this.st_ < ENDING) {
      if (!qos && this.st_ === CONNECTED && !this.busy_ && !this.sp_) {
        // Written now; a long payload follows in slices.
        const first = head(h, t.length + p.length) + t;
        if (p.length <= SLICE) this.w_(first + (typeof p === "string" ? p : bin(p, 0, p.length)));
        else {
          // Not held with what a chunk's handling writes: the link must pace a long payload.
          this.w_();
          this.w_(first);
          this.sp_ = p;
          this.si_ = 0;
          this.pump_();
        }
        if (callback) callback(null);
        if (!this.busy_ && !this.sp_) return true;
        this.wd_ = true;
        return false;
      }
      if (QOS12) {
        const id = qos ? (this.pid_ = (this.pid_ % 65535) + 1) : 0;
        const pk = head(h, t.length + (qos ? 2 : 0) + p.length) + t + (qos ? u16(id) : "") + (typeof p === "string" ? p : bin(p, 0, p.length));
        const max = this.om_;
        if (pk.length > max) throw new Error("mcu-mqtt: bad size: raise outboxBytes");
        while (this.ol_ + pk.length > max && this.o_.overflow === "drop-oldest" && this.st_ !== CONNECTED && this.ob_.length) cut(this, 0, ERR_DROPPED);
        if (this.ol_ + pk.length <= max) {
          this.ob_.push(pk);
          this.oi_.push((QUEUED << 16) | id);
          this.ol_ += pk.length;
          if (qos && callback) this.cb_[id] = callback;
          this.pump_();
          if (!qos && callback) callback(null);
          if (this.ol_ * 2 <= max) return true;
          this.wd_ = true;
          return false;
        }
        code = ERR_OUTBOX_FULL;
      } else code = this.st_ === CONNECTED ? ERR_BUSY : ERR_NOT_CONNECTED;
      this.wd_ = true; // drain follows when there is room again
    }
    // Refused: the callback hears why, or the `error` listeners when there is none.
    const e = boardError(code);
    if (callback) callback(e);
    else this.emit_("error", e);
    return false;
  }

  /** Subscribes now, or at the next connection; kept and made again after every reconnect. */
  subscribe(filters: string | string[], options?: { qos?: number } | Callback, callback?: Callback): this {
    if (typeof options === "function") {
      callback = options;
      options = undefined;
    }
    const fs = typeof filters === "string" ? [filters] : filters;
    const qos = QOS12 ? (options && options.qos) || 0 : 0;
    if (qos < 0 || qos > 2) throw new Error("mcu-mqtt: bad qos");
    for (let i = 0; i < fs.length; i++) {
      if (typeof fs[i] !== "string" || !fs[i]) throw new Error("mcu-mqtt: bad filter");
      this.subs_[fs[i]] = qos;
    }
    if (this.st_ >= ENDING) {
      const e = boardError(ERR_ENDED);
      if (callback) callback(e);
      else this.emit_("error", e);
    } else if (this.st_ === CONNECTED) this.sub_(fs, callback ? [callback] : []);
    else if (callback) this.pc_.push(callback);
    return this;
  }

  unsubscribe(filters: string | string[], callback?: Callback): this {
    const fs = typeof filters === "string" ? [filters] : filters;
    const id = (this.pid_ = (this.pid_ % 65535) + 1);
    let body = u16(id);
    for (let i = 0; i < fs.length; i++) {
      delete this.subs_[fs[i]];
      body += lstr(fs[i]);
    }
    if (this.st_ !== CONNECTED) {
      if (callback) callback(null);
      return this;
    }
    if (callback) this.cb_[id] = callback;
    this.w_(head(0xa2, body.length) + body, true);
    return this;
  }

  /** Connects again now: after `reconnect: false` left it offline, or to skip the backoff wait. */
  reconnect(): this {
    if (this.st_ === WAITING || this.st_ === IDLE) {
      this.st_ = WAITING;
      this.dl_ = 0;
      this.tick_(1);
    }
    return this;
  }

  /**
   * Disconnects cleanly and stops. Callbacks still waiting (messages in the outbox, subscribes)
   * get ERR_ENDED. `callback` runs once the link has closed.
   */
  end(callback?: () => void): this {
    const s = this.st_;
    if (s === ENDED) {
      if (callback) callback();
      return this;
    }
    if (callback) this.ec_ = callback;
    if (s === ENDING) return this;
    this.st_ = ENDING;
    if (s === CONNECTED) this.w_("\xe0\x00", true);
    const cbs = this.cb_;
    const pc = this.pc_;
    this.cb_ = {};
    this.pc_ = [];
    const ks = Object.keys(cbs);
    for (let i = 0; i < ks.length; i++) cbs[+ks[i]](boardError(ERR_ENDED));
    for (let i = 0; i < pc.length; i++) pc[i](boardError(ERR_ENDED));
    this.w_();
    if (s >= OPENING && s < DROPPING) this.bd_.close();
    else if (s !== DROPPING) this.onClose(); // no link: ends now
    return this;
  }

  // ---- link events ----

  onOpen(): void {
    if (this.st_ !== OPENING) return;
    this.st_ = CONNECTING;
    const o = this.o_;
    const v = o.protocolVersion === 3 ? 3 : 4;
    const w = o.will;
    const ka = o.keepalive === undefined ? 60 : o.keepalive;
    let body =
      lstr(v === 3 ? "MQIsdp" : "MQTT") +
      chr(
        v,
        (o.clean === false ? 0 : 2) |
          (w ? 4 | ((w.qos || 0) << 3) | (w.retain ? 32 : 0) : 0) |
          (o.password !== undefined ? 64 : 0) |
          (o.username !== undefined ? 128 : 0),
      ) +
      u16(ka) +
      lstr(this.id_);
    if (w) body += lstr(w.topic) + lstr(w.payload);
    if (o.username !== undefined) body += lstr(o.username);
    if (o.password !== undefined) body += lstr(o.password);
    this.w_(head(0x10, body.length) + body);
  }

  onData(data: string | Uint8Array): void {
    const s = this.st_;
    if (s !== CONNECTING && s !== CONNECTED) return;
    // Writes held by a chunk whose listener threw go out now.
    this.w_();
    this.ck_ = "";
    const big = this.bg_;
    if (!BYTE_STRINGS && big) {
      // The rest of a large packet goes straight into its buffer.
      const n = Math.min(big.length - this.bn_, data.length);
      if (typeof data === "string") for (let k = 0; k < n; k++) big[this.bn_++] = data.charCodeAt(k);
      else {
        big.set(data.subarray(0, n), this.bn_);
        this.bn_ += n;
      }
      if (this.bn_ < big.length) return;
      this.bg_ = undefined;
      // Complete: the header (and a PUBLISH's topic) as a string, the rest stays in the buffer.
      let j = 1;
      while (big[j++] & 128);
      const hl = big[0] >> 4 === 3 ? Math.min(big.length, j + 4 + ((big[j] << 8) | big[j + 1])) : big.length;
      this.bp_ = big;
      this.pk_(chr.apply(null, big.subarray(0, hl) as unknown as number[]), big[0], j, big.length);
      this.bp_ = undefined;
      if (this.st_ !== CONNECTING && this.st_ !== CONNECTED) return;
      data = typeof data === "string" ? data.substr(n) : data.subarray(n);
    }
    // Kaluma's sockets give bytes (one TCP segment, at most 1,460): as a binary string.
    if (!BYTE_STRINGS && typeof data !== "string") data = chr.apply(null, data as unknown as number[]);
    data = data as string;
    if (this.sk_) {
      // The rest of a packet too large to take.
      const k = Math.min(this.sk_, data.length);
      this.sk_ -= k;
      data = data.substr(k);
    }
    let r = (this.rs_ += data);
    let p = 0;
    for (;;) {
      let j = p + 1;
      let rl = 0;
      let m = 1;
      let c = 128;
      while (c & 128 && j < r.length) {
        c = r.charCodeAt(j++);
        rl += (c & 127) * m;
        m *= 128;
        if (m > 268435456) {
          this.drop_(ERR_MALFORMED);
          return;
        }
      }
      if (c & 128) break; // the length is not all here yet
      const end = j + rl;
      if (end - p > this.mp_) {
        this.emit_("error", boardError(ERR_PACKET_TOO_LARGE));
        if (this.st_ !== CONNECTING && this.st_ !== CONNECTED) return;
        if (end <= r.length) {
          // All here (one chunk held it and maybe more): step over it to the packets after it.
          // Skipping to the end of the chunk lost those, and a negative skip cut the next chunk.
          p = end;
          continue;
        }
        this.sk_ = end - r.length;
        r = "";
        p = 0;
        break;
      }
      if (end > r.length) {
        if (!BYTE_STRINGS && end - p > BIG) {
          const bg = (this.bg_ = new Uint8Array(end - p));
          for (let k = p; k < r.length; k++) bg[k - p] = r.charCodeAt(k);
          this.bn_ = r.length - p;
          p = r.length;
        }
        break;
      }
      // Taken before it is handled: a listener that throws does not have it handled twice.
      this.rs_ = r.substr(end);
      this.pk_(r, r.charCodeAt(p), j, end);
      p = end;
      if (this.st_ !== CONNECTING && this.st_ !== CONNECTED) return;
    }
    this.rs_ = p ? r.substr(p) : r;
    this.w_();
  }

  onDrain(): void {
    this.busy_ = false;
    this.pump_();
  }

  onClose(reason?: unknown): void {
    const s = this.st_;
    if (s === ENDING) {
      this.st_ = ENDED;
      this.tick_(1); // stops the timer
      this.connected = false;
      this.emit_("end");
      const cb = this.ec_;
      this.ec_ = undefined;
      if (cb) cb();
      return;
    }
    if (s < OPENING || s > DROPPING) return;
    let code = this.why_;
    const now = this.bd_.now();
    const was = this.connected;
    const r = this.o_.reconnect;
    if (was && now - this.ct_ >= STABLE_MS) this.bo_ = 0;
    else if (was && code === ERR_CONNECTION_LOST) code = ERR_EARLY_CLOSE;
    this.connected = false;
    this.st_ = r === false ? IDLE : WAITING;
    const d = this.bo_ || (r && r.minMs) || 1000;
    this.dl_ = now + d * (0.5 + (this.bd_.random || Math.random)() / 2);
    this.bo_ = Math.min(d * 2, (r && r.maxMs) || 30000);
    this.busy_ = false;
    this.sp_ = null;
    // A SUBSCRIBE or UNSUBSCRIBE without its answer will not get one: its callback hears the
    // loss (the subscription itself is made again at the next connection). Publishes keep theirs.
    const cbs = this.cb_;
    const ks = Object.keys(cbs);
    for (let j = 0; j < ks.length; j++) {
      const k = +ks[j];
      let kept = false;
      for (let i = 0; QOS12 && i < this.oi_.length; i++) if ((this.oi_[i] & 65535) === k) kept = true;
      if (!kept) {
        const f = cbs[k];
        delete cbs[k];
        f(boardError(ERR_CONNECTION_LOST));
      }
    }
    if (code) {
      const e = boardError(code, this.rc_);
      if (reason) e.reason = reason;
      this.emit_("error", e);
    }
    if (was) this.emit_("offline");
    this.emit_("close");
    if (this.st_ === IDLE) this.tick_(1); // stops the timer
  }

  // ---- the machine ----

  /**
   * Runs the machine's timed steps and arms the next tick. `call`: run from a method, not by the
   * timer, which is stopped first (else two would tick from now on); in IDLE and ENDED that is
   * all it does.
   */
  tick_(call?: number): void {
    if (call && this.tm_ !== undefined) this.bd_.clear(this.tm_);
    this.tm_ = undefined;
    const s = this.st_;
    const o = this.o_;
    const now = this.bd_.now();
    // A busy event loop (a gateway, a fleet in one process) runs a tick late, and in Node before
    // the socket data that waits behind it: time this program did not run is not counted against
    // the broker's CONNACK or PINGRESP.
    const late = now - (this.ta_ as number) - 2 * TICK_MS;
    if (late > 0 && s !== WAITING) {
      this.dl_ += late;
      if (this.pd_) this.pd_ += late;
    }
    if (s === WAITING && !(now < this.dl_)) {
      this.st_ = OPENING;
      this.dl_ = now + (o.connectTimeoutMs || 30000);
      this.why_ = ERR_CONNECTION_LOST;
      this.rc_ = this.sk_ = this.pd_ = 0;
      this.rs_ = "";
      if (!BYTE_STRINGS) this.bg_ = undefined;
      this.q_ = [];
      this.bd_.open(o.host || "127.0.0.1", o.port || 1883, this);
    } else if ((s === OPENING || s === CONNECTING) && now >= this.dl_) this.drop_(ERR_CONNECT_TIMEOUT);
    else if (s === CONNECTED && o.keepalive !== 0) {
      const ka = (o.keepalive || 60) * 1000;
      if (this.pd_) {
        if (now >= this.pd_) this.drop_(ERR_PING_TIMEOUT);
      } else if (now - this.lw_ >= ka - TICK_MS) {
        this.w_("\xc0\x00", true);
        this.pd_ = now + (o.pingTimeoutMs || Math.min(ka, 30000));
      }
    }
    if (this.st_ !== ENDED && this.st_ !== IDLE && this.tm_ === undefined) {
      this.ta_ = now;
      this.tm_ = this.bd_.set(tick, TICK_MS, this);
    }
  }

  /** Closes the link for `code` (0: quietly); onClose moves on. */
  private drop_(code: number): void {
    this.w_();
    this.why_ = code;
    this.st_ = DROPPING;
    this.bd_.close();
  }

  /** One packet: first byte `h`, body from `b` to `e` of `r`. */
  private pk_(r: string, h: number, b: number, e: number): void {
    const t = h >> 4;
    const id = (r.charCodeAt(b) << 8) | r.charCodeAt(b + 1);
    if (t === 2 && this.st_ === CONNECTING && e - b === 2) {
      const rc = r.charCodeAt(b + 1);
      if (rc) {
        this.rc_ = rc;
        const re = this.o_.reconnect;
        this.bo_ = (re && re.maxMs) || 30000;
        return this.drop_(ERR_REFUSED);
      }
      // Accepted. What the last connection left is resent and the subscriptions made again
      // before the connect listeners run: what they publish or subscribe is new, sent once.
      const sp = r.charCodeAt(b) & 1;
      this.st_ = CONNECTED;
      this.connected = true;
      this.ct_ = this.bd_.now();
      const fs = Object.keys(this.subs_);
      if (fs.length && (!sp || this.pc_.length)) {
        this.sub_(fs, this.pc_);
        this.pc_ = [];
      }
      if (QOS12) {
        // PUBLISH with DUP, PUBREL again.
        const oi = this.oi_;
        const ob = this.ob_;
        for (let i = 0; i < oi.length; i++) {
          if (oi[i] >> 16 === SENT) {
            oi[i] = (QUEUED << 16) | (oi[i] & 65535);
            ob[i] = chr(ob[i].charCodeAt(0) | 8) + ob[i].substr(1);
          } else if (oi[i] >> 16 === RELEASED) this.w_("\x62\x02" + u16(oi[i] & 65535), true);
        }
      }
      this.pump_();
      this.emit_("connect", { sessionPresent: sp === 1 });
      return;
    }
    if (this.st_ !== CONNECTED) return this.drop_(ERR_UNEXPECTED_PACKET);
    if (t === 3) {
      const qos = (h >> 1) & 3;
      let p = b + 2 + id;
      const pid = (r.charCodeAt(p) << 8) | r.charCodeAt(p + 1);
      if (qos) p += 2;
      if (qos === 3 || p > e || (!QOS12 && qos)) return this.drop_(ERR_MALFORMED);
      if (QOS12 && qos === 2 && this.it_) {
        const it = this.it_;
        // Delivered already: acknowledge again.
        if (it.indexOf(pid) >= 0) return this.w_("\x50\x02" + u16(pid), true);
        if (it.length >= this.is_) {
          // No slot: hold the message back unacknowledged (the broker keeps it) until PUBRELs
          // have freed the table, then come back for it on a new connection.
          this.wh_ = true;
          return;
        }
        it.push(pid);
      }
      let topic = r.substr(b + 2, id);
      if (!BYTE_STRINGS && !ascii(topic)) {
        try {
          topic = decodeURIComponent(escape(topic));
        } catch (x) {
          return this.drop_(ERR_MALFORMED); // [MQTT-1.5.3-1] not UTF-8
        }
      }
      const mi = this.m_;
      mi.qos = qos;
      mi.retain = (h & 1) === 1;
      mi.dup = (h & 8) === 8;
      // Espruino's own modules hand payloads over as Strings; elsewhere they are bytes.
      let pl: Payload;
      if (BYTE_STRINGS) pl = r.substr(p, e - p);
      else {
        const bp = this.bp_;
        if (bp) pl = bp.subarray(p, e);
        else {
          pl = new Uint8Array(e - p);
          for (let i = 0; i < pl.length; i++) pl[i] = r.charCodeAt(p + i);
        }
      }
      this.emit_("message", topic, pl, mi);
      // Not when the handler ended the client: nothing may follow its DISCONNECT [MQTT-3.14.4-2].
      if (qos && this.st_ === CONNECTED) this.w_(chr(qos === 1 ? 0x40 : 0x50, 2) + u16(pid), true);
    } else if (QOS12 && t === 4) ack(this, id, SENT, 0);
    else if (QOS12 && t === 5) {
      ack(this, id, SENT, RELEASED);
      this.w_("\x62\x02" + u16(id), true);
    } else if (QOS12 && t === 6) {
      const it = this.it_;
      const i = it ? it.indexOf(id) : -1;
      if (i >= 0) (it as number[]).splice(i, 1);
      this.w_("\x70\x02" + u16(id), true);
      // The held-back messages come again only on a new connection: go back for them.
      if (this.wh_ && it && !it.length) {
        this.wh_ = false;
        this.bo_ = 0;
        this.drop_(0);
      }
    } else if (QOS12 && t === 7) ack(this, id, RELEASED, 0);
    else if (t === 9 || t === 11) {
      const f = this.cb_[id];
      delete this.cb_[id];
      if (f) f(null, (t === 9 ? r.substr(b + 2, e - b - 2) : undefined) as unknown as undefined);
    } else if (t === 13) this.pd_ = 0;
    else this.drop_(ERR_UNEXPECTED_PACKET);
  }

  /** Sends SUBSCRIBE for `fs` (QoS from subs_); the callbacks get what was granted. */
  private sub_(fs: string[], cbs: Callback[]): void {
    const id = (this.pid_ = (this.pid_ % 65535) + 1);
    let body = u16(id);
    for (let i = 0; i < fs.length; i++) body += lstr(fs[i]) + chr(this.subs_[fs[i]]);
    const self = this;
    this.cb_[id] = function (err, codes) {
      const c = codes as unknown as string | undefined;
      const granted = [];
      for (let i = 0; c && i < fs.length; i++) {
        const q = c.charCodeAt(i);
        granted.push({ topic: fs[i], qos: q });
        if (q & 0x80) {
          delete self.subs_[fs[i]];
          err = boardError(ERR_SUBSCRIBE_REFUSED);
        }
      }
      for (let i = 0; i < cbs.length; i++) cbs[i](err, granted);
      if (err && !cbs.length && err.code !== ERR_ENDED) self.emit_("error", err);
    };
    this.w_(head(0x82, body.length) + body, true);
  }

  // ---- writing ----

  /**
   * Writes `s`; a control packet (`ctl`) waits while a payload streams. While a chunk is handled
   * writes are held (ck_, up to SLICE bytes) and go out as one at the end, when `s` is
   * undefined: an
   * acknowledgement and what the message handler published in one write (as two, the second
   * would wait on the first's TCP acknowledgement: Nagle's algorithm against the broker's
   * delayed ACK, some 40 ms).
   */
  private w_(s?: string, ctl?: boolean): void {
    if (s === undefined) {
      s = this.ck_;
      this.ck_ = undefined;
      if (!s) return;
    } else if (ctl && this.sp_) return void this.q_.push(s);
    else if (this.ck_ !== undefined) {
      // Held up to a slice: more goes out now, so the link's backpressure still counts.
      if ((this.ck_ += s).length < SLICE) return;
      s = this.ck_;
      this.ck_ = "";
    }
    this.lw_ = this.bd_.now();
    if (!this.bd_.write(s)) this.busy_ = true;
  }

  /**
   * Writes what waits, while the link takes it: the rest of a QoS 0 payload being streamed, then
   * the control packets that came due meanwhile, then the outbox's queued entries (QoS 1/2
   * builds). Emits drain when there is room.
   */
  pump_(): void {
    const x = this.sp_;
    if (x) {
      while (this.si_ < x.length && !this.busy_) {
        const i = this.si_;
        this.w_(typeof x === "string" ? x.substr(i, SLICE) : bin(x, i, Math.min(x.length, i + SLICE)));
        this.si_ = i + SLICE;
      }
      if (this.si_ < x.length) return;
      this.sp_ = null;
      const q = this.q_;
      this.q_ = [];
      for (let i = 0; i < q.length; i++) this.w_(q[i]);
    }
    if (QOS12) {
      const oi = this.oi_;
      for (let i = 0; this.st_ === CONNECTED && i < oi.length && !this.busy_ && !this.sp_; i++) {
        if (oi[i] >> 16 !== QUEUED) continue;
        this.w_(this.ob_[i]);
        if (oi[i] & 65535) oi[i] = (SENT << 16) | (oi[i] & 65535);
        else cut(this, i--, 0); // QoS 0: done once written
      }
    }
    if (this.wd_ && !this.busy_ && !this.sp_ && (!QOS12 || this.ol_ * 4 <= this.om_)) {
      this.wd_ = false;
      this.emit_("drain");
    }
  }
}

/**
 * What the timer calls: made once, here, not as a closure per client (on Espruino a function
 * made inside another costs some 4 variables more, and the timer carries the client instead).
 */
function tick(c: BoardClient): void {
  c.tick_();
}

/** The entry with packet id `id` in state `from` moves to `to` (0: done, its callback runs). */
function ack(c: BoardClient, id: number, from: number, to: number): void {
  const i = c.oi_.indexOf((from << 16) | id);
  if (i < 0) return;
  if (to) c.oi_[i] = (to << 16) | id;
  else {
    cut(c, i, 0);
    c.pump_();
  }
}

/** Takes entry `i` out of the outbox; its callback hears `code` (0: delivered). */
function cut(c: BoardClient, i: number, code: number): void {
  const id = c.oi_[i] & 65535;
  c.ol_ -= c.ob_[i].length;
  c.ob_.splice(i, 1);
  c.oi_.splice(i, 1);
  const f = c.cb_[id];
  if (id) delete c.cb_[id];
  if (code) {
    c.dropped++;
    c.emit_("dropped", c.dropped);
  }
  if (id && f) f(code ? boardError(code) : null);
}

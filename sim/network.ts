/**
 * The simulated network under the simulated runtimes: real Node TCP sockets to 127.0.0.1, wrapped
 * by a fault layer.
 *
 * A `Link` is one device socket. Bytes from the broker go through an inbound pipeline (latency,
 * coalescing, chunk sizes down to 1 byte, stalls) before the runtime sees them; bytes from the
 * device go through an outbound one (latency, a send buffer that drains at a set rate, stalls,
 * a cut after N more bytes). The `SimNetwork` holds the plan, the Wi-Fi state and every live link,
 * so a test can stall, drop or cut them all at once.
 *
 * Only 127.0.0.1 is ever contacted: host names resolve through `hosts`, and any other address is
 * unreachable.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { SimRandom } from "./prng.ts";

/** Faults applied to every link; change them at any time (`network.faults = {...}`). */
export interface FaultPlan {
  /** Inbound chunks are between chunkMin and chunkMax bytes (clamped to the runtime's largest). */
  chunkMin?: number;
  chunkMax?: number;
  /** Inbound bytes are held this long once some are ready, then delivered together. */
  coalesceMs?: number;
  /** One-way delay added to both directions, plus up to jitterMs more. */
  latencyMs?: number;
  jitterMs?: number;
  /** The device's send buffer empties at most this many bytes per `txTickMs` (default: no limit). */
  txBytesPerTick?: number;
  /** Period of the outbound drain (default 10 ms). */
  txTickMs?: number;
}

/** What a runtime's socket hears from its link. */
export interface LinkSink {
  /** The TCP connection is up. */
  connected(): void;
  /** Connecting failed: refused, or the address is unreachable (`unreachable` true). */
  failed(err: Error, unreachable: boolean): void;
  /** Bytes from the broker, one chunk as the fault plan cut it. */
  data(bytes: Buffer): void;
  /** The broker closed (`end`), or the connection was reset or cut with notice (`reset`). */
  remoteClosed(how: "end" | "reset"): void;
  /** The send buffer has emptied. */
  sent(): void;
  /** A local close has completed. */
  closed(): void;
}

export type CutMode = "silent" | "reset";

interface RxItem {
  readyAt: number;
  bytes: Buffer | null;
  end: "end" | "reset" | null;
}

interface TxItem {
  readyAt: number;
  bytes: Buffer;
}

let linkIds = 0;

export class Link {
  readonly id = ++linkIds;
  /** No more bytes either way; the runtime may not know yet. */
  dead = false;
  /** Bytes accepted from the device and not yet handed to the broker's socket. */
  txPending = 0;
  /** Bytes handed to the broker, and from it, over the life of the link. */
  txTotal = 0;
  rxTotal = 0;
  private socket: net.Socket | null = null;
  private connected = false;
  private rx: RxItem[] = [];
  private tx: TxItem[] = [];
  private rxTimer: NodeJS.Timeout | null = null;
  private txTimer: NodeJS.Timeout | null = null;
  private coalesceUntil = 0;
  private delivering = false;
  private localClose = false;
  private closedNotified = false;
  /** Bytes this link may still send before a pending cut (-1: none armed). */
  private cutAfterTx = -1;
  private cutMode: CutMode = "reset";

  constructor(
    readonly network: SimNetwork,
    readonly host: string,
    readonly port: number,
    private readonly sink: LinkSink,
    /** Largest inbound chunk the runtime delivers. */
    readonly maxChunk: number,
    /** TLS options: the link runs TLS to the broker, and the faults apply to the plain bytes. */
    secure?: tls.ConnectionOptions | null,
  ) {
    network.links.add(this);
    const ip = network.resolve(host);
    if (ip !== "127.0.0.1") {
      // Unreachable: a real SYN would go unanswered. Nothing is contacted.
      network.later(0, () => {
        if (!this.dead) this.sink.failed(new Error("ETIMEDOUT " + host + ":" + port), true);
      });
      return;
    }
    const socket = secure
      ? tls.connect(Object.assign({}, secure, { host: "127.0.0.1", port, servername: undefined }))
      : net.connect({ host: "127.0.0.1", port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on(secure ? "secureConnect" : "connect", () => {
      if (this.dead) return;
      this.connected = true;
      this.network.later(this.delay(), () => {
        if (!this.dead) this.sink.connected();
      });
    });
    socket.on("data", (chunk: Buffer) => {
      if (this.dead) return;
      this.rx.push({ readyAt: Date.now() + this.delay(), bytes: chunk, end: null });
      this.scheduleRx(0);
    });
    socket.on("end", () => {
      if (this.dead || this.localClose) return;
      this.rx.push({ readyAt: Date.now() + this.delay(), bytes: null, end: "end" });
      this.scheduleRx(0);
    });
    let failedToConnect = false;
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (this.dead || this.localClose) return;
      if (!this.connected) {
        failedToConnect = true;
        this.dead = true;
        this.network.links.delete(this);
        this.sink.failed(err, false);
        return;
      }
      this.rx.push({ readyAt: Date.now() + this.delay(), bytes: null, end: "reset" });
      this.scheduleRx(0);
    });
    socket.on("close", (hadError: boolean) => {
      if (failedToConnect) return;
      if (this.localClose) {
        this.finishLocalClose();
        return;
      }
      if (this.dead) return;
      // A close without 'end' or 'error' first (destroyed by the broker).
      if (!this.rx.some((item) => item.end !== null)) {
        this.rx.push({ readyAt: Date.now() + this.delay(), bytes: null, end: hadError ? "reset" : "end" });
        this.scheduleRx(0);
      }
    });
  }

  /** Queues device bytes for the broker. Discarded on a dead link (the runtime decides what the device sees). */
  send(bytes: Uint8Array): void {
    if (this.dead || this.localClose) return;
    const copy = Buffer.from(bytes);
    this.tx.push({ readyAt: Date.now() + this.delay(), bytes: copy });
    this.txPending += copy.length;
    this.scheduleTx(0);
  }

  /** Closes after the queued bytes went out; `sink.closed()` follows. */
  close(): void {
    if (this.localClose) return;
    this.localClose = true;
    if (this.dead || !this.socket) {
      this.finishLocalClose();
      return;
    }
    this.scheduleTx(0);
  }

  /** Aborts at once, queued bytes lost; `sink.closed()` follows. */
  destroy(): void {
    this.localClose = true;
    this.tx = [];
    this.txPending = 0;
    this.dead = true;
    this.clearTimers();
    if (this.socket && !this.socket.destroyed) this.socket.destroy();
    this.finishLocalClose();
  }

  /**
   * The link dies: the broker's socket is reset at once. With `reset` the runtime hears of it
   * (as a reset); with `silent` it does not (a vanished access point, a dead NAT entry).
   */
  cut(mode: CutMode): void {
    if (this.dead) return;
    this.dead = true;
    this.clearTimers();
    this.rx = [];
    this.tx = [];
    this.network.links.delete(this);
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      // A TCP reset where Node can send one (not through TLS); a plain close otherwise.
      if (!(socket instanceof tls.TLSSocket) && socket.remoteAddress) socket.resetAndDestroy();
      else socket.destroy();
    }
    if (mode === "reset") {
      this.network.later(0, () => {
        if (!this.localClose) this.sink.remoteClosed("reset");
      });
    }
  }

  /** Cuts this link once it has sent `bytes` more bytes to the broker (mid-packet, typically). */
  cutAfter(bytes: number, mode: CutMode): void {
    this.cutAfterTx = bytes;
    this.cutMode = mode;
    if (bytes === 0) this.cut(mode);
  }

  private finishLocalClose(): void {
    if (this.closedNotified) return;
    this.closedNotified = true;
    this.dead = true;
    this.clearTimers();
    this.network.links.delete(this);
    this.network.later(0, () => this.sink.closed());
  }

  private delay(): number {
    const f = this.network.faults;
    const latency = f.latencyMs ? f.latencyMs : 0;
    const jitter = f.jitterMs ? this.network.random.next() * f.jitterMs : 0;
    return latency + jitter;
  }

  private clearTimers(): void {
    if (this.rxTimer) clearTimeout(this.rxTimer);
    if (this.txTimer) clearTimeout(this.txTimer);
    this.rxTimer = null;
    this.txTimer = null;
  }

  private scheduleRx(ms: number): void {
    if (this.rxTimer || this.delivering || this.dead) return;
    this.rxTimer = this.network.later(ms, () => {
      this.rxTimer = null;
      this.pumpRx();
    });
  }

  private pumpRx(): void {
    if (this.dead) return;
    const now = Date.now();
    const stall = this.network.stalledUntil;
    if (stall > now) return this.scheduleRx(stall - now);
    const first = this.rx[0];
    if (!first) return;
    if (first.readyAt > now) return this.scheduleRx(first.readyAt - now);
    if (first.end !== null) {
      this.rx.shift();
      this.dead = true;
      this.network.links.delete(this);
      this.sink.remoteClosed(first.end);
      return;
    }
    const f = this.network.faults;
    if (f.coalesceMs && f.coalesceMs > 0) {
      if (this.coalesceUntil === 0) this.coalesceUntil = now + f.coalesceMs;
      if (now < this.coalesceUntil) return this.scheduleRx(this.coalesceUntil - now);
    }
    this.coalesceUntil = 0;
    // Everything ready now, up to an end marker, as one run of bytes.
    const parts: Buffer[] = [];
    while (this.rx.length > 0 && this.rx[0].bytes && this.rx[0].readyAt <= now) parts.push(this.rx.shift()!.bytes!);
    let bytes = Buffer.concat(parts);
    // Chunks as the plan cuts them, one per turn of the event loop (one event each on a device).
    this.delivering = true;
    const next = () => {
      if (this.dead) {
        this.delivering = false;
        return;
      }
      if (this.network.stalledUntil > Date.now()) {
        // A stall began mid-run: put the rest back in front.
        this.rx.unshift({ readyAt: 0, bytes, end: null });
        this.delivering = false;
        this.scheduleRx(this.network.stalledUntil - Date.now());
        return;
      }
      const size = this.chunkSize(bytes.length);
      const chunk = bytes.subarray(0, size);
      bytes = bytes.subarray(size);
      this.rxTotal += chunk.length;
      this.sink.data(chunk);
      if (bytes.length > 0) {
        this.network.soon(next);
        return;
      }
      this.delivering = false;
      if (this.rx.length > 0) this.scheduleRx(0);
    };
    next();
  }

  private chunkSize(available: number): number {
    const f = this.network.faults;
    let size: number;
    if (f.chunkMin !== undefined || f.chunkMax !== undefined) {
      const min = Math.max(1, f.chunkMin !== undefined ? f.chunkMin : 1);
      const max = Math.max(min, f.chunkMax !== undefined ? f.chunkMax : this.maxChunk);
      size = this.network.random.int(min, max);
    } else {
      size = this.maxChunk;
    }
    if (size > this.maxChunk) size = this.maxChunk;
    return size < available ? size : available;
  }

  private scheduleTx(ms: number): void {
    if (this.txTimer || (this.dead && !this.localClose)) return;
    this.txTimer = this.network.later(ms, () => {
      this.txTimer = null;
      this.pumpTx();
    });
  }

  private pumpTx(): void {
    const socket = this.socket;
    if (!socket || this.dead) return;
    const now = Date.now();
    const stall = this.network.stalledUntil;
    if (stall > now) return this.scheduleTx(stall - now);
    const f = this.network.faults;
    let budget = f.txBytesPerTick && f.txBytesPerTick > 0 ? f.txBytesPerTick : Infinity;
    while (this.tx.length > 0 && budget > 0) {
      const head = this.tx[0];
      if (head.readyAt > now) break;
      let n = head.bytes.length < budget ? head.bytes.length : budget;
      let cutNow = false;
      if (this.cutAfterTx >= 0 && n >= this.cutAfterTx) {
        n = this.cutAfterTx;
        cutNow = true;
      }
      if (n > 0) {
        socket.write(head.bytes.subarray(0, n));
        this.txTotal += n;
        this.txPending -= n;
        budget -= n;
        if (this.cutAfterTx > 0) this.cutAfterTx -= n;
        if (n === head.bytes.length) this.tx.shift();
        else head.bytes = head.bytes.subarray(n);
      }
      if (cutNow) {
        this.cutAfterTx = -1;
        this.cut(this.cutMode);
        return;
      }
    }
    if (this.tx.length > 0) {
      const wait = this.tx[0].readyAt > now ? this.tx[0].readyAt - now : f.txTickMs && f.txTickMs > 0 ? f.txTickMs : 10;
      this.scheduleTx(budget === Infinity ? this.tx[0].readyAt - now : wait);
      return;
    }
    if (this.localClose) {
      socket.end();
      // A peer that never answers the FIN must not keep the close from completing.
      this.network.later(1000, () => {
        if (!socket.destroyed) socket.destroy();
      });
      return;
    }
    this.sink.sent();
  }
}

export interface SimNetworkOptions {
  seed?: number;
  faults?: FaultPlan;
  /** Host names and the address they resolve to (default: localhost → 127.0.0.1). */
  hosts?: { [name: string]: string };
}

/** The shared state of one simulated device's network. */
export class SimNetwork {
  faults: FaultPlan;
  readonly random: SimRandom;
  readonly links = new Set<Link>();
  readonly hosts: { [name: string]: string };
  /** Access point in range and the station joined (the runtimes read it). */
  wifiUp = true;
  stalledUntil = 0;
  private timers = new Set<NodeJS.Timeout>();
  private disposed = false;

  constructor(options?: SimNetworkOptions) {
    const o = options || {};
    this.random = new SimRandom(o.seed === undefined ? 1 : o.seed);
    this.faults = o.faults || {};
    this.hosts = Object.assign({ localhost: "127.0.0.1" }, o.hosts || {});
  }

  /** The address of `host`, or null when it does not resolve. Only 127.0.0.1 is reachable. */
  resolve(host: string): string | null {
    if (net.isIP(host)) return host;
    const ip = this.hosts[host];
    return ip === undefined ? null : ip;
  }

  /** Holds both directions of every link for `ms`. Nothing is lost. */
  stall(ms: number): void {
    this.stalledUntil = Date.now() + ms;
  }

  /** Cuts every live link now. */
  cutAll(mode: CutMode): void {
    for (const link of Array.from(this.links)) link.cut(mode);
  }

  /** Cuts every live link once it has sent `bytes` more to the broker. */
  cutAllAfter(bytes: number, mode: CutMode): void {
    for (const link of Array.from(this.links)) link.cutAfter(bytes, mode);
  }

  /** A timer that dies with the network. */
  later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        if (!this.disposed) fn();
      },
      ms > 0 ? ms : 0,
    );
    this.timers.add(t);
    return t;
  }

  /** Runs `fn` on the next turn of the event loop (one device event). */
  soon(fn: () => void): void {
    setImmediate(() => {
      if (!this.disposed) fn();
    });
  }

  dispose(): void {
    this.disposed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const link of Array.from(this.links)) link.destroy();
  }
}

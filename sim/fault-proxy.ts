/**
 * A TCP proxy with faults, on 127.0.0.1, between clients and a real broker.
 *
 * Each accepted connection is relayed to a connection of its own to the target. The test controls
 * what happens on the way:
 * - cuts: `cutAll()` now; `cutAfter(n)` after n more relayed bytes (so a cut lands inside a
 *   packet); a seeded random cut per connection (`randomCuts`), drawn in accept order, so a run is
 *   reproducible from its seed. A cut relays exactly the bytes before the cut point, then closes
 *   both sides (FIN, or RST with `reset`).
 * - delay: every chunk waits `delayMs` (order kept).
 * - a black hole: `blackhole(true)` stops relaying in both directions without closing anything, as
 *   a dead Wi-Fi link or a broken NAT does; bytes and closes are held, new connections are
 *   accepted but not relayed. `blackhole(false)` releases what is held, in order, as TCP would
 *   once the path heals; a connection that either end closed meanwhile is closed instead.
 *   Single connections can be stalled too (`links[i].stall(true)`).
 *
 * Everything is bounded by the test: `close()` destroys every socket and timer it made.
 */
import * as net from "node:net";

const HOST = "127.0.0.1";

/** mulberry32: a small seeded generator, so cut schedules are reproducible from the seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomCuts {
  /** Each connection is cut after a number of relayed bytes (both directions) drawn from [minBytes, maxBytes]. */
  minBytes: number;
  maxBytes: number;
}

export interface FaultProxyOptions {
  targetPort: number;
  targetHost?: string;
  /** Port to listen on (default: any free one). */
  port?: number;
  /** Seed of the random cut schedule (default 1). */
  seed?: number;
  randomCuts?: RandomCuts | null;
  /** Latency added to every chunk, each direction. */
  delayMs?: number;
  /** Cut with a TCP reset instead of a FIN. */
  reset?: boolean;
}

export interface FaultProxyStats {
  /** Connections accepted from clients. */
  accepted: number;
  /** Connections cut by a fault (not closes that an endpoint started). */
  cuts: number;
  /** Connections whose target refused or failed to connect. */
  refused: number;
  /** Bytes relayed client → target and target → client. */
  bytesUp: number;
  bytesDown: number;
}

interface Chunk {
  data: Buffer;
  dueMs: number;
}

/** One direction of a link. */
class Pipe {
  queue: Chunk[] = [];
  /** The source ended (FIN) or closed; pass it on once the queue is empty. */
  ended = false;
  /** The source closed with an error: destroy the destination rather than end it. */
  failed = false;
  passedEnd = false;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  constructor(readonly up: boolean) {}
}

/** A relayed connection: the client's socket and the one to the target. */
export class Link {
  readonly id: number;
  readonly client: net.Socket;
  upstream: net.Socket | null = null;
  /** Bytes relayed so far, both directions. */
  relayed = 0;
  /** Cut once `relayed` reaches this (-1: no cut armed). */
  cutAt = -1;
  closed = false;
  private stalled = false;
  readonly up = new Pipe(true);
  readonly down = new Pipe(false);
  private proxy: FaultProxy;

  constructor(proxy: FaultProxy, id: number, client: net.Socket) {
    this.proxy = proxy;
    this.id = id;
    this.client = client;
  }

  /** Stops (true) or resumes (false) relaying on this connection alone. */
  stall(on: boolean): void {
    this.stalled = on;
    if (!on) this.kick();
  }

  /** Cuts this connection now. */
  cut(): void {
    if (this.closed) return;
    this.proxy.stats.cuts++;
    this.destroy(true);
  }

  /** Cuts this connection once `bytes` more bytes have been relayed (0: before the next byte). */
  cutAfter(bytes: number): void {
    if (this.closed) return;
    this.cutAt = this.relayed + bytes;
  }

  isStalled(): boolean {
    return this.stalled || this.proxy.isBlackholed();
  }

  /** Starts relaying if the target connection is not open yet and nothing holds it. */
  kick(): void {
    if (this.closed || this.isStalled()) return;
    if (!this.upstream) {
      this.proxy.connectUpstream(this);
      return;
    }
    this.pump(this.up);
    this.pump(this.down);
  }

  /** Relays what is due in `pipe`, in order. */
  pump(pipe: Pipe): void {
    if (this.closed || this.isStalled() || !this.upstream) return;
    const dest = pipe.up ? this.upstream : this.client;
    const now = Date.now();
    while (pipe.queue.length > 0) {
      const head = pipe.queue[0];
      if (head.dueMs > now) {
        if (pipe.timer === undefined) {
          pipe.timer = setTimeout(() => {
            pipe.timer = undefined;
            this.pump(pipe);
          }, head.dueMs - now);
        }
        return;
      }
      pipe.queue.shift();
      let data = head.data;
      let cutNow = false;
      if (this.cutAt >= 0 && this.relayed + data.length >= this.cutAt) {
        // The cut point falls in this chunk: relay the bytes before it, then cut.
        data = data.subarray(0, this.cutAt - this.relayed);
        cutNow = true;
      }
      this.relayed += data.length;
      if (pipe.up) this.proxy.stats.bytesUp += data.length;
      else this.proxy.stats.bytesDown += data.length;
      if (cutNow) {
        this.proxy.stats.cuts++;
        if (data.length > 0 && !dest.destroyed) {
          dest.write(data, () => this.destroy(true));
          // The source goes at once; the destination once the partial packet is on its way.
          this.kill(pipe.up ? this.client : this.upstream);
          this.closed = true;
          this.clearTimers();
          this.proxy.forget(this);
          // Fallback should the write callback never come.
          setTimeout(() => this.destroy(true), 500).unref();
        } else {
          this.destroy(true);
        }
        return;
      }
      if (data.length > 0 && !dest.destroyed) dest.write(data);
    }
    if (pipe.ended && !pipe.passedEnd) {
      pipe.passedEnd = true;
      if (pipe.failed) dest.destroy();
      else if (!dest.destroyed) dest.end();
      if (this.up.passedEnd && this.down.passedEnd) this.destroy(false);
    }
  }

  private kill(socket: net.Socket | null): void {
    if (!socket || socket.destroyed) return;
    if (this.proxy.resetOnCut && typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
    else socket.destroy();
  }

  private clearTimers(): void {
    if (this.up.timer !== undefined) clearTimeout(this.up.timer);
    if (this.down.timer !== undefined) clearTimeout(this.down.timer);
    this.up.timer = undefined;
    this.down.timer = undefined;
  }

  /** Closes both sides; `fault` picks the cut style (RST when asked) over a plain destroy. */
  destroy(fault: boolean): void {
    this.clearTimers();
    this.up.queue.length = 0;
    this.down.queue.length = 0;
    if (fault) {
      this.kill(this.client);
      this.kill(this.upstream);
    } else {
      this.client.destroy();
      if (this.upstream) this.upstream.destroy();
    }
    if (!this.closed) {
      this.closed = true;
      this.proxy.forget(this);
    }
  }
}

export class FaultProxy {
  port = 0;
  readonly stats: FaultProxyStats = { accepted: 0, cuts: 0, refused: 0, bytesUp: 0, bytesDown: 0 };
  /** Open connections, oldest first. */
  readonly links: Link[] = [];
  readonly resetOnCut: boolean;
  private server: net.Server;
  private targetHost: string;
  private targetPort: number;
  private random: () => number;
  private randomCuts: RandomCuts | null;
  private delayMs: number;
  private holes = false;
  /** A cut armed while no connection was open: applies to the next one accepted. */
  private pendingCutBytes = -1;
  private nextId = 0;
  private closing = false;

  private constructor(options: FaultProxyOptions) {
    this.targetHost = options.targetHost || HOST;
    this.targetPort = options.targetPort;
    this.random = seededRandom(options.seed === undefined ? 1 : options.seed);
    this.randomCuts = options.randomCuts || null;
    this.delayMs = options.delayMs || 0;
    this.resetOnCut = !!options.reset;
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  /** Starts a proxy listening on 127.0.0.1 and relaying to `options.targetPort`. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once("error", reject);
      proxy.server.listen(options.port || 0, HOST, () => {
        proxy.server.off("error", reject);
        resolve();
      });
    });
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  /** A number in [0, 1) from the proxy's seeded generator (for tests that want the same stream). */
  rand(): number {
    return this.random();
  }

  /** Cuts every open connection now. Returns how many were cut. */
  cutAll(): number {
    const open = this.links.slice();
    for (const link of open) link.cut();
    return open.length;
  }

  /**
   * Cuts every open connection after `bytes` more relayed bytes; with none open, the next
   * connection accepted. Returns how many open connections were armed.
   */
  cutAfter(bytes: number): number {
    if (this.links.length === 0) {
      this.pendingCutBytes = bytes;
      return 0;
    }
    for (const link of this.links) link.cutAfter(bytes);
    return this.links.length;
  }

  /** Like `cutAfter`, with the byte count drawn from [0, maxBytes) by the seeded generator. */
  cutAfterRandom(maxBytes: number): number {
    return this.cutAfter(Math.floor(this.random() * maxBytes));
  }

  /** Sets or clears the seeded random cut drawn for each new connection. */
  setRandomCuts(plan: RandomCuts | null): void {
    this.randomCuts = plan;
  }

  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  /**
   * A black hole (true): nothing is relayed either way and nothing is closed; bytes, closes and
   * new connections are held. Releasing it (false) relays everything held, in order.
   */
  blackhole(on: boolean): void {
    this.holes = on;
    if (on) return;
    for (const link of this.links.slice()) {
      // An endpoint that closed while the path was dead has given up on it (its stack aborts the
      // connection): the release closes that connection without delivering what it held, as
      // TCP would. Delivering it would replay a stale CONNECT to the broker, for instance, which
      // then takes the client id away from the connection that replaced it.
      if (link.up.ended || link.down.ended) link.destroy(false);
      else link.kick();
    }
  }

  isBlackholed(): boolean {
    return this.holes;
  }

  /** Stops listening and destroys every connection. */
  close(): Promise<void> {
    this.closing = true;
    for (const link of this.links.slice()) link.destroy(false);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** @internal */
  forget(link: Link): void {
    const i = this.links.indexOf(link);
    if (i >= 0) this.links.splice(i, 1);
  }

  /** @internal Opens the target side of `link`. */
  connectUpstream(link: Link): void {
    if (link.upstream || link.closed) return;
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort, allowHalfOpen: true });
    link.upstream = upstream;
    upstream.setNoDelay(true);
    let connected = false;
    upstream.on("connect", () => {
      connected = true;
      link.kick();
    });
    upstream.on("data", (data: Buffer) => this.enqueue(link, link.down, data));
    upstream.on("end", () => this.ended(link, link.down, false));
    upstream.on("error", () => {
      // 'close' follows and decides.
    });
    upstream.on("close", (hadError) => {
      if (!connected) {
        // The target refused or is down: the client sees its connection closed.
        this.stats.refused++;
        link.destroy(false);
        return;
      }
      this.ended(link, link.down, hadError);
    });
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.stats.accepted++;
    socket.setNoDelay(true);
    const link = new Link(this, this.nextId++, socket);
    this.links.push(link);
    if (this.pendingCutBytes >= 0) {
      link.cutAfter(this.pendingCutBytes);
      this.pendingCutBytes = -1;
    } else if (this.randomCuts) {
      const plan = this.randomCuts;
      link.cutAfter(plan.minBytes + Math.floor(this.random() * (plan.maxBytes - plan.minBytes + 1)));
    }
    socket.on("data", (data: Buffer) => this.enqueue(link, link.up, data));
    socket.on("end", () => this.ended(link, link.up, false));
    socket.on("error", () => this.ended(link, link.up, true));
    socket.on("close", (hadError) => this.ended(link, link.up, hadError));
    link.kick();
  }

  private enqueue(link: Link, pipe: Pipe, data: Buffer): void {
    if (link.closed) return;
    pipe.queue.push({ data: data, dueMs: Date.now() + this.delayMs });
    link.pump(pipe);
  }

  private ended(link: Link, pipe: Pipe, failed: boolean): void {
    if (link.closed) return;
    if (failed) pipe.failed = true;
    if (pipe.ended) return;
    pipe.ended = true;
    if (!link.upstream && pipe.up && !link.isStalled()) {
      // The client left before anything was relayed.
      link.destroy(false);
      return;
    }
    link.pump(pipe);
  }
}

/** Starts a fault proxy to `targetPort` on 127.0.0.1. */
export function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  return FaultProxy.start(options);
}

/**
 * A simulated Raspberry Pi Pico W running Kaluma 1.2.x: exactly the runtime APIs mcu-mqtt's
 * Kaluma board and the Kaluma example use, with the behaviour measured on the real thing
 * (read from its sources and measured on its Linux build), over real TCP to 127.0.0.1 through the fault layer.
 *
 * - `net`: `new Socket()` / `createConnection({host, port}, cb)`; connects only with a callback;
 *   DNS and "WiFi is not connected." throw from inside; 'data' is a Uint8Array per segment (or,
 *   with `stringData`, a string cut at the first NUL, as older firmware did); a remote close
 *   gives 'close' only; a refused connection or a reset gives nothing at all; 'drain' never
 *   fires; a write is turned into a binary string at once and flushed from a timer; more than
 *   11,680 bytes unacknowledged fails the write, seen only through `global.__netdev.errno` on
 *   the Pico (`driver: "pico"`) or as 'error' too (`driver: "linux"`); 16 sockets at most.
 * - `wifi`: `new WiFi()`, `connect({ssid, password}, cb)` (blocking on a device: here it answers
 *   at once; on the Pico it can claim success when joining failed), `getConnection(cb)`; no
 *   link-loss event.
 * - `pico_cyw43` (the LED on CYW43 GPIO 0), `adc` and `analogRead` (pin 30 is ADC input 4, the
 *   temperature sensor: v = 0.706 - (T - 27) * 0.001721, read as v / 3.3 in 12 bits).
 * - `millis()`, strict `setTimeout`/`clearTimeout` (numeric ms, clearTimeout(undefined) throws,
 *   a throwing callback cancels its timer), `console.log/error` only (warn/info/debug are missing
 *   and calling them throws).
 */
import { SimDevice, type SimOptions } from "./context.ts";
import { SimEmitter } from "./emitter.ts";
import { Link, type LinkSink } from "./network.ts";

/** lwIP's send buffer on the Pico W: beyond this much unacknowledged a write fails. */
export const KALUMA_SEND_BUFFER = 11680;
const MAX_SOCKETS = 16;

export interface KalumaSimOptions extends SimOptions {
  /** "pico" (default): network failures are not emitted, errno tells. "linux": 'error' too. */
  driver?: "pico" | "linux";
  /** Firmware before 1.2.1: 'data' as strings cut at the first NUL byte. */
  stringData?: boolean;
  /** The access point in range, and whether the station has joined it already (default true). */
  wifi?: { ssid?: string; password?: string; joined?: boolean };
  /** What the temperature sensor reads (default 24.5 °C). */
  temperatureC?: number;
  /** Largest 'data' chunk: one TCP segment (default 1,460). */
  maxChunk?: number;
}

export interface KalumaStats {
  /** Socket writes, and the largest one in bytes (a write costs ~9x its size in heap). */
  writes: number;
  maxWriteBytes: number;
  /** Writes that failed because the send buffer was full (errno -1). */
  failedWrites: number;
  socketsOpen: number;
  peakSockets: number;
  /** Times wifi.connect was called (each blocks up to 30 s on a device). */
  wifiJoins: number;
}

class SystemError extends Error {
  errno: number;
  constructor(errno: number, message: string) {
    super(message);
    this.errno = errno;
  }
}

export class KalumaSim extends SimDevice {
  readonly options: KalumaSimOptions;
  readonly stats: KalumaStats = { writes: 0, maxWriteBytes: 0, failedWrites: 0, socketsOpen: 0, peakSockets: 0, wifiJoins: 0 };
  /** The board: GPIO of the CYW43 (GPIO 0 is the LED), ADC inputs 0-3, the temperature. */
  readonly board = { gpio: [false, false, false], adc: [0, 0, 0, 0], temperatureC: 24.5 };
  /** The access point: in range or not, and its credentials. */
  readonly ap: { ssid: string; password: string; inRange: boolean };
  /** The driver object at `global.__netdev`; its `errno` is what the adapter checks. */
  readonly netdev = { errno: 0 };
  private fds: (KalumaSocketBase | null)[] = [];
  private readonly started = performance.now();

  constructor(options?: KalumaSimOptions) {
    const o = options || {};
    super("kaluma", o, { reuseIds: false, numericMs: true, passArgs: false, clearAllWithoutArgs: false });
    this.options = o;
    if (o.temperatureC !== undefined) this.board.temperatureC = o.temperatureC;
    const w = o.wifi || {};
    this.ap = { ssid: w.ssid || "sim-ap", password: w.password || "sim-password", inRange: true };
    this.network.wifiUp = w.joined === undefined ? true : w.joined;
    for (let i = 0; i < MAX_SOCKETS; i++) this.fds.push(null);
    this.installGlobals();
    this.installModules();
  }

  /** The access point comes into range or goes away. Going away kills every socket silently. */
  setAccessPoint(inRange: boolean): void {
    this.ap.inRange = inRange;
    if (!inRange) {
      this.network.wifiUp = false;
      this.network.cutAll("silent");
    }
  }

  /** Sockets holding one of the 16 slots. */
  openSockets(): number {
    return this.fds.filter((s) => s !== null).length;
  }

  protected prologue(): string {
    return '"use strict";';
  }

  /** @internal */
  allocateFd(socket: KalumaSocketBase): number {
    if (!this.network.wifiUp) {
      this.netdev.errno = -1;
      throw new Error("WiFi is not connected.");
    }
    const fd = this.fds.indexOf(null);
    if (fd < 0) {
      this.netdev.errno = -1;
      throw new SystemError(121, "Remote I/O error"); // EREMOTEIO: every slot taken
    }
    this.fds[fd] = socket;
    this.stats.socketsOpen = this.openSockets();
    if (this.stats.socketsOpen > this.stats.peakSockets) this.stats.peakSockets = this.stats.socketsOpen;
    return fd;
  }

  /** @internal */
  freeFd(fd: number): boolean {
    if (fd < 0 || fd >= MAX_SOCKETS || !this.fds[fd]) return false;
    this.fds[fd] = null;
    this.stats.socketsOpen = this.openSockets();
    return true;
  }

  private installGlobals(): void {
    const g = this.global;
    const self = this;
    g.__netdev = this.netdev;
    g.__ieee80211dev = {};
    g.board = { name: "pico-w" };
    g.millis = function () {
      return Math.floor(performance.now() - self.started);
    };
    const text = (args: unknown[]) => args.map((a) => (typeof a === "string" ? a : a instanceof Error ? String(a) : JSON.stringify(a))).join(" ");
    // Kaluma has console.log and console.error; warn, info and debug are missing.
    g.console = {
      log: (...args: unknown[]) => self.print(text(args)),
      error: (...args: unknown[]) => self.print(text(args)),
    };
    g.TextEncoder = TextEncoder;
    g.TextDecoder = TextDecoder;
    g.process = {
      memoryUsage: () => ({ heapTotal: 180 * 1024, heapUsed: 0, heapPeak: 0 }),
    };
    g.analogRead = function (pin: number) {
      return self.analogRead(pin);
    };
  }

  /** Kaluma's analogRead: a fraction of 3.3 V in 12 bits. Pin 30 is ADC input 4 (temperature). */
  analogRead(pin: number): number {
    let volts: number;
    if (pin >= 26 && pin <= 29) volts = this.board.adc[pin - 26] * 3.3;
    else if (pin === 30) volts = 0.706 - (this.board.temperatureC - 27) * 0.001721;
    else throw new Error("Invalid pin: " + pin + " has no ADC");
    const raw = Math.max(0, Math.min(4095, Math.round((volts / 3.3) * 4096)));
    return raw / 4096;
  }

  private installModules(): void {
    const self = this;
    this.defineModule("net", () => {
      class Socket extends KalumaSocketBase {
        constructor() {
          super(self);
        }
      }
      return {
        Socket,
        createConnection(options: { host: string; port: number }, connectListener?: () => void) {
          const socket = new Socket();
          // Kaluma connects only when a callback is given.
          if (connectListener) socket.connect(options, connectListener);
          return socket;
        },
        connect(options: { host: string; port: number }, connectListener?: () => void) {
          const socket = new Socket();
          if (connectListener) socket.connect(options, connectListener);
          return socket;
        },
      };
    });
    this.defineModule("wifi", () => ({ WiFi: makeWifiClass(self) }));
    this.defineModule("pico_cyw43", () => {
      class PicoCYW43 {
        getGpio(gpio: number): boolean {
          return !!self.board.gpio[gpio];
        }
        putGpio(gpio: number, value: boolean): void {
          self.board.gpio[gpio] = !!value;
        }
      }
      class PicoCYW43WIFI {}
      class PicoCYW43Network {}
      return { PicoCYW43, PicoCYW43WIFI, PicoCYW43Network };
    });
    this.defineModule("adc", () => {
      class ADC {
        pin: number;
        constructor(pin: number) {
          this.pin = pin;
        }
        read(): number {
          return self.analogRead(this.pin);
        }
      }
      return { ADC };
    });
    this.defineModule("events", () => ({ EventEmitter: SimEmitter }));
  }
}

function makeWifiClass(sim: KalumaSim) {
  const linux = sim.options.driver === "linux";
  const fail = (cb: ((err: unknown, info?: unknown) => void) | undefined) => {
    // The Pico's driver turns its -1 into 0: the callback hears success.
    if (!cb) return;
    if (linux) cb(new SystemError(-1, "WiFi error"));
    else cb(null);
  };
  return class WiFi extends SimEmitter {
    constructor() {
      super();
      this.simUncaught = (e) => sim.uncaught(e);
    }

    connect(info: any, cb?: (err: unknown, info?: unknown) => void): void {
      if (typeof info === "function") {
        cb = info;
        info = null;
      }
      const connectInfo = info || {};
      if (sim.network.wifiUp) {
        if (cb) cb(null, { ssid: sim.ap.ssid, bssid: "" });
        return;
      }
      sim.stats.wifiJoins++;
      const ap = sim.ap;
      if (ap.inRange && connectInfo.ssid === ap.ssid && connectInfo.password === ap.password) {
        sim.network.wifiUp = true;
        this.emit("associated");
        this.emit("connected");
        if (cb) cb(null, connectInfo);
        return;
      }
      fail(cb);
    }

    disconnect(cb?: (err: unknown) => void): void {
      sim.network.wifiUp = false;
      sim.network.cutAll("silent");
      this.emit("disconnected");
      if (cb) cb(null);
    }

    getConnection(cb?: (err: unknown, info?: unknown) => void): void {
      if (!cb) return;
      if (sim.network.wifiUp) cb(null, { ssid: sim.ap.ssid, bssid: "" });
      else if (linux) cb(new SystemError(-1, "WiFi is not connected"));
      else cb(null); // (null, undefined): the Pico's way of saying "not connected"
    }

    scan(cb?: (err: unknown, results?: unknown[]) => void): void {
      if (cb) cb(null, sim.ap.inRange ? [{ ssid: sim.ap.ssid, bssid: "", security: "WPA2_PSK", rssi: -50, channel: 6 }] : []);
    }

    reset(cb?: (err: unknown) => void): void {
      if (cb) cb(null);
    }
  };
}

/** Kaluma's net.Socket over a simulated link. */
export class KalumaSocketBase extends SimEmitter implements LinkSink {
  destroyed = false;
  writableEnded = false;
  readableEnded = false;
  localAddress: string | null = null;
  localPort: number | null = null;
  remoteAddress: string | null = null;
  remotePort: number | null = null;
  private fd = -1;
  private link: Link | null = null;
  private wbuf = "";
  /** Bytes written into a link that died silently: lwIP holds them unacknowledged. */
  private unackedDead = 0;
  private readonly sim: KalumaSim;

  constructor(sim: KalumaSim) {
    super();
    if (!sim.global.__netdev) throw new Error("Network device not found");
    this.sim = sim;
    this.simUncaught = (e) => sim.uncaught(e);
  }

  connect(options: { host: string; port: number }, connectListener?: () => void): this {
    const sim = this.sim;
    this.fd = sim.allocateFd(this); // throws "WiFi is not connected." when Wi-Fi is down
    if (connectListener) this.on("connect", connectListener);
    // DNS runs synchronously inside the driver's connect (up to 3 s) and throws on failure.
    if (sim.network.resolve(options.host) === null) {
      sim.netdev.errno = -1;
      throw new Error("DNS response timeout.");
    }
    this.remoteAddress = options.host;
    this.remotePort = options.port;
    this.link = new Link(sim.network, options.host, options.port, this, sim.options.maxChunk || 1460);
    sim.netdev.errno = 0;
    this.emit("ready");
    return this;
  }

  write(chunk: Uint8Array | string, cb?: () => void): boolean {
    if (this.writableEnded) return false;
    if (chunk) {
      let s: string;
      if (typeof chunk === "string") {
        s = chunk;
      } else {
        // String.fromCharCode.apply(null, chunk) on the device: about 9x the size in heap.
        s = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
      }
      this.sim.stats.writes++;
      if (s.length > this.sim.stats.maxWriteBytes) this.sim.stats.maxWriteBytes = s.length;
      this.wbuf += s;
    }
    // Flushed from a device timer, after the caller has returned.
    this.sim.global.setTimeout(() => this.flush(), 0);
    if (cb) cb();
    return this.wbuf.length === 0;
  }

  end(chunk?: Uint8Array | string | (() => void), cb?: () => void): this {
    if (typeof chunk === "function") {
      cb = chunk;
      chunk = undefined;
    }
    if (chunk) this.write(chunk);
    this.writableEnded = true;
    this.flush();
    this.emit("finish");
    // TCP shutdown is disabled in the driver: nothing is sent, but 'end' fires.
    if (!this.readableEnded) {
      this.readableEnded = true;
      this.emit("end");
    }
    if (cb) cb();
    return this;
  }

  destroy(): void {
    if (this.destroyed) return;
    const freed = this.sim.freeFd(this.fd);
    // The driver's close is lwIP's tcp_close: what was written goes out, then the FIN (Kaluma's
    // own sources, and the bridge to the real runtime, do the same).
    this.flush();
    if (this.link) this.link.close();
    if (!freed && this.sim.options.driver === "linux") {
      this.sim.netdev.errno = -1;
      this.emit("error", new SystemError(1, "EPERM"));
      return;
    }
    this.sim.netdev.errno = freed ? 0 : -1;
    this.destroyed = true;
    this.emit("close");
  }

  private flush(): void {
    if (this.wbuf.length === 0 || this.destroyed || !this.link) return;
    const data = Buffer.from(this.wbuf, "latin1");
    this.wbuf = "";
    const sim = this.sim;
    const link = this.link;
    const unacked = (link.dead ? this.unackedDead : link.txPending) + data.length;
    if (unacked > KALUMA_SEND_BUFFER) {
      // tcp_write fails (ERR_MEM); the data is dropped.
      sim.stats.failedWrites++;
      sim.netdev.errno = -1;
      if (sim.options.driver === "linux") this.emit("error", new SystemError(-1, "write failed"));
      return;
    }
    sim.netdev.errno = 0;
    if (link.dead) this.unackedDead += data.length;
    else link.send(data);
  }

  // LinkSink

  connected(): void {
    this.localAddress = "127.0.0.1";
    this.emit("connect");
  }

  failed(): void {
    // A refused or unreachable connection is reported by nothing at all.
  }

  data(bytes: Buffer): void {
    if (this.destroyed) return;
    if (this.sim.options.stringData) {
      // The old driver built a C string with strncat: everything from the first NUL is lost.
      const nul = bytes.indexOf(0);
      this.emit("data", (nul >= 0 ? bytes.subarray(0, nul) : bytes).toString("latin1"));
      return;
    }
    const U8 = this.sim.realm<Uint8ArrayConstructor>("Uint8Array");
    const chunk = new U8(bytes.length);
    chunk.set(bytes);
    this.emit("data", chunk);
  }

  remoteClosed(how: "end" | "reset"): void {
    // A reset is reported by nothing (lwIP's error callback is not set); a close gives 'close'.
    if (how === "reset" || this.destroyed) return;
    this.sim.freeFd(this.fd);
    this.destroyed = true;
    this.emit("close");
  }

  sent(): void {
    // No 'drain' on Kaluma.
  }

  closed(): void {}
}

export function createKalumaSim(options?: KalumaSimOptions): KalumaSim {
  return new KalumaSim(options);
}

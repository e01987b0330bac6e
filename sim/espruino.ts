/**
 * A simulated Espruino board (an ESP32 by default): exactly the runtime APIs mcu-mqtt's Espruino
 * board and the Espruino example use, with the behaviour of the real interpreter
 * (read from its sources and measured on its Linux build), over real TCP to 127.0.0.1 through the fault layer.
 *
 * - `net.connect({host, port}, cb)` and `tls.connect(options, cb)`: 'data' is a String, one char
 *   per byte, at most 536 bytes (`maxChunk`, 268 on ESP8266); `write` takes strings and sends
 *   anything else as its toString() (a Uint8Array goes out as "65,66,0"), always returns false,
 *   and throws once the socket has closed; 'drain' when the send buffer has emptied; a server
 *   close or reset gives 'end' then 'close'; a refused connection gives 'error' then 'close' on
 *   boards (`build: "board"`) and throws from `connect` where the Linux build does
 *   (`build: "linux"`: no network, unknown host); listening for 'connect' as well as passing the
 *   callback is recorded as the crash it is. Events are queued, not called at once.
 * - `Wifi` / `EspruinoWiFi`: `connect(ssid, {password}, cb)`, events `connected`/`disconnected`,
 *   `getDetails`, `getIP`; the station joins again by itself when the access point returns.
 * - `E.toString`, `E.toUint8Array` (Latin-1, as the real one: "é" is [233]), `E.getTemperature`
 *   (NaN by default, as on ESP8266), `getTime()` (seconds since 1970 as a float), `setTime`,
 *   `getSerial`, `Modules.addCached`, and timers whose ids are reused, where `clearTimeout()`
 *   without an argument clears every timer and `clearTimeout(undefined)` throws.
 */
import type * as tlsTypes from "node:tls";
import { SimDevice, type SimOptions } from "./context.ts";
import { SimEmitter } from "./emitter.ts";
import { Link, type CutMode, type LinkSink } from "./network.ts";

export interface EspruinoSimOptions extends SimOptions {
  /** "board" (default): a refused connection arrives as 'error'. "linux": connect throws for no network or an unknown host. */
  build?: "board" | "linux";
  /** Largest 'data' chunk (default 536; 268 on ESP8266). */
  maxChunk?: number;
  /** More than this waiting in a socket's send buffer is recorded as running out of memory (default 16,384). */
  sendBufferBytes?: number;
  /** The access point in range, and whether the station has joined it already (default true). */
  wifi?: { ssid?: string; password?: string; joined?: boolean };
  /** What E.getTemperature() returns (default NaN: ESP8266 has no sensor; ESP32's is raw). */
  temperature?: number;
  /** What open sockets see when Wi-Fi drops (default "reset": 'end' then 'close'). */
  wifiLoss?: CutMode;
  /** Delay before the station joins again after the access point returns (default 50 ms). */
  rejoinMs?: number;
}

export interface EspruinoStats {
  writes: number;
  /** Writes of something that was not a String (sent as its toString(): a bug on a device). */
  nonStringWrites: number;
  maxBufferedBytes: number;
}

export class EspruinoSim extends SimDevice {
  readonly options: EspruinoSimOptions;
  readonly stats: EspruinoStats = { writes: 0, nonStringWrites: 0, maxBufferedBytes: 0 };
  readonly ap: { ssid: string; password: string; inRange: boolean };
  /** The station's wish: the network `connect` was asked for (it rejoins that one). */
  wanted: { ssid: string; password: string } | null = null;
  private timeOffsetS = 0;
  private wifiObject: EspruinoWifi | null = null;

  constructor(options?: EspruinoSimOptions) {
    const o = options || {};
    super("espruino", o, { reuseIds: true, numericMs: false, passArgs: true, clearAllWithoutArgs: true });
    this.options = o;
    const w = o.wifi || {};
    this.ap = { ssid: w.ssid || "sim-ap", password: w.password || "sim-password", inRange: true };
    this.network.wifiUp = w.joined === undefined ? true : w.joined;
    if (this.network.wifiUp) this.wanted = { ssid: this.ap.ssid, password: this.ap.password };
    this.installGlobals();
    this.installModules();
  }

  /** The access point comes into range or goes away (the station notices and rejoins later). */
  setAccessPoint(inRange: boolean): void {
    this.ap.inRange = inRange;
    const wifi = this.wifi();
    if (!inRange) {
      const was = this.network.wifiUp;
      this.network.wifiUp = false;
      this.network.cutAll(this.options.wifiLoss || "reset");
      if (was) wifi.emit("disconnected", { reason: "beacon_timeout" });
      return;
    }
    wifi.rejoinSoon();
  }

  /** @internal The Wifi module object (one per device). */
  wifi(): EspruinoWifi {
    if (!this.wifiObject) this.wifiObject = new EspruinoWifi(this);
    return this.wifiObject;
  }

  /** @internal Queues a device event (Espruino's emit is asynchronous). */
  queue(fn: () => void): void {
    this.network.soon(() => {
      try {
        fn();
      } catch (e) {
        this.uncaught(e);
      }
    });
  }

  protected moduleNotFound(name: string): Error {
    return new Error('Module "' + name + '" not found');
  }

  private installGlobals(): void {
    const g = this.global;
    const self = this;
    const text = (args: unknown[]) => args.map((a) => (typeof a === "string" ? a : a instanceof Error ? String(a) : JSON.stringify(a))).join(" ");
    g.console = { log: (...args: unknown[]) => self.print(text(args)) };
    g.print = (...args: unknown[]) => self.print(text(args));
    g.getTime = function () {
      return (performance.timeOrigin + performance.now()) / 1000 + self.timeOffsetS;
    };
    g.setTime = function (seconds: number) {
      self.timeOffsetS += seconds - g.getTime();
    };
    g.getSerial = function () {
      return "30aea4-sim";
    };
    g.process = {
      env: { VERSION: "2v24", BOARD: "ESP32" },
      memory: () => ({ free: 2500, usage: 0, total: 2500 }),
    };
    const U8 = this.realm<Uint8ArrayConstructor>("Uint8Array");
    const bytesOf = (args: unknown[], out: number[]) => {
      for (const a of args) {
        if (typeof a === "string") for (let i = 0; i < a.length; i++) out.push(a.charCodeAt(i) & 255);
        else if (typeof a === "number") out.push(a & 255);
        else if (a instanceof ArrayBuffer || (a && (a as any).constructor && (a as any).constructor.name === "ArrayBuffer")) bytesOf([new Uint8Array(a as ArrayBuffer)], out);
        else if (ArrayBuffer.isView(a)) {
          const v = a as Uint8Array;
          const u = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
          for (let i = 0; i < u.length; i++) out.push(u[i]);
        } else if (Array.isArray(a)) bytesOf(a, out);
        else if (a && typeof a === "object" && "data" in (a as object) && "count" in (a as object)) {
          const spec = a as { data: unknown; count: number };
          for (let i = 0; i < spec.count; i++) bytesOf([spec.data], out);
        }
      }
      return out;
    };
    g.E = {
      /** A binary string of the bytes of every argument. */
      toString: (...args: unknown[]) => Buffer.from(bytesOf(args, [])).toString("latin1"),
      /** The bytes of every argument; strings as Latin-1 (a char above 255 keeps its low byte). */
      toUint8Array: (...args: unknown[]) => {
        const bytes = bytesOf(args, []);
        const u = new U8(bytes.length);
        for (let i = 0; i < bytes.length; i++) u[i] = bytes[i];
        return u;
      },
      getTemperature: () => (self.options.temperature === undefined ? NaN : self.options.temperature),
    };
    g.Modules = {
      addCached: (name: string, fn: Function | string) => {
        const exports = self.realm("({})");
        const module: any = { exports };
        const saved = { exports: g.exports, module: g.module };
        g.exports = exports;
        g.module = module;
        try {
          if (typeof fn === "string") self.run(fn, name + ".js");
          else fn();
        } finally {
          const result = module.exports !== exports ? module.exports : g.exports;
          g.exports = saved.exports;
          g.module = saved.module;
          this.cacheModule(name, result);
        }
      },
      removeCached: () => {},
      getCached: () => [],
    };
  }

  private installModules(): void {
    const self = this;
    const connect = (secure: boolean) =>
      function (options: any, callback?: () => void) {
        return new EspruinoSocket(self, options, callback, secure);
      };
    this.defineModule("net", () => ({ connect: connect(false), createConnection: connect(false) }));
    this.defineModule("tls", () => ({ connect: connect(true) }));
    this.defineModule("Wifi", () => self.wifi());
    this.defineModule("EspruinoWiFi", () => self.wifi());
  }
}

/** The Wifi module of ESP32/ESP8266 (and the same shape for EspruinoWiFi). */
class EspruinoWifi extends SimEmitter {
  private pending: ((err: unknown) => void)[] = [];
  private rejoinTimer = false;

  constructor(private readonly sim: EspruinoSim) {
    super();
    this.simThrowUnhandled = false;
    this.simDefer = (fn) => sim.queue(fn);
    this.simUncaught = (e) => sim.uncaught(e);
  }

  connect(ssid: string, options?: { password?: string } | ((err: unknown) => void), callback?: (err: unknown) => void): void {
    if (typeof options === "function") {
      callback = options;
      options = {};
    }
    const password = options && options.password !== undefined ? options.password : "";
    const sim = this.sim;
    sim.wanted = { ssid, password };
    if (callback) this.pending.push(callback);
    if (sim.ap.inRange && ssid === sim.ap.ssid && password !== sim.ap.password) {
      // The only error the callback hears; others make the station retry by itself.
      const waiting = this.pending;
      this.pending = [];
      for (const cb of waiting) sim.queue(() => cb("bad password"));
      return;
    }
    this.rejoinSoon();
  }

  /** @internal Joins the wanted network if it is in range, a moment from now. */
  rejoinSoon(): void {
    if (this.rejoinTimer) return;
    this.rejoinTimer = true;
    const sim = this.sim;
    sim.network.later(sim.options.rejoinMs === undefined ? 50 : sim.options.rejoinMs, () => {
      this.rejoinTimer = false;
      const want = sim.wanted;
      if (!want || !sim.ap.inRange || want.ssid !== sim.ap.ssid || want.password !== sim.ap.password) return;
      const was = sim.network.wifiUp;
      sim.network.wifiUp = true;
      if (!was) this.emit("connected", { ip: "127.0.0.1", netmask: "255.0.0.0", gw: "127.0.0.1" });
      const waiting = this.pending;
      this.pending = [];
      for (const cb of waiting) sim.queue(() => cb(null));
    });
  }

  disconnect(callback?: () => void): void {
    const sim = this.sim;
    sim.wanted = null;
    const was = sim.network.wifiUp;
    sim.network.wifiUp = false;
    sim.network.cutAll(sim.options.wifiLoss || "reset");
    if (was) this.emit("disconnected", { reason: "assoc_leave" });
    if (callback) sim.queue(callback);
  }

  getDetails(callback?: (details: unknown) => void): unknown {
    const sim = this.sim;
    const details = { status: sim.network.wifiUp ? "connected" : sim.wanted ? "connecting" : "off", ssid: sim.wanted ? sim.wanted.ssid : "", rssi: -50 };
    if (callback) sim.queue(() => callback(details));
    return details;
  }

  getStatus(callback?: (status: unknown) => void): unknown {
    const status = { station: this.sim.network.wifiUp ? "connected" : "off", ap: "disabled", mode: "sta" };
    if (callback) this.sim.queue(() => callback(status));
    return status;
  }

  getIP(callback?: (err: unknown, ip: unknown) => void): unknown {
    const ip = { ip: this.sim.network.wifiUp ? "127.0.0.1" : "0.0.0.0", netmask: "255.0.0.0", gw: "127.0.0.1", mac: "30:ae:a4:00:00:01" };
    if (callback) this.sim.queue(() => callback(null, ip));
    return ip;
  }
}

/** Espruino's Socket over a simulated link. */
class EspruinoSocket extends SimEmitter implements LinkSink {
  private link: Link | null = null;
  private isClosed = false;
  private ending = false;
  private readonly hadCallback: boolean;

  constructor(
    private readonly sim: EspruinoSim,
    options: any,
    private readonly callback: ((socket?: unknown) => void) | undefined,
    secure: boolean,
  ) {
    super();
    this.simThrowUnhandled = false;
    this.simDefer = (fn) => sim.queue(fn);
    this.simUncaught = (e) => sim.uncaught(e);
    this.hadCallback = typeof callback === "function";
    const linux = sim.options.build === "linux";
    const host = options && options.host ? String(options.host) : "";
    const port = options && options.port ? Number(options.port) : 80;
    if (!sim.network.wifiUp) {
      if (linux) throw new Error("Unable to connect: no network");
      this.failSoon("Not connected to the internet");
      return;
    }
    if (sim.network.resolve(host) === null) {
      if (linux) throw new Error("Unable to locate host " + host);
      this.failSoon("Unable to locate host " + host);
      return;
    }
    let tlsOptions: tlsTypes.ConnectionOptions | null = null;
    if (secure) {
      tlsOptions = { rejectUnauthorized: !!options.ca };
      if (options.ca) tlsOptions.ca = options.ca;
      if (options.cert) tlsOptions.cert = options.cert;
      if (options.key) tlsOptions.key = options.key;
    }
    this.link = new Link(sim.network, host, port, this, sim.options.maxChunk || 536, tlsOptions);
  }

  on(event: string, listener: (...args: any[]) => void): this {
    if (event === "connect" && this.hadCallback) {
      const err = new Error("sim: a callback to net.connect and a 'connect' listener together crash Espruino");
      this.sim.uncaught(err);
      throw err;
    }
    return super.on(event, listener);
  }

  write(data: unknown): boolean {
    if (this.isClosed || this.ending || !this.link) throw new Error("Socket is closed");
    let s: string;
    if (typeof data === "string") s = data;
    else {
      this.sim.stats.nonStringWrites++;
      s = String(data); // a Uint8Array becomes "65,66,0"
    }
    const bytes = Buffer.from(s, "latin1");
    this.sim.stats.writes++;
    const limit = this.sim.options.sendBufferBytes || 16384;
    const buffered = this.link.txPending + bytes.length;
    if (buffered > this.sim.stats.maxBufferedBytes) this.sim.stats.maxBufferedBytes = buffered;
    if (buffered > limit) this.sim.uncaught(new Error("sim: out of memory: " + buffered + " bytes waiting in a socket's send buffer"));
    this.link.send(bytes);
    return false;
  }

  end(data?: unknown): void {
    if (this.isClosed || this.ending) return;
    if (data !== undefined) this.write(data);
    this.ending = true;
    if (this.link) this.link.close();
    else this.closeSoon();
  }

  private failSoon(message: string): void {
    this.sim.queue(() => {
      this.emit("error", { code: -1, message });
      this.closeSoon();
    });
  }

  private closeSoon(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.emit("close", false);
  }

  // LinkSink

  connected(): void {
    const cb = this.callback;
    if (cb) this.sim.queue(() => cb.call(this, this));
    else this.emit("connect");
  }

  failed(err: Error): void {
    this.emit("error", { code: -1, message: err.message });
    this.closeSoon();
  }

  data(bytes: Buffer): void {
    if (this.isClosed) return;
    this.emit("data", bytes.toString("latin1"));
  }

  remoteClosed(): void {
    if (this.isClosed) return;
    this.emit("end");
    this.isClosed = true;
    this.emit("close", false);
  }

  sent(): void {
    if (!this.isClosed) this.emit("drain");
  }

  closed(): void {
    // A local end() has completed.
    this.closeSoon();
  }
}

export function createEspruinoSim(options?: EspruinoSimOptions): EspruinoSim {
  return new EspruinoSim(options);
}

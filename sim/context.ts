/**
 * What both simulated runtimes share: a `vm` context with a runtime's globals, its timers (with
 * the runtime's own traps), a `require` that resolves the runtime's modules plus `mcu-mqtt`, and
 * the loading of `mcu-mqtt` itself: the bundle from dist/<runtime>/mcu-mqtt.js when it exists
 * (`npm run build:bundles`), else boards/<runtime>/index.ts compiled on the fly with esbuild,
 * with the build flags rollup.config.mjs gives that bundle. The QoS 0-only build loads the same
 * way, as `mcu-mqtt-qos0` (the name an Espruino IDE would give the file) or `mcu-mqtt/qos0` (a
 * Kaluma app's package path): dist/<runtime>/mcu-mqtt-qos0.js, or the same entry compiled with
 * QOS12 false.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as vm from "node:vm";
import { SimNetwork, type SimNetworkOptions } from "./network.ts";
import { SimRandom } from "./prng.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export type RuntimeName = "kaluma" | "espruino";

/**
 * Which mcu-mqtt the device loads: `bundle` (dist/<runtime>/mcu-mqtt.js, an error when missing),
 * `source` (boards/<runtime>/index.ts through esbuild), `auto` (the bundle when it exists).
 */
export type ModuleSource = "auto" | "bundle" | "source";

export interface SimOptions extends SimNetworkOptions {
  module?: ModuleSource;
  /** Each line the device prints (default: kept in `logs` only). */
  log?: (line: string) => void;
  /** Globals set before any script runs (e.g. CONFIG for the examples). */
  globals?: { [name: string]: unknown };
}

interface TimerEntry {
  handle: NodeJS.Timeout;
  repeat: boolean;
}

/** The runtime's setTimeout family, with its traps. */
export interface TimerPolicy {
  /** Espruino: the lowest free id is handed out again. Kaluma: ids only grow. */
  reuseIds: boolean;
  /** Kaluma: `ms` must be a number. */
  numericMs: boolean;
  /** Kaluma: extra arguments are not passed to the callback. */
  passArgs: boolean;
  /** Espruino: clearTimeout() without an argument clears every timer. */
  clearAllWithoutArgs: boolean;
}

/** The full client or the QoS 0-only one. */
export type Flavor = "full" | "qos0";

const BUNDLE: { [flavor: string]: string } = { full: "mcu-mqtt.js", qos0: "mcu-mqtt-qos0.js" };

const compiled = new Map<string, string>();

/**
 * The flags rollup.config.mjs builds each bundle with: strings are bytes on Espruino; the QoS 0
 * build leaves QoS 1/2 out.
 */
function buildFlags(runtime: RuntimeName, flavor: Flavor): string {
  const flags = { DEBUG: false, QOS12: flavor === "full", BYTE_STRINGS: runtime === "espruino" };
  return Object.keys(flags).map((name) => `export const ${name} = ${JSON.stringify((flags as any)[name])};\n`).join("");
}

/**
 * boards/<runtime>/index.ts as one CommonJS script, compiled once per process. src/build-flags.ts
 * is replaced with the bundle's constants, as the bundler does: esbuild's synchronous API takes no
 * plugins, so the sources are compiled from a copy that has the bundle's flags.
 */
function compileSource(runtime: RuntimeName, flavor: Flavor): string {
  const key = runtime + "/" + flavor;
  const cached = compiled.get(key);
  if (cached) return cached;
  // esbuild is loaded only when the bundle is missing.
  const require = createRequire(join(ROOT, "package.json"));
  const esbuild = require("esbuild") as typeof import("esbuild");
  const copy = mkdtempSync(join(tmpdir(), "mcu-mqtt-sim-"));
  try {
    cpSync(join(ROOT, "src"), join(copy, "src"), { recursive: true });
    cpSync(join(ROOT, "boards", runtime), join(copy, "boards", runtime), { recursive: true });
    writeFileSync(join(copy, "src", "build-flags.ts"), buildFlags(runtime, flavor));
    const result = esbuild.buildSync({
      entryPoints: [join(copy, "boards", runtime, "index.ts")],
      bundle: true,
      format: "cjs",
      write: false,
      platform: "neutral",
      target: runtime === "kaluma" ? "es2019" : "es2015",
      // The runtime's own modules stay `require` calls, resolved by the device.
      external: ["net", "tls", "wifi", "Wifi", "EspruinoWiFi", "pico_cyw43", "adc"],
      logLevel: "silent",
    });
    const code = result.outputFiles[0].text;
    compiled.set(key, code);
    return code;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** The newest modification time of the .ts files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (name.endsWith(".ts")) newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}

/**
 * The source text of mcu-mqtt for `runtime`, and where it came from. `auto` takes the bundle
 * unless a source file is newer (a stale bundle would test old code); MCU_MQTT_SIM_MODULE
 * (auto, bundle, source) overrides the choice.
 */
export function mcuMqttSource(runtime: RuntimeName, source: ModuleSource, flavor: Flavor = "full"): { code: string; from: string } {
  const env = process.env.MCU_MQTT_SIM_MODULE;
  const choice: ModuleSource = env === "bundle" || env === "source" || env === "auto" ? env : source;
  const bundle = join(ROOT, "dist", runtime, BUNDLE[flavor]);
  let stale = false;
  if (choice === "auto" && existsSync(bundle)) {
    const built = statSync(bundle).mtimeMs;
    stale = newestSource(join(ROOT, "src")) > built || newestSource(join(ROOT, "boards", runtime)) > built;
  }
  if (choice === "bundle" || (choice === "auto" && existsSync(bundle) && !stale)) {
    return { code: readFileSync(bundle, "utf8"), from: bundle };
  }
  const why = stale ? " (esbuild; the bundle is older than the sources)" : " (esbuild)";
  return { code: compileSource(runtime, flavor), from: join(ROOT, "boards", runtime, "index.ts") + (flavor === "qos0" ? " (QoS 0 build)" : "") + why };
}

/** A simulated device: a vm context with a runtime's globals over a `SimNetwork`. */
export class SimDevice {
  readonly runtime: RuntimeName;
  readonly network: SimNetwork;
  readonly context: vm.Context;
  /** The context's global object. */
  readonly global: any;
  /** Exceptions thrown by device code from callbacks (a device prints them and carries on). */
  readonly errors: unknown[] = [];
  /** Lines the device printed. */
  readonly logs: string[] = [];
  /** Where mcu-mqtt was loaded from, once loaded. */
  moduleFrom = "";
  readonly random: SimRandom;
  protected readonly modules: { [name: string]: () => unknown } = {};
  private readonly cache: { [name: string]: unknown } = {};
  private timers = new Map<number, TimerEntry>();
  private nextTimerId = 1;
  private disposed = false;
  private readonly moduleSource: ModuleSource;
  private readonly logSink: ((line: string) => void) | undefined;

  constructor(runtime: RuntimeName, options: SimOptions, policy: TimerPolicy) {
    this.runtime = runtime;
    this.network = new SimNetwork(options);
    this.random = new SimRandom(((options.seed === undefined ? 1 : options.seed) ^ 0x5bd1e995) >>> 0);
    this.moduleSource = options.module || "auto";
    this.logSink = options.log;
    const g: any = {};
    this.context = vm.createContext(g, { name: runtime + " device" });
    this.global = vm.runInContext("globalThis", this.context);
    this.global.global = this.global;
    // Deterministic when seeded: the device's Math.random draws from the seed.
    const random = this.random;
    this.global.Math.random = function () {
      return random.next();
    };
    this.installTimers(policy);
    this.global.require = (name: string) => this.require(name);
    if (options.globals) for (const name of Object.keys(options.globals)) this.global[name] = options.globals[name];
  }

  /** Records what device code threw from a callback. */
  uncaught(err: unknown): void {
    this.errors.push(err);
    this.print("Uncaught " + (err instanceof Error || (err && (err as Error).stack) ? (err as Error).stack : String(err)));
  }

  print(line: string): void {
    this.logs.push(line);
    if (this.logSink) this.logSink(line);
  }

  /** Runs a script (an example, a sketch) as the device runs user code. */
  run(source: string, filename?: string): unknown {
    return vm.runInContext(this.prologue() + source, this.context, { filename: filename || this.runtime + "-script.js" });
  }

  /** Text put before a script on the same line (Kaluma runs user code in strict mode). */
  protected prologue(): string {
    return "";
  }

  /** The device's `require`: the runtime's modules and mcu-mqtt. */
  require(name: string): unknown {
    if (name in this.cache) return this.cache[name];
    if (name === "mcu-mqtt" || name === "mcu-mqtt-qos0" || name === "mcu-mqtt/qos0") {
      const exports = this.loadMcuMqtt(name === "mcu-mqtt" ? "full" : "qos0");
      this.cache[name] = exports;
      return exports;
    }
    const make = this.modules[name];
    if (!make) throw this.moduleNotFound(name);
    const m = make();
    this.cache[name] = m;
    return m;
  }

  protected moduleNotFound(name: string): Error {
    return new Error("Module " + name + " not found");
  }

  /** Makes `name` resolvable by the device's require. */
  defineModule(name: string, make: () => unknown): void {
    this.modules[name] = make;
    delete this.cache[name];
  }

  /** A value of the device's realm (its own Uint8Array, say). */
  realm<T = any>(expression: string): T {
    return vm.runInContext(expression, this.context);
  }

  private loadMcuMqtt(flavor: Flavor): unknown {
    const { code, from } = mcuMqttSource(this.runtime, this.moduleSource, flavor);
    this.moduleFrom = from;
    const addCached = code.indexOf("Modules.addCached(") >= 0;
    if (addCached) {
      // An Espruino module file as the IDE sends it: it registers itself.
      vm.runInContext(code, this.context, { filename: from });
      const found = this.cache["mcu-mqtt"];
      if (!found) throw new Error("sim: " + from + " did not register mcu-mqtt with Modules.addCached");
      return found;
    }
    const wrapper = vm.runInContext("(function (exports, module, require) {" + code + "\n})", this.context, { filename: from });
    const module: any = { exports: this.realm("({})") };
    wrapper.call(module.exports, module.exports, module, this.global.require);
    return module.exports;
  }

  /** Stores a module registered by the device itself (Espruino's Modules.addCached). */
  protected cacheModule(name: string, exports: unknown): void {
    this.cache[name] = exports;
  }

  private installTimers(policy: TimerPolicy): void {
    const self = this;
    const g = this.global;
    const start = (repeat: boolean, fn: unknown, ms: unknown, args: unknown[]): number => {
      if (typeof fn !== "function") throw new TypeError("callback must be a function");
      if (policy.numericMs && typeof ms !== "number") throw new TypeError("delay must be a number");
      let delay = typeof ms === "number" && ms > 0 ? ms : 0;
      if (!(delay >= 0)) delay = 0;
      let id: number;
      if (policy.reuseIds) {
        id = 1;
        while (self.timers.has(id)) id++;
      } else {
        id = self.nextTimerId++;
      }
      const callArgs = policy.passArgs ? args : [];
      const fire = () => {
        if (self.disposed) return;
        if (!repeat) self.timers.delete(id);
        try {
          (fn as Function).apply(undefined, callArgs);
        } catch (e) {
          // Kaluma cancels a timer whose callback throws, intervals included.
          if (repeat) clear(id);
          self.uncaught(e);
        }
      };
      const handle = repeat ? setInterval(fire, delay) : setTimeout(fire, delay);
      self.timers.set(id, { handle, repeat });
      return id;
    };
    const clear = (id: number): void => {
      const entry = self.timers.get(id);
      if (!entry) return;
      self.timers.delete(id);
      if (entry.repeat) clearInterval(entry.handle);
      else clearTimeout(entry.handle);
    };
    const clearer = function (this: unknown, id?: unknown) {
      if (arguments.length === 0 && policy.clearAllWithoutArgs) {
        for (const key of Array.from(self.timers.keys())) clear(key);
        return;
      }
      if (id === undefined) throw new TypeError("clearTimeout(undefined): the timer handle is undefined");
      clear(id as number);
    };
    g.setTimeout = function (fn: unknown, ms: unknown, ...args: unknown[]) {
      return start(false, fn, ms, args);
    };
    g.setInterval = function (fn: unknown, ms: unknown, ...args: unknown[]) {
      return start(true, fn, ms, args);
    };
    g.clearTimeout = clearer;
    g.clearInterval = clearer;
  }

  /** Timers still pending on the device. */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** Stops everything: timers, sockets. The device's callbacks run no more. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const entry of this.timers.values()) {
      if (entry.repeat) clearInterval(entry.handle);
      else clearTimeout(entry.handle);
    }
    this.timers.clear();
    this.network.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}

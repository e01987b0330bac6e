/**
 * Real brokers for the integration tests, started and stopped from the test, on 127.0.0.1 only:
 *
 * - `startAedes()`: aedes in this process (always available; it is a devDependency).
 * - `startMosquitto()`: the system's mosquitto in a child process, with a generated config in a
 *   temp dir. A process 'exit' hook kills any that a failed test left running.
 * - `startProxy()`: a TCP relay between a client and a broker that can cut every connection or
 *   swallow the broker's bytes, for faults a real broker will not produce on request.
 * - `waitFor()`: polls a condition with a deadline, so no test waits without a bound;
 *   `waitForBrokerLog()` waits for a line in mosquitto's log the same way.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { Aedes, type AedesOptions } from "aedes";

export const HOST = "127.0.0.1";

export interface RunningBroker {
  port: number;
  close(): Promise<void>;
}

export interface RunningMosquitto extends RunningBroker {
  /** Stops the broker (SIGTERM, so a persistent one saves its database) and starts it again. */
  restart(): Promise<void>;
  /** The temp dir holding the config, the log and the persistence file. */
  dir: string;
  /** The broker's log so far, for failure messages. */
  log(): string;
}

/**
 * Polls `condition` every few milliseconds until it holds; rejects after `timeoutMs` with
 * `what` (and `detail()` when given) in the message.
 */
export function waitFor(condition: () => boolean, timeoutMs: number, what: string, detail?: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const poll = () => {
      let ok = false;
      try {
        ok = condition();
      } catch (e) {
        reject(e);
        return;
      }
      if (ok) resolve();
      else if (Date.now() - start >= timeoutMs) {
        reject(new Error("timed out after " + timeoutMs + " ms waiting for " + what + (detail ? ": " + detail() : "")));
      } else setTimeout(poll, 5);
    };
    poll();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port that was free a moment ago (the kernel's pick for port 0 on 127.0.0.1). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, HOST, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Closes a server and destroys the sockets it accepted (tracked in `sockets`). */
function closeServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  sockets.clear();
  return new Promise((resolve) => server.close(() => resolve()));
}

// ---------------------------------------------------------------------------------------------
// aedes

/** Starts aedes in-process on 127.0.0.1 and a free port. `options` go to `Aedes.createBroker`. */
export async function startAedes(options?: AedesOptions): Promise<RunningBroker> {
  const broker = await Aedes.createBroker(options);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    broker.handle(socket);
  });
  const port = await listen(server);
  let closed = false;
  return {
    port,
    async close() {
      if (closed) return;
      closed = true;
      await closeServer(server, sockets);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// mosquitto

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN || "/usr/sbin/mosquitto";
export const MOSQUITTO_PASSWD_BIN = process.env.MOSQUITTO_PASSWD_BIN || "/usr/bin/mosquitto_passwd";

/**
 * The dynamic-security plugin shipped with mosquitto 2, or "" when it is not found. Its ACLs can
 * refuse a subscription (SUBACK 0x80); the plain acl_file cannot in 2.0.x, whose default check
 * lets every SUBSCRIBE through and only filters delivery.
 */
export function mosquittoDynsecPlugin(): string {
  const candidates = [
    process.env.MOSQUITTO_DYNSEC_PLUGIN || "",
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
  ];
  for (const path of candidates) {
    if (!path) continue;
    try {
      accessSync(path, constants.R_OK);
      return path;
    } catch {
      // next
    }
  }
  return "";
}

/** Whether the mosquitto binary is installed (and executable). */
/** Whether `path` is a file this process may run. */
export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function mosquittoAvailable(): boolean {
  return executable(MOSQUITTO_BIN);
}

/** Why mosquitto tests cannot run, or "" when they can. */
export function mosquittoMissing(): string {
  return mosquittoAvailable() ? "" : "mosquitto not installed: " + MOSQUITTO_BIN + " not found or not executable (apt-get install mosquitto mosquitto-clients)";
}

/**
 * For a test that needs mosquitto: true when it is there. When it is not, the test is skipped with
 * a visible notice, or fails when MCU_MQTT_REQUIRE_MOSQUITTO=1 (as in CI, where a missing broker
 * must not pass silently).
 */
export function needMosquitto(t: TestContext): boolean {
  const missing = mosquittoMissing();
  if (!missing) return true;
  if (process.env.MCU_MQTT_REQUIRE_MOSQUITTO === "1") {
    throw new Error(missing + " (MCU_MQTT_REQUIRE_MOSQUITTO=1 requires it)");
  }
  t.skip(missing);
  return false;
}

/** Mosquitto processes still running, killed when this process exits whatever the tests did. */
const liveBrokers = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const proc of liveBrokers) {
      try {
        proc.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

export interface MosquittoOptions {
  /** Keep sessions and retained messages on disk across `restart()`. */
  persistence?: boolean;
}

/** Resolves when a TCP connection to the port succeeds; rejects when `failed()` says so or at the deadline. */
async function waitForPort(port: number, timeoutMs: number, failed: () => string): Promise<void> {
  const start = Date.now();
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: HOST, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - start > timeoutMs) throw new Error("mosquitto did not accept connections on port " + port + " within " + timeoutMs + " ms");
    await sleep(20);
  }
}

/**
 * Starts mosquitto with a generated config: a listener on 127.0.0.1 and a free port, anonymous
 * access unless a `password_file` line is among `extraConfigLines`, `max_inflight_messages 65534`
 * (mosquitto 2.0.11 stalls QoS 2 with its default of 20, and duplicates restored QoS 2 messages
 * with 0), persistence in the temp dir when asked, and the log in a file there.
 */
export async function startMosquitto(extraConfigLines?: string[], options?: MosquittoOptions): Promise<RunningMosquitto> {
  const missing = mosquittoMissing();
  if (missing) throw new Error(missing);
  installExitHook();
  const extra = extraConfigLines ? extraConfigLines : [];
  const persistence = !!(options && options.persistence);
  const dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-mosquitto-"));
  const logFile = join(dir, "mosquitto.log");
  const configFile = join(dir, "mosquitto.conf");
  const hasPasswords = extra.some((line) => /^\s*password_file\s/.test(line));
  let port = 0;
  let proc: ChildProcess | null = null;
  let exited = "";

  const readLog = () => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };

  const writeConfig = () => {
    const lines = [
      "per_listener_settings false",
      "listener " + port + " " + HOST,
      "allow_anonymous " + (hasPasswords ? "false" : "true"),
      "max_inflight_messages 65534",
      "max_queued_messages 10000",
      // Running as root, mosquitto would switch to the 'mosquitto' user, which cannot write here.
      "user " + (process.getuid && process.getuid() === 0 ? "root" : "mosquitto"),
      "log_dest file " + logFile,
      "log_type all",
      "connection_messages true",
      "log_timestamp true",
    ];
    if (persistence) {
      lines.push("persistence true", "persistence_location " + dir + "/", "persistence_file mosquitto.db", "autosave_interval 0");
    } else {
      lines.push("persistence false");
    }
    writeFileSync(configFile, lines.concat(extra).join("\n") + "\n");
  };

  const spawnBroker = async (): Promise<void> => {
    exited = "";
    const child = spawn(MOSQUITTO_BIN, ["-c", configFile], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("exit", (code, signal) => {
      liveBrokers.delete(child);
      exited = "mosquitto exited (code " + code + ", signal " + signal + "): " + stderr.trim() + "\n" + readLog();
    });
    child.on("error", (err) => {
      exited = "mosquitto could not start: " + err.message;
    });
    proc = child;
    liveBrokers.add(child);
    await waitForPort(port, 5000, () => exited);
  };

  const stop = async (): Promise<void> => {
    const child = proc;
    proc = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill("SIGKILL"), 3000);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill("SIGTERM");
    });
  };

  // The free port may be taken between the probe and mosquitto's bind: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    writeConfig();
    try {
      await spawnBroker();
      break;
    } catch (e) {
      await stop();
      if (attempt >= 2) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }

  let closed = false;
  return {
    get port() {
      return port;
    },
    dir,
    log: readLog,
    async restart() {
      await stop();
      await spawnBroker();
    },
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      if (!process.env.MCU_MQTT_KEEP_BROKER_DIRS) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until mosquitto's log holds `text` at least `count` times (default once). The log file is
 * read every 25 ms, not every few: tests wait on several brokers at once on a busy machine. Rejects
 * after `timeoutMs` with the end of the log in the message.
 */
export function waitForBrokerLog(broker: RunningMosquitto, text: string, timeoutMs: number, count?: number): Promise<void> {
  const wanted = count === undefined ? 1 : count;
  const seen = () => broker.log().split(text).length - 1;
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const poll = () => {
      if (seen() >= wanted) resolve();
      else if (Date.now() - start >= timeoutMs) {
        reject(new Error("timed out after " + timeoutMs + " ms waiting for " + JSON.stringify(text) + (wanted > 1 ? " " + wanted + " times" : "") + " in the broker's log: " + broker.log().slice(-1500)));
      } else setTimeout(poll, 25);
    };
    poll();
  });
}

/** Writes a mosquitto password file with one user, through `mosquitto_passwd -b`. */
export function writePasswordFile(path: string, user: string, password: string): void {
  writeFileSync(path, "");
  const r = spawnSync(MOSQUITTO_PASSWD_BIN, ["-b", path, user, password], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    throw new Error("mosquitto_passwd failed: " + (r.error ? r.error.message : r.stderr));
  }
}

// ---------------------------------------------------------------------------------------------
// A relay with faults

export interface Proxy {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  /** Destroys every relayed connection at once, on both sides (no DISCONNECT reaches the broker). */
  cut(): void;
  /** While true, bytes from the broker are dropped instead of reaching the client. */
  swallowDown: boolean;
  close(): Promise<void>;
}

/** A TCP relay on 127.0.0.1 to `targetPort`, each accepted connection relayed to one of its own. */
export async function startProxy(targetPort: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
  };
  const proxy: Proxy = {
    port: 0,
    accepted: 0,
    swallowDown: false,
    cut() {
      for (const s of sockets) s.destroy();
    },
    close: () => closeServer(server, sockets),
  };
  const server = net.createServer((client) => {
    proxy.accepted++;
    track(client);
    const upstream = net.connect({ host: HOST, port: targetPort });
    track(upstream);
    client.on("data", (d) => upstream.write(d));
    upstream.on("data", (d) => {
      if (!proxy.swallowDown) client.write(d);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  proxy.port = await listen(server);
  return proxy;
}

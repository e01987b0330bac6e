/**
 * A mosquitto of the benchmark's own: spawned on 127.0.0.1 and a free port with a generated
 * config in a temp dir, killed when the benchmark ends (or when the process exits, whatever
 * happened). The benchmark does not share the test helpers: bench/ stands alone.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const HOST = "127.0.0.1";
export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN || "/usr/sbin/mosquitto";

export interface BenchBroker {
  url: string;
  host: string;
  port: number;
  /** e.g. "mosquitto 2.0.11", or "external" for a broker given with --broker. */
  name: string;
  /** The broker's process, when it is ours: its CPU time is read from /proc. */
  pid?: number;
  close(): Promise<void>;
}

/** Whether the mosquitto binary is there and executable. */
export function mosquittoAvailable(): boolean {
  try {
    accessSync(MOSQUITTO_BIN, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** "2.0.11", from `mosquitto -h`, or "" when it cannot be told. */
export function mosquittoVersion(): string {
  const res = spawnSync(MOSQUITTO_BIN, ["-h"], { encoding: "utf8" });
  const m = /mosquitto version (\S+)/.exec((res.stdout || "") + (res.stderr || ""));
  return m ? m[1] : "";
}

/** A port the kernel just handed out for 127.0.0.1 (free a moment ago). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, HOST, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
let hooked = false;
function killAllAtExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const child of live) {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone already
      }
    }
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/**
 * Starts mosquitto for the benchmark. The config: one listener on 127.0.0.1, anonymous access,
 * no persistence, no logging beyond errors, and `max_inflight_messages 65534` (mosquitto 2.0.11
 * stalls QoS 2 delivery with its default of 20; the windows here stay far below 65534).
 * `max_queued_messages` is raised so a queue never drops a QoS 1/2 message of a run.
 * With `noDelay`, `set_tcp_nodelay true`: mosquitto's default leaves Nagle's algorithm on, so a
 * lone small message to a subscriber can wait for the ACK of the previous one (up to the 40 ms
 * delayed-ACK timer), which is what a latency run would then measure, for every client alike.
 */
export async function startMosquitto(options: { noDelay?: boolean } = {}): Promise<BenchBroker> {
  if (!mosquittoAvailable()) throw new Error("mosquitto not found at " + MOSQUITTO_BIN);
  killAllAtExit();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-bench-"));
  const config = join(dir, "mosquitto.conf");
  const log = join(dir, "mosquitto.log");
  writeFileSync(
    config,
    [
      "per_listener_settings false",
      "listener " + port + " " + HOST,
      "allow_anonymous true",
      "max_inflight_messages 65534",
      "max_queued_messages 100000",
      "persistence false",
      ...(options.noDelay ? ["set_tcp_nodelay true"] : []),
      // Running as root, mosquitto would switch to the 'mosquitto' user, who cannot write here.
      "user " + (process.getuid && process.getuid() === 0 ? "root" : "mosquitto"),
      "log_dest file " + log,
      "log_type error",
      "log_type warning",
    ].join("\n") + "\n",
  );
  const child = spawn(MOSQUITTO_BIN, ["-c", config], { stdio: ["ignore", "ignore", "pipe"] });
  live.add(child);
  let exited = "";
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  child.on("exit", (code, signal) => {
    live.delete(child);
    exited = "mosquitto exited (code " + code + ", signal " + signal + "): " + stderr.trim();
  });
  child.on("error", (err) => (exited = "mosquitto could not start: " + err.message));
  const start = Date.now();
  while (!(await canConnect(port))) {
    if (exited) throw new Error(exited + "\n" + readLog(log));
    if (Date.now() - start > 5000) {
      child.kill("SIGKILL");
      throw new Error("mosquitto did not listen on port " + port + " within 5 s\n" + readLog(log));
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const version = mosquittoVersion();
  return {
    url: "mqtt://" + HOST + ":" + port,
    host: HOST,
    port,
    name: "mosquitto " + (version || "(unknown version)") + (options.noDelay ? " (set_tcp_nodelay true)" : ""),
    pid: child.pid,
    close: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 2000).unref();
      }),
  };
}

function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** A broker given by URL (--broker): nothing to start or stop. */
export function externalBroker(url: string): BenchBroker {
  const u = new URL(url);
  return {
    url,
    host: u.hostname,
    port: u.port ? Number(u.port) : 1883,
    name: "external broker (" + url + ")",
    close: async () => {},
  };
}

/** CPU time (user + system) of process `pid` in ms, from /proc (Linux), or NaN. */
export function processCpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync("/proc/" + pid + "/stat", "utf8");
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(rest[11]) + Number(rest[12]);
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

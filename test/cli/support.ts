/**
 * Running the CLI, the chat and mosquitto's own clients as child processes. The CLI runs as built
 * (dist/node/cli/mcu-mqtt.js, from the copy scripts/run-tests.mjs builds before the tests) and
 * the chat as one bundled file, so that a child does not compile TypeScript as it starts. Every
 * wait is on an event (an output line, a line in the broker's log, an exit) and bounded by
 * LIMIT_MS, an outer limit for a machine busy with other work, never a guess at how long it takes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { executable, mosquittoMissing, type RunningMosquitto, waitFor, waitForBrokerLog } from "../helpers/brokers.ts";

/** The longest any one wait may take: a healthy run needs a fraction of it. */
export const LIMIT_MS = 60000;
/** A test's own limit, above the few LIMIT_MS waits it may chain. */
export const TEST_LIMIT = { timeout: 4 * LIMIT_MS };

export const ROOT = new URL("../../", import.meta.url).pathname;
export const MOSQUITTO_PUB = process.env.MOSQUITTO_PUB_BIN || "/usr/bin/mosquitto_pub";
export const MOSQUITTO_SUB = process.env.MOSQUITTO_SUB_BIN || "/usr/bin/mosquitto_sub";

/**
 * Why these tests cannot run ("" when they can): they need the broker and its two clients.
 * With MCU_MQTT_REQUIRE_MOSQUITTO=1 a missing program is an error instead of a skip.
 */
export function toolsMissing(): string {
  let missing = mosquittoMissing();
  if (!missing) {
    const absent = [MOSQUITTO_PUB, MOSQUITTO_SUB].filter((p) => !executable(p));
    if (absent.length) missing = "mosquitto clients not installed: " + absent.join(", ") + " not found (apt-get install mosquitto-clients)";
  }
  if (missing && process.env.MCU_MQTT_REQUIRE_MOSQUITTO === "1") {
    throw new Error(missing + " (MCU_MQTT_REQUIRE_MOSQUITTO=1 requires it)");
  }
  return missing;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** A child process whose output is collected, to wait on with deadlines. */
export class Proc {
  readonly child: ChildProcess;
  readonly what: string;
  private out: Buffer[] = [];
  private err: Buffer[] = [];
  private result: Finished | null = null;
  readonly exited: Promise<Finished>;

  constructor(command: string, args: string[], stdin?: string | Buffer | "pipe") {
    this.what = [command].concat(args).join(" ");
    this.child = spawn(command, args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d: Buffer) => this.out.push(d));
    this.child.stderr!.on("data", (d: Buffer) => this.err.push(d));
    // A child that exits early must not turn our writes into an unhandled EPIPE.
    this.child.stdin!.on("error", () => {});
    this.exited = new Promise((resolve) => {
      this.child.on("close", (code, signal) => {
        this.result = { code, signal, stdout: this.stdout(), stderr: this.stderr() };
        resolve(this.result);
      });
      this.child.on("error", (e) => {
        this.err.push(Buffer.from(String(e)));
      });
    });
    if (stdin !== "pipe") this.child.stdin!.end(stdin === undefined ? "" : stdin);
  }

  stdout(): Buffer {
    return Buffer.concat(this.out);
  }

  stdoutText(): string {
    return this.stdout().toString("utf8");
  }

  stderr(): string {
    return Buffer.concat(this.err).toString("utf8");
  }

  /** Writes to stdin (started with stdin "pipe"). */
  write(text: string): void {
    this.child.stdin!.write(text);
  }

  endInput(): void {
    this.child.stdin!.end();
  }

  /** Waits until stdout contains `text`, failing after `timeoutMs` (default LIMIT_MS). */
  async waitForOutput(text: string, timeoutMs?: number): Promise<void> {
    await waitFor(() => this.stdoutText().includes(text), timeoutMs || LIMIT_MS, JSON.stringify(text) + " from " + this.what, () => this.describe());
  }

  /** Waits for the exit, killing the process (SIGKILL) and failing after `timeoutMs` (default LIMIT_MS). */
  async finish(timeoutMs?: number): Promise<Finished> {
    const limitMs = timeoutMs || LIMIT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill("SIGKILL");
        reject(new Error("timed out after " + limitMs + " ms waiting for " + this.what + " to exit: " + this.describe()));
      }, limitMs);
    });
    try {
      return await Promise.race([this.exited, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.result === null && this.child.pid !== undefined) {
      try {
        this.child.kill(signal);
      } catch {
        // gone already
      }
    }
  }

  describe(): string {
    return "stdout=" + JSON.stringify(this.stdoutText().slice(-2000)) + " stderr=" + JSON.stringify(this.stderr().slice(-2000));
  }
}

/** Children still running, killed when the test process exits whatever happened. */
const live = new Set<Proc>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** Kills every child still running: for `after` hooks, so a failed test cannot leave one behind. */
export function killAll(): void {
  for (const p of live) p.kill("SIGKILL");
}

function track(p: Proc): Proc {
  live.add(p);
  p.exited.then(() => live.delete(p));
  return p;
}

/** The built command: in the copy made by scripts/run-tests.mjs, or in dist/node after `npm run build`. */
function cliScript(): string {
  const build = process.env.MCU_MQTT_TEST_BUILD || join(ROOT, "dist", "node");
  const script = join(build, "cli", "mcu-mqtt.js");
  if (!existsSync(script)) throw new Error(script + " is missing: run the tests with `node scripts/run-tests.mjs`, which builds it, or `npm run build` first");
  return script;
}

/** Starts `mcu-mqtt <args>`, as built. */
export function startCli(args: string[], stdin?: string | Buffer | "pipe"): Proc {
  return track(new Proc(process.execPath, [cliScript()].concat(args), stdin));
}

/** Runs `mcu-mqtt <args>` to its end (at most `timeoutMs`, default LIMIT_MS). */
export function runCli(args: string[], stdin?: string | Buffer, timeoutMs?: number): Promise<Finished> {
  return startCli(args, stdin).finish(timeoutMs);
}

let chatBundle = "";
/** examples/chat/chat.ts bundled once into one ES module in a temp dir (removed at exit). */
function chatScript(): string {
  if (chatBundle) return chatBundle;
  const dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-chat-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const outfile = join(dir, "chat.mjs");
  buildSync({
    entryPoints: [join(ROOT, "examples", "chat", "chat.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    logLevel: "silent",
  });
  chatBundle = outfile;
  return outfile;
}

/** Starts the chat example as `nick`. */
export function startChat(nick: string, brokerUrl: string): Proc {
  return track(new Proc(process.execPath, [chatScript(), "--nick", nick, "--broker", brokerUrl], "pipe"));
}

export function startMosquittoSub(args: string[]): Proc {
  return track(new Proc(MOSQUITTO_SUB, args));
}

export function runMosquittoPub(args: string[], stdin?: string | Buffer, timeoutMs?: number): Promise<Finished> {
  return track(new Proc(MOSQUITTO_PUB, args, stdin)).finish(timeoutMs);
}

/** Resolves once the broker has sent `count` (default 1) SUBACKs to `clientId` (read from its log). */
export function subscribed(broker: RunningMosquitto, clientId: string, count?: number): Promise<void> {
  return waitForBrokerLog(broker, "Sending SUBACK to " + clientId + "\n", LIMIT_MS, count);
}

let counter = 0;
/** A name no other test in this process uses (topics, client ids). */
export function unique(base: string): string {
  counter++;
  return base + "-" + process.pid + "-" + counter;
}

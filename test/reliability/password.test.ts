/**
 * The password never leaks: connecting with bad credentials (to mosquitto with a password file),
 * every string the client hands out — error events, callback errors, thrown errors (message,
 * stack, and what `console.error(err)` would print), any debug event, and anything written to the
 * console or stdout/stderr meanwhile — is searched for the password and for a piece of it.
 */
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { inspect } from "node:util";
import { connect, type NodeClientOptions } from "../../boards/node/index.ts";
import { ENDED, type Client } from "../../src/client.ts";
import { HOST, mosquittoMissing, needMosquitto, startMosquitto, waitFor, writePasswordFile, type RunningMosquitto } from "../helpers/brokers.ts";

const USER = "alice";
const GOOD = "right-" + randomBytes(6).toString("hex");
let broker: RunningMosquitto | null = null;
let dir = "";

before(async () => {
  if (mosquittoMissing()) return;
  dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-pw-"));
  const file = join(dir, "passwords");
  writePasswordFile(file, USER, GOOD);
  broker = await startMosquitto(["password_file " + file]);
});

after(async () => {
  if (broker) await broker.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Everything a run produced, as text. */
class Leaks {
  texts: string[] = [];

  add(value: unknown): void {
    if (value instanceof Error) {
      this.texts.push(String(value.message), String(value.stack), String(value));
      this.texts.push(inspect(value, { depth: 6, showHidden: true }));
    } else if (typeof value === "string") {
      this.texts.push(value);
    } else if (value !== undefined && typeof value !== "function") {
      this.texts.push(inspect(value, { depth: 6 }));
    }
  }

  /** Fails if any text holds the password, its bytes as Latin-1, or a 6-character piece of it. */
  check(secret: string): void {
    const pieces = [secret, Buffer.from(secret, "utf8").toString("latin1")];
    for (let i = 0; i + 6 <= secret.length; i += 3) pieces.push(secret.slice(i, i + 6));
    for (const text of this.texts) {
      for (const piece of pieces) {
        assert.ok(text.indexOf(piece) < 0, "the password (or '" + piece + "') appears in: " + text.replace(secret, "<PASSWORD>"));
      }
    }
  }
}

const EVENTS = ["connect", "message", "close", "offline", "reconnect", "error", "end", "drop", "debug"];

/** Captures console and stdout/stderr writes while `fn` runs (they are still passed on). */
async function capturing(leaks: Leaks, fn: () => Promise<void>): Promise<void> {
  const saved: [object, string, unknown][] = [];
  const wrap = (target: Record<string, unknown>, name: string) => {
    const original = target[name] as (...args: unknown[]) => unknown;
    saved.push([target, name, original]);
    target[name] = function (this: unknown, ...args: unknown[]) {
      for (const a of args) leaks.add(typeof a === "string" || a instanceof Error ? a : a instanceof Uint8Array ? Buffer.from(a).toString("latin1") : a);
      return original.apply(this, args);
    };
  };
  for (const name of ["log", "info", "warn", "error", "debug", "trace"]) wrap(console as unknown as Record<string, unknown>, name);
  wrap(process.stdout as unknown as Record<string, unknown>, "write");
  wrap(process.stderr as unknown as Record<string, unknown>, "write");
  try {
    await fn();
  } finally {
    for (const [target, name, original] of saved) (target as Record<string, unknown>)[name] = original;
  }
}

/** Connects with bad credentials, waits for the refusal, exercises callbacks, ends. */
async function refusedRun(leaks: Leaks, urlOrOptions: string | NodeClientOptions, options?: NodeClientOptions): Promise<void> {
  const base: NodeClientOptions = { connectTimeoutMs: 3000, keepalive: 5, reconnect: { minMs: 100, maxMs: 200 } };
  const client: Client =
    typeof urlOrOptions === "string" ? connect(urlOrOptions, { ...base, ...options }) : connect({ ...base, ...urlOrOptions });
  const errors: unknown[] = [];
  for (const name of EVENTS) {
    client.on(name, (a?: unknown, b?: unknown, c?: unknown) => {
      if (name === "error") errors.push(a);
      leaks.add(a);
      leaks.add(b);
      leaks.add(c);
    });
  }
  // Queued while refused; ended below, so its callback gets an error too.
  client.publish("pw/t", "x", { qos: 1 }, (err) => leaks.add(err));
  client.subscribe("pw/#", { qos: 1 }, (err, granted) => {
    leaks.add(err);
    leaks.add(granted);
  });
  await waitFor(() => errors.length > 0, 8000, "the refusal");
  // The retry after the refusal (after maxMs, 200 ms here) must not leak either.
  await waitFor(() => errors.length > 1, 8000, "the second refusal");
  leaks.add(client.stateName());
  await new Promise<void>((resolve) => client.end(true, () => resolve()));
  assert.equal(client.state, ENDED);
  assert.ok(errors.length >= 2);
  for (const e of errors) assert.match(String((e as Error).message), /refused|not authorized|bad user name/);
}

function ready(t: TestContext): boolean {
  if (!needMosquitto(t)) return false;
  assert.ok(broker, "mosquitto with a password file did not start");
  return true;
}

test("a wrong password given as a string never appears in errors or output", { timeout: 30000 }, async (t) => {
  if (!ready(t)) return;
  const secret = "Wr0ng-" + randomBytes(8).toString("hex");
  const leaks = new Leaks();
  await capturing(leaks, () => refusedRun(leaks, { host: HOST, port: broker!.port, username: USER, password: secret }));
  leaks.check(secret);
  assert.ok(leaks.texts.length > 4, "the run produced something to check");
});

test("a wrong password given as bytes, and an unknown user, never appear", { timeout: 30000 }, async (t) => {
  if (!ready(t)) return;
  const secret = "B\u00fdtes-" + randomBytes(8).toString("hex");
  const leaks = new Leaks();
  await capturing(leaks, async () => {
    await refusedRun(leaks, { host: HOST, port: broker!.port, username: USER, password: new Uint8Array(Buffer.from(secret, "utf8")) });
    await refusedRun(leaks, { host: HOST, port: broker!.port, username: "nobody-" + process.pid, password: secret });
  });
  leaks.check(secret);
});

test("a password in the URL never appears, not even when the URL is invalid", { timeout: 30000 }, async (t) => {
  if (!ready(t)) return;
  const secret = "Url-" + randomBytes(8).toString("hex") + "!$";
  const leaks = new Leaks();
  const encoded = encodeURIComponent(secret);
  await capturing(leaks, async () => {
    await refusedRun(leaks, "mqtt://" + USER + ":" + encoded + "@" + HOST + ":" + broker!.port);
    // An invalid URL throws: what it says (and what console.error would print) must not hold it.
    for (const bad of ["mqtt://" + USER + ":" + encoded + "@" + HOST + ":99999", "mqtt://" + USER + ":" + encoded + "@[bad-host:1883", "ftp://" + USER + ":" + encoded + "@" + HOST]) {
      let thrown: unknown = null;
      try {
        connect(bad).end(true);
      } catch (e) {
        thrown = e;
      }
      assert.ok(thrown instanceof Error, "connect('" + bad.replace(encoded, "<PASSWORD>") + "') threw");
      leaks.add(thrown);
    }
  });
  leaks.check(secret);
  leaks.check(encoded);
});

test("the right password connects (so the refusals above were about the password)", { timeout: 20000 }, async (t) => {
  if (!ready(t)) return;
  const client = connect({ host: HOST, port: broker!.port, username: USER, password: GOOD, reconnect: false, connectTimeoutMs: 3000 });
  let connected = false;
  const errors: string[] = [];
  client.on("connect", () => (connected = true));
  client.on("error", (e: Error) => errors.push(e.message));
  try {
    await waitFor(() => connected || errors.length > 0, 8000, "the connection");
    assert.deepEqual(errors, []);
    assert.equal(connected, true);
  } finally {
    await new Promise<void>((resolve) => client.end(true, () => resolve()));
  }
});

/**
 * TLS on the Node board against mosquitto with a TLS listener that requires a client certificate
 * (and takes the certificate's CN as the user name). Certificates are made with `openssl` in a
 * temp dir: a CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and a
 * second CA that signed neither.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { connect, type NodeClientOptions } from "../../boards/node/index.ts";
import type { Client, MqttError } from "../../src/client.ts";
import { ENDED } from "../../src/client.ts";
import { HOST, freePort, mosquittoMissing, needMosquitto, startMosquitto, waitFor, type RunningMosquitto } from "../helpers/brokers.ts";

interface Pki {
  dir: string;
  ca: string;
  otherCa: string;
  cert: string;
  key: string;
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error("openssl " + args.join(" ") + " failed: " + (r.error ? r.error.message : r.stderr));
}

/** A CA and the certificates it signs; `name` prefixes the files. */
function makeCa(dir: string, name: string): void {
  openssl(dir, [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-keyout", name + ".key", "-out", name + ".crt", "-subj", "/CN=mcu-mqtt test " + name,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

function makeCert(dir: string, ca: string, name: string, cn: string, ext: string): void {
  writeFileSync(join(dir, name + ".ext"), ext + "\n");
  openssl(dir, ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn]);
  openssl(dir, [
    "x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key", "-CAcreateserial",
    "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext",
  ]);
}

function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-tls-"));
  makeCa(dir, "ca");
  makeCa(dir, "other-ca");
  makeCert(dir, "ca", "server", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth");
  makeCert(dir, "ca", "client", "tls-client", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth");
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  return { dir, ca: read("ca.crt"), otherCa: read("other-ca.crt"), cert: read("client.crt"), key: read("client.key") };
}

function opensslMissing(): string {
  const r = spawnSync("openssl", ["version"], { encoding: "utf8" });
  return r.error || r.status !== 0 ? "openssl not found" : "";
}

let pki: Pki | null = null;
let broker: RunningMosquitto | null = null;
let tlsPort = 0;
const clients: Client[] = [];

before(async () => {
  if (mosquittoMissing() || opensslMissing()) return;
  pki = makePki();
  tlsPort = await freePort();
  broker = await startMosquitto([
    "listener " + tlsPort + " " + HOST,
    "cafile " + join(pki.dir, "ca.crt"),
    "certfile " + join(pki.dir, "server.crt"),
    "keyfile " + join(pki.dir, "server.key"),
    "require_certificate true",
    "use_identity_as_username true",
  ]);
});

after(async () => {
  for (const c of clients) if (c.state !== ENDED) c.end(true);
  await waitFor(() => clients.every((c) => c.state === ENDED), 3000, "the clients to end").catch(() => {});
  if (broker) await broker.close();
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

function ready(t: TestContext): boolean {
  if (!needMosquitto(t)) return false;
  const missing = opensslMissing();
  if (missing) {
    if (process.env.MCU_MQTT_REQUIRE_MOSQUITTO === "1") throw new Error(missing);
    t.skip(missing);
    return false;
  }
  assert.ok(broker && pki, "the TLS broker did not start");
  return true;
}

interface Run {
  client: Client;
  errors: MqttError[];
  connects: number;
}

function open(options: NodeClientOptions): Run {
  const client = connect("mqtts://" + HOST + ":" + tlsPort, {
    connectTimeoutMs: 3000,
    keepalive: 10,
    reconnect: false,
    ...options,
  });
  clients.push(client);
  const run: Run = { client, errors: [], connects: 0 };
  client.on("error", (err: MqttError) => run.errors.push(err));
  client.on("connect", () => run.connects++);
  return run;
}

test("TLS with a client certificate: connects and a QoS 1 message goes round", { timeout: 20000 }, async (t) => {
  if (!ready(t)) return;
  const p = pki!;
  const run = open({ tls: { ca: p.ca, cert: p.cert, key: p.key } });
  await waitFor(() => run.connects === 1, 8000, "the TLS connection", () => run.errors.map((e) => e.message).join("; "));
  const topic = "tls/" + process.pid;
  const got: string[] = [];
  run.client.on("message", (_topic: string, payload: Uint8Array) => got.push(Buffer.from(payload).toString()));
  await new Promise<void>((resolve, reject) => run.client.subscribe(topic, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  const err = await new Promise<MqttError | null>((resolve) => run.client.publish(topic, "over tls", { qos: 1 }, resolve));
  assert.equal(err, null);
  await waitFor(() => got.length === 1, 5000, "the message back");
  assert.deepEqual(got, ["over tls"]);
  assert.deepEqual(run.errors, []);
  // The broker took the certificate's CN as the user name.
  await waitFor(() => /u'tls-client'/.test(broker!.log()), 3000, "the broker to log the identity", () => broker!.log().split("\n").slice(-5).join("\n"));
});

test("TLS with a CA that did not sign the server's certificate: a clear error, no connection", { timeout: 20000 }, async (t) => {
  if (!ready(t)) return;
  const p = pki!;
  const run = open({ tls: { ca: p.otherCa, cert: p.cert, key: p.key } });
  await waitFor(() => run.errors.length > 0, 8000, "the TLS failure");
  assert.equal(run.connects, 0);
  const err = run.errors[0];
  t.diagnostic("error: " + err.message + " (code " + err.code + ")");
  // It says that TLS failed, where, and why: the certificate could not be verified.
  assert.match(err.message, /TLS/);
  assert.match(err.message, new RegExp(HOST + ":" + tlsPort));
  assert.match(err.message, /certificate/i);
  assert.equal(typeof err.code, "number", "errors carry a numeric status code");
  await waitFor(() => run.client.stateName() === "idle", 3000, "the client to stay idle (reconnect: false)");
});

test("TLS without a client certificate is refused", { timeout: 20000 }, async (t) => {
  if (!ready(t)) return;
  const p = pki!;
  const run = open({ tls: { ca: p.ca } });
  await waitFor(() => run.errors.length > 0, 8000, "the refusal");
  // Give a late CONNACK every chance to show up: there must be none.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(run.connects, 0);
  const err = run.errors[0];
  t.diagnostic("error: " + err.message + " (code " + err.code + ")");
  assert.match(err.message, /certificate|TLS/i);
});

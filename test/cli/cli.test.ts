/**
 * `mcu-mqtt pub` and `mcu-mqtt sub` against a real mosquitto on 127.0.0.1, side by side with
 * mosquitto_pub and mosquitto_sub: each of ours talks to one of theirs.
 * Skipped with a notice without mosquitto and its clients, unless MCU_MQTT_REQUIRE_MOSQUITTO=1.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort, HOST, startMosquitto, waitForBrokerLog, writePasswordFile, type RunningMosquitto } from "../helpers/brokers.ts";
import { killAll, LIMIT_MS, runCli, runMosquittoPub, startCli, startMosquittoSub, subscribed, TEST_LIMIT, toolsMissing, unique } from "./support.ts";

const missing = toolsMissing();
const T = TEST_LIMIT;

describe("mcu-mqtt CLI against mosquitto", { skip: missing || false, concurrency: true }, () => {
  let broker: RunningMosquitto;
  let dir: string;
  let hp: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-cli-"));
    broker = await startMosquitto();
    hp = ["-h", HOST, "-p", String(broker.port)];
  });

  after(async () => {
    killAll();
    if (broker) await broker.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const qos of [0, 1, 2]) {
    it("pub -q " + qos + " reaches mosquitto_sub", T, async () => {
      const topic = unique("cli/pub" + qos);
      const id = unique("msub");
      const sub = startMosquittoSub(hp.concat(["-t", topic, "-q", "2", "-C", "1", "-v", "-i", id]));
      await subscribed(broker, id);
      const pub = await runCli(["pub"].concat(hp, ["-t", topic, "-m", "hello at qos " + qos, "-q", String(qos)]));
      assert.equal(pub.code, 0, pub.stderr);
      assert.equal(pub.stderr, "");
      const got = await sub.finish();
      assert.equal(got.stdout.toString(), topic + " hello at qos " + qos + "\n");
    });

    it("sub -q 2 prints what mosquitto_pub -q " + qos + " sends", T, async () => {
      const topic = unique("cli/sub" + qos);
      const id = unique("oursub");
      const sub = startCli(["sub"].concat(hp, ["-t", topic, "-q", "2", "-C", "1", "-v", "-i", id]));
      await subscribed(broker, id);
      const pub = await runMosquittoPub(hp.concat(["-t", topic, "-m", "from mosquitto at " + qos, "-q", String(qos)]));
      assert.equal(pub.code, 0, pub.stderr);
      const got = await sub.finish();
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout.toString(), topic + " from mosquitto at " + qos + "\n");
    });
  }

  it("a retained message (pub -r) reaches later subscribers; -n -r clears it; -R hides it", T, async () => {
    const topic = unique("cli/retained");
    const pub = await runCli(["pub"].concat(hp, ["-t", topic, "-m", "kept", "-r", "-q", "1"]));
    assert.equal(pub.code, 0, pub.stderr);
    const [ours, theirs, hidden] = await Promise.all([
      runCli(["sub"].concat(hp, ["-t", topic, "-C", "1", "-v", "-d"])),
      startMosquittoSub(hp.concat(["-t", topic, "-C", "1", "-v", "-d"])).finish(),
      runCli(["sub"].concat(hp, ["-t", topic, "-R", "-W", "1"])),
    ]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.match(ours.stdout.toString(), new RegExp("received PUBLISH \\(d0, q0, r1, m0, '" + topic + "', \\.\\.\\. \\(4 bytes\\)\\)\n" + topic + " kept\n"));
    assert.match(theirs.stdout.toString(), new RegExp("r1, m0, '" + topic + "'.*\n" + topic + " kept\n"));
    assert.equal(hidden.code, 27);
    assert.equal(hidden.stdout.toString(), "");
    assert.equal(hidden.stderr, "Timed out\n");

    const clear = await runCli(["pub"].concat(hp, ["-t", topic, "-n", "-r"]));
    assert.equal(clear.code, 0, clear.stderr);
    const none = await runCli(["sub"].concat(hp, ["-t", topic, "-W", "1", "-v"]));
    assert.equal(none.code, 27);
    assert.equal(none.stdout.toString(), "");
  });

  it("the will of a killed sub is delivered; a sub stopped by SIGTERM leaves none", T, async () => {
    const base = unique("cli/wills");
    const watcher = unique("watch");
    const observer = startMosquittoSub(hp.concat(["-t", base + "/#", "-v", "-C", "1", "-q", "1", "-i", watcher]));
    const idA = unique("polite");
    const idB = unique("killed");
    const a = startCli(["sub"].concat(hp, ["-t", base + "/idle", "-i", idA, "--will-topic", base + "/a", "--will-payload", "a is gone"]));
    const b = startCli(["sub"].concat(hp, ["-t", base + "/idle", "-i", idB, "--will-topic", base + "/b", "--will-payload", "b is gone", "--will-qos", "1"]));
    await Promise.all([subscribed(broker, watcher), subscribed(broker, idA), subscribed(broker, idB)]);
    a.kill("SIGTERM");
    const endA = await a.finish();
    assert.equal(endA.code, 0, endA.stderr);
    b.kill("SIGKILL");
    await b.finish();
    const seen = await observer.finish();
    // Had the SIGTERM'd client left its will, that would have come first.
    assert.equal(seen.stdout.toString(), base + "/b b is gone\n");
  });

  it("pub -l sends 1,000 lines in order and skips empty ones", T, async () => {
    const topic = unique("cli/lines");
    const id = unique("lines");
    const lines: string[] = [];
    for (let i = 1; i <= 1000; i++) lines.push("line " + i + (i % 7 === 0 ? " ünïcödé" : ""));
    // Empty lines are skipped; "\r" is payload like any other byte, as with mosquitto_pub -l.
    const input = lines.map((l, i) => (i % 100 === 0 ? "\n" : "") + l).join("\n");
    const sub = startMosquittoSub(hp.concat(["-t", topic, "-q", "1", "-C", "1000", "-i", id]));
    await subscribed(broker, id);
    const pub = await runCli(["pub"].concat(hp, ["-t", topic, "-l", "-q", "1"]), input + "\n\n");
    assert.equal(pub.code, 0, pub.stderr);
    const got = await sub.finish();
    assert.equal(got.stdout.toString(), lines.join("\n") + "\n");
  });

  it("-f carries every byte value exactly, both ways", T, async () => {
    const bytes = Buffer.alloc(256 * 40);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 167 + (i >> 8)) & 0xff;
    for (let v = 0; v < 256; v++) assert.ok(bytes.includes(v));
    const file = join(dir, "all-bytes.bin");
    writeFileSync(file, bytes);

    const topic1 = unique("cli/binary-out");
    const id1 = unique("binsub");
    const theirs = startMosquittoSub(hp.concat(["-t", topic1, "-C", "1", "-N", "-q", "1", "-i", id1]));
    await subscribed(broker, id1);
    const pub = await runCli(["pub"].concat(hp, ["-t", topic1, "-f", file, "-q", "1"]));
    assert.equal(pub.code, 0, pub.stderr);
    const got1 = await theirs.finish();
    assert.ok(got1.stdout.equals(bytes), "mosquitto_sub received " + got1.stdout.length + " bytes");

    const topic2 = unique("cli/binary-in");
    const id2 = unique("binours");
    const ours = startCli(["sub"].concat(hp, ["-t", topic2, "-C", "1", "-N", "-q", "2", "-i", id2]));
    await subscribed(broker, id2);
    const mp = await runMosquittoPub(hp.concat(["-t", topic2, "-f", file, "-q", "2"]));
    assert.equal(mp.code, 0, mp.stderr);
    const got2 = await ours.finish();
    assert.equal(got2.code, 0, got2.stderr);
    assert.ok(got2.stdout.equals(bytes), "mcu-mqtt sub printed " + got2.stdout.length + " bytes");
  });

  it("pub -s sends all of stdin as one message, pub -n an empty one", T, async () => {
    const topic = unique("cli/stdin");
    const id = unique("stdin");
    const sub = startMosquittoSub(hp.concat(["-t", topic, "-C", "2", "-v", "-i", id]));
    await subscribed(broker, id);
    const s = await runCli(["pub"].concat(hp, ["-t", topic, "-s"]), "two\nlines");
    assert.equal(s.code, 0, s.stderr);
    const n = await runCli(["pub"].concat(hp, ["-t", topic, "-n"]));
    assert.equal(n.code, 0, n.stderr);
    const got = await sub.finish();
    assert.equal(got.stdout.toString(), topic + " two\nlines\n" + topic + " (null)\n");
  });

  it("-d logs every packet in mosquitto's words and never the password", T, async () => {
    const password = "Sup3r-S3cret-pw";
    const topic = unique("cli/debug");
    const subId = unique("dbgsub");
    const sub = startCli(["sub"].concat(hp, ["-t", topic, "-t", topic + "/more", "-q", "2", "-C", "2", "-d", "-i", subId, "-u", "someone", "-P", password]));
    await subscribed(broker, subId);
    const pubId = unique("dbgpub");
    const p1 = await runCli(["pub"].concat(hp, ["-t", topic, "-m", "hello world", "-q", "1", "-d", "-i", pubId, "-u", "someone", "-P", password]));
    const p2 = await runCli(["pub"].concat(hp, ["-t", topic, "-m", "hello world", "-q", "2", "-r", "-d", "-i", pubId, "-u", "someone", "-P", password]));
    const s = await sub.finish();
    await runCli(["pub"].concat(hp, ["-t", topic, "-n", "-r"]));
    assert.equal(p1.code, 0, p1.stderr);
    assert.equal(p2.code, 0, p2.stderr);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(
      p1.stdout.toString(),
      [
        "Client " + pubId + " sending CONNECT",
        "Client " + pubId + " received CONNACK (0)",
        "Client " + pubId + " sending PUBLISH (d0, q1, r0, m1, '" + topic + "', ... (11 bytes))",
        "Client " + pubId + " received PUBACK (Mid: 1, RC:0)",
        "Client " + pubId + " sending DISCONNECT",
        "",
      ].join("\n"),
    );
    assert.equal(
      p2.stdout.toString(),
      [
        "Client " + pubId + " sending CONNECT",
        "Client " + pubId + " received CONNACK (0)",
        "Client " + pubId + " sending PUBLISH (d0, q2, r1, m1, '" + topic + "', ... (11 bytes))",
        "Client " + pubId + " received PUBREC (Mid: 1)",
        "Client " + pubId + " sending PUBREL (m1)",
        "Client " + pubId + " received PUBCOMP (Mid: 1, RC:0)",
        "Client " + pubId + " sending DISCONNECT",
        "",
      ].join("\n"),
    );
    const out = s.stdout.toString();
    const c = "Client " + subId;
    for (const line of [
      c + " sending CONNECT",
      c + " received CONNACK (0)",
      c + " sending SUBSCRIBE (Mid: 1, Topic: " + topic + ", QoS: 2, Options: 0x00)",
      c + " sending SUBSCRIBE (Mid: 1, Topic: " + topic + "/more, QoS: 2, Options: 0x00)",
      c + " received SUBACK",
      "Subscribed (mid: 1): 2, 2",
      c + " received PUBLISH (d0, q1, r0, m1, '" + topic + "', ... (11 bytes))",
      c + " sending PUBACK (m1, rc0)",
      c + " received PUBLISH (d0, q2, r0, m2, '" + topic + "', ... (11 bytes))",
      c + " sending PUBREC (m2, rc0)",
      c + " sending DISCONNECT",
      "hello world",
    ]) {
      assert.ok(out.split("\n").includes(line), "missing line " + JSON.stringify(line) + " in:\n" + out);
    }
    for (const text of [p1.stdout.toString(), p2.stdout.toString(), out, p1.stderr, p2.stderr, s.stderr]) {
      assert.ok(!text.includes(password), "the password leaked into: " + text);
    }
  });

  it("-d logs PINGREQ and PINGRESP when the link is idle for the keepalive", T, async () => {
    const topic = unique("cli/ping");
    const id = unique("pinger");
    // Waits for the exchange itself rather than a -W timeout a busy machine could beat.
    const sub = startCli(["sub"].concat(hp, ["-t", topic, "-k", "5", "-d", "-i", id]));
    await sub.waitForOutput("Client " + id + " received PINGRESP\n");
    sub.kill("SIGTERM");
    const s = await sub.finish();
    assert.equal(s.code, 0, s.stderr);
    const lines = s.stdout.toString().split("\n");
    assert.ok(lines.includes("Client " + id + " sending PINGREQ"), s.stdout.toString());
    assert.ok(lines.indexOf("Client " + id + " sending PINGREQ") < lines.indexOf("Client " + id + " received PINGRESP"));
  });

  it("-I makes the id from a prefix and the process id; -E exits after SUBACK", T, async () => {
    const s = await runCli(["sub"].concat(hp, ["-t", unique("cli/e"), "-E", "-d", "-I", "pre-"]));
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout.toString(), /^Client pre-\d+ sending CONNECT\n/);
    assert.match(s.stdout.toString(), /Subscribed \(mid: 1\): 0\n/);
  });

  it("an unreachable broker: one error line and exit code 1", T, async () => {
    const port = String(await freePort());
    const [p, s] = await Promise.all([
      runCli(["pub", "-h", HOST, "-p", port, "-t", "t", "-m", "x"]),
      runCli(["sub", "-h", HOST, "-p", port, "-t", "t"]),
    ]);
    assert.deepEqual([p.code, p.stderr], [1, "Error: Connection refused\n"]);
    assert.deepEqual([s.code, s.stderr], [1, "Error: Connection refused\n"]);
    const quiet = await runCli(["pub", "-h", HOST, "-p", port, "-t", "t", "-m", "x", "--quiet"]);
    assert.deepEqual([quiet.code, quiet.stderr], [1, ""]);
  });

  it("invalid topics: one error line and exit code 1, before connecting", T, async () => {
    const [p, s, w] = await Promise.all([
      runCli(["pub"].concat(hp, ["-t", "a/+/c", "-m", "x"])),
      runCli(["sub"].concat(hp, ["-t", "ok", "-t", "a/#/c"])),
      runCli(["pub"].concat(hp, ["-t", "a", "-m", "x", "--will-topic", "w/#"])),
    ]);
    assert.deepEqual([p.code, p.stderr], [1, "Error: Invalid publish topic 'a/+/c', does it contain '+' or '#'?\n"]);
    assert.deepEqual([s.code, s.stderr], [1, "Error: Invalid subscription topic 'a/#/c', are all '+' and '#' wildcards correct?\n"]);
    assert.deepEqual([w.code, w.stderr], [1, "Error: Invalid will topic 'w/#', does it contain '+' or '#'?\n"]);
  });

  it("-L takes user, host, port and topic from a URL (# and + kept in the topic)", T, async () => {
    const topic = unique("cli/url");
    const sub = startCli(["sub", "-L", "mqtt://u:p@" + HOST + ":" + broker.port + "/" + topic + "/#", "-C", "1", "-v", "-i", unique("urlsub")]);
    await waitForSubscription(broker, topic + "/#");
    const pub = await runCli(["pub", "-L", "mqtt://" + HOST + ":" + broker.port + "/" + topic + "/x", "-m", "via url"]);
    assert.equal(pub.code, 0, pub.stderr);
    const got = await sub.finish();
    assert.equal(got.stdout.toString(), topic + "/x via url\n");
  });
});

describe("mcu-mqtt sub across a broker restart", { skip: missing || false }, () => {
  let broker: RunningMosquitto;

  before(async () => {
    broker = await startMosquitto();
  });

  after(async () => {
    killAll();
    if (broker) await broker.close();
  });

  it("reconnects and subscribes again, as mosquitto_sub does", T, async () => {
    const hp = ["-h", HOST, "-p", String(broker.port)];
    const sub = startCli(["sub"].concat(hp, ["-t", "r/t", "-q", "1", "-C", "2", "-v", "-i", "restarter"]));
    await subscribed(broker, "restarter");
    assert.equal((await runMosquittoPub(hp.concat(["-t", "r/t", "-m", "before", "-q", "1"]))).code, 0);
    await sub.waitForOutput("r/t before\n");
    await broker.restart();
    await subscribed(broker, "restarter", 2);
    assert.equal((await runMosquittoPub(hp.concat(["-t", "r/t", "-m", "after", "-q", "1"]))).code, 0);
    const got = await sub.finish();
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout.toString(), "r/t before\nr/t after\n");
    assert.equal(got.stderr, "");
  });
});

/** Waits until the broker log shows a subscription to `filter`. */
function waitForSubscription(broker: RunningMosquitto, filter: string): Promise<void> {
  return waitForBrokerLog(broker, " " + filter + "\n", LIMIT_MS);
}

describe("mcu-mqtt CLI with passwords and TLS", { skip: missing || false, concurrency: true }, () => {
  let dir: string;
  let secured: RunningMosquitto;
  let hp: string[];
  let tlsPort = 0;
  let tlsReady = false;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-cli-auth-"));
    writePasswordFile(join(dir, "passwords"), "alice", "right-password");
    const extra = ["password_file " + join(dir, "passwords")];
    try {
      makeCertificates(dir);
      tlsPort = await freePort();
      extra.push(
        "listener " + tlsPort + " " + HOST,
        "cafile " + join(dir, "ca.pem"),
        "certfile " + join(dir, "server.pem"),
        "keyfile " + join(dir, "server.key"),
        "require_certificate true",
      );
      tlsReady = true;
    } catch {
      // Without openssl the TLS case is skipped; the password cases still run.
    }
    secured = await startMosquitto(extra);
    hp = ["-h", HOST, "-p", String(secured.port)];
  });

  after(async () => {
    killAll();
    if (secured) await secured.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("bad credentials: the refusal line, exit 5, and no password in the -d log", T, async () => {
    const [p, s, anon, good] = await Promise.all([
      runCli(["pub"].concat(hp, ["-t", "t", "-m", "x", "-u", "alice", "-P", "wrong-password", "-d", "-i", "badpub"])),
      runCli(["sub"].concat(hp, ["-t", "t", "-u", "alice", "-P", "wrong-password", "-d"])),
      runCli(["sub"].concat(hp, ["-t", "t"])),
      runCli(["pub"].concat(hp, ["-t", "t", "-m", "x", "-u", "alice", "-P", "right-password", "-q", "1", "-d"])),
    ]);
    // mosquitto 2.0 answers a wrong password with return code 5, "not authorised".
    assert.equal(p.code, 5);
    assert.equal(p.stderr, "Connection error: Connection Refused: not authorised.\n");
    assert.equal(p.stdout.toString(), "Client badpub sending CONNECT\nClient badpub received CONNACK (5)\n");
    assert.equal(s.code, 5);
    assert.equal(s.stderr, "Connection error: Connection Refused: not authorised.\n");
    assert.equal(anon.code, 5);
    assert.equal(good.code, 0, good.stderr);
    for (const r of [p, s, good]) {
      assert.ok(!r.stdout.toString().includes("password") && !r.stderr.includes("password"), r.stdout.toString() + r.stderr);
    }
  });

  it("TLS with a client certificate: --cafile --cert --key, and mqtts:// in -L", T, async (t) => {
    if (!tlsReady) {
      t.skip("openssl not available: no certificates for the TLS case");
      return;
    }
    const tls = ["--cafile", join(dir, "ca.pem"), "--cert", join(dir, "client.pem"), "--key", join(dir, "client.key")];
    const topic = unique("cli/tls");
    const id = unique("tlssub");
    const sub = startCli(["sub", "-L", "mqtts://alice:right-password@" + HOST + ":" + tlsPort + "/" + topic, "-C", "1", "-v", "-i", id].concat(tls));
    await subscribed(secured, id);
    const pub = await runCli(["pub", "-h", HOST, "-p", String(tlsPort), "-u", "alice", "-P", "right-password", "-t", topic, "-m", "over tls", "-q", "1"].concat(tls));
    assert.equal(pub.code, 0, pub.stderr);
    const got = await sub.finish();
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout.toString(), topic + " over tls\n");

    // Without a client certificate the broker ends the handshake: an error line, not a hang.
    const refused = await runCli(["pub", "-h", HOST, "-p", String(tlsPort), "-u", "alice", "-P", "right-password", "-t", topic, "-m", "x", "--cafile", join(dir, "ca.pem")]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /^Error: .+\n$/);
  });
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all made with openssl. */
function makeCertificates(dir: string): void {
  const openssl = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(["req", "-x509"].concat(ec, ["-days", "2", "-subj", "/CN=mcu-mqtt test CA", "-keyout", "ca.key", "-out", "ca.pem"]));
  openssl(["req"].concat(ec, ["-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr"]));
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem"]);
  openssl(["req"].concat(ec, ["-subj", "/CN=cli-client", "-keyout", "client.key", "-out", "client.csr"]));
  openssl(["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", "client.pem"]);
  readFileSync(join(dir, "client.pem"));
}

/**
 * The simulators themselves: they must reproduce the runtime facts the adapters are built
 * around (as the runtimes really behave), or the board tests prove nothing. And a seed must give the
 * same run.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { createEspruinoSim } from "../../sim/espruino.ts";
import { createKalumaSim } from "../../sim/kaluma.ts";
import { sleep, until } from "./helpers.ts";

let server: net.Server;
let port = 0;
const peers: net.Socket[] = [];

before(async () => {
  server = net.createServer((s) => {
    peers.push(s);
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  port = (server.address() as net.AddressInfo).port;
});
/** The server's side of the connection opened after `before` peers were seen: the client's connect
 * callback can run before the server has accepted, most of all on a busy machine. */
async function peerAfter(before: number): Promise<net.Socket> {
  await until(() => peers.length > before, "the server to accept");
  return peers[before];
}
after(async () => {
  for (const s of peers) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

describe("Kaluma simulator", () => {
  it("has Kaluma's timer traps and console", () => {
    const k = createKalumaSim();
    try {
      assert.throws(() => k.run("clearTimeout(undefined)"), /undefined/);
      assert.throws(() => k.run("setTimeout(function () {}, '5')"), /number/);
      assert.throws(() => k.run("console.warn('x')"), /not a function/);
      k.run("console.log('hello', 1)");
      assert.deepEqual(k.logs, ["hello 1"]);
      assert.equal(typeof k.run("millis()"), "number");
      // User code runs in strict mode.
      assert.throws(() => k.run("undeclared = 1"), /not defined/);
    } finally {
      k.dispose();
    }
  });

  it("cancels a timer whose callback throws, an interval too", async () => {
    const k = createKalumaSim();
    try {
      k.run("var n = 0; setInterval(function () { n++; throw new Error('boom'); }, 5);");
      await sleep(60);
      assert.equal(k.global.n, 1);
      assert.equal(k.errors.length, 1);
    } finally {
      k.dispose();
    }
  });

  it("net: connects only with a callback; Uint8Array data; no 'drain'; a remote close gives 'close' only", async () => {
    const k = createKalumaSim();
    try {
      const netm: any = k.require("net");
      const idle = netm.createConnection({ host: "127.0.0.1", port });
      await sleep(50);
      assert.equal(k.openSockets(), 0, "no connection without a callback");
      void idle;
      const events: string[] = [];
      const chunks: unknown[] = [];
      const seen = peers.length;
      const s = netm.createConnection({ host: "127.0.0.1", port }, () => events.push("connect"));
      for (const e of ["end", "close", "drain", "error"]) s.on(e, () => events.push(e));
      s.on("data", (d: unknown) => chunks.push(d));
      await until(() => events.includes("connect"), "connect");
      const peer = await peerAfter(seen);
      const got: Buffer[] = [];
      peer.on("data", (b) => got.push(b));
      assert.equal(s.write(k.realm("new Uint8Array([0, 1, 255])")), false);
      await until(() => Buffer.concat(got).length === 3, "3 bytes");
      assert.deepEqual([...Buffer.concat(got)], [0, 1, 255]);
      peer.write(Buffer.from([9, 0, 8]));
      await until(() => chunks.length > 0, "data");
      assert.equal(Object.prototype.toString.call(chunks[0]), "[object Uint8Array]");
      peer.end();
      await until(() => events.includes("close"), "close");
      assert.deepEqual(events, ["connect", "close"]);
    } finally {
      k.dispose();
    }
  });

  it("net: DNS failure and Wi-Fi down throw from connect; a refused connection says nothing; 16 sockets", async () => {
    const k = createKalumaSim();
    try {
      const netm: any = k.require("net");
      const dns = new netm.Socket();
      assert.throws(() => dns.connect({ host: "nowhere.invalid", port }, () => {}), /DNS/);
      assert.equal(k.openSockets(), 1, "a thrown connect keeps its slot...");
      dns.destroy();
      assert.equal(k.openSockets(), 0, "...until destroy()");
      const refused = new netm.Socket();
      const heard: string[] = [];
      for (const e of ["connect", "close", "error", "end"]) refused.on(e, () => heard.push(e));
      const s = net.createServer();
      await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
      const closedPort = (s.address() as net.AddressInfo).port;
      await new Promise<void>((r) => s.close(() => r()));
      refused.connect({ host: "127.0.0.1", port: closedPort }, () => {});
      await sleep(100);
      assert.deepEqual(heard, [], "a refused connection is reported by nothing");
      refused.destroy();
      const sockets = [];
      for (let i = 0; i < 16; i++) sockets.push(netm.createConnection({ host: "127.0.0.1", port }, () => {}));
      assert.throws(() => netm.createConnection({ host: "127.0.0.1", port }, () => {}), /Remote I\/O/);
      for (const sock of sockets) sock.destroy();
      assert.equal(k.openSockets(), 0);
      k.setAccessPoint(false);
      assert.throws(() => netm.createConnection({ host: "127.0.0.1", port }, () => {}), /WiFi is not connected/);
    } finally {
      k.dispose();
    }
  });

  it("wifi: on the Pico a failed join and a missing link look like success", () => {
    const k = createKalumaSim({ wifi: { joined: false } });
    try {
      const { WiFi } = k.require("wifi") as any;
      const wifi = new WiFi();
      const calls: unknown[][] = [];
      wifi.connect({ ssid: "sim-ap", password: "wrong" }, (...a: unknown[]) => calls.push(a));
      wifi.getConnection((...a: unknown[]) => calls.push(a));
      assert.deepEqual(calls, [[null], [null]], "no error, no connection info");
      wifi.connect({ ssid: "sim-ap", password: "sim-password" }, () => {});
      wifi.getConnection((err: unknown, info: any) => calls.push([err, info && info.ssid]));
      assert.deepEqual(calls[2], [null, "sim-ap"]);
    } finally {
      k.dispose();
    }
  });

  it("reads the temperature sensor on ADC input 4 (pin 30) in 12 bits", () => {
    const k = createKalumaSim({ temperatureC: 20 });
    try {
      const t = k.run("27 - (analogRead(30) * 3.3 - 0.706) / 0.001721") as number;
      assert.ok(Math.abs(t - 20) < 0.5, String(t));
      const viaAdc = k.run("new (require('adc').ADC)(30).read()") as number;
      assert.equal(viaAdc, k.run("analogRead(30)"));
      assert.throws(() => k.run("analogRead(5)"));
      k.run("new (require('pico_cyw43').PicoCYW43)().putGpio(0, true)");
      assert.equal(k.board.gpio[0], true);
    } finally {
      k.dispose();
    }
  });
});

describe("Espruino simulator", () => {
  it("has Espruino's timer traps: ids reused, clearTimeout() clears all, clearTimeout(undefined) throws", async () => {
    const e = createEspruinoSim();
    try {
      const a = e.run("setTimeout(function () {}, 1000)");
      e.run(`clearTimeout(${a})`);
      assert.equal(e.run("setTimeout(function () {}, 1000)"), a, "the id is handed out again");
      e.run("setTimeout(function () {}, 1000); setInterval(function () {}, 1000)");
      assert.equal(e.pendingTimers(), 3);
      assert.throws(() => e.run("clearTimeout(undefined)"));
      e.run("clearTimeout()");
      assert.equal(e.pendingTimers(), 0);
    } finally {
      e.dispose();
    }
  });

  it("E.toString and E.toUint8Array are Latin-1; getTime() is seconds as a float beyond int32 in ms", () => {
    const e = createEspruinoSim();
    try {
      assert.equal(e.run("E.toString(new Uint8Array([65, 0, 233]))"), "A\u0000\u00e9");
      assert.deepEqual([...(e.run("E.toUint8Array('\u00e9A')") as Uint8Array)], [233, 65]);
      const t = e.run("getTime()") as number;
      assert.ok(t > 1.6e9 && t !== Math.floor(t));
      assert.notEqual((t * 1000) | 0, Math.floor(t * 1000), "|0 would break it");
    } finally {
      e.dispose();
    }
  });

  it("net: String data of at most 536 bytes; a Uint8Array written goes out as its text; 'end' then 'close'", async () => {
    const e = createEspruinoSim();
    try {
      const netm: any = e.require("net");
      const events: string[] = [];
      const chunks: string[] = [];
      const seen = peers.length;
      const s = netm.connect({ host: "127.0.0.1", port }, () => events.push("connected"));
      for (const ev of ["end", "close", "drain"]) s.on(ev, () => events.push(ev));
      s.on("data", (d: string) => chunks.push(d));
      await until(() => events.includes("connected"), "connected");
      const peer = await peerAfter(seen);
      const got: Buffer[] = [];
      peer.on("data", (b) => got.push(b));
      assert.equal(s.write(e.realm("new Uint8Array([65, 66, 0])")), false);
      await until(() => Buffer.concat(got).length >= 6, "the text");
      assert.equal(Buffer.concat(got).toString(), "65,66,0");
      assert.equal(e.stats.nonStringWrites, 1);
      await until(() => events.includes("drain"), "drain");
      peer.write(Buffer.alloc(2000, 0xe9));
      await until(() => chunks.join("").length >= 2000, "2,000 bytes");
      assert.ok(chunks.every((c) => typeof c === "string" && c.length <= 536));
      assert.equal(chunks.join("").charCodeAt(0), 0xe9);
      peer.end();
      await until(() => events.includes("close"), "close");
      assert.deepEqual(events.slice(-2), ["end", "close"]);
      assert.throws(() => s.write("x"), /closed/);
    } finally {
      e.dispose();
    }
  });

  it("net: a callback and a 'connect' listener together are the crash they are on a device", () => {
    const e = createEspruinoSim();
    try {
      const s = (e.require("net") as any).connect({ host: "127.0.0.1", port }, () => {});
      assert.throws(() => s.on("connect", () => {}), /crash/);
    } finally {
      e.dispose();
    }
  });
});

describe("determinism", () => {
  it("the same seed gives the same chunking and the same Math.random on the device", async () => {
    const runs: number[][] = [];
    for (let i = 0; i < 2; i++) {
      const e = createEspruinoSim({ seed: 42, faults: { chunkMin: 1, chunkMax: 50 } });
      try {
        const sizes: number[] = [];
        const seen = peers.length;
        const s = (e.require("net") as any).connect({ host: "127.0.0.1", port }, () => {});
        s.on("data", (d: string) => sizes.push(d.length));
        const peer = await peerAfter(seen);
        await until(() => e.network.links.size === 1, "a link");
        peer.write(Buffer.alloc(1000, 1));
        await until(() => sizes.reduce((a, b) => a + b, 0) >= 1000, "1,000 bytes");
        runs.push([...sizes, e.run("Math.random()") as number]);
      } finally {
        e.dispose();
      }
    }
    assert.deepEqual(runs[0], runs[1]);
  });
});

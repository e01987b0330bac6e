/**
 * The transport contract on the Kaluma board, inside the Kaluma simulator, and what only Kaluma
 * needs: failures that throw from connect, the 16 socket slots, writes of at most 1 KB, a dead
 * link found through the driver's errno, string data from old firmware refused by name.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import { createKalumaSim, type KalumaSim, type KalumaSimOptions } from "../../sim/kaluma.ts";
import { peerServer, Recorder, transportContract, type Harness } from "./transport.ts";

function kalumaHarness(options?: KalumaSimOptions): Harness & { sim: KalumaSim } {
  const sim = createKalumaSim(Object.assign({ seed: 1 }, options));
  const mq: any = sim.require("mcu-mqtt");
  return {
    sim,
    transport: () => new mq.KalumaTransport({ openTimeoutMs: 500 }),
    maxWrite: 4096,
    faults: (plan) => {
      sim.network.faults = plan;
    },
    // A reset is reported by nothing on Kaluma.
    drop: () => {
      sim.network.cutAll("reset");
      return { silent: true };
    },
    check: () => {
      assert.deepEqual(sim.errors, [], "no uncaught errors on the device");
      assert.ok(sim.stats.maxWriteBytes <= 1024, "socket writes of at most 1 KB, saw " + sim.stats.maxWriteBytes);
      assert.equal(sim.stats.failedWrites, 0, "no write overran lwIP's send buffer");
    },
    dispose: () => sim.dispose(),
  };
}

transportContract("Kaluma (sim)", () => kalumaHarness(), { faults: true, refusedWithinMs: 2000 });
transportContract("Kaluma (sim, Linux-build driver)", () => kalumaHarness({ driver: "linux" }), { refusedWithinMs: 2000 });

describe("Kaluma transport: what only Kaluma needs", () => {
  const peers = peerServer();
  const sockets = peers.sockets;

  it("a DNS failure throws inside connect: onClose with it, and the socket slot is freed", async () => {
    const h = kalumaHarness();
    const t = h.transport();
    const rec = new Recorder();
    t.open("no-such-host.invalid", peers.port(), rec);
    assert.equal(rec.closes.length, 0, "reported later, not from inside open()");
    await rec.until(() => rec.closes.length === 1, "onClose");
    assert.match(String(rec.closes[0]), /DNS/);
    assert.equal(h.sim.openSockets(), 0, "the slot is freed");
    h.dispose();
  });

  it("Wi-Fi down: connect throws 'WiFi is not connected.': onClose with it", async () => {
    const h = kalumaHarness({ wifi: { joined: false } });
    const t = h.transport();
    const rec = new Recorder();
    t.open("127.0.0.1", peers.port(), rec);
    await rec.until(() => rec.closes.length === 1, "onClose");
    assert.match(String(rec.closes[0]), /WiFi is not connected/);
    assert.equal(h.sim.openSockets(), 0);
    h.dispose();
  });

  it("refused connections are given up after openTimeoutMs and do not use up the 16 slots", async () => {
    const h = kalumaHarness();
    const mq: any = h.sim.require("mcu-mqtt");
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const closed = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const t = new mq.KalumaTransport({ openTimeoutMs: 30 });
    for (let i = 0; i < 20; i++) {
      const rec = new Recorder();
      t.open("127.0.0.1", closed, rec);
      await rec.until(() => rec.closes.length === 1, "onClose " + i);
      assert.match(String(rec.closes[0]), /no connection/);
    }
    assert.equal(h.sim.openSockets(), 0);
    assert.ok(h.sim.stats.peakSockets <= 1);
    h.dispose();
  });

  it("a link that died silently is found when writes overrun lwIP's buffer (errno): onClose", async () => {
    const h = kalumaHarness();
    const t = h.transport();
    const rec = new Recorder();
    t.open("127.0.0.1", peers.port(), rec);
    await rec.until(() => rec.opens === 1, "onOpen");
    h.sim.network.cutAll("silent");
    const data = new Uint8Array(1024);
    for (let i = 0; i < 20 && rec.closes.length === 0; i++) {
      const drains = rec.drains;
      if (!t.write(data, 0, data.length)) await rec.until(() => rec.drains > drains || rec.closes.length > 0, "drain");
    }
    await rec.until(() => rec.closes.length === 1, "onClose");
    assert.match(String(rec.closes[0]), /errno/);
    assert.ok(h.sim.stats.failedWrites >= 1);
    h.dispose();
  });

  it("string 'data' from firmware before 1.2.1 is refused, naming the cause", async () => {
    const h = kalumaHarness({ stringData: true });
    const t = h.transport();
    const rec = new Recorder();
    t.open("127.0.0.1", peers.port(), rec);
    await rec.until(() => rec.opens === 1, "onOpen");
    sockets[sockets.length - 1].write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
    await rec.until(() => rec.closes.length === 1, "onClose");
    assert.match(String(rec.closes[0]), /strings/);
    assert.equal(rec.received().length, 0);
    h.dispose();
  });

  it("paces writes: slices of at most 1 KB, one per tick, at most ~8 KB per window", async () => {
    const h = kalumaHarness();
    const mq: any = h.sim.require("mcu-mqtt");
    const t = new mq.KalumaTransport({ paceMs: 10, ackWindowMs: 200 });
    const rec = new Recorder();
    t.open("127.0.0.1", peers.port(), rec);
    await rec.until(() => rec.opens === 1, "onOpen");
    const peer = sockets[sockets.length - 1];
    const got: Buffer[] = [];
    const times: number[] = [];
    peer.on("data", (b) => {
      got.push(b);
      times.push(Date.now());
    });
    const start = Date.now();
    const data = new Uint8Array(12 * 1024).fill(7);
    for (let off = 0; off < data.length; off += 1024) {
      const drains = rec.drains;
      if (!t.write(data, off, 1024)) await rec.until(() => rec.drains > drains, "drain");
    }
    await rec.until(() => Buffer.concat(got).length >= data.length, "12 KB", 5000);
    assert.ok(h.sim.stats.maxWriteBytes <= 1024);
    assert.ok(h.sim.stats.writes >= 12);
    // 12 slices with 8 per 200 ms window: the 9th waits for the window.
    assert.ok(times[times.length - 1] - start >= 190, "the window held the 9th slice back");
    h.dispose();
  });
});

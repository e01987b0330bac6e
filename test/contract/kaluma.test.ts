/**
 * The transport contract on the link inside kalumaBoard(), inside the Kaluma simulator, and what
 * only Kaluma needs: failures that throw from connect, the 16 socket slots, writes in slices of
 * 512 bytes, paced (no 'drain' on Kaluma), a dead link found through the driver's errno.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import { createKalumaSim, type KalumaSim, type KalumaSimOptions } from "../../sim/kaluma.ts";
import { boardLink, peerServer, Recorder, transportContract, type Harness } from "./transport.ts";

function kalumaHarness(options?: KalumaSimOptions): Harness & { sim: KalumaSim } {
  const sim = createKalumaSim(Object.assign({ seed: 1 }, options));
  const mq: any = sim.require("mcu-mqtt");
  const violations: string[] = [];
  return {
    sim,
    transport: () => boardLink(mq.kalumaBoard(), violations),
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
      assert.deepEqual(violations, []);
      assert.deepEqual(sim.errors, [], "no uncaught errors on the device");
      assert.ok(sim.stats.maxWriteBytes <= 1024, "socket writes of at most 1 KB, saw " + sim.stats.maxWriteBytes);
      assert.equal(sim.stats.failedWrites, 0, "no write overran lwIP's send buffer");
    },
    dispose: () => sim.dispose(),
  };
}

// A refused connection is reported by nothing on Kaluma: the client's connect deadline closes it.
transportContract("Kaluma (sim)", () => kalumaHarness(), { faults: true, refusedSilently: true });
transportContract("Kaluma (sim, Linux-build driver)", () => kalumaHarness({ driver: "linux" }), { refusedSilently: true });

describe("Kaluma transport: what only Kaluma needs", () => {
  const peers = peerServer();
  const sockets = peers.sockets;
  const link = (h: ReturnType<typeof kalumaHarness>) => {
    const violations: string[] = [];
    const mq: any = h.sim.require("mcu-mqtt");
    return { t: boardLink(mq.kalumaBoard(), violations), violations };
  };

  it("a DNS failure throws inside connect: onClose with it, and the socket slot is freed", async () => {
    const h = kalumaHarness();
    const { t, violations } = link(h);
    const rec = new Recorder();
    t.open("no-such-host.invalid", peers.port(), rec);
    assert.equal(rec.closes.length, 0, "reported later, not from inside open()");
    await rec.until(() => rec.closes.length === 1, "onClose");
    assert.match(String(rec.closes[0]), /DNS/);
    assert.equal(h.sim.openSockets(), 0, "the slot is freed");
    assert.deepEqual(violations, []);
    h.dispose();
  });

  it("Wi-Fi down: connect throws 'WiFi is not connected.': onClose with it", async () => {
    const h = kalumaHarness({ wifi: { joined: false } });
    const { t } = link(h);
    const rec = new Recorder();
    t.open("127.0.0.1", peers.port(), rec);
    await rec.until(() => rec.closes.length === 1, "onClose");
    assert.match(String(rec.closes[0]), /WiFi is not connected/);
    assert.equal(h.sim.openSockets(), 0);
    h.dispose();
  });

  it("refused connections closed by the client's deadline do not use up the 16 slots", async () => {
    const h = kalumaHarness();
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const closed = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const { t } = link(h);
    for (let i = 0; i < 20; i++) {
      const rec = new Recorder();
      t.open("127.0.0.1", closed, rec);
      t.close(); // as the connect deadline does
      await rec.until(() => rec.closes.length === 1, "onClose " + i);
      assert.equal(rec.opens, 0);
    }
    assert.equal(h.sim.openSockets(), 0);
    assert.ok(h.sim.stats.peakSockets <= 1);
    h.dispose();
  });

  it("a link that died silently is found when writes overrun lwIP's buffer (errno): onClose", async () => {
    const h = kalumaHarness();
    const { t } = link(h);
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

  it("traffic slower than the pacing never waits: 1 KB every 150 ms, eight times", async () => {
    const h = kalumaHarness();
    const { t } = link(h);
    const rec = new Recorder();
    t.open("127.0.0.1", peers.port(), rec);
    await rec.until(() => rec.opens === 1, "onOpen");
    const data = new Uint8Array(1024).fill(1);
    for (let i = 0; i < 8; i++) {
      assert.equal(t.write(data, 0, data.length), true, "write " + (i + 1) + " of 8 KB at 6.8 KB/s");
      await new Promise((r) => setTimeout(r, 150));
    }
    t.close();
    await rec.until(() => rec.closes.length === 1, "onClose");
    h.dispose();
  });

  it("a link that said wait and closed: the next connection's wait still ends in onDrain", async () => {
    const h = kalumaHarness();
    const { t } = link(h);
    const data = new Uint8Array(5000).fill(3);
    const rec1 = new Recorder();
    t.open("127.0.0.1", peers.port(), rec1);
    await rec1.until(() => rec1.opens === 1, "onOpen");
    assert.equal(t.write(data, 0, data.length), false, "past the window: wait");
    t.close(); // before the pacing timer fires
    await rec1.until(() => rec1.closes.length === 1, "onClose");
    const rec2 = new Recorder();
    t.open("127.0.0.1", peers.port(), rec2);
    await rec2.until(() => rec2.opens === 1, "onOpen again");
    assert.equal(t.write(data, 0, data.length), false, "past the window again: wait");
    await rec2.until(() => rec2.drains >= 1, "onDrain on the new connection", 3000);
    t.close();
    await rec2.until(() => rec2.closes.length === 1, "onClose");
    h.dispose();
  });

  it("paces writes: slices of at most 512 bytes; past 4 KB the link says wait, and goes on 100 ms later", async () => {
    const h = kalumaHarness();
    const { t } = link(h);
    const rec = new Recorder();
    t.open("127.0.0.1", peers.port(), rec);
    await rec.until(() => rec.opens === 1, "onOpen");
    const peer = sockets[sockets.length - 1];
    const got: Buffer[] = [];
    peer.on("data", (b) => got.push(b));
    const start = Date.now();
    const data = new Uint8Array(12 * 1024).fill(7);
    let waits = 0;
    for (let off = 0; off < data.length; off += 1024) {
      const drains = rec.drains;
      if (!t.write(data, off, 1024)) {
        waits++;
        await rec.until(() => rec.drains > drains, "drain");
      }
    }
    await rec.until(() => Buffer.concat(got).length >= data.length, "12 KB", 5000);
    assert.ok(h.sim.stats.maxWriteBytes <= 512, "slices of 512 bytes, saw " + h.sim.stats.maxWriteBytes);
    assert.ok(h.sim.stats.writes >= 24);
    // 12 KB in windows of 4 KB: the link said wait twice at least, 100 ms each.
    assert.ok(waits >= 2, "waits: " + waits);
    assert.ok(Date.now() - start >= 190, "the window held the writes back");
    h.dispose();
  });
});

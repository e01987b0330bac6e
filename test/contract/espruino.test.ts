/**
 * The transport contract on the link inside espruinoBoard(), inside the Espruino simulator (TCP,
 * and TLS when openssl can make a certificate), and what only Espruino needs: bytes as binary
 * strings, a refused connection that throws (Linux build), chunks of any size handed on whole.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createEspruinoSim, type EspruinoSim, type EspruinoSimOptions } from "../../sim/espruino.ts";
import { localCertificate } from "./tls-fixture.ts";
import { boardLink, peerServer, Recorder, transportContract, type Harness } from "./transport.ts";

function espruinoHarness(options?: EspruinoSimOptions, tls?: object): Harness & { sim: EspruinoSim } {
  const sim = createEspruinoSim(Object.assign({ seed: 2 }, options));
  const mq: any = sim.require("mcu-mqtt");
  const violations: string[] = [];
  return {
    sim,
    transport: () => boardLink(mq.espruinoBoard(tls), violations),
    maxWrite: 4096,
    faults: (plan) => {
      sim.network.faults = plan;
    },
    // A reset gives 'end' then 'close' on Espruino.
    drop: () => {
      sim.network.cutAll("reset");
      return { silent: false };
    },
    check: () => {
      assert.deepEqual(violations, []);
      assert.deepEqual(sim.errors, [], "no uncaught errors on the device (out of memory included)");
      assert.equal(sim.stats.nonStringWrites, 0, "every write was a binary string");
    },
    dispose: () => sim.dispose(),
  };
}

transportContract("Espruino (sim)", () => espruinoHarness(), { faults: true });
transportContract("Espruino (sim, ESP8266: 268-byte chunks)", () => espruinoHarness({ maxChunk: 268 }), { faults: true });
transportContract("Espruino (sim, Linux build)", () => espruinoHarness({ build: "linux" }));

const cert = localCertificate();
if (cert) {
  transportContract("Espruino TLS (sim)", () => espruinoHarness({}, { ca: cert.cert }), { tls: cert, faults: true });
}

describe("Espruino transport: what only Espruino needs", () => {
  const peers = peerServer();
  const sockets = peers.sockets;

  it("bytes go out as a binary string, never as a Uint8Array's '65,66,...' text", async () => {
    const h = espruinoHarness();
    const t = h.transport();
    const rec = new Recorder();
    t.open("127.0.0.1", peers.port(), rec);
    await rec.until(() => rec.opens === 1, "onOpen");
    const peer = sockets[sockets.length - 1];
    const got: Buffer[] = [];
    peer.on("data", (b) => got.push(b));
    t.write(Uint8Array.of(65, 66, 0, 255, 233), 0, 5);
    await rec.until(() => Buffer.concat(got).length >= 5, "5 bytes");
    assert.deepEqual([...Buffer.concat(got)], [65, 66, 0, 255, 233]);
    assert.equal(h.sim.stats.nonStringWrites, 0);
    h.dispose();
  });

  it("Linux build, no network: connect throws; onClose with it, later", async () => {
    const h = espruinoHarness({ build: "linux", wifi: { joined: false } });
    const t = h.transport();
    const rec = new Recorder();
    t.open("127.0.0.1", peers.port(), rec);
    assert.equal(rec.closes.length, 0, "not from inside open()");
    await rec.until(() => rec.closes.length === 1, "onClose");
    assert.match(String((rec.closes[0] as Error).message), /Unable to connect/);
    h.dispose();
  });

  it("chunks of 1,460 bytes are handed on whole, intact", async () => {
    const h = espruinoHarness({ maxChunk: 1460 });
    const t = h.transport();
    const rec = new Recorder();
    t.open("127.0.0.1", peers.port(), rec);
    await rec.until(() => rec.opens === 1, "onOpen");
    const data = Buffer.alloc(5000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 255;
    sockets[sockets.length - 1].write(data);
    await rec.until(() => rec.received().length >= data.length, "5,000 bytes");
    assert.ok(rec.received().equals(data));
    assert.ok(Math.max(...rec.chunks) > 536, "no copy into smaller pieces");
    h.dispose();
  });

  it("never listens for 'connect' as well as passing the callback (that crashes Espruino)", async () => {
    const h = espruinoHarness();
    const t = h.transport();
    const rec = new Recorder();
    t.open("127.0.0.1", peers.port(), rec);
    await rec.until(() => rec.opens === 1, "onOpen");
    assert.deepEqual(h.sim.errors, []);
    t.close();
    await rec.until(() => rec.closes.length === 1, "onClose");
    h.dispose();
  });
});

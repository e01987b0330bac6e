/**
 * The transport contract (test/contract/transport.ts) for the links inside the board bundles, on
 * the real interpreters: `espruinoBoard()` on Espruino (espruino-1700, the bundle in Storage) and
 * `kalumaBoard()` on Kaluma 1.2.1 (through its bridge), against a TCP peer in this process. The
 * contract suite itself drives a link from Node; on a board the link lives in the interpreter, so
 * there a script (`LINK_SCRIPT`) takes the link through the same steps and prints what it saw,
 * and the peer here checks the bytes:
 *
 * - a: open → onOpen once; all 256 byte values, then 16 KB written as the client writes (512-byte
 *   slices, holding on `false` until onDrain) arrive intact and in order; 4 KB sent back in one
 *   write come in intact, in chunks of any size; a remote close → onClose exactly once.
 * - b: the same board opens again; bytes written just before close go out, the peer sees the
 *   end, close → onClose exactly once; a write after close does not throw and sends nothing.
 * - c: a refused connection → onClose exactly once, no onOpen (Kaluma reports a refusal by
 *   nothing: there the client's connect deadline closes the link, and that close gives the one
 *   onClose).
 * - d: a link reset by the peer → onClose exactly once (Kaluma: by nothing, then as c).
 * - No event from inside a call of the link's (open, write, close).
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import * as L from "../../bench/real-lib.ts";
import { freePort } from "../helpers/brokers.ts";
import { needRuntimes, runtimesWhyNot } from "./support.ts";

const BIG = 16384;
const BACK = 4096;

/**
 * The device's side, plain ES5 for both interpreters. `%BOARD%`, `%PORT%` and `%DEAD%` are
 * filled in. Lines: `EV <conn> <open|close> <count>`, `RX <conn> <bytes> bad <offset or -1>`,
 * `WAC ok`, `VIOLATION ...`, `DONE`.
 */
const LINK_SCRIPT = `
var B = %BOARD%;
var PORT = %PORT%, DEAD = %DEAD%, BIG = ${BIG}, BACK = ${BACK}, SILENT = %SILENT%;
var log = function (s) { console.log(s); };
var rec = null;
var inCall = 0;
var mk = function (tag) {
  var r = { tag: tag, open: 0, close: 0, bytes: 0, bad: -1, then: {} };
  r.ev = {
    onOpen: function () {
      if (inCall) log('VIOLATION ' + tag + ' onOpen inside a call');
      r.open++; log('EV ' + tag + ' open ' + r.open);
      if (r.then.open) r.then.open();
    },
    onData: function (d) {
      if (inCall) log('VIOLATION ' + tag + ' onData inside a call');
      for (var i = 0; i < d.length; i++) {
        var c = typeof d === 'string' ? d.charCodeAt(i) : d[i];
        if (c !== (r.bytes & 255) && r.bad < 0) r.bad = r.bytes;
        r.bytes++;
      }
      if (r.then.data) r.then.data();
    },
    onDrain: function () {
      if (inCall) log('VIOLATION ' + tag + ' onDrain inside a call');
      if (r.then.drain) r.then.drain();
    },
    onClose: function () {
      if (inCall) log('VIOLATION ' + tag + ' onClose inside a call');
      r.close++; log('EV ' + tag + ' close ' + r.close);
      if (r.then.close) r.then.close();
    }
  };
  return r;
};
var open = function (r, port) { rec = r; inCall = 1; B.open('127.0.0.1', port, r.ev); inCall = 0; };
var write = function (s) { inCall = 1; var ok = B.write(s); inCall = 0; return ok; };
var close = function () { inCall = 1; B.close(); inCall = 0; };
// After a close, a second one must not come: wait, then go on.
var settle = function (next) { setTimeout(next, 1500); };

var bytes = function (from, n) { var s = ''; for (var i = from; i < from + n; i++) s += String.fromCharCode(i & 255); return s; };

var stepA = function () {
  var r = mk('a');
  var off = 0;
  var pump = function () {
    while (off < BIG) {
      var n = Math.min(512, BIG - off);
      var more = write(bytes(off, n));
      off += n;
      if (!more) return; // onDrain goes on
    }
    r.then.drain = null;
  };
  r.then.open = function () {
    write(bytes(0, 256));
    r.then.drain = pump;
    pump();
  };
  r.then.data = function () {
    if (r.bytes < BACK) return;
    r.then.data = null;
    log('RX a ' + r.bytes + ' bad ' + r.bad);
    write('!');
  };
  r.then.close = function () { r.then.close = null; settle(stepB); };
  open(r, PORT);
};

var stepB = function () {
  var r = mk('b');
  r.then.open = function () {
    write('bye');
    close();
    var threw = false;
    try { write('x'); } catch (e) { threw = true; }
    log(threw ? 'VIOLATION write after close threw' : 'WAC ok');
  };
  r.then.close = function () { r.then.close = null; settle(stepC); };
  open(r, PORT);
};

var stepC = function () {
  var r = mk('c');
  r.then.close = function () { r.then.close = null; settle(stepD); };
  open(r, DEAD);
  // Where a refusal is reported by nothing, the client's connect deadline closes the link.
  if (SILENT) setTimeout(function () { if (!r.close) close(); }, 3000);
};

var stepD = function () {
  var r = mk('d');
  r.then.open = function () { write('reset me'); if (SILENT) setTimeout(function () { if (!r.close) close(); }, 3000); };
  r.then.close = function () { r.then.close = null; settle(function () { log('DONE'); process.exit(0); }); };
  open(r, PORT);
};

stepA();
`;

interface Peer {
  port: number;
  /** What each accepted connection received, in order, and whether it ended (FIN) cleanly. */
  conns: { got: Buffer[]; ended: boolean; reset: boolean }[];
  close(): Promise<void>;
}

/** The peer: connection a checks and answers, b listens, the third (d) is reset at once. */
function startPeer(): Promise<Peer> {
  const conns: Peer["conns"] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    const c = { got: [] as Buffer[], ended: false, reset: false };
    const index = conns.length;
    conns.push(c);
    sockets.push(s);
    s.on("error", () => {});
    s.on("end", () => {
      c.ended = true;
      s.end();
    });
    let answered = false;
    s.on("data", (b) => {
      c.got.push(b);
      const n = Buffer.concat(c.got).length;
      if (index === 0) {
        if (!answered && n >= 256 + BIG) {
          answered = true;
          const back = Buffer.alloc(BACK);
          for (let i = 0; i < BACK; i++) back[i] = i & 255;
          s.write(back);
        }
        if (n >= 256 + BIG + 1) s.end(); // the device has the 4 KB: a remote close
      } else if (index === 2 && !c.reset) {
        c.reset = true;
        s.resetAndDestroy();
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        conns,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

let peer: Peer | null = null;
before(async () => {
  if (!runtimesWhyNot()) peer = await startPeer();
});
after(async () => {
  if (peer) await peer.close();
});

/** The checks of the contract on what the device printed and the peer received. */
function checkContract(out: string, p: Peer, silent: boolean): void {
  const lines = out.split("\n").map((l) => l.trim());
  const has = (l: string) => lines.includes(l);
  const detail = "\n--- device ---\n" + out.slice(-2000);
  assert.ok(!lines.some((l) => l.startsWith("VIOLATION")), "no event inside a call, no throw" + detail);
  assert.ok(has("DONE"), "the script went through every step" + detail);
  // a
  assert.ok(has("EV a open 1") && !has("EV a open 2"), "a: onOpen once" + detail);
  const a = Buffer.concat(p.conns[0].got);
  assert.equal(a.length, 256 + BIG + 1, "a: every byte written arrived");
  for (let i = 0; i < 256; i++) if (a[i] !== i) assert.fail("a: byte value " + i + " arrived as " + a[i]);
  for (let i = 0; i < BIG; i++) if (a[256 + i] !== (i & 255)) assert.fail("a: the 16 KB differ at byte " + i);
  assert.ok(has("RX a " + BACK + " bad -1"), "a: the 4 KB sent back came in intact" + detail);
  assert.ok(has("EV a close 1") && !has("EV a close 2"), "a: a remote close gives onClose exactly once" + detail);
  // b
  assert.ok(has("EV b open 1") && !has("EV b open 2"), "b: the same board opens again" + detail);
  assert.equal(Buffer.concat(p.conns[1].got).toString("latin1"), "bye", "b: what was written just before close went out; nothing after it");
  assert.ok(p.conns[1].ended, "b: the peer saw the end");
  assert.ok(has("WAC ok"), "b: a write after close does not throw" + detail);
  assert.ok(has("EV b close 1") && !has("EV b close 2"), "b: close gives onClose exactly once" + detail);
  // c
  assert.ok(!lines.some((l) => l.startsWith("EV c open")), "c: no onOpen for a refused connection" + detail);
  assert.ok(has("EV c close 1") && !has("EV c close 2"), "c: a refused connection gives onClose exactly once" + (silent ? " (after close)" : "") + detail);
  // d
  assert.equal(p.conns.length, 3, "three connections reached the peer (a, b, d)");
  assert.ok(has("EV d open 1") && has("EV d close 1") && !has("EV d close 2"), "d: a reset link gives onClose exactly once" + detail);
}

describe("the board links on the real interpreters: the transport contract", () => {
  it("espruinoBoard() on Espruino (espruino-1700, the bundle from Storage)", async (t) => {
    if (!needRuntimes(t)) return;
    const dead = await freePort();
    const script = LINK_SCRIPT.replace("%BOARD%", "require('mcu-mqtt').espruinoBoard()")
      .replace("%PORT%", String(peer!.port))
      .replace("%DEAD%", String(dead))
      .replace("%SILENT%", "false");
    const d = L.storageDir(await L.storageImage("mcu-mqtt", L.ESPRUINO_BUNDLES.full.file));
    try {
      const run = await L.runEspruino("espruino-1700", script, d.dir, 240);
      checkContract(run.out, peer!, false);
    } finally {
      d.cleanup();
    }
  });

  it("kalumaBoard() on Kaluma 1.2.1 (Pico W heap, through its bridge)", async (t) => {
    if (!needRuntimes(t)) return;
    // A fresh peer: the connection order is what tells a, b and d apart.
    await peer!.close();
    peer = await startPeer();
    const dead = await freePort();
    const script = LINK_SCRIPT.replace("%BOARD%", "require('mcu-mqtt').kalumaBoard()")
      .replace("%PORT%", String(peer.port))
      .replace("%DEAD%", String(dead))
      .replace("%SILENT%", "true");
    const run = await L.runKaluma(script, { bundle: L.KALUMA_BUNDLES.full.file, seconds: 180 });
    checkContract(run.out + "\n" + run.err, peer, true);
  });
});

/**
 * mcu-mqtt for Kaluma on the Raspberry Pi Pico W (Kaluma 1.2.x, JerryScript 2.4).
 *
 *   const mqtt = require("mcu-mqtt");
 *   mqtt.joinWifi({ ssid: "home", password: "secret" }, function (err) {
 *     const client = mqtt.connect({ host: "192.168.1.10", clientId: "pico-1", wifi: { ssid: "home", password: "secret" } });
 *   });
 *
 * The same file makes both bundles: mcu-mqtt.js and mcu-mqtt-qos0.js (QOS12 false). What Kaluma
 * asks of the adapter (read from its sources, measured on its 1.2.1 runtime):
 * - `net.createConnection` throws for DNS failures and when Wi-Fi is down; a refused
 *   connection, a connect timeout or a peer reset is reported by nothing at all: the client's
 *   CONNACK and PINGRESP deadlines find those.
 * - Data comes as a Uint8Array per TCP segment, handed on as it is. Writes take binary strings
 *   as they are. A write costs about 9x its size in heap for a moment,
 *   so bytes go in slices of SLICE; 'drain' never fires and lwIP fails writes past ~11.6 KB unacknowledged, so after
 *   WINDOW bytes the client is told to wait, and a timer says when to go on.
 * - On the Pico the driver's callbacks report success even on failure; its `errno` is right
 *   after a synchronous call, so it is checked after each write.
 * - `clearTimeout(undefined)` throws: the client clears only a handle it holds.
 */
import { BoardClient, type Board, type BoardOptions, type LinkEvents } from "../../src/compact.ts";

declare const require: (name: string) => any;
declare const millis: () => number;
declare const setTimeout: (callback: () => void, ms: number) => unknown;
declare const clearTimeout: (handle: unknown) => void;
declare const global: any;

export interface WifiOptions {
  ssid: string;
  password?: string;
}

export interface KalumaOptions extends BoardOptions {
  /** After a failed connection, check this network is joined and join it again if not. */
  wifi?: WifiOptions;
}

const SLICE = 512;
const WINDOW = 4096;
const WINDOW_MS = 100;

/** Clock, timers and the link over Kaluma's `net`, for the Pico W. */
export function kalumaBoard(): Board {
  let sock: any = null;
  let ev: LinkEvents;
  // Bytes written in the window that began at `since`.
  let sent = 0;
  let since = 0;
  let pace: unknown;
  // Bytes per WINDOW_MS: halved by a write lwIP refused (a link slower than the pacing),
  // widened by a slice again after every 64 KB that went out without one.
  let win = WINDOW;
  let good = 0;
  // Kaluma's stream hands a write to the driver from a timer, after the call: its errno is
  // read before the next write and when the pacing timer fires, and only after a write.
  let unchecked = false;
  const failed = function (k: any): boolean {
    const dev = global.__netdev;
    const bad = unchecked && dev && dev.errno < 0;
    unchecked = false;
    if (bad) {
      win = Math.max(SLICE, win >> 1);
      good = 0;
      fin(k, new Error("mcu-mqtt: write failed, errno " + dev.errno));
    }
    return bad;
  };
  // `k` is the socket of one open: its close is reported once, and never from inside a call.
  // Destroying a socket frees its slot (there are 16; `end()` sends nothing on Kaluma). A failed
  // one goes at once; one the client closes a turn later, after what was written just before
  // (a DISCONNECT) has gone.
  const fin = function (k: any, why?: unknown, later?: boolean) {
    if (sock !== k) return;
    sock = null;
    if (!later && k.destroy) k.destroy();
    setTimeout(function () {
      if (later && k.destroy) k.destroy();
      ev.onClose(why);
    }, 0);
  };
  return {
    now: millis,
    // Kaluma's setTimeout passes no arguments on (measured on 1.2.1).
    set: function (callback, ms, arg) {
      return setTimeout(function () {
        callback(arg);
      }, ms);
    },
    clear: clearTimeout, // the client clears only handles it holds
    open: function (host, port, events) {
      ev = events;
      sent = 0;
      unchecked = false;
      let k: any = (sock = {});
      try {
        // The socket first, then connect: a connect that throws (DNS, Wi-Fi down) may hold a
        // slot already, and only a socket in hand can be destroyed.
        k = sock = new (require("net").Socket)();
        k.on("data", function (d: Uint8Array) {
          if (sock === k) ev.onData(d);
        });
        const end = function (e?: unknown) {
          fin(k, e);
        };
        k.on("error", end);
        k.on("close", end);
        k.connect({ host: host, port: port }, function () {
          if (sock === k) ev.onOpen();
        });
      } catch (e) {
        fin(k, e);
      }
    },
    write: function (s) {
      const k = sock;
      if (!k || failed(k)) return true;
      for (let i = 0; i < s.length; i += SLICE) k.write(s.substr(i, SLICE));
      unchecked = true;
      if ((good += s.length) >= 65536 && win < WINDOW) {
        win += SLICE;
        good = 0;
      }
      // A window is a time: traffic slower than the pacing never waits.
      const t = millis();
      if (pace === undefined && t - since >= WINDOW_MS) {
        since = t;
        sent = 0;
      }
      if ((sent += s.length) < win) return true;
      if (pace === undefined)
        pace = setTimeout(function () {
          pace = undefined;
          sent = 0;
          since = millis();
          // The socket now, which may be a newer one than the write that armed this timer.
          const c = sock;
          if (c && !failed(c)) ev.onDrain();
        }, (WINDOW_MS * sent) / win); // win bytes per WINDOW_MS, whatever size the writes were
      return false;
    },
    close: function () {
      if (sock) fin(sock, undefined, true);
    },
  };
}

let device: any;
function wifi(): any {
  if (!device) {
    const m = require("wifi");
    device = m.WiFi ? new m.WiFi() : m;
  }
  return device;
}

/** Joins a Wi-Fi network (blocks up to 30 s on the board); the callback hears whether it worked. */
export function joinWifi(options: WifiOptions, callback?: (err: Error | null) => void): void {
  const w = wifi();
  w.connect({ ssid: options.ssid, password: options.password }, function () {
    // The Pico's driver may report success when joining failed: ask for the connection.
    w.getConnection(function (err: unknown, info: unknown) {
      if (callback) callback(err || !info ? new Error("mcu-mqtt: Wi-Fi " + options.ssid) : null);
    });
  });
}

/** Creates a client on the Pico W and starts connecting. */
export function connect(options: KalumaOptions): BoardClient {
  const client = new BoardClient(options, kalumaBoard(), { maxPacketBytes: 20480, outboxBytes: 4096, incomingQos2Slots: 16 });
  const o = options.wifi;
  // Kaluma tells nobody when Wi-Fi is lost: after a failed connection, check and join again.
  if (o)
    client.on("close", function () {
      wifi().getConnection(function (err: unknown, info: unknown) {
        if (err || !info) joinWifi(o);
      });
    });
  return client;
}

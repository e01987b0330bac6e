/**
 * Wi-Fi on the Pico W through Kaluma's `require('wifi')`.
 *
 * `wifi.connect` blocks the JS thread up to 30 s and, on the Pico, can report success when joining
 * failed; there is no link-loss event (`'disconnected'` follows an explicit `disconnect()` only).
 * So a join is confirmed with `getConnection`, and the link is polled after every failed or lost
 * MQTT connection.
 */
/** What keeping the network needs of a client (the full one or the QoS 0 one). */
export interface Reconnectable {
  reconnect(): unknown;
  on(event: "close", listener: () => void): unknown;
  off(event: "close", listener: () => void): unknown;
}

declare const require: (name: string) => any;
declare const millis: () => number;
declare const setTimeout: (callback: () => void, ms: number) => unknown;
declare const clearTimeout: (handle: unknown) => void;

function failure(message: string): Error {
  return new Error("mcu-mqtt: " + message);
}

export interface WifiOptions {
  ssid?: string;
  password?: string;
  /** Least time between two attempts to join again (default 15,000 ms: a join blocks up to 30 s). */
  rejoinMs?: number;
}

let wifiInstance: any = null;

/** The Wi-Fi object of `require('wifi')`: `new WiFi()` on Kaluma 1.2, the module on later ones. */
export function wifiDevice(): any {
  if (!wifiInstance) {
    const m = require("wifi");
    wifiInstance = m && typeof m.WiFi === "function" ? new m.WiFi() : m;
  }
  return wifiInstance;
}

/**
 * Joins a Wi-Fi network. On the Pico, `wifi.connect` blocks the JS thread up to 30 s and can
 * report success when joining failed, so the link is confirmed with `getConnection`.
 * `callback(err, info)`: err is an Error when the network was not joined.
 */
export function joinWifi(options: WifiOptions, callback?: (err: Error | null, info?: unknown) => void): void {
  const wifi = wifiDevice();
  const done = callback ? callback : function () {};
  const ssid = options.ssid;
  wifi.connect({ ssid: ssid, password: options.password }, function (err: unknown) {
    if (err) {
      done(failure("Wi-Fi: could not join '" + ssid + "': " + err));
      return;
    }
    wifi.getConnection(function (err2: unknown, info: unknown) {
      if (err2 || !info) done(failure("Wi-Fi: could not join '" + ssid + "'"));
      else done(null, info);
    });
  });
}

/**
 * Keeps Wi-Fi joined for `client`. Kaluma has no link-loss event, so after each failed or lost
 * MQTT connection the link is polled with `getConnection`, and joined again when it is down.
 * Returns a function that stops watching.
 */
export function keepWifi(client: Reconnectable, options: WifiOptions): () => void {
  const rejoinMs = options.rejoinMs !== undefined && options.rejoinMs > 0 ? options.rejoinMs : 15000;
  let lastJoinMs = -1;
  let stopped = false;
  let retry: unknown = undefined;
  const check = function () {
    if (stopped) return;
    const wifi = wifiDevice();
    wifi.getConnection(function (err: unknown, info: unknown) {
      // On the Pico a missing link comes as (null, undefined), not as an error.
      if (stopped || (!err && info)) return;
      const now = millis();
      if (lastJoinMs >= 0 && now - lastJoinMs < rejoinMs) {
        if (retry === undefined) {
          retry = setTimeout(function () {
            retry = undefined;
            check();
          }, lastJoinMs + rejoinMs - now);
        }
        return;
      }
      lastJoinMs = now;
      joinWifi(options, function (joinErr) {
        lastJoinMs = millis();
        if (!joinErr && !stopped) {
          // After the client has settled in its retry state: reconnect now, not after backoff.
          setTimeout(function () {
            client.reconnect();
          }, 0);
        }
      });
    });
  };
  const onClose = function () {
    check();
  };
  client.on("close", onClose);
  return function () {
    stopped = true;
    client.off("close", onClose);
    if (retry !== undefined) {
      clearTimeout(retry);
      retry = undefined;
    }
  };
}

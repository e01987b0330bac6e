/**
 * Wi-Fi on Espruino: `require("Wifi")` on ESP32/ESP8266 (`connect(ssid, {password}, cb)`, events
 * `connected`/`disconnected`), `require("EspruinoWiFi")` with the same shape on the Espruino WiFi.
 * The modules retry a lost network by themselves on some boards and not on others, so
 * `keepWifi` asks again after a loss.
 */
/** What keeping the network needs of a client (the full one or the QoS 0 one). */
export interface Reconnectable {
  reconnect(): unknown;
}

declare const require: (name: string) => any;
declare const setTimeout: (callback: () => void, ms: number) => unknown;
declare const clearTimeout: (handle: unknown) => void;

export interface WifiOptions {
  ssid: string;
  password?: string;
  /** "Wifi" (ESP32, ESP8266) or "EspruinoWiFi"; by default whichever loads. */
  module?: string;
  /** Delay between attempts to join again after the network was lost (default 10,000 ms). */
  retryMs?: number;
}

/** The Wi-Fi module: `require("Wifi")` on ESP32/ESP8266, `require("EspruinoWiFi")` on the Espruino WiFi. */
export function wifiModule(name?: string): any {
  if (name) return require(name);
  try {
    return require("Wifi");
  } catch (e) {
    return require("EspruinoWiFi");
  }
}

/** Joins a network: `callback(err)` with err null once joined (the modules retry by themselves). */
export function joinWifi(options: WifiOptions, callback?: (err: unknown) => void): void {
  const wifi = wifiModule(options.module);
  wifi.connect(options.ssid, { password: options.password }, function (err: unknown) {
    if (callback) callback(err ? err : null);
  });
}

/**
 * Keeps Wi-Fi joined for `client`: after `'disconnected'` it tries to join again every `retryMs`,
 * and once `'connected'` it reconnects the client at once instead of after its backoff.
 * Returns a function that stops watching.
 */
export function keepWifi(client: Reconnectable, options: WifiOptions): () => void {
  const wifi = wifiModule(options.module);
  const retryMs = options.retryMs && options.retryMs > 0 ? options.retryMs : 10000;
  let retry: unknown = undefined;
  let stopped = false;
  const attempt = function () {
    retry = undefined;
    if (stopped) return;
    wifi.connect(options.ssid, { password: options.password }, function () {});
    retry = setTimeout(attempt, retryMs);
  };
  const onConnected = function () {
    if (retry !== undefined) {
      clearTimeout(retry);
      retry = undefined;
    }
    if (!stopped) client.reconnect();
  };
  const onDisconnected = function () {
    if (!stopped && retry === undefined) retry = setTimeout(attempt, retryMs);
  };
  if (typeof wifi.on === "function") {
    wifi.on("connected", onConnected);
    wifi.on("disconnected", onDisconnected);
  }
  return function () {
    stopped = true;
    if (retry !== undefined) {
      clearTimeout(retry);
      retry = undefined;
    }
    if (typeof wifi.removeListener === "function") {
      wifi.removeListener("connected", onConnected);
      wifi.removeListener("disconnected", onDisconnected);
    }
  };
}

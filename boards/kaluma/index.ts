/**
 * mcu-mqtt for Kaluma on the Raspberry Pi Pico W (Kaluma 1.2.x, JerryScript 2.4).
 *
 *   const mqtt = require("mcu-mqtt");
 *   mqtt.joinWifi({ ssid: "home", password: "secret" }, function (err) {
 *     if (err) return console.log(err.message);
 *     const client = mqtt.connect({ host: "192.168.1.10", clientId: "pico-1", wifi: { ssid: "home", password: "secret" } });
 *   });
 *
 * The board (clock, timers, transport) is in ./transport.ts, Wi-Fi in ./wifi.ts.
 */
import { Client, type ClientOptions } from "../../src/client.ts";
import { kalumaBoardFor, type KalumaTransportOptions } from "./transport.ts";
import { keepWifi, type WifiOptions } from "./wifi.ts";

export * from "../../src/public.ts";
export { KalumaTransport, kalumaBoard, kalumaClock, kalumaTimers, type KalumaTransportOptions } from "./transport.ts";
export { joinWifi, keepWifi, wifiDevice, type WifiOptions } from "./wifi.ts";

export interface KalumaClientOptions extends ClientOptions {
  /** Send pacing and timeouts of the transport. */
  transport?: KalumaTransportOptions;
  /** Keep this Wi-Fi network joined (see `keepWifi`). Join it first with `joinWifi`. */
  wifi?: WifiOptions;
}

/** Creates a client on the Pico W and starts connecting. */
export function connect(options: KalumaClientOptions): Client {
  const board = kalumaBoardFor(options.transport, options.txBytes !== undefined ? options.txBytes : 4096, 8192);
  const client = new Client(options, board);
  if (options.wifi) keepWifi(client, options.wifi);
  return client;
}

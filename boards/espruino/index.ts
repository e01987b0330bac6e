/**
 * mcu-mqtt for Espruino (ESP32, ESP8266, Espruino WiFi, Espruino Pico with a Wi-Fi module).
 *
 *   var mqtt = require("mcu-mqtt");
 *   var client = mqtt.connect({ host: "192.168.1.10", clientId: "esp32-1" });
 *
 * or, for a sketch written for Espruino's own MQTT module, change only the module name:
 *
 *   var mqtt = require("mcu-mqtt").create("192.168.1.10", { client_id: "esp32-1" });
 *
 * The board (clock, timers, transport) is in ./transport.ts, Wi-Fi in ./wifi.ts, the face of
 * Espruino's MQTT module in ./compat.ts.
 */
import { Client, type ClientOptions } from "../../src/client.ts";
import { espruinoBoardFor, type EspruinoTlsOptions, type EspruinoTransportOptions } from "./transport.ts";
import { keepWifi, type WifiOptions } from "./wifi.ts";

export * from "../../src/public.ts";
export {
  EspruinoTransport,
  espruinoBoard,
  espruinoClock,
  espruinoTimers,
  type EspruinoTlsOptions,
  type EspruinoTransportOptions,
} from "./transport.ts";
export { joinWifi, keepWifi, wifiModule, type WifiOptions } from "./wifi.ts";
export { create, EspruinoMqtt, type EspruinoMqttOptions } from "./compat.ts";

export interface EspruinoClientOptions extends ClientOptions {
  /** TLS through `require("tls")` (ESP32, Espruino WiFi firmware built with it). */
  tls?: EspruinoTlsOptions | boolean;
  /** Flow control and scratch sizes of the transport. */
  transport?: EspruinoTransportOptions;
  /** Keep this Wi-Fi network joined (see `keepWifi`). */
  wifi?: WifiOptions;
}

/** Creates a client on this board and starts connecting. */
export function connect(options: EspruinoClientOptions): Client {
  const client = new Client(options, espruinoBoardFor(options.transport, options.tls));
  if (options.wifi) keepWifi(client, options.wifi);
  return client;
}

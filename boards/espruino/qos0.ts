/**
 * mcu-mqtt's QoS 0-only build for Espruino: the smallest client, for boards with little free
 * memory (a stock ESP32 build). See src/lite.ts for what it does and leaves out.
 *
 *   var mqtt = require("mcu-mqtt-qos0");
 *   var client = mqtt.connect({ host: "192.168.1.10", clientId: "esp32-1" });
 *   client.on("connect", function () { client.publish("nodes/esp32-1/status", "online", { retain: true }); });
 */
import { createLiteClient, LiteClient, type LiteOptions } from "../../src/lite.ts";
import { espruinoBoardFor, type EspruinoTlsOptions, type EspruinoTransportOptions } from "./transport.ts";
import { joinWifi, keepWifi, type WifiOptions } from "./wifi.ts";

export { LiteClient, createLiteClient, type LiteOptions, type LiteCallback, type LiteMessageHandler } from "../../src/lite.ts";
export { espruinoBoard, espruinoBoardFor, type EspruinoTlsOptions, type EspruinoTransportOptions } from "./transport.ts";
export { joinWifi, keepWifi, type WifiOptions };

export interface EspruinoLiteOptions extends LiteOptions {
  /** TLS through `require("tls")` (ESP32, Espruino WiFi firmware built with it). */
  tls?: EspruinoTlsOptions | boolean;
  /** Flow control and scratch sizes of the transport. */
  transport?: EspruinoTransportOptions;
  /** Keep this Wi-Fi network joined (see `keepWifi`). */
  wifi?: WifiOptions;
}

/** Creates a QoS 0-only client on this board and starts connecting. */
export function connect(options: EspruinoLiteOptions): LiteClient {
  const client = createLiteClient(options, espruinoBoardFor(options.transport, options.tls));
  if (options.wifi) keepWifi(client, options.wifi);
  return client;
}

/**
 * mcu-mqtt's QoS 0-only build for Kaluma on the Pico W: the smallest client. See src/lite.ts for
 * what it does and leaves out.
 *
 *   const mqtt = require("mcu-mqtt/qos0");
 *   const client = mqtt.connect({ host: "192.168.1.10", clientId: "pico-1" });
 */
import { createLiteClient, LiteClient, type LiteOptions } from "../../src/lite.ts";
import { kalumaBoardFor, type KalumaTransportOptions } from "./transport.ts";
import { joinWifi, keepWifi, type WifiOptions } from "./wifi.ts";

export { LiteClient, createLiteClient, type LiteOptions, type LiteCallback, type LiteMessageHandler } from "../../src/lite.ts";
export { kalumaBoard, kalumaBoardFor, type KalumaTransportOptions } from "./transport.ts";
export { joinWifi, keepWifi, type WifiOptions };

export interface KalumaLiteOptions extends LiteOptions {
  /** Send pacing and timeouts of the transport. */
  transport?: KalumaTransportOptions;
  /** Keep this Wi-Fi network joined (see `keepWifi`). Join it first with `joinWifi`. */
  wifi?: WifiOptions;
}

/** Creates a QoS 0-only client on the Pico W and starts connecting. */
export function connect(options: KalumaLiteOptions): LiteClient {
  const board = kalumaBoardFor(options.transport, options.txBytes !== undefined ? options.txBytes : 1024, 0);
  const client = createLiteClient(options, board);
  if (options.wifi) keepWifi(client, options.wifi);
  return client;
}

/**
 * mcu-mqtt's QoS 0-only build for Kaluma on the Pico W: the smallest client. See src/lite.ts for
 * what it does and leaves out.
 *
 *   const mqtt = require("mcu-mqtt/qos0");
 *   const client = mqtt.connect({ host: "192.168.1.10", clientId: "pico-1" });
 */
import { createLiteClient, LiteClient, type LiteOptions } from "../../src/lite.ts";
import { kalumaBoard, type KalumaTransportOptions } from "./transport.ts";
import { joinWifi, keepWifi, type WifiOptions } from "./wifi.ts";

export { LiteClient, createLiteClient, type LiteOptions, type LiteCallback, type LiteMessageHandler } from "../../src/lite.ts";
export { kalumaBoard, type KalumaTransportOptions } from "./transport.ts";
export { joinWifi, keepWifi, type WifiOptions };

export interface KalumaLiteOptions extends LiteOptions {
  /** Send pacing and timeouts of the transport. */
  transport?: KalumaTransportOptions;
  /** Keep this Wi-Fi network joined (see `keepWifi`). Join it first with `joinWifi`. */
  wifi?: WifiOptions;
}

/** Creates a QoS 0-only client on the Pico W and starts connecting. */
export function connect(options: KalumaLiteOptions): LiteClient {
  // The send queue must take the largest packet on top of what makes `write` say "hold on".
  const t: KalumaTransportOptions = Object.assign({}, options.transport);
  const high = t.highWaterBytes !== undefined && t.highWaterBytes > 0 ? t.highWaterBytes : 2048;
  const least = high + (options.txBytes !== undefined ? options.txBytes : 1024) + 512;
  if (t.queueBytes === undefined || t.queueBytes < least) t.queueBytes = least;
  const client = createLiteClient(options, kalumaBoard(t));
  if (options.wifi) keepWifi(client, options.wifi);
  return client;
}

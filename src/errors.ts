/**
 * The errors both clients report. They are plain `Error`s with a numeric `code` (a status from
 * src/status.ts): subclasses of Error break on Espruino.
 */
import { ERR_CONNECTION_LOST, ERR_REFUSED, statusText } from "./status.ts";

/** Errors carry `code`, a negative status from the status table, and for refusals `returnCode`. */
export interface MqttError extends Error {
  code: number;
  returnCode?: number;
}

/** Builds an error with a status code and the status's text (or `message`). */
export function mqttError(code: number, message?: string): MqttError {
  const err = new Error("mcu-mqtt: " + (message ? message : statusText(code))) as MqttError;
  err.code = code;
  return err;
}

/** CONNACK return codes 1 to 5 [MQTT-3.2.2.3]. */
const REFUSALS = [
  "",
  "unacceptable protocol version",
  "identifier rejected",
  "server unavailable",
  "bad user name or password",
  "not authorized",
];

/** The error for a CONNACK that refused the connection, with its `returnCode`. */
export function refusalError(returnCode: number): MqttError {
  const text = returnCode < REFUSALS.length ? REFUSALS[returnCode] : "return code " + returnCode;
  const err = mqttError(ERR_REFUSED, "connection refused: " + text);
  err.returnCode = returnCode;
  return err;
}

/**
 * The error for a transport's close reason. Always one with a numeric `code`, as documented: the
 * reason itself was passed on before, and a Node socket error's `code` is a string
 * ("ECONNRESET"). Its text stays in the message.
 */
export function lostError(reason: unknown): MqttError {
  if (typeof reason === "object" && reason !== null && typeof (reason as MqttError).code === "number") return reason as MqttError;
  const message = typeof reason === "object" && reason !== null ? (reason as Error).message : undefined;
  let text = typeof message === "string" ? message : String(reason);
  // A board's own error already carries the prefix that mqttError adds.
  if (text.indexOf("mcu-mqtt: ") === 0) text = text.substring(10);
  return mqttError(ERR_CONNECTION_LOST, "connection lost: " + text);
}

/** A programmer error at the public API (thrown, never emitted). */
export function invalid(message: string): Error {
  return new Error("mcu-mqtt: " + message);
}

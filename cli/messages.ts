/**
 * The one-line messages and exit codes of the CLI, worded as mosquitto_pub and mosquitto_sub
 * word them (libmosquitto's mosquitto_connack_string and mosquitto_strerror).
 */
import { ERR_CONNECT_TIMEOUT, ERR_CONNECTION_LOST, ERR_PING_TIMEOUT, ERR_REFUSED, statusText } from "../src/status.ts";

/** Exit codes, from libmosquitto's error numbers where mosquitto's clients use them. */
export const EXIT_OK = 0;
/** Usage errors and connection failures (mosquitto's clients exit 1 for these too). */
export const EXIT_ERROR = 1;
/** MOSQ_ERR_CONN_REFUSED: mosquitto_pub's exit code for any CONNACK refusal. */
export const EXIT_REFUSED = 5;
/** MOSQ_ERR_CONN_LOST. */
export const EXIT_CONN_LOST = 7;
/** MOSQ_ERR_TIMEOUT: mosquitto_sub -W ran out. */
export const EXIT_TIMEOUT = 27;

/** CONNACK return codes 1..5 as mosquitto_connack_string words them. */
const CONNACK_TEXT = [
  "Connection Accepted.",
  "Connection Refused: unacceptable protocol version.",
  "Connection Refused: identifier rejected.",
  "Connection Refused: broker unavailable.",
  "Connection Refused: bad user name or password.",
  "Connection Refused: not authorised.",
];

export function connackText(returnCode: number): string {
  return returnCode >= 0 && returnCode < CONNACK_TEXT.length ? CONNACK_TEXT[returnCode] : "Connection Refused: unknown reason.";
}

/** Node's socket error codes, in the words of strerror(3) that mosquitto's clients print. */
const ERRNO_TEXT: { [code: string]: string } = {
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset by peer",
  ETIMEDOUT: "Connection timed out",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  EHOSTDOWN: "Host is down",
  EPIPE: "Broken pipe",
  EADDRNOTAVAIL: "Cannot assign requested address",
  EACCES: "Permission denied",
};

const LOOKUP_CODES = ["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL", "EAI_NODATA"];

export interface Failure {
  /** The line for stderr (without newline). */
  line: string;
  exitCode: number;
}

/**
 * What to print and which code to exit with for an `error` event that ends the command.
 * `command` matters for refusals: mosquitto_pub exits 5 for any of them, mosquitto_sub exits
 * with the CONNACK return code itself.
 */
export function describeFailure(err: unknown, command: "pub" | "sub"): Failure {
  const e = err as { code?: unknown; returnCode?: unknown; message?: unknown; cause?: unknown };
  if (e && e.code === ERR_REFUSED && typeof e.returnCode === "number") {
    return {
      line: "Connection error: " + connackText(e.returnCode),
      exitCode: command === "pub" ? EXIT_REFUSED : e.returnCode,
    };
  }
  // The socket's own error: the event itself, or the `cause` of the board's connection error.
  const sys = e && typeof e.code === "string" ? e : e && e.cause && typeof (e.cause as { code?: unknown }).code === "string" ? (e.cause as { code: string; message?: unknown }) : null;
  if (sys) {
    const code = sys.code as string;
    if (ERRNO_TEXT[code] !== undefined) return { line: "Error: " + ERRNO_TEXT[code], exitCode: EXIT_ERROR };
    if (LOOKUP_CODES.indexOf(code) >= 0) return { line: "Unable to connect (Lookup error.).", exitCode: EXIT_ERROR };
    if (/CERT|TLS|SSL|SIGNATURE|ISSUER|ALTNAME/.test(code)) {
      return { line: "Error: A TLS error occurred: " + stripPrefix(String(e.message)), exitCode: EXIT_ERROR };
    }
  }
  if (e && e.code === ERR_CONNECT_TIMEOUT) return { line: "Error: No CONNACK from the broker in time.", exitCode: EXIT_ERROR };
  if (e && e.code === ERR_PING_TIMEOUT) return { line: "Error: Keepalive exceeded: no PINGRESP in time.", exitCode: EXIT_CONN_LOST };
  if (e && e.code === ERR_CONNECTION_LOST) {
    // A TLS failure or another socket error without a strerror(3) wording: keep its text.
    const text = typeof e.message === "string" ? stripPrefix(e.message) : "";
    return { line: "Error: The connection was lost" + (text && text !== "connection lost" ? ": " + text : "") + ".", exitCode: EXIT_CONN_LOST };
  }
  if (e && typeof e.code === "number") return { line: "Error: " + capitalise(statusText(e.code)) + ".", exitCode: EXIT_ERROR };
  const message = e && typeof e.message === "string" ? e.message : String(err);
  return { line: "Error: " + capitalise(stripPrefix(message)), exitCode: EXIT_ERROR };
}

/** Our errors start with "mcu-mqtt: "; the CLI's lines start with "Error: " instead. */
export function stripPrefix(message: string): string {
  return message.indexOf("mcu-mqtt: ") === 0 ? message.slice(10) : message;
}

function capitalise(text: string): string {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

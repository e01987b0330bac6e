/**
 * mcu-mqtt for Node: the portable core on the Node board (`net`/`tls`, Node's timers and clock).
 *
 *   import { connect } from "mcu-mqtt";
 *   const client = connect("mqtt://127.0.0.1:1883", { clientId: "node-1" });
 */
import { performance } from "node:perf_hooks";
import { Client, type ClientOptions } from "../../src/client.ts";
import type { Board, Clock, Timers } from "../../src/index.ts";
import { NodeTransport, type NodeTlsOptions } from "./transport.ts";

export * from "../../src/index.ts";
export { NodeTransport, type NodeTlsOptions };

export interface NodeClientOptions extends ClientOptions {
  /** Connect with TLS (also implied by an `mqtts://` URL). */
  tls?: NodeTlsOptions | boolean;
}

/**
 * Node's outbox: a host has memory, so publishes issued in a loop without waiting (as MQTT.js
 * users write them) are held rather than refused: up to 16 MB, allocated as it fills (64 KB
 * first, doubling). `publish` returns false past half of it; `drain` says when to go on.
 */
export const NODE_OUTBOX_BYTES = 16 * 1024 * 1024;
export const NODE_OUTBOX_START_BYTES = 64 * 1024;

/** The options with Node's defaults filled in where the caller gave none. */
export function withNodeDefaults<T extends ClientOptions>(options: T): T {
  if (options.outboxBytes !== undefined) return options;
  const start = options.outboxStartBytes === undefined ? NODE_OUTBOX_START_BYTES : options.outboxStartBytes;
  return { ...options, outboxBytes: NODE_OUTBOX_BYTES, outboxStartBytes: start };
}

/** Milliseconds from a monotonic source. */
export const nodeClock: Clock = { now: () => performance.now() };

export const nodeTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A board for one client: each client needs a transport of its own. */
export function nodeBoard(tlsOptions?: NodeTlsOptions | null): Board {
  return { clock: nodeClock, timers: nodeTimers, transport: new NodeTransport(tlsOptions) };
}

/** The URL with everything before its last '@' (user name and password) replaced by ****. */
function redactUrl(url: string): string {
  const at = url.lastIndexOf("@");
  if (at < 0) return url;
  const start = url.indexOf("//");
  return (start >= 0 && start < at ? url.slice(0, start + 2) : "") + "****" + url.slice(at);
}

/**
 * Parses `mqtt://user:pass@host:port` (or `mqtts://`, `tcp://`, `ssl://`) into options.
 * Throws for other schemes.
 */
export function parseBrokerUrl(url: string): NodeClientOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Not the URL parser's own error: it carries the whole URL, password included, as `input`,
    // which console.error(err) prints.
    throw new Error("mcu-mqtt: invalid broker URL '" + redactUrl(url) + "'");
  }
  const scheme = u.protocol.replace(/:$/, "");
  const secure = scheme === "mqtts" || scheme === "ssl" || scheme === "tls";
  if (!secure && scheme !== "mqtt" && scheme !== "tcp") throw new Error("mcu-mqtt: unsupported URL scheme '" + scheme + "'");
  const options: NodeClientOptions = {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : secure ? 8883 : 1883,
  };
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  if (secure) options.tls = true;
  return options;
}

/**
 * Creates a client on the Node board and starts connecting.
 * `connect(url, options?)` or `connect(options)`.
 */
export function connect(urlOrOptions: string | NodeClientOptions, options?: NodeClientOptions): Client {
  let merged: NodeClientOptions;
  if (typeof urlOrOptions === "string") merged = { ...parseBrokerUrl(urlOrOptions), ...(options || {}) };
  else merged = urlOrOptions;
  const tlsOptions = merged.tls === true ? {} : merged.tls ? merged.tls : null;
  return new Client(withNodeDefaults(merged), nodeBoard(tlsOptions));
}

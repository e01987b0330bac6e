/**
 * The face of Espruino's own MQTT module (espruino.com/MQTT), so that a sketch written for it
 * switches by changing the module name:
 *
 *   var mqtt = require("mcu-mqtt").create("192.168.1.10", { client_id: "esp32-1" });
 *   mqtt.on("connected", function () { mqtt.subscribe("test"); });
 *   mqtt.on("publish", function (pub) { console.log(pub.topic, pub.message); });
 *   mqtt.connect();
 *
 * Same calls: `create(server, options)`, `connect()`, `disconnect()`, `publish(topic, message,
 * opts)`, `subscribe(topics, opts)`, `unsubscribe(topic)`, `ping()`. Same events: `connected` and
 * `connect`, `disconnected` and `close`, `error(message)`, `publish({topic, message, dup, qos,
 * retain})` and `message(topic, message)`, `subscribed`, `subscribed_fail`, `unsubscribed`.
 * Messages are binary strings both ways (one char per byte), as in that module.
 *
 * What is better underneath: QoS 1 and 2 both ways with acknowledgements and resends, the will,
 * packets split or joined anywhere in the stream, keepalive with a PINGRESP deadline, and
 * reconnection with backoff (the module only reconnects when the sketch calls `connect()` again;
 * a sketch that does so on `disconnected` still works). Differences: `connect(client)` with a
 * custom stream is not supported, and `puback`, `pubcomp` and `ping_reply` are not emitted.
 */
import { Client, ENDED, IDLE, WAITING, type ReconnectOptions } from "../../src/client.ts";
import type { DecodedPacket } from "../../src/packet/types.ts";
import { espruinoBoard, type EspruinoTlsOptions } from "./transport.ts";

declare const setTimeout: (callback: () => void, ms: number) => unknown;

/** The options of Espruino's MQTT module, plus `will`, `reconnect` and `tls`. */
export interface EspruinoMqttOptions {
  client_id?: string;
  /** Seconds (default 60). */
  keep_alive?: number;
  port?: number;
  clean_session?: boolean;
  username?: string;
  password?: string;
  /** "MQTT" (3.1.1) or "MQIsdp" (3.1); protocol_level decides. */
  protocol_name?: string;
  /** 4 for MQTT 3.1.1 (default), 3 for MQTT 3.1. */
  protocol_level?: number;
  /** Sent by the broker when this client vanishes. `message` is a binary string. */
  will?: { topic: string; message: string; qos?: number; retain?: boolean };
  /** Reconnect by itself after a lost connection (default true); false behaves like the module. */
  reconnect?: boolean | ReconnectOptions;
  tls?: EspruinoTlsOptions | boolean;
}

type Listener = (a?: unknown, b?: unknown) => void;

/** A binary string (one char per byte, as Espruino's strings are) as bytes. */
function binaryBytes(s: string): Uint8Array {
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i) & 255;
  return bytes;
}

/** Bytes as a binary string. */
function binaryString(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

export class EspruinoMqtt {
  /** The module's constants, for sketches that read them. */
  C = { DEF_QOS: 0, CONNECT_TIMEOUT: 10000, PING_INTERVAL: 40 };
  server: string;
  port: number;
  client_id: string;
  keep_alive: number;
  clean_session: boolean;
  username: string | undefined;
  password: string | undefined;
  protocol_level: number;
  connected = false;
  /** The mcu-mqtt client of the current connection, or null before `connect()`. */
  client: Client | null = null;
  private options: EspruinoMqttOptions;
  private listeners: { [event: string]: Listener[] } = {};
  private connectQueued = false;

  constructor(server: string, options?: EspruinoMqttOptions) {
    const o: EspruinoMqttOptions = options ? options : {};
    this.options = o;
    this.server = server;
    this.port = o.port ? o.port : 1883;
    this.client_id = o.client_id ? o.client_id : "";
    this.keep_alive = o.keep_alive ? o.keep_alive : 60;
    this.clean_session = o.clean_session === undefined ? true : !!o.clean_session;
    this.username = o.username;
    this.password = o.password;
    this.protocol_level = o.protocol_level === 3 || o.protocol_name === "MQIsdp" ? 3 : 4;
  }

  on(event: string, listener: Listener): this {
    const list = this.listeners[event];
    if (list) list.push(listener);
    else this.listeners[event] = [listener];
    return this;
  }

  removeListener(event: string, listener: Listener): this {
    const list = this.listeners[event];
    if (list) {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  removeAllListeners(event?: string): this {
    if (event === undefined) this.listeners = {};
    else this.listeners[event] = [];
    return this;
  }

  emit(event: string, a?: unknown, b?: unknown): void {
    const list = this.listeners[event];
    if (!list) return;
    const copy = list.slice(0);
    for (let i = 0; i < copy.length; i++) copy[i](a, b);
  }

  /** Connects, or connects again after a loss. Calling it while connecting or connected does nothing. */
  connect(stream?: unknown): void {
    if (stream !== undefined) throw new Error("mcu-mqtt: connect(client) with a custom stream is not supported");
    const c = this.client;
    if (!c || c.state === ENDED) {
      this.client = this.start();
      return;
    }
    if (c.state === IDLE || c.state === WAITING) {
      c.reconnect();
      return;
    }
    // Busy: this may be a 'disconnected' listener calling back while the client is still taking
    // the close in. Look again once it has settled.
    if (this.connectQueued) return;
    this.connectQueued = true;
    const self = this;
    setTimeout(function () {
      self.connectQueued = false;
      const now = self.client;
      if (now === c && (c.state === IDLE || c.state === WAITING)) c.reconnect();
    }, 0);
  }

  /** Sends DISCONNECT (after what is queued) and closes. `disconnected` is not emitted for it. */
  disconnect(): void {
    const c = this.client;
    if (!c) return;
    this.client = null;
    this.connected = false;
    c.end();
  }

  /** Publishes `message` (a binary string; other values as their toString()). opts: {qos, retain} or a QoS number. */
  publish(topic: string, message: unknown, opts?: { qos?: number; retain?: boolean } | number): void {
    const c = this.client;
    if (!c) return;
    let qos = 0;
    let retain = false;
    if (typeof opts === "number") qos = opts;
    else if (opts) {
      qos = opts.qos ? opts.qos : 0;
      retain = !!opts.retain;
    }
    const payload = message instanceof Uint8Array ? message : binaryBytes(typeof message === "string" ? message : String(message));
    const self = this;
    try {
      c.publish(topic, payload, { qos: qos, retain: retain }, function (err) {
        if (err) self.emit("error", err.message);
      });
    } catch (e) {
      this.emit("error", (e as Error).message);
    }
  }

  /** Subscribes to a filter, an array of filters, or an object of filter: qos. opts: {qos} or a QoS number. */
  subscribe(topics: string | string[] | { [topic: string]: number }, opts?: { qos?: number } | number): void {
    const c = this.client;
    if (!c) return;
    const qos = typeof opts === "number" ? opts : opts && opts.qos ? opts.qos : 0;
    const names: string[] = [];
    const levels: number[] = [];
    if (typeof topics === "string") {
      names.push(topics);
      levels.push(qos);
    } else if (Array.isArray(topics)) {
      for (let i = 0; i < topics.length; i++) {
        names.push(topics[i]);
        levels.push(qos);
      }
    } else {
      const keys = Object.keys(topics);
      for (let i = 0; i < keys.length; i++) {
        names.push(keys[i]);
        levels.push(topics[keys[i]]);
      }
    }
    const self = this;
    const done = function (err: unknown) {
      self.emit(err ? "subscribed_fail" : "subscribed");
    };
    for (let i = 0; i < names.length; i++) {
      try {
        c.subscribe(names[i], { qos: levels[i] }, done);
      } catch (e) {
        this.emit("error", (e as Error).message);
      }
    }
  }

  unsubscribe(topic: string | string[]): void {
    const c = this.client;
    if (!c) return;
    const self = this;
    try {
      c.unsubscribe(topic, function (err) {
        if (!err) self.emit("unsubscribed");
      });
    } catch (e) {
      this.emit("error", (e as Error).message);
    }
  }

  /** Keepalive is automatic; kept for sketches that call it. */
  ping(): void {}

  private start(): Client {
    const o = this.options;
    const will = o.will
      ? { topic: o.will.topic, payload: binaryBytes(o.will.message), qos: o.will.qos ? o.will.qos : 0, retain: !!o.will.retain }
      : undefined;
    const reconnect = o.reconnect === false ? false : o.reconnect === true || o.reconnect === undefined ? {} : o.reconnect;
    const c = new Client(
      {
        host: this.server,
        port: this.port,
        clientId: this.client_id,
        keepalive: this.keep_alive,
        clean: this.clean_session,
        username: this.username,
        password: this.password,
        protocolVersion: this.protocol_level,
        will: will,
        reconnect: reconnect,
      },
      espruinoBoard({ tls: o.tls }),
    );
    const self = this;
    c.on("connect", function () {
      if (self.client !== c) return;
      self.connected = true;
      self.emit("connected");
      self.emit("connect");
    });
    c.on("close", function () {
      if (self.client !== c) return;
      self.connected = false;
      self.emit("disconnected");
      self.emit("close");
    });
    c.on("error", function (err: Error) {
      if (self.client === c) self.emit("error", err && err.message ? err.message : String(err));
    });
    c.on("message", function (topic: string, payload: Uint8Array, packet: DecodedPacket) {
      const message = binaryString(payload);
      self.emit("publish", { topic: topic, message: message, dup: packet.dup ? 1 : 0, qos: packet.qos, retain: packet.retain ? 1 : 0 });
      self.emit("message", topic, message);
    });
    return c;
  }
}

/** As `require("MQTT").create(server, options)`: a client that connects on `connect()`. */
export function create(server: string, options?: EspruinoMqttOptions): EspruinoMqtt {
  return new EspruinoMqtt(server, options);
}

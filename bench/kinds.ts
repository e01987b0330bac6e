/**
 * The three things measured side by side, behind one small interface so every run drives them
 * the same way: mcu-mqtt (through its Node board, as a user would), MQTT.js 5 (defaults, as a
 * user would), and the raw-socket floor (hand-made packets, fixed-header parsing only).
 */
import type * as net from "node:net";
import mqtt from "mqtt";
import { connect as mcuConnect, type Client } from "../boards/node/index.ts";
import type { BenchBroker } from "./broker.ts";
import {
  FrameReader,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  publishId,
  publishPacket,
  publishPayloadStart,
  putAck,
  RawLink,
} from "./raw.ts";

export type KindId = "mcu-mqtt" | "MQTT.js" | "floor";
export const KINDS: KindId[] = ["mcu-mqtt", "MQTT.js", "floor"];

export interface RunSpec {
  topic: string;
  qos: number;
  /** The run's payload (a Buffer, so MQTT.js takes it as it is; mcu-mqtt takes any Uint8Array). */
  payload: Buffer;
  /** QoS 1/2: messages published and not yet acknowledged. QoS 0: published and not yet received. */
  window: number;
  /** QoS 0: messages published per turn of the event loop. */
  batch: number;
}

export interface Publisher {
  /** Publishes the run's payload (null) or `payload`. */
  publish(payload: Buffer | null): void;
  /** End of a burst of publishes: the floor writes what it gathered; the clients need nothing. */
  flush(): void;
  errors: string[];
  close(): Promise<void>;
}

export interface Subscriber {
  errors: string[];
  close(): Promise<void>;
}

/** A received message: the payload starts at `off` of `bytes` (a prefix only, for the floor). */
export type OnMessage = (bytes: Uint8Array, off: number) => void;

let seq = 0;
function clientId(kind: string, role: string): string {
  return "bench-" + kind.replace(/[^a-z]/gi, "").toLowerCase() + "-" + role + "-" + process.pid + "-" + ++seq;
}

/**
 * mcu-mqtt options for a run: Node's defaults, except where the run is about an option:
 * - txBytes/rxBytes: the default 4,096, or one packet of the run's payload plus 64 bytes of
 *   header and topic when that is larger (the 16 KB run);
 * - maxInflight: the run's window, so QoS 1/2 keep exactly `window` messages in flight.
 * The outbox (bytes only, 16 MB on Node) and the incoming QoS 2 table (one bit per packet id)
 * are left at their defaults.
 */
export function mcuOptions(spec: RunSpec): {
  txBytes: number;
  rxBytes: number;
  maxInflight: number;
} {
  const packetBytes = spec.payload.length + 64;
  return {
    txBytes: Math.max(4096, packetBytes),
    rxBytes: Math.max(4096, packetBytes),
    maxInflight: Math.max(1, Math.min(spec.window, 65535)),
  };
}

function mcuClient(broker: BenchBroker, role: string, spec: RunSpec, errors: string[]): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = mcuConnect({
      host: broker.host,
      port: broker.port,
      clientId: clientId("mcu", role),
      keepalive: 60,
      reconnect: false,
      ...mcuOptions(spec),
    });
    let up = false;
    client.on("connect", () => {
      up = true;
      resolve(client);
    });
    client.on("error", (err: Error) => {
      errors.push(err.message);
      if (!up) reject(err);
    });
  });
}

function mcuEnd(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => client.end(true), 3000);
    client.end(false, () => {
      clearTimeout(t);
      resolve();
    });
  });
}

function mqttjsClient(broker: BenchBroker, role: string, errors: string[]): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(broker.url, { clientId: clientId("mqttjs", role), keepalive: 60, reconnectPeriod: 0, clean: true });
    let up = false;
    client.on("connect", () => {
      up = true;
      resolve(client);
    });
    client.on("error", (err: Error) => {
      errors.push(err.message);
      if (!up) reject(err);
    });
  });
}

function mqttjsEnd(client: mqtt.MqttClient): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => client.end(true), 3000);
    client.end(false, {}, () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * Byte staging for the floor: everything written in one turn of the event loop (acknowledgements
 * for a whole chunk, the publishes they release) goes out in one socket write, as mcu-mqtt's
 * Node transport does; writing per chunk instead made the floor slower than that client at QoS 1.
 */
class Stage {
  buf = Buffer.allocUnsafe(1 << 20);
  len = 0;
  private queued = false;
  private readonly flushNow = () => this.flush();
  constructor(private socket: net.Socket) {}
  /** The buffer, with room for `n` more bytes at `len`. */
  room(n: number): Buffer {
    if (this.len + n > this.buf.length) this.flush();
    if (!this.queued) {
      this.queued = true;
      setImmediate(this.flushNow);
    }
    return this.buf;
  }
  flush(): void {
    this.queued = false;
    if (this.len === 0 || this.socket.destroyed) return;
    // socket.write keeps the buffer until sent: hand it a copy, keep the staging buffer.
    this.socket.write(Buffer.from(this.buf.subarray(0, this.len)));
    this.len = 0;
  }
}

export async function makePublisher(kind: KindId, broker: BenchBroker, spec: RunSpec, onAck: () => void): Promise<Publisher> {
  const errors: string[] = [];
  const { topic, qos, payload } = spec;
  if (kind === "mcu-mqtt") {
    const client = await mcuClient(broker, "pub", spec, errors);
    const opts = { qos };
    // One callback for every message: no closure per publish.
    const cb =
      qos > 0
        ? (err: Error | null) => {
            if (err) errors.push(err.message);
            else onAck();
          }
        : undefined;
    return {
      publish: (p) => {
        client.publish(topic, p === null ? payload : p, opts, cb);
      },
      flush: () => {},
      errors,
      close: () => mcuEnd(client),
    };
  }
  if (kind === "MQTT.js") {
    const client = await mqttjsClient(broker, "pub", errors);
    const opts = { qos: qos as 0 | 1 | 2 };
    const cb =
      qos > 0
        ? (err?: Error) => {
            if (err) errors.push(err.message);
            else onAck();
          }
        : undefined;
    return {
      publish: (p) => {
        client.publish(topic, p === null ? payload : p, opts, cb);
      },
      flush: () => {},
      errors,
      close: () => mqttjsEnd(client),
    };
  }
  // The floor.
  const link = await RawLink.open(broker.host, broker.port, clientId("floor", "pub"));
  const socket = link.socket;
  socket.on("error", (err) => errors.push(err.message));
  const stage = new Stage(socket);
  let nextId = 1;
  const template = publishPacket(topic, payload, qos, 1);
  const idOff = template.length - payload.length - 2;
  // QoS 0 with the run's payload: the batch is encoded once and written as it is.
  const batchBytes = Buffer.concat(new Array(Math.max(1, spec.batch)).fill(template));
  let batched = 0;
  const reader = new FrameReader(false, (first, prefix) => {
    const type = first >> 4;
    if (type === PUBACK || type === PUBCOMP) onAck();
    else if (type === PUBREC) {
      const buf = stage.room(4);
      stage.len = putAck(buf, stage.len, PUBREL, (prefix[0] << 8) | prefix[1]);
    }
  });
  link.onBytes = (buf, n) => reader.push(buf, n);
  return {
    publish: (p) => {
      if (p === null && qos === 0) {
        if (batched === spec.batch) flushBatch();
        batched++;
        return;
      }
      const packet = p === null ? template : publishPacket(topic, p, qos, 1);
      const buf = stage.room(packet.length);
      packet.copy(buf, stage.len);
      if (qos > 0) {
        const off = stage.len + (p === null ? idOff : packet.length - p.length - 2);
        buf[off] = nextId >> 8;
        buf[off + 1] = nextId & 255;
        nextId = nextId === 65535 ? 1 : nextId + 1;
      }
      stage.len += packet.length;
    },
    flush: () => {
      flushBatch();
      stage.flush();
    },
    errors,
    close: () => link.close(),
  };
  function flushBatch(): void {
    if (batched === 0) return;
    // Written as it is: the bytes never change, so the same buffer can be queued again.
    socket.write(batched === spec.batch ? batchBytes : batchBytes.subarray(0, batched * template.length));
    batched = 0;
  }
}

export async function makeSubscriber(
  kind: KindId,
  broker: BenchBroker,
  spec: RunSpec,
  onMessage: OnMessage,
  needPayload: boolean,
  /** Called for every chunk of bytes the subscriber's socket delivers (diagnostics). */
  onChunk?: () => void,
): Promise<Subscriber> {
  const errors: string[] = [];
  const { topic, qos } = spec;
  if (kind === "mcu-mqtt") {
    const client = await mcuClient(broker, "sub", spec, errors);
    client.on("message", (_topic: string, payload: Uint8Array) => onMessage(payload, 0));
    if (onChunk) {
      // The transport hands every chunk to the client's onData: count them on the way.
      const onData = client.onData;
      client.onData = function (chunk: Uint8Array, off: number, len: number) {
        onChunk();
        onData.call(client, chunk, off, len);
      };
    }
    await new Promise<void>((resolve, reject) =>
      client.subscribe(topic, { qos }, (err) => (err ? reject(err) : resolve())),
    );
    return { errors, close: () => mcuEnd(client) };
  }
  if (kind === "MQTT.js") {
    const client = await mqttjsClient(broker, "sub", errors);
    client.on("message", (_topic: string, payload: Buffer) => onMessage(payload, 0));
    if (onChunk) client.stream.on("data", onChunk);
    await new Promise<void>((resolve, reject) =>
      client.subscribe(topic, { qos: qos as 0 | 1 | 2 }, (err) => (err ? reject(err) : resolve())),
    );
    return { errors, close: () => mqttjsEnd(client) };
  }
  const link = await RawLink.open(broker.host, broker.port, clientId("floor", "sub"));
  const socket = link.socket;
  socket.on("error", (err) => errors.push(err.message));
  await link.subscribe(topic, qos);
  const stage = new Stage(socket);
  const reader = new FrameReader(needPayload, (first, prefix) => {
    const type = first >> 4;
    if (type === PUBLISH) {
      const q = (first >> 1) & 3;
      if (q > 0) {
        const buf = stage.room(4);
        stage.len = putAck(buf, stage.len, q === 1 ? PUBACK : PUBREC, publishId(prefix));
      }
      onMessage(prefix, needPayload ? publishPayloadStart(prefix, q) : 0);
    } else if (type === PUBREL) {
      const buf = stage.room(4);
      stage.len = putAck(buf, stage.len, PUBCOMP, (prefix[0] << 8) | prefix[1]);
    }
  });
  link.onBytes = (buf, n) => {
    if (onChunk) onChunk();
    reader.push(buf, n);
  };
  return { errors, close: () => link.close() };
}

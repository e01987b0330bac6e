/**
 * Garbage of each client on its own, without sockets: mcu-mqtt on a board whose transport only
 * records, MQTT.js on a Duplex stream that takes every write at once. Bytes from the "broker"
 * are pre-encoded and fed in; the handler only counts. What is left is the allocation of the
 * client's own code per message (for MQTT.js, with the stream machinery it is built on).
 */
import { Duplex } from "node:stream";
import mqtt from "mqtt";
import { Client, type Board, type TransportEvents } from "../src/index.ts";
import { collect, HeapMeter } from "./heap.ts";
import { publishPacket, putAck, PUBACK } from "./raw.ts";

export interface AloneResult {
  kind: "mcu-mqtt" | "MQTT.js";
  what: string;
  messages: number;
  bytesPerMessage: number;
  collections: number;
}

const TOPIC = "bench/t";
/**
 * Messages before the measured ones. V8 optimizes hot functions after a while, and the code it
 * compiles is heap allocation too: with 10,000 messages of warm-up, a late compilation in the
 * window showed up as 1-5 bytes per message.
 */
const WARM = 50000;

/** A transport that drops what it is given; the test drives `events` by hand. */
class NullTransport {
  events: TransportEvents | null = null;
  written = 0;
  open(_host: string, _port: number, events: TransportEvents): void {
    this.events = events;
  }
  write(_bytes: Uint8Array, _off: number, len: number): boolean {
    this.written += len;
    return true;
  }
  close(): void {
    const e = this.events;
    this.events = null;
    if (e) e.onClose(null);
  }
}

let clockMs = 0;
export function nullBoard(): { board: Board; transport: NullTransport } {
  const transport = new NullTransport();
  const board: Board = {
    clock: { now: () => clockMs },
    timers: { set: () => 1, clear: () => {} },
    transport,
  };
  return { board, transport };
}

/** A client made by `make` on a null transport, opened and accepted (CONNACK 0). */
function connectedAlone<C extends { connected: boolean }>(make: (board: Board) => C): { client: C; transport: NullTransport } {
  const { board, transport } = nullBoard();
  const client = make(board);
  const events = transport.events as TransportEvents;
  events.onOpen();
  events.onData(new Uint8Array([0x20, 2, 0, 0]), 0, 4);
  if (!client.connected) throw new Error("mcu-mqtt alone: not connected");
  return { client, transport };
}

/** A connected mcu-mqtt client on a null transport. */
export function mcuAlone(options: Record<string, unknown> = {}): { client: Client; transport: NullTransport } {
  return connectedAlone((board) => new Client({ clientId: "alone", keepalive: 0, reconnect: false, ...options }, board));
}

/** `count` PUBLISH packets of `payload` on TOPIC, back to back, ids from `firstId`. */
function publishes(count: number, payload: Buffer, qos: number, firstId: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) parts.push(publishPacket(TOPIC, payload, qos, ((firstId + i - 1) % 65535) + 1));
  return Buffer.concat(parts);
}

function measure(run: (n: number) => void, warm: number, n: number): { perMessage: number; collections: number } {
  run(warm);
  collect();
  const meter = new HeapMeter();
  meter.start();
  run(n);
  const w = meter.stop();
  return { perMessage: w.allocated / n, collections: w.collections };
}

async function measureAsync(run: (n: number) => Promise<void>, warm: number, n: number): Promise<{ perMessage: number; collections: number }> {
  await run(warm);
  collect();
  const meter = new HeapMeter();
  meter.start();
  await run(n);
  const w = meter.stop();
  return { perMessage: w.allocated / n, collections: w.collections };
}

export function mcuAloneRuns(n: number): AloneResult[] {
  const out: AloneResult[] = [];
  const payload = Buffer.alloc(64, 7);
  const add = (what: string, r: { perMessage: number; collections: number }) =>
    out.push({ kind: "mcu-mqtt", what, messages: n, bytesPerMessage: r.perMessage, collections: r.collections });

  {
    const { client } = mcuAlone();
    const opts = { qos: 0 };
    add("publish QoS 0, Uint8Array payload", measure((k) => {
      for (let i = 0; i < k; i++) client.publish(TOPIC, payload, opts);
    }, WARM, n));
    const text = "x".repeat(64);
    add("publish QoS 0, string payload", measure((k) => {
      for (let i = 0; i < k; i++) client.publish(TOPIC, text, opts);
    }, WARM, n));
  }
  {
    // QoS 1: publish, then the PUBACK for it (ids run 1, 2, 3, ... as only one is in flight).
    const { client, transport } = mcuAlone();
    const events = transport.events as TransportEvents;
    const acks = Buffer.alloc(4 * 65536);
    for (let id = 1; id <= 65535; id++) putAck(acks, id * 4, PUBACK, id);
    let id = 1;
    const opts = { qos: 1 };
    const done = () => {};
    add("publish QoS 1 + its PUBACK", measure((k) => {
      for (let i = 0; i < k; i++) {
        client.publish(TOPIC, payload, opts, done);
        events.onData(acks, id * 4, 4);
        id = id === 65535 ? 1 : id + 1;
      }
    }, WARM, n));
  }
  for (const perChunk of [1, 100]) {
    const { client, transport } = mcuAlone();
    const events = transport.events as TransportEvents;
    let received = 0;
    client.on("message", () => {
      received++;
    });
    const chunk = publishes(perChunk, payload, 0, 1);
    add("receive QoS 0, " + perChunk + " per chunk", measure((k) => {
      for (let i = 0; i < k; i += perChunk) events.onData(chunk, 0, chunk.length);
    }, WARM, n));
    if (received !== n + WARM) throw new Error("mcu-mqtt alone: received " + received);
  }
  {
    // The allocation-free path: a `rawMessage` listener reads the payload where it lies.
    const { client, transport } = mcuAlone();
    const events = transport.events as TransportEvents;
    let received = 0;
    client.on("rawMessage", () => {
      received++;
    });
    const chunk = publishes(100, payload, 0, 1);
    add("receive QoS 0 through rawMessage, 100 per chunk", measure((k) => {
      for (let i = 0; i < k; i += 100) events.onData(chunk, 0, chunk.length);
    }, WARM, n));
    if (received !== n + WARM) throw new Error("mcu-mqtt alone, rawMessage: received " + received);
  }
  {
    const { client, transport } = mcuAlone();
    const events = transport.events as TransportEvents;
    client.on("message", () => {});
    const chunk = publishes(100, payload, 1, 1);
    add("receive QoS 1 (+ PUBACK), 100 per chunk", measure((k) => {
      for (let i = 0; i < k; i += 100) events.onData(chunk, 0, chunk.length);
    }, WARM, n));
  }
  return out;
}

/** A Duplex that accepts every write at once and lets the test push the broker's bytes. */
function nullDuplex(): Duplex {
  return new Duplex({
    write(_chunk, _enc, cb) {
      cb();
    },
    read() {},
  });
}

function mqttjsAlone(): Promise<{ client: mqtt.MqttClient; stream: Duplex }> {
  return new Promise((resolve, reject) => {
    const stream = nullDuplex();
    const client = new mqtt.MqttClient(() => stream as never, {
      clientId: "alone",
      keepalive: 0,
      reconnectPeriod: 0,
      protocolVersion: 4,
      clean: true,
    } as never);
    client.on("connect", () => resolve({ client, stream }));
    client.on("error", reject);
    setImmediate(() => stream.push(Buffer.from([0x20, 2, 0, 0])));
  });
}

const tick = () => new Promise<void>((r) => setImmediate(r));

async function until(cond: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > 30000) throw new Error("alone: timed out waiting for " + what);
    await tick();
  }
}

export async function mqttjsAloneRuns(n: number): Promise<AloneResult[]> {
  const out: AloneResult[] = [];
  const payload = Buffer.alloc(64, 7);
  const add = (what: string, r: { perMessage: number; collections: number }) =>
    out.push({ kind: "MQTT.js", what, messages: n, bytesPerMessage: r.perMessage, collections: r.collections });
  {
    const { client } = await mqttjsAlone();
    const opts = { qos: 0 as const };
    add("publish QoS 0, Uint8Array payload", await measureAsync(async (k) => {
      for (let i = 0; i < k; i++) client.publish(TOPIC, payload, opts);
      await tick();
    }, WARM, n));
    const text = "x".repeat(64);
    add("publish QoS 0, string payload", await measureAsync(async (k) => {
      for (let i = 0; i < k; i++) client.publish(TOPIC, text, opts);
      await tick();
    }, WARM, n));
    client.end(true);
  }
  {
    const { client, stream } = await mqttjsAlone();
    const opts = { qos: 1 as const };
    const acks = Buffer.alloc(4 * 65536);
    for (let id = 1; id <= 65535; id++) putAck(acks, id * 4, PUBACK, id);
    let acked = 0;
    const done = () => {
      acked++;
    };
    add("publish QoS 1 + its PUBACK", await measureAsync(async (k) => {
      const target = acked + k;
      for (let i = 0; i < k; i++) {
        client.publish(TOPIC, payload, opts, done);
        // MQTT.js numbers its messages itself, from a random start.
        const id = client.getLastMessageId();
        stream.push(acks.subarray(id * 4, id * 4 + 4));
        if ((i & 1023) === 1023) await tick();
      }
      await until(() => acked >= target, "MQTT.js PUBACKs");
    }, WARM, n));
    client.end(true);
  }
  for (const perChunk of [1, 100]) {
    const { client, stream } = await mqttjsAlone();
    let received = 0;
    client.on("message", () => {
      received++;
    });
    const chunk = publishes(perChunk, payload, 0, 1);
    add("receive QoS 0, " + perChunk + " per chunk", await measureAsync(async (k) => {
      const target = received + k;
      for (let i = 0; i < k; i += perChunk) {
        stream.push(chunk);
        if ((i & 1023) < perChunk) await tick();
      }
      await until(() => received >= target, "MQTT.js messages");
    }, WARM, n));
    client.end(true);
  }
  {
    const { client, stream } = await mqttjsAlone();
    let received = 0;
    client.on("message", () => {
      received++;
    });
    const chunk = publishes(100, payload, 1, 1);
    add("receive QoS 1 (+ PUBACK), 100 per chunk", await measureAsync(async (k) => {
      const target = received + k;
      for (let i = 0; i < k; i += 100) {
        stream.push(chunk);
        if ((i & 1023) < 100) await tick();
      }
      await until(() => received >= target, "MQTT.js messages");
    }, WARM, n));
    client.end(true);
  }
  return out;
}

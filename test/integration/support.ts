/**
 * What the integration tests share: clients on the Node board that record their events, a
 * tracker that ends them all when a test finishes, and promise forms of the callback API, each
 * with a deadline.
 */
import { connect, type NodeClientOptions } from "../../boards/node/index.ts";
import { Client, ENDED, type Granted, type MqttError } from "../../src/client.ts";
import type { Board } from "../../src/transport.ts";
import type { DecodedPacket } from "../../src/packet/types.ts";
import { HOST, waitFor } from "../helpers/brokers.ts";

export interface Msg {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  atMs: number;
}

/** A client and everything it reported, in order. */
export class Probe {
  readonly client: Client;
  readonly name: string;
  readonly connects: { sessionPresent: boolean; atMs: number }[] = [];
  readonly errors: MqttError[] = [];
  readonly drops: MqttError[] = [];
  readonly messages: Msg[] = [];
  /** Every event by name (errors as "error:<code>"), for failure messages and order checks. */
  readonly timeline: string[] = [];
  closes = 0;
  offlines = 0;
  reconnects = 0;
  ended = false;

  constructor(client: Client, name: string) {
    this.client = client;
    this.name = name;
    client.on("connect", (ack: { sessionPresent: boolean }) => {
      this.connects.push({ sessionPresent: ack.sessionPresent, atMs: Date.now() });
      this.timeline.push("connect");
    });
    client.on("error", (err: MqttError) => {
      this.errors.push(err);
      this.timeline.push("error:" + err.code);
    });
    client.on("drop", (err: MqttError) => {
      this.drops.push(err);
      this.timeline.push("drop:" + err.code);
    });
    client.on("close", () => {
      this.closes++;
      this.timeline.push("close");
    });
    client.on("offline", () => {
      this.offlines++;
      this.timeline.push("offline");
    });
    client.on("reconnect", () => {
      this.reconnects++;
      this.timeline.push("reconnect");
    });
    client.on("end", () => {
      this.ended = true;
      this.timeline.push("end");
    });
    client.on("message", (topic: string, payload: Uint8Array, packet: DecodedPacket) => {
      this.messages.push({
        topic,
        payload: Buffer.from(payload).toString("utf8"),
        qos: packet.qos,
        retain: packet.retain,
        dup: packet.dup,
        atMs: Date.now(),
      });
      this.timeline.push("message");
    });
  }

  /** Payloads received on `topic`, in order. */
  payloads(topic: string): string[] {
    return this.messages.filter((m) => m.topic === topic).map((m) => m.payload);
  }

  describe(): string {
    return this.name + " [" + this.client.stateName() + "] " + this.timeline.join(" ") +
      (this.errors.length ? " errors: " + this.errors.map((e) => e.message).join("; ") : "");
  }

  waitConnected(count: number, timeoutMs: number): Promise<void> {
    return waitFor(() => this.connects.length >= count, timeoutMs, this.name + " to connect " + count + " time(s)", () => this.describe());
  }

  waitMessages(topic: string, count: number, timeoutMs: number): Promise<void> {
    return waitFor(
      () => this.payloads(topic).length >= count,
      timeoutMs,
      this.name + " to receive " + count + " message(s) on " + topic,
      () => "got " + JSON.stringify(this.payloads(topic)) + "; " + this.describe(),
    );
  }

  waitErrors(count: number, timeoutMs: number): Promise<void> {
    return waitFor(() => this.errors.length >= count, timeoutMs, this.name + " to report " + count + " error(s)", () => this.describe());
  }

  /** Publishes and resolves with the callback's error (null on success). */
  publish(topic: string, payload: string, qos: number, retain?: boolean): Promise<MqttError | null> {
    return new Promise((resolve) => {
      this.client.publish(topic, payload, { qos, retain: !!retain }, (err) => resolve(err));
    });
  }

  /** Subscribes and resolves with the callback's error and granted list. */
  subscribe(filters: string | string[], qos: number): Promise<{ err: MqttError | null; granted: Granted[] }> {
    return new Promise((resolve) => {
      this.client.subscribe(filters, { qos }, (err, granted) => resolve({ err, granted }));
    });
  }
}

/** Options every test client starts from: short deadlines, quick reconnects. */
export const FAST: NodeClientOptions = {
  host: HOST,
  keepalive: 5,
  connectTimeoutMs: 2000,
  reconnect: { minMs: 100, maxMs: 400, stableMs: 5000 },
};

/** Opens clients and ends them all at the end of a test, whatever happened. */
export class Clients {
  private probes: Probe[] = [];

  open(name: string, options: NodeClientOptions): Probe {
    const probe = new Probe(connect({ ...FAST, ...options }), name);
    this.probes.push(probe);
    return probe;
  }

  /** A client on a board the test holds, so it can reach the transport behind the client's back. */
  openOnBoard(name: string, options: NodeClientOptions, board: Board): Probe {
    const probe = new Probe(new Client({ ...FAST, ...options }, board), name);
    this.probes.push(probe);
    return probe;
  }

  /** Ends every client at once (force) and waits, at most `timeoutMs`, until each has ended. */
  async endAll(timeoutMs = 3000): Promise<void> {
    for (const p of this.probes) {
      if (p.client.state !== ENDED) p.client.end(true);
    }
    await waitFor(() => this.probes.every((p) => p.client.state === ENDED), timeoutMs, "every client to end", () =>
      this.probes.filter((p) => p.client.state !== ENDED).map((p) => p.describe()).join(" | "),
    );
    this.probes = [];
  }
}

/** Rejects when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out after " + ms + " ms: " + what)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A topic prefix no other test uses. */
let unique = 0;
export function uniqueName(base: string): string {
  unique++;
  return base + "-" + process.pid + "-" + unique + "-" + Math.floor(Math.random() * 1e6).toString(36);
}

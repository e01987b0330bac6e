/**
 * An in-process aedes broker on 127.0.0.1 for the simulator and its tests: it records every
 * message it receives (wills included), and can be restarted on the same port (a broker restart
 * fault: every connection drops, new ones are refused until it is back).
 */
import { Aedes } from "aedes";
import * as net from "node:net";

export interface BrokerMessage {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  /** The publishing client's id (for a will: the client that vanished); null for the broker's own. */
  clientId: string | null;
}

export class TestBroker {
  port = 0;
  aedes!: Aedes;
  /** Every message the broker received, across restarts, in order. */
  readonly messages: BrokerMessage[] = [];
  /** Client ids of the connections the broker accepted (CONNACK sent), across restarts. */
  readonly connects: string[] = [];
  /** "clientId topic" of the subscriptions the broker holds (forgotten on a restart without sessions). */
  readonly subscriptions = new Set<string>();
  private server: net.Server | null = null;
  private sockets = new Set<net.Socket>();
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  static async start(): Promise<TestBroker> {
    const broker = new TestBroker();
    await broker.up(0);
    return broker;
  }

  private async up(port: number, persistence?: unknown): Promise<void> {
    // concurrency 0: aedes's emitter queues deliveries past its limit (100) and drains that queue
    // by recursion, one stack frame a message; a fleet's burst after a broker restart ran it out
    // of stack ("Maximum call stack size exceeded").
    const aedes = await Aedes.createBroker((persistence ? { persistence, concurrency: 0 } : { concurrency: 0 }) as any);
    this.aedes = aedes;
    aedes.on("publish", (packet, client) => {
      if (packet.topic.startsWith("$SYS/")) return;
      this.messages.push({
        topic: packet.topic,
        payload: Buffer.from(packet.payload as Buffer),
        qos: packet.qos,
        retain: packet.retain,
        clientId: client ? client.id : null,
      });
      this.wake();
    });
    aedes.on("client", (client) => {
      this.connects.push(client.id);
      // A clean session starts with no subscriptions [MQTT-3.1.2-6]: forget the previous
      // connection's, or subscribed() would answer for a session the broker no longer has.
      if ((client as { clean?: boolean }).clean) {
        for (const key of [...this.subscriptions]) if (key.startsWith(client.id + " ")) this.subscriptions.delete(key);
      }
      this.wake();
    });
    aedes.on("subscribe", (subs, client) => {
      for (const sub of subs) this.subscriptions.add(client.id + " " + sub.topic);
      this.wake();
    });
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      aedes.handle(socket);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
  }

  private async down(keepSessions = false): Promise<void> {
    const server = this.server;
    this.server = null;
    // server.close() waits for every connection to end: end them first.
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    if (!keepSessions) this.subscriptions.clear();
  }

  /**
   * Stops the broker (connections drop; new ones are refused), then starts it again after
   * `downMs`. With `keepSessions` the new broker has the old one's store (sessions, subscriptions,
   * messages in flight), as a broker with persistence would; without, it starts empty.
   */
  async restart(downMs: number, keepSessions = false): Promise<void> {
    const store = keepSessions ? (this.aedes as any).persistence : undefined;
    await this.down(keepSessions);
    await new Promise((r) => setTimeout(r, downMs));
    await this.up(this.port, store);
  }

  async stop(): Promise<void> {
    await this.down();
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  /** Whether this broker instance holds `clientId`'s subscription to `topic`. */
  subscribed(clientId: string, topic: string): boolean {
    return this.subscriptions.has(clientId + " " + topic);
  }

  /** Whether the broker runs (between a restart's stop and start it is not). */
  get running(): boolean {
    return this.server !== null;
  }

  /** Publishes from the broker itself (to the device's subscriptions). */
  publish(topic: string, payload: string | Buffer, qos: 0 | 1 | 2, retain = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.aedes.publish(
        { cmd: "publish", topic, payload: Buffer.from(payload), qos, retain, dup: false } as any,
        (err?: Error) => (err ? reject(err) : resolve()),
      );
    });
  }

  /** Messages on `topic`. */
  on(topic: string): BrokerMessage[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** Resolves once `check()` holds; rejects after `timeoutMs` with `what` in the message. */
  waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error("timed out after " + timeoutMs + " ms waiting for " + what));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private wake(): void {
    for (const w of this.waiters.slice()) {
      if (w.check()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
}

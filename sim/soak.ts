/**
 * The soak run: QoS 1 and QoS 2 messages from one client to another through the fault proxy and a
 * mosquitto with persistence, with cuts at random points (inside packets too) and broker
 * restarts, clean session off on both sides. It checks that nothing is lost at QoS 1 or 2, that
 * QoS 2 delivers nothing twice, and that first deliveries arrive in order per stream; it counts
 * the duplicates QoS 1 is allowed to deliver.
 *
 *   npm run soak                    # 10,000 + 10,000 messages, about 100 cuts, one restart
 *   npm run soak -- --qos1 2000 --qos2 2000 --cuts 20 --restarts 1 --seed 7 --rate 400
 *
 * `runSoak` is also used, with smaller figures, by test/reliability/soak.test.ts.
 */
import { connect } from "../boards/node/index.ts";
import type { Client, MqttError } from "../src/client.ts";
import type { DecodedPacket } from "../src/packet/types.ts";
import { ERR_EARLY_CLOSE, ERR_OUTBOX_FULL } from "../src/status.ts";
import { startMosquitto, type RunningMosquitto } from "../test/helpers/brokers.ts";
import { FaultProxy, seededRandom, startFaultProxy } from "./fault-proxy.ts";

export interface SoakOptions {
  /** Messages per stream. */
  qos1: number;
  qos2: number;
  /** Cuts to make, spread at random over the run (each lands at a random byte offset). */
  cuts: number;
  /** Broker restarts (SIGTERM, then started again on the same port), spread over the run. */
  restarts: number;
  /** Messages published per second, both streams together. */
  ratePerSec: number;
  seed: number;
  /** The whole run must finish within this. */
  timeoutMs: number;
  /** After the last first delivery, how long to keep listening for late duplicates. */
  settleMs: number;
  /** Progress lines (none when absent). */
  log?: (line: string) => void;
}

export interface StreamResult {
  qos: number;
  sent: number;
  /** Publishes whose callback reported success (the broker acknowledged them). */
  acknowledged: number;
  /** Distinct messages received. */
  delivered: number;
  lost: number;
  duplicates: number;
  /** First deliveries that did not come right after the previous one. */
  outOfOrder: number;
  /** The first few order breaks, for the report. */
  orderBreaks: string[];
}

export interface SoakSummary {
  streams: StreamResult[];
  /** Cuts the proxies made. */
  cuts: number;
  restarts: number;
  reconnects: { publisher: number; subscriber: number };
  connects: { publisher: number; subscriber: number };
  /** Times a publish met a full outbox and was retried later. */
  outboxFullWaits: number;
  /** Errors other than connection losses and outbox-full, by message. */
  otherErrors: string[];
  timeMs: number;
  /** True when nothing was lost, QoS 2 had no duplicate and order held. */
  ok: boolean;
  /** Why not, when not. */
  problems: string[];
}

export const FULL_SOAK: SoakOptions = {
  qos1: 10000,
  qos2: 10000,
  cuts: 100,
  restarts: 1,
  ratePerSec: 400,
  seed: 20240601,
  timeoutMs: 15 * 60 * 1000,
  settleMs: 2000,
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The client options both sides share: persistent sessions and quick reconnects (the run makes
 * about a hundred cuts; at the default delays of up to 30 s it would take an hour). Everything
 * else is the default: outbox, incoming QoS 2 table, and no give-up after early closes.
 */
function clientOptions(port: number, clientId: string) {
  return {
    host: "127.0.0.1",
    port: port,
    clientId: clientId,
    clean: false,
    keepalive: 10,
    connectTimeoutMs: 3000,
    reconnect: { minMs: 20, maxMs: 400, stableMs: 500 },
  };
}

/** Sequence numbers received on one stream, checked as they come. */
class StreamCheck {
  readonly seen: Uint8Array;
  delivered = 0;
  duplicates = 0;
  outOfOrder = 0;
  orderBreaks: string[] = [];
  private last = -1;
  acknowledged = 0;

  constructor(readonly qos: number, readonly total: number) {
    this.seen = new Uint8Array(total);
  }

  receive(seq: number, dup: boolean): void {
    if (!(seq >= 0 && seq < this.total)) {
      this.outOfOrder++;
      if (this.orderBreaks.length < 5) this.orderBreaks.push("unknown sequence number " + seq);
      return;
    }
    if (this.seen[seq]) {
      this.duplicates++;
      return;
    }
    this.seen[seq] = 1;
    this.delivered++;
    if (seq !== this.last + 1) {
      this.outOfOrder++;
      if (this.orderBreaks.length < 5) this.orderBreaks.push(seq + " after " + this.last + (dup ? " (dup flag)" : ""));
    }
    if (seq > this.last) this.last = seq;
  }

  result(sent: number): StreamResult {
    return {
      qos: this.qos,
      sent: sent,
      acknowledged: this.acknowledged,
      delivered: this.delivered,
      lost: this.total - this.delivered,
      duplicates: this.duplicates,
      outOfOrder: this.outOfOrder,
      orderBreaks: this.orderBreaks,
    };
  }
}

function endClient(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 3000);
    client.end(true, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Runs a soak against a fresh mosquitto with persistence; resolves with the summary. */
export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const log = options.log || (() => {});
  const random = seededRandom(options.seed);
  const total = options.qos1 + options.qos2;
  const startMs = Date.now();
  const problems: string[] = [];
  const otherErrors: string[] = [];

  // Which message (in publishing order) triggers each cut and each restart.
  const cutAt = new Int32Array(total + 1);
  for (let i = 0; i < options.cuts; i++) cutAt[1 + Math.floor(random() * (total - 1))]++;
  const restartAt: number[] = [];
  for (let i = 1; i <= options.restarts; i++) restartAt.push(Math.floor((total * i) / (options.restarts + 1)));

  let broker: RunningMosquitto | null = null;
  let pubProxy: FaultProxy | null = null;
  let subProxy: FaultProxy | null = null;
  let publisher: Client | null = null;
  let subscriber: Client | null = null;
  const checks = [new StreamCheck(1, options.qos1), new StreamCheck(2, options.qos2)];
  const sent = [0, 0];
  const counts = { pubReconnects: 0, subReconnects: 0, pubConnects: 0, subConnects: 0, outboxFull: 0, restarts: 0 };
  let timer: ReturnType<typeof setInterval> | undefined;

  try {
    // Persistence in the broker's temp dir; saved every second as well as at the SIGTERM of a
    // restart (the helper alone saves only on exit; a later line wins in mosquitto's config).
    broker = await startMosquitto(["autosave_interval 1"], { persistence: true });
    pubProxy = await startFaultProxy({ targetPort: broker.port, seed: options.seed + 1 });
    subProxy = await startFaultProxy({ targetPort: broker.port, seed: options.seed + 2 });
    const tag = options.seed.toString(36);
    const topics = ["soak/" + tag + "/q1", "soak/" + tag + "/q2"];

    const recordErrors = (name: string) => (err: MqttError) => {
      const text = String(err && err.message);
      // Connection losses and resets are what the cuts produce.
      // An early close is a cut that came soon after CONNACK.
      if (err && err.code === ERR_EARLY_CLOSE) return;
      if (/connection lost|ECONNRESET|EPIPE|socket hang up|ECONNREFUSED|no PINGRESP|no CONNACK|within the connect timeout/.test(text)) return;
      if (otherErrors.length < 20) otherErrors.push(name + ": " + text);
    };

    // mosquitto 2.0.11 must run with max_inflight_messages 65534 (see brokers.ts), so after a
    // reconnect it sends every queued QoS 2 message at once, before any PUBREL: the default
    // incoming table (one bit per packet id) takes them all.
    subscriber = connect(clientOptions(subProxy.port, "soak-sub-" + tag));
    subscriber.on("connect", () => counts.subConnects++);
    subscriber.on("reconnect", () => counts.subReconnects++);
    subscriber.on("error", recordErrors("subscriber"));
    subscriber.on("message", (topic: string, payload: Uint8Array, packet: DecodedPacket) => {
      const stream = topic === topics[0] ? 0 : topic === topics[1] ? 1 : -1;
      if (stream < 0) return;
      let seq = 0;
      for (let i = 0; i < payload.length; i++) seq = seq * 10 + payload[i] - 48;
      checks[stream].receive(seq, packet.dup);
    });
    // Subscribe once, before anything is published; the persistent session keeps it.
    const sub = subscriber;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("the subscriber did not subscribe within 10 s")), 10000);
      sub.subscribe(topics, { qos: 2 }, (err) => {
        clearTimeout(t);
        if (err) reject(err);
        else resolve();
      });
    });

    publisher = connect(clientOptions(pubProxy.port, "soak-pub-" + tag));
    publisher.on("connect", () => counts.pubConnects++);
    publisher.on("reconnect", () => counts.pubReconnects++);
    publisher.on("error", recordErrors("publisher"));
    const pub = publisher;

    // Publishing: a steady pace; a full outbox makes the same message wait for the next tick.
    let next = 0;
    let restarting: Promise<void> | null = null;
    let full = false;
    const onFull = (err: MqttError | null) => {
      if (err && err.code === ERR_OUTBOX_FULL) full = true;
    };
    const acked = [
      (err: MqttError | null) => {
        if (!err) checks[0].acknowledged++;
        else onFull(err);
      },
      (err: MqttError | null) => {
        if (!err) checks[1].acknowledged++;
        else onFull(err);
      },
    ];
    const payloads: Uint8Array[] = [];
    const tickMs = 10;
    let credit = 0;
    const faults = () => {
      for (let k = 0; k < cutAt[next]; k++) {
        // A cut on one side at random, a random number of bytes from now (inside a packet often).
        const proxy = random() < 0.5 ? pubProxy! : subProxy!;
        proxy.cutAfter(Math.floor(random() * 120));
      }
      if (restartAt.length > 0 && next === restartAt[0] && !restarting) {
        restartAt.shift();
        log("restarting mosquitto at message " + next);
        const b = broker!;
        restarting = b.restart().then(
          () => {
            counts.restarts++;
            restarting = null;
            log("mosquitto is back");
          },
          (e) => {
            problems.push("restart failed: " + (e && e.message));
            restarting = null;
          },
        );
      }
    };
    const publishSome = () => {
      credit += (options.ratePerSec * tickMs) / 1000;
      while (credit >= 1 && next < total) {
        // Interleave the streams in proportion to their sizes.
        const stream = next % 2 === 0 ? (sent[0] < options.qos1 ? 0 : 1) : sent[1] < options.qos2 ? 1 : 0;
        const seq = sent[stream];
        let payload = payloads[seq];
        if (!payload) payload = payloads[seq] = new TextEncoder().encode(String(seq));
        full = false;
        pub.publish(topics[stream], payload, { qos: stream + 1 }, acked[stream]);
        if (full) {
          counts.outboxFull++;
          return;
        }
        sent[stream]++;
        credit--;
        next++;
        faults();
      }
      if (credit > 4) credit = 4;
    };
    timer = setInterval(publishSome, tickMs);

    const deadline = startMs + options.timeoutMs;
    let lastLog = Date.now();
    const delivered = () => checks[0].delivered + checks[1].delivered;
    const acknowledged = () => checks[0].acknowledged + checks[1].acknowledged;
    while ((next < total || delivered() < total || acknowledged() < total || restarting) && Date.now() < deadline) {
      await sleep(20);
      if (Date.now() - lastLog >= 5000) {
        lastLog = Date.now();
        log(
          "published " + next + "/" + total + ", acknowledged " + acknowledged() + ", delivered " + delivered() +
            ", cuts " + (pubProxy.stats.cuts + subProxy.stats.cuts) + ", publisher " + pub.stateName() + ", subscriber " + sub.stateName(),
        );
      }
    }
    clearInterval(timer);
    timer = undefined;
    if (Date.now() >= deadline) problems.push("timed out after " + options.timeoutMs + " ms: published " + next + ", acknowledged " + acknowledged() + ", delivered " + delivered());
    // Late duplicates would show up now.
    await sleep(options.settleMs);
  } catch (e) {
    problems.push("run failed: " + (e instanceof Error ? e.stack || e.message : String(e)));
  } finally {
    if (timer !== undefined) clearInterval(timer);
    if (publisher) await endClient(publisher);
    if (subscriber) await endClient(subscriber);
    if (pubProxy) await pubProxy.close();
    if (subProxy) await subProxy.close();
    if (broker) {
      if (problems.length > 0) log("mosquitto log tail:\n" + broker.log().split("\n").slice(-30).join("\n"));
      await broker.close();
    }
  }

  const streams = [checks[0].result(sent[0]), checks[1].result(sent[1])];
  for (const s of streams) {
    if (s.sent !== (s.qos === 1 ? options.qos1 : options.qos2)) problems.push("QoS " + s.qos + ": published only " + s.sent);
    if (s.lost > 0) problems.push("QoS " + s.qos + ": " + s.lost + " lost");
    if (s.acknowledged !== s.sent) problems.push("QoS " + s.qos + ": " + s.acknowledged + " of " + s.sent + " acknowledged");
    if (s.outOfOrder > 0) problems.push("QoS " + s.qos + ": " + s.outOfOrder + " out of order (" + s.orderBreaks.join("; ") + ")");
  }
  if (streams[1].duplicates > 0) problems.push("QoS 2: " + streams[1].duplicates + " delivered twice");
  if (counts.restarts !== options.restarts) problems.push(counts.restarts + " of " + options.restarts + " restarts done");
  for (const e of otherErrors) problems.push("unexpected error: " + e);
  return {
    streams,
    cuts: (pubProxy ? pubProxy.stats.cuts : 0) + (subProxy ? subProxy.stats.cuts : 0),
    restarts: counts.restarts,
    reconnects: { publisher: counts.pubReconnects, subscriber: counts.subReconnects },
    connects: { publisher: counts.pubConnects, subscriber: counts.subConnects },
    outboxFullWaits: counts.outboxFull,
    otherErrors,
    timeMs: Date.now() - startMs,
    ok: problems.length === 0,
    problems,
  };
}

/** The summary as a few lines of text. */
export function formatSoak(s: SoakSummary): string {
  const q1 = s.streams[0];
  const q2 = s.streams[1];
  return [
    "soak: " + (q1.sent + q2.sent) + " messages (" + q1.sent + " QoS 1, " + q2.sent + " QoS 2) in " + (s.timeMs / 1000).toFixed(1) + " s",
    "  faults: " + s.cuts + " cuts, " + s.restarts + " broker restart(s)",
    "  reconnects: publisher " + s.reconnects.publisher + ", subscriber " + s.reconnects.subscriber +
      " (connects " + s.connects.publisher + " / " + s.connects.subscriber + ")",
    "  QoS 1: delivered " + q1.delivered + ", lost " + q1.lost + ", duplicates " + q1.duplicates + ", out of order " + q1.outOfOrder,
    "  QoS 2: delivered " + q2.delivered + ", lost " + q2.lost + ", duplicates " + q2.duplicates + ", out of order " + q2.outOfOrder,
    "  outbox-full waits: " + s.outboxFullWaits,
    "  " + (s.ok ? "OK" : "FAILED: " + s.problems.join(" | ")),
  ].join("\n");
}

function parseArgs(argv: string[]): SoakOptions {
  const options: SoakOptions = { ...FULL_SOAK };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    const value = Number(argv[i + 1]);
    if (!(value >= 0)) throw new Error("bad value for " + argv[i] + ": " + argv[i + 1]);
    if (name === "qos1") options.qos1 = value;
    else if (name === "qos2") options.qos2 = value;
    else if (name === "cuts") options.cuts = value;
    else if (name === "restarts") options.restarts = value;
    else if (name === "rate") options.ratePerSec = value;
    else if (name === "seed") options.seed = value;
    else if (name === "timeout") options.timeoutMs = value * 1000;
    else throw new Error("unknown option " + argv[i] + " (--qos1 --qos2 --cuts --restarts --rate --seed --timeout)");
  }
  return options;
}

const isMain = process.argv[1] && /soak\.ts$/.test(process.argv[1]);
if (isMain) {
  const options = parseArgs(process.argv.slice(2));
  options.log = (line) => console.log("[" + new Date().toISOString().slice(11, 19) + "] " + line);
  console.log(
    "soak: " + options.qos1 + " QoS 1 + " + options.qos2 + " QoS 2 messages, " + options.cuts + " cuts, " + options.restarts +
      " restart(s), " + options.ratePerSec + " msg/s, seed " + options.seed,
  );
  runSoak(options).then(
    (summary) => {
      console.log(formatSoak(summary));
      process.exit(summary.ok ? 0 : 1);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

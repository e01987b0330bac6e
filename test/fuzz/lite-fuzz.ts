/**
 * The QoS 0-only client fed random and mutated broker streams after CONNACK, in random chunks
 * (`lite-fuzz.test.ts` runs it bounded; `npm run fuzz` a million inputs).
 * An oracle walks each stream with the codec and says what the client must do: deliver every
 * QoS 0 PUBLISH before the first fault, in order and intact; report a packet larger than rxBytes
 * and go on; report a refused filter; and at the first malformed or unexpected packet report that
 * status and close. It must never throw, never break the transport contract, and must connect
 * again afterwards.
 */
import { strict as assert } from "node:assert";
import { LiteClient, CONNECTED, WAITING } from "../../src/lite.ts";
import type { MqttError } from "../../src/errors.ts";
import { decodeFromBroker, packetLength } from "../../src/packet/decode.ts";
import { decodeUtf8 } from "../../src/utf8.ts";
import {
  CONNACK,
  DecodedPacket,
  PINGRESP,
  PUBLISH,
  SUBACK,
  SUBACK_FAILURE,
  UNSUBACK,
  type Packet,
} from "../../src/packet/types.ts";
import { ERR_PACKET_TOO_LARGE, ERR_SUBSCRIBE_REFUSED, ERR_UNEXPECTED_PACKET, NEED_MORE, statusText } from "../../src/status.ts";
import { fakeBoard } from "../helpers/fake-transport.ts";
import { Prng } from "../helpers/prng.ts";
import { connack, encAll } from "../helpers/wire.ts";

interface Expectation {
  messages: string[];
  /** Error codes reported without closing (too large, refused filter), in order. */
  notes: number[];
  /** The status the link is closed with, or 0 when the stream holds no fault. */
  fault: number;
}

/** What the client must do with `stream`, decoded the way a client decodes. */
function expected(stream: Uint8Array, rxBytes: number): Expectation {
  const e: Expectation = { messages: [], notes: [], fault: 0 };
  const d = new DecodedPacket();
  let off = 0;
  while (off < stream.length) {
    const len = packetLength(stream, off, stream.length);
    if (len === NEED_MORE) break;
    if (len < 0) {
      e.fault = len;
      break;
    }
    if (len > rxBytes) {
      e.notes.push(ERR_PACKET_TOO_LARGE);
      off += len;
      continue;
    }
    if (off + len > stream.length) break;
    const status = decodeFromBroker(stream, off, off + len, d);
    if (status < 0) {
      e.fault = status;
      break;
    }
    if (d.type === PUBLISH && d.qos === 0) {
      e.messages.push(decodeUtf8(stream, d.topicOff, d.topicLen) + "=" + Array.from(stream.subarray(d.payloadOff, d.payloadOff + d.payloadLen)).join(","));
    } else if (d.type === SUBACK) {
      for (let i = 0; i < d.count; i++) {
        if (stream[d.payloadOff + i] === SUBACK_FAILURE) {
          e.notes.push(ERR_SUBSCRIBE_REFUSED);
          break;
        }
      }
    } else if (d.type !== PINGRESP && d.type !== UNSUBACK) {
      e.fault = ERR_UNEXPECTED_PACKET;
      break;
    }
    off += len;
  }
  return e;
}

const TOPICS = ["a", "a/b", "sensors/é/t", "x/y/z", "日本/語", "$SYS/x", ""];

function randomPacket(rng: Prng): Packet {
  const r = rng.below(20);
  if (r < 11) {
    const payload = new Uint8Array(rng.chance(0.1) ? rng.range(100, 1500) : rng.below(40));
    for (let i = 0; i < payload.length; i++) payload[i] = rng.byte();
    const topic = rng.pick(TOPICS) || "t";
    return { type: PUBLISH, topic, payload, qos: 0, retain: rng.chance(0.2), dup: false, packetId: 0 };
  }
  if (r < 13) return { type: PINGRESP };
  if (r < 15) return { type: SUBACK, packetId: rng.range(1, 5), granted: [rng.chance(0.8) ? 0 : SUBACK_FAILURE] };
  if (r < 16) return { type: UNSUBACK, packetId: rng.range(1, 5) };
  if (r < 17) return { type: PUBLISH, topic: "q", payload: new Uint8Array([1]), qos: rng.range(1, 2), retain: false, dup: false, packetId: rng.range(1, 9) };
  if (r < 18) return { type: 4, packetId: rng.range(1, 9) } as Packet;
  if (r < 19) return { type: CONNACK, sessionPresent: false, returnCode: 0 };
  return { type: 12 } as Packet; // PINGREQ: a client's packet
}

function mutate(rng: Prng, bytes: Uint8Array): Uint8Array {
  const out = Array.from(bytes);
  const n = rng.range(1, 3);
  for (let k = 0; k < n && out.length > 0; k++) {
    const at = rng.below(out.length);
    const how = rng.below(4);
    if (how === 0) out[at] = rng.byte();
    else if (how === 1) out[at] ^= 1 << rng.below(8);
    else if (how === 2) out.splice(at, 1);
    else out.splice(at, 0, rng.byte());
  }
  return Uint8Array.from(out);
}

export interface LiteFuzzReport {
  inputs: number;
  faults: number;
  clean: number;
  messages: number;
  notes: number;
  mutated: number;
  byStatus: Map<string, number>;
  failures: number;
  /** The first few, each with the input that shows it. */
  firstFailures: { iteration: number; what: string }[];
}

/** Runs `inputs` streams from `seed`; every disagreement with the oracle is a failure. */
export function runLiteFuzz(seed: number, inputs: number): LiteFuzzReport {
  const rng = new Prng(seed);
  const r: LiteFuzzReport = { inputs, faults: 0, clean: 0, messages: 0, notes: 0, mutated: 0, byStatus: new Map(), failures: 0, firstFailures: [] };
  for (let iteration = 0; iteration < inputs; iteration++) {
    try {
      runOne(rng, r, seed, iteration);
    } catch (e) {
      r.failures++;
      if (r.firstFailures.length < 5) r.firstFailures.push({ iteration, what: (e as Error).message });
    }
  }
  return r;
}

export function summarizeLiteFuzz(r: LiteFuzzReport): string {
  return "QoS 0 client fuzz: " + r.inputs + " inputs (" + r.mutated + " mutated); " + r.clean + " taken, " + r.faults + " ended the link (" +
    [...r.byStatus].map(([k, v]) => k + " " + v).join(", ") + "); " + r.messages + " messages delivered, " + r.notes + " reports; " + r.failures + " failures";
}

function runOne(rng: Prng, tally: LiteFuzzReport, seed: number, iteration: number): void {
  const rxBytes = rng.pick([64, 256, 2048]);
  const b = fakeBoard();
  const c = new LiteClient({ clientId: "fuzz", keepalive: 30, rxBytes, reconnect: { minMs: 100, maxMs: 100 } }, b);
  const messages: string[] = [];
  const notes: number[] = [];
  const faults: number[] = [];
  c.on("message", (topic: string, payload: Uint8Array) => messages.push(topic + "=" + Array.from(payload).join(",")));
  c.on("error", (err: MqttError) => {
    if (err.code === ERR_PACKET_TOO_LARGE || err.code === ERR_SUBSCRIBE_REFUSED) notes.push(err.code);
    else faults.push(err.code);
  });
  b.transport.accept();
  b.transport.deliver(connack(0));
  c.subscribe("a/#");
  const packets: Packet[] = [];
  for (let i = rng.range(1, 8); i > 0; i--) packets.push(randomPacket(rng));
  let stream = encAll(packets);
  if (rng.chance(0.5)) {
    stream = mutate(rng, stream);
    tally.mutated++;
  }
  const want = expected(stream, rxBytes);
  const where = () => "seed " + seed + " input " + iteration + " rx " + rxBytes + ": " + Buffer.from(stream).toString("hex");
  try {
    for (let off = 0; off < stream.length && b.transport.state === "open"; ) {
      const n = Math.min(rng.range(1, 64), stream.length - off);
      b.transport.deliver(stream.subarray(off, off + n));
      off += n;
    }
  } catch (e) {
    assert.fail("the client threw " + (e as Error).message + " at " + where());
  }
  assert.deepEqual(b.transport.misuse, [], where());
  assert.deepEqual(messages, want.messages, "messages at " + where());
  assert.deepEqual(notes, want.notes, "reports at " + where());
  if (want.fault !== 0) {
    assert.deepEqual(faults, [want.fault], "expected " + statusText(want.fault) + " at " + where());
    assert.equal(c.state, WAITING, where());
    b.clock.advance(100);
    b.transport.accept();
    b.transport.deliver(connack(0));
    assert.equal(c.state, CONNECTED, "connected again at " + where());
    tally.faults++;
    const name = statusText(want.fault);
    tally.byStatus.set(name, (tally.byStatus.get(name) || 0) + 1);
  } else {
    assert.deepEqual(faults, [], where());
    assert.equal(c.state, CONNECTED, where());
    tally.clean++;
  }
  tally.messages += messages.length;
  tally.notes += notes.length;
  c.end();
}

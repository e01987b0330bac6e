/**
 * The incremental receiver: a stream of vectors, cut every way, must come out as exactly the
 * same packets in order; oversized, malformed and undecodable packets are reported once each.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ERR_PACKET_TOO_LARGE,
  ERR_PACKET_TYPE,
  ERR_QOS,
  ERR_REMAINING_LENGTH,
} from "../../src/status.ts";
import {
  decodePacket,
  encodeAck,
  encodePacket,
  encodePublish,
  packetLength,
  packetSize,
  readPacket,
  Receiver,
  type PacketSink,
} from "../../src/packet/index.ts";
import { DecodedPacket, PUBACK, PUBLISH, type Packet } from "../../src/packet/types.ts";
import { invalidVectors, validVectors, type PacketVector } from "../vectors/packets.ts";
import { normalize } from "./helpers.ts";

// ---------------------------------------------------------------------------------------------
// Tools

/** mulberry32: a small deterministic PRNG, so a failing cut can be replayed from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Event = { packet: Packet } | { error: number; type: number; length: number };

/** Records what the receiver hands over, as plain packets (payloads as bytes). */
class Recorder implements PacketSink {
  events: Event[] = [];
  onPacket(buf: Uint8Array, packet: DecodedPacket): void {
    this.events.push({ packet: normalize(readPacket(buf, packet)) });
  }
  onPacketError(status: number, type: number, length: number): void {
    this.events.push({ error: status, type, length });
  }
}

function concat(parts: number[][]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const SCRIBBLE = 0xee;

/**
 * Pushes `stream` cut at `cuts` (sorted offsets inside it). Each chunk is copied into a scratch
 * buffer, pushed as a sub-range of it, and scribbled over afterwards: a chunk is valid during
 * the call only, so a receiver that kept a reference into it would deliver garbage.
 * Checks after every push that the receiver's buffer is the same object of the same size.
 */
function feed(receiver: Receiver, stream: Uint8Array, cuts: number[], afterPush?: () => void): void {
  const buffer = receiver.buffer;
  const size = buffer.length;
  const scratch = new Uint8Array(stream.length + 8);
  let from = 0;
  const ends = [...cuts, stream.length];
  for (let k = 0; k < ends.length; k++) {
    const to = ends[k];
    if (to < from) throw new Error("cuts must be sorted");
    // Alternate between a whole chunk and a sub-range of a larger one.
    if (k % 2 === 0) {
      const chunk = stream.slice(from, to);
      receiver.push(chunk);
      chunk.fill(SCRIBBLE);
    } else {
      scratch.set(stream.subarray(from, to), 5);
      receiver.push(scratch, 5, 5 + to - from);
      scratch.fill(SCRIBBLE, 0, 5 + to - from + 3);
    }
    assert.equal(receiver.buffer, buffer);
    assert.equal(receiver.buffer.length, size);
    if (afterPush) afterPush();
    from = to;
  }
}

function everyByte(length: number): number[] {
  const cuts: number[] = [];
  for (let i = 1; i < length; i++) cuts.push(i);
  return cuts;
}

function randomCuts(length: number, seed: number, maxChunk: number): number[] {
  const rand = mulberry32(seed);
  const cuts: number[] = [];
  let at = 0;
  for (;;) {
    at += 1 + Math.floor(rand() * maxChunk);
    if (at >= length) return cuts;
    cuts.push(at);
  }
}

/** Runs `stream` through a fresh receiver cut at `cuts`; returns the events. */
function run(maxPacketBytes: number, stream: Uint8Array, cuts: number[]): Event[] {
  const sink = new Recorder();
  const receiver = new Receiver(maxPacketBytes, sink, decodePacket);
  feed(receiver, stream, cuts);
  assert.equal(receiver.pending(), 0, "bytes left pending at the end of the stream");
  return sink.events;
}

/** All the ways of cutting a stream that these tests use, with a label for failures. */
function cutPlans(stream: Uint8Array, everySplit: boolean): Array<{ label: string; cuts: number[] }> {
  const plans = [
    { label: "whole", cuts: [] as number[] },
    { label: "one byte at a time", cuts: everyByte(stream.length) },
  ];
  if (everySplit) {
    for (let i = 1; i < stream.length; i++) plans.push({ label: "split at " + i, cuts: [i] });
  }
  for (let seed = 1; seed <= 25; seed++) {
    plans.push({ label: "random chunks, seed " + seed, cuts: randomCuts(stream.length, seed, 1 + seed * 7) });
  }
  return plans;
}

function expectedPackets(vectors: PacketVector[]): Event[] {
  return vectors.map((v) => ({ packet: normalize(v.packet) }));
}

const small = validVectors.filter((v) => v.bytes.length <= 260);
const large = validVectors.filter((v) => v.bytes.length > 260);
const LARGEST = Math.max(...validVectors.map((v) => v.bytes.length));

// ---------------------------------------------------------------------------------------------

describe("a stream of every valid vector", () => {
  test("the small vectors, cut in every way (whole, bytes, every split, random)", () => {
    const stream = concat(small.map((v) => v.bytes));
    const expected = expectedPackets(small);
    for (const plan of cutPlans(stream, true)) {
      assert.deepEqual(run(LARGEST, stream, plan.cuts), expected, plan.label);
    }
  });

  test("the same vectors twice, in a shuffled order, with a small receive buffer", () => {
    const rand = mulberry32(99);
    const order = [...small, ...small];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const stream = concat(order.map((v) => v.bytes));
    const biggest = Math.max(...order.map((v) => v.bytes.length));
    for (const plan of cutPlans(stream, true)) {
      assert.deepEqual(run(biggest, stream, plan.cuts), expectedPackets(order), plan.label);
    }
  });

  test("all vectors including the 16 KB ones", () => {
    const all = [...small.slice(0, 10), ...large, ...small.slice(10), ...large.slice().reverse()];
    const stream = concat(all.map((v) => v.bytes));
    const expected = expectedPackets(all);
    const plans = cutPlans(stream, false);
    // Splits around every packet boundary, so each header and each body start is cut.
    let at = 0;
    for (const v of all) {
      for (let d = -3; d <= 6; d++) {
        const cut = at + d;
        if (cut > 0 && cut < stream.length) plans.push({ label: "split at " + cut, cuts: [cut] });
      }
      at += v.bytes.length;
    }
    for (const plan of plans) assert.deepEqual(run(LARGEST, stream, plan.cuts), expected, plan.label);
  });

  test("a receive buffer of exactly the largest packet holds it when it arrives in pieces", () => {
    const v = large.reduce((a, b) => (a.bytes.length >= b.bytes.length ? a : b));
    const stream = Uint8Array.from(v.bytes);
    assert.equal(v.bytes.length, LARGEST);
    for (const plan of cutPlans(stream, false)) {
      assert.deepEqual(run(LARGEST, stream, plan.cuts), expectedPackets([v]), plan.label);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("packets larger than maxPacketBytes", () => {
  /** Each vector either comes out or is reported too large, by its own length and type. */
  function expectedWithLimit(vectors: PacketVector[], max: number): Event[] {
    return vectors.map((v) =>
      v.bytes.length > max
        ? { error: ERR_PACKET_TOO_LARGE, type: v.packet.type, length: v.bytes.length }
        : { packet: normalize(v.packet) },
    );
  }

  for (const max of [4, 10, 15, 16, 17, 24, 40]) {
    test("maxPacketBytes " + max + ": oversized ones reported once, the rest come out", () => {
      const stream = concat(small.map((v) => v.bytes));
      const expected = expectedWithLimit(small, max);
      assert.ok(expected.some((e) => "error" in e) && expected.some((e) => "packet" in e));
      for (const plan of cutPlans(stream, true)) {
        assert.deepEqual(run(max, stream, plan.cuts), expected, plan.label);
      }
    });
  }

  test("exactly maxPacketBytes is accepted, one byte more is not", () => {
    for (const v of small) {
      const n = v.bytes.length;
      const stream = Uint8Array.from(v.bytes);
      for (const plan of [{ cuts: [] as number[] }, { cuts: everyByte(n) }]) {
        assert.deepEqual(run(n, stream, plan.cuts), [{ packet: normalize(v.packet) }], v.name);
        assert.deepEqual(
          run(n - 1, stream, plan.cuts),
          [{ error: ERR_PACKET_TOO_LARGE, type: v.packet.type, length: n }],
          v.name,
        );
      }
    }
  });

  /** A QoS 0 PUBLISH to "t" whose payload is `payloadLen` bytes of 0xa5. */
  function bigPublish(payloadLen: number): { bytes: Uint8Array; length: number } {
    const remaining = 3 + payloadLen;
    const header = [0x30];
    let r = remaining;
    do {
      let digit = r % 128;
      r = Math.floor(r / 128);
      if (r > 0) digit |= 0x80;
      header.push(digit);
    } while (r > 0);
    const bytes = new Uint8Array(header.length + remaining).fill(0xa5);
    bytes.set([...header, 0x00, 0x01, 0x74]);
    return { bytes, length: bytes.length };
  }

  const around = small.filter((v) => v.bytes.length <= 40 && !v.bytes.includes(0xa5));
  const before = around.slice(0, 6);
  const after = around.slice(6, 14);

  for (const payloadLen of [200, 20000, 2097149]) {
    test("a " + payloadLen + "-byte payload is drained, never buffered, whole or split anywhere", () => {
      const big = bigPublish(payloadLen);
      const stream = concat([...before.map((v) => v.bytes), Array.from(big.bytes), ...after.map((v) => v.bytes)]);
      const expected: Event[] = [
        ...expectedPackets(before),
        { error: ERR_PACKET_TOO_LARGE, type: PUBLISH, length: big.length },
        ...expectedPackets(after),
      ];
      const bigAt = before.reduce((n, v) => n + v.bytes.length, 0);
      const plans: Array<{ label: string; cuts: number[] }> = [
        { label: "whole", cuts: [] },
        { label: "random chunks", cuts: randomCuts(stream.length, payloadLen, 3000) },
      ];
      if (payloadLen < 100000) plans.push({ label: "one byte at a time", cuts: everyByte(stream.length) });
      // Cut inside the header, at the start of the body, inside it and near its end.
      for (let d = -2; d <= 12; d++) plans.push({ label: "split at big+" + d, cuts: [bigAt + d] });
      for (let d = -3; d <= 3; d++) plans.push({ label: "split at end+" + d, cuts: [bigAt + big.length + d] });
      if (payloadLen === 200) {
        for (let i = 1; i < stream.length; i++) plans.push({ label: "split at " + i, cuts: [i] });
      }
      for (const plan of plans) {
        const sink = new Recorder();
        const receiver = new Receiver(64, sink, decodePacket);
        receiver.buffer.fill(0);
        // The payload bytes (0xa5) must never be copied into the receive buffer.
        feed(receiver, stream, plan.cuts, () => {
          assert.equal(receiver.buffer.indexOf(0xa5), -1, plan.label + ": oversized payload was buffered");
        });
        assert.deepEqual(sink.events, expected, plan.label);
        assert.equal(receiver.pending(), 0);
      }
    });
  }

  test("pending() counts the bytes still to drain", () => {
    const big = bigPublish(1000);
    const sink = new Recorder();
    const receiver = new Receiver(64, sink, decodePacket);
    receiver.push(big.bytes.subarray(0, 10));
    assert.equal(receiver.pending(), big.length - 10);
    receiver.push(big.bytes.subarray(10, big.length - 1));
    assert.equal(receiver.pending(), 1);
    receiver.push(big.bytes.subarray(big.length - 1));
    assert.equal(receiver.pending(), 0);
    assert.deepEqual(sink.events, [{ error: ERR_PACKET_TOO_LARGE, type: PUBLISH, length: big.length }]);
  });
});

// ---------------------------------------------------------------------------------------------

describe("errors", () => {
  const before = small.slice(0, 5);
  const after = small.slice(5, 12);

  const framing = [
    { name: "packet type 0", bytes: [0x00, 0x02, 0x00, 0x01], status: ERR_PACKET_TYPE, type: 0 },
    { name: "packet type 15", bytes: [0xf0, 0x00], status: ERR_PACKET_TYPE, type: 15 },
    { name: "five-byte remaining length", bytes: [0x30, 0x80, 0x80, 0x80, 0x80, 0x01], status: ERR_REMAINING_LENGTH, type: 3 },
    { name: "non-minimal remaining length", bytes: [0xc0, 0x80, 0x00], status: ERR_REMAINING_LENGTH, type: 12 },
  ];
  for (const bad of framing) {
    test("lost framing (" + bad.name + ") is reported once, then input is ignored until reset()", () => {
      const stream = concat([...before.map((v) => v.bytes), bad.bytes, ...after.map((v) => v.bytes)]);
      const fresh = concat(after.map((v) => v.bytes));
      const expected: Event[] = [...expectedPackets(before), { error: bad.status, type: bad.type, length: 0 }];
      for (const plan of cutPlans(stream, true)) {
        const sink = new Recorder();
        const receiver = new Receiver(LARGEST, sink, decodePacket);
        feed(receiver, stream, plan.cuts);
        // More input, even valid packets, changes nothing.
        receiver.push(fresh);
        receiver.push(Uint8Array.from([0x00, 0x00]));
        assert.deepEqual(sink.events, expected, plan.label);
        // After reset() the same receiver works again.
        sink.events = [];
        receiver.reset();
        assert.equal(receiver.pending(), 0);
        feed(receiver, fresh, randomCuts(fresh.length, 7, 9));
        assert.deepEqual(sink.events, expectedPackets(after), plan.label + ", after reset");
      }
    });
  }

  test("a QoS 3 PUBLISH is reported with its length and the following packets still decode", () => {
    const qos3 = invalidVectors.find((v) => v.status === ERR_QOS && v.bytes[0] === 0x36);
    assert.ok(qos3);
    const stream = concat([...before.map((v) => v.bytes), qos3.bytes, ...after.map((v) => v.bytes)]);
    const expected: Event[] = [
      ...expectedPackets(before),
      { error: ERR_QOS, type: PUBLISH, length: qos3.bytes.length },
      ...expectedPackets(after),
    ];
    for (const plan of cutPlans(stream, true)) assert.deepEqual(run(LARGEST, stream, plan.cuts), expected, plan.label);
  });

  test("every invalid vector: reported once with the decoder's status, the stream stays in step", () => {
    for (const bad of invalidVectors) {
      const bytes = Uint8Array.from(bad.bytes);
      const length = packetLength(bytes, 0, bytes.length);
      const stream = concat([...before.map((v) => v.bytes), bad.bytes, ...after.map((v) => v.bytes)]);
      let expected: Event[];
      if (length < 0) {
        // The framing itself is broken: nothing after it can be trusted.
        assert.equal(length, bad.status, bad.name);
        expected = [...expectedPackets(before), { error: bad.status, type: bad.bytes[0] >> 4, length: 0 }];
      } else {
        assert.equal(length, bad.bytes.length, bad.name + ": the vector's length must match its header");
        expected = [
          ...expectedPackets(before),
          { error: bad.status, type: bad.bytes[0] >> 4, length },
          ...expectedPackets(after),
        ];
      }
      for (const plan of cutPlans(stream, false)) {
        const sink = new Recorder();
        feed(new Receiver(LARGEST, sink, decodePacket), stream, plan.cuts);
        assert.deepEqual(sink.events, expected, bad.name + ", " + plan.label);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("the sink drives the receiver", () => {
  const packets = small.slice(0, 12);
  const stream = concat(packets.map((v) => v.bytes));

  /** Resets the receiver from inside the callback for the `at`-th event (0-based), once. */
  class Resetter implements PacketSink {
    events: Event[] = [];
    receiver!: Receiver;
    private at: number;
    private seen = 0;
    constructor(at: number) {
      this.at = at;
    }
    onPacket(buf: Uint8Array, packet: DecodedPacket): void {
      this.events.push({ packet: normalize(readPacket(buf, packet)) });
      if (this.seen++ === this.at) this.receiver.reset();
    }
    onPacketError(status: number, type: number, length: number): void {
      this.events.push({ error: status, type, length });
      if (this.seen++ === this.at) this.receiver.reset();
    }
  }

  test("reset() inside onPacket stops the rest of that chunk; the next chunk starts clean", () => {
    const later = concat(small.slice(12, 16).map((v) => v.bytes));
    for (let at = 0; at < packets.length; at++) {
      for (const plan of cutPlans(stream, true)) {
        const sink = new Resetter(at);
        const receiver = new Receiver(LARGEST, sink, decodePacket);
        sink.receiver = receiver;
        // Find the chunk that completes packet `at`: everything after it in that chunk is dropped;
        // later chunks are pushed into the reset receiver and begin at arbitrary points.
        const endOfAt = packets.slice(0, at + 1).reduce((n, v) => n + v.bytes.length, 0);
        const cuts = plan.cuts;
        let chunkEnd = stream.length;
        for (const c of cuts) {
          if (c >= endOfAt) {
            chunkEnd = c;
            break;
          }
        }
        feed(receiver, stream.subarray(0, chunkEnd), cuts.filter((c) => c < chunkEnd));
        assert.deepEqual(sink.events, expectedPackets(packets.slice(0, at + 1)), plan.label + ", reset at " + at);
        assert.equal(receiver.pending(), 0);
        // A new connection's bytes decode normally.
        sink.events = [];
        feed(receiver, later, everyByte(later.length).filter((c) => c % 5 === 0));
        assert.deepEqual(sink.events, expectedPackets(small.slice(12, 16)), plan.label + ", after reset at " + at);
      }
    }
  });

  test("reset() inside onPacketError for an oversized packet stops draining it", () => {
    const big = validVectors.find((v) => v.bytes.length > 200 && v.bytes.length < 260);
    assert.ok(big);
    const sink = new Resetter(1);
    const receiver = new Receiver(40, sink, decodePacket);
    sink.receiver = receiver;
    // First packet, then the big one's first 50 bytes in the same chunk.
    receiver.push(concat([small[0].bytes, big.bytes.slice(0, 50)]));
    assert.deepEqual(sink.events, [
      { packet: normalize(small[0].packet) },
      { error: ERR_PACKET_TOO_LARGE, type: big.packet.type, length: big.bytes.length },
    ]);
    assert.equal(receiver.pending(), 0);
    sink.events = [];
    receiver.push(Uint8Array.from(small[1].bytes));
    assert.deepEqual(sink.events, [{ packet: normalize(small[1].packet) }]);
  });

  test("a sink can encode and publish from inside onPacket, into its own buffer", () => {
    // A broker-like echo: every PUBLISH is answered with a PUBACK (QoS 1) and republished on
    // "echo/<topic>" with the same payload, read straight out of the receiver's bytes.
    const publishes = validVectors.filter((v) => v.packet.type === PUBLISH);
    const input = concat(publishes.map((v) => v.bytes));
    const tx = new Uint8Array(200_000);
    class Echo implements PacketSink {
      txLen = 0;
      errors = 0;
      onPacket(buf: Uint8Array, d: DecodedPacket): void {
        if (d.type !== PUBLISH) return;
        const topic = "echo/" + (readPacket(buf, d) as { topic: string }).topic;
        const payload = buf.subarray(d.payloadOff, d.payloadOff + d.payloadLen);
        const end = encodePublish(tx, this.txLen, topic, payload, d.qos, d.retain, false, d.qos > 0 ? d.packetId : 0);
        assert.ok(end > 0, "encodePublish returned " + end);
        this.txLen = end;
        if (d.qos === 1) this.txLen = encodeAck(tx, this.txLen, PUBACK, d.packetId);
      }
      onPacketError(): void {
        this.errors++;
      }
    }
    const expected: Packet[] = [];
    for (const v of publishes) {
      const p = v.packet as Packet & { type: typeof PUBLISH };
      expected.push(normalize({ ...p, topic: "echo/" + p.topic, dup: false }));
      if (p.qos === 1) expected.push({ type: PUBACK, packetId: p.packetId });
    }
    for (const plan of cutPlans(input, false)) {
      const sink = new Echo();
      feed(new Receiver(LARGEST, sink, decodePacket), input, plan.cuts);
      assert.equal(sink.errors, 0);
      const out = new DecodedPacket();
      const got: Packet[] = [];
      for (let off = 0; off < sink.txLen; ) {
        const n = decodePacket(tx, off, sink.txLen, out);
        assert.ok(n > 0, "decodePacket returned " + n);
        got.push(normalize(readPacket(tx, out)));
        off += n;
      }
      assert.deepEqual(got, expected, plan.label);
    }
  });
});

describe("large packets split across chunks (the bulk copy path)", () => {
  test("a 20 KB PUBLISH in chunks of every size from 1 to 3,000 bytes comes out intact, read only in range", async () => {
    const { guard } = await import("../fuzz/guard.ts");
    const payload = new Uint8Array(20000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 255;
    const packet: Packet = { type: PUBLISH, topic: "big/one", payload, qos: 1, retain: false, dup: false, packetId: 9 };
    const bytes = new Uint8Array(packetSize(packet));
    encodePacket(bytes, 0, packet);
    for (const step of [1, 7, 255, 256, 257, 1000, 1460, 3000]) {
      const got: Packet[] = [];
      const r = new Receiver(
        25000,
        {
          onPacket: (buf, d) => got.push(readPacket(buf, d)),
          onPacketError: (status) => assert.fail("error " + status),
        },
        decodePacket,
      );
      for (let off = 0; off < bytes.length; off += step) {
        const n = Math.min(step, bytes.length - off);
        // The chunk sits inside junk, guarded: the receiver may read [off, off + n) only.
        const raw = new Uint8Array(n + 32).fill(0xee);
        raw.set(bytes.subarray(off, off + n), 16);
        const g = guard(raw, 16, 16 + n);
        r.push(g.view, 16, 16 + n);
        assert.equal(g.badReadCount, 0, `step ${step}: reads outside the chunk at ${g.badReads}`);
        assert.equal(g.writeCount, 0, `step ${step}: the receiver wrote into its input`);
      }
      assert.equal(got.length, 1, `step ${step}`);
      const p = got[0] as Packet & { payload: Uint8Array };
      assert.deepEqual(p.payload, payload, `step ${step}: payload intact`);
    }
  });
});

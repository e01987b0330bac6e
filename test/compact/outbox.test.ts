/**
 * QoS 1/2 flows, the byte-limited outbox, streaming of long QoS 0 payloads and the receiving
 * side (incoming QoS 2 table, UTF-8, chunking, oversized packets, the cork) of src/compact.ts,
 * on the manual board of ./helpers.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { IDLE, type BoardError } from "../../src/compact.ts";
import { ERR_DROPPED, ERR_EARLY_CLOSE, ERR_OUTBOX_FULL, ERR_PACKET_TOO_LARGE } from "../../src/status.ts";
import { PINGRESP, PUBACK, PUBLISH, PUBREC, PUBREL, type AckPacket, type Packet, type PublishPacket } from "../../src/packet/index.ts";
import { puback, pubcomp, publish, pubrec, pubrel } from "../helpers/wire.ts";
import { connected, handshake, rig, stateOf, utf8 } from "./helpers.ts";

function types(ps: Packet[]): number[] {
  return ps.map((p) => p.type);
}
function pubs(ps: Packet[]): PublishPacket[] {
  return ps.filter((p) => p.type === PUBLISH) as PublishPacket[];
}
type Done = (BoardError | null)[];

describe("compact client: QoS 1 and 2 out", () => {
  test("QoS 1: PUBLISH, PUBACK, callback", () => {
    const r = connected();
    const b = r.board;
    const done: Done = [];
    r.client.publish("a/b", "hello", { qos: 1 }, (e) => done.push(e));
    const [p] = b.take() as PublishPacket[];
    assert.equal(p.type, PUBLISH);
    assert.equal(p.qos, 1);
    assert.equal(p.dup, false);
    assert.equal(utf8(p.payload), "hello");
    assert.deepEqual(done, []);
    b.push(puback(p.packetId + 1));
    assert.deepEqual(done, [], "another id completes nothing");
    b.push(puback(p.packetId));
    assert.deepEqual(done, [null]);
    b.push(puback(p.packetId));
    assert.deepEqual(done, [null], "a second PUBACK is ignored");
    assert.equal(r.client.ol_, 0);
  });

  test("QoS 2: PUBREC, PUBREL, PUBCOMP, callback", () => {
    const r = connected();
    const b = r.board;
    const done: Done = [];
    r.client.publish("a/b", "two", { qos: 2, retain: true }, (e) => done.push(e));
    const [p] = b.take() as PublishPacket[];
    assert.equal(p.qos, 2);
    assert.equal(p.retain, true);
    b.push(pubcomp(p.packetId));
    assert.deepEqual(done, [], "PUBCOMP before PUBREC completes nothing");
    b.push(pubrec(p.packetId));
    assert.deepEqual(b.take(), [pubrel(p.packetId)]);
    assert.deepEqual(done, []);
    b.push(pubcomp(p.packetId));
    assert.deepEqual(done, [null]);
    assert.equal(r.client.ol_, 0);
  });

  test("published before CONNACK, then more from the connect listener: each message and subscription goes out once", () => {
    const r = rig();
    const b = r.board;
    r.client.subscribe("cmd/#", { qos: 1 });
    r.client.publish("early", "1", { qos: 1 });
    r.client.on("connect", () => {
      r.client.publish("status", "online", { qos: 1 });
      r.client.subscribe("more/#");
    });
    handshake(r);
    const ps = b.take();
    assert.deepEqual(
      pubs(ps).map((p) => p.topic + (p.dup ? " dup" : "")),
      ["early", "status"],
    );
    assert.equal(ps.filter((p) => p.type === 8).length, 2, "one SUBSCRIBE for the kept filter, one for the new one");
  });

  test("after a reconnect: PUBLISH again with DUP and the same id, PUBREL again", () => {
    const r = connected();
    const b = r.board;
    const done: Done = [];
    r.client.publish("t/1", "one", { qos: 1 }, (e) => done.push(e));
    r.client.publish("t/2", "two", { qos: 2 }, (e) => done.push(e));
    r.client.publish("t/3", "three", { qos: 2 }, (e) => done.push(e));
    const [p1, p2, p3] = b.take() as PublishPacket[];
    b.push(pubrec(p2.packetId));
    assert.deepEqual(b.take(), [pubrel(p2.packetId)]);
    b.cut();
    handshake(r);
    const again = b.take();
    assert.deepEqual(again, [
      pubrel(p2.packetId),
      Object.assign({}, p1, { dup: true }),
      Object.assign({}, p3, { dup: true }),
    ]);
    b.push([puback(p1.packetId), pubcomp(p2.packetId), pubrec(p3.packetId)]);
    assert.deepEqual(b.take(), [pubrel(p3.packetId)]);
    b.push(pubcomp(p3.packetId));
    assert.deepEqual(done, [null, null, null]);
  });
});

describe("compact client: the byte-limited outbox", () => {
  // 2 + (2 + 20) + 2 + 10 = 36 bytes a message: 50 fit in 2048 and pass the half mark.
  const TOPIC = "sensors/room-1/temp1";
  const PAYLOAD = "0123456789";

  test("a burst of 50 QoS 1 publishes with the Espruino defaults: none refused, false past half full, drain once below a quarter", () => {
    const r = connected();
    const b = r.board;
    const done: Done = [];
    const returned: boolean[] = [];
    for (let i = 0; i < 50; i++) returned.push(r.client.publish(TOPIC, PAYLOAD, { qos: 1 }, (e) => done.push(e)));
    assert.deepEqual(r.rec.errors, []);
    // False once the outbox holds more than 1024 bytes: from the 29th message (29 * 36 = 1044).
    assert.deepEqual(
      returned.map((x, i) => (x ? "" : i + 1)).filter((x) => x),
      Array.from({ length: 22 }, (_, i) => i + 29),
    );
    const sent = pubs(b.take());
    assert.equal(sent.length, 50, "all written at once");
    assert.equal(r.rec.drains, 0);
    for (let i = 0; i < sent.length; i++) {
      b.push(puback(sent[i].packetId));
      // 14 left hold 504 bytes, at most a quarter of 2048.
      assert.equal(r.rec.drains, i + 1 >= 36 ? 1 : 0, "drains after " + (i + 1) + " acks");
    }
    assert.equal(done.length, 50);
    assert.ok(done.every((e) => e === null));
  });

  test("refused with ERR_OUTBOX_FULL when full; drain once there is room", () => {
    const r = connected();
    const b = r.board;
    const codes: (number | null)[] = [];
    for (let i = 0; i < 56; i++) r.client.publish(TOPIC, PAYLOAD, { qos: 1 }, (e) => codes.push(e && e.code));
    assert.equal(r.client.ol_, 56 * 36);
    let last: number | null | undefined;
    assert.equal(
      r.client.publish(TOPIC, PAYLOAD, { qos: 1 }, (e) => (last = e && e.code)),
      false,
    );
    assert.equal(last, ERR_OUTBOX_FULL);
    assert.equal(r.client.publish(TOPIC, PAYLOAD, { qos: 1 }), false);
    assert.deepEqual(r.rec.codes(), [ERR_OUTBOX_FULL], "without a callback: an error event");
    assert.equal(pubs(b.take()).length, 56, "the refused ones were not written");
    for (let i = 1; i <= 56; i++) b.push(puback(i));
    assert.equal(r.rec.drains, 1);
    assert.equal(codes.length, 56);
  });

  test("a message larger than the outbox is a programmer error (throws)", () => {
    const r = connected({ outboxBytes: 100 });
    assert.throws(() => r.client.publish("t", "x".repeat(200), { qos: 1 }));
  });

  test('overflow "drop-oldest" while offline: oldest dropped with ERR_DROPPED, dropped events count, the rest go out', () => {
    const r = rig({ outboxBytes: 36 * 5, overflow: "drop-oldest" });
    const b = r.board;
    const done: { i: number; code: number | null }[] = [];
    for (let i = 0; i < 12; i++) r.client.publish(TOPIC, "payload-" + String(i).padStart(2, "0"), { qos: 1 }, (e) => done.push({ i: i, code: e && e.code }));
    assert.deepEqual(
      done,
      Array.from({ length: 7 }, (_, i) => ({ i: i, code: ERR_DROPPED })),
    );
    assert.deepEqual(r.rec.dropped, [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(r.client.dropped, 7);
    assert.deepEqual(r.rec.errors, [], "drops are not errors");
    handshake(r);
    const sent = pubs(b.take());
    assert.deepEqual(
      sent.map((p) => utf8(p.payload)),
      ["payload-07", "payload-08", "payload-09", "payload-10", "payload-11"],
    );
    for (const p of sent) b.push(puback(p.packetId));
    assert.equal(done.filter((d) => d.code === null).length, 5);
  });

  test('"drop-oldest" while connected refuses instead: acknowledged-pending messages are not dropped', () => {
    const r = connected({ outboxBytes: 36 * 2, overflow: "drop-oldest" });
    const codes: (number | null)[] = [];
    for (let i = 0; i < 3; i++) r.client.publish(TOPIC, PAYLOAD, { qos: 1 }, (e) => codes.push(e && e.code));
    assert.deepEqual(codes, [ERR_OUTBOX_FULL]);
    assert.equal(r.client.dropped, 0);
  });

  test("QoS 0 published while offline goes out at the reconnect, once", () => {
    const r = connected();
    const b = r.board;
    b.cut();
    let called = 0;
    assert.equal(r.client.publish("q0", "later", () => called++), true);
    assert.equal(called, 1, "QoS 0: the callback runs when taken");
    handshake(r);
    const [p] = b.take() as PublishPacket[];
    assert.equal(p.qos, 0);
    assert.equal(utf8(p.payload), "later");
    assert.equal(r.client.ol_, 0);
    b.cut();
    handshake(r);
    assert.deepEqual(b.take(), [], "not again");
  });
});

describe("compact client: a long QoS 0 payload", () => {
  test("16 KB in slices on a link that says wait: pauses, goes on at onDrain, a PUBACK due meanwhile waits for the end", () => {
    const r = connected();
    const b = r.board;
    const big = Array.from({ length: 16384 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
    b.writable = false;
    const before = b.writes.length;
    assert.equal(r.client.publish("big", big), false, "wait for drain");
    assert.equal(b.writes.length - before, 1, "paused after the first write");
    let drains = 0;
    // Halfway, a QoS 1 message arrives: its PUBACK must not land inside the payload.
    while (r.client.sp_) {
      b.drain();
      if (++drains === 10) b.push(publish("in", "x", 1, 77));
      assert.ok(drains < 1000);
    }
    assert.ok(drains >= 16384 / 512 - 1, "one slice a drain: " + drains);
    assert.equal(r.rec.drains, 0, "no drain while the link is full");
    b.drain();
    assert.ok(b.writes.slice(before).every((w) => w.length <= 512 + 8), "slices");
    assert.equal(r.rec.messages.length, 1);
    const ps = b.take();
    assert.deepEqual(types(ps), [PUBLISH, PUBACK]);
    assert.equal(utf8((ps[0] as PublishPacket).payload), big);
    assert.equal((ps[1] as AckPacket).packetId, 77);
    assert.equal(r.rec.drains, 1, "drain once the payload is out");
    // Writes flow normally afterwards.
    b.writable = true;
    r.client.publish("after", "y");
    assert.deepEqual(types(b.take()), [PUBLISH]);
  });

  test("a QoS 1 publish during the stream waits for it and follows it", () => {
    const r = connected();
    const b = r.board;
    b.writable = false;
    r.client.publish("big", "z".repeat(5000));
    r.client.publish("q1", "after", { qos: 1 });
    while (r.client.sp_ || r.client.busy_) b.drain();
    const ps = pubs(b.take());
    assert.deepEqual(
      ps.map((p) => p.topic),
      ["big", "q1"],
    );
  });
});

describe("compact client: receiving", () => {
  test("incoming QoS 2, clean: false, 2 slots: the 3rd is withheld, PUBRELs free the table, one reconnect brings it back", () => {
    const r = connected({ clean: false, incomingQos2Slots: 2 });
    const b = r.board;
    b.push([publish("q2", "m1", 2, 1), publish("q2", "m2", 2, 2), publish("q2", "m3", 2, 3)]);
    assert.deepEqual(b.take(), [pubrec(1), pubrec(2)], "no PUBREC for the 3rd");
    assert.deepEqual(
      r.rec.messages.map((m) => utf8(m.payload)),
      ["m1", "m2"],
    );
    // A duplicate within the table: acknowledged again, not delivered again.
    b.push(publish("q2", "m1", 2, 1, true));
    assert.deepEqual(b.take(), [pubrec(1)]);
    assert.equal(r.rec.messages.length, 2);
    b.push(pubrel(1));
    assert.deepEqual(b.take(), [pubcomp(1)]);
    assert.equal(b.link, "open", "still a message in the table");
    const opens = b.opens;
    b.push(pubrel(2));
    assert.deepEqual(b.take(), [pubcomp(2)], "PUBCOMP before the close");
    b.settle();
    assert.equal(b.link, "idle", "closed to get the withheld one back");
    assert.deepEqual(r.rec.errors, [], "a quiet close");
    handshake(r, true);
    assert.equal(b.opens, opens + 1);
    b.push(publish("q2", "m3", 2, 3, true));
    assert.deepEqual(b.take(), [pubrec(3)]);
    assert.deepEqual(
      r.rec.messages.map((m) => utf8(m.payload)),
      ["m1", "m2", "m3"],
    );
    b.push(pubrel(3));
    assert.deepEqual(b.take(), [pubcomp(3)]);
    b.advance(60_000);
    assert.equal(b.opens, opens + 1, "no more reconnects");
    assert.equal(stateOf(r.client), 3);
  });

  test("QoS 1 and QoS 0 in: delivered with qos, retain, dup; QoS 1 acknowledged", () => {
    const r = connected();
    const b = r.board;
    b.push([publish("a", "0", 0, 0, false, true), publish("b", "1", 1, 9, true)]);
    assert.deepEqual(
      r.rec.messages.map((m) => [m.topic, utf8(m.payload), m.qos, m.retain, m.dup]),
      [
        ["a", "0", 0, true, false],
        ["b", "1", 1, false, true],
      ],
    );
    assert.deepEqual(b.take(), [puback(9)]);
  });

  test("UTF-8 topics and payloads round-trip", () => {
    const r = connected();
    const b = r.board;
    r.client.publish("maison/été", "café ☕ 😀");
    const [p] = b.take() as PublishPacket[];
    assert.equal(p.topic, "maison/été");
    assert.deepEqual(Buffer.from(p.payload as Uint8Array), Buffer.from("café ☕ 😀", "utf8"));
    b.push(publish("région/😀", new TextEncoder().encode("naïve 🚀"), 0));
    assert.equal(r.rec.messages[0].topic, "région/😀");
    assert.equal(utf8(r.rec.messages[0].payload), "naïve 🚀");
    r.client.publish("bin", new Uint8Array([0, 255, 128, 10]));
    const [q] = b.take() as PublishPacket[];
    assert.deepEqual([...(q.payload as Uint8Array)], [0, 255, 128, 10]);
  });

  const STREAM: Packet[] = [
    publish("s/1", "first", 0),
    publish("s/2", "x".repeat(300), 1, 5),
    { type: PINGRESP },
    publish("s/3", "third", 2, 6),
    pubrel(6),
  ];
  for (const chunk of [1, 2, 3, 7, 128, 0]) {
    test("packets split or joined anywhere: " + (chunk ? chunk + "-byte chunks" : "all in one chunk"), () => {
      const r = connected();
      const b = r.board;
      b.push(STREAM, chunk || undefined);
      assert.deepEqual(
        r.rec.messages.map((m) => m.topic + ":" + utf8(m.payload).length),
        ["s/1:5", "s/2:300", "s/3:5"],
      );
      assert.deepEqual(b.take(), [puback(5), pubrec(6), pubcomp(6)]);
      assert.deepEqual(r.rec.errors, []);
    });
  }

  for (const asBytes of [false, true]) {
    test("a 16 KB message in 1,460-byte segments" + (asBytes ? " given as bytes" : " given as strings") + ": intact, its payload a view of one buffer the size of the packet, the packet after it handled", () => {
      const r = connected(undefined, { maxPacketBytes: 20480, outboxBytes: 4096, incomingQos2Slots: 16 });
      const b = r.board;
      const body = new Uint8Array(16384);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 255;
      let got: Uint8Array | null = null;
      const topics: string[] = [];
      r.client.on("message", (topic: string, payload: Uint8Array) => {
        topics.push(topic);
        if (topic === "big/é") got = payload;
      });
      const big = publish("big/é", body, 1, 9);
      const after = publish("small", "s", 0);
      b.take();
      b.push([big, after], 1460, asBytes);
      assert.deepEqual(topics, ["big/é", "small"]);
      const payload = got as unknown as Uint8Array;
      assert.deepEqual([...payload], [...body]);
      // A view into the packet's own buffer (the header is in it too), not a copy of the payload.
      const size = payload.buffer.byteLength;
      assert.ok(size > body.length && size < body.length + 64, "one buffer of the packet's size, saw " + size);
      assert.deepEqual(
        b.take().filter((p) => p.type === PUBACK).map((p) => (p as AckPacket).packetId),
        [9],
      );
    });
  }

  for (const chunk of [1, 100, 0]) {
    test("a packet over maxPacketBytes is skipped with ERR_PACKET_TOO_LARGE, the next still handled: " + (chunk ? chunk + "-byte chunks" : "all in one chunk"), () => {
      const r = connected({ maxPacketBytes: 256 });
      const b = r.board;
      b.push([publish("big", "B".repeat(1000), 1, 1), publish("small", "ok", 1, 2), publish("big2", "C".repeat(300), 0), publish("last", "end", 0)], chunk || undefined);
      assert.deepEqual(r.rec.codes(), [ERR_PACKET_TOO_LARGE, ERR_PACKET_TOO_LARGE]);
      assert.deepEqual(
        r.rec.messages.map((m) => m.topic + ":" + utf8(m.payload)),
        ["small:ok", "last:end"],
      );
      assert.deepEqual(b.take(), [puback(2)], "the skipped one is not acknowledged");
      assert.equal(b.link, "open");
      b.push(publish("later", "fine", 0));
      assert.equal(r.rec.messages.length, 3);
    });
  }

  test("publishing from inside a message handler: the acknowledgement and the publish go out as one write", () => {
    const r = connected();
    const b = r.board;
    r.client.on("message", (topic: string) => {
      if (topic === "ask") {
        r.client.publish("answer", "42");
        r.client.publish("answer/q1", "43", { qos: 1 });
      }
    });
    const before = b.writes.length;
    b.push(publish("ask", "?", 1, 3));
    assert.equal(b.writes.length - before, 1, "one write");
    const ps = b.take();
    assert.deepEqual(types(ps), [PUBLISH, PUBLISH, PUBACK]);
    assert.deepEqual(
      pubs(ps).map((p) => p.topic),
      ["answer", "answer/q1"],
    );
    assert.equal((ps[2] as AckPacket).packetId, 3);
    // Two messages in one chunk: still one write for the chunk.
    const n = b.writes.length;
    b.push([publish("ask", "?", 2, 4), publish("other", "-", 1, 5)]);
    assert.equal(b.writes.length - n, 1);
    assert.deepEqual(types(b.take()), [PUBLISH, PUBLISH, PUBREC, PUBACK]);
  });

  test("a listener that throws: the packet is not handled twice and held writes still go out", () => {
    const r = connected();
    const b = r.board;
    let calls = 0;
    r.client.on("message", (topic: string) => {
      calls++;
      if (topic === "boom") throw new Error("listener bug");
    });
    b.take();
    assert.throws(() => b.push(publish("boom", "1", 1, 7)), /listener bug/);
    // The next chunk: the message that threw is not delivered again, the next one is acknowledged.
    b.push(publish("fine", "2", 1, 8));
    assert.equal(calls, 2);
    const ps = b.take();
    assert.deepEqual(
      ps.filter((p) => p.type === PUBACK).map((p) => (p as AckPacket).packetId),
      [8],
    );
  });

  test("a handler that ends the client: the DISCONNECT still goes out, nothing after it", () => {
    const r = connected({ reconnect: false });
    const b = r.board;
    r.client.on("message", () => r.client.end());
    b.push([publish("x", "1", 1, 1), publish("y", "2", 0)]);
    b.settle();
    assert.equal(r.rec.messages.length, 1);
    assert.deepEqual(types(b.packets().slice(1)), [14]);
    assert.notEqual(stateOf(r.client), IDLE);
    assert.equal(b.lateWrites, 0);
  });

  test("early closes with QoS 2 in flight: nothing lost, nothing completed twice", () => {
    const r = connected({ reconnect: { minMs: 100, maxMs: 400 } });
    const b = r.board;
    const done: Done = [];
    for (let i = 0; i < 6; i++) r.client.publish("e/" + i, "v" + i, { qos: 2 }, (e) => done.push(e));
    for (let k = 0; k < 20; k++) {
      for (const p of b.take()) if (p.type === PUBLISH && (p as PublishPacket).packetId % 2) b.push(pubrec((p as PublishPacket).packetId));
      b.cut();
      handshake(r);
    }
    const all = b.take();
    for (const p of all) {
      if (p.type === PUBLISH) b.push(pubrec((p as PublishPacket).packetId));
      if (p.type === PUBREL) b.push(pubcomp((p as AckPacket).packetId));
    }
    for (const p of b.take()) if (p.type === PUBREL) b.push(pubcomp((p as AckPacket).packetId));
    assert.equal(done.length, 6);
    assert.ok(done.every((e) => e === null));
    assert.ok(r.rec.codes().every((c) => c === ERR_EARLY_CLOSE));
    assert.deepEqual(types(b.take()), []);
  });
});

/**
 * The outbox on its own: a queue of slots whose records lie contiguous in one byte ring.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AWAIT_PUBACK, AWAIT_PUBCOMP, AWAIT_PUBREC, DONE, NO_ROOM, Outbox, QUEUED } from "../../src/session/outbox.ts";
import { Prng } from "../helpers/prng.ts";

/** The slots of the held records, oldest first. */
function order(box: Outbox): number[] {
  const out: number[] = [];
  for (let k = 0; k < box.count; k++) out.push(box.at(k));
  return out;
}

test("reserve hands out slots in order with contiguous bytes from offset 0", () => {
  const box = new Outbox(100, 4);
  const a = box.reserve(10, "a");
  const b = box.reserve(20, "b");
  const c = box.reserve(5, "c");
  assert.deepEqual([a, b, c], [0, 1, 2]);
  assert.deepEqual([box.offset[a], box.offset[b], box.offset[c]], [0, 10, 30]);
  assert.deepEqual([box.length[a], box.length[b], box.length[c]], [10, 20, 5]);
  assert.deepEqual([box.state[a], box.state[b], box.state[c]], [QUEUED, QUEUED, QUEUED]);
  assert.deepEqual([box.token[a], box.token[b], box.token[c]], ["a", "b", "c"]);
  assert.equal(box.packetId[a], 0);
  assert.equal(box.count, 3);
  assert.equal(box.live(), 3);
  assert.deepEqual(order(box), [0, 1, 2]);
});

test("finish of the oldest frees it; an empty outbox starts again at offset 0", () => {
  const box = new Outbox(100, 4);
  const a = box.reserve(10, "a");
  const b = box.reserve(10, "b");
  box.finish(a);
  assert.equal(box.count, 1);
  assert.equal(box.head, b);
  assert.equal(box.token[a], null, "a finished record lets go of its token");
  assert.equal(box.state[a], 0, "a freed slot is free, not DONE");
  box.finish(b);
  assert.equal(box.count, 0);
  assert.equal(box.live(), 0);
  const c = box.reserve(10, "c");
  assert.equal(box.offset[c], 0);
  assert.equal(c, 0);
});

test("finishing out of order keeps the holes until the head is done", () => {
  const box = new Outbox(100, 4);
  const a = box.reserve(10, "a");
  const b = box.reserve(10, "b");
  const c = box.reserve(10, "c");
  box.finish(b);
  box.finish(c);
  assert.equal(box.count, 3, "b and c stay held behind a");
  assert.equal(box.live(), 1);
  assert.equal(box.state[b], DONE);
  assert.equal(box.state[c], DONE);
  assert.equal(box.token[b], null);
  // Their bytes are not handed out again while they are held.
  const d = box.reserve(10, "d");
  assert.equal(box.offset[d], 30);
  box.finish(a);
  assert.equal(box.count, 1, "a, b and c are freed together");
  assert.equal(box.head, d);
  assert.equal(box.live(), 1);
});

test("the byte ring wraps to offset 0 when the head has moved on", () => {
  const box = new Outbox(100, 8);
  const a = box.reserve(40, "a");
  const b = box.reserve(40, "b");
  assert.equal(box.reserve(30, "x"), NO_ROOM, "20 bytes at the end, nothing free before a");
  box.finish(a);
  const c = box.reserve(30, "c");
  assert.equal(box.offset[c], 0, "the 20 bytes after b stay unused this lap");
  const d = box.reserve(10, "d");
  assert.equal(box.offset[d], 30, "up to the head exactly");
  assert.equal(box.reserve(1, "e"), NO_ROOM, "tail meets head: full");
  box.finish(b);
  // Head is now c at 0; tail is 40: the rest of the pool is free again.
  const e = box.reserve(60, "e");
  assert.equal(box.offset[e], 40);
  assert.deepEqual(order(box), [c, d, e]);
});

test("the slot queue wraps around too", () => {
  const box = new Outbox(1000, 3);
  const a = box.reserve(10, "a");
  box.reserve(10, "b");
  box.reserve(10, "c");
  box.finish(a);
  const d = box.reserve(10, "d");
  assert.equal(d, 0, "slot 0 again, behind slots 1 and 2");
  assert.deepEqual(order(box), [1, 2, 0]);
  assert.equal(box.at(2), 0);
});

test("bytes are the only limit: the slot tables double when every slot is held", () => {
  const box = new Outbox(1000, 2);
  const a = box.reserve(10, "a");
  box.reserve(10, "b");
  box.finish(a);
  box.reserve(10, "c"); // wraps to slot 0: the queue is [1, 0]
  const d = box.reserve(10, "d");
  assert.ok(d >= 0, "a third record while the pool has room");
  assert.equal(box.slots, 4);
  assert.deepEqual(order(box), [0, 1, 2], "held records first, in order, after growing");
  assert.deepEqual([box.token[0], box.token[1], box.token[2]], ["b", "c", "d"]);
  for (let i = 0; i < 90; i++) assert.ok(box.reserve(10, i) >= 0);
  assert.equal(box.count, 93);
  assert.equal(box.liveBytes, 930);
  assert.equal(box.reserve(71, "x"), NO_ROOM, "70 bytes left");
});

test("NO_ROOM when no contiguous gap is big enough within the limit", () => {
  const box = new Outbox(50, 2);
  assert.equal(box.reserve(51, "big"), NO_ROOM, "larger than the pool");
  assert.equal(box.count, 0);

  const ring = new Outbox(50, 8);
  const p = ring.reserve(20, "p");
  ring.reserve(20, "q");
  ring.finish(p);
  ring.reserve(15, "r"); // wraps to 0..15, 5 bytes before q
  assert.equal(ring.reserve(6, "s"), NO_ROOM, "the gap before the head is 5 bytes");
  assert.equal(ring.count, 2, "a refused reserve takes nothing");
  const s = ring.reserve(5, "s");
  assert.equal(ring.offset[s], 15);
});

test("a pool that starts small doubles up to its limit, the held bytes moved in order", () => {
  const box = new Outbox(100, 4, 16);
  assert.equal(box.pool.length, 16);
  const a = box.reserve(10, "a");
  box.pool.fill(1, box.offset[a], box.offset[a] + 10);
  const b = box.reserve(10, "b");
  assert.equal(box.pool.length, 32);
  box.pool.fill(2, box.offset[b], box.offset[b] + 10);
  box.finish(a);
  const c = box.reserve(30, "c");
  assert.equal(box.pool.length, 64, "doubled again, and the done record at the head was freed");
  assert.equal(box.offset[b], 0, "b moved to the start");
  assert.deepEqual(Array.from(box.pool.subarray(0, 10)), new Array(10).fill(2));
  assert.equal(box.offset[c], 10);
  assert.equal(box.reserve(61, "d"), NO_ROOM, "40 held + 61 is past the limit");
  assert.ok(box.reserve(60, "d") >= 0);
  assert.equal(box.pool.length, 100, "never past the limit");
});

test("unreserve gives back the newest record only, as if never reserved", () => {
  const box = new Outbox(100, 4);
  const a = box.reserve(10, "a");
  const b = box.reserve(20, "b");
  box.unreserve(a);
  assert.equal(box.count, 2, "not the newest: ignored");
  box.unreserve(b);
  assert.equal(box.count, 1);
  assert.equal(box.token[b], null);
  const c = box.reserve(30, "c");
  assert.equal(c, b, "the same slot");
  assert.equal(box.offset[c], 10, "the same bytes");
  box.unreserve(c);
  box.unreserve(a);
  assert.equal(box.count, 0);
  assert.equal(box.offset[box.reserve(5, "d")], 0);
});

test("unreserve of a wrapped record restores the tail before the wrap", () => {
  const box = new Outbox(100, 8);
  const a = box.reserve(40, "a");
  box.reserve(40, "b");
  box.finish(a);
  const c = box.reserve(30, "c");
  assert.equal(box.offset[c], 0);
  box.unreserve(c);
  // With the tail back at 80, a 20-byte record fits after b again.
  const d = box.reserve(20, "d");
  assert.equal(box.offset[d], 80);
});

test("find sees live records awaiting an acknowledgement only, and stops after the window", () => {
  const box = new Outbox(100, 4);
  const a = box.reserve(10, "a");
  const b = box.reserve(10, "b");
  const c = box.reserve(10, "c");
  const q = box.reserve(10, "q");
  box.packetId[a] = 7;
  box.packetId[b] = 8;
  box.packetId[c] = 9;
  box.packetId[q] = 10;
  box.state[a] = AWAIT_PUBACK;
  box.state[b] = AWAIT_PUBREC;
  box.state[c] = AWAIT_PUBCOMP;
  assert.equal(box.find(7, AWAIT_PUBACK, 3), a);
  assert.equal(box.find(7, AWAIT_PUBREC, 3), -1, "same id, other state");
  assert.equal(box.find(8, AWAIT_PUBREC, 3), b);
  assert.equal(box.find(9, AWAIT_PUBCOMP, 3), c);
  assert.equal(box.find(10, QUEUED, 3), -1, "a queued record awaits nothing");
  assert.equal(box.find(9, AWAIT_PUBCOMP, 2), -1, "two awaiting: the search ends after b");
  box.finish(b); // a hole: held but done
  assert.equal(box.find(8, AWAIT_PUBREC, 2), -1);
  assert.equal(box.find(9, AWAIT_PUBCOMP, 2), c, "done records do not count");
  box.finish(a);
  assert.equal(box.find(7, AWAIT_PUBACK, 1), -1);
  assert.equal(box.live(), 2);
});

test("random reserve/finish/unreserve never overlaps live bytes and keeps FIFO order", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const rng = new Prng(seed);
    const size = 64 + rng.below(200);
    const slots = 1 + rng.below(10);
    // Half the seeds start with a small pool that grows (records move), half with all of it.
    const box = new Outbox(size, slots, seed % 2 === 0 ? 16 : undefined);
    // The model: held records oldest first, with their done flag. A record's slot and offset
    // are read from the outbox (growing moves them); its place in the queue is its index here.
    let model: { len: number; done: boolean; tag: number }[] = [];
    let tag = 0;
    for (let step = 0; step < 2000; step++) {
      const r = rng.below(10);
      if (r < 5) {
        const len = 1 + rng.below(size / 2);
        const slot = box.reserve(len, ++tag);
        if (slot >= 0) {
          model.push({ len: len, done: false, tag: tag });
          box.pool.fill(tag & 0xff, box.offset[slot], box.offset[slot] + len);
        } else {
          assert.equal(slot, NO_ROOM);
          const held = model.reduce((n, m) => n + m.len, 0);
          assert.ok(box.pool.length === size || held + len > size, "NO_ROOM only at the limit");
        }
      } else if (r < 9 && model.length > 0) {
        const live = model.filter((m) => !m.done);
        if (live.length === 0) continue;
        const m = live[rng.below(live.length)];
        const slot = box.at(model.indexOf(m));
        assert.equal(box.token[slot], m.tag);
        box.finish(slot);
        m.done = true;
        while (model.length > 0 && model[0].done) model.shift();
      } else if (model.length > 0 && !model[model.length - 1].done) {
        box.unreserve(box.at(model.length - 1));
        model = model.slice(0, -1);
      }
      // Invariants.
      assert.equal(box.count, model.length, "seed " + seed + " step " + step);
      assert.equal(box.live(), model.filter((m) => !m.done).length);
      assert.equal(box.liveBytes, model.filter((m) => !m.done).reduce((n, m) => n + m.len, 0));
      assert.ok(box.pool.length <= size, "the pool stays within its limit");
      const places = model.map((m, k) => ({ off: box.offset[box.at(k)], len: m.len, done: m.done, tag: m.tag }));
      for (let k = 0; k < model.length; k++) {
        const m = places[k];
        assert.ok(m.off >= 0 && m.off + m.len <= box.pool.length, "inside the pool");
        if (!m.done) assert.equal(box.token[box.at(k)], m.tag, "the token follows its record");
        if (m.done) continue;
        // A live record's bytes were not handed to anyone else.
        for (let i = m.off; i < m.off + m.len; i++) assert.equal(box.pool[i], m.tag & 0xff, "seed " + seed + " step " + step + " byte " + i);
      }
      for (let i = 0; i < places.length; i++) {
        for (let j = i + 1; j < places.length; j++) {
          const x = places[i];
          const y = places[j];
          assert.ok(x.off + x.len <= y.off || y.off + y.len <= x.off, "held records overlap (seed " + seed + ")");
        }
      }
    }
  }
});

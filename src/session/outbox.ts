/**
 * The outbox: encoded PUBLISH packets kept until the broker has acknowledged them, in the order
 * they were published, in one byte pool.
 *
 * Records are a queue of slots; their bytes form a ring in the pool, each record contiguous. A
 * record acknowledged out of order keeps its slot and bytes until every older record is done too:
 * the window of unacknowledged messages is small, so the holes are short-lived.
 *
 * Bytes are the only limit: the slot tables double when every slot is taken and the pool still
 * has room, so a burst of small messages is held as long as their bytes fit (a fixed slot count
 * chosen apart from the bytes refused the 33rd small message of a burst with most of the pool
 * free). The pool itself may start smaller than its limit and double up to it (see
 * `constructor`), so a host can allow megabytes without reserving them. Both grow by copying into
 * larger arrays: a handful of times over a client's life, never per message.
 */

/** Slot states. A record moves QUEUED → AWAIT_PUBACK → DONE (QoS 1), QUEUED → AWAIT_PUBREC →
 * AWAIT_PUBCOMP → DONE (QoS 2), or QUEUED → DONE (QoS 0 sent after waiting offline). */
export const QUEUED = 1;
export const AWAIT_PUBACK = 2;
export const AWAIT_PUBREC = 3;
export const AWAIT_PUBCOMP = 4;
export const DONE = 5;

/** `reserve` result besides a slot index: the pool has no room for the record within its limit. */
export const NO_ROOM = -2;

export class Outbox {
  pool: Uint8Array;
  /** The most bytes the pool may grow to. */
  readonly limitBytes: number;
  /** Size of the slot tables (they grow; see the file comment). */
  slots: number;
  /** Per slot: where the record's bytes start, how many, its packet id, state and owner token. */
  offset: Int32Array;
  length: Int32Array;
  packetId: Uint16Array;
  state: Uint8Array;
  token: unknown[];
  /** Slot of the oldest record, and how many records are held (done ones included). */
  head = 0;
  count = 0;
  /** Records not yet done, and their bytes: kept as counts so checks per publish are O(1). */
  liveCount = 0;
  liveBytes = 0;
  /** Bytes of every held record, done ones included (what a compacted pool needs). */
  private heldBytes = 0;
  /** Pool offset just past the newest record. */
  private tail = 0;

  /**
   * `limitBytes` bounds the pool; `slots` is the starting size of the slot tables; the pool
   * starts at `startBytes` (default: the limit, allocated at once, as boards want).
   */
  constructor(limitBytes: number, slots: number, startBytes?: number) {
    this.limitBytes = limitBytes;
    const start = startBytes !== undefined && startBytes < limitBytes ? startBytes : limitBytes;
    this.pool = new Uint8Array(start);
    this.slots = slots;
    this.offset = new Int32Array(slots);
    this.length = new Int32Array(slots);
    this.packetId = new Uint16Array(slots);
    this.state = new Uint8Array(slots);
    this.token = new Array(slots);
    for (let i = 0; i < slots; i++) this.token[i] = null;
  }

  /** The slot of the k-th oldest record (0 ≤ k < count). */
  at(k: number): number {
    const s = this.head + k;
    return s < this.slots ? s : s - this.slots;
  }

  /**
   * Takes a slot and `len` contiguous pool bytes for a new newest record (state QUEUED, packet id
   * 0). Returns the slot, or NO_ROOM when the pool, grown to its limit, has no contiguous gap of
   * `len` bytes.
   */
  reserve(len: number, token: unknown): number {
    let off = this.place(len);
    if (off < 0) {
      if (!this.growPool(len)) return NO_ROOM;
      off = this.tail;
    }
    if (this.count === this.slots) this.growSlots();
    const slot = this.at(this.count);
    this.count++;
    this.offset[slot] = off;
    this.length[slot] = len;
    this.packetId[slot] = 0;
    this.state[slot] = QUEUED;
    this.token[slot] = token;
    this.tail = off + len;
    this.liveCount++;
    this.liveBytes += len;
    this.heldBytes += len;
    return slot;
  }

  /** Where `len` bytes fit in the ring as it is, or -1. */
  private place(len: number): number {
    const size = this.pool.length;
    if (this.count === 0) return len <= size ? 0 : -1;
    const headOff = this.offset[this.head];
    const tail = this.tail;
    if (tail > headOff) {
      if (size - tail >= len) return tail;
      if (headOff >= len) return 0; // wrap: the bytes after tail stay unused this lap
      return -1;
    }
    if (tail < headOff && headOff - tail >= len) return tail;
    return -1; // tail meets head with records held: the ring is full
  }

  /**
   * Moves the held records, in order, to the start of a pool with room for `len` more bytes,
   * doubling it (up to the limit). False when even the limit is too small.
   */
  private growPool(len: number): boolean {
    const need = this.heldBytes + len;
    if (need > this.limitBytes || this.pool.length === this.limitBytes) return false;
    let size = this.pool.length * 2;
    if (size < need) size = need;
    if (size > this.limitBytes) size = this.limitBytes;
    const old = this.pool;
    const pool = new Uint8Array(size);
    let at = 0;
    for (let k = 0; k < this.count; k++) {
      const s = this.at(k);
      const off = this.offset[s];
      const n = this.length[s];
      pool.set(old.subarray(off, off + n), at);
      this.offset[s] = at;
      at += n;
    }
    this.pool = pool;
    this.tail = at;
    return true;
  }

  /** Doubles the slot tables, the held records first in order (head 0). */
  private growSlots(): void {
    const n = this.slots * 2;
    const offset = new Int32Array(n);
    const length = new Int32Array(n);
    const packetId = new Uint16Array(n);
    const state = new Uint8Array(n);
    const token: unknown[] = new Array(n);
    for (let k = 0; k < n; k++) token[k] = null;
    for (let k = 0; k < this.count; k++) {
      const s = this.at(k);
      offset[k] = this.offset[s];
      length[k] = this.length[s];
      packetId[k] = this.packetId[s];
      state[k] = this.state[s];
      token[k] = this.token[s];
    }
    this.offset = offset;
    this.length = length;
    this.packetId = packetId;
    this.state = state;
    this.token = token;
    this.slots = n;
    this.head = 0;
  }

  /**
   * Gives back the newest record, as if never reserved (its encoding failed after reserving).
   */
  unreserve(slot: number): void {
    if (this.count === 0 || slot !== this.at(this.count - 1)) return;
    this.count--;
    this.liveCount--;
    this.liveBytes -= this.length[slot];
    this.heldBytes -= this.length[slot];
    this.token[slot] = null;
    this.state[slot] = 0;
    this.tail = this.count === 0 ? 0 : this.offset[this.at(this.count - 1)] + this.length[this.at(this.count - 1)];
  }

  /** Marks a record done and frees every done record at the old end of the queue. */
  finish(slot: number): void {
    if (this.state[slot] === DONE || this.state[slot] === 0) return;
    this.state[slot] = DONE;
    this.token[slot] = null;
    this.liveCount--;
    this.liveBytes -= this.length[slot];
    while (this.count > 0 && this.state[this.head] === DONE) {
      this.state[this.head] = 0;
      this.heldBytes -= this.length[this.head];
      this.head = this.head + 1 === this.slots ? 0 : this.head + 1;
      this.count--;
    }
    if (this.count === 0) {
      this.head = 0;
      this.tail = 0;
    }
  }

  /**
   * The slot of the live record awaiting `state` with packet id `id`, or -1. `awaiting` is how
   * many records await an acknowledgement (the session's in-flight count): the search stops once
   * it has passed that many, so an ack costs the window, not the length of the queue behind it.
   */
  find(id: number, state: number, awaiting: number): number {
    let seen = 0;
    for (let k = 0; k < this.count && seen < awaiting; k++) {
      const s = this.at(k);
      const st = this.state[s];
      if (st < AWAIT_PUBACK || st > AWAIT_PUBCOMP) continue;
      if (this.packetId[s] === id && st === state) return s;
      seen++;
    }
    return -1;
  }

  /** Records not yet done. */
  live(): number {
    return this.liveCount;
  }
}

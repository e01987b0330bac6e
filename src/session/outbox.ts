/**
 * The outbox: encoded PUBLISH packets kept until the broker has acknowledged them, in the order
 * they were published, in one byte pool allocated up front.
 *
 * Records are a queue of slots; their bytes form a ring in the pool, each record contiguous. A
 * record acknowledged out of order keeps its slot and bytes until every older record is done too:
 * the window of unacknowledged messages is small, so the holes are short-lived.
 */

/** Slot states. A record moves QUEUED → AWAIT_PUBACK → DONE (QoS 1), QUEUED → AWAIT_PUBREC →
 * AWAIT_PUBCOMP → DONE (QoS 2), or QUEUED → DONE (QoS 0 sent after waiting offline). */
export const QUEUED = 1;
export const AWAIT_PUBACK = 2;
export const AWAIT_PUBREC = 3;
export const AWAIT_PUBCOMP = 4;
export const DONE = 5;

/** `reserve` results besides a slot index. */
export const NO_SLOT = -1;
export const NO_ROOM = -2;

export class Outbox {
  readonly pool: Uint8Array;
  readonly slots: number;
  /** Per slot: where the record's bytes start, how many, its packet id, state and owner token. */
  readonly offset: Int32Array;
  readonly length: Int32Array;
  readonly packetId: Uint16Array;
  readonly state: Uint8Array;
  readonly token: unknown[];
  /** Slot of the oldest record, and how many records are held (done ones included). */
  head = 0;
  count = 0;
  /** Pool offset just past the newest record. */
  private tail = 0;

  constructor(poolBytes: number, slots: number) {
    this.pool = new Uint8Array(poolBytes);
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
   * Takes a slot and `len` contiguous pool bytes for a new newest record (state QUEUED).
   * Returns the slot, or NO_SLOT when every slot is taken, or NO_ROOM when the pool has no
   * contiguous gap of `len` bytes.
   */
  reserve(len: number, token: unknown): number {
    if (this.count === this.slots) return NO_SLOT;
    const size = this.pool.length;
    let off: number;
    if (this.count === 0) {
      if (len > size) return NO_ROOM;
      off = 0;
    } else {
      const headOff = this.offset[this.head];
      const tail = this.tail;
      if (tail > headOff) {
        if (size - tail >= len) off = tail;
        else if (headOff >= len) off = 0; // wrap: the bytes after tail stay unused this lap
        else return NO_ROOM;
      } else if (tail < headOff) {
        if (headOff - tail >= len) off = tail;
        else return NO_ROOM;
      } else {
        return NO_ROOM; // tail meets head with records held: the ring is full
      }
    }
    const slot = this.at(this.count);
    this.count++;
    this.offset[slot] = off;
    this.length[slot] = len;
    this.packetId[slot] = 0;
    this.state[slot] = QUEUED;
    this.token[slot] = token;
    this.tail = off + len;
    return slot;
  }

  /**
   * Gives back the newest record, as if never reserved (its encoding failed after reserving).
   */
  unreserve(slot: number): void {
    if (this.count === 0 || slot !== this.at(this.count - 1)) return;
    this.count--;
    this.token[slot] = null;
    this.state[slot] = 0;
    this.tail = this.count === 0 ? 0 : this.offset[this.at(this.count - 1)] + this.length[this.at(this.count - 1)];
  }

  /** Marks a record done and frees every done record at the old end of the queue. */
  finish(slot: number): void {
    this.state[slot] = DONE;
    this.token[slot] = null;
    while (this.count > 0 && this.state[this.head] === DONE) {
      this.state[this.head] = 0;
      this.head = this.head + 1 === this.slots ? 0 : this.head + 1;
      this.count--;
    }
    if (this.count === 0) {
      this.head = 0;
      this.tail = 0;
    }
  }

  /** The slot of the live record awaiting `state` with packet id `id`, or -1. */
  find(id: number, state: number): number {
    for (let k = 0; k < this.count; k++) {
      const s = this.at(k);
      if (this.packetId[s] === id && this.state[s] === state) return s;
    }
    return -1;
  }

  /** Whether a live record uses packet id `id`. */
  usesId(id: number): boolean {
    for (let k = 0; k < this.count; k++) {
      const s = this.at(k);
      if (this.packetId[s] === id && this.state[s] !== DONE) return true;
    }
    return false;
  }

  /** Records not yet done. */
  live(): number {
    let n = 0;
    for (let k = 0; k < this.count; k++) if (this.state[this.at(k)] !== DONE) n++;
    return n;
  }
}

/**
 * Time under the test's control: a clock that moves only when told, and one-shot timers that fire
 * only from `advance`, in order of their due time (ties in the order they were set).
 *
 * The timers are strict the way the boards are: clearing `undefined`, a handle that was never
 * returned, or one that already fired or was cleared throws. On Espruino `clearTimeout(undefined)`
 * throws and timer ids are reused, so clearing a stale handle can cancel someone else's timer;
 * here it fails the test instead.
 */
import type { Clock, Timers } from "../../src/transport.ts";

interface PendingTimer {
  id: number;
  atMs: number;
  callback: () => void;
}

export class ManualClock implements Clock, Timers {
  nowMs: number;
  private nextId = 1;
  private pending: PendingTimer[] = [];
  /** Every handle ever returned by `set`, fired or not. */
  private issued = new Set<number>();
  /** Timers set and fired so far, and clears, for tests that count them. */
  setCount = 0;
  firedCount = 0;
  clearCount = 0;

  constructor(startMs = 1000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  set(callback: () => void, ms: number): unknown {
    if (typeof ms !== "number" || !(ms >= 0)) throw new Error("ManualClock.set: bad delay " + String(ms));
    const id = this.nextId++;
    this.issued.add(id);
    this.pending.push({ id: id, atMs: this.nowMs + ms, callback: callback });
    this.setCount++;
    return { timer: id };
  }

  clear(handle: unknown): void {
    if (handle === undefined || handle === null) throw new Error("ManualClock.clear: no handle (clearTimeout(undefined) throws on Espruino)");
    const id = (handle as { timer: number }).timer;
    if (!this.issued.has(id)) throw new Error("ManualClock.clear: a handle set() never returned");
    const i = this.pending.findIndex((t) => t.id === id);
    if (i < 0) throw new Error("ManualClock.clear: timer " + id + " already fired or cleared (a stale handle)");
    this.pending.splice(i, 1);
    this.clearCount++;
  }

  /** Timers armed and not yet fired. */
  armed(): number {
    return this.pending.length;
  }

  /** The due time of the earliest armed timer, or -1. */
  nextDueMs(): number {
    let best = -1;
    for (const t of this.pending) if (best < 0 || t.atMs < best) best = t.atMs;
    return best;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, each with the clock
   * at its own due time; timers set by a callback fire too if they fall due within the span.
   */
  advance(ms: number): void {
    this.advanceTo(this.nowMs + ms);
  }

  advanceTo(targetMs: number): void {
    if (targetMs < this.nowMs) throw new Error("ManualClock: time never goes back");
    for (;;) {
      let k = -1;
      for (let i = 0; i < this.pending.length; i++) {
        const t = this.pending[i];
        if (t.atMs > targetMs) continue;
        if (k < 0 || t.atMs < this.pending[k].atMs || (t.atMs === this.pending[k].atMs && t.id < this.pending[k].id)) k = i;
      }
      if (k < 0) break;
      const t = this.pending[k];
      this.pending.splice(k, 1);
      if (t.atMs > this.nowMs) this.nowMs = t.atMs;
      this.firedCount++;
      t.callback();
    }
    this.nowMs = targetMs;
  }

  /** Fires timers one by one until none is armed (or `limit` fired), moving time as needed. */
  runAll(limit = 1000): void {
    for (let n = 0; n < limit; n++) {
      const due = this.nextDueMs();
      if (due < 0) return;
      this.advanceTo(due > this.nowMs ? due : this.nowMs);
    }
    throw new Error("ManualClock.runAll: timers keep re-arming");
  }
}

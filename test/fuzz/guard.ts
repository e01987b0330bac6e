/**
 * A read guard for byte arrays: a Proxy over a Uint8Array that records every numeric index read
 * outside an allowed range, and every write. The codec's decoders promise to read only inside the
 * range they are given and never to write their input; this catches a broken promise even when
 * the stray index happens to hold a harmless value.
 *
 * Indexing is supported, and `subarray`, whose range is checked like a read of every index in it
 * (the receiver copies long runs with `set(chunk.subarray(...))`). Any other method called on the
 * proxy (slice, set...) throws, because a typed-array method needs the real array as `this`: a
 * failure worth hearing about too.
 */

export interface Guarded {
  /** What to hand to the code under test. */
  view: Uint8Array;
  /** The array underneath, for the test's own reads. */
  raw: Uint8Array;
  /** Out-of-range indices read, in order (the first 16 kept). */
  badReads: number[];
  /** How many out-of-range reads there were in all. */
  badReadCount: number;
  /** Indices written (the first 16 kept), and the count. */
  writes: number[];
  writeCount: number;
  /** Allows [lo, hi) from now on and clears the records. */
  allow(lo: number, hi: number): void;
}

/** A property key is an integer index of a typed array when it is a canonical numeric string. */
function numericKey(prop: string | symbol): number | undefined {
  if (typeof prop !== "string") return undefined;
  const n = Number(prop);
  if (prop === "-0") return -0;
  return String(n) === prop ? n : undefined;
}

/** Guards `raw`, allowing reads of [lo, hi). */
export function guard(raw: Uint8Array, lo: number, hi: number): Guarded {
  const g: Guarded = {
    view: raw,
    raw: raw,
    badReads: [],
    badReadCount: 0,
    writes: [],
    writeCount: 0,
    allow(newLo: number, newHi: number): void {
      lo = newLo;
      hi = newHi;
      g.badReads.length = 0;
      g.badReadCount = 0;
      g.writes.length = 0;
      g.writeCount = 0;
    },
  };
  g.view = new Proxy(raw, {
    get(target, prop) {
      if (prop === "subarray") {
        return function (begin: number, end?: number): Uint8Array {
          const b = begin === undefined ? 0 : begin;
          const e = end === undefined ? target.length : end;
          if (e > b && !(Number.isInteger(b) && Number.isInteger(e) && b >= lo && e <= hi)) {
            if (g.badReads.length < 16) g.badReads.push(b < lo ? b : e - 1);
            g.badReadCount++;
          }
          return target.subarray(b, e);
        };
      }
      const n = numericKey(prop);
      if (n !== undefined && !(Number.isInteger(n) && n >= lo && n < hi)) {
        if (g.badReads.length < 16) g.badReads.push(n);
        g.badReadCount++;
      }
      return Reflect.get(target, prop, target);
    },
    set(target, prop, value) {
      const n = numericKey(prop);
      if (g.writes.length < 16) g.writes.push(n === undefined ? NaN : n);
      g.writeCount++;
      return Reflect.set(target, prop, value, target);
    },
  });
  return g;
}

/**
 * Counts the Uint8Array views (`subarray`) made while `fn` runs: how the tests see that a message
 * reached a listener without a payload view being allocated for it.
 */
export function viewsMadeDuring(fn: () => void): number {
  const original = Uint8Array.prototype.subarray;
  let n = 0;
  Uint8Array.prototype.subarray = function (this: Uint8Array, a?: number, b?: number) {
    n++;
    return original.call(this, a, b);
  } as typeof original;
  try {
    fn();
  } finally {
    Uint8Array.prototype.subarray = original;
  }
  return n;
}

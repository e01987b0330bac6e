/**
 * Snapshots of the arrays and typed arrays an object holds (and the objects it holds, a few levels
 * down), to show that nothing was reallocated or grew: same object, same length, per path.
 */

export interface TableEntry {
  ref: unknown;
  length: number;
}

export type TableSnapshot = Map<string, TableEntry>;

/**
 * Every array and typed array reachable from `root` through own properties, at most `depth`
 * objects down, skipping the keys in `skip` (wiring to the outside: config, clock, events...).
 */
export function snapshotTables(root: object, skip: string[], depth = 3): TableSnapshot {
  const out: TableSnapshot = new Map();
  const seen = new Set<unknown>();
  const walk = (obj: object, path: string, level: number): void => {
    if (seen.has(obj)) return;
    seen.add(obj);
    for (const key of Object.keys(obj)) {
      if (skip.includes(key)) continue;
      const v = (obj as Record<string, unknown>)[key];
      const p = path ? path + "." + key : key;
      if (ArrayBuffer.isView(v)) {
        out.set(p, { ref: v, length: (v as Uint8Array).length });
      } else if (Array.isArray(v)) {
        out.set(p, { ref: v, length: v.length });
      } else if (typeof v === "object" && v !== null && level < depth) {
        walk(v, p, level + 1);
      }
    }
  };
  walk(root, "", 0);
  return out;
}

/** The paths whose table was replaced, grew or shrank, or appeared or disappeared. */
export function tableChanges(before: TableSnapshot, after: TableSnapshot): string[] {
  const changes: string[] = [];
  for (const [path, b] of before) {
    const a = after.get(path);
    if (!a) changes.push(path + ": gone");
    else if (a.ref !== b.ref) changes.push(path + ": a new object (length " + b.length + " → " + a.length + ")");
    else if (a.length !== b.length) changes.push(path + ": length " + b.length + " → " + a.length);
  }
  for (const path of after.keys()) if (!before.has(path)) changes.push(path + ": new");
  return changes;
}

/** Global typed-array constructors, wrapped to count `new` calls while `run` runs. */
export function countTypedArrays(run: () => void): number {
  const g = globalThis as unknown as Record<string, unknown>;
  const names = ["Uint8Array", "Uint16Array", "Int32Array", "Uint32Array", "ArrayBuffer", "DataView"];
  const originals = names.map((n) => g[n]);
  let count = 0;
  names.forEach((n, i) => {
    g[n] = new Proxy(originals[i] as new (...args: unknown[]) => object, {
      construct(target, args, newTarget) {
        count++;
        return Reflect.construct(target, args, newTarget === g[n] ? target : newTarget);
      },
    });
  });
  try {
    run();
  } finally {
    names.forEach((n, i) => (g[n] = originals[i]));
  }
  return count;
}

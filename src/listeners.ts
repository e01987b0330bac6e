/**
 * Event listeners of both clients, as plain functions over a table (no base class: `extends`
 * breaks on Espruino).
 *
 * The lists are copy-on-write: adding or removing makes a new array, never an edit in place.
 * `emitTo` walks the array it started with, so a listener added or removed while an event is
 * emitted does not make another one run twice or miss it (splice under the loop skipped the next
 * listener). Listeners change rarely; emitting is the hot path.
 */
export type Listener = (a?: unknown, b?: unknown, c?: unknown) => void;
export type ListenerTable = { [event: string]: Listener[] };

export function addListener(table: ListenerTable, event: string, listener: Listener): void {
  const list = table[event];
  table[event] = list ? list.concat([listener]) : [listener];
}

export function removeListener(table: ListenerTable, event: string, listener: Listener): void {
  const list = table[event];
  const i = list ? list.indexOf(listener) : -1;
  if (i >= 0) table[event] = list.slice(0, i).concat(list.slice(i + 1));
}

/**
 * Calls the listeners of `event`. A listener that throws does not break the client: the
 * exception goes to the `error` listeners (and is dropped if an error listener throws).
 */
export function emitTo(table: ListenerTable, event: string, a?: unknown, b?: unknown, c?: unknown): void {
  const list = table[event];
  if (!list) return;
  for (let i = 0; i < list.length; i++) {
    try {
      list[i](a, b, c);
    } catch (e) {
      if (event !== "error") emitTo(table, "error", e);
    }
  }
}

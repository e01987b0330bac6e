/**
 * The seams between the portable core and a runtime: a transport, timers and a clock.
 * Board adapters (boards/) implement them over each runtime's own APIs.
 */
import type { Clock } from "./session/session.ts";

export type { Clock };

/**
 * Events a transport reports. One long-lived object, passed to `open` once per connection.
 */
export interface TransportEvents {
  /** The connection is open and writable. */
  onOpen(): void;
  /**
   * Bytes arrived: `len` bytes of `chunk` from `off`. Chunks have any size and split or join
   * packets anywhere. The bytes are valid during the call only.
   */
  onData(chunk: Uint8Array, off: number, len: number): void;
  /** The transport has room again after a `write` returned false. */
  onDrain(): void;
  /**
   * The connection is closed, or could not be opened. Fires exactly once per `open`, also after
   * a local `close()`. `reason` is an Error or message when the close was not a clean one.
   */
  onClose(reason: unknown): void;
}

/**
 * A byte stream to the broker.
 * - `open` starts connecting; the outcome arrives as `onOpen` or `onClose`, never as a throw and
 *   never before `open` has returned (a runtime that fails synchronously is deferred by a timer).
 * - `write` takes (copies or sends) the bytes before it returns, so the caller may reuse its
 *   buffer at once. It returns false when the caller should hold further bulk writes until
 *   `onDrain`; the bytes given were still taken.
 * - `close` closes the connection; `onClose` follows.
 * - No event is delivered from inside `write` or `close`: events come from the runtime's own
 *   event loop. (The session hands the application views into shared buffers; bytes pushed in
 *   while a message handler runs would overwrite them.)
 */
export interface Transport {
  open(host: string, port: number, events: TransportEvents): void;
  write(bytes: Uint8Array, off: number, len: number): boolean;
  close(): void;
}

/** One-shot timers. The handle is opaque; `clear` accepts only handles `set` returned. */
export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** What a client needs from the runtime. */
export interface Board {
  clock: Clock;
  timers: Timers;
  transport: Transport;
  /** A number in [0, 1); Math.random when absent. */
  random?: () => number;
}

/**
 * The incremental receiver: TCP chunks of any size in, whole packets out, in order.
 *
 * One fixed buffer, allocated at construction, holds at most one partial packet. A chunk that
 * holds whole packets is decoded where it lies, without a copy. A packet larger than the buffer
 * is reported once and then drained as its bytes arrive; it is never buffered.
 */
import { ERR_PACKET_TOO_LARGE, NEED_MORE } from "../status.ts";
import { packetLength } from "./decode.ts";
import { DecodedPacket } from "./types.ts";

/**
 * Decodes one whole packet: `decodePacket` (either side's packets) or `decodeFromBroker` (a
 * client's; it keeps the broker-side decoders out of a client's bundle).
 */
export type PacketDecoder = (buf: Uint8Array, off: number, end: number, out: DecodedPacket) => number;

/** Where the receiver hands its packets. One long-lived object, passed once. */
export interface PacketSink {
  /**
   * A complete packet that decoded without error. `buf` and `packet` are valid during the call
   * only: `buf` may be the chunk being pushed or the receiver's own buffer.
   */
  onPacket(buf: Uint8Array, packet: DecodedPacket): void;
  /**
   * A packet that could not be taken. `status` is ERR_PACKET_TOO_LARGE (it is being drained and
   * the stream stays in step), a decode status for a packet whose length was known (the stream
   * stays in step), or ERR_PACKET_TYPE / ERR_REMAINING_LENGTH when `length` is 0: then the
   * stream has lost its framing and everything is ignored until `reset()`.
   */
  onPacketError(status: number, type: number, length: number): void;
}

/** Runs of at least this many bytes are copied with `set` rather than a byte loop. */
const BULK_COPY_BYTES = 256;

/** The smallest buffer that still holds any fixed header (1 + 4 bytes) and small packets. */
const MIN_BUFFER_BYTES = 16;

export class Receiver {
  /** Holds the packet being assembled. Its size is the largest packet accepted. */
  readonly buffer: Uint8Array;
  /** Reused for every packet handed to the sink. */
  readonly packet: DecodedPacket;
  private sink: PacketSink;
  private decode: PacketDecoder;
  /**
   * The largest packet accepted. Kept apart from `buffer.length`: the buffer is rounded up to
   * MIN_BUFFER_BYTES so a split header always fits, but that must not raise the caller's limit
   * (with the buffer's length as the limit, `new Receiver(10, sink)` took 16-byte packets).
   */
  private maxBytes: number;
  /** Bytes of the current packet held in `buffer`. */
  private fill = 0;
  /** Whole length of the current packet once its header is complete, else 0. */
  private need = 0;
  /** Bytes of an oversized packet still to be dropped. */
  private skip = 0;
  /** Framing was lost: ignore input until reset(). */
  private broken = false;
  /** Bumped by reset(), so a push notices that the sink reset it and stops. */
  private epoch = 0;

  /**
   * `maxPacketBytes` is the largest whole packet (fixed header included) to accept; `decode` is
   * `decodePacket` or `decodeFromBroker`.
   */
  constructor(maxPacketBytes: number, sink: PacketSink, decode: PacketDecoder) {
    this.buffer = new Uint8Array(maxPacketBytes > MIN_BUFFER_BYTES ? maxPacketBytes : MIN_BUFFER_BYTES);
    // Never above the buffer (a NaN limit must not let a packet overrun it).
    this.maxBytes = maxPacketBytes < this.buffer.length ? maxPacketBytes : this.buffer.length;
    this.packet = new DecodedPacket();
    this.sink = sink;
    this.decode = decode;
  }

  /** Forgets any partial packet and lost framing; for a new connection. */
  reset(): void {
    this.fill = 0;
    this.need = 0;
    this.skip = 0;
    this.broken = false;
    this.epoch++;
  }

  /** Bytes of an unfinished packet held or still being drained. */
  pending(): number {
    return this.fill + this.skip;
  }

  /**
   * Takes the bytes [start, end) of `chunk` (the whole chunk when they are omitted) and hands
   * every packet they complete to the sink. Stops early if the sink calls `reset()`.
   */
  push(chunk: Uint8Array, start?: number, end?: number): void {
    let i = start === undefined ? 0 : start;
    const stop = end === undefined ? chunk.length : end;
    const epoch = this.epoch;
    const buffer = this.buffer;
    while (i < stop && !this.broken) {
      if (this.skip > 0) {
        const n = this.skip < stop - i ? this.skip : stop - i;
        this.skip -= n;
        i += n;
        continue;
      }
      if (this.fill === 0) {
        const len = packetLength(chunk, i, stop);
        if (len > 0 && len <= this.maxBytes && i + len <= stop) {
          // The whole packet is in the chunk: decode it in place.
          this.deliver(chunk, i, len);
          if (this.epoch !== epoch) return;
          i += len;
          continue;
        }
        if (len > this.maxBytes) {
          this.tooLarge(chunk[i] >> 4, len, 0);
          if (this.epoch !== epoch) return;
          continue;
        }
        if (len < 0 && len !== NEED_MORE) {
          this.lose(len, chunk[i] >> 4);
          return;
        }
      }
      if (this.need === 0) {
        // The header is split: take it a byte at a time until its length is known.
        buffer[this.fill++] = chunk[i++];
        const len = packetLength(buffer, 0, this.fill);
        if (len === NEED_MORE) continue;
        if (len < 0) {
          this.lose(len, buffer[0] >> 4);
          return;
        }
        if (len > this.maxBytes) {
          const held = this.fill;
          this.fill = 0;
          this.tooLarge(buffer[0] >> 4, len, held);
          if (this.epoch !== epoch) return;
          continue;
        }
        this.need = len;
      }
      let fill = this.fill;
      const want = this.need - fill;
      const last = want < stop - i ? i + want : stop;
      if (last - i >= BULK_COPY_BYTES) {
        // Long runs (large payloads split across chunks) copy natively: the byte loop was the
        // largest cost of 16 KB messages. The view is one small object per run, not per byte.
        buffer.set(chunk.subarray(i, last), fill);
        fill += last - i;
        i = last;
      } else {
        while (i < last) buffer[fill++] = chunk[i++];
      }
      this.fill = fill;
      if (fill === this.need) {
        this.fill = 0;
        this.need = 0;
        this.deliver(buffer, 0, fill);
        if (this.epoch !== epoch) return;
      }
    }
  }

  private deliver(buf: Uint8Array, off: number, len: number): void {
    const status = this.decode(buf, off, off + len, this.packet);
    if (status < 0) this.sink.onPacketError(status, buf[off] >> 4, len);
    else this.sink.onPacket(buf, this.packet);
  }

  /** Starts draining a packet of `len` bytes of which `consumed` have been taken already. */
  private tooLarge(type: number, len: number, consumed: number): void {
    this.skip = len - consumed;
    this.sink.onPacketError(ERR_PACKET_TOO_LARGE, type, len);
  }

  private lose(status: number, type: number): void {
    this.broken = true;
    this.fill = 0;
    this.need = 0;
    this.sink.onPacketError(status, type, 0);
  }
}

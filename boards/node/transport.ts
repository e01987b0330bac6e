/**
 * The Node board: TCP through `net`, TLS through `tls`.
 *
 * Writes are gathered in a staging buffer and flushed once per turn of the event loop, so a
 * burst of small packets costs one socket write rather than one each, and the caller's buffers
 * can be reused at once (Node's `socket.write` keeps a reference until the bytes are sent).
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { Transport, TransportEvents } from "../../src/transport.ts";

/** TLS settings, passed to `tls.connect`. */
export interface NodeTlsOptions {
  ca?: string | Buffer | (string | Buffer)[];
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

const STAGING_BYTES = 64 * 1024;

export class NodeTransport implements Transport {
  private socket: net.Socket | null = null;
  private staging = Buffer.allocUnsafe(STAGING_BYTES);
  private staged = 0;
  private flushQueued = false;
  /** The socket's own buffer is over its high-water mark: hold bulk writes until 'drain'. */
  private full = false;
  private error: Error | null = null;
  private readonly tlsOptions: NodeTlsOptions | null;
  private readonly flushNow = () => this.flush();

  constructor(tlsOptions?: NodeTlsOptions | null) {
    this.tlsOptions = tlsOptions ? tlsOptions : null;
  }

  open(host: string, port: number, events: TransportEvents): void {
    this.staged = 0;
    this.full = false;
    this.error = null;
    const onConnect = () => {
      if (this.socket === socket) events.onOpen();
    };
    const socket = this.tlsOptions
      ? tls.connect({ host, port, ...this.tlsOptions, servername: this.tlsOptions.servername ?? (net.isIP(host) ? undefined : host) }, onConnect)
      : net.connect({ host, port }, onConnect);
    socket.setNoDelay(true);
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      if (this.socket === socket) events.onData(chunk, 0, chunk.length);
    });
    socket.on("drain", () => {
      if (this.socket !== socket) return;
      this.full = false;
      events.onDrain();
    });
    socket.on("error", (err: Error) => {
      if (this.socket === socket) this.error = err;
    });
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.staged = 0;
      events.onClose(this.error);
    });
  }

  write(bytes: Uint8Array, off: number, len: number): boolean {
    const socket = this.socket;
    if (!socket || socket.destroyed) return true; // onClose is on its way; the session resends later
    if (this.staged + len > this.staging.length) this.flush();
    if (len > this.staging.length) {
      // Too big to stage: send a copy of its own.
      this.full = !socket.write(Buffer.from(bytes.subarray(off, off + len))) || this.full;
      return !this.full;
    }
    this.staging.set(bytes.subarray(off, off + len), this.staged);
    this.staged += len;
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flushNow);
    }
    return !this.full;
  }

  close(): void {
    const socket = this.socket;
    if (!socket) return;
    this.flush();
    socket.end();
    // A peer that never answers the FIN must not keep the close from completing.
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private flush(): void {
    this.flushQueued = false;
    const socket = this.socket;
    if (this.staged === 0 || !socket) return;
    const out = Buffer.from(this.staging.subarray(0, this.staged));
    this.staged = 0;
    if (!socket.write(out)) this.full = true;
  }
}

/**
 * The Node board: TCP through `net`, TLS through `tls`.
 *
 * Writes are gathered in a staging buffer and flushed once per turn of the event loop, so a
 * burst of small packets costs one socket write rather than one each, and the caller's buffers
 * can be reused at once (Node's `socket.write` keeps a reference until the bytes are sent).
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { mqttError } from "../../src/client.ts";
import { ERR_CONNECTION_LOST } from "../../src/status.ts";
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
/** What one read from a plain TCP socket can return (Node's own reads are 64 KB too). */
const READ_BYTES = 64 * 1024;
/** Packets up to this size are copied into the staging buffer byte by byte, allocating nothing. */
const COPY_LOOP_BYTES = 256;

/** OpenSSL's verdicts on a server certificate that was not accepted. */
const CERT_REJECTED = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/;

/**
 * The error a socket failure becomes: what was being done, with which broker, and the socket's
 * own message and code. A bare "self-signed certificate in certificate chain" or "write
 * ECONNRESET" did not say that TLS failed, nor where, nor what to check. The socket's error stays
 * as `cause`.
 */
function socketError(err: Error, host: string, port: number, secure: boolean, opened: boolean, answered: boolean, hasCert: boolean): Error {
  const where = host + ":" + port;
  const code = (err as NodeJS.ErrnoException).code;
  // OpenSSL's own text ("805C...:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert
  // certificate required:../deps/openssl/...:1601:SSL alert number 116\n"): keep the reason.
  const ssl = /:error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:]+):/.exec(err.message);
  const message = ssl ? ssl[1] : String(err.message).trim();
  const detail = message + (typeof code === "string" && message.indexOf(code) < 0 ? " (" + code + ")" : "");
  let text: string;
  if (!opened) {
    text = secure ? "TLS handshake with " + where + " failed: " + detail : "cannot connect to " + where + ": " + detail;
    if (secure && typeof code === "string" && CERT_REJECTED.test(code)) {
      text += "; the broker's certificate was not accepted (check tls.ca, and that the certificate names this host)";
    }
  } else if (secure && !answered) {
    // With TLS 1.3 a server that wants a client certificate refuses it only after the client has
    // finished its side of the handshake: the client sees the handshake succeed, then a reset.
    text = "TLS connection to " + where + " closed before the broker answered: " + detail +
      (hasCert ? "" : "; the broker may require a client certificate (tls.cert and tls.key)");
  } else {
    text = (secure ? "TLS connection to " : "connection to ") + where + " lost: " + detail;
  }
  const out = mqttError(ERR_CONNECTION_LOST, text);
  (out as Error & { cause?: unknown }).cause = err;
  return out;
}

export class NodeTransport implements Transport {
  private socket: net.Socket | null = null;
  private staging = Buffer.allocUnsafe(STAGING_BYTES);
  /** Plain TCP reads land here (see `open`). */
  private readBuffer = Buffer.allocUnsafe(READ_BYTES);
  private staged = 0;
  private flushQueued = false;
  /** The socket's own buffer is over its high-water mark: hold bulk writes until 'drain'. */
  private full = false;
  private error: Error | null = null;
  /** close() was called on the current socket. */
  private closing = false;
  private readonly tlsOptions: NodeTlsOptions | null;
  private readonly flushNow = () => this.flush();

  constructor(tlsOptions?: NodeTlsOptions | null) {
    this.tlsOptions = tlsOptions ? tlsOptions : null;
  }

  open(host: string, port: number, events: TransportEvents): void {
    this.closing = false;
    this.staged = 0;
    this.full = false;
    this.error = null;
    let opened = false;
    let answered = false;
    const onConnect = () => {
      opened = true;
      // After close() the connection is on its way down: it never counts as open.
      if (this.socket === socket && !this.closing) events.onOpen();
    };
    const onChunk = (chunk: Uint8Array, len: number) => {
      answered = true;
      if (this.socket === socket) events.onData(chunk, 0, len);
    };
    // Plain TCP reads into one buffer of ours (`onread`): no Buffer and no stream machinery per
    // chunk, which cost about 700 bytes of garbage per 'data' event. The bytes are valid during
    // onData only, as the transport contract says. `tls` has no `onread`: TLS keeps 'data'.
    const socket = this.tlsOptions
      ? tls.connect({ host, port, ...this.tlsOptions, servername: this.tlsOptions.servername ?? (net.isIP(host) ? undefined : host) }, onConnect)
      : net.connect({ host, port, onread: { buffer: this.readBuffer, callback: (n: number, buf: Uint8Array) => { onChunk(buf, n); return true; } } }, onConnect);
    socket.setNoDelay(true);
    this.socket = socket;
    if (this.tlsOptions) socket.on("data", (chunk: Buffer) => onChunk(chunk, chunk.length));
    socket.on("drain", () => {
      if (this.socket !== socket) return;
      this.full = false;
      events.onDrain();
    });
    socket.on("error", (err: Error) => {
      if (this.socket === socket && !this.error) {
        const tlsOptions = this.tlsOptions;
        this.error = socketError(err, host, port, !!tlsOptions, opened, answered, !!(tlsOptions && tlsOptions.cert));
      }
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
    const staging = this.staging;
    let at = this.staged;
    if (len <= COPY_LOOP_BYTES) {
      // A byte loop: `subarray` for `set` would allocate a 96-byte view per packet.
      for (let i = off, end = off + len; i < end; i++) staging[at++] = bytes[i];
    } else {
      staging.set(bytes.subarray(off, off + len), at);
      at += len;
    }
    this.staged = at;
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flushNow);
    }
    return !this.full;
  }

  close(): void {
    const socket = this.socket;
    if (!socket) return;
    this.closing = true;
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

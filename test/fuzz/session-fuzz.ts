/**
 * A fuzzer for the whole session (src/session/session.ts), not only the codec: a Session on a
 * manual clock with a recording SessionEvents, connected with a valid CONNACK, then fed broker
 * traffic in random chunks: valid packets of every type a broker sends (with random ids, flags,
 * QoS and lengths, acks for ids that are and are not in flight, SUBACKs with right and wrong
 * counts, packets larger than the receive buffer), packets a broker never sends, and mutations of
 * all that (bit flips, interesting bytes, inserts, deletes, truncation, splices, corrupted lengths).
 * Between chunks the application publishes and subscribes, time moves (PINGREQ, ping timeouts) and
 * the transport sometimes asks to wait for a drain. Deterministic from its seed.
 *
 * An input fails the run when:
 * - anything throws;
 * - a buffer or table of the session that is sized once is not the same object with the same
 *   length as at construction; the outbox (whose pool and slot tables grow by doubling) holds more
 *   than `outboxBytes`, has more slots than its bytes can fill twice over, or its live counts
 *   disagree with its records; the in-flight count disagrees with the outbox; the incoming QoS 2
 *   table disagrees with the model of it (below);
 * - the session sends something that is not exactly one well-formed client packet, or sends while
 *   the link is down, or a CONNECT other than right after linkUp. A large QoS 0 PUBLISH comes as a
 *   header and slices (`sendBytes(..., slice = true)`): the slices are put together and the whole
 *   checked as one packet, its payload against the one published; anything written between the
 *   slices of one packet, a slice without a header, or a packet left unfinished while connected
 *   fails;
 * - a token is reported done that was never given or is reported twice;
 * - a stream that an independent decoding of the whole input finds malformed (or holding a packet
 *   a broker must not send) does not end in onFailed with that status; a session failure that the
 *   input does not explain (a SUBACK whose count disagrees with its request, a ping timeout only
 *   once the clock has passed its deadline, which for a PINGREQ held behind a large packet runs
 *   from when it came due); a dropped-packet count that differs from the oversized packets the
 *   input holds;
 * - a PUBLISH or PUBREL the session takes while connected is handled otherwise than a model of the
 *   incoming side says: QoS 0/1 delivered once (QoS 1 with PUBACK); QoS 2 delivered once with
 *   PUBREC when new, PUBREC alone when its id is between PUBREC and PUBREL, and, for a persistent
 *   session whose `incomingQos2Slots` are all taken, withheld: neither delivered nor acknowledged,
 *   the session reading on; PUBREL answered with PUBCOMP, and `onWithheld` called exactly when it
 *   empties the table after a withheld message. The acknowledgements must go out in the model's
 *   order (after a large packet being written, when they come due during it). The fuzzer takes
 *   `onWithheld` as the client does, as a request to reconnect;
 * - after a failure, linkDown() + linkUp() + CONNACK do not bring back a session that, against a
 *   well-behaved broker, gets every held message acknowledged, completes a publish round trip and
 *   delivers an incoming QoS 2 message exactly once.
 *
 * The report counts inputs that ended in a failure and inputs that passed, so the tests can check
 * that the run exercised both.
 */
import {
  CONNACK,
  CONNECT,
  DISCONNECT,
  DecodedPacket,
  PINGREQ,
  PINGRESP,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE,
  decodeFromBroker,
  decodePacket,
  encodeAck,
  encodeConnack,
  encodeEmpty,
  encodePacket,
  packetLength,
  readPacket,
  type Packet,
} from "../../src/packet/index.ts";
import { AWAIT_CONNACK, CONNECTED, LINK_DOWN, Session, type SessionConfig, type SessionEvents } from "../../src/session/session.ts";
import { AWAIT_PUBACK, AWAIT_PUBCOMP, AWAIT_PUBREC, DONE, type Outbox } from "../../src/session/outbox.ts";
import {
  ERR_CLIENT_ID,
  ERR_EMPTY,
  ERR_FIELD_TOO_LONG,
  ERR_FILTER,
  ERR_FLAGS,
  ERR_MALFORMED,
  ERR_OUTBOX_FULL,
  ERR_PACKET_ID,
  ERR_PACKET_TYPE,
  ERR_PASSWORD,
  ERR_PING_TIMEOUT,
  ERR_PROTOCOL,
  ERR_QOS,
  ERR_REMAINING_LENGTH,
  ERR_REQUESTS_FULL,
  ERR_RETURN_CODE,
  ERR_TOPIC,
  ERR_TX_TOO_LARGE,
  ERR_UNEXPECTED_PACKET,
  ERR_UTF8,
  NEED_MORE,
  statusText,
} from "../../src/status.ts";
import { Prng } from "../helpers/prng.ts";

/** Statuses a session may fail with because of what the broker sent. */
const PROTOCOL_STATUSES = new Set([
  ERR_PACKET_TYPE,
  ERR_REMAINING_LENGTH,
  ERR_FLAGS,
  ERR_QOS,
  ERR_PACKET_ID,
  ERR_UTF8,
  ERR_TOPIC,
  ERR_FILTER,
  ERR_MALFORMED,
  ERR_PROTOCOL,
  ERR_PASSWORD,
  ERR_EMPTY,
  ERR_RETURN_CODE,
  ERR_CLIENT_ID,
  ERR_UNEXPECTED_PACKET,
]);

/** What `Session.publish` may return besides 0 for the inputs used here. */
const PUBLISH_STATUSES = new Set([ERR_TX_TOO_LARGE, ERR_OUTBOX_FULL, ERR_FIELD_TOO_LONG]);

const utf8 = new TextEncoder();
const TOPICS = ["a", "a/b", "fuzz/x", "s/\u00e9/\u20ac", "x/y/z"];
const FILTERS = ["a/#", "+/b", "fuzz/+", "#", "s/+/+"];
/** Characters of string payloads: 1, 2, 3 and 4 UTF-8 bytes (the last a surrogate pair). */
const PAYLOAD_CHARS = ["a", "z", "\u00e9", "\u20ac", "\ud83d\ude00"];
/** The smallest PUBLISH the fuzzer queues: topic "a", no payload, QoS 0 (1 + 1 + 2 + 1 bytes). */
const MIN_RECORD_BYTES = 5;

export interface SessionFuzzFailure {
  /** Which input (0-based): `runSessionFuzz(seed, iteration + 1)` reaches it. */
  iteration: number;
  what: string;
  /** The input bytes in hex (at most 256 shown) and how the session was configured. */
  input: string;
  config: string;
}

export interface SessionFuzzReport {
  seed: number;
  inputs: number;
  failures: number;
  firstFailures: SessionFuzzFailure[];
  /** Inputs after which the session had called onFailed. */
  failingInputs: number;
  /** Inputs the session took without failing. */
  passingInputs: number;
  /** Inputs whose bytes were mutated, or random. */
  mutatedInputs: number;
  /** onFailed statuses, by name. */
  failStatuses: { [name: string]: number };
  packetsFed: number;
  bytesFed: number;
  messagesDelivered: number;
  tokensDone: number;
  packetsDropped: number;
  pingsSent: number;
  /** Recoveries (linkDown, linkUp, CONNACK) and the round trips checked after them. */
  recoveries: number;
  roundTrips: number;
  refusals: number;
  sessions: number;
  /** Large QoS 0 packets written as header + slices, put together and checked. */
  slicedPackets: number;
  /** Incoming QoS 2 messages withheld (table full), and onWithheld calls (each a reconnect). */
  withheldMessages: number;
  withheldCalls: number;
}

/** The session's private parts the fuzzer checks; the shapes are those of session.ts. */
interface SessionInternals {
  receiver: { buffer: Uint8Array; packet: DecodedPacket };
  tx: Uint8Array;
  ackBuf: Uint8Array;
  outbox: Outbox;
  inflight: number;
  idsInUse: Uint8Array;
  incoming: Uint8Array;
  incomingCount: number;
  big: unknown;
  deferred: Uint32Array;
  deferredCount: number;
  reqKind: Uint8Array;
  reqId: Uint16Array;
  reqSent: Uint8Array;
  reqToken: unknown[];
  reqTopics: unknown[];
  reqQos: unknown[];
  subTopics: string[];
  connectPacket: object;
}

/**
 * The objects and lengths a session holds that are sized once, captured at construction. The
 * outbox's pool and slot tables grow and are checked apart (see `checkFootprint`).
 */
interface Footprint {
  objects: unknown[];
  lengths: number[];
  names: string[];
}

function footprint(s: SessionInternals): Footprint {
  const box = s.outbox;
  const parts: [string, { length: number } | object][] = [
    ["receiver", s.receiver],
    ["receiver.buffer", s.receiver.buffer],
    ["receiver.packet", s.receiver.packet],
    ["tx", s.tx],
    ["ackBuf", s.ackBuf],
    ["outbox", box],
    ["idsInUse", s.idsInUse],
    ["incoming", s.incoming],
    ["reqKind", s.reqKind],
    ["reqId", s.reqId],
    ["reqSent", s.reqSent],
    ["reqToken", s.reqToken],
    ["reqTopics", s.reqTopics],
    ["reqQos", s.reqQos],
    ["connectPacket", s.connectPacket],
  ];
  return {
    names: parts.map((p) => p[0]),
    objects: parts.map((p) => p[1]),
    lengths: parts.map((p) => (Array.isArray(p[1]) || ArrayBuffer.isView(p[1]) ? (p[1] as { length: number }).length : -1)),
  };
}

/** The outbox's count of the bytes its records hold, done ones included (private there). */
function held(box: Outbox): number {
  return (box as unknown as { heldBytes: number }).heldBytes;
}

function hex(bytes: Uint8Array, max = 256): string {
  let out = "";
  const n = bytes.length < max ? bytes.length : max;
  for (let i = 0; i < n; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return out + (bytes.length > max ? "… (" + bytes.length + " bytes)" : "");
}

/** A packet the session sent, as the fuzzer's broker side reads it. */
interface Sent {
  type: number;
  packetId: number;
  qos: number;
  /** SUBSCRIBE: the requested QoS per filter. */
  requested: number[] | null;
}

/** One fuzz token per publish/subscribe/unsubscribe; the session reports each at most once. */
interface Token {
  n: number;
  done: boolean;
  status: number;
}

class Recorder implements SessionEvents {
  session: Session | null = null;
  /** Packets sent since the broker side last read them. */
  sent: Sent[] = [];
  writable = true;
  /** Chance that a write asks the sender to wait for a drain. */
  backpressure = 0;
  rng: Prng;
  clock: { t: number };
  problems: string[] = [];
  connected = 0;
  refused = -1;
  failed: number[] = [];
  dropped = 0;
  messages: { topic: string; payload: string; qos: number; dup: boolean; packetId: number }[] = [];
  tokensDone = 0;
  pings = 0;
  /**
   * When the last PINGREQ came due, as far as the fuzzer can tell: when it was sent, or, for one
   * sent after a large packet, the first tick while that packet was being written (the session
   * holds a PINGREQ due then until the last slice, its deadline running from when it came due).
   */
  pingDueMs = -1;
  /** The first tick while a large packet was being written since the last PINGREQ, or -1. */
  blockedTickMs = -1;
  private decoded = new DecodedPacket();

  constructor(rng: Prng, clock: { t: number }) {
    this.rng = rng;
    this.clock = clock;
  }

  problem(text: string): void {
    if (this.problems.length < 4) this.problems.push(text);
  }

  /**
   * A packet written as a header and slices, being put together: its bytes, how many have come,
   * and the payload the application published with it (see `publishing`).
   */
  private partial: Uint8Array | null = null;
  private partialFill = 0;
  private partialPayload: Uint8Array | null = null;
  /** The payload of the `publish` call being made, as UTF-8 bytes; null outside one. */
  publishing: Uint8Array | null = null;
  slicedPackets = 0;
  /**
   * Acknowledgements (type << 16 | id) the model of the incoming side says the session owes, in
   * the order it must send them, and the most owed at once.
   */
  owedAcks: number[] = [];
  private owedHead = 0;
  owedMost = 0;
  /** onWithheld calls, and whether the session is inside onPacket (the only place it may call it). */
  withheldCalls = 0;
  inPacket = false;

  owe(type: number, id: number): void {
    this.owedAcks.push((type << 16) | id);
    const n = this.owedAcks.length - this.owedHead;
    if (n > this.owedMost) this.owedMost = n;
  }

  /** Acknowledgements owed and not yet sent. */
  owed(): number[] {
    return this.owedAcks.slice(this.owedHead);
  }

  /** The link went down: a packet cut in the middle and acknowledgements owed on it are gone. */
  linkReset(): void {
    this.partial = null;
    this.blockedTickMs = -1;
    this.owedAcks = [];
    this.owedHead = 0;
  }

  /** Bytes of a packet started and not yet complete. */
  unfinished(): number {
    return this.partial === null ? 0 : this.partial.length - this.partialFill;
  }

  sendBytes(bytes: Uint8Array, off: number, len: number, slice?: boolean): boolean {
    const s = this.session!;
    if (slice) {
      const partial = this.partial;
      if (partial === null) {
        this.problem("sent a slice with no packet started: " + hex(bytes.subarray(off, off + len), 32));
        return this.written();
      }
      if (s.state !== CONNECTED) this.problem("sent a slice in session state " + s.state);
      if (len <= 0 || this.partialFill + len > partial.length) {
        this.problem("a slice of " + len + " bytes does not fit its packet (" + this.partialFill + " of " + partial.length + " bytes written)");
        this.partial = null;
        return this.written();
      }
      partial.set(bytes.subarray(off, off + len), this.partialFill);
      this.partialFill += len;
      if (this.partialFill === partial.length) {
        this.partial = null;
        this.slicedPackets++;
        this.packet(partial, 0, partial.length, this.partialPayload);
      }
      return this.written();
    }
    if (this.partial !== null) {
      // Bytes written between the slices of one packet land in its payload on the wire.
      this.problem(
        "wrote " + hex(bytes.subarray(off, off + len), 32) + " between the slices of one packet (" + this.partialFill + " of " + this.partial.length + " bytes written)",
      );
      this.partial = null;
    }
    const total = packetLength(bytes, off, off + len);
    if (total > len) {
      // A header; the rest of the packet follows in slices.
      const type = bytes[off] >> 4;
      this.checkState(type);
      if (type !== PUBLISH || (bytes[off] & 0x06) !== 0) this.problem("a packet of type " + type + " started to be written in slices (" + bytes[off] + ")");
      if (this.publishing === null) this.problem("a packet written in slices outside publish()");
      this.partial = new Uint8Array(total);
      this.partial.set(bytes.subarray(off, off + len));
      this.partialFill = len;
      this.partialPayload = this.publishing;
      return this.written();
    }
    this.packet(bytes, off, len, null);
    return this.written();
  }

  /** What a write returns: sometimes false, as a transport whose queue is full. */
  private written(): boolean {
    if (this.backpressure > 0 && this.rng.chance(this.backpressure)) this.writable = false;
    return this.writable;
  }

  private checkState(type: number): void {
    const s = this.session!;
    if (s.state === LINK_DOWN) this.problem("sent " + type + " while the link is down");
    if (type === CONNECT ? s.state !== AWAIT_CONNACK : s.state !== CONNECTED && type !== DISCONNECT) {
      this.problem("sent packet type " + type + " in session state " + s.state);
    }
  }

  /** One whole packet the session sent; `payload`: what a sliced PUBLISH must carry. */
  private packet(bytes: Uint8Array, off: number, len: number, payload: Uint8Array | null): void {
    const d = this.decoded;
    const status = decodePacket(bytes, off, off + len, d);
    if (status !== len) {
      this.problem("sent bytes that are not one well-formed packet: " + (status < 0 ? statusText(status) : status + " of " + len) + " " + hex(bytes.subarray(off, off + len)));
      return;
    }
    const type = d.type;
    // A sliced packet's state was checked at its header; its slices only while connected.
    if (payload === null) this.checkState(type);
    if (type === CONNACK || type === SUBACK || type === UNSUBACK || type === PINGRESP) this.problem("sent a broker's packet, type " + type);
    if (payload !== null) {
      const got = bytes.subarray(d.payloadOff, d.payloadOff + d.payloadLen);
      let same = got.length === payload.length;
      for (let i = 0; same && i < got.length; i++) if (got[i] !== payload[i]) same = false;
      if (!same) this.problem("a sliced PUBLISH carries " + hex(got, 48) + ", not the payload published, " + hex(payload, 48));
    }
    if (type === PUBACK || type === PUBREC || type === PUBCOMP) {
      const want = this.owedHead < this.owedAcks.length ? this.owedAcks[this.owedHead] : -1;
      if (want !== ((type << 16) | d.packetId)) {
        this.problem(
          "sent ack type " + type + " id " + d.packetId + "; the model owes " + (want < 0 ? "none" : "type " + (want >>> 16) + " id " + (want & 0xffff)),
        );
      } else if (++this.owedHead === this.owedAcks.length) {
        this.owedAcks.length = 0;
        this.owedHead = 0;
      }
    }
    let requested: number[] | null = null;
    if (type === SUBSCRIBE) {
      const p = readPacket(bytes.subarray(off, off + len), decodeAt0(bytes, off, len));
      requested = (p as { subscriptions: { qos: number }[] }).subscriptions.map((x) => x.qos);
    }
    if (type === PINGREQ) {
      this.pings++;
      this.pingDueMs = this.blockedTickMs >= 0 ? this.blockedTickMs : this.clock.t;
      this.blockedTickMs = -1;
    }
    this.sent.push({ type: type, packetId: d.packetId, qos: type === PUBLISH ? d.qos : 0, requested: requested });
  }

  onWithheld(): void {
    this.withheldCalls++;
    if (!this.inPacket) this.problem("onWithheld called outside the handling of a packet");
  }

  onConnected(): void {
    this.connected++;
  }

  onRefused(returnCode: number): void {
    this.refused = returnCode;
  }

  onFailed(status: number): void {
    this.failed.push(status);
  }

  onMessage(topic: string, buf: Uint8Array, packet: DecodedPacket): void {
    if (typeof topic !== "string") this.problem("onMessage topic is not a string");
    if (packet.payloadOff < 0 || packet.payloadOff + packet.payloadLen > buf.length) this.problem("payload outside its buffer");
    const payload = buf.subarray(packet.payloadOff, packet.payloadOff + packet.payloadLen);
    let text = "";
    for (let i = 0; i < payload.length && i < 16; i++) text += String.fromCharCode(payload[i]);
    this.messages.push({ topic: topic, payload: text, qos: packet.qos, dup: packet.dup, packetId: packet.packetId });
  }

  onDone(token: unknown, status: number): void {
    const t = token as Token | null;
    if (!t || typeof t.n !== "number") {
      this.problem("onDone with a token never given: " + String(token));
      return;
    }
    if (t.done) this.problem("token " + t.n + " reported done twice");
    t.done = true;
    t.status = status;
    this.tokensDone++;
  }

  onDropped(): void {
    this.dropped++;
  }
}

/** decodePacket into a fresh object at offset 0 of a copy (for readPacket on sent SUBSCRIBEs). */
function decodeAt0(bytes: Uint8Array, off: number, len: number): DecodedPacket {
  const d = new DecodedPacket();
  decodePacket(bytes.subarray(off, off + len), 0, len, d);
  return d;
}

/** Broker-side bytes under construction. */
class Out {
  buf = new Uint8Array(8192);
  n = 0;
  push(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.n);
    this.n += bytes.length;
  }
  ensure(more: number): void {
    if (this.n + more <= this.buf.length) return;
    const bigger = new Uint8Array((this.n + more) * 2);
    bigger.set(this.buf.subarray(0, this.n));
    this.buf = bigger;
  }
  /** Encodes `p` at the end; returns false (and writes nothing) when it cannot be encoded. */
  packet(p: Packet): boolean {
    this.ensure(4096);
    const end = encodePacket(this.buf, this.n, p);
    if (end < 0) return false;
    this.n = end;
    return true;
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

function randomConfig(rng: Prng, n: number): SessionConfig {
  return {
    protocolVersion: rng.chance(0.2) ? 3 : 4,
    clientId: "fuzz-" + n,
    clean: rng.chance(0.5),
    keepalive: rng.chance(0.2) ? 0 : rng.range(1, 30),
    username: rng.chance(0.3) ? "user" : undefined,
    password: undefined,
    will: rng.chance(0.2) ? { topic: "will/t", payload: "gone", qos: rng.below(3), retain: rng.chance(0.5) } : undefined,
    connectTimeoutMs: 5000,
    pingTimeoutMs: rng.range(200, 5000),
    rxBytes: rng.pick([32, 48, 64, 128, 256, 1024]),
    txBytes: rng.pick([48, 64, 128, 512]),
    outboxBytes: rng.pick([64, 128, 256, 1024]),
    // Half the time the pool starts small and doubles up to outboxBytes as a host's does.
    outboxStartBytes: rng.chance(0.5) ? rng.pick([8, 24, 64]) : undefined,
    outboxSlots: rng.range(2, 10),
    maxInflight: rng.range(1, 6),
    incomingQos2Slots: rng.range(1, 6),
    requestSlots: rng.range(1, 4),
  };
}

function showConfig(c: SessionConfig): string {
  return (
    "v" + c.protocolVersion + (c.clean ? " clean" : " persistent") + " keepalive " + c.keepalive + " s ping " + c.pingTimeoutMs + " ms rx " + c.rxBytes +
    " tx " + c.txBytes + " outbox " + c.outboxBytes + (c.outboxStartBytes !== undefined ? " from " + c.outboxStartBytes : "") + "/" + c.outboxSlots + " inflight " + c.maxInflight + " in2 " + c.incomingQos2Slots + " req " + c.requestSlots
  );
}

function randomPayload(rng: Prng, max: number): Uint8Array {
  return rng.bytes(rng.below(max + 1));
}

/** What an independent decoding of the whole input says the session must do with it. */
interface Expectation {
  /** The status the session must fail with at the latest (0: none). */
  definite: number;
  /** Failures the input can explain before that point. */
  maySubackMismatch: boolean;
  /** Oversized packets before the failure point (drained and reported, not fatal). */
  drops: number;
  packets: number;
}

/**
 * The stream as the link has carried it so far, for the model: the bytes of an unfinished packet
 * and the bytes of an oversized one still to drain. Input carries over from one fuzz input to the
 * next while the link stays up, as it does over TCP.
 */
interface StreamState {
  held: Uint8Array;
  skip: number;
}

/** Models `input` arriving after `state`; updates `state` to what is left unfinished. */
function expect(state: StreamState, input: Uint8Array, rxBytes: number, d: DecodedPacket): Expectation {
  const e: Expectation = { definite: 0, maySubackMismatch: false, drops: 0, packets: 0 };
  let from = 0;
  if (state.skip > 0) {
    from = state.skip < input.length ? state.skip : input.length;
    state.skip -= from;
  }
  let stream = input.subarray(from);
  if (state.held.length > 0) {
    const joined = new Uint8Array(state.held.length + stream.length);
    joined.set(state.held);
    joined.set(stream, state.held.length);
    stream = joined;
  }
  state.held = new Uint8Array(0);
  const n = stream.length;
  let off = 0;
  while (off < n) {
    const len = packetLength(stream, off, n);
    if (len === NEED_MORE) {
      state.held = stream.slice(off);
      return e;
    }
    if (len < 0) {
      e.definite = len;
      return e;
    }
    if (len > rxBytes) {
      e.drops++;
      if (off + len > n) {
        state.skip = off + len - n;
        return e;
      }
      off += len;
      continue;
    }
    if (off + len > n) {
      state.held = stream.slice(off);
      return e;
    }
    // What a client decodes: the types only a client sends are unexpected whatever their body.
    const status = decodeFromBroker(stream, off, off + len, d);
    if (status < 0) {
      e.definite = status;
      return e;
    }
    e.packets++;
    const type = d.type;
    if (type === CONNACK || type === CONNECT || type === SUBSCRIBE || type === UNSUBSCRIBE || type === PINGREQ || type === DISCONNECT) {
      e.definite = ERR_UNEXPECTED_PACKET;
      return e;
    }
    if (type === SUBACK) e.maySubackMismatch = true;
    off += len;
  }
  return e;
}

/** Mutations of a byte string; each returns a new array. */
function mutate(rng: Prng, input: Uint8Array): Uint8Array {
  let bytes = input.slice();
  const rounds = rng.range(1, 3);
  for (let r = 0; r < rounds; r++) {
    const n = bytes.length;
    const at = n > 0 ? rng.below(n) : 0;
    switch (rng.below(9)) {
      case 0: // bit flip
        if (n > 0) bytes[at] ^= 1 << rng.below(8);
        break;
      case 1: // interesting byte
        if (n > 0) bytes[at] = rng.pick([0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0x30, 0x32, 0x34, 0x3b, 0x62, 0x90, 0xb0, 0xd0, 0xf0, 0x23, 0x2b]);
        break;
      case 2: {
        // insert random bytes
        const ins = rng.bytes(rng.range(1, 8));
        const out = new Uint8Array(n + ins.length);
        out.set(bytes.subarray(0, at));
        out.set(ins, at);
        out.set(bytes.subarray(at), at + ins.length);
        bytes = out;
        break;
      }
      case 3: {
        // delete a range
        if (n === 0) break;
        const len = Math.min(rng.range(1, 8), n - at);
        const out = new Uint8Array(n - len);
        out.set(bytes.subarray(0, at));
        out.set(bytes.subarray(at + len), at);
        bytes = out;
        break;
      }
      case 4: // truncate
        bytes = bytes.slice(0, at);
        break;
      case 5: {
        // splice: repeat a range somewhere else
        if (n < 2) break;
        const from = rng.below(n);
        const len = rng.range(1, Math.min(32, n - from));
        const to = rng.below(n + 1);
        const out = new Uint8Array(n + len);
        out.set(bytes.subarray(0, to));
        out.set(bytes.subarray(from, from + len), to);
        out.set(bytes.subarray(to), to + len);
        bytes = out;
        break;
      }
      case 6: // a remaining-length byte
        if (n > 1) bytes[1 + rng.below(Math.min(4, n - 1))] = rng.pick([0x00, 0x7f, 0x80, 0xff, rng.byte()]);
        break;
      case 7: // a two-byte length or id
        if (n > 3) {
          const p = rng.below(n - 1);
          bytes[p] = rng.pick([0x00, 0xff, 0x7f]);
          bytes[p + 1] = rng.byte();
        }
        break;
      default: {
        // random bytes over a range
        const len = rng.range(1, 6);
        for (let i = at; i < at + len && i < n; i++) bytes[i] = rng.byte();
        break;
      }
    }
  }
  return bytes;
}

/**
 * Runs `count` fuzz inputs from `seed`. Never throws: everything wrong is in the report.
 */
export function runSessionFuzz(seed: number, count: number): SessionFuzzReport {
  const rng = new Prng(seed);
  const report: SessionFuzzReport = {
    seed,
    inputs: 0,
    failures: 0,
    firstFailures: [],
    failingInputs: 0,
    passingInputs: 0,
    mutatedInputs: 0,
    failStatuses: {},
    packetsFed: 0,
    bytesFed: 0,
    messagesDelivered: 0,
    tokensDone: 0,
    packetsDropped: 0,
    pingsSent: 0,
    recoveries: 0,
    roundTrips: 0,
    refusals: 0,
    sessions: 0,
    slicedPackets: 0,
    withheldMessages: 0,
    withheldCalls: 0,
  };
  const clock = { t: 1000, now(): number { return this.t; } };
  const oracle = new DecodedPacket();
  let tokenCounter = 0;
  const newToken = (): Token => ({ n: tokenCounter++, done: false, status: 1 });

  let config!: SessionConfig;
  let rec!: Recorder;
  let session!: Session;
  let internals!: SessionInternals;
  let print!: Footprint;
  /** The outbox's pool and slot table sizes after the last input: they may only grow. */
  let poolBytes = 0;
  let slots = 0;
  /**
   * The model of the incoming QoS 2 table: ids between PUBREC and PUBREL, and whether a message
   * was withheld on this connection because the table was full.
   */
  const table = new Set<number>();
  let withheld = false;
  /** Packet ids of broker → client QoS 2 messages handed to this session (for PUBREL inputs). */
  let incomingIds: number[] = [];
  let needsRecovery = true;
  const stream: StreamState = { held: new Uint8Array(0), skip: 0 };
  let iteration = 0;
  let input: Uint8Array = new Uint8Array(0);

  const fail = (what: string) => {
    report.failures++;
    if (report.firstFailures.length < 10) {
      report.firstFailures.push({ iteration: iteration, what: what, input: hex(input), config: showConfig(config) });
    }
  };

  /** Adds the figures of the session being retired to the report. */
  const tally = () => {
    if (!rec) return;
    report.messagesDelivered += rec.messages.length;
    report.tokensDone += rec.tokensDone;
    report.packetsDropped += rec.dropped;
    report.pingsSent += rec.pings;
    report.slicedPackets += rec.slicedPackets;
    report.withheldCalls += rec.withheldCalls;
  };

  /**
   * What the session's receiver hands it, with the model of the incoming side checked around
   * each packet (installed on each session over the prototype's onPacket, which it calls, so a
   * test that replaces that method still takes effect).
   */
  const modelPacket = function (this: Session, buf: Uint8Array, p: DecodedPacket): void {
    const handle = Session.prototype.onPacket;
    if (this !== session || this.state !== CONNECTED || (p.type !== PUBLISH && p.type !== PUBREL)) {
      rec.inPacket = true;
      try {
        handle.call(this, buf, p);
      } finally {
        rec.inPacket = false;
      }
      return;
    }
    const id = p.packetId;
    const what = p.type === PUBREL ? "PUBREL " + id : "QoS " + p.qos + " PUBLISH" + (p.qos > 0 ? " " + id : "");
    let deliveries = 1;
    let calls = 0;
    if (p.type === PUBLISH) {
      if (p.qos === 1) rec.owe(PUBACK, id);
      else if (p.qos === 2) {
        if (table.has(id)) {
          // Delivered already, between PUBREC and PUBREL: acknowledged again, not delivered.
          deliveries = 0;
          rec.owe(PUBREC, id);
        } else if (!config.clean && table.size >= config.incomingQos2Slots) {
          // The table is full: withheld, neither delivered nor acknowledged.
          deliveries = 0;
          withheld = true;
          report.withheldMessages++;
        } else {
          table.add(id);
          rec.owe(PUBREC, id);
        }
      }
    } else {
      deliveries = 0;
      table.delete(id);
      rec.owe(PUBCOMP, id);
      if (withheld && table.size === 0) {
        withheld = false;
        calls = 1;
      }
    }
    const messages = rec.messages.length;
    const withheldCalls = rec.withheldCalls;
    rec.inPacket = true;
    try {
      handle.call(this, buf, p);
    } finally {
      rec.inPacket = false;
    }
    if (rec.messages.length - messages !== deliveries) {
      rec.problem(what + " delivered " + (rec.messages.length - messages) + " times; the model says " + deliveries + " (table " + [...table].join(",") + ")");
    }
    if (rec.withheldCalls - withheldCalls !== calls) {
      rec.problem(what + ": onWithheld called " + (rec.withheldCalls - withheldCalls) + " times; the model says " + calls);
    }
  };

  const newSession = () => {
    tally();
    config = randomConfig(rng, report.sessions);
    rec = new Recorder(rng, clock);
    session = new Session(config, clock, rec);
    rec.session = session;
    (session as unknown as { onPacket: typeof modelPacket }).onPacket = modelPacket;
    internals = session as unknown as SessionInternals;
    print = footprint(internals);
    poolBytes = internals.outbox.pool.length;
    slots = internals.outbox.slots;
    table.clear();
    withheld = false;
    incomingIds = [];
    needsRecovery = true;
    report.sessions++;
  };

  /** Feeds broker bytes to the session, whole. */
  const feed = (bytes: Uint8Array) => {
    session.receive(bytes, 0, bytes.length);
  };

  const ackBytes = new Uint8Array(4);
  const sendAck = (type: number, id: number) => {
    encodeAck(ackBytes, 0, type, id);
    feed(ackBytes);
  };

  /**
   * Answers what the session sent as a well-behaved broker would, until it sends nothing more.
   * Returns false when the session failed meanwhile.
   */
  const settle = (): boolean => {
    rec.writable = true;
    rec.backpressure = 0;
    session.drained();
    for (let round = 0; round < 200; round++) {
      if (rec.sent.length === 0) return session.state === CONNECTED;
      const batch = rec.sent;
      rec.sent = [];
      for (const p of batch) {
        if (session.state !== CONNECTED) return false;
        switch (p.type) {
          case PUBLISH:
            if (p.qos === 1) sendAck(PUBACK, p.packetId);
            else if (p.qos === 2) sendAck(PUBREC, p.packetId);
            break;
          case PUBREL:
            sendAck(PUBCOMP, p.packetId);
            break;
          case SUBSCRIBE: {
            const out = new Out();
            out.packet({ type: SUBACK, packetId: p.packetId, granted: p.requested! });
            feed(out.bytes());
            break;
          }
          case UNSUBSCRIBE:
            sendAck(UNSUBACK, p.packetId);
            break;
          case PINGREQ: {
            const b = new Uint8Array(2);
            encodeEmpty(b, 0, PINGRESP);
            feed(b);
            break;
          }
        }
      }
    }
    fail("the session kept sending against a well-behaved broker");
    return false;
  };

  /** linkDown, linkUp, CONNACK; then the session must work. Returns false when it did not. */
  const recover = (checkRoundTrip: boolean): boolean => {
    report.recoveries++;
    stream.held = new Uint8Array(0);
    stream.skip = 0;
    session.linkDown();
    rec.linkReset();
    withheld = false;
    rec.sent = [];
    rec.writable = true;
    session.linkUp();
    if (rec.sent.length !== 1 || rec.sent[0].type !== CONNECT) {
      fail("linkUp did not send exactly one CONNECT (sent " + rec.sent.map((p) => p.type).join(",") + ")");
      return false;
    }
    rec.sent = [];
    const connack = new Uint8Array(4);
    if (rng.chance(0.03)) {
      // A refusal first: the session reports it and waits for the next link.
      const code = rng.range(1, 5);
      encodeConnack(connack, 0, false, code);
      feed(connack);
      report.refusals++;
      if (rec.refused !== code || session.state !== LINK_DOWN) {
        fail("CONNACK " + code + " was not reported as a refusal (state " + session.state + ")");
        return false;
      }
      rec.refused = -1;
      session.linkDown();
      session.linkUp();
      rec.sent = [];
    }
    const present = !config.clean && rng.chance(0.6);
    encodeConnack(connack, 0, present, 0);
    const before = rec.connected;
    // The CONNACK itself in pieces sometimes.
    if (rng.chance(0.3)) {
      feed(connack.subarray(0, 1));
      feed(connack.subarray(1, 3));
      feed(connack.subarray(3));
    } else feed(connack);
    if (rec.connected !== before + 1 || session.state !== CONNECTED) {
      fail("a valid CONNACK did not connect (state " + session.state + ", failures " + rec.failed.join(",") + ")");
      return false;
    }
    if (!present) {
      incomingIds = [];
      table.clear();
    }
    if (!checkRoundTrip) return true;
    // Everything held must now go through a well-behaved broker.
    if (!settle()) {
      fail("the session failed against a well-behaved broker after recovering: " + rec.failed.map(statusText).join(", "));
      return false;
    }
    const live = session.pendingMessages();
    if (live !== 0) {
      fail(live + " messages still held after a well-behaved broker acknowledged everything");
      return false;
    }
    // A publish round trip.
    const token = newToken();
    const qos = rng.chance(0.5) ? 1 : 2;
    const status = session.publish("rt/" + qos, "r", qos, false, token);
    if (status !== 0) {
      fail("round-trip publish refused: " + statusText(status));
      return false;
    }
    if (!settle() || !token.done || token.status !== 0) {
      fail("round-trip publish at QoS " + qos + " did not complete (done " + token.done + ", status " + token.status + ")");
      return false;
    }
    // An incoming QoS 2 message: delivered once, re-sends acknowledged and not delivered again.
    if (config.clean || table.size < config.incomingQos2Slots) {
      let id = 0;
      for (let tries = 0; tries < 100 && id === 0; tries++) {
        const candidate = rng.range(1, 65535);
        if (!table.has(candidate)) id = candidate;
      }
      const out = new Out();
      out.packet({ type: PUBLISH, topic: "rt/in", payload: "q2", qos: 2, retain: false, dup: false, packetId: id });
      const first = out.bytes();
      const dup = first.slice();
      dup[0] |= 0x08;
      const delivered = rec.messages.length;
      rec.sent = [];
      feed(first);
      feed(dup);
      const acks = rec.sent.filter((p) => p.type === PUBREC && p.packetId === id).length;
      const got = rec.messages.length - delivered;
      rec.sent = [];
      sendAck(PUBREL, id);
      const comps = rec.sent.filter((p) => p.type === PUBCOMP && p.packetId === id).length;
      rec.sent = [];
      if (got !== 1 || acks !== 2 || comps !== 1 || session.state !== CONNECTED) {
        fail("incoming QoS 2 round trip: delivered " + got + ", PUBREC " + acks + ", PUBCOMP " + comps + ", state " + session.state);
        return false;
      }
    }
    report.roundTrips++;
    return true;
  };

  /** Runs the session's deadlines, noting a run while a large packet is being written. */
  const tick = () => {
    if (rec.blockedTickMs < 0 && rec.unfinished() > 0) rec.blockedTickMs = clock.t;
    session.tick();
  };

  /**
   * Checks the session's memory and tables after an input: what is sized once has kept its
   * object and length; the outbox has grown only by doubling, within `outboxBytes`, and no more
   * than its records needed; its counts agree with its records and the in-flight count; the
   * incoming QoS 2 table is the model's.
   */
  const checkFootprint = () => {
    const now = footprint(internals);
    for (let i = 0; i < print.objects.length; i++) {
      if (now.objects[i] !== print.objects[i]) fail(print.names[i] + " was replaced");
      else if (now.lengths[i] !== print.lengths[i]) fail(print.names[i] + " changed length from " + print.lengths[i] + " to " + now.lengths[i]);
    }
    const box = internals.outbox;
    // Bytes are the outbox's only limit: the pool never passes it, and the slot tables double
    // only when every slot is taken, so they stay within twice the most records those bytes hold.
    const pool = box.pool.length;
    if (box.limitBytes !== config.outboxBytes) fail("outbox limit " + box.limitBytes + " bytes, configured " + config.outboxBytes);
    if (pool > config.outboxBytes) fail("outbox pool of " + pool + " bytes over outboxBytes " + config.outboxBytes);
    if (pool < poolBytes) fail("outbox pool shrank from " + poolBytes + " to " + pool + " bytes");
    const startSlots = config.outboxSlots ? config.outboxSlots : 32;
    const maxSlots = Math.max(startSlots, 2 * Math.floor(config.outboxBytes / MIN_RECORD_BYTES));
    if (box.slots < slots || box.slots > maxSlots) fail("outbox slots went from " + slots + " to " + box.slots + " (at most " + maxSlots + " for " + config.outboxBytes + " bytes)");
    else if (box.slots !== slots && box.slots % slots !== 0) fail("outbox slots went from " + slots + " to " + box.slots + ", not by doubling");
    const tables: [string, { length: number }][] = [
      ["offset", box.offset],
      ["length", box.length],
      ["packetId", box.packetId],
      ["state", box.state],
      ["token", box.token],
    ];
    for (const [name, t] of tables) if (t.length !== box.slots) fail("outbox." + name + " has " + t.length + " entries for " + box.slots + " slots");
    poolBytes = pool;
    slots = box.slots;
    if (box.count > box.slots) fail("outbox holds " + box.count + " records in " + box.slots + " slots");
    let awaiting = 0;
    let live = 0;
    let liveBytes = 0;
    let heldBytes = 0;
    for (let k = 0; k < box.count; k++) {
      const s = box.at(k);
      const st = box.state[s];
      if (st === AWAIT_PUBACK || st === AWAIT_PUBREC || st === AWAIT_PUBCOMP) awaiting++;
      if (st !== DONE) {
        live++;
        liveBytes += box.length[s];
      }
      heldBytes += box.length[s];
      if (box.offset[s] < 0 || box.length[s] < MIN_RECORD_BYTES || box.offset[s] + box.length[s] > pool) {
        fail("outbox record " + k + " at " + box.offset[s] + ", " + box.length[s] + " bytes, outside its " + pool + "-byte pool");
      }
    }
    if (live !== box.liveCount || liveBytes !== box.liveBytes || heldBytes !== held(box)) {
      fail("outbox counts " + box.liveCount + " live, " + box.liveBytes + " live bytes, " + held(box) + " held bytes; its records: " + live + ", " + liveBytes + ", " + heldBytes);
    }
    if (heldBytes > pool) fail("outbox records hold " + heldBytes + " bytes in a pool of " + pool);
    if (awaiting !== internals.inflight) fail("in-flight count " + internals.inflight + " but " + awaiting + " records await an acknowledgement");
    if (internals.inflight > config.maxInflight) fail("in flight " + internals.inflight + " over maxInflight " + config.maxInflight);
    // The incoming QoS 2 table is the model's, within incomingQos2Slots for a persistent session.
    const n = internals.incomingCount;
    if (n !== table.size || (!config.clean && n > config.incomingQos2Slots)) {
      fail("incoming QoS 2 count " + n + "; the model holds " + table.size + " (" + config.incomingQos2Slots + " slots)");
    } else {
      for (const id of table) if ((internals.incoming[id >> 3] & (1 << (id & 7))) === 0) fail("incoming QoS 2 id " + id + " missing from the table");
    }
    // Acknowledgements wait only behind a large packet being written, and their queue grows only
    // as far as the acknowledgements owed at once.
    if (internals.big === null && internals.deferredCount !== 0) fail(internals.deferredCount + " acknowledgements deferred with no large packet being written");
    if (internals.deferred.length > Math.max(16, 2 * rec.owedMost)) fail("the deferred-ack queue grew to " + internals.deferred.length + " with at most " + rec.owedMost + " owed");
    if (internals.subTopics.length > FILTERS.length) fail("the subscription list grew to " + internals.subTopics.length);
  };

  /** Application calls between chunks. */
  const appActions = () => {
    const n = rng.below(3);
    for (let i = 0; i < n; i++) {
      const roll = rng.below(10);
      if (roll < 7) {
        const qos = rng.below(3);
        const large = rng.chance(0.12);
        // A large QoS 0 message goes out in slices; over a slow transport it is still being
        // written while broker packets arrive, whose acknowledgements (and a PINGREQ) must wait
        // for its last slice.
        if (large && qos === 0 && rng.chance(0.5)) rec.backpressure = 0.6;
        let payload: Uint8Array | string;
        if (rng.chance(0.25)) {
          // A string: a large one is sliced by characters, up to 4 UTF-8 bytes each.
          let text = "";
          const n = rng.below((large ? config.txBytes + 16 : 24) + 1);
          for (let c = 0; c < n; c++) text += rng.pick(PAYLOAD_CHARS);
          payload = text;
          rec.publishing = utf8.encode(text);
        } else {
          payload = randomPayload(rng, large ? config.txBytes + 16 : 24);
          rec.publishing = payload;
        }
        let status: number;
        try {
          status = session.publish(rng.pick(TOPICS), payload, qos, rng.chance(0.2), newToken());
        } finally {
          rec.publishing = null;
        }
        if (status !== 0 && !PUBLISH_STATUSES.has(status)) fail("publish returned " + statusText(status));
      } else if (roll < 9) {
        const k = rng.range(1, 3);
        const topics: string[] = [];
        const levels: number[] = [];
        for (let j = 0; j < k; j++) {
          topics.push(rng.pick(FILTERS));
          levels.push(rng.below(3));
        }
        const status = session.subscribe(topics, levels, newToken());
        if (status !== 0 && status !== ERR_REQUESTS_FULL && status !== ERR_TX_TOO_LARGE) fail("subscribe returned " + statusText(status));
      } else {
        const status = session.unsubscribe([rng.pick(FILTERS)], newToken());
        if (status !== 0 && status !== ERR_REQUESTS_FULL && status !== ERR_TX_TOO_LARGE) fail("unsubscribe returned " + statusText(status));
      }
    }
  };

  /** A packet id the session has in use, or a random one. */
  const someId = (): number => {
    if (rng.chance(0.6)) {
      const box = internals.outbox;
      if (box.count > 0) return box.packetId[box.at(rng.below(box.count))] || rng.range(1, 65535);
      if (rng.chance(0.5)) {
        for (let i = 0; i < internals.reqKind.length; i++) if (internals.reqKind[i] !== 0) return internals.reqId[i];
      }
    }
    if (rng.chance(0.1)) return rng.pick([1, 2, 0xffff, 0x100]);
    return rng.range(1, 65535);
  };

  /** One valid (or deliberately unexpected) broker packet. */
  const brokerPacket = (out: Out) => {
    const roll = rng.below(100);
    if (roll < 30) {
      const qos = rng.below(3);
      let id = qos > 0 ? rng.range(1, 65535) : 0;
      if (qos === 2 && incomingIds.length > 0 && rng.chance(0.3)) id = rng.pick(incomingIds);
      if (qos === 2 && incomingIds.length < 64) incomingIds.push(id);
      const big = rng.chance(0.08);
      const payload = randomPayload(rng, big ? config.rxBytes + 40 : 20);
      out.packet({ type: PUBLISH, topic: rng.pick(TOPICS), payload: payload, qos: qos, retain: rng.chance(0.2), dup: qos > 0 && rng.chance(0.2), packetId: id });
    } else if (roll < 45) out.packet({ type: PUBACK, packetId: someId() });
    else if (roll < 55) out.packet({ type: PUBREC, packetId: someId() });
    else if (roll < 63) {
      // Often an id the session acknowledged with PUBREC, as a broker releases them, so that the
      // table drains and withheld messages are asked for again (onWithheld).
      let id: number;
      if (table.size > 0 && rng.chance(0.5)) id = rng.pick([...table]);
      else id = incomingIds.length > 0 && rng.chance(0.6) ? rng.pick(incomingIds) : someId();
      out.packet({ type: PUBREL, packetId: id });
    }
    else if (roll < 71) out.packet({ type: PUBCOMP, packetId: someId() });
    else if (roll < 79) {
      const k = rng.chance(0.7) ? rng.range(1, 3) : rng.range(1, 40);
      const granted: number[] = [];
      for (let j = 0; j < k; j++) granted.push(rng.pick([0, 1, 2, 0x80]));
      out.packet({ type: SUBACK, packetId: someId(), granted: granted });
    } else if (roll < 85) out.packet({ type: UNSUBACK, packetId: someId() });
    else if (roll < 95) out.packet({ type: PINGRESP });
    else if (roll < 97) out.packet({ type: CONNACK, sessionPresent: false, returnCode: rng.below(6) });
    else {
      // Packets only a client sends.
      const which = rng.below(5);
      if (which === 0) out.packet({ type: PINGREQ });
      else if (which === 1) out.packet({ type: DISCONNECT });
      else if (which === 2) out.packet({ type: SUBSCRIBE, packetId: rng.range(1, 65535), subscriptions: [{ topic: "a/#", qos: 1 }] });
      else if (which === 3) out.packet({ type: UNSUBSCRIBE, packetId: rng.range(1, 65535), topics: ["a"] });
      else out.packet({ type: CONNECT, protocolVersion: 4, clientId: "x", clean: true, keepalive: 10 });
    }
  };

  newSession();
  for (iteration = 0; iteration < count; iteration++) {
    report.inputs++;
    input = new Uint8Array(0);
    try {
      if (iteration > 0 && iteration % 1000 === 0) newSession();
      // A corrupted length can leave kilobytes to drain, which would spend the next inputs on
      // nothing: drop the link then, as a transport closing would.
      if (stream.skip > 256) needsRecovery = true;
      if (needsRecovery || session.state !== CONNECTED) {
        const afterFailure = rec.failed.length > 0;
        needsRecovery = false;
        rec.failed = [];
        if (!recover(afterFailure || rng.chance(0.05))) {
          // Start afresh so one broken session does not fail every later input.
          newSession();
          continue;
        }
      }
      // What went wrong while recovering counts against this input.
      for (const p of rec.problems) fail("while recovering: " + p);
      rec.problems = [];
      rec.sent = [];
      const withheldCalls = rec.withheldCalls;
      rec.backpressure = rng.chance(0.2) ? 0.3 : 0;
      appActions();

      // The input: broker packets, maybe mutated, maybe random bytes.
      const out = new Out();
      const roll = rng.below(100);
      if (roll < 5) {
        out.push(rng.bytes(rng.range(1, 64)));
      } else {
        const k = rng.range(1, 8);
        for (let j = 0; j < k; j++) brokerPacket(out);
      }
      input = out.bytes();
      if (roll >= 5 && rng.chance(0.45)) input = mutate(rng, input);
      if (roll < 5 || input.length !== out.n) report.mutatedInputs++;
      else {
        // A mutation may leave the bytes as they were; count by content.
        let same = true;
        const original = out.buf;
        for (let i = 0; i < input.length && same; i++) if (input[i] !== original[i]) same = false;
        if (!same) report.mutatedInputs++;
      }
      const expectation = expect(stream, input, config.rxBytes, oracle);

      // Feed it in random chunks, with time passing and the application acting in between.
      const droppedBefore = rec.dropped;
      let off = 0;
      while (off < input.length) {
        const size = rng.chance(0.3) ? rng.range(1, 4) : rng.range(1, 96);
        const end = off + size < input.length ? off + size : input.length;
        // Sometimes through a larger buffer, at an offset, as transports hand chunks over.
        if (rng.chance(0.2)) {
          const pad = new Uint8Array(end - off + 6);
          pad.set(input.subarray(off, end), 3);
          session.receive(pad, 3, 3 + end - off);
        } else session.receive(input.subarray(off, end), 0, end - off);
        report.bytesFed += end - off;
        off = end;
        if (rng.chance(0.25)) {
          clock.t += rng.chance(0.03) ? rng.range(1000, 40000) : rng.below(300);
          tick();
        }
        if (!rec.writable && rng.chance(0.5)) {
          rec.writable = true;
          session.drained();
        }
        if (rng.chance(0.1) && session.state === CONNECTED) appActions();
      }
      if (rec.unfinished() > 0 && rng.chance(0.5)) {
        // Keepalive comes due while a large packet is still being written: its PINGREQ waits.
        clock.t += rng.range(1000, 30000);
        tick();
      } else if (rng.chance(0.2)) {
        clock.t += rng.below(2000);
        tick();
      }
      report.packetsFed += expectation.packets;

      // Judge the outcome.
      for (const p of rec.problems) fail(p);
      rec.problems = [];
      if (session.state === CONNECTED && internals.big === null) {
        // Nothing is left half written or owed once no large packet is being written.
        if (rec.unfinished() > 0) fail("a packet was left unfinished, " + rec.unfinished() + " bytes short");
        const owed = rec.owed();
        if (owed.length > 0) fail("acknowledgements owed and not sent: " + owed.map((v) => "type " + (v >>> 16) + " id " + (v & 0xffff)).join(", "));
      }
      // onWithheld asks for a new connection, which brings the withheld messages again.
      if (rec.withheldCalls !== withheldCalls) needsRecovery = true;
      const failedWith = rec.failed.length > 0 ? rec.failed[0] : 0;
      if (rec.failed.length > 1) fail("onFailed called " + rec.failed.length + " times for one link: " + rec.failed.map(statusText).join(", "));
      if (failedWith === ERR_PING_TIMEOUT) {
        const sent = rec.pingDueMs >= 0 && clock.t - rec.pingDueMs >= config.pingTimeoutMs;
        const held = rec.blockedTickMs >= 0 && clock.t - rec.blockedTickMs >= config.pingTimeoutMs;
        if (!sent && !held) {
          fail(
            "ping timeout at " + clock.t + " ms with the last PINGREQ due at " + rec.pingDueMs + " ms" +
              (rec.blockedTickMs >= 0 ? " and one perhaps held behind a large packet since " + rec.blockedTickMs + " ms" : "") + " (timeout " + config.pingTimeoutMs + " ms)",
          );
        }
      } else if (failedWith !== 0) {
        if (!PROTOCOL_STATUSES.has(failedWith)) fail("onFailed with a status that is not a protocol error: " + statusText(failedWith));
        const explained =
          failedWith === expectation.definite ||
          (failedWith === ERR_MALFORMED && expectation.maySubackMismatch);
        if (!explained) {
          fail(
            "failed with " + statusText(failedWith) + " but the input " +
              (expectation.definite ? "first breaks with " + statusText(expectation.definite) : "is well-formed") +
              (expectation.maySubackMismatch ? " (has a SUBACK)" : ""),
          );
        }
        if (session.state !== LINK_DOWN) fail("onFailed but the session is in state " + session.state);
      } else {
        if (expectation.definite !== 0) fail("took an input that breaks with " + statusText(expectation.definite) + " without failing");
        if (rec.dropped - droppedBefore !== expectation.drops) {
          fail("dropped " + (rec.dropped - droppedBefore) + " packets; the input has " + expectation.drops + " too large");
        }
      }
      if (failedWith !== 0) {
        report.failingInputs++;
        const name = statusText(failedWith);
        report.failStatuses[name] = (report.failStatuses[name] || 0) + 1;
        needsRecovery = true;
      } else report.passingInputs++;
      checkFootprint();
      // A session that failed is down: input must be ignored until linkUp.
      if (failedWith !== 0) {
        const sentBefore = rec.sent.length;
        session.receive(input, 0, input.length);
        if (session.tick() !== -1) fail("a session whose link is down still has deadlines");
        if (rec.sent.length !== sentBefore || rec.failed.length !== 1) fail("a session whose link is down reacted to input");
      }
      for (const p of rec.problems) fail(p);
      rec.problems = [];
    } catch (e) {
      fail("threw: " + (e instanceof Error ? String(e.stack || e.message).split("\n").slice(0, 4).join(" | ") : String(e)));
      newSession();
    }
  }
  tally();
  return report;
}

/** One paragraph of figures. */
export function summarizeSessionFuzz(r: SessionFuzzReport): string {
  const statuses = Object.keys(r.failStatuses)
    .sort((a, b) => r.failStatuses[b] - r.failStatuses[a])
    .map((k) => k + " " + r.failStatuses[k])
    .join(", ");
  return (
    "session fuzz, seed " + r.seed + ": " + r.inputs + " inputs (" + r.mutatedInputs + " mutated or random), " + r.sessions + " sessions; " +
    r.passingInputs + " taken, " + r.failingInputs + " ended the link (" + statuses + "); " +
    r.packetsFed + " well-formed packets before any failure point, " + r.bytesFed + " bytes, " + r.messagesDelivered + " messages delivered, " +
    r.tokensDone + " requests completed, " + r.packetsDropped + " oversized packets dropped, " + r.pingsSent + " PINGREQs, " +
    r.slicedPackets + " packets written in slices, " + r.withheldMessages + " QoS 2 messages withheld, " + r.withheldCalls + " onWithheld; " +
    r.recoveries + " recoveries, " + r.roundTrips + " round trips checked, " + r.refusals + " refusals; " +
    r.failures + " failures"
  );
}

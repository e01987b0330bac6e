/**
 * Status codes shared by every layer of the core.
 *
 * Wire input never throws: decoders and encoders return a non-negative result (a length or an
 * offset) on success and one of these negative codes on failure. Each failure has its own code so
 * a caller, a test or a log line can tell exactly which rule was broken.
 */

/** The bytes so far are a valid prefix of a packet; more are needed. Not an error. */
export const NEED_MORE = -1;
/** The destination buffer has no room for the whole packet. Nothing was written. */
export const ERR_BUFFER_TOO_SMALL = -2;
/** Remaining length over 268,435,455, longer than 4 bytes, or not minimally encoded. */
export const ERR_REMAINING_LENGTH = -3;
/** Packet type 0 or 15, or a type this side of the connection never receives. */
export const ERR_PACKET_TYPE = -4;
/** Reserved bits of the fixed header or of a flags byte are not as the spec requires. */
export const ERR_FLAGS = -5;
/** A QoS of 3 (or any value other than 0, 1 and 2). */
export const ERR_QOS = -6;
/** Packet identifier 0, or one over 65,535, where an identifier is required. */
export const ERR_PACKET_ID = -7;
/** Ill-formed UTF-8, a lone surrogate, or U+0000 in a string. */
export const ERR_UTF8 = -8;
/** A topic name that is empty or contains a wildcard. */
export const ERR_TOPIC = -9;
/** A topic filter with a misplaced `#` or `+`, or an empty one. */
export const ERR_FILTER = -10;
/** A string or binary field over 65,535 bytes. */
export const ERR_FIELD_TOO_LONG = -11;
/** Lengths inside the packet disagree with its remaining length. */
export const ERR_MALFORMED = -12;
/** CONNECT protocol name or level not "MQIsdp"/3 or "MQTT"/4. */
export const ERR_PROTOCOL = -13;
/** A client identifier the protocol forbids (empty without clean session; over 23 bytes in 3.1). */
export const ERR_CLIENT_ID = -14;
/** A SUBSCRIBE, UNSUBSCRIBE or SUBACK without a single entry. */
export const ERR_EMPTY = -15;
/** A SUBACK return code other than 0, 1, 2 and 0x80. */
export const ERR_RETURN_CODE = -16;
/** A packet larger than the receive buffer: it was drained, not buffered. */
export const ERR_PACKET_TOO_LARGE = -17;
/** A keepalive outside 0..65,535 seconds. */
export const ERR_KEEPALIVE = -18;
/** A password without a user name [MQTT-3.1.2-22]. */
export const ERR_PASSWORD = -19;

// Session and client failures.

/** No CONNACK within the connect timeout. */
export const ERR_CONNECT_TIMEOUT = -20;
/** No PINGRESP within the ping timeout: the link is silent or half-open. */
export const ERR_PING_TIMEOUT = -21;
/** The broker sent a packet that is not allowed at this point (or at all, to a client). */
export const ERR_UNEXPECTED_PACKET = -22;
/** The outbox has no free slot or no room for this message. */
export const ERR_OUTBOX_FULL = -23;
/** The packet is larger than the transmit buffer. */
export const ERR_TX_TOO_LARGE = -24;
/** Too many SUBSCRIBE/UNSUBSCRIBE requests await their acknowledgement. */
export const ERR_REQUESTS_FULL = -25;
/** The table of incoming QoS 2 messages awaiting PUBREL is full. */
export const ERR_INCOMING_FULL = -26;
/** The client was ended before this request completed. */
export const ERR_ENDED = -27;
/** The broker refused the connection (see the CONNACK return code). */
export const ERR_REFUSED = -28;
/** The broker refused a subscription (SUBACK 0x80). */
export const ERR_SUBSCRIBE_REFUSED = -29;
/** The transport closed or could not open. */
export const ERR_CONNECTION_LOST = -30;
/** A QoS 0 message was dropped: the client was not connected (QoS 0-only client). */
export const ERR_NOT_CONNECTED = -31;
/** A QoS 0 message was dropped: the transport is still sending earlier bytes (QoS 0-only client). */
export const ERR_BUSY = -32;
/** A queued message was dropped from a full outbox to make room for a newer one (overflow "drop-oldest"). */
export const ERR_DROPPED = -33;
/** The broker closed an accepted connection within the stable period: another client with this id? */
export const ERR_EARLY_CLOSE = -34;

const NAMES: string[] = [
  "ok",
  "need more bytes",
  "buffer too small",
  "bad remaining length",
  "bad packet type",
  "reserved flags set",
  "bad QoS",
  "bad packet identifier",
  "invalid UTF-8",
  "invalid topic name",
  "invalid topic filter",
  "field longer than 65535 bytes",
  "malformed packet",
  "unsupported protocol",
  "invalid client identifier",
  "no topic given",
  "bad SUBACK return code",
  "packet larger than the receive buffer",
  "keepalive out of range",
  "password without user name",
  "no CONNACK within the connect timeout",
  "no PINGRESP within the ping timeout",
  "unexpected packet from the broker",
  "outbox full",
  "packet larger than the transmit buffer",
  "too many requests awaiting acknowledgement",
  "too many incoming QoS 2 messages awaiting PUBREL",
  "client ended",
  "connection refused",
  "subscription refused",
  "connection lost",
  "not connected",
  "transport busy: wait for drain",
  "dropped from a full outbox to make room for a newer message",
  "closed soon after connecting: another client with this id?",
];

/** A short English description of a status code, for errors and logs. */
export function statusText(status: number): string {
  const i = status < 0 ? -status : 0;
  return i < NAMES.length ? NAMES[i] : "status " + status;
}

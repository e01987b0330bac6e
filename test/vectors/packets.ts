/**
 * Annotated byte vectors for every MQTT 3.1 / 3.1.1 packet, written by hand from the
 * MQTT 3.1.1 specification (OASIS, section 2 and 3) and the MQTT 3.1 protocol document.
 * One field per line. The same table drives the encode, decode, round-trip, truncation and
 * receiver tests, and can seed a fuzzer.
 *
 * Remaining-length arithmetic is written out in each header comment so a reader can check it.
 */
import {
  ERR_EMPTY,
  ERR_FILTER,
  ERR_FLAGS,
  ERR_MALFORMED,
  ERR_PACKET_ID,
  ERR_PACKET_TYPE,
  ERR_PASSWORD,
  ERR_PROTOCOL,
  ERR_QOS,
  ERR_REMAINING_LENGTH,
  ERR_RETURN_CODE,
  ERR_TOPIC,
  ERR_UTF8,
} from "../../src/status.ts";
import {
  CONNACK,
  CONNECT,
  DISCONNECT,
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
  type Packet,
} from "../../src/packet/types.ts";

export interface PacketVector {
  name: string;
  /** The plain-object form, as in src/packet/types.ts. */
  packet: Packet;
  /** The whole packet on the wire, fixed header included. */
  bytes: number[];
}

export interface InvalidVector {
  name: string;
  bytes: number[];
  /** The exact status decodePacket must return. */
  status: number;
}

/** `count` copies of `byte`, for payloads too long to spell out. */
export function repeatByte(byte: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(byte);
  return out;
}

function filled(byte: number, count: number): Uint8Array {
  return new Uint8Array(count).fill(byte);
}

export const validVectors: PacketVector[] = [
  // ----------------------------------------------------------------------------------------
  // CONNECT (3.1.2): protocol name, level, flags, keepalive; then client id, will, user, pass.
  // Connect flags: 0x80 user name, 0x40 password, 0x20 will retain, 0x18 will QoS,
  // 0x04 will flag, 0x02 clean session, 0x01 reserved.
  {
    name: "CONNECT 3.1.1, clean session, keepalive 60, client id \"abc\"",
    packet: { type: CONNECT, protocolVersion: 4, clientId: "abc", clean: true, keepalive: 60 },
    bytes: [
      0x10, 0x0f,                         // CONNECT; remaining length 15 = 6 + 1 + 1 + 2 + 5
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4 (3.1.1)
      0x02,                               // flags: clean session
      0x00, 0x3c,                         // keepalive 60 s
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
    ],
  },
  {
    name: "CONNECT 3.1 (\"MQIsdp\", level 3), clean session, keepalive 60",
    packet: { type: CONNECT, protocolVersion: 3, clientId: "abc", clean: true, keepalive: 60 },
    bytes: [
      0x10, 0x11,                                     // CONNECT; remaining length 17 = 8 + 1 + 1 + 2 + 5
      0x00, 0x06, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70, // protocol name "MQIsdp"
      0x03,                                           // protocol level 3 (3.1)
      0x02,                                           // flags: clean session
      0x00, 0x3c,                                     // keepalive 60 s
      0x00, 0x03, 0x61, 0x62, 0x63,                   // client id "abc"
    ],
  },
  {
    name: "CONNECT 3.1.1, clean session off",
    packet: { type: CONNECT, protocolVersion: 4, clientId: "abc", clean: false, keepalive: 60 },
    bytes: [
      0x10, 0x0f,                         // CONNECT; remaining length 15
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0x00,                               // flags: none (session kept)
      0x00, 0x3c,                         // keepalive 60 s
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
    ],
  },
  {
    name: "CONNECT 3.1.1, keepalive 0 (off)",
    packet: { type: CONNECT, protocolVersion: 4, clientId: "abc", clean: true, keepalive: 0 },
    bytes: [
      0x10, 0x0f,                         // CONNECT; remaining length 15
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0x02,                               // flags: clean session
      0x00, 0x00,                         // keepalive 0: off
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
    ],
  },
  {
    name: "CONNECT 3.1.1, keepalive 65535",
    packet: { type: CONNECT, protocolVersion: 4, clientId: "abc", clean: true, keepalive: 65535 },
    bytes: [
      0x10, 0x0f,                         // CONNECT; remaining length 15
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0x02,                               // flags: clean session
      0xff, 0xff,                         // keepalive 65535 s
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
    ],
  },
  {
    name: "CONNECT 3.1.1, empty client id with clean session [MQTT-3.1.3-6]",
    packet: { type: CONNECT, protocolVersion: 4, clientId: "", clean: true, keepalive: 60 },
    bytes: [
      0x10, 0x0c,                         // CONNECT; remaining length 12 = 10 + 2
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0x02,                               // flags: clean session
      0x00, 0x3c,                         // keepalive 60 s
      0x00, 0x00,                         // client id "" (server assigns one)
    ],
  },
  {
    name: "CONNECT 3.1.1, UTF-8 client id and user name",
    packet: { type: CONNECT, protocolVersion: 4, clientId: "é", clean: true, keepalive: 60, username: "ü" },
    bytes: [
      0x10, 0x12,                         // CONNECT; remaining length 18 = 10 + 4 + 4
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0x82,                               // flags: user name, clean session
      0x00, 0x3c,                         // keepalive 60 s
      0x00, 0x02, 0xc3, 0xa9,             // client id "é" (U+00E9)
      0x00, 0x02, 0xc3, 0xbc,             // user name "ü" (U+00FC)
    ],
  },
  {
    name: "CONNECT 3.1.1, will QoS 0, string will payload",
    packet: {
      type: CONNECT, protocolVersion: 4, clientId: "abc", clean: true, keepalive: 60,
      will: { topic: "w", payload: "bye", qos: 0, retain: false },
    },
    bytes: [
      0x10, 0x17,                         // CONNECT; remaining length 23 = 15 + 3 + 5
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0x06,                               // flags: will (QoS 0), clean session
      0x00, 0x3c,                         // keepalive 60 s
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
      0x00, 0x01, 0x77,                   // will topic "w"
      0x00, 0x03, 0x62, 0x79, 0x65,       // will payload "bye"
    ],
  },
  {
    name: "CONNECT 3.1.1, will QoS 1, binary will payload holding 0x00",
    packet: {
      type: CONNECT, protocolVersion: 4, clientId: "abc", clean: true, keepalive: 60,
      will: { topic: "a/w", payload: new Uint8Array([0x00, 0x01]), qos: 1, retain: false },
    },
    bytes: [
      0x10, 0x18,                         // CONNECT; remaining length 24 = 15 + 5 + 4
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0x0e,                               // flags: will QoS 1 (0x08), will, clean session
      0x00, 0x3c,                         // keepalive 60 s
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
      0x00, 0x03, 0x61, 0x2f, 0x77,       // will topic "a/w"
      0x00, 0x02, 0x00, 0x01,             // will payload 00 01
    ],
  },
  {
    name: "CONNECT 3.1.1, will QoS 2, empty will payload",
    packet: {
      type: CONNECT, protocolVersion: 4, clientId: "abc", clean: true, keepalive: 60,
      will: { topic: "w", payload: new Uint8Array(0), qos: 2, retain: false },
    },
    bytes: [
      0x10, 0x14,                         // CONNECT; remaining length 20 = 15 + 3 + 2
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0x16,                               // flags: will QoS 2 (0x10), will, clean session
      0x00, 0x3c,                         // keepalive 60 s
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
      0x00, 0x01, 0x77,                   // will topic "w"
      0x00, 0x00,                         // will payload: empty
    ],
  },
  {
    name: "CONNECT 3.1.1, will retain with QoS 1",
    packet: {
      type: CONNECT, protocolVersion: 4, clientId: "abc", clean: true, keepalive: 60,
      will: { topic: "w", payload: "x", qos: 1, retain: true },
    },
    bytes: [
      0x10, 0x15,                         // CONNECT; remaining length 21 = 15 + 3 + 3
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0x2e,                               // flags: will retain, will QoS 1, will, clean session
      0x00, 0x3c,                         // keepalive 60 s
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
      0x00, 0x01, 0x77,                   // will topic "w"
      0x00, 0x01, 0x78,                   // will payload "x"
    ],
  },
  {
    name: "CONNECT 3.1.1, will retain with QoS 0",
    packet: {
      type: CONNECT, protocolVersion: 4, clientId: "abc", clean: true, keepalive: 60,
      will: { topic: "w", payload: "x", qos: 0, retain: true },
    },
    bytes: [
      0x10, 0x15,                         // CONNECT; remaining length 21 = 15 + 3 + 3
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0x26,                               // flags: will retain, will (QoS 0), clean session
      0x00, 0x3c,                         // keepalive 60 s
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
      0x00, 0x01, 0x77,                   // will topic "w"
      0x00, 0x01, 0x78,                   // will payload "x"
    ],
  },
  {
    name: "CONNECT 3.1.1, user name only",
    packet: { type: CONNECT, protocolVersion: 4, clientId: "abc", clean: true, keepalive: 60, username: "u" },
    bytes: [
      0x10, 0x12,                         // CONNECT; remaining length 18 = 15 + 3
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0x82,                               // flags: user name, clean session
      0x00, 0x3c,                         // keepalive 60 s
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
      0x00, 0x01, 0x75,                   // user name "u"
    ],
  },
  {
    name: "CONNECT 3.1.1, user name and string password",
    packet: {
      type: CONNECT, protocolVersion: 4, clientId: "abc", clean: true, keepalive: 60,
      username: "user", password: "pass",
    },
    bytes: [
      0x10, 0x1b,                         // CONNECT; remaining length 27 = 15 + 6 + 6
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0xc2,                               // flags: user name, password, clean session
      0x00, 0x3c,                         // keepalive 60 s
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
      0x00, 0x04, 0x75, 0x73, 0x65, 0x72, // user name "user"
      0x00, 0x04, 0x70, 0x61, 0x73, 0x73, // password "pass"
    ],
  },
  {
    name: "CONNECT 3.1.1, user name and binary password",
    packet: {
      type: CONNECT, protocolVersion: 4, clientId: "abc", clean: true, keepalive: 60,
      username: "u", password: new Uint8Array([0x00, 0xff, 0x80, 0x7f]),
    },
    bytes: [
      0x10, 0x18,                         // CONNECT; remaining length 24 = 15 + 3 + 6
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
      0x04,                               // protocol level 4
      0xc2,                               // flags: user name, password, clean session
      0x00, 0x3c,                         // keepalive 60 s
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
      0x00, 0x01, 0x75,                   // user name "u"
      0x00, 0x04, 0x00, 0xff, 0x80, 0x7f, // password: binary, not UTF-8
    ],
  },
  {
    name: "CONNECT 3.1, session kept, will QoS 2 retained, user name and password",
    packet: {
      type: CONNECT, protocolVersion: 3, clientId: "abc", clean: false, keepalive: 10,
      will: { topic: "w/t", payload: "", qos: 2, retain: true },
      username: "u", password: "p",
    },
    bytes: [
      0x10, 0x1e,                                     // CONNECT; remaining length 30 = 12 + 5 + 5 + 2 + 3 + 3
      0x00, 0x06, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70, // protocol name "MQIsdp"
      0x03,                                           // protocol level 3
      0xf4,                                           // flags: user, password, will retain, will QoS 2, will
      0x00, 0x0a,                                     // keepalive 10 s
      0x00, 0x03, 0x61, 0x62, 0x63,                   // client id "abc"
      0x00, 0x03, 0x77, 0x2f, 0x74,                   // will topic "w/t"
      0x00, 0x00,                                     // will payload: empty
      0x00, 0x01, 0x75,                               // user name "u"
      0x00, 0x01, 0x70,                               // password "p"
    ],
  },

  // ----------------------------------------------------------------------------------------
  // CONNACK (3.2): acknowledge flags (bit 0 session present), return code.
  {
    name: "CONNACK accepted",
    packet: { type: CONNACK, sessionPresent: false, returnCode: 0 },
    bytes: [
      0x20, 0x02, // CONNACK; remaining length 2
      0x00,       // flags: no session present
      0x00,       // return code 0: accepted
    ],
  },
  {
    name: "CONNACK accepted, session present",
    packet: { type: CONNACK, sessionPresent: true, returnCode: 0 },
    bytes: [
      0x20, 0x02, // CONNACK; remaining length 2
      0x01,       // flags: session present
      0x00,       // return code 0: accepted
    ],
  },
  {
    name: "CONNACK refused: unacceptable protocol version",
    packet: { type: CONNACK, sessionPresent: false, returnCode: 1 },
    bytes: [
      0x20, 0x02, // CONNACK; remaining length 2
      0x00,       // flags: none [MQTT-3.2.2-4]
      0x01,       // return code 1: unacceptable protocol version
    ],
  },
  {
    name: "CONNACK refused: identifier rejected",
    packet: { type: CONNACK, sessionPresent: false, returnCode: 2 },
    bytes: [
      0x20, 0x02, // CONNACK; remaining length 2
      0x00,       // flags: none
      0x02,       // return code 2: identifier rejected
    ],
  },
  {
    name: "CONNACK refused: server unavailable",
    packet: { type: CONNACK, sessionPresent: false, returnCode: 3 },
    bytes: [
      0x20, 0x02, // CONNACK; remaining length 2
      0x00,       // flags: none
      0x03,       // return code 3: server unavailable
    ],
  },
  {
    name: "CONNACK refused: bad user name or password",
    packet: { type: CONNACK, sessionPresent: false, returnCode: 4 },
    bytes: [
      0x20, 0x02, // CONNACK; remaining length 2
      0x00,       // flags: none
      0x04,       // return code 4: bad user name or password
    ],
  },
  {
    name: "CONNACK refused: not authorized",
    packet: { type: CONNACK, sessionPresent: false, returnCode: 5 },
    bytes: [
      0x20, 0x02, // CONNACK; remaining length 2
      0x00,       // flags: none
      0x05,       // return code 5: not authorized
    ],
  },

  // ----------------------------------------------------------------------------------------
  // PUBLISH (3.3): first byte 0011 DUP QoS QoS RETAIN; topic; packet id if QoS > 0; payload.
  {
    name: "PUBLISH QoS 0, string payload",
    packet: { type: PUBLISH, topic: "a/b", payload: "hi", qos: 0, retain: false, dup: false, packetId: 0 },
    bytes: [
      0x30, 0x07,                   // PUBLISH, QoS 0; remaining length 7 = 5 + 2
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic "a/b"
      0x68, 0x69,                   // payload "hi" (no packet id at QoS 0)
    ],
  },
  {
    name: "PUBLISH QoS 1, binary payload",
    packet: {
      type: PUBLISH, topic: "a/b", payload: new Uint8Array([1, 2, 3]), qos: 1, retain: false, dup: false,
      packetId: 10,
    },
    bytes: [
      0x32, 0x0a,                   // PUBLISH, QoS 1; remaining length 10 = 5 + 2 + 3
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic "a/b"
      0x00, 0x0a,                   // packet id 10
      0x01, 0x02, 0x03,             // payload
    ],
  },
  {
    name: "PUBLISH QoS 2, packet id 65535",
    packet: { type: PUBLISH, topic: "a/b", payload: "x", qos: 2, retain: false, dup: false, packetId: 65535 },
    bytes: [
      0x34, 0x08,                   // PUBLISH, QoS 2; remaining length 8 = 5 + 2 + 1
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic "a/b"
      0xff, 0xff,                   // packet id 65535
      0x78,                         // payload "x"
    ],
  },
  {
    name: "PUBLISH QoS 1 with DUP",
    packet: { type: PUBLISH, topic: "a/b", payload: "x", qos: 1, retain: false, dup: true, packetId: 1 },
    bytes: [
      0x3a, 0x08,                   // PUBLISH, DUP, QoS 1; remaining length 8
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic "a/b"
      0x00, 0x01,                   // packet id 1
      0x78,                         // payload "x"
    ],
  },
  {
    name: "PUBLISH QoS 2 with DUP and RETAIN",
    packet: { type: PUBLISH, topic: "a/b", payload: "x", qos: 2, retain: true, dup: true, packetId: 0x0102 },
    bytes: [
      0x3d, 0x08,                   // PUBLISH, DUP, QoS 2, RETAIN; remaining length 8
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic "a/b"
      0x01, 0x02,                   // packet id 258
      0x78,                         // payload "x"
    ],
  },
  {
    name: "PUBLISH QoS 0 with RETAIN",
    packet: { type: PUBLISH, topic: "a/b", payload: "x", qos: 0, retain: true, dup: false, packetId: 0 },
    bytes: [
      0x31, 0x06,                   // PUBLISH, QoS 0, RETAIN; remaining length 6 = 5 + 1
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic "a/b"
      0x78,                         // payload "x"
    ],
  },
  {
    name: "PUBLISH QoS 0, empty payload",
    packet: { type: PUBLISH, topic: "a/b", payload: new Uint8Array(0), qos: 0, retain: false, dup: false, packetId: 0 },
    bytes: [
      0x30, 0x05,                   // PUBLISH, QoS 0; remaining length 5
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic "a/b"; no payload
    ],
  },
  {
    name: "PUBLISH QoS 1 RETAIN, empty string payload (clears a retained message)",
    packet: { type: PUBLISH, topic: "a/b", payload: "", qos: 1, retain: true, dup: false, packetId: 5 },
    bytes: [
      0x33, 0x07,                   // PUBLISH, QoS 1, RETAIN; remaining length 7 = 5 + 2
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic "a/b"
      0x00, 0x05,                   // packet id 5; no payload
    ],
  },
  {
    name: "PUBLISH with multi-byte UTF-8 topic and payload",
    packet: { type: PUBLISH, topic: "é/€/😀", payload: "ü", qos: 0, retain: false, dup: false, packetId: 0 },
    bytes: [
      0x30, 0x0f,             // PUBLISH, QoS 0; remaining length 15 = 2 + 11 + 2
      0x00, 0x0b,             // topic length 11 bytes (6 UTF-16 code units)
      0xc3, 0xa9,             //   "é"  U+00E9
      0x2f,                   //   "/"
      0xe2, 0x82, 0xac,       //   "€"  U+20AC
      0x2f,                   //   "/"
      0xf0, 0x9f, 0x98, 0x80, //   "😀" U+1F600 (a surrogate pair in JS)
      0xc3, 0xbc,             // payload "ü" U+00FC
    ],
  },
  {
    name: "PUBLISH topic of UTF-8 boundary code points",
    packet: {
      type: PUBLISH, topic: "\u00a0\u07ff\u0800\ud7ff\ue000\ufffd\u{10000}\u{10fffd}", payload: "",
      qos: 0, retain: false, dup: false, packetId: 0,
    },
    bytes: [
      0x30, 0x1a,             // PUBLISH, QoS 0; remaining length 26 = 2 + 24
      0x00, 0x18,             // topic length 24
      0xc2, 0xa0,             //   U+00A0   first two-byte code point past the C1 controls
      0xdf, 0xbf,             //   U+07FF   last two-byte
      0xe0, 0xa0, 0x80,       //   U+0800   first three-byte (0xe0 needs a second byte >= 0xa0)
      0xed, 0x9f, 0xbf,       //   U+D7FF   last before the surrogates (0xed needs <= 0x9f)
      0xee, 0x80, 0x80,       //   U+E000   first after the surrogates
      0xef, 0xbf, 0xbd,       //   U+FFFD   replacement character
      0xf0, 0x90, 0x80, 0x80, //   U+10000  first four-byte (0xf0 needs >= 0x90)
      0xf4, 0x8f, 0xbf, 0xbd, //   U+10FFFD near the top (0xf4 needs <= 0x8f)
    ],                        // no payload
  },
  {
    name: "PUBLISH string payload holding U+0000 (allowed in payloads)",
    packet: { type: PUBLISH, topic: "t", payload: "a\u0000b", qos: 0, retain: false, dup: false, packetId: 0 },
    bytes: [
      0x30, 0x06,       // PUBLISH, QoS 0; remaining length 6 = 3 + 3
      0x00, 0x01, 0x74, // topic "t"
      0x61, 0x00, 0x62, // payload "a", NUL, "b"
    ],
  },
  {
    name: "PUBLISH remaining length 127 (largest one-byte length)",
    packet: { type: PUBLISH, topic: "t", payload: filled(0x78, 124), qos: 0, retain: false, dup: false, packetId: 0 },
    bytes: [
      0x30, 0x7f,             // PUBLISH, QoS 0; remaining length 127 = 3 + 124
      0x00, 0x01, 0x74,       // topic "t"
      ...repeatByte(0x78, 124), // payload: 124 x "x"
    ],
  },
  {
    name: "PUBLISH remaining length 128 (smallest two-byte length)",
    packet: { type: PUBLISH, topic: "t", payload: filled(0x78, 125), qos: 0, retain: false, dup: false, packetId: 0 },
    bytes: [
      0x30, 0x80, 0x01,       // PUBLISH, QoS 0; remaining length 128 = 0 + 1 * 128
      0x00, 0x01, 0x74,       // topic "t"
      ...repeatByte(0x78, 125), // payload: 125 x "x"
    ],
  },
  {
    name: "PUBLISH QoS 1, remaining length 200",
    packet: { type: PUBLISH, topic: "t", payload: filled(0x79, 195), qos: 1, retain: false, dup: false, packetId: 7 },
    bytes: [
      0x32, 0xc8, 0x01,       // PUBLISH, QoS 1; remaining length 200 = 72 + 1 * 128 (0xc8 = 0x80 | 72)
      0x00, 0x01, 0x74,       // topic "t"
      0x00, 0x07,             // packet id 7
      ...repeatByte(0x79, 195), // payload: 195 x "y"
    ],
  },
  {
    name: "PUBLISH remaining length 16383 (largest two-byte length)",
    packet: { type: PUBLISH, topic: "t", payload: filled(0x78, 16380), qos: 0, retain: false, dup: false, packetId: 0 },
    bytes: [
      0x30, 0xff, 0x7f,         // PUBLISH, QoS 0; remaining length 16383 = 127 + 127 * 128
      0x00, 0x01, 0x74,         // topic "t"
      ...repeatByte(0x78, 16380), // payload: 16380 x "x"
    ],
  },
  {
    name: "PUBLISH remaining length 16384 (smallest three-byte length)",
    packet: { type: PUBLISH, topic: "t", payload: filled(0x78, 16381), qos: 0, retain: false, dup: false, packetId: 0 },
    bytes: [
      0x30, 0x80, 0x80, 0x01,   // PUBLISH, QoS 0; remaining length 16384 = 0 + 0 * 128 + 1 * 16384
      0x00, 0x01, 0x74,         // topic "t"
      ...repeatByte(0x78, 16381), // payload: 16381 x "x"
    ],
  },

  // ----------------------------------------------------------------------------------------
  // PUBACK, PUBREC, PUBREL, PUBCOMP (3.4 - 3.7): packet id only. PUBREL flags 0010 [MQTT-3.6.1-1].
  {
    name: "PUBACK",
    packet: { type: PUBACK, packetId: 1 },
    bytes: [
      0x40, 0x02, // PUBACK; remaining length 2
      0x00, 0x01, // packet id 1
    ],
  },
  {
    name: "PUBREC",
    packet: { type: PUBREC, packetId: 0x1234 },
    bytes: [
      0x50, 0x02, // PUBREC; remaining length 2
      0x12, 0x34, // packet id 4660
    ],
  },
  {
    name: "PUBREL (flags 0010)",
    packet: { type: PUBREL, packetId: 65535 },
    bytes: [
      0x62, 0x02, // PUBREL, reserved flags 0010; remaining length 2
      0xff, 0xff, // packet id 65535
    ],
  },
  {
    name: "PUBCOMP",
    packet: { type: PUBCOMP, packetId: 256 },
    bytes: [
      0x70, 0x02, // PUBCOMP; remaining length 2
      0x01, 0x00, // packet id 256
    ],
  },

  // ----------------------------------------------------------------------------------------
  // SUBSCRIBE (3.8): flags 0010; packet id; then (filter, requested QoS) pairs.
  {
    name: "SUBSCRIBE one filter",
    packet: { type: SUBSCRIBE, packetId: 1, subscriptions: [{ topic: "a/b", qos: 1 }] },
    bytes: [
      0x82, 0x08,                   // SUBSCRIBE, flags 0010; remaining length 8 = 2 + 5 + 1
      0x00, 0x01,                   // packet id 1
      0x00, 0x03, 0x61, 0x2f, 0x62, // filter "a/b"
      0x01,                         // requested QoS 1
    ],
  },
  {
    name: "SUBSCRIBE many filters with wildcards",
    packet: {
      type: SUBSCRIBE,
      packetId: 0x0a0b,
      subscriptions: [
        { topic: "a/+", qos: 0 },
        { topic: "#", qos: 1 },
        { topic: "+/x/#", qos: 2 },
        { topic: "+", qos: 0 },
        { topic: "€/#", qos: 1 },
        { topic: "$SYS/#", qos: 2 },
      ],
    },
    bytes: [
      0x82, 0x29,                               // SUBSCRIBE; remaining length 41 = 2 + 6 + 4 + 8 + 4 + 8 + 9
      0x0a, 0x0b,                               // packet id 2571
      0x00, 0x03, 0x61, 0x2f, 0x2b,             // filter "a/+"
      0x00,                                     //   QoS 0
      0x00, 0x01, 0x23,                         // filter "#"
      0x01,                                     //   QoS 1
      0x00, 0x05, 0x2b, 0x2f, 0x78, 0x2f, 0x23, // filter "+/x/#"
      0x02,                                     //   QoS 2
      0x00, 0x01, 0x2b,                         // filter "+"
      0x00,                                     //   QoS 0
      0x00, 0x05, 0xe2, 0x82, 0xac, 0x2f, 0x23, // filter "€/#"
      0x01,                                     //   QoS 1
      0x00, 0x06, 0x24, 0x53, 0x59, 0x53, 0x2f, 0x23, // filter "$SYS/#"
      0x02,                                     //   QoS 2
    ],
  },

  // ----------------------------------------------------------------------------------------
  // SUBACK (3.9): packet id; one return code per filter (0, 1, 2 or 0x80).
  {
    name: "SUBACK one granted QoS 0",
    packet: { type: SUBACK, packetId: 1, granted: [0] },
    bytes: [
      0x90, 0x03, // SUBACK; remaining length 3
      0x00, 0x01, // packet id 1
      0x00,       // granted QoS 0
    ],
  },
  {
    name: "SUBACK one failure 0x80",
    packet: { type: SUBACK, packetId: 3, granted: [0x80] },
    bytes: [
      0x90, 0x03, // SUBACK; remaining length 3
      0x00, 0x03, // packet id 3
      0x80,       // failure
    ],
  },
  {
    name: "SUBACK granted 0, 1, 2 and failure",
    packet: { type: SUBACK, packetId: 2, granted: [0, 1, 2, 0x80] },
    bytes: [
      0x90, 0x06,             // SUBACK; remaining length 6 = 2 + 4
      0x00, 0x02,             // packet id 2
      0x00, 0x01, 0x02, 0x80, // granted QoS 0, 1, 2; failure
    ],
  },

  // ----------------------------------------------------------------------------------------
  // UNSUBSCRIBE (3.10): flags 0010; packet id; filters.
  {
    name: "UNSUBSCRIBE one filter",
    packet: { type: UNSUBSCRIBE, packetId: 1, topics: ["a/b"] },
    bytes: [
      0xa2, 0x07,                   // UNSUBSCRIBE, flags 0010; remaining length 7 = 2 + 5
      0x00, 0x01,                   // packet id 1
      0x00, 0x03, 0x61, 0x2f, 0x62, // filter "a/b"
    ],
  },
  {
    name: "UNSUBSCRIBE many filters",
    packet: { type: UNSUBSCRIBE, packetId: 0x0203, topics: ["a/+", "#", "€/#", "+/+"] },
    bytes: [
      0xa2, 0x16,                               // UNSUBSCRIBE; remaining length 22 = 2 + 5 + 3 + 7 + 5
      0x02, 0x03,                               // packet id 515
      0x00, 0x03, 0x61, 0x2f, 0x2b,             // filter "a/+"
      0x00, 0x01, 0x23,                         // filter "#"
      0x00, 0x05, 0xe2, 0x82, 0xac, 0x2f, 0x23, // filter "€/#"
      0x00, 0x03, 0x2b, 0x2f, 0x2b,             // filter "+/+"
    ],
  },

  // ----------------------------------------------------------------------------------------
  // UNSUBACK (3.11), PINGREQ (3.12), PINGRESP (3.13), DISCONNECT (3.14).
  {
    name: "UNSUBACK",
    packet: { type: UNSUBACK, packetId: 7 },
    bytes: [
      0xb0, 0x02, // UNSUBACK; remaining length 2
      0x00, 0x07, // packet id 7
    ],
  },
  {
    name: "PINGREQ",
    packet: { type: PINGREQ },
    bytes: [
      0xc0, 0x00, // PINGREQ; remaining length 0
    ],
  },
  {
    name: "PINGRESP",
    packet: { type: PINGRESP },
    bytes: [
      0xd0, 0x00, // PINGRESP; remaining length 0
    ],
  },
  {
    name: "DISCONNECT",
    packet: { type: DISCONNECT },
    bytes: [
      0xe0, 0x00, // DISCONNECT; remaining length 0
    ],
  },
];

export const invalidVectors: InvalidVector[] = [
  // ----------------------------------------------------------------------------------------
  // Fixed header: packet type, reserved flags [MQTT-2.2.2-1] [MQTT-2.2.2-2], remaining length.
  { name: "packet type 0", bytes: [0x00, 0x00], status: ERR_PACKET_TYPE },
  { name: "packet type 15", bytes: [0xf0, 0x00], status: ERR_PACKET_TYPE },
  {
    name: "five-byte remaining length",
    bytes: [
      0x30, 0x80, 0x80, 0x80, 0x80, 0x01, // PUBLISH; continuation bit still set on the 4th byte
    ],
    status: ERR_REMAINING_LENGTH,
  },
  {
    name: "five-byte remaining length of all ones",
    bytes: [0x30, 0xff, 0xff, 0xff, 0xff, 0x7f], // would be 34,359,738,367
    status: ERR_REMAINING_LENGTH,
  },
  {
    name: "non-minimal remaining length 0x80 0x00",
    bytes: [0xc0, 0x80, 0x00], // PINGREQ; 0 written in two bytes
    status: ERR_REMAINING_LENGTH,
  },
  {
    name: "non-minimal remaining length 0x85 0x80 0x00",
    bytes: [
      0x30, 0x85, 0x80, 0x00, // PUBLISH; 5 written in three bytes
      0x00, 0x01, 0x74, 0x78, 0x78,
    ],
    status: ERR_REMAINING_LENGTH,
  },
  {
    name: "CONNECT with fixed-header flags 0001",
    bytes: [
      0x11, 0x0f,                         // CONNECT, flags 0001
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // "MQTT"
      0x04, 0x02, 0x00, 0x3c,             // level 4, clean, keepalive 60
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
    ],
    status: ERR_FLAGS,
  },
  { name: "CONNACK with fixed-header flags 0001", bytes: [0x21, 0x02, 0x00, 0x00], status: ERR_FLAGS },
  { name: "PUBACK with fixed-header flags 0010", bytes: [0x42, 0x02, 0x00, 0x01], status: ERR_FLAGS },
  { name: "PUBREC with fixed-header flags 0001", bytes: [0x51, 0x02, 0x00, 0x01], status: ERR_FLAGS },
  { name: "PUBREL with fixed-header flags 0000", bytes: [0x60, 0x02, 0x00, 0x01], status: ERR_FLAGS },
  { name: "PUBREL with fixed-header flags 0011", bytes: [0x63, 0x02, 0x00, 0x01], status: ERR_FLAGS },
  { name: "PUBREL with fixed-header flags 1010", bytes: [0x6a, 0x02, 0x00, 0x01], status: ERR_FLAGS },
  { name: "PUBCOMP with fixed-header flags 0010", bytes: [0x72, 0x02, 0x00, 0x01], status: ERR_FLAGS },
  {
    name: "SUBSCRIBE with fixed-header flags 0000",
    bytes: [0x80, 0x08, 0x00, 0x01, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x01],
    status: ERR_FLAGS,
  },
  {
    name: "SUBSCRIBE with fixed-header flags 0011",
    bytes: [0x83, 0x08, 0x00, 0x01, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x01],
    status: ERR_FLAGS,
  },
  { name: "SUBACK with fixed-header flags 0010", bytes: [0x92, 0x03, 0x00, 0x01, 0x00], status: ERR_FLAGS },
  {
    name: "UNSUBSCRIBE with fixed-header flags 0000",
    bytes: [0xa0, 0x07, 0x00, 0x01, 0x00, 0x03, 0x61, 0x2f, 0x62],
    status: ERR_FLAGS,
  },
  {
    name: "UNSUBSCRIBE with fixed-header flags 0110",
    bytes: [0xa6, 0x07, 0x00, 0x01, 0x00, 0x03, 0x61, 0x2f, 0x62],
    status: ERR_FLAGS,
  },
  { name: "UNSUBACK with fixed-header flags 1000", bytes: [0xb8, 0x02, 0x00, 0x01], status: ERR_FLAGS },
  { name: "PINGREQ with fixed-header flags 0001", bytes: [0xc1, 0x00], status: ERR_FLAGS },
  { name: "PINGRESP with fixed-header flags 0010", bytes: [0xd2, 0x00], status: ERR_FLAGS },
  { name: "DISCONNECT with fixed-header flags 0100", bytes: [0xe4, 0x00], status: ERR_FLAGS },

  // ----------------------------------------------------------------------------------------
  // CONNECT body.
  {
    name: "CONNECT reserved connect flag bit 0 set [MQTT-3.1.2-3]",
    bytes: [
      0x10, 0x0f,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // "MQTT"
      0x04,                               // level 4
      0x03,                               // flags: clean session + reserved bit 0
      0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,
    ],
    status: ERR_FLAGS,
  },
  {
    name: "CONNECT protocol name \"MQTX\"",
    bytes: [
      0x10, 0x0f,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x58, // "MQTX"
      0x04, 0x02, 0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,
    ],
    status: ERR_PROTOCOL,
  },
  {
    name: "CONNECT protocol name \"mqtt\" (case matters)",
    bytes: [
      0x10, 0x0f,
      0x00, 0x04, 0x6d, 0x71, 0x74, 0x74, // "mqtt"
      0x04, 0x02, 0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,
    ],
    status: ERR_PROTOCOL,
  },
  {
    name: "CONNECT \"MQTT\" with level 3",
    bytes: [
      0x10, 0x0f,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // "MQTT"
      0x03,                               // level 3 belongs with "MQIsdp"
      0x02, 0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,
    ],
    status: ERR_PROTOCOL,
  },
  {
    name: "CONNECT \"MQTT\" with level 5",
    bytes: [
      0x10, 0x0f,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // "MQTT"
      0x05,                               // level 5 (MQTT 5) is not supported
      0x02, 0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,
    ],
    status: ERR_PROTOCOL,
  },
  {
    name: "CONNECT \"MQIsdp\" with level 4",
    bytes: [
      0x10, 0x11,
      0x00, 0x06, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70, // "MQIsdp"
      0x04,                                           // level 4 belongs with "MQTT"
      0x02, 0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,
    ],
    status: ERR_PROTOCOL,
  },
  {
    name: "CONNECT will QoS 1 without the will flag [MQTT-3.1.2-13]",
    bytes: [
      0x10, 0x0f,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54,
      0x04,
      0x0a,                               // flags: will QoS 1, clean; will flag 0
      0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,
    ],
    status: ERR_FLAGS,
  },
  {
    name: "CONNECT will retain without the will flag [MQTT-3.1.2-15]",
    bytes: [
      0x10, 0x0f,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54,
      0x04,
      0x22,                               // flags: will retain, clean; will flag 0
      0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,
    ],
    status: ERR_FLAGS,
  },
  {
    name: "CONNECT will QoS 3 [MQTT-3.1.2-14]",
    bytes: [
      0x10, 0x17,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54,
      0x04,
      0x1e,                               // flags: will QoS 3, will, clean
      0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,
      0x00, 0x01, 0x77,                   // will topic "w"
      0x00, 0x03, 0x62, 0x79, 0x65,       // will payload "bye"
    ],
    status: ERR_QOS,
  },
  {
    name: "CONNECT password without user name [MQTT-3.1.2-22]",
    bytes: [
      0x10, 0x12,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54,
      0x04,
      0x42,                               // flags: password, clean; no user name
      0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,
      0x00, 0x01, 0x70,                   // password "p"
    ],
    status: ERR_PASSWORD,
  },
  {
    name: "CONNECT trailing byte after the last field",
    bytes: [
      0x10, 0x10,                         // remaining length 16: one byte too many
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54,
      0x04, 0x02, 0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id "abc"
      0x00,                               // nothing announced this byte
    ],
    status: ERR_MALFORMED,
  },
  {
    name: "CONNECT user name flag set, user name field missing",
    bytes: [
      0x10, 0x0f,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54,
      0x04,
      0x82,                               // flags: user name, clean
      0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,       // client id, then the packet ends
    ],
    status: ERR_MALFORMED,
  },
  {
    name: "CONNECT client id length beyond the packet",
    bytes: [
      0x10, 0x0f,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54,
      0x04, 0x02, 0x00, 0x3c,
      0x00, 0x04, 0x61, 0x62, 0x63,       // says 4 bytes, 3 follow
    ],
    status: ERR_MALFORMED,
  },
  {
    name: "CONNECT protocol name length beyond the packet",
    bytes: [
      0x10, 0x04,
      0x00, 0x04, 0x4d, 0x51,             // "MQ" and the packet ends
    ],
    status: ERR_MALFORMED,
  },
  {
    name: "CONNECT ends before the keepalive",
    bytes: [
      0x10, 0x08,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54,
      0x04, 0x02,                         // level and flags; keepalive missing
    ],
    status: ERR_MALFORMED,
  },
  {
    name: "CONNECT client id with invalid UTF-8",
    bytes: [
      0x10, 0x0e,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54,
      0x04, 0x02, 0x00, 0x3c,
      0x00, 0x02, 0xc3, 0x28,             // 0xc3 then a non-continuation byte
    ],
    status: ERR_UTF8,
  },
  {
    name: "CONNECT user name holding U+0000 [MQTT-1.5.3-2]",
    bytes: [
      0x10, 0x13,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54,
      0x04, 0x82, 0x00, 0x3c,
      0x00, 0x03, 0x61, 0x62, 0x63,
      0x00, 0x02, 0x75, 0x00,             // user name "u", NUL
    ],
    status: ERR_UTF8,
  },
  {
    name: "CONNECT will topic with a wildcard",
    bytes: [
      0x10, 0x15,
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54,
      0x04, 0x06, 0x00, 0x3c,             // flags: will, clean
      0x00, 0x03, 0x61, 0x62, 0x63,
      0x00, 0x01, 0x23,                   // will topic "#"
      0x00, 0x01, 0x78,                   // will payload "x"
    ],
    status: ERR_TOPIC,
  },

  // ----------------------------------------------------------------------------------------
  // CONNACK body.
  {
    name: "CONNACK reserved acknowledge flag bit 1 [MQTT-3.2.2-1]",
    bytes: [0x20, 0x02, 0x02, 0x00],
    status: ERR_FLAGS,
  },
  {
    name: "CONNACK reserved acknowledge flag bit 7",
    bytes: [0x20, 0x02, 0x80, 0x00],
    status: ERR_FLAGS,
  },
  {
    name: "CONNACK remaining length 3",
    bytes: [0x20, 0x03, 0x00, 0x00, 0x00],
    status: ERR_MALFORMED,
  },
  {
    name: "CONNACK remaining length 1",
    bytes: [0x20, 0x01, 0x00],
    status: ERR_MALFORMED,
  },

  // ----------------------------------------------------------------------------------------
  // PUBLISH body.
  {
    name: "PUBLISH QoS 3 [MQTT-3.3.1-4]",
    bytes: [
      0x36, 0x08,                   // PUBLISH, both QoS bits set
      0x00, 0x03, 0x61, 0x2f, 0x62,
      0x00, 0x01,
      0x78,
    ],
    status: ERR_QOS,
  },
  {
    name: "PUBLISH QoS 1 packet id 0 [MQTT-2.3.1-1]",
    bytes: [0x32, 0x08, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x00, 0x00, 0x78],
    status: ERR_PACKET_ID,
  },
  {
    name: "PUBLISH QoS 2 packet id 0",
    bytes: [0x34, 0x08, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x00, 0x00, 0x78],
    status: ERR_PACKET_ID,
  },
  {
    name: "PUBLISH topic with \"+\" [MQTT-3.3.2-2]",
    bytes: [0x30, 0x06, 0x00, 0x03, 0x61, 0x2f, 0x2b, 0x78], // topic "a/+"
    status: ERR_TOPIC,
  },
  {
    name: "PUBLISH topic \"#\"",
    bytes: [0x30, 0x04, 0x00, 0x01, 0x23, 0x78],
    status: ERR_TOPIC,
  },
  {
    name: "PUBLISH empty topic [MQTT-4.7.3-1]",
    bytes: [0x30, 0x03, 0x00, 0x00, 0x78],
    status: ERR_TOPIC,
  },
  {
    name: "PUBLISH topic with a broken two-byte sequence",
    bytes: [0x30, 0x05, 0x00, 0x02, 0xc3, 0x28, 0x78],
    status: ERR_UTF8,
  },
  {
    name: "PUBLISH topic with an overlong \"/\" (0xc0 0xaf)",
    bytes: [0x30, 0x05, 0x00, 0x02, 0xc0, 0xaf, 0x78],
    status: ERR_UTF8,
  },
  {
    name: "PUBLISH topic with an encoded surrogate U+D800 [MQTT-1.5.3-1]",
    bytes: [0x30, 0x06, 0x00, 0x03, 0xed, 0xa0, 0x80, 0x78],
    status: ERR_UTF8,
  },
  {
    name: "PUBLISH topic with an overlong three-byte \"/\" (0xe0 0x80 0xaf)",
    bytes: [0x30, 0x06, 0x00, 0x03, 0xe0, 0x80, 0xaf, 0x78],
    status: ERR_UTF8,
  },
  {
    name: "PUBLISH topic with an overlong four-byte \"/\" (0xf0 0x80 0x80 0xaf)",
    bytes: [0x30, 0x07, 0x00, 0x04, 0xf0, 0x80, 0x80, 0xaf, 0x78],
    status: ERR_UTF8,
  },
  {
    name: "PUBLISH topic above U+10FFFF (0xf4 0x90 0x80 0x80)",
    bytes: [0x30, 0x07, 0x00, 0x04, 0xf4, 0x90, 0x80, 0x80, 0x78],
    status: ERR_UTF8,
  },
  {
    name: "PUBLISH topic with byte 0xf5 (never in UTF-8)",
    bytes: [0x30, 0x07, 0x00, 0x04, 0xf5, 0x80, 0x80, 0x80, 0x78],
    status: ERR_UTF8,
  },
  {
    name: "PUBLISH topic with byte 0xff",
    bytes: [0x30, 0x04, 0x00, 0x01, 0xff, 0x78],
    status: ERR_UTF8,
  },
  {
    name: "PUBLISH topic with a lone continuation byte",
    bytes: [0x30, 0x05, 0x00, 0x02, 0x61, 0x80, 0x78],
    status: ERR_UTF8,
  },
  {
    name: "PUBLISH topic with a bad third byte (0xe2 0x82 0x28)",
    bytes: [0x30, 0x06, 0x00, 0x03, 0xe2, 0x82, 0x28, 0x78],
    status: ERR_UTF8,
  },
  {
    name: "PUBLISH topic with a sequence cut by the topic's end",
    bytes: [0x30, 0x05, 0x00, 0x02, 0xe2, 0x82, 0xac], // "€" needs 3 bytes; the third is payload
    status: ERR_UTF8,
  },
  {
    name: "PUBLISH topic holding U+0000 [MQTT-1.5.3-2]",
    bytes: [0x30, 0x05, 0x00, 0x02, 0x61, 0x00, 0x78],
    status: ERR_UTF8,
  },
  {
    name: "PUBLISH topic length beyond the packet",
    bytes: [0x30, 0x04, 0x00, 0x05, 0x61, 0x62],
    status: ERR_MALFORMED,
  },
  {
    name: "PUBLISH remaining length 1 (no room for a topic length)",
    bytes: [0x30, 0x01, 0x00],
    status: ERR_MALFORMED,
  },
  {
    name: "PUBLISH QoS 1 without room for the packet id",
    bytes: [0x32, 0x06, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x00],
    status: ERR_MALFORMED,
  },

  // ----------------------------------------------------------------------------------------
  // Acknowledgements.
  { name: "PUBACK packet id 0", bytes: [0x40, 0x02, 0x00, 0x00], status: ERR_PACKET_ID },
  { name: "PUBREC packet id 0", bytes: [0x50, 0x02, 0x00, 0x00], status: ERR_PACKET_ID },
  { name: "PUBREL packet id 0", bytes: [0x62, 0x02, 0x00, 0x00], status: ERR_PACKET_ID },
  { name: "PUBCOMP packet id 0", bytes: [0x70, 0x02, 0x00, 0x00], status: ERR_PACKET_ID },
  { name: "UNSUBACK packet id 0", bytes: [0xb0, 0x02, 0x00, 0x00], status: ERR_PACKET_ID },
  { name: "PUBACK remaining length 3", bytes: [0x40, 0x03, 0x00, 0x01, 0x00], status: ERR_MALFORMED },
  { name: "PUBCOMP remaining length 1", bytes: [0x70, 0x01, 0x01], status: ERR_MALFORMED },
  { name: "UNSUBACK remaining length 0", bytes: [0xb0, 0x00], status: ERR_MALFORMED },
  { name: "PINGREQ remaining length 1", bytes: [0xc0, 0x01, 0x00], status: ERR_MALFORMED },
  { name: "PINGRESP remaining length 2", bytes: [0xd0, 0x02, 0x00, 0x00], status: ERR_MALFORMED },
  { name: "DISCONNECT remaining length 1", bytes: [0xe0, 0x01, 0x00], status: ERR_MALFORMED },

  // ----------------------------------------------------------------------------------------
  // SUBSCRIBE body.
  {
    name: "SUBSCRIBE packet id 0",
    bytes: [0x82, 0x08, 0x00, 0x00, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x01],
    status: ERR_PACKET_ID,
  },
  {
    name: "SUBSCRIBE with no filters [MQTT-3.8.3-3]",
    bytes: [0x82, 0x02, 0x00, 0x01],
    status: ERR_EMPTY,
  },
  {
    name: "SUBSCRIBE requested QoS 3",
    bytes: [0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x03],
    status: ERR_QOS,
  },
  {
    name: "SUBSCRIBE requested QoS byte with reserved bits [MQTT-3.8.3-4]",
    bytes: [0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x05], // 0000 0101
    status: ERR_FLAGS,
  },
  {
    name: "SUBSCRIBE requested QoS byte 0x80",
    bytes: [0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x80],
    status: ERR_FLAGS,
  },
  {
    name: "SUBSCRIBE second entry with QoS 3",
    bytes: [
      0x82, 0x0c,
      0x00, 0x01,
      0x00, 0x03, 0x61, 0x2f, 0x62, 0x01, // "a/b" QoS 1
      0x00, 0x01, 0x23, 0x03,             // "#" QoS 3
    ],
    status: ERR_QOS,
  },
  {
    name: "SUBSCRIBE filter \"a/#/b\" [MQTT-4.7.1-2]",
    bytes: [0x82, 0x0a, 0x00, 0x01, 0x00, 0x05, 0x61, 0x2f, 0x23, 0x2f, 0x62, 0x00],
    status: ERR_FILTER,
  },
  {
    name: "SUBSCRIBE filter \"a+\" [MQTT-4.7.1-3]",
    bytes: [0x82, 0x07, 0x00, 0x01, 0x00, 0x02, 0x61, 0x2b, 0x00],
    status: ERR_FILTER,
  },
  {
    name: "SUBSCRIBE empty filter [MQTT-4.7.3-1]",
    bytes: [0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00],
    status: ERR_FILTER,
  },
  {
    name: "SUBSCRIBE filter with invalid UTF-8",
    bytes: [0x82, 0x07, 0x00, 0x01, 0x00, 0x02, 0xc3, 0x28, 0x00],
    status: ERR_UTF8,
  },
  {
    name: "SUBSCRIBE filter length beyond the packet",
    bytes: [0x82, 0x07, 0x00, 0x01, 0x00, 0x04, 0x61, 0x2f, 0x62],
    status: ERR_MALFORMED,
  },
  {
    name: "SUBSCRIBE filter without its QoS byte",
    bytes: [0x82, 0x07, 0x00, 0x01, 0x00, 0x03, 0x61, 0x2f, 0x62],
    status: ERR_MALFORMED,
  },
  {
    name: "SUBSCRIBE trailing single byte after an entry",
    bytes: [0x82, 0x09, 0x00, 0x01, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x01, 0x00],
    status: ERR_MALFORMED,
  },
  {
    name: "SUBSCRIBE remaining length 1",
    bytes: [0x82, 0x01, 0x00],
    status: ERR_MALFORMED,
  },

  // ----------------------------------------------------------------------------------------
  // SUBACK body.
  { name: "SUBACK packet id 0", bytes: [0x90, 0x03, 0x00, 0x00, 0x00], status: ERR_PACKET_ID },
  { name: "SUBACK without return codes", bytes: [0x90, 0x02, 0x00, 0x01], status: ERR_EMPTY },
  {
    name: "SUBACK return code 0x03 [MQTT-3.9.3-2]",
    bytes: [0x90, 0x03, 0x00, 0x01, 0x03],
    status: ERR_RETURN_CODE,
  },
  {
    name: "SUBACK return code 0x81 after a good one",
    bytes: [0x90, 0x04, 0x00, 0x01, 0x01, 0x81],
    status: ERR_RETURN_CODE,
  },
  { name: "SUBACK remaining length 1", bytes: [0x90, 0x01, 0x00], status: ERR_MALFORMED },

  // ----------------------------------------------------------------------------------------
  // UNSUBSCRIBE body.
  {
    name: "UNSUBSCRIBE packet id 0",
    bytes: [0xa2, 0x07, 0x00, 0x00, 0x00, 0x03, 0x61, 0x2f, 0x62],
    status: ERR_PACKET_ID,
  },
  {
    name: "UNSUBSCRIBE with no filters [MQTT-3.10.3-2]",
    bytes: [0xa2, 0x02, 0x00, 0x01],
    status: ERR_EMPTY,
  },
  {
    name: "UNSUBSCRIBE filter \"#a\"",
    bytes: [0xa2, 0x06, 0x00, 0x01, 0x00, 0x02, 0x23, 0x61],
    status: ERR_FILTER,
  },
  {
    name: "UNSUBSCRIBE filter length beyond the packet",
    bytes: [0xa2, 0x07, 0x00, 0x01, 0x00, 0x09, 0x61, 0x2f, 0x62],
    status: ERR_MALFORMED,
  },
  {
    name: "UNSUBSCRIBE half a length prefix at the end",
    bytes: [0xa2, 0x08, 0x00, 0x01, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x00],
    status: ERR_MALFORMED,
  },
];

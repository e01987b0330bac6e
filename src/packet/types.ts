/**
 * Packet types, the plain-object form of every MQTT 3.1/3.1.1 packet, and the reusable
 * out-object that decoding fills.
 */

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;

/** The packet types' names, by type (0 and 15 are reserved). For logs. */
export const PACKET_NAMES = [
  "RESERVED",
  "CONNECT",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "SUBSCRIBE",
  "SUBACK",
  "UNSUBSCRIBE",
  "UNSUBACK",
  "PINGREQ",
  "PINGRESP",
  "DISCONNECT",
  "RESERVED",
];

/** Protocol level of MQTT 3.1 ("MQIsdp"). */
export const MQTT_3_1 = 3;
/** Protocol level of MQTT 3.1.1 ("MQTT"). */
export const MQTT_3_1_1 = 4;

/** The largest remaining length four bytes can express. */
export const MAX_REMAINING_LENGTH = 268435455;

/** SUBACK return code for a refused subscription. */
export const SUBACK_FAILURE = 0x80;

/** Bytes as a `Uint8Array`, or a string sent as its UTF-8 bytes. */
export type Bytes = Uint8Array | string;

export interface WillMessage {
  topic: string;
  payload: Bytes;
  qos: number;
  retain: boolean;
}

export interface ConnectPacket {
  type: typeof CONNECT;
  /** 3 for MQTT 3.1, 4 for MQTT 3.1.1. */
  protocolVersion: number;
  clientId: string;
  clean: boolean;
  /** Seconds, 0 to 65,535; 0 turns keepalive off. */
  keepalive: number;
  username?: string;
  password?: Bytes;
  will?: WillMessage;
}

export interface ConnackPacket {
  type: typeof CONNACK;
  sessionPresent: boolean;
  returnCode: number;
}

export interface PublishPacket {
  type: typeof PUBLISH;
  topic: string;
  payload: Bytes;
  qos: number;
  retain: boolean;
  dup: boolean;
  /** Required (1..65,535) for QoS 1 and 2; not sent for QoS 0. */
  packetId: number;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK carry only a packet identifier. */
export interface AckPacket {
  type: typeof PUBACK | typeof PUBREC | typeof PUBREL | typeof PUBCOMP | typeof UNSUBACK;
  packetId: number;
}

export interface Subscription {
  topic: string;
  qos: number;
}

export interface SubscribePacket {
  type: typeof SUBSCRIBE;
  packetId: number;
  subscriptions: Subscription[];
}

export interface SubackPacket {
  type: typeof SUBACK;
  packetId: number;
  /** Granted QoS per filter, or 0x80 for a refused one. */
  granted: number[];
}

export interface UnsubscribePacket {
  type: typeof UNSUBSCRIBE;
  packetId: number;
  topics: string[];
}

/** PINGREQ, PINGRESP and DISCONNECT are a fixed header alone. */
export interface EmptyPacket {
  type: typeof PINGREQ | typeof PINGRESP | typeof DISCONNECT;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | EmptyPacket;

/**
 * What `decodePacket` fills in: offsets into the decoded buffer rather than copies, so decoding
 * allocates nothing. One instance is made up front and reused for every packet. Only the fields
 * of the decoded type are meaningful; the others keep stale values.
 */
export class DecodedPacket {
  /** Packet type, 1..14. */
  type = 0;
  /** The low four bits of the first byte. */
  flags = 0;
  /** Bytes of the whole packet, fixed header included. */
  length = 0;
  /** Offset of the variable header (just after the remaining length). */
  bodyOff = 0;

  packetId = 0;
  dup = false;
  qos = 0;
  retain = false;
  /** PUBLISH topic, or the first entry of SUBSCRIBE/UNSUBSCRIBE. */
  topicOff = 0;
  topicLen = 0;
  /** PUBLISH payload; for SUBSCRIBE, SUBACK and UNSUBSCRIBE the span of all entries. */
  payloadOff = 0;
  payloadLen = 0;
  /** Entries of SUBSCRIBE, SUBACK and UNSUBSCRIBE. */
  count = 0;

  sessionPresent = false;
  returnCode = 0;

  protocolVersion = 0;
  clean = false;
  keepalive = 0;
  clientIdOff = 0;
  clientIdLen = 0;
  hasWill = false;
  willQos = 0;
  willRetain = false;
  willTopicOff = 0;
  willTopicLen = 0;
  willPayloadOff = 0;
  willPayloadLen = 0;
  hasUsername = false;
  usernameOff = 0;
  usernameLen = 0;
  hasPassword = false;
  passwordOff = 0;
  passwordLen = 0;
}

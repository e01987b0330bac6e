export * from "./types.ts";
export { decodeFromBroker, decodePacket, packetLength } from "./decode.ts";
export {
  encodeAck,
  encodeConnack,
  encodeConnect,
  encodeEmpty,
  encodePacket,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  connectSize,
  subscribeSize,
  unsubscribeSize,
  packetSize,
  publishSize,
  remainingLengthSize,
} from "./encode.ts";
export { Receiver, type PacketDecoder, type PacketSink } from "./receiver.ts";
export { readPacket } from "./read.ts";

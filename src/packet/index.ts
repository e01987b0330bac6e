export * from "./types.ts";
export { decodePacket, packetLength } from "./decode.ts";
export {
  encodeAck,
  encodeConnack,
  encodeEmpty,
  encodePacket,
  encodePublish,
  packetSize,
  publishSize,
  remainingLengthSize,
} from "./encode.ts";
export { Receiver, type PacketSink } from "./receiver.ts";
export { readPacket } from "./read.ts";

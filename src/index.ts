/**
 * mcu-mqtt: the portable core. It imports no runtime module; transport and clock are injected.
 * Everything public.ts gives an application, plus the codec, the session layer, UTF-8 and the
 * QoS 0-only client.
 */
export * from "./public.ts";
export * from "./utf8.ts";
export * from "./topic.ts";
export * from "./packet/index.ts";
export { Session, type SessionConfig, type SessionEvents } from "./session/session.ts";
export { Outbox } from "./session/outbox.ts";
export {
  LiteClient,
  createLiteClient,
  type LiteOptions,
  type LiteCallback,
  type LiteMessageHandler,
} from "./lite.ts";

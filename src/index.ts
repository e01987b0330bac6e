/**
 * mcu-mqtt: the portable core. It imports no runtime module; transport and clock are injected.
 */
export * from "./status.ts";
export * from "./utf8.ts";
export * from "./topic.ts";
export * from "./packet/index.ts";
export type { Transport, TransportEvents, Timers, Board } from "./transport.ts";
export { Session, type SessionConfig, type SessionEvents, type Clock } from "./session/session.ts";
export { Outbox } from "./session/outbox.ts";
export {
  Client,
  createClient,
  mqttError,
  type ClientOptions,
  type ReconnectOptions,
  type PublishOptions,
  type SubscribeOptions,
  type MessageHandler,
  type ErrorCallback,
  type SubscribeCallback,
  type Granted,
  type MqttError,
} from "./client.ts";
export {
  LiteClient,
  createLiteClient,
  type LiteOptions,
  type LiteCallback,
  type LiteMessageHandler,
} from "./lite.ts";

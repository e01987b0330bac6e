/**
 * What an application needs from the full client: the client, its errors and status codes, topic
 * checks and protocol levels. The board bundles export this rather than the whole core, so the
 * codec's broker side, the session layer and the QoS 0-only client stay out of them.
 */
export * from "./status.ts";
export { MQTT_3_1, MQTT_3_1_1 } from "./packet/types.ts";
export { topicMatches, validateTopicFilter, validateTopicName } from "./topic.ts";
export type { Transport, TransportEvents, Timers, Board, Clock } from "./transport.ts";
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

/**
 * mcu-mqtt: the portable core. It imports no runtime module; transport and clock are injected.
 * Everything public.ts gives an application, plus the codec, the session layer and UTF-8.
 */
export * from "./public.ts";
export * from "./utf8.ts";
export * from "./topic.ts";
export * from "./packet/index.ts";
export { Session, type SessionConfig, type SessionEvents } from "./session/session.ts";
export { Outbox } from "./session/outbox.ts";

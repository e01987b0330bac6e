/**
 * mcu-mqtt: the portable core. It imports no runtime module; transport and clock are injected.
 */
export * from "./status.ts";
export * from "./utf8.ts";
export * from "./topic.ts";
export * from "./packet/index.ts";

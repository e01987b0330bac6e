/** Option handling both clients share. */
import { invalid } from "./errors.ts";

/** `value` when it is a positive integer, `fallback` when it is absent; throws otherwise. */
export function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value >= 1) || value !== Math.floor(value)) throw invalid(name + " must be a positive integer");
  return value;
}

/** A client id for a client that gave none: "mcu-mqtt-" and eight hex digits. */
export function generateClientId(random: () => number): string {
  let id = "mcu-mqtt-";
  for (let i = 0; i < 8; i++) id += Math.floor(random() * 16).toString(16);
  return id;
}

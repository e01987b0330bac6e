/** What the board tests share: a device of either simulated runtime, and waiting. */
import { createEspruinoSim, type EspruinoSim, type EspruinoSimOptions } from "../../sim/espruino.ts";
import { createKalumaSim, type KalumaSim, type KalumaSimOptions } from "../../sim/kaluma.ts";

export type Runtime = "kaluma" | "espruino";
export type Device = KalumaSim | EspruinoSim;

export function makeDevice(runtime: Runtime, options?: KalumaSimOptions & EspruinoSimOptions): Device {
  return runtime === "kaluma" ? createKalumaSim(options) : createEspruinoSim(options);
}

/** The access point of either runtime comes and goes. */
export function setAccessPoint(device: Device, inRange: boolean): void {
  device.setAccessPoint(inRange);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 20 ms until it holds; throws after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out after " + timeoutMs + " ms waiting for " + what);
    await sleep(20);
  }
}

/** The device's uncaught errors as text, for assertion messages. */
export function deviceErrors(device: Device): string[] {
  return device.errors.map((e) => (e instanceof Error || (e && (e as Error).stack) ? String((e as Error).stack) : String(e)));
}

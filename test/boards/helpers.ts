/** What the board tests share: a device of either simulated runtime, and waiting. */
import { createEspruinoSim, type EspruinoSim, type EspruinoSimOptions } from "../../sim/espruino.ts";
import { createKalumaSim, type KalumaSim, type KalumaSimOptions } from "../../sim/kaluma.ts";
import { ERR_CONNECT_TIMEOUT, ERR_CONNECTION_LOST, ERR_EARLY_CLOSE, ERR_PING_TIMEOUT } from "../../src/status.ts";

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

/** A `message` payload as text: a String of bytes on Espruino, a Uint8Array on Kaluma. */
export function payloadText(payload: string | Uint8Array): string {
  return (typeof payload === "string" ? Buffer.from(payload, "latin1") : Buffer.from(payload)).toString("utf8");
}

/** Error codes the board client reports when a link fails, which faults are expected to cause. */
export const LINK_FAILURES = [ERR_CONNECT_TIMEOUT, ERR_PING_TIMEOUT, ERR_CONNECTION_LOST, ERR_EARLY_CLOSE];

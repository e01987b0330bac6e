/**
 * For the tests on the real interpreters (../shared/tools): true when they can run. When they
 * cannot, the test is skipped with one line saying why, or fails when MCU_MQTT_REQUIRE_RUNTIMES=1
 * (as in CI, where missing runtimes must not pass silently).
 */
import { readFileSync } from "node:fs";
import type { TestContext } from "node:test";
import { runtimesMissing } from "../../bench/real-lib.ts";
import { mosquittoMissing } from "../helpers/brokers.ts";

let cached: string | null = null;

export function runtimesWhyNot(): string {
  if (cached === null) cached = runtimesMissing() || mosquittoMissing();
  return cached;
}

export function needRuntimes(t: TestContext): boolean {
  const missing = runtimesWhyNot();
  if (!missing) return true;
  if (process.env.MCU_MQTT_REQUIRE_RUNTIMES === "1") throw new Error(missing + " (MCU_MQTT_REQUIRE_RUNTIMES=1 requires them)");
  t.skip(missing);
  return false;
}

/** Children of a process (by /proc), to stop what a tool started without touching anything else. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync("/proc/" + pid + "/task/" + pid + "/children", "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Kills `pid` and everything under it (run.sh starts `timeout`, which makes its own group). */
export function killTree(pid: number): void {
  const all: number[] = [];
  const walk = (p: number) => {
    all.push(p);
    for (const c of childPids(p)) walk(c);
  };
  walk(pid);
  for (const p of all.reverse()) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

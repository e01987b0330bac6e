#!/usr/bin/env node
/**
 * The `mcu-mqtt` command: `mcu-mqtt pub ...` and `mcu-mqtt sub ...`, with mosquitto_pub's and
 * mosquitto_sub's flags. See cli/main.ts; `mcu-mqtt --help` lists everything.
 */
import { main } from "./main.ts";

// A reader that went away (`mcu-mqtt sub ... | head -1`) ends the command quietly.
process.stdout.on("error", () => process.exit(0));

function onInterrupt(handler: () => void): () => void {
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  pid: process.pid,
  onInterrupt,
}).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write("Error: " + (err instanceof Error ? err.stack : String(err)) + "\n");
    process.exit(1);
  },
);

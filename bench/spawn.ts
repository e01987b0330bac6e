/**
 * Runs one measurement in a fresh Node process (child.ts) and returns its result.
 *
 * Heap measurements are made in processes of their own: what V8 has optimized, and how, depends
 * on everything the process ran before, and a client measured after the other workloads came
 * out up to three times higher than in a process of its own; heap sizes read after the
 * throughput runs moved by hundreds of kilobytes with the collection of their leftovers.
 */
import { fork } from "node:child_process";
import type { BenchBroker } from "./broker.ts";

export interface ChildOrder {
  task: "garbage" | "node-footprint";
  kind?: string;
  broker: { url: string; host: string; port: number; name: string };
  settings?: unknown;
}

export function runInChild<T>(task: ChildOrder["task"], broker: BenchBroker, kind?: string, settings?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL("./child.ts", import.meta.url).pathname, [], {
      execArgv: ["--expose-gc", "--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const what = task + (kind ? " (" + kind + ")" : "");
    let answered = false;
    child.on("message", (m: { result?: T; error?: string }) => {
      answered = true;
      if (m.error) reject(new Error(what + " in a child process: " + m.error));
      else resolve(m.result as T);
      child.disconnect();
    });
    child.on("exit", (code) => {
      if (!answered) reject(new Error(what + ": the child process exited with " + code));
    });
    const order: ChildOrder = { task, kind, broker: { url: broker.url, host: broker.host, port: broker.port, name: broker.name }, settings };
    child.send(order);
  });
}

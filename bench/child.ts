/**
 * A measurement in a process of its own (see spawn.ts). Receives a `ChildOrder` over IPC and
 * answers `{ result }` or `{ error }`.
 */
import type { BenchBroker } from "./broker.ts";
import { nodeFootprint } from "./footprint.ts";
import { garbageForKind, type GarbageSettings } from "./garbage.ts";
import type { KindId } from "./kinds.ts";
import type { ChildOrder } from "./spawn.ts";

process.once("message", (order: ChildOrder) => {
  const broker: BenchBroker = { ...order.broker, close: async () => {} };
  const work: Promise<unknown> =
    order.task === "garbage"
      ? garbageForKind(order.kind as KindId | "loop", broker, order.settings as GarbageSettings)
      : nodeFootprint(broker);
  work.then(
    (result) => process.send!({ result }),
    (err: Error) => process.send!({ error: err.stack || err.message }),
  );
});

/**
 * The QoS 0 client fuzzer (lite-fuzz.ts) on a bounded number of inputs with fixed seeds; `npm run
 * fuzz` runs a million.
 */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { runLiteFuzz, summarizeLiteFuzz } from "./lite-fuzz.ts";

for (const seed of [7, 0x11fe]) {
  test(`QoS 0 client fuzz, seed ${seed}: 20,000 broker streams, the client does what the oracle says`, { timeout: 30000 }, (t) => {
    const r = runLiteFuzz(seed, 20000);
    t.diagnostic(summarizeLiteFuzz(r));
    assert.equal(r.failures, 0, r.firstFailures.map((f) => "input " + f.iteration + ": " + f.what).join("\n"));
    // Not vacuous: both outcomes, many messages, reports, and faults of several kinds.
    assert.ok(r.faults > 2000 && r.clean > 2000, "faults " + r.faults + ", clean " + r.clean);
    assert.ok(r.messages > 10000 && r.notes > 500 && r.mutated > 5000, JSON.stringify(r));
    assert.ok(r.byStatus.size >= 5, "fault kinds: " + [...r.byStatus.keys()].join(", "));
  });
}

// Loads a built bundle and the engine harness into small JavaScript engines (duktape, QuickJS).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as acorn from "acorn";
import { getQuickJS } from "quickjs-emscripten";

const root = new URL("../..", import.meta.url).pathname;

export interface HarnessReport {
  steps: { name: string; ok: boolean; detail: unknown }[];
  errors: string[];
}

/** The bundle's text; builds the bundles once if they are missing. */
export function bundleText(relPath: string): string {
  const path = join(root, relPath);
  if (!existsSync(path)) execFileSync("npx", ["rollup", "-c", "--silent"], { cwd: root, stdio: "inherit" });
  return readFileSync(path, "utf8");
}

/** Parses `code` with acorn at `ecmaVersion` as a classic script; throws a SyntaxError if it is not. */
export function parseAs(code: string, ecmaVersion: 5 | 2019): void {
  acorn.parse(code, { ecmaVersion, sourceType: "script" });
}

const harness = () => readFileSync(join(root, "test/engines/harness.js"), "utf8");
const boardFakes = () => readFileSync(join(root, "test/engines/board-fakes.js"), "utf8");

/** Which runtime's APIs to fake so that a board bundle's own connect() runs; none for the core. */
export type Board = "espruino" | "kaluma" | null;

/** Which client API the harness drives: the full client, or the QoS 0-only one. */
export type Flavor = "full" | "qos0";

/** A CommonJS bundle loaded the way a module loader does: in a scope of its own, with `exports` and `module`. */
function moduleExpression(bundle: string): string {
  return (
    "(function () { var exports = {}; var module = { exports: exports };\n" +
    "(function (exports, module) {\n" +
    bundle +
    "\n})(exports, module);\nreturn module.exports;\n})()"
  );
}

/**
 * The script: `MQ` is the bundle under test. The harness's scripted broker needs the codec, which
 * a board bundle does not export: for those the core bundle is loaded beside it as `CODEC`.
 */
function program(bundle: string, board: Board, flavor: Flavor): string {
  const codec = board ? "var CODEC = " + moduleExpression(readFileSync(join(root, "dist/core/mcu-mqtt-core.es5.js"), "utf8")) + ";\n" : "";
  return (
    codec +
    (board ? "var BOARD = " + JSON.stringify(board) + ";\n" + boardFakes() + "\n" : "") +
    "var MQ = " + moduleExpression(bundle) + ";\n" +
    (board ? "" : "var CODEC = MQ;\n") +
    "var QOS0_ONLY = " + (flavor === "qos0") + ";\n" +
    harness()
  );
}

export function duktapeAvailable(): boolean {
  return spawnSync("duk", ["-e", "print(1)"], { encoding: "utf8" }).status === 0 ||
    spawnSync("which", ["duk"]).status === 0;
}

/**
 * duktape 2.x has typed arrays without their ES2015 methods. Every runtime the bundles are for has
 * `fill` (Espruino, JerryScript, Node), and the core client uses it: duktape gets it here.
 */
const DUKTAPE_FILL =
  "if (!Uint8Array.prototype.fill) Uint8Array.prototype.fill = function (v, s, e) {" +
  " var n = this.length; s = s === undefined ? 0 : s < 0 ? Math.max(n + s, 0) : Math.min(s, n);" +
  " e = e === undefined ? n : e < 0 ? Math.max(n + e, 0) : Math.min(e, n);" +
  " for (var i = s; i < e; i++) this[i] = v; return this; };\n";

/** Runs the harness on `bundle` in duktape (the `duk` command). */
export function runInDuktape(bundle: string, board: Board = null, flavor: Flavor = "full"): HarnessReport {
  const dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-duk-"));
  const file = join(dir, "run.js");
  writeFileSync(file, "function report(s) { print('REPORT ' + s); }\n" + DUKTAPE_FILL + program(bundle, board, flavor));
  const res = spawnSync("duk", [file], { encoding: "utf8", timeout: 60000 });
  const line = (res.stdout || "").split("\n").find((l) => l.startsWith("REPORT "));
  if (!line) throw new Error("duktape gave no report (exit " + res.status + "):\n" + res.stdout + res.stderr);
  return JSON.parse(line.slice(7));
}

/** Runs the harness on `bundle` in QuickJS (quickjs-emscripten, in-process). */
export async function runInQuickJS(bundle: string, board: Board = null, flavor: Flavor = "full"): Promise<HarnessReport> {
  const QuickJS = await getQuickJS();
  const vm = QuickJS.newContext();
  let reported: string | null = null;
  try {
    const fn = vm.newFunction("report", (h) => {
      reported = vm.getString(h);
    });
    vm.setProp(vm.global, "report", fn);
    fn.dispose();
    const result = vm.evalCode(program(bundle, board, flavor), "harness.js");
    if (result.error) {
      const err = vm.dump(result.error);
      result.error.dispose();
      throw new Error("QuickJS: " + JSON.stringify(err));
    }
    result.value.dispose();
  } finally {
    vm.dispose();
  }
  if (reported === null) throw new Error("QuickJS gave no report");
  return JSON.parse(reported);
}

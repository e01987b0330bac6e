// scripts/lint-portable.mjs: every rule fires on a small offending snippet (and no other rule
// does), look-alikes that are portable pass, suppression works and is itself checked, and the
// real src/ tree is clean.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const script = join(root, "scripts", "lint-portable.mjs");
const scratch = mkdtempSync(join(tmpdir(), "lint-portable-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface Finding {
  file: string;
  line: number;
  col: number;
  rule: string;
  message: string;
}

function lint(args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [script, ...args], { cwd: root }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

function findings(stdout: string): Finding[] {
  const out: Finding[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^(.+):(\d+):(\d+) {2}(\S+) {2}(.+)$/.exec(line);
    if (m !== null) out.push({ file: m[1], line: Number(m[2]), col: Number(m[3]), rule: m[4], message: m[5] });
  }
  return out;
}

let dirCount = 0;
/** Writes the files into a fresh directory and returns its path. */
function tree(files: Record<string, string>): string {
  const dir = join(scratch, "case" + dirCount++);
  for (const name of Object.keys(files)) {
    const path = join(dir, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, files[name]);
  }
  return dir;
}

/** rule, a label, the offending code: linting it must report that rule and no other. */
const bad: Array<[string, string, string]> = [
  ["destructuring", "object binding", "export function f(o: { a: number }): number {\n  const { a } = o;\n  return a;\n}\n"],
  ["destructuring", "array binding parameter", "export function f([a]: number[]): number {\n  return a;\n}\n"],
  ["destructuring", "assignment", "let a = 1;\nlet b = 2;\n[a, b] = [b, a];\nexport const s = a + b;\n"],
  ["destructuring", "catch binding pattern", "export function f(g: () => void): string {\n  try {\n    g();\n    return \"\";\n  } catch ({ message }) {\n    return String(message);\n  }\n}\n"],
  ["spread", "array", "export function f(a: number[]): number[] {\n  return [...a];\n}\n"],
  ["spread", "call", "export function f(a: number[]): number {\n  return Math.max(...a);\n}\n"],
  ["spread", "object", "export function f(o: { a: number }): { a: number } {\n  return { ...o };\n}\n"],
  ["rest-parameter", "rest", "export function f(...a: number[]): number {\n  return a.length;\n}\n"],
  ["default-parameter", "function", "export function f(a: number = 1): number {\n  return a;\n}\n"],
  ["default-parameter", "arrow", "export const f = (a = 1): number => a;\n"],
  ["optional-chaining", "property", "export function f(o?: { a: number }): number | undefined {\n  return o?.a;\n}\n"],
  ["optional-chaining", "call", "export function f(g?: () => void): void {\n  g?.();\n}\n"],
  ["exponent", "operator", "export const x = 2 ** 8;\n"],
  ["exponent", "assignment", "let y = 2;\ny **= 2;\nexport const z = y;\n"],
  ["logical-assignment", "??=", "export function f(o: { a?: number }): void {\n  o.a ??= 1;\n}\n"],
  ["logical-assignment", "||=", "export function f(o: { a: number }): void {\n  o.a ||= 1;\n}\n"],
  ["logical-assignment", "&&=", "export function f(o: { a: number }): void {\n  o.a &&= 1;\n}\n"],
  ["async", "async function", "export async function f(): Promise<number> {\n  return 1;\n}\n"],
  ["async", "async arrow and await", "export const f = async (p: Promise<number>): Promise<number> => await p;\n"],
  ["generator", "function*", "export function* g(): Generator<number> {\n  yield 1;\n}\n"],
  ["label", "labelled loop", "export function f(): number {\n  let n = 0;\n  outer: for (let i = 0; i < 2; i++) {\n    for (let j = 0; j < 2; j++) {\n      if (j === 1) continue outer;\n      n++;\n    }\n  }\n  return n;\n}\n"],
  ["private-name", "#field", "export class A {\n  #x = 1;\n  read(): number {\n    return this.#x;\n  }\n}\n"],
  ["computed-key", "object literal", "const k = \"a\";\nexport const o = { [k]: 1 };\n"],
  ["computed-key", "class member", "const k = \"a\";\nexport class A {\n  [k](): number {\n    return 1;\n  }\n}\n"],
  ["tagged-template", "tag", "function tag(s: TemplateStringsArray): string {\n  return s[0];\n}\nexport const x = tag`a`;\n"],
  ["class-extends", "extends a class", "class A {}\nexport class B extends A {}\n"],
  ["class-extends", "extends Error", "export class MyError extends Error {}\n"],
  ["static-block", "static block", "export class A {\n  static n = 0;\n  static {\n    A.n = 1;\n  }\n}\n"],
  ["for-of", "for of", "export function f(a: number[]): number {\n  let s = 0;\n  for (const x of a) s += x;\n  return s;\n}\n"],
  ["for-in", "for in", "export function f(o: Record<string, number>): number {\n  let s = 0;\n  for (const k in o) s += o[k];\n  return s;\n}\n"],
  ["accessor", "class getter", "export class A {\n  private v = 0;\n  get x(): number {\n    return this.v;\n  }\n}\n"],
  ["accessor", "object setter", "let store = 0;\nexport const o = {\n  set x(v: number) {\n    store = v;\n  },\n};\nexport const read = (): number => store;\n"],
  ["new-target", "new.target", "export function F(): void {\n  if (!new.target) throw new Error(\"use new\");\n}\n"],
  ["import-meta", "import.meta", "export const u = import.meta.url;\n"],
  ["regex", "plain literal", "export const r = /a+/;\n"],
  ["regex", "dotAll flag", "export const r = /a.b/s;\n"],
  ["bigint", "literal", "export const b = 10n;\n"],
  ["numeric-separator", "separator", "export const n = 1_000;\n"],
  ["dynamic-import", "import()", "export function f(): Promise<unknown> {\n  return import(\"./x.ts\");\n}\n"],
  ["export-default", "default function", "export default function f(): number {\n  return 1;\n}\n"],
  ["export-default", "default expression", "const x = 1;\nexport default x;\n"],
  ["catch-binding", "catch without binding", "export function f(g: () => void): boolean {\n  try {\n    g();\n    return true;\n  } catch {\n    return false;\n  }\n}\n"],
  ["decorator", "method decorator", "function dec(_t: unknown, _c: unknown): void {}\nexport class A {\n  @dec\n  m(): void {}\n}\n"],
  ["using", "using declaration", "export function f(r: Disposable): void {\n  using x = r;\n}\n"],
  ["loop-closure", "arrow capturing the index", "export function f(out: Array<() => number>): void {\n  for (let i = 0; i < 3; i++) out.push(() => i);\n}\n"],
  ["global", "Map", "export const m = new Map<string, number>();\n"],
  ["global", "Set in a type argument and a value", "export const s: Set<number> = new Set();\n"],
  ["global", "Symbol", "export const k = Symbol(\"k\");\n"],
  ["global", "Buffer", "export const b = Buffer.alloc(4);\n"],
  ["global", "process", "export const env = process.env;\n"],
  ["global", "typeof process", "export const isNode = typeof process !== \"undefined\";\n"],
  ["global", "require", "export const net = require(\"net\");\n"],
  ["global", "globalThis", "export const g = globalThis;\n"],
  ["global", "setTimeout", "export function f(cb: () => void): void {\n  setTimeout(cb, 10);\n}\n"],
  ["global", "clearInterval", "export function f(h: number): void {\n  clearInterval(h);\n}\n"],
  ["global", "queueMicrotask", "export function f(cb: () => void): void {\n  queueMicrotask(cb);\n}\n"],
  ["global", "TextEncoder", "export const e = new TextEncoder();\n"],
  ["global", "Date", "export function now(): number {\n  return Date.now();\n}\n"],
  ["global", "console", "export function log(x: string): void {\n  console.log(x);\n}\n"],
  ["global", "shorthand property", "export const deps = { setTimeout };\n"],
  ["global", "eval", "export const x = eval(\"1\");\n"],
  ["global", "ambient declaration is still the global", "declare const process: { env: Record<string, string> };\nexport const env = process.env;\n"],
  ["api", "Array.from", "export const a = Array.from([1, 2]);\n"],
  ["api", "Uint8Array.from", "export const a = Uint8Array.from([1, 2]);\n"],
  ["api", "Float64Array.of", "export const a = Float64Array.of(1, 2);\n"],
  ["api", "Number.isInteger", "export const ok = Number.isInteger(1);\n"],
  ["api", "Object.entries", "export const e = Object.entries({ a: 1 });\n"],
  ["api", "Promise.allSettled", "export const p = Promise.allSettled([]);\n"],
  ["api", "String.raw", "export const r = String.raw;\n"],
  ["api", ".at()", "export function last(a: number[]): number | undefined {\n  return a.at(-1);\n}\n"],
  ["api", ".padStart()", "export const s = \"7\".padStart(2, \"0\");\n"],
  ["api", ".copyWithin()", "export function f(b: Uint8Array): void {\n  b.copyWithin(0, 1);\n}\n"],
  ["api", ".replaceAll()", "export const s = \"a.b\".replaceAll(\".\", \"/\");\n"],
  ["api", ".flatMap()", "export const a = [1].flatMap((x: number) => [x, x]);\n"],
  ["api", "prototype method", "export const at = Array.prototype.at;\n"],
  ["api", "String.fromCharCode.apply", "export function f(a: number[]): string {\n  return String.fromCharCode.apply(null, a);\n}\n"],
  ["import", "package import", "import { EventEmitter } from \"events\";\nexport const E2 = EventEmitter;\n"],
  ["import", "node: import", "import * as net from \"node:net\";\nexport const n = net;\n"],
  ["import", "inline type specifiers keep a side-effect import", "import { type Socket } from \"node:net\";\nexport let s: Socket | null = null;\n"],
  ["import", "re-export from a package", "export { EventEmitter } from \"events\";\n"],
  ["import", "import = require", "import fs = require(\"./fs.ts\");\nexport const f = fs;\n"],
  ["suppression", "no reason", "// lint-portable-ignore-next-line regex\nexport const r = 1;\n"],
  ["suppression", "no rule", "// lint-portable-ignore-next-line -- because\nexport const r = 1;\n"],
  ["suppression", "unknown rule", "// lint-portable-ignore-next-line no-such-rule -- because\nexport const r = 1;\n"],
  ["suppression", "unused", "// lint-portable-ignore-next-line regex -- nothing to suppress here\nexport const r = 1;\n"],
  ["parse", "syntax error", "export const x = ;\n"],
];

test("lint-portable: each rule fires alone on its snippets", { concurrency: 4 }, async (t) => {
  // One run per rule over a directory holding that rule's snippets, one file each.
  const byRule = new Map<string, Array<[string, string]>>();
  for (const [rule, label, code] of bad) {
    const list = byRule.get(rule) ?? [];
    list.push([label, code]);
    byRule.set(rule, list);
  }
  await Promise.all(
    [...byRule].map(([rule, cases]) =>
      t.test(rule, async () => {
        const files: Record<string, string> = {};
        cases.forEach(([, code], i) => (files["case" + i + ".ts"] = code));
        const run = await lint([tree(files)]);
        assert.equal(run.code, 1, "exit code\n" + run.stdout + run.stderr);
        const all = findings(run.stdout);
        cases.forEach(([label], i) => {
          const mine = all.filter((f) => f.file.endsWith("/case" + i + ".ts"));
          assert.ok(mine.length > 0, label + ": no finding\n" + run.stdout);
          assert.deepEqual([...new Set(mine.map((f) => f.rule))], [rule], label + "\n" + run.stdout);
        });
      }),
    ),
  );
});

test("lint-portable: every rule has an offending snippet", async () => {
  const run = await lint(["--list-rules"]);
  assert.equal(run.code, 0, run.stderr);
  const ids = run.stdout.trim().split("\n").map((line) => line.split("\t")[0]);
  assert.ok(ids.length > 20, run.stdout);
  const covered = new Set(bad.map((c) => c[0]));
  assert.deepEqual(ids.filter((id) => !covered.has(id)), []);
  for (const c of bad) assert.ok(ids.includes(c[0]), "unknown rule in a case: " + c[0]);
});

test("lint-portable: a finding names file, line, column, rule and reason", async () => {
  const dir = tree({ "where.ts": "export const a = 1;\nexport const b = {\n  c: x?.y,\n};\ndeclare const x: { y: number } | undefined;\n" });
  const run = await lint([dir]);
  assert.equal(run.code, 1);
  const all = findings(run.stdout);
  assert.equal(all.length, 1, run.stdout);
  assert.ok(all[0].file.endsWith("where.ts"), all[0].file);
  assert.equal(all[0].line, 3);
  assert.equal(all[0].col, 7);
  assert.equal(all[0].rule, "optional-chaining");
  assert.match(all[0].message, /JerryScript/);
});

test("lint-portable: portable look-alikes pass", async () => {
  const dir = tree({
    "helper.ts": "export function helper(x: number): number {\n  return x + 1;\n}\n",
    "clean.ts": [
      "import type { Socket } from \"node:net\";",
      "import { helper } from \"./helper.ts\";",
      "export * from \"./helper.ts\";",
      "export type { Socket };",
      "",
      "/** Type-only code never reaches a board: accessors, computed keys, globals in types. */",
      "interface Ring {",
      "  at(i: number): number;",
      "  get size(): number;",
      "  [key: string]: unknown;",
      "}",
      "type Keys = { [K in \"a\" | \"b\"]: Map<K, Set<number>> };",
      "type Timer = ReturnType<typeof setTimeout>;",
      "export type Exported = Keys | Timer | Ring;",
      "declare function overloaded(a: number): number;",
      "",
      "export class Outbox {",
      "  slots: Array<Map<string, number>> = [];",
      "  /** A method of our own named like Array.prototype.at. */",
      "  at(k: number): number {",
      "    return k;",
      "  }",
      "  read(r: Ring): number {",
      "    return this.at(1) + r.at(0);",
      "  }",
      "}",
      "",
      "export abstract class Base {",
      "  abstract get value(): number;",
      "}",
      "",
      "/** Names of globals used as properties, parameters and locals are not the globals. */",
      "export function shadows(o: { process: number; Map: number }, setTimeout: (cb: () => void) => void): number {",
      "  setTimeout(() => {});",
      "  const Set = 1;",
      "  const Date = { now: (): number => 0 };",
      "  return o.process + o.Map + Set + Date.now();",
      "}",
      "export const obj = { process: 1, Buffer: 2, console: 3 };",
      "export function names(o: { console: { log(): void } }): void {",
      "  o.console.log();",
      "}",
      "",
      "/** Plain loops, catch with a binding, ??, templates, arrows, enums, classes. */",
      "export function sum(a: number[]): number {",
      "  let s = 0;",
      "  for (let i = 0; i < a.length; i++) s += a[i];",
      "  return s;",
      "}",
      "export function capture(out: Array<() => number>, make: (i: number) => () => number): void {",
      "  for (let i = 0; i < 3; i++) out.push(make(i));",
      "}",
      "export function guard(g: () => void): boolean {",
      "  try {",
      "    g();",
      "    return true;",
      "  } catch (e) {",
      "    return e === null;",
      "  }",
      "}",
      "export function pick(a: number | undefined): number {",
      "  return a ?? helper(0);",
      "}",
      "export const tpl = `x${Math.pow(2, 3)}`;",
      "export const double = (x: number): number => x * 2;",
      "export enum Kind {",
      "  A = 1,",
      "  B,",
      "}",
      "export const big = 0xffff;",
      "export class Counter {",
      "  count = 0;",
      "  constructor(private readonly step: number) {}",
      "  bump(): number {",
      "    return (this.count += this.step);",
      "  }",
      "}",
      "export const bytes = new Uint8Array(4).subarray(1);",
      "export function fail(): never {",
      "  throw new Error(\"programmer error\");",
      "}",
      "",
    ].join("\n"),
  });
  const run = await lint([dir]);
  assert.equal(run.stdout + run.stderr, "2 files clean\n");
  assert.equal(run.code, 0);
});

test("lint-portable: a justified directive suppresses that rule on the next line only", async () => {
  const ok = tree({
    "ok.ts": [
      "// lint-portable-ignore-next-line global -- the board layer passes no clock here yet",
      "export const t0 = Date.now();",
      "export const x = 1; // lint-portable-ignore-next-line regex -- a trailing directive works too",
      "export const r = /a/;",
      "",
    ].join("\n"),
  });
  const passed = await lint([ok]);
  assert.equal(passed.stdout, "1 file clean\n");
  assert.equal(passed.code, 0);

  const wrong = tree({
    "wrong.ts": [
      "// lint-portable-ignore-next-line regex -- names another rule than the finding",
      "export const t0 = Date.now();",
      "// lint-portable-ignore-next-line global -- covers the next line, not the one after",
      "",
      "export const t1 = Date.now();",
      "// lint-portable-ignore-next-line global",
      "export const t2 = Date.now();",
      "",
    ].join("\n"),
  });
  const failed = await lint([wrong]);
  assert.equal(failed.code, 1);
  const got = findings(failed.stdout).map((f) => f.line + " " + f.rule);
  assert.deepEqual(got, ["1 suppression", "2 global", "3 suppression", "5 global", "6 suppression", "7 global"]);
});

test("lint-portable: a relative import may not leave the linted tree", async () => {
  const dir = tree({
    "core/a.ts": "import { b } from \"./sub/b.ts\";\nimport { n } from \"../outside.ts\";\nexport const a = b + n;\n",
    "core/sub/b.ts": "import { c } from \"../c.ts\";\nexport const b = c;\n",
    "core/c.ts": "export const c = 1;\n",
    "outside.ts": "export const n = 1;\n",
  });
  const run = await lint([join(dir, "core")]);
  assert.equal(run.code, 1);
  const all = findings(run.stdout);
  assert.deepEqual(all.map((f) => f.file.slice(-9) + ":" + f.line + " " + f.rule), ["core/a.ts:2 import"]);
});

test("lint-portable: a missing path is a usage error", async () => {
  const run = await lint([join(scratch, "no-such-dir")]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /no such path/);
});

test("lint-portable: the real src/ tree is clean", async () => {
  const run = await lint([]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /^\d+ files? clean\n$/);
});

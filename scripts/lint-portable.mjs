#!/usr/bin/env node
// Portability lint for the core in src/: the same TypeScript must run on Espruino (ES5-ish parser,
// nothing hoisted), Kaluma 1.2 (JerryScript 2.4), duktape-like test engines and Node.
//
//   node scripts/lint-portable.mjs [paths...]     (default: src/)
//   node scripts/lint-portable.mjs --list-rules
//
// Every .ts/.mts/.cts file under the paths (not .d.ts, not node_modules) is parsed with the
// TypeScript compiler API and walked; type-only code (annotations, interfaces, type aliases,
// `declare`, overload signatures, `import type`) is skipped, because it never reaches a board.
// Output: one `file:line:col  rule  message` line per finding, exit 1; or `N files clean`, exit 0.
// Exit 2 on a usage error (unknown option, missing path).
//
// Exceptions are written next to the code, with a reason, and suppress the findings of that one
// rule on the next line only:
//   // lint-portable-ignore-next-line <rule> -- <reason>
// A directive without a reason, naming an unknown rule, or suppressing nothing is itself a finding.
//
// Facts behind the rules: measurements on Linux builds of Espruino and of Kaluma 1.2.1, and the
// sources of Espruino's parser (jsparse.c), Kaluma and JerryScript 2.4.

import { createRequire } from "node:module";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

// Loaded through require: an ESM `import` of the CommonJS compiler makes Node scan its 9 MB for
// export names first, which doubles the start-up time.
const ts = createRequire(import.meta.url)("typescript");

// ---------------------------------------------------------------------------------------------
// The rules. One entry per rule: id, what it catches, why.
// ---------------------------------------------------------------------------------------------
const RULES = [
  // Syntax Espruino cannot parse (some of it JerryScript 2.4 cannot either).
  { id: "destructuring", what: "object/array binding patterns, destructuring assignment", why: "Espruino has no destructuring" },
  { id: "spread", what: "spread in calls, `new`, array and object literals", why: "Espruino has no spread; TypeScript's __spreadArray helper is not hoisted there either" },
  { id: "rest-parameter", what: "`...rest` parameters", why: "Espruino has no rest parameters" },
  { id: "default-parameter", what: "parameter default values `(a = 1)`", why: "Espruino has no default parameters; test for undefined in the body" },
  { id: "optional-chaining", what: "`a?.b`, `a?.[i]`, `f?.()`", why: "Espruino lacks it and JerryScript 2.4 rejects it as a SyntaxError" },
  { id: "exponent", what: "`**` and `**=`", why: "Espruino has no exponent operator; use Math.pow or shifts" },
  { id: "logical-assignment", what: "`??=`, `||=`, `&&=`", why: "SyntaxError on Espruino and on JerryScript 2.4" },
  { id: "async", what: "async functions, `await`, `for await`", why: "Espruino has no async/await; the core is callback and status driven" },
  { id: "generator", what: "`function*`, `yield`", why: "Espruino has no generators" },
  { id: "label", what: "labelled statements (`outer: for ...`, `continue outer`)", why: "Espruino has no labels; use a flag or a function" },
  { id: "private-name", what: "`#private` fields, methods and `#x in o`", why: "SyntaxError on Espruino and JerryScript 2.4; use TypeScript `private`" },
  { id: "computed-key", what: "computed property names `{ [k]: v }` in object literals and classes", why: "Espruino has no computed keys; assign `o[k] = v` after creating the object" },
  { id: "tagged-template", what: "tagged templates tag`...`", why: "Espruino has no tagged templates" },
  { id: "class-extends", what: "`class X extends Y` (including `extends Error`)", why: "TypeScript's ES5 output calls __extends before the constructor exists, and Espruino hoists nothing; `extends Error` breaks there outright" },
  { id: "static-block", what: "class `static { ... }` blocks", why: "SyntaxError on Espruino and JerryScript 2.4" },
  { id: "for-of", what: "`for (x of y)`", why: "Espruino has no iterators; use an index loop" },
  { id: "for-in", what: "`for (k in o)`", why: "order and inherited keys differ between engines; the core keeps data in arrays and index loops" },
  { id: "accessor", what: "getters and setters (`get x()`, `set x(v)`, `accessor x`)", why: "Espruino handles accessors poorly; use plain methods" },
  { id: "new-target", what: "`new.target`", why: "Espruino has no new.target" },
  { id: "import-meta", what: "`import.meta`", why: "boards run one classic script: there is no module meta" },
  { id: "regex", what: "regular expression literals", why: "the core needs none; Espruino's engine is small and lacks the s/u/y/d flags, and every literal costs RAM" },
  { id: "bigint", what: "BigInt literals `10n`", why: "neither Espruino nor JerryScript 2.4 has BigInt" },
  { id: "numeric-separator", what: "numeric separators `1_000`", why: "Espruino's lexer and JerryScript 2.4 reject them" },
  { id: "dynamic-import", what: "`import(...)`", why: "boards run one bundled classic script; nothing can be loaded later" },
  { id: "export-default", what: "`export default`, `export =`, `export { x as default }`", why: "not an engine problem (bundlers rewrite module syntax), but the barrels use `export *`, which drops default exports, and a CommonJS/Espruino consumer would see `exports.default`; use named exports" },
  { id: "catch-binding", what: "`catch { }` without a binding", why: "Espruino's parser requires `catch (e)` (jsparse.c jspeStatementTry)" },
  { id: "decorator", what: "decorators `@dec`", why: "downlevelled through helpers that need Reflect/Object.defineProperty semantics Espruino lacks" },
  { id: "using", what: "`using` / `await using` declarations", why: "needs Symbol.dispose and helpers; no board engine has it" },
  { id: "loop-closure", what: "a closure inside `for (let/const ...)` that captures the loop variable", why: "Espruino has no per-iteration binding: every such closure sees the last value" },
  // What the portable core must not touch.
  { id: "global", what: "runtime globals and host APIs used as values (table GLOBALS)", why: "missing on a board engine, or a host service the core receives through its injected Board" },
  { id: "api", what: "builtin methods missing on a board engine (table STATIC_MEMBERS, METHODS)", why: "calling them throws on Espruino or Kaluma" },
  { id: "import", what: "imports that are not relative (`./`, `../`) or that leave the linted tree; `import x = require()`", why: "the core imports no runtime module: transport, clock and timers are injected. `import type` is fine" },
  // About the lint itself; these two cannot be suppressed.
  { id: "suppression", what: "a malformed, unknown or unused lint-portable-ignore-next-line", why: "every exception is named and justified, and stale ones go away" },
  { id: "parse", what: "a file TypeScript cannot parse", why: "nothing else in it can be checked" },
];

// `global`: identifiers that, when they refer to the global (nothing of that name is declared in
// the linted files), are reported. Name -> why.
const MISSING_ES6 = "missing on Espruino";
const HOST = "host API: the core imports no runtime module; inject it through the Board";
const TIMERS = "timers differ per board (clearTimeout(undefined) throws, a throwing callback cancels a Kaluma timer): the client owns the single timer through the injected Timers";
const GLOBALS = new Map([
  ["Map", MISSING_ES6 + "; use arrays or plain objects"],
  ["Set", MISSING_ES6 + "; use arrays or plain objects"],
  ["WeakMap", MISSING_ES6],
  ["WeakSet", MISSING_ES6],
  ["WeakRef", "missing on Espruino and JerryScript 2.4"],
  ["FinalizationRegistry", "missing on Espruino and JerryScript 2.4"],
  ["Symbol", MISSING_ES6],
  ["Proxy", MISSING_ES6],
  ["Reflect", MISSING_ES6],
  ["BigInt", "missing on Espruino and JerryScript 2.4"],
  ["Buffer", "Node only; use Uint8Array"],
  ["process", HOST],
  ["require", HOST + " (and Kaluma's require resolves built-in modules only)"],
  ["module", HOST],
  ["exports", HOST],
  ["__dirname", HOST],
  ["__filename", HOST],
  ["global", "host global object: the core must not reach into globals"],
  ["globalThis", "host global object: the core must not reach into globals"],
  ["window", "host global object: the core must not reach into globals"],
  ["self", "host global object: the core must not reach into globals"],
  ["document", HOST],
  ["navigator", HOST],
  ["setTimeout", TIMERS],
  ["setInterval", TIMERS],
  ["clearTimeout", TIMERS],
  ["clearInterval", TIMERS],
  ["setImmediate", "missing on Espruino and Kaluma"],
  ["queueMicrotask", "missing on Espruino and Kaluma"],
  ["structuredClone", HOST],
  ["TextEncoder", MISSING_ES6 + "; use src/utf8.ts"],
  ["TextDecoder", MISSING_ES6 + "; use src/utf8.ts"],
  ["Date", "time differs per board (Kaluma's Date.now() is a 1-second RTC): read the injected Clock"],
  ["performance", "time differs per board: read the injected Clock"],
  ["console", "the core does not log (debug logging is compiled away in board bundles); console.warn/info/debug throw on Kaluma"],
  ["Intl", "missing on Espruino and Kaluma"],
  ["fetch", HOST],
  ["XMLHttpRequest", HOST],
  ["WebSocket", HOST],
  ["AbortController", HOST],
  ["crypto", HOST],
  ["WebAssembly", "missing on board engines"],
  ["Atomics", "missing on board engines"],
  ["SharedArrayBuffer", "missing on board engines"],
  ["eval", "code from strings: source text costs RAM on Espruino, and the core never needs it"],
  ["Function", "`new Function(...)` is eval; the core never needs the constructor"],
  ["RegExp", "the core needs no regular expressions (see rule regex)"],
  ["E", "Espruino board global: belongs in boards/, not the core"],
  ["Modules", "Espruino board global: belongs in boards/, not the core"],
  ["getTime", "Espruino board global (seconds as a float): read the injected Clock"],
  ["millis", "Kaluma board global: read the injected Clock"],
]);

// `api`: static members, reported when `Owner` is the global. "Owner.member" -> why.
const STATIC_MEMBERS = new Map([
  ["Array.from", MISSING_ES6 + "; use an index loop"],
  ["Array.of", MISSING_ES6],
  ["Number.isInteger", MISSING_ES6 + "; use `x === Math.floor(x)`"],
  ["Number.isSafeInteger", MISSING_ES6],
  ["Object.entries", "missing on Espruino; keep data in arrays"],
  ["Object.values", "missing on Espruino; keep data in arrays"],
  ["Object.fromEntries", "missing on Espruino"],
  ["Object.hasOwn", "ES2022: missing on Espruino and JerryScript 2.4"],
  ["String.raw", "needs tagged templates, which Espruino lacks"],
  ["Promise.allSettled", "missing on Kaluma (JerryScript 2.4)"],
  ["Promise.any", "missing on Kaluma (JerryScript 2.4)"],
  ["String.fromCharCode.apply", "Espruino's apply takes at most 256 arguments; build the string in a loop"],
]);
for (const typed of ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
  "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"]) {
  STATIC_MEMBERS.set(typed + ".from", MISSING_ES6 + "; allocate with `new " + typed + "(n)` and fill it");
  STATIC_MEMBERS.set(typed + ".of", MISSING_ES6 + "; allocate with `new " + typed + "(n)` and fill it");
}

// `api`: prototype methods, reported on `x.name(...)` and `X.prototype.name` unless `name`
// resolves to a method declared in the linted files (like Outbox.at). name -> why.
const METHODS = new Map([
  ["copyWithin", MISSING_ES6 + " (typed arrays); copy with an index loop or set(subarray())"],
  ["at", "missing on Espruino and Kaluma; use x[i] or x[x.length - 1]"],
  ["padStart", "missing on Espruino"],
  ["padEnd", "missing on Espruino"],
  ["flat", "missing on Espruino"],
  ["flatMap", "missing on Espruino"],
  ["replaceAll", "ES2021: missing on Espruino and JerryScript 2.4"],
  ["matchAll", "needs regular expressions and iterators"],
  ["findLast", "ES2023: missing on board engines"],
  ["findLastIndex", "ES2023: missing on board engines"],
  ["toSorted", "ES2023: missing on board engines"],
  ["toReversed", "ES2023: missing on board engines"],
  ["toSpliced", "ES2023: missing on board engines"],
]);

const RULE_IDS = new Set(RULES.map((r) => r.id));
const UNSUPPRESSIBLE = new Set(["suppression", "parse"]);
const DIRECTIVE = "lint-portable-ignore-next-line";

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------
function usage(message) {
  if (message) console.error("lint-portable: " + message);
  console.error("usage: node scripts/lint-portable.mjs [--list-rules] [paths...]   (default: src/)");
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) usage();
if (args.includes("--list-rules")) {
  for (const r of RULES) console.log(r.id + "\t" + r.what + "\t" + r.why);
  process.exit(0);
}
for (const a of args) if (a.startsWith("-")) usage("unknown option " + a);
const roots = args.length > 0 ? args : ["src/"];

/** Each linted file with the directory it was found under (null for a file named directly). */
const files = [];
for (const root of roots) {
  const abs = resolve(root);
  if (!existsSync(abs)) usage("no such path: " + root);
  if (statSync(abs).isDirectory()) collect(abs, abs);
  else if (isLintable(abs)) files.push({ path: abs, root: null });
  else usage("not a TypeScript source file: " + root);
}

function isLintable(name) {
  return /\.(ts|mts|cts)$/.test(name) && !/\.d\.(ts|mts|cts)$/.test(name);
}

function collect(dir, root) {
  for (const name of readdirSync(dir).sort()) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, root);
    else if (isLintable(name)) files.push({ path, root });
  }
}

// ---------------------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------------------
// One program over all files, without the default library: a name the checker cannot resolve,
// or resolves only to an ambient (`declare`) or .d.ts declaration, is the runtime's global.
const program = ts.createProgram({
  rootNames: files.map((f) => f.path),
  options: {
    noLib: true,
    types: [],
    target: ts.ScriptTarget.ESNext,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    noEmit: true,
  },
});
const checker = program.getTypeChecker();

const findings = [];
for (const f of files) lintFile(program.getSourceFile(f.path), f.root);

function lintFile(sf, root) {
  const local = [];
  const report = (node, rule, message) => {
    const at = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    local.push({ line: at.line + 1, col: at.character + 1, rule, message });
  };

  const syntaxErrors = program.getSyntacticDiagnostics(sf);
  if (syntaxErrors.length > 0) {
    for (const d of syntaxErrors) {
      const at = sf.getLineAndCharacterOfPosition(d.start ?? 0);
      const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
      local.push({ line: at.line + 1, col: at.character + 1, rule: "parse", message: text });
    }
    emit(sf, local, []);
    return;
  }

  const visit = (node) => {
    if (isTypeOnly(node)) return;
    if (ts.isHeritageClause(node)) {
      if (node.token === ts.SyntaxKind.ExtendsKeyword) {
        report(node, "class-extends", "class extends: TypeScript's ES5 output calls __extends before the constructor exists and Espruino hoists nothing; use composition");
        for (const t of node.types) visit(t.expression);
      }
      return; // `implements` is type-only
    }
    if (ts.isExpressionWithTypeArguments(node)) { // instantiation expression `f<T>`
      visit(node.expression);
      return;
    }
    checkNode(node, sf, root, report);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  emit(sf, local, collectDirectives(sf));
}

/** Code that TypeScript erases: it never reaches a board. */
function isTypeOnly(node) {
  if (ts.isTypeNode(node) && !ts.isExpressionWithTypeArguments(node)) return true;
  switch (node.kind) {
    case ts.SyntaxKind.InterfaceDeclaration:
    case ts.SyntaxKind.TypeAliasDeclaration:
    case ts.SyntaxKind.IndexSignatureDeclaration:
    case ts.SyntaxKind.TypeParameter:
      return true;
    case ts.SyntaxKind.ImportDeclaration:
      return node.importClause !== undefined && node.importClause.isTypeOnly;
    case ts.SyntaxKind.ExportDeclaration:
    case ts.SyntaxKind.ImportEqualsDeclaration:
      return node.isTypeOnly;
    case ts.SyntaxKind.FunctionDeclaration:
    case ts.SyntaxKind.MethodDeclaration:
    case ts.SyntaxKind.Constructor:
      if (node.body === undefined) return true; // overload signature or abstract method
      break;
  }
  if (node.flags & ts.NodeFlags.Ambient) return true;
  if (hasModifier(node, ts.SyntaxKind.DeclareKeyword)) return true;
  return hasModifier(node, ts.SyntaxKind.AbstractKeyword) && !ts.isClassLike(node); // abstract member
}

function hasModifier(node, kind) {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

function checkNode(node, sf, root, report) {
  const K = ts.SyntaxKind;
  switch (node.kind) {
    case K.ObjectBindingPattern:
    case K.ArrayBindingPattern:
      if (!ts.isBindingElement(node.parent)) report(node, "destructuring", "destructuring: Espruino has none; read the fields one by one");
      break;
    case K.BinaryExpression: {
      const op = node.operatorToken.kind;
      if (op === K.EqualsToken && (ts.isObjectLiteralExpression(node.left) || ts.isArrayLiteralExpression(node.left))) {
        report(node, "destructuring", "destructuring assignment: Espruino has none; assign the fields one by one");
      } else if (op === K.AsteriskAsteriskToken || op === K.AsteriskAsteriskEqualsToken) {
        report(node.operatorToken, "exponent", "`" + ts.tokenToString(op) + "`: Espruino has no exponent operator; use Math.pow or shifts");
      } else if (op === K.QuestionQuestionEqualsToken || op === K.BarBarEqualsToken || op === K.AmpersandAmpersandEqualsToken) {
        report(node.operatorToken, "logical-assignment", "`" + ts.tokenToString(op) + "`: a SyntaxError on Espruino and JerryScript 2.4; write `if (...) x = ...`");
      }
      break;
    }
    case K.SpreadElement:
    case K.SpreadAssignment:
      report(node, "spread", "spread: Espruino has none; copy with an index loop");
      break;
    case K.Parameter:
      if (node.dotDotDotToken) report(node, "rest-parameter", "rest parameter: Espruino has none; pass an array");
      if (node.initializer) report(node, "default-parameter", "default parameter value: Espruino has none; test for undefined in the body");
      break;
    case K.PropertyAccessExpression:
    case K.ElementAccessExpression:
    case K.CallExpression:
      if (node.questionDotToken) report(node.questionDotToken, "optional-chaining", "`?.`: a SyntaxError on JerryScript 2.4 and missing on Espruino; test explicitly");
      if (ts.isCallExpression(node) && node.expression.kind === K.ImportKeyword) {
        report(node, "dynamic-import", "import(): boards run one bundled classic script");
      }
      if (ts.isPropertyAccessExpression(node)) checkMember(node, report);
      break;
    case K.AwaitExpression:
      report(node, "async", "await: Espruino has no async/await");
      break;
    case K.ForOfStatement:
      report(node, "for-of", "for...of: Espruino has no iterators; use an index loop");
      if (node.awaitModifier) report(node.awaitModifier, "async", "for await: Espruino has no async iteration");
      checkLoopTarget(node, report);
      break;
    case K.ForInStatement:
      report(node, "for-in", "for...in: use an index loop over an array");
      checkLoopTarget(node, report);
      break;
    case K.ForStatement:
      checkLoopClosure(node, report);
      break;
    case K.YieldExpression:
      report(node, "generator", "yield: Espruino has no generators");
      break;
    case K.LabeledStatement:
      report(node, "label", "label `" + node.label.text + "`: Espruino has no labels; use a flag or a function");
      break;
    case K.PrivateIdentifier:
      report(node, "private-name", "`" + node.text + "`: a SyntaxError on Espruino and JerryScript 2.4; use TypeScript `private`");
      break;
    case K.ComputedPropertyName:
      report(node, "computed-key", "computed property name: Espruino has none; assign `o[k] = v` after creating the object");
      break;
    case K.TaggedTemplateExpression:
      report(node, "tagged-template", "tagged template: Espruino has none; call a function");
      break;
    case K.ClassStaticBlockDeclaration:
      report(node, "static-block", "static block: a SyntaxError on Espruino and JerryScript 2.4");
      break;
    case K.GetAccessor:
    case K.SetAccessor:
      report(node, "accessor", (node.kind === K.GetAccessor ? "getter" : "setter") + ": Espruino handles accessors poorly; use a method");
      break;
    case K.PropertyDeclaration:
      if (hasModifier(node, K.AccessorKeyword)) report(node, "accessor", "`accessor` field: Espruino handles accessors poorly; use a method");
      break;
    case K.MetaProperty:
      if (node.keywordToken === K.NewKeyword) report(node, "new-target", "new.target: Espruino has none");
      else report(node, "import-meta", "import.meta: boards run one classic script");
      break;
    case K.RegularExpressionLiteral:
      report(node, "regex", "regular expression: the core needs none, and Espruino lacks the s/u/y/d flags; scan the characters");
      break;
    case K.BigIntLiteral:
      report(node, "bigint", "BigInt literal: neither Espruino nor JerryScript 2.4 has BigInt");
      if (node.getText(sf).includes("_")) report(node, "numeric-separator", "numeric separator: Espruino and JerryScript 2.4 reject it");
      break;
    case K.NumericLiteral:
      if (node.getText(sf).includes("_")) report(node, "numeric-separator", "numeric separator: Espruino and JerryScript 2.4 reject it");
      break;
    case K.ExportAssignment:
      report(node, "export-default", (node.isExportEquals ? "export =" : "export default") + ": use named exports (`export *` drops defaults)");
      break;
    case K.ExportSpecifier:
      if (node.name.text === "default") report(node, "export-default", "export as default: use named exports (`export *` drops defaults)");
      break;
    case K.CatchClause:
      if (!node.variableDeclaration) report(node, "catch-binding", "catch without a binding: Espruino's parser requires `catch (e)`");
      break;
    case K.Decorator:
      report(node, "decorator", "decorator: its helpers need runtime features Espruino lacks");
      break;
    case K.VariableDeclarationList:
      if (node.flags & ts.NodeFlags.Using) report(node, "using", "`using`: needs Symbol.dispose; no board engine has it");
      break;
    case K.Identifier:
      checkIdentifier(node, report);
      break;
    case K.ImportDeclaration:
      checkImport(node, node.moduleSpecifier, sf, root, report);
      break;
    case K.ExportDeclaration:
      if (node.moduleSpecifier) checkImport(node, node.moduleSpecifier, sf, root, report);
      break;
    case K.ImportEqualsDeclaration:
      if (ts.isExternalModuleReference(node.moduleReference)) {
        report(node, "import", "`import x = require()` compiles to require(); use an ES import");
      }
      break;
  }
  if (isFunctionWithBody(node)) {
    const asyncMod = (ts.canHaveModifiers(node) ? ts.getModifiers(node) ?? [] : []).find((m) => m.kind === K.AsyncKeyword);
    if (asyncMod) report(asyncMod, "async", "async function: Espruino has no async/await; take a callback or return a status");
    if (node.asteriskToken) report(node, "generator", "generator function: Espruino has none");
  }
  if (hasModifier(node, K.DefaultKeyword) && hasModifier(node, K.ExportKeyword)) {
    report(node, "export-default", "export default: use named exports (`export *` drops defaults)");
  }
}

function isFunctionWithBody(node) {
  return (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) ||
    ts.isMethodDeclaration(node)) && node.body !== undefined;
}

/** `for ([a, b] of x)`: the destructuring target is an expression, not a binding pattern. */
function checkLoopTarget(node, report) {
  const init = node.initializer;
  if (ts.isObjectLiteralExpression(init) || ts.isArrayLiteralExpression(init)) {
    report(init, "destructuring", "destructuring in a loop head: Espruino has none");
  }
}

/** Identifiers in a value position (not property names, declarations, labels or specifiers). */
function isValueReference(id) {
  const p = id.parent;
  if (!p) return false;
  if (ts.isShorthandPropertyAssignment(p)) return p.name === id;
  if (p.name === id) return false; // property access name, declaration, property/method name ...
  if (p.propertyName === id) return false; // binding element key, import/export specifier
  if (p.label === id) return false; // labels, break/continue
  if (ts.isQualifiedName(p)) return false;
  return true;
}

function valueSymbol(id) {
  const p = id.parent;
  if (ts.isShorthandPropertyAssignment(p) && p.name === id) return checker.getShorthandAssignmentValueSymbol(p);
  return checker.getSymbolAtLocation(id);
}

/** Declared by the linted code itself (not ambiently, not in a .d.ts): then it is not the global. */
function isOwnSymbol(sym) {
  return sym !== undefined && (sym.declarations ?? []).some(
    (d) => !d.getSourceFile().isDeclarationFile && !(d.flags & ts.NodeFlags.Ambient),
  );
}

function isGlobalRef(id, name) {
  return ts.isIdentifier(id) && id.text === name && isValueReference(id) && !isOwnSymbol(valueSymbol(id));
}

function checkIdentifier(id, report) {
  const why = GLOBALS.get(id.text);
  if (why === undefined || !isValueReference(id)) return;
  if (isOwnSymbol(valueSymbol(id))) return;
  report(id, "global", "`" + id.text + "`: " + why);
}

function checkMember(node, report) {
  const name = node.name.text;
  const e = node.expression;
  // Owner.member on a global owner; String.fromCharCode.apply spelled as a three-part path.
  if (ts.isIdentifier(e)) {
    const why = STATIC_MEMBERS.get(e.text + "." + name);
    if (why !== undefined && isGlobalRef(e, e.text)) report(node, "api", "`" + e.text + "." + name + "`: " + why);
  } else if (name === "apply" && ts.isPropertyAccessExpression(e) && e.name.text === "fromCharCode" && isGlobalRef(e.expression, "String")) {
    report(node, "api", "`String.fromCharCode.apply`: " + STATIC_MEMBERS.get("String.fromCharCode.apply"));
  }
  const why = METHODS.get(name);
  if (why === undefined) return;
  const called = ts.isCallExpression(node.parent) && node.parent.expression === node;
  const onPrototype = ts.isPropertyAccessExpression(e) && e.name.text === "prototype";
  if (!called && !onPrototype) return;
  if (isOwnSymbol(checker.getSymbolAtLocation(node.name))) return; // a method of our own, like Outbox.at
  report(node.name, "api", "`." + name + "()`: " + why);
}

function checkImport(node, spec, sf, root, report) {
  if (!ts.isStringLiteral(spec)) return;
  const target = spec.text;
  if (!/^\.\.?(\/|$)/.test(target)) {
    const hint = ts.isImportDeclaration(node) ? "; use `import type` for types" : "";
    report(spec, "import", "non-relative import \"" + target + "\": the core imports no runtime module" + hint);
    return;
  }
  if (root !== null) {
    const to = resolve(dirname(sf.fileName), target);
    if (to !== root && !to.startsWith(root + sep)) {
      report(spec, "import", "relative import \"" + target + "\" leaves " + display(root) + ": the core must not depend on boards or tools");
    }
  }
}

/** Closures created in `for (let i ...)` that read `i` all see its last value on Espruino. */
function checkLoopClosure(loop, report) {
  const init = loop.initializer;
  if (!init || !ts.isVariableDeclarationList(init) || !(init.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const))) return;
  const loopVars = new Set();
  const addNames = (name) => {
    if (ts.isIdentifier(name)) {
      const sym = checker.getSymbolAtLocation(name);
      if (sym) loopVars.add(sym);
    } else {
      for (const el of name.elements) if (!ts.isOmittedExpression(el)) addNames(el.name);
    }
  };
  for (const d of init.declarations) addNames(d.name);
  if (loopVars.size === 0) return;
  const reported = new Set();
  const walk = (node, fn) => {
    if (isTypeOnly(node)) return;
    if (isFunctionWithBody(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node) || ts.isConstructorDeclaration(node)) fn = node;
    if (fn && !reported.has(fn) && ts.isIdentifier(node) && isValueReference(node) && loopVars.has(valueSymbol(node))) {
      reported.add(fn);
      report(node, "loop-closure", "closure captures loop variable `" + node.text + "`: Espruino has no per-iteration binding, so it sees the last value; pass the value to a function that builds the closure");
    }
    ts.forEachChild(node, (c) => walk(c, fn));
  };
  for (const part of [loop.condition, loop.incrementor, loop.statement]) if (part) walk(part, null);
}

// ---------------------------------------------------------------------------------------------
// Suppression directives
// ---------------------------------------------------------------------------------------------
/** Every `// lint-portable-ignore-next-line` comment of the file (comments found via the AST). */
function collectDirectives(sf) {
  const text = sf.text;
  const seen = new Set();
  const out = [];
  const take = (ranges) => {
    for (const r of ranges ?? []) {
      if (seen.has(r.pos)) continue;
      seen.add(r.pos);
      if (r.kind !== ts.SyntaxKind.SingleLineCommentTrivia) continue;
      const body = text.slice(r.pos + 2, r.end).trim();
      if (!body.startsWith(DIRECTIVE) || /^\S/.test(body.slice(DIRECTIVE.length))) continue;
      const rest = body.slice(DIRECTIVE.length);
      const dash = rest.indexOf("--");
      const line = sf.getLineAndCharacterOfPosition(r.pos);
      out.push({
        line: line.line + 1,
        col: line.character + 1,
        rule: (dash < 0 ? rest : rest.slice(0, dash)).trim(),
        reason: dash < 0 ? "" : rest.slice(dash + 2).trim(),
        used: false,
      });
    }
  };
  const walk = (node) => {
    take(ts.getLeadingCommentRanges(text, node.pos));
    take(ts.getTrailingCommentRanges(text, node.end));
    ts.forEachChild(node, walk);
  };
  walk(sf);
  take(ts.getLeadingCommentRanges(text, sf.endOfFileToken.pos));
  return out;
}

function emit(sf, local, directives) {
  const valid = [];
  for (const d of directives) {
    if (d.rule === "" || /\s/.test(d.rule)) {
      local.push({ line: d.line, col: d.col, rule: "suppression", message: "name one rule: // " + DIRECTIVE + " <rule> -- <reason>" });
    } else if (!RULE_IDS.has(d.rule) || UNSUPPRESSIBLE.has(d.rule)) {
      local.push({ line: d.line, col: d.col, rule: "suppression", message: "no suppressible rule `" + d.rule + "` (see --list-rules)" });
    } else if (d.reason === "") {
      local.push({ line: d.line, col: d.col, rule: "suppression", message: "give the reason: // " + DIRECTIVE + " " + d.rule + " -- <reason>" });
    } else {
      valid.push(d);
    }
  }
  const kept = local.filter((f) => {
    const d = valid.find((x) => x.line === f.line - 1 && x.rule === f.rule);
    if (d === undefined) return true;
    d.used = true;
    return false;
  });
  for (const d of valid) {
    if (!d.used) kept.push({ line: d.line, col: d.col, rule: "suppression", message: "unused: no `" + d.rule + "` finding on the next line" });
  }
  kept.sort((a, b) => a.line - b.line || a.col - b.col);
  for (const f of kept) findings.push({ file: display(sf.fileName), ...f });
}

function display(path) {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------
for (const f of findings) console.log(f.file + ":" + f.line + ":" + f.col + "  " + f.rule + "  " + f.message);
if (findings.length > 0) {
  const fileCount = new Set(findings.map((f) => f.file)).size;
  console.error(findings.length + " finding" + (findings.length === 1 ? "" : "s") + " in " + fileCount + " file" + (fileCount === 1 ? "" : "s"));
  process.exit(1);
}
console.log(files.length + " file" + (files.length === 1 ? "" : "s") + " clean");

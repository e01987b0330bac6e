// One bundle per runtime, each a single minified file:
//   dist/espruino/mcu-mqtt.js  Espruino module (assigns to `exports`), ES5 syntax: Espruino parses
//                              a subset of ES2015 and hoists nothing, and duktape (ES5.1) runs it
//                              in the tests.
//   dist/kaluma/mcu-mqtt.js    CommonJS for Kaluma's JerryScript 2.4 (ES2019: no `?.`, no `??=`).
//   dist/<runtime>/mcu-mqtt-qos0.js  the QoS 0-only client of each, for the smallest boards.
// TypeScript is only transpiled here; `npm run typecheck` checks the types.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import ts from "typescript";
import { transform } from "esbuild";
import { privateNames } from "./scripts/private-names.mjs";

const TARGETS = {
  espruino: { ts: ts.ScriptTarget.ES5, esbuild: "es5", entry: "boards/espruino/index.ts", byteStrings: true },
  kaluma: { ts: ts.ScriptTarget.ES2019, esbuild: "es2019", entry: "boards/kaluma/index.ts", byteStrings: false },
};

/** Replaces src/build-flags.ts with this bundle's constants, so dead branches are dropped. */
function buildFlags(flags) {
  return {
    name: "build-flags",
    load(id) {
      if (!id.endsWith("/src/build-flags.ts")) return null;
      return Object.keys(flags).map((name) => `export const ${name} = ${JSON.stringify(flags[name])};`).join("\n");
    },
  };
}

/** Transpiles .ts to the target's syntax level. */
function typescript(target) {
  return {
    name: "typescript-transpile",
    transform(code, id) {
      if (!id.endsWith(".ts")) return null;
      const out = ts.transpileModule(code, {
        fileName: id,
        compilerOptions: {
          target,
          module: ts.ModuleKind.ESNext,
          sourceMap: false,
          importHelpers: false,
          useDefineForClassFields: false,
          verbatimModuleSyntax: false,
          isolatedModules: true,
        },
      });
      return { code: out.outputText, map: null };
    },
  };
}

// Private member names are renamed too: Espruino keeps a module's source text in RAM. The board
// client (src/compact.ts) marks its private members with a trailing "_".
const PRIVATE = privateNames(["src", "boards"].filter((d) => existsSync(d)));
const MANGLE = new RegExp((PRIVATE.length > 0 ? "^(" + PRIVATE.join("|") + ")$|" : "") + "^[a-z]+_$");

/**
 * TypeScript lowers a class to ES5 as `var C = (function () { function C() {…} C.prototype.m =
 * function () {…}; return C; }())`. On Espruino every function made while another function runs
 * costs some 3 to 4 variables more than one made at the module's top level (measured from
 * Storage on its interpreter: 20 methods, 211 variables inside the wrapper, 134 outside), so the
 * wrapper goes: its statements move to the top level. Only a wrapper holding nothing but the
 * constructor and assignments is unwrapped; its names are the class's own, which the var declared.
 */
function unwrapClasses(code) {
  const sf = ts.createSourceFile("bundle.js", code, ts.ScriptTarget.ES5, true);
  const strip = (e) => (e && ts.isParenthesizedExpression(e) ? strip(e.expression) : e);
  /** The statements of the class wrapper that initializes `d`, or null. */
  const classBody = (d) => {
    const call = strip(d.initializer);
    if (!call || !ts.isCallExpression(call) || call.arguments.length) return null;
    const fn = strip(call.expression);
    if (!fn || !ts.isFunctionExpression(fn) || fn.parameters.length) return null;
    const st = fn.body.statements;
    const name = d.name.getText(sf);
    const last = st[st.length - 1];
    if (!last || !ts.isReturnStatement(last) || !last.expression || last.expression.getText(sf) !== name) return null;
    if (!ts.isFunctionDeclaration(st[0]) || !st[0].name || st[0].name.text !== name) return null;
    for (let i = 1; i < st.length - 1; i++) if (!ts.isExpressionStatement(st[i])) return null;
    return st.slice(0, st.length - 1);
  };
  let out = "";
  let at = 0;
  for (const stmt of sf.statements) {
    if (!ts.isVariableStatement(stmt)) continue;
    const decls = stmt.declarationList.declarations;
    if (!decls.some((d) => classBody(d))) continue;
    const parts = decls.map((d) => {
      const body = classBody(d);
      return body ? body.map((x) => x.getText(sf)).join("\n") : "var " + d.getText(sf) + ";";
    });
    out += code.slice(at, stmt.getStart(sf)) + parts.join("\n");
    at = stmt.end;
  }
  return out + code.slice(at);
}

/**
 * Minifies the finished chunk. The first pass (ES2019) folds constants into the code that uses
 * them (each top-level `var` costs memory on Espruino) and renames private members; an ES5 bundle
 * is then lowered by TypeScript and minified once more.
 */
function minify(esTarget) {
  return {
    name: "esbuild-minify",
    async renderChunk(code) {
      let out = (await transform(code, { minify: true, treeShaking: true, target: "es2019", format: "cjs", legalComments: "none", mangleProps: MANGLE })).code;
      if (esTarget === "es5") {
        const lowered = unwrapClasses(ts.transpileModule(out, { compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.CommonJS, removeComments: true } }).outputText);
        out = (await transform(lowered, { minify: true, target: "es5", format: "cjs", legalComments: "none" })).code;
      }
      return { code: out, map: null };
    },
  };
}

/**
 * The bundles are CommonJS inside an ESM package: a package.json beside each says so, or Node and
 * bundlers (esbuild, webpack) would read `exports` in them as an undeclared global.
 */
function commonjsMarker() {
  return {
    name: "commonjs-marker",
    writeBundle(options) {
      const dir = dirname(options.file);
      mkdirSync(dir, { recursive: true });
      writeFileSync(dir + "/package.json", JSON.stringify({ type: "commonjs" }) + "\n");
    },
  };
}

function bundle(runtime, entry, file, flags) {
  const t = TARGETS[runtime];
  return {
    input: entry,
    treeshake: { moduleSideEffects: false },
    plugins: [buildFlags(flags), typescript(ts.ScriptTarget.ES2019), minify(t.esbuild), commonjsMarker()],
    output: {
      file,
      format: "cjs",
      exports: "named",
      esModule: false,
      strict: false,
      generatedCode: { constBindings: runtime !== "espruino" },
    },
    onwarn(warning, warn) {
      if (warning.code === "CIRCULAR_DEPENDENCY") return;
      warn(warning);
    },
  };
}

const configs = [];
for (const runtime of Object.keys(TARGETS)) {
  const entry = TARGETS[runtime].entry;
  if (!existsSync(entry)) continue;
  const byteStrings = TARGETS[runtime].byteStrings;
  configs.push(bundle(runtime, entry, `dist/${runtime}/mcu-mqtt.js`, { DEBUG: false, QOS12: true, BYTE_STRINGS: byteStrings }));
  // The same client without QoS 1/2, for the boards with the least memory.
  configs.push(bundle(runtime, entry, `dist/${runtime}/mcu-mqtt-qos0.js`, { DEBUG: false, QOS12: false, BYTE_STRINGS: byteStrings }));
}
// The portable core alone, for the small-engine harnesses and the size table.
configs.push(bundle("espruino", "src/index.ts", "dist/core/mcu-mqtt-core.es5.js", { DEBUG: false, QOS12: true, BYTE_STRINGS: false }));
configs.push(bundle("kaluma", "src/index.ts", "dist/core/mcu-mqtt-core.es2019.js", { DEBUG: false, QOS12: true, BYTE_STRINGS: false }));

export default configs;

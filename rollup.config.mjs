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
        const lowered = ts.transpileModule(out, { compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.CommonJS, removeComments: true } }).outputText;
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

#!/usr/bin/env node
// Runs after `tsc -p tsconfig.build.json` (npm run build). tsc keeps the source layout under
// dist/node (src/, boards/node/, cli/), while package.json's "main" and "types" name
// dist/node/index.js and dist/node/index.d.ts: this writes those two as re-exports of the Node
// board's entry, dist/node/boards/node/index.js.
import { existsSync, writeFileSync } from "node:fs";

const root = new URL("../dist/node/", import.meta.url);
if (!existsSync(new URL("boards/node/index.js", root))) {
  console.error("write-package-entry: dist/node/boards/node/index.js is missing; run tsc -p tsconfig.build.json first");
  process.exit(1);
}
const line = 'export * from "./boards/node/index.js";\n';
writeFileSync(new URL("index.js", root), line);
writeFileSync(new URL("index.d.ts", root), line);

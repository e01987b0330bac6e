// The names of `private` class members in the bundled TypeScript that appear nowhere as a public
// name: no public member, interface or type member declares them, and no builtin object has a
// property of that name. The bundler may rename these everywhere (property mangling), which
// matters on Espruino, where the source text of a module is kept in RAM.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const ts = require("typescript");

function tsFiles(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) tsFiles(path, out);
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

function builtinNames() {
  const names = new Set();
  const objects = [
    Object.prototype, Array.prototype, String.prototype, Number.prototype, Function.prototype,
    Uint8Array.prototype, Object.getPrototypeOf(Uint8Array.prototype), Int32Array.prototype,
    ArrayBuffer.prototype, DataView.prototype, Error.prototype, Promise.prototype, RegExp.prototype,
    Date.prototype, Math, JSON, Object, Array, String, Number, Promise, globalThis,
  ];
  for (const o of objects) for (const n of Object.getOwnPropertyNames(o)) names.add(n);
  return names;
}

/** Private member names safe to rename, for the roots given (e.g. ["src", "boards/espruino"]). */
export function privateNames(roots) {
  const candidates = new Set();
  const publicNames = builtinNames();
  for (const root of roots) {
    for (const file of tsFiles(root, [])) {
      const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
      const visit = (node) => {
        const name = node.name && ts.isIdentifier(node.name) ? node.name.text : null;
        if (name && (ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node))) {
          const isPrivate = (ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Private) !== 0;
          (isPrivate ? candidates : publicNames).add(name);
        } else if (name && (ts.isPropertySignature(node) || ts.isMethodSignature(node) || ts.isPropertyAssignment(node) ||
            ts.isShorthandPropertyAssignment(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node))) {
          publicNames.add(name);
        } else if (ts.isPropertyAccessExpression(node) && node.expression.kind !== ts.SyntaxKind.ThisKeyword &&
            ts.isIdentifier(node.name)) {
          // Reached through something other than `this`: it may belong to a runtime's object (a
          // socket, `E`, `console`), where renaming would break the call. Keep it.
          publicNames.add(node.name.text);
        } else if (ts.isParameter(node) && ts.isIdentifier(node.name) && ts.isParameterPropertyDeclaration(node, node.parent)) {
          const isPrivate = (ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Private) !== 0;
          (isPrivate ? candidates : publicNames).add(node.name.text);
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
  }
  return [...candidates].filter((n) => !publicNames.has(n)).sort();
}

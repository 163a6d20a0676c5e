// Runs the README's Node example as written (it imports "maitre/node", which
// resolves to this package through its own "exports").
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join, resolve } from "node:path";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

test("README Node example runs", async () => {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  const node = blocks.find((b) => b.includes('from "maitre/node"'));
  assert.ok(node, "README has a Node example");
  // console.assert only prints: make a failed assertion fail the test.
  const code = node.replaceAll("console.assert(", "assertOk(")
    .replace(/^/, 'import { ok as assertOk } from "node:assert";\n');
  const dir = join(ROOT, "tests", "artifacts"); // inside the package, so "maitre/node" resolves
  await mkdir(dir, { recursive: true });
  const file = join(dir, "readme-node.mjs");
  await writeFile(file, code);
  const logged = [];
  const log = console.log;
  console.log = (...args) => logged.push(args);
  try {
    await import(pathToFileURL(file).href);
  } finally {
    console.log = log;
  }
  assert.equal(typeof logged[0][0], "number");
});

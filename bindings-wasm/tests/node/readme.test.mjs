// Runs the README's Node examples as written (they import "maitre/node", which
// resolves to this package through its own "exports"). The storefront example
// runs in the directory export_storefront writes to.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join, resolve } from "node:path";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const DATA = resolve(ROOT, "../examples/storefront/data");

const readme = await readFile(join(ROOT, "README.md"), "utf8");
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
  .map((m) => m[1])
  .filter((b) => b.includes('from "maitre/node"'));

test("README has Node examples", () => {
  assert.ok(blocks.length >= 2, `${blocks.length} Node examples`);
});

blocks.forEach((block, n) => {
  test(`README Node example ${n + 1} runs`, async () => {
    // console.assert only prints: make a failed assertion fail the test.
    const code = block.replaceAll("console.assert(", "assertOk(")
      .replace(/^/, 'import { ok as assertOk } from "node:assert";\n');
    const dir = join(ROOT, "tests", "artifacts"); // inside the package, so "maitre/node" resolves
    await mkdir(dir, { recursive: true });
    const file = join(dir, `readme-node-${n + 1}.mjs`);
    await writeFile(file, code);
    const logged = [];
    const log = console.log;
    const cwd = process.cwd();
    console.log = (...args) => logged.push(args);
    if (block.includes("storefront.maitre")) process.chdir(DATA);
    try {
      await import(pathToFileURL(file).href);
    } finally {
      console.log = log;
      process.chdir(cwd);
    }
    assert.ok(logged.length > 0, "the example prints");
  });
});

// Opens tests/browser/index.html in Debian's Chromium (playwright-core, no
// downloaded browsers) and checks what the page shows. Serves bindings-wasm/
// with a tiny static server on a free port.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { mkdir, readFile } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const ARTIFACTS = join(ROOT, "tests", "artifacts");
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

function serve() {
  const server = http.createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const file = join(ROOT, path);
    if (!file.startsWith(ROOT + "/")) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

test("the browser page ingests, rejects a bad batch and evaluates", async () => {
  const server = await serve();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage();
    const consoleErrors = [];
    const pageErrors = [];
    const failedRequests = [];
    page.on("console", (msg) => {
      if (msg.type() === "error") consoleErrors.push(msg.text());
    });
    page.on("pageerror", (err) => pageErrors.push(String(err)));
    page.on("requestfailed", (req) => failedRequests.push(req.url()));
    page.on("response", (res) => {
      if (res.status() >= 400) failedRequests.push(`${res.status()} ${res.url()}`);
    });

    const { port } = server.address();
    await page.goto(`http://127.0.0.1:${port}/tests/browser/index.html`);
    await page.waitForSelector("body:not([data-status=loading])", { timeout: 60_000 });

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "browser.png"), fullPage: true });

    assert.equal(await page.getAttribute("body", "data-status"), "done",
      await page.textContent("#fatal"));
    assert.equal(await page.textContent("#accepted"), "3");
    assert.equal(await page.textContent("#length"), "3");
    const summary = JSON.parse(await page.textContent("#summary"));
    assert.equal(summary.customers, 1);
    assert.equal(summary.links, 1);

    assert.equal(await page.textContent("#error"), "row 1: field `item_id` is empty");
    assert.equal(await page.getAttribute("#error", "data-kind"), "BadRecord");
    assert.equal(await page.textContent("#length-after"), "3");

    assert.match(await page.textContent("#eval-meta"), /^leave-last-out: [1-9]\d* tested customers, [1-9]\d* items$/);
    for (const model of ["popularity", "item-knn"]) {
      const cells = await page.$$eval(`#results tr[data-model="${model}"] td[data-metric]`,
        (tds) => tds.map((td) => [td.dataset.metric, Number(td.textContent)]));
      assert.equal(cells.length, 6, model);
      for (const [metric, value] of cells) {
        assert.ok(value >= 0 && value <= 1, `${model} ${metric} = ${value}`);
      }
    }

    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(failedRequests, []);
  } finally {
    await browser.close();
    server.close();
  }
});

// The storefront demo (examples/storefront) in Debian's Chromium: clicking
// products moves the rails, the visitor's events never leave the page, the
// page's lists equal the full Rust model's, and how fast it all is.
// Needs `examples/storefront/prepare.sh` (or ci.sh) to have run.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { existsSync } from "node:fs";
import { mkdir, readFile, stat } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const PACKAGE = resolve(fileURLToPath(import.meta.url), "../../..");
const SITE = resolve(PACKAGE, "../examples/storefront");
const ARTIFACTS = join(PACKAGE, "tests", "artifacts");
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
};
/** Every file the page may fetch: its own static files, nothing else. */
const STATIC = new Set([
  "/index.html",
  "/style.css",
  "/app.js",
  "/pkg/maitre.js",
  "/pkg/maitre_bg.wasm",
  "/data/storefront.maitre",
  "/data/catalog.json",
]);

for (const f of ["pkg/maitre.js", "data/storefront.maitre", "data/expected.json", "data/storefront-20k.maitre"]) {
  if (!existsSync(join(SITE, f))) {
    throw new Error(`${SITE}/${f} is missing: run \`bash examples/storefront/prepare.sh\` first`);
  }
}

function serve() {
  const server = http.createServer(async (req, res) => {
    let path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (path === "/") path = "/index.html";
    const file = join(SITE, path);
    if (!file.startsWith(SITE + "/")) {
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

async function launch() {
  return chromium.launch({
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
}

/** Categories of the items in a rail. */
const railCategories = (page, rail) =>
  page.$$eval(`#${rail} .tile`, (tiles) => tiles.map((t) => t.dataset.category));

test("the storefront page personalises in the browser and keeps events local", async () => {
  const server = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const origin = `http://127.0.0.1:${server.address().port}`;
    const problems = [];
    const requests = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("requestfailed", (r) => problems.push(`failed ${r.url()}`));
    page.on("request", (r) => requests.push({ url: r.url(), method: r.method(), body: r.postData() }));

    await page.goto(`${origin}/index.html`);
    await page.waitForSelector("body:not([data-status=loading])", { timeout: 60_000 });
    assert.equal(await page.getAttribute("body", "data-status"), "ready", await page.textContent("#status"));
    const loaded = requests.length;

    // Three products of one category, clicked from the shop grid.
    const category = "kitchen";
    const before = await railCategories(page, "rail-for-you");
    await page.click(`#categories button[data-category="${category}"]`);
    const clicked = [];
    for (let i = 0; i < 3; i++) {
      const renders = Number(await page.getAttribute("body", "data-renders"));
      const tile = page.locator(`#grid .tile[data-category="${category}"]:not(.seen)`).first();
      clicked.push(await tile.getAttribute("data-item"));
      await tile.click();
      await page.waitForFunction((n) => Number(document.body.dataset.renders) > n, renders);
    }
    const after = await railCategories(page, "rail-for-you");
    const share = (list) => list.filter((c) => c === category).length;
    console.log(`# rail before: ${before.join(", ")}`);
    console.log(`# rail after 3 ${category} views: ${after.join(", ")}`);
    assert.equal(after.length, 8);
    assert.ok(share(after) >= 4 && share(after) > share(before),
      `${category}: ${share(before)} → ${share(after)} of 8`);
    const railItems = await page.$$eval("#rail-for-you .tile", (t) => t.map((x) => x.dataset.item));
    assert.ok(clicked.every((id) => !railItems.includes(id)), "viewed items are not recommended again");
    assert.match(await page.textContent("#because"), /^Because you viewed /);
    const content = await page.$$eval("#rail-content .tile", (t) => t.map((x) => x.dataset.kind));
    assert.equal(content.length, 4);
    assert.ok(content.every((k) => k === "content"));
    const guideCategories = await railCategories(page, "rail-content");
    assert.ok(guideCategories.includes(category), `content rail: ${guideCategories}`);
    assert.equal(await page.locator("#events li").count(), 3);

    // The events are in localStorage, and survive a reload.
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem("maitre.storefront-demo")));
    assert.deepEqual(stored.events.map((e) => e.item), clicked);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "storefront.png"), fullPage: true });

    // No request after loading, and none at all but the page's static files.
    assert.equal(requests.length, loaded, `requests after load: ${JSON.stringify(requests.slice(loaded))}`);
    for (const r of requests) {
      const url = new URL(r.url);
      assert.equal(url.origin, origin, r.url);
      assert.equal(r.method, "GET", r.url);
      assert.equal(r.body ?? null, null, r.url);
      assert.equal(url.search, "", r.url);
      assert.ok(STATIC.has(url.pathname), `unexpected request ${r.url}`);
      assert.ok(clicked.every((id) => !r.url.includes(id)), r.url);
    }

    await page.reload();
    await page.waitForSelector("body[data-status=ready]", { timeout: 60_000 });
    assert.equal(await page.locator("#events li").count(), 3, "the session survives a reload");
    await page.click("#forget");
    assert.equal(await page.locator("#events li").count(), 0);
    assert.equal(await page.evaluate(() => localStorage.getItem("maitre.storefront-demo")), null);

    // Timings, in the page: artifact load and a filtered top-10.
    const t = await page.evaluate(async () => {
      const { Storefront } = await import("./pkg/maitre.js");
      const bytes = new Uint8Array(await (await fetch("./data/storefront.maitre")).arrayBuffer());
      const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
      const loads = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        Storefront.load(bytes).free();
        loads.push(performance.now() - t0);
      }
      const { shop, catalog } = window.maitreDemo;
      const products = [...catalog.values()].filter((i) => i.kind === "product");
      const s = shop.session();
      for (const i of [0, 12, 24]) s.view(products[i].id);
      const options = { k: 10, context: { device: "desktop" }, filters: { maxPrice: 200, predicates: [{ field: "priceBand", values: ["high"], negate: true }] }, diversity: { maxPerCategory: 4 }, rotate: false };
      for (let i = 0; i < 20; i++) s.recommend(options); // warm-up
      const calls = [];
      for (let i = 0; i < 200; i++) {
        const t0 = performance.now();
        s.recommend(options);
        calls.push(performance.now() - t0);
      }
      const similar = [];
      for (let i = 0; i < 50; i++) {
        const t0 = performance.now();
        shop.similarItems(products[i].id, 10);
        similar.push(performance.now() - t0);
      }
      s.free();
      return {
        items: shop.length,
        firstLoad: window.maitreDemo.timings,
        loadMedian: median(loads),
        recommendMedian: median(calls),
        recommendP95: calls.sort((a, b) => a - b)[Math.floor(calls.length * 0.95)],
        similarMedian: median(similar),
      };
    });
    const artifact = (await stat(join(SITE, "data/storefront.maitre"))).size;
    const wasm = await readFile(join(SITE, "pkg/maitre_bg.wasm"));
    const wasmGz = gzipSync(wasm, { level: 9 }).length;
    console.log(`# Chromium ${browser.version()}, ${t.items} items`);
    console.log(`# sizes: maitre_bg.wasm ${(wasm.length / 1024).toFixed(0)} KB, ${(wasmGz / 1024).toFixed(0)} KB gzipped; storefront.maitre ${(artifact / 1024).toFixed(0)} KB`);
    console.log(`# artifact: fetch ${t.firstLoad.fetchMs.toFixed(1)} ms (with wasm init), Storefront.load ${t.firstLoad.loadMs.toFixed(1)} ms first, median of 5 ${t.loadMedian.toFixed(1)} ms`);
    console.log(`# recommend top-10 with filters: median ${(t.recommendMedian * 1000).toFixed(0)} µs, p95 ${(t.recommendP95 * 1000).toFixed(0)} µs (200 calls)`);
    console.log(`# similarItems top-10: median ${(t.similarMedian * 1000).toFixed(0)} µs (50 calls)`);
    assert.ok(wasmGz < 400 * 1024, `wasm is ${wasmGz} bytes gzipped`);

    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    server.close();
  }
});

test("the offer banner shows an offer, a service action after a return, and reports a click as a reward", async () => {
  const server = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems = [];
    const requests = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    await page.waitForSelector("body[data-status=ready]", { timeout: 60_000 });
    const loaded = requests.length;
    const banner = page.locator("#offer-banner");
    const rerender = async (click) => {
      const renders = Number(await page.getAttribute("body", "data-renders"));
      await page.click(click);
      await page.waitForFunction((n) => Number(document.body.dataset.renders) > n, renders);
    };

    // A new visitor browsing: a sales offer, chosen by the bandit.
    await page.click('#categories button[data-category="kitchen"]'); // redraws only the grid
    await rerender('#grid .tile[data-category="kitchen"]');
    assert.ok(await banner.isVisible(), "the banner is shown");
    assert.equal(await banner.getAttribute("data-kind"), "offer");
    assert.match(await banner.getAttribute("data-offer"), /^offer-/);
    assert.equal(await banner.getAttribute("data-fired"), "");
    assert.match(await page.textContent("#offer-why"), /^Chosen with probability (0|1)\.\d\d among \d+ offers\.$/);
    const offerText = await page.textContent("#offer-cta");

    // A return of the item just viewed: the contact policy holds sales back.
    await rerender("#return-last");
    assert.equal(await banner.getAttribute("data-kind"), "service");
    assert.equal(await banner.getAttribute("data-offer"), "service-return-help");
    assert.match(await banner.getAttribute("data-fired"), /\bno-sales-after-return-or-complaint\b/);
    assert.match(await page.textContent("#offer-why"), /your return \(rule service-first-after-return-or-complaint\)/);
    assert.notEqual(await page.textContent("#offer-cta"), offerText);
    await mkdir(ARTIFACTS, { recursive: true });
    await banner.screenshot({ path: join(ARTIFACTS, "storefront-banner.png") });

    // A click on the banner is a reward for exactly the decision shown.
    const eventId = Number(await banner.getAttribute("data-event-id"));
    await page.click("#offer-cta");
    const rewards = await page.evaluate(() => window.maitreDemo.rewards);
    assert.deepEqual(rewards, [{ eventId, offer: "service-return-help", reward: 1, defaulted: false }]);
    assert.equal(await banner.getAttribute("data-rewarded"), String(eventId));
    assert.match(await page.textContent("#offer-why"), /^Thanks/);
    // The same showing cannot be rewarded twice.
    const again = await page.evaluate((id) => {
      try { window.maitreDemo.session.reward(id, 1); return "accepted"; } catch (e) { return e.kind; }
    }, eventId);
    assert.equal(again, "Unknown");

    assert.deepEqual(requests.slice(loaded), [], "the banner and its reward stay in the page");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    server.close();
  }
});

test("the page's top-10 for the fixed sessions equals the full Rust model's", async () => {
  const expected = JSON.parse(await readFile(join(SITE, "data/expected.json"), "utf8"));
  const server = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    await page.waitForSelector("body[data-status=ready]", { timeout: 60_000 });
    const got = await page.evaluate((sessions) => sessions.map((fixed) => {
      const s = window.maitreDemo.shop.session();
      for (const e of fixed.events) s.record(e.kind, e.item);
      const list = s.recommend(fixed.options);
      s.free();
      return list;
    }), expected.sessions);
    expected.sessions.forEach((fixed, n) => {
      assert.deepEqual(got[n].map((r) => r.item), fixed.expected.map((r) => r.item), fixed.name);
      assert.deepEqual(got[n].map((r) => r.reason), fixed.expected.map((r) => r.reason), fixed.name);
      fixed.expected.forEach((want, i) => {
        const tol = 0.02 * Math.max(Math.abs(want.score), 0.1);
        assert.ok(Math.abs(got[n][i].score - want.score) <= tol,
          `${fixed.name} #${i}: ${got[n][i].score} vs ${want.score}`);
      });
    });
  } finally {
    await browser.close();
    server.close();
  }
});

// The serving budget at its catalogue size: 20,000 items × 64
// dimensions (examples/export_storefront.rs, mode catalog20k). Prints the
// load and recommend medians; asserts only that the lists are well formed,
// since the machine running CI is shared and its timings noisy.
test("a 20,000-item artifact loads and serves filtered top-10s in the page", async () => {
  const server = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    await page.waitForSelector("body[data-status=ready]", { timeout: 60_000 });
    const maxPrice = 120;
    const categories = ["kitchen", "home"];
    const t = await page.evaluate(async ({ maxPrice, categories }) => {
      // The page has initialised the module; this import shares it.
      const { Storefront } = await import("./pkg/maitre.js");
      const t0 = performance.now();
      const bytes = new Uint8Array(await (await fetch("./data/storefront-20k.maitre")).arrayBuffer());
      const fetchMs = performance.now() - t0;
      const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
      const loads = [];
      for (let i = 0; i < 7; i++) {
        const t1 = performance.now();
        Storefront.load(bytes).free();
        loads.push(performance.now() - t1);
      }
      const shop = Storefront.load(bytes);
      const s = shop.session();
      for (const id of ["sku-000002", "sku-000014", "sku-000026", "sku-000003"]) s.view(id);
      const variants = {
        maxPrice: { k: 10, kinds: ["product"], context: { device: "mobile" }, filters: { maxPrice }, rotate: false },
        maxPriceCategories: { k: 10, kinds: ["product"], context: { device: "mobile" }, filters: { maxPrice, categories }, rotate: false },
      };
      const out = { items: shop.length, bytes: bytes.length, fetchMs, loads, loadMedian: median(loads) };
      for (const [name, options] of Object.entries(variants)) {
        for (let i = 0; i < 20; i++) s.recommend(options); // warm-up
        const calls = [];
        let list;
        for (let i = 0; i < 200; i++) {
          const t1 = performance.now();
          list = s.recommend(options);
          calls.push(performance.now() - t1);
        }
        out[name] = {
          median: median(calls),
          p95: [...calls].sort((a, b) => a - b)[Math.floor(calls.length * 0.95)],
          list: list.map((r) => ({ ...r, entry: shop.item(r.item) })),
        };
      }
      s.free();
      shop.free();
      return out;
    }, { maxPrice, categories });

    const wasm = await readFile(join(SITE, "pkg/maitre_bg.wasm"));
    const wasmGz = gzipSync(wasm, { level: 9 }).length;
    console.log(`# Chromium ${browser.version()}, ${t.items} items × 64 dims`);
    console.log(`# sizes: storefront-20k.maitre ${(t.bytes / 1024).toFixed(0)} KB, maitre_bg.wasm ${(wasm.length / 1024).toFixed(0)} KB, ${(wasmGz / 1024).toFixed(0)} KB gzipped`);
    console.log(`# 20k artifact: fetch ${t.fetchMs.toFixed(1)} ms, Storefront.load median of ${t.loads.length} ${t.loadMedian.toFixed(1)} ms (${t.loads.map((x) => x.toFixed(1)).join(", ")})`);
    for (const name of ["maxPrice", "maxPriceCategories"]) {
      const r = t[name];
      console.log(`# 20k recommend top-10 products, ${name}: median ${(r.median * 1000).toFixed(0)} µs, p95 ${(r.p95 * 1000).toFixed(0)} µs (200 calls)`);
    }

    assert.equal(t.items, 20_000);
    for (const name of ["maxPrice", "maxPriceCategories"]) {
      const list = t[name].list;
      assert.equal(list.length, 10, name);
      assert.equal(new Set(list.map((r) => r.item)).size, 10, `${name}: distinct items`);
      for (const r of list) {
        assert.equal(r.entry.kind, "product", `${name}: ${r.item}`);
        assert.ok(r.entry.price <= maxPrice, `${name}: ${r.item} costs ${r.entry.price}`);
        assert.ok(Number.isFinite(r.score), `${name}: ${r.item} score ${r.score}`);
        assert.ok(!["sku-000002", "sku-000014", "sku-000026", "sku-000003"].includes(r.item), `${name}: ${r.item} was viewed`);
        if (name === "maxPriceCategories") {
          assert.ok(categories.includes(r.entry.category), `${name}: ${r.item} is ${r.entry.category}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    server.close();
  }
});

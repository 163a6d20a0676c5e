// Compares builds of the web package in one Node process, calls alternating
// between them, so a build setting (LTO, opt-level, wasm-opt) is judged by a
// ratio in the same run, not against numbers from another day.
//   node bindings-wasm/bench/ab-builds.mjs ARTIFACT DIR_A DIR_B [...]
// Each DIR holds maitre.js and maitre_bg.wasm (`wasm-bindgen --target web`);
// ARTIFACT is a storefront artifact with products sku-000002 … (e.g.
// examples/storefront/data/storefront-20k.maitre from prepare.sh).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [artifact, ...dirs] = process.argv.slice(2);
if (!artifact || dirs.length < 2) {
  console.error("usage: node ab-builds.mjs ARTIFACT DIR_A DIR_B [...]");
  process.exit(2);
}
const bytes = new Uint8Array(readFileSync(artifact));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const runs = [];
for (const dir of dirs) {
  const m = await import(pathToFileURL(resolve(dir, "maitre.js")).href);
  m.initSync({ module: readFileSync(resolve(dir, "maitre_bg.wasm")) });
  const shop = m.Storefront.load(bytes);
  const session = shop.session();
  for (const id of ["sku-000002", "sku-000014", "sku-000026", "sku-000003"]) session.view(id);
  session.useOffers([0, 1, 2, 3, 4, 5].map((i) => ({ item: { id: `o${i}`, kind: "offer" }, value: 1 + i })));
  runs.push({ dir, m, session, load: [], rec: [], nbo: [] });
}
const options = { k: 10, kinds: ["product"], context: { device: "mobile" }, filters: { maxPrice: 120 }, rotate: false };
let now = Math.floor(Date.now() / 1000) + 5;
for (let round = 0; round < 15; round++) {
  for (const r of runs) {
    let t0 = performance.now();
    r.m.Storefront.load(bytes).free();
    r.load.push(performance.now() - t0);
    for (let i = 0; i < 40; i++) {
      t0 = performance.now();
      r.session.recommend(options);
      r.rec.push(performance.now() - t0);
      t0 = performance.now();
      const d = r.session.nextBestOffer(undefined, now);
      r.session.reward(d.chosen[0].eventId, i % 3 === 0 ? 1 : 0, now);
      r.nbo.push(performance.now() - t0);
    }
  }
  now += 1;
}
const [base] = runs;
for (const r of runs) {
  const ratio = (key) => (median(r[key]) / median(base[key])).toFixed(2);
  console.log(`${r.dir}: Storefront.load median ${median(r.load).toFixed(1)} ms (×${ratio("load")}), ` +
    `recommend ${(median(r.rec) * 1000).toFixed(0)} µs (×${ratio("rec")}), ` +
    `nextBestOffer + reward, 6 offers ${(median(r.nbo) * 1000).toFixed(0)} µs (×${ratio("nbo")})`);
}

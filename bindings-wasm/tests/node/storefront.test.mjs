// Storefront and Session through the Node build (pkg-node, CommonJS), on the
// artifact `cargo run --release --example export_storefront` writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";

const require = createRequire(import.meta.url);
const { Storefront } = require("../../pkg-node/maitre.js");

const DATA = resolve(fileURLToPath(import.meta.url), "../../../../examples/storefront/data");
if (!existsSync(join(DATA, "storefront.maitre"))) {
  throw new Error(`${DATA}/storefront.maitre is missing: run \`cargo run --release --example export_storefront\` first`);
}
const bytes = readFileSync(join(DATA, "storefront.maitre"));
const expected = JSON.parse(readFileSync(join(DATA, "expected.json"), "utf8"));
const catalog = JSON.parse(readFileSync(join(DATA, "catalog.json"), "utf8"));
const products = (category) =>
  catalog.filter((i) => i.kind === "product" && i.category === category).map((i) => i.id);

const shop = Storefront.load(new Uint8Array(bytes));

/** A localStorage stand-in: the same methods, strings only. */
class FakeStorage {
  constructor() { this.map = new Map(); }
  getItem(k) { return this.map.has(k) ? this.map.get(k) : null; }
  setItem(k, v) { this.map.set(k, String(v)); }
  removeItem(k) { this.map.delete(k); }
}

/** Calls `fn`, which must throw a maitre Error; returns it. */
function thrown(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error, `not an Error: ${e}`);
    assert.equal(typeof e.kind, "string", e.message);
    return e;
  }
  assert.fail("did not throw");
}

test("newArrivalSlot gives a new arrival the last place", () => {
  // export_storefront adds three products with no events (ids sku-9xxxxx).
  const fresh = new Set(catalog.filter((i) => i.id.startsWith("sku-9")).map((i) => i.id));
  assert.equal(fresh.size, 3);
  const s = shop.session();
  s.view(products("kitchen")[0]);
  const plain = s.recommend({ k: 10, rotate: false });
  const slotted = s.recommend({ k: 10, rotate: false, newArrivalSlot: true });
  assert.equal(slotted.length, 10);
  if (plain.some((r) => fresh.has(r.item))) {
    assert.deepEqual(slotted, plain, "a list that already holds a new arrival is left alone");
  } else {
    assert.equal(slotted[9].reason, "newArrival");
    assert.ok(fresh.has(slotted[9].item), slotted[9].item);
    assert.deepEqual(slotted.slice(0, 9), plain.slice(0, 9));
  }
});

test("loads the artifact and describes items", () => {
  assert.equal(shop.length, expected.items);
  assert.equal(shop.length, catalog.length);
  const item = shop.item(catalog[0].id);
  assert.equal(item.id, catalog[0].id);
  assert.equal(item.kind, "product");
  assert.equal(item.category, catalog[0].category);
  assert.equal(typeof item.inStock, "boolean");
  assert.ok("priceBand" in item);
  assert.equal(item.price, catalog[0].price, "prices as written, not widened from f32");
  // An ArrayBuffer works as well as a Uint8Array.
  const again = Storefront.load(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  assert.equal(again.length, shop.length);
  again.free();
});

test("a session records events and recommends around them", () => {
  const kitchen = products("kitchen");
  const s = shop.session();
  s.view(kitchen[0]);
  s.click(kitchen[1], { device: "mobile" });
  s.addToCart(kitchen[2]);
  s.purchase(kitchen[2]);
  s.dislike(kitchen[3]);
  s.record("share", kitchen[4]);
  assert.equal(s.length, 6);
  assert.deepEqual(s.events.map((e) => e.kind), ["view", "click", "cart", "purchase", "dislike", "share"]);
  assert.deepEqual(s.events[1].context, { device: "mobile" });
  assert.ok(Number.isInteger(s.events[0].timestamp));

  const list = s.recommend({ k: 10 });
  assert.equal(list.length, 10);
  for (const r of list) {
    assert.deepEqual(Object.keys(r).sort().filter((k) => k !== "context"), ["because", "item", "reason", "score"]);
    // By default what was bought or disliked goes; what was only viewed may stay.
    assert.ok(![kitchen[2], kitchen[3]].includes(r.item), "bought and disliked items are left out");
    assert.equal(shop.item(r.item).kind, "product");
  }
  const unseen = s.recommend({ k: 10, filters: { excludeSeen: true } });
  assert.equal(unseen.length, 10);
  assert.ok(unseen.every((r) => !kitchen.slice(0, 5).includes(r.item)), "excludeSeen leaves out every session item");
  const because = list.filter((r) => r.reason === "because");
  assert.ok(because.length > 0);
  for (const r of because) assert.ok(r.because.every((id) => kitchen.includes(id)));
  const kitchenShare = list.filter((r) => shop.item(r.item).category === "kitchen").length;
  assert.ok(kitchenShare >= 5, `${kitchenShare} of 10 kitchen items`);

  const guides = s.recommend({ k: 3, kinds: ["content"] });
  assert.equal(guides.length, 3);
  assert.ok(guides.every((r) => shop.item(r.item).kind === "content"));

  const cheap = s.recommend({ k: 5, filters: { maxPrice: 20, categories: ["kitchen", "home"] } });
  for (const r of cheap) {
    const item = shop.item(r.item);
    assert.ok(item.price <= 20 && ["kitchen", "home"].includes(item.category), JSON.stringify(item));
  }
  const capped = s.recommend({ k: 10, diversity: { maxPerCategory: 2 }, rotate: false });
  const per = {};
  for (const r of capped) per[shop.item(r.item).category] = (per[shop.item(r.item).category] ?? 0) + 1;
  assert.ok(Object.values(per).every((n) => n <= 2), JSON.stringify(per));
  s.free();
});

test("events are bounded, oldest dropped first", () => {
  const ids = products("books").slice(0, 5);
  const s = shop.session({ maxEvents: 3 });
  for (const id of ids) s.view(id);
  assert.deepEqual(s.events.map((e) => e.item), ids.slice(2));
  s.free();
});

test("rotation pushes down what was shown and not taken", () => {
  const s = shop.session({ rotation: { penalty: 1 } });
  s.view(products("toys")[0]);
  const first = s.recommend({ k: 5 }).map((r) => r.item);
  const peek = s.recommend({ k: 5, rotate: false }).map((r) => r.item);
  const second = s.recommend({ k: 5 }).map((r) => r.item);
  assert.deepEqual(peek, second, "rotate: false remembers nothing");
  assert.equal(second.filter((id) => first.includes(id)).length, 0, "a penalty of 1 moves all of them");
  s.forget();
  assert.deepEqual(s.recommend({ k: 5 }).map((r) => r.item).length, 5);

  const still = shop.session({ rotation: false });
  still.view(products("toys")[0]);
  assert.deepEqual(still.recommend({ k: 5 }), still.recommend({ k: 5 }));
  s.free();
  still.free();
});

test("persisted sessions live in localStorage and forget() wipes them", (t) => {
  const storage = new FakeStorage();
  globalThis.localStorage = storage;
  t.after(() => delete globalThis.localStorage);
  const garden = products("garden");

  const s = shop.session({ persist: { key: "visitor", maxEvents: 4 } });
  s.view(garden[0], { channel: "web" });
  s.addToCart(garden[1]);
  const stored = JSON.parse(storage.getItem("visitor"));
  assert.equal(stored.version, 1);
  assert.deepEqual(stored.events.map((e) => [e.kind, e.item]), [["view", garden[0]], ["cart", garden[1]]]);
  assert.deepEqual(stored.events[0].context, { channel: "web" });
  const before = s.recommend({ k: 10, rotate: false });

  // A new page load: the same key gives the same session back.
  const back = shop.session({ persist: { key: "visitor", maxEvents: 4 } });
  assert.deepEqual(back.events, s.events);
  assert.deepEqual(back.recommend({ k: 10, rotate: false }), before);
  for (const id of garden.slice(2, 7)) back.view(id);
  assert.equal(JSON.parse(storage.getItem("visitor")).events.length, 4, "bounded in storage too");

  back.forget();
  assert.equal(back.length, 0);
  assert.equal(storage.getItem("visitor"), null);
  const fresh = shop.session({ persist: { key: "visitor" } });
  assert.equal(fresh.length, 0);

  // `persist: true` uses the default key.
  const plain = shop.session({ persist: true });
  plain.view(garden[0]);
  assert.ok(storage.getItem("maitre.session"));

  // Unreadable or stale storage is dropped, not fatal.
  storage.setItem("broken", "{{ not json");
  assert.equal(shop.session({ persist: { key: "broken" } }).length, 0);
  storage.setItem("stale", JSON.stringify({ version: 1, events: [
    { kind: "view", item: "sku-gone", timestamp: 1 },
    { kind: "teleport", item: garden[0], timestamp: 2 },
    { kind: "view", item: garden[0], timestamp: 3 },
  ] }));
  const stale = shop.session({ persist: { key: "stale" } });
  assert.deepEqual(stale.events.map((e) => e.timestamp), [3]);

  // A session that is not persisted never touches storage.
  const before2 = [...storage.map.keys()].sort();
  const memory = shop.session();
  memory.view(garden[0]);
  memory.forget();
  assert.deepEqual([...storage.map.keys()].sort(), before2);
  for (const x of [s, back, fresh, plain, stale, memory]) x.free();
});

test("persisting without localStorage, or with a failing one, is an Io error", (t) => {
  const e = thrown(() => shop.session({ persist: true }));
  assert.equal(e.kind, "Io");
  assert.match(e.message, /localStorage: not available here$/);

  globalThis.localStorage = new FakeStorage();
  t.after(() => delete globalThis.localStorage);
  const s = shop.session({ persist: true });
  globalThis.localStorage.setItem = () => { throw new Error("QuotaExceededError"); };
  const full = thrown(() => s.view(products("home")[0]));
  assert.equal(full.kind, "Io");
  assert.match(full.message, /QuotaExceededError/);
  s.free();
});

test("bad input throws an Error with the core's kind, never a trap", () => {
  const bad = thrown(() => Storefront.load(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])));
  assert.equal(bad.kind, "Artifact");
  assert.equal(typeof bad.problem, "string");
  const cut = thrown(() => Storefront.load(new Uint8Array(bytes.subarray(0, bytes.length >> 1))));
  assert.equal(cut.kind, "Artifact");
  assert.equal(thrown(() => Storefront.load("storefront.maitre")).kind, "InvalidParam");

  const s = shop.session();
  const unknown = thrown(() => s.view("sku-that-does-not-exist"));
  assert.equal(unknown.kind, "Unknown");
  assert.match(unknown.message, /sku-that-does-not-exist/);
  assert.equal(thrown(() => s.record("teleport", catalog[0].id)).kind, "Unknown");
  assert.equal(s.length, 0, "a rejected event is not recorded");

  for (const options of [
    { k: -1 },
    { k: 2.5 },
    { filters: { minPrice: 10, maxPrice: 5 } },
    { diversity: { relevance: 2 } },
    { diversity: { maxPerCategory: 0 } },
    { kinds: ["spaceship"] },
    { filters: { predicates: [{ field: "colour", values: ["red"] }] } },
    { bogus: true },
  ]) {
    const e = thrown(() => s.recommend(options));
    assert.equal(e.kind, "InvalidParam", `${JSON.stringify(options)}: ${e.message}`);
  }
  assert.equal(thrown(() => s.recommend({ pins: ["nope"] })).kind, "Unknown");
  assert.equal(thrown(() => shop.session({ maxEvents: 0 })).kind, "InvalidParam");
  assert.equal(thrown(() => shop.session({ rotation: { penalty: -1 } })).kind, "InvalidParam");
  const persist = thrown(() => shop.session({ persist: "yes" }));
  assert.equal(persist.kind, "InvalidParam");
  assert.match(persist.message, /expected true, false or \{ key, maxEvents \}/);
  assert.equal(thrown(() => shop.session({ persist: { key: "k", maxEvent: 3 } })).kind, "InvalidParam");
  assert.equal(thrown(() => shop.session({ rotation: "on" })).kind, "InvalidParam");
  assert.equal(thrown(() => shop.similarItems("nope", 5)).kind, "Unknown");
  assert.equal(thrown(() => shop.item("nope")).kind, "Unknown");

  // Still alive after all that, and a huge k is just "everything".
  s.view(catalog[0].id);
  assert.equal(s.recommend({ k: 4_000_000_000 }).length <= shop.length, true);
  s.free();
});

test("similarItems lists neighbours of an item", () => {
  const id = products("phones")[0];
  const list = shop.similarItems(id, 6);
  assert.equal(list.length, 6);
  assert.ok(list.every((r) => r.item !== id && r.reason === "because" && r.because[0] === id));
  const sorted = list.map((r) => r.score);
  assert.deepEqual(sorted, [...sorted].sort((a, b) => b - a));
  const content = shop.similarItems(id, 3, { kinds: ["content"] });
  assert.ok(content.every((r) => shop.item(r.item).kind === "content"));
  assert.equal(shop.similarItems(id).length, 10);
});

test("the fixed sessions match the full Rust model within int8 error", () => {
  for (const fixed of expected.sessions) {
    const s = shop.session();
    for (const e of fixed.events) s.record(e.kind, e.item);
    const got = s.recommend(fixed.options);
    assert.deepEqual(got.map((r) => r.item), fixed.expected.map((r) => r.item), fixed.name);
    fixed.expected.forEach((want, i) => {
      const tol = 0.02 * Math.max(Math.abs(want.score), 0.1);
      assert.ok(Math.abs(got[i].score - want.score) <= tol, `${fixed.name} #${i}: ${got[i].score} vs ${want.score}`);
    });
    s.free();
  }
});

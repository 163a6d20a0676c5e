// evaluate and syntheticStorefront through the Node build (pkg-node, CommonJS).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { EventLog, evaluate, syntheticStorefront } = require("../../pkg-node/maitre.js");

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error, `expected an Error, got ${e}`);
    return e;
  }
  assert.fail("expected an exception");
}

test("syntheticStorefront is deterministic", () => {
  const a = syntheticStorefront(7, "tiny");
  const b = syntheticStorefront(7, "tiny");
  assert.ok(a instanceof EventLog);
  assert.ok(a.length > 1000, `only ${a.length} events`);
  assert.deepEqual(a.summary(), b.summary());
  assert.equal(a.summary().customers, 300);
  assert.equal(syntheticStorefront(7, 50).summary().customers, 50);
});

test("evaluate popularity on the tiny storefront", () => {
  const log = syntheticStorefront(7, "tiny");
  const report = evaluate(log, { models: ["popularity"], positiveKinds: ["purchase"], dataset: "tiny" });
  assert.equal(report.dataset, "tiny");
  assert.equal(report.split, "leave-last-out");
  assert.ok(report.users > 0);
  assert.ok(report.items > 0);
  assert.equal(report.results.length, 1);
  const pop = report.results[0];
  assert.equal(pop.model, "popularity");
  for (const key of ["hr@10", "recall@10", "recall@20", "ndcg@10", "mrr@10", "coverage@10"]) {
    assert.equal(typeof pop[key], "number", key);
    assert.ok(pop[key] >= 0 && pop[key] <= 1, `${key} = ${pop[key]}`);
  }
  assert.ok(pop["hr@10"] > 0, "popularity should hit someone");
  assert.ok(pop.fit_seconds >= 0);
});

test("evaluate with every split and the defaults", () => {
  const log = syntheticStorefront(3, "tiny");
  for (const split of ["leave-last-out", "temporal", "random"]) {
    const report = evaluate(log, { split, models: ["popularity"] });
    assert.equal(report.split, split);
  }
  const both = evaluate(log);
  assert.deepEqual(both.results.map((r) => r.model), ["popularity", "item-knn"]);
  const als = evaluate(log, { models: ["als"], positiveKinds: ["purchase"] }).results[0];
  assert.equal(als.model, "als");
  assert.ok(als["ndcg@10"] >= 0 && als["ndcg@10"] <= 1);
});

test("evaluate rejects bad options with the core's message", () => {
  const log = syntheticStorefront(3, "tiny");
  const split = thrown(() => evaluate(log, { split: "sideways" }));
  assert.equal(split.kind, "InvalidParam");
  assert.match(split.message, /^invalid parameter `split`: "sideways": expected leave-last-out, temporal or random$/);
  const model = thrown(() => evaluate(log, { models: ["magic"] }));
  assert.match(model.message, /^invalid parameter `models`: unknown model "magic"/);
  const typo = thrown(() => evaluate(log, { positive_kinds: ["purchase"] }));
  assert.match(typo.message, /^invalid parameter `options`: unknown field `positive_kinds`/);
  const empty = thrown(() => evaluate(new EventLog()));
  assert.ok(empty.kind, empty.message);
});

test("syntheticStorefront rejects bad arguments", () => {
  assert.match(thrown(() => syntheticStorefront(-1, "tiny")).message, /^invalid parameter `seed`/);
  assert.match(thrown(() => syntheticStorefront(1.5, "tiny")).message, /^invalid parameter `seed`/);
  const size = thrown(() => syntheticStorefront(1, "huge"));
  assert.equal(size.kind, "InvalidParam");
  assert.match(size.message, /^invalid parameter `size`: "huge": expected tiny, small/);
});

// EventLog ingestion through the Node build (pkg-node, CommonJS).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { EventLog } = require("../../pkg-node/maitre.js");

const T0 = 1714564800; // 2024-05-01T12:00:00Z

const good = () => [
  { customer_id: "c1", item_id: "sku-1", kind: "view", timestamp: T0, context: { channel: "web" } },
  { customer_id: "c1", item_id: "sku-1", kind: "purchase", timestamp: "2024-05-01T12:05:00Z", value: 2 },
  { customer_id: "c2", item_id: "sku-2", kind: "view", timestamp: T0 + 60, channel: "app" },
];

/** Calls `fn`, which must throw a core error; returns it. */
function thrown(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error, `expected an Error, got ${e}`);
    return e;
  }
  assert.fail("expected an exception");
}

test("push counts, summary and length", () => {
  const log = new EventLog();
  assert.equal(log.length, 0);
  const report = log.push(good());
  assert.deepEqual(report, { accepted: 3, skipped: 0, skippedByField: {}, firstSkipped: [] });
  assert.equal(log.length, 3);
  assert.deepEqual(log.summary(), {
    events: 3,
    rawIds: 2,
    customers: 2,
    items: 2,
    links: 0,
    linkedIds: 0,
    firstTimestamp: T0,
    lastTimestamp: T0 + 300,
    kinds: { view: 2, purchase: 1 },
    context: { channel: { web: 1, app: 1 } },
  });
  log.push([{ customer_id: 7, item_id: 8, kind: "cart", timestamp: T0 + 1.9 }], {});
  assert.equal(log.length, 4);
  assert.equal(log.summary().kinds.cart, 1);
});

test("empty summary has null timestamps", () => {
  const s = new EventLog().summary();
  assert.equal(s.events, 0);
  assert.equal(s.firstTimestamp, null);
  assert.equal(s.lastTimestamp, null);
});

test("fromCsv and fromJsonLines", () => {
  const csv = "customer_id,item_id,kind,timestamp,value,channel\n" +
    "c1,sku-1,view,1714564800,,web\n" +
    "c1,sku-2,rating,2024-05-01T12:00:00Z,4.5,app\n";
  const a = EventLog.fromCsv(csv);
  assert.equal(a.length, 2);
  assert.deepEqual(a.summary().context, { channel: { web: 1, app: 1 } });

  const jsonl = good().map((e) => JSON.stringify(e)).join("\n") + "\n\n";
  const b = EventLog.fromJsonLines(jsonl);
  assert.equal(b.length, 3);
  assert.deepEqual(b.summary().kinds, { view: 2, purchase: 1 });
});

test("link merges identities", () => {
  const log = new EventLog();
  log.push([
    { customer_id: "anon-1", item_id: "sku-1", kind: "view", timestamp: T0 },
    { customer_id: "device-9", item_id: "sku-2", kind: "view", timestamp: T0 },
    { customer_id: "c1", item_id: "sku-2", kind: "purchase", timestamp: T0 + 10 },
  ]);
  assert.equal(log.summary().customers, 3);
  log.link("anon-1", "c1", T0 + 5);
  log.link("device-9", "anon-1", "2024-05-01T12:00:07Z");
  const s = log.summary();
  assert.equal(s.links, 2);
  assert.equal(s.rawIds, 3);
  assert.equal(s.customers, 1);
  assert.equal(s.linkedIds, 2);

  const empty = thrown(() => log.link("", "c1", T0));
  assert.match(empty.message, /^row 2: field `alias` is empty$/);
  const nan = thrown(() => log.link("anon-2", "c1", NaN));
  assert.match(nan.message, /^row 2: field `timestamp` "NaN" is not a timestamp/);
  assert.equal(nan.kind, "BadRecord");
  const missing = thrown(() => log.link("anon-2", "c1"));
  assert.match(missing.message, /field `timestamp` is missing/);
  assert.equal(log.summary().links, 2);
});

const bad = [
  ["empty id", [{ customer_id: "c1", item_id: "", kind: "view", timestamp: T0 }],
    1, "item_id", /^row 1: field `item_id` is empty$/],
  ["blank customer", [{ customer_id: "  ", item_id: "sku-1", kind: "view", timestamp: T0 }],
    1, "customer_id", /^row 1: field `customer_id` is empty$/],
  ["missing item", [{ customer_id: "c1", kind: "view", timestamp: T0 }],
    1, "item_id", /^row 1: field `item_id` is missing$/],
  ["unknown kind", [{ customer_id: "c1", item_id: "sku-1", kind: "teleport", timestamp: T0 }],
    1, "kind", /^row 1: field `kind` unknown event kind "teleport"$/],
  ["NaN as a string", [{ customer_id: "c1", item_id: "sku-1", kind: "rating", timestamp: T0, value: "NaN" }],
    1, "value", /^row 1: field `value` NaN is not a finite number$/],
  ["NaN as a number", [{ customer_id: "c1", item_id: "sku-1", kind: "rating", timestamp: T0, value: NaN }],
    1, "value", /^row 1: field `value` NaN is not a finite number$/],
  ["Infinity", [{ customer_id: "c1", item_id: "sku-1", kind: "rating", timestamp: T0, value: -Infinity }],
    1, "value", /^row 1: field `value` -Infinity is not a finite number$/],
  ["text value", [{ customer_id: "c1", item_id: "sku-1", kind: "rating", timestamp: T0, value: "lots" }],
    1, "value", /^row 1: field `value` "lots" is not a number$/],
  ["bad timestamp", [{ customer_id: "c1", item_id: "sku-1", kind: "view", timestamp: "yesterday" }],
    1, "timestamp", /^row 1: field `timestamp` "yesterday" is not a timestamp/],
  ["NaN timestamp", [{ customer_id: "c1", item_id: "sku-1", kind: "view", timestamp: NaN }],
    1, "timestamp", /^row 1: field `timestamp` "NaN" is not a timestamp/],
  ["number row", [42], 1, "record", /^row 1: field `record` is malformed: expected a JSON object$/],
  ["null row", [null], 1, "record", /^row 1: field `record` is malformed: expected a JSON object$/],
  ["string row", ["c1,sku-1,view"], 1, "record", /^row 1: field `record` is malformed: expected a JSON object$/],
  ["bad context", [{ customer_id: "c1", item_id: "sku-1", kind: "view", timestamp: T0, context: "web" }],
    1, "context", /^row 1: field `context` is malformed: expected an object$/],
];

for (const [name, rows, row, field, message] of bad) {
  test(`bad batch rejected whole: ${name}`, () => {
    const log = new EventLog();
    log.push(good());
    const before = log.summary();
    // A good row first: it must be rolled back with the rest of the batch.
    const batch = [{ customer_id: "c9", item_id: "sku-9", kind: "view", timestamp: T0 }, ...rows];
    const e = thrown(() => log.push(batch));
    assert.match(e.message, message);
    assert.equal(e.kind, "BadRecord");
    assert.equal(e.field, field);
    assert.equal(e.row, row);
    assert.equal(log.length, 3);
    assert.deepEqual(log.summary(), before);
  });
}

test("arguments of the wrong shape", () => {
  const log = new EventLog();
  log.push(good());
  const notArray = thrown(() => log.push("c1,sku-1"));
  assert.equal(notArray.kind, "InvalidParam");
  assert.match(notArray.message, /^invalid parameter `events`: expected an array of event objects/);
  const typo = thrown(() => log.push(good(), { skipBadRow: true }));
  assert.equal(typo.kind, "InvalidParam");
  assert.match(typo.message, /^invalid parameter `options`: unknown field `skipBadRow`/);
  assert.equal(log.length, 3);
});

test("malformed text is rejected with its line", () => {
  const short = "customer_id,item_id,kind,timestamp\nc1,sku-1,view,1714564800\nc1,sku-2,view\n";
  const e = thrown(() => EventLog.fromCsv(short));
  assert.equal(e.message, "line 3: field `timestamp` is missing");
  assert.equal(e.line, 3);
  assert.equal(e.row, undefined);

  const empty = thrown(() =>
    EventLog.fromCsv("customer_id,item_id,kind,timestamp\nc1,,view,1714564800\n"));
  assert.equal(empty.message, "line 2: field `item_id` is empty");

  const column = thrown(() => EventLog.fromCsv("user,item_id,kind,timestamp\nc1,sku-1,view,1\n"));
  assert.equal(column.kind, "MissingColumn");
  assert.match(column.message, /^missing column `customer_id`/);

  const jsonl = '{"customer_id":"c1","item_id":"sku-1","kind":"view","timestamp":1}\n{"customer_id": oops}\n';
  const j = thrown(() => EventLog.fromJsonLines(jsonl));
  assert.match(j.message, /^line 2: field `record` is malformed: /);
});

test("skipBadRows keeps good rows and reports the rest", () => {
  const log = new EventLog();
  const report = log.push([
    ...good(),
    { customer_id: "c3", item_id: "", kind: "view", timestamp: T0 },
    { customer_id: "c3", item_id: "sku-3", kind: "teleport", timestamp: T0 },
    17,
    { customer_id: "c3", item_id: "sku-4", kind: "view", timestamp: T0 },
  ], { skipBadRows: true });
  assert.equal(report.accepted, 4);
  assert.equal(report.skipped, 3);
  assert.deepEqual(report.skippedByField, { item_id: 1, kind: 1, record: 1 });
  assert.deepEqual(report.firstSkipped[0], {
    row: 3, field: "item_id", problem: "empty", message: "row 3: field `item_id` is empty",
  });
  assert.deepEqual(report.firstSkipped[1], {
    row: 4, field: "kind", problem: "unknown_kind", detail: "teleport",
    message: 'row 4: field `kind` unknown event kind "teleport"',
  });
  assert.equal(report.firstSkipped[2].row, 5);
  assert.equal(log.length, 4);
});

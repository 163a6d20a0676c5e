// The next best offer on a visitor session through the Node build: the
// session's recorded return or complaint drives the contact policy, rewards
// teach the bandit, and bad input throws a maitre Error and changes nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Storefront } = require("../../pkg-node/maitre.js");
const shop = Storefront.load(new Uint8Array(readFileSync(new URL("./fixtures/tiny-storefront.maitre", import.meta.url))));

const DAY = 86_400;
const ITEM = "sku-000003";
const OFFERS = [
  { item: { id: "offer-fashion-10pct", kind: "offer", category: "fashion" }, value: 5 },
  { item: { id: "offer-electronics-10pct", kind: "offer", category: "electronics" }, value: 5 },
  {
    item: { id: "service-return-help", kind: "service" }, value: 1,
    eligibility: { state: [{ kind: "return", within_secs: 30 * DAY, present: true }] },
  },
  {
    item: { id: "service-callback", kind: "service" }, value: 1,
    eligibility: { state: [{ kind: "complaint", within_secs: 30 * DAY, present: true }] },
  },
];
const SALES = OFFERS.filter((o) => o.item.kind === "offer").map((o) => o.item.id);
// Session events are stamped with the clock; decisions come a little later.
const soon = () => Math.floor(Date.now() / 1000) + 5;

function offered(options) {
  const s = shop.session();
  s.useOffers(OFFERS, options);
  return s;
}

/** Calls `fn`, which must throw a maitre Error of `kind`; returns it. */
function thrown(fn, kind = "InvalidParam") {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error, `not an Error: ${e}`);
    assert.equal(e.kind, kind, e.message);
    return e;
  }
  assert.fail("did not throw");
}

test("a happy visitor gets a sales offer with its probability and event id", () => {
  const s = offered();
  s.view(ITEM, { channel: "web" });
  const d = s.nextBestOffer(undefined, soon());
  assert.deepEqual(d.fired, []);
  assert.equal(d.chosen.length, 1);
  const c = d.chosen[0];
  assert.ok(SALES.includes(c.offer), c.offer);
  assert.equal(c.kind, "offer");
  assert.equal(c.position, 0);
  assert.ok(Number.isSafeInteger(c.eventId) && c.eventId > 0, String(c.eventId));
  assert.ok(c.probability > 0 && c.probability <= 1, String(c.probability));
  assert.match(c.why, /estimated reward/);
  // The two sales offers were scored; the services are not eligible.
  assert.deepEqual(d.scores.map((x) => x.offer).sort(), [...SALES].sort());
  const total = d.scores.reduce((a, x) => a + x.probability, 0);
  assert.ok(Math.abs(total - 1) < 1e-9, String(total));
  assert.deepEqual(d.excluded.map((x) => [x.offer, x.rule]).sort(),
    [["service-callback", "state"], ["service-return-help", "state"]]);
  s.free();
});

test("after a return the session gets a service action and the rule that fired", () => {
  const s = offered();
  s.view(ITEM);
  s.record("return", ITEM);
  const d = s.nextBestOffer(undefined, soon(), 3);
  assert.deepEqual(d.chosen.map((c) => c.offer), ["service-return-help"]);
  assert.equal(d.chosen[0].kind, "service");
  assert.deepEqual(d.fired, ["no-sales-after-return-or-complaint", "service-first-after-return-or-complaint"]);
  assert.match(d.chosen[0].why, /service-first-after-return-or-complaint/);
  for (const id of SALES) {
    const x = d.excluded.find((e) => e.offer === id);
    assert.deepEqual([x.rule, x.detail], ["contact_policy", "no-sales-after-return-or-complaint"], id);
  }
  // A complaint: the call-back becomes eligible too; both services come first.
  s.record("complaint", ITEM);
  const d2 = s.nextBestOffer(undefined, soon(), 2);
  assert.deepEqual(d2.chosen.map((c) => c.offer).sort(), ["service-callback", "service-return-help"]);
  // Forgetting the session's events lifts the policy.
  s.forget();
  assert.equal(s.nextBestOffer(undefined, soon()).chosen[0].kind, "offer");
  s.free();
});

test("a given contact policy replaces the default", () => {
  const policy = { rules: [{ name: "no-sales-after-view", after: ["view"], within_secs: 3600, action: { do: "suppress", kinds: ["offer"] } }] };
  const s = offered({ policy, customer: "c-17" });
  s.view(ITEM);
  const d = s.nextBestOffer(undefined, soon());
  assert.deepEqual(d.fired, ["no-sales-after-view"]);
  assert.deepEqual(d.chosen, []);
  s.free();
});

test("rewards teach the bandit; a rejected reward changes nothing", () => {
  const s = offered({ bandit: { seed: 3 } });
  let now = soon();
  const shown = [];
  for (let i = 0; i < 60; i++) {
    const c = s.nextBestOffer({ channel: "web" }, now).chosen[0];
    shown.push(c.offer);
    const out = s.reward(c.eventId, c.offer === "offer-electronics-10pct" ? 1 : 0, now + 30);
    assert.deepEqual(out, { eventId: c.eventId, offer: c.offer, reward: out.reward, defaulted: false });
    now += 60;
  }
  const late = shown.slice(-20).filter((o) => o === "offer-electronics-10pct").length;
  assert.ok(late >= 15, `the rewarded offer was shown ${late} of the last 20 times: ${shown.join(" ")}`);
  const d = s.nextBestOffer(undefined, now);
  const est = Object.fromEntries(d.scores.map((x) => [x.offer, x.estimate]));
  assert.ok(est["offer-electronics-10pct"] > est["offer-fashion-10pct"] + 0.3, JSON.stringify(est));

  const id = d.chosen[0].eventId;
  thrown(() => s.reward(id, NaN, now + 1));
  thrown(() => s.reward(id, 1, now + DAY)); // outside the 1-day reward window
  thrown(() => s.reward(id, 1, now - 1)); // before the decision
  thrown(() => s.reward(id + 1000, 1, now + 1), "Unknown");
  thrown(() => s.reward(-1, 1, now + 1));
  thrown(() => s.reward(1.5, 1, now + 1));
  // Still pending after every rejection: this one is accepted, a second is not.
  assert.equal(s.reward(id, 1, now + 1).eventId, id);
  thrown(() => s.reward(id, 1, now + 2), "Unknown");
  // An unrewarded showing is settled as ignored once its window closes.
  const e = s.nextBestOffer(undefined, now + 10).chosen[0].eventId;
  assert.deepEqual(s.expireOffers(now + 10 + DAY).map((o) => [o.eventId, o.defaulted]), [[e, true]]);
  s.free();
});

test("bad offers, options and arguments throw and leave the session's offers as they were", () => {
  const s = shop.session();
  thrown(() => s.nextBestOffer());
  thrown(() => s.reward(1, 1));
  const e = thrown(() => s.useOffers([OFFERS[0], { ...OFFERS[1], colour: "red" }]));
  assert.match(e.message, /offers\[1\]/);
  thrown(() => s.useOffers([OFFERS[0], OFFERS[0]])); // duplicate id
  thrown(() => s.useOffers([{ item: { id: "sku-1", kind: "product" }, value: 1 }]));
  thrown(() => s.useOffers([{ item: { id: "o", kind: "offer" }, value: NaN }]));
  thrown(() => s.useOffers([{ item: { id: "o", kind: "offer" }, value: 1, valid_from: 10, valid_until: 10 }]));
  thrown(() => s.useOffers("offers"));
  thrown(() => s.useOffers(OFFERS, { bandit: { epsilon: 2 } }));
  thrown(() => s.useOffers(OFFERS, { bandit: { epsilonn: 0.1 } }));
  thrown(() => s.useOffers(OFFERS, { policy: { rules: [{ name: "", after: [], within_secs: 1, action: { do: "first", kinds: ["service"] } }] } }));
  thrown(() => s.nextBestOffer()); // nothing was set by the failed calls

  s.useOffers(OFFERS);
  const before = s.nextBestOffer(undefined, soon());
  thrown(() => s.useOffers([{ item: { id: "o", kind: "offer" }, value: -1 }]));
  thrown(() => s.nextBestOffer(undefined, Date.now())); // milliseconds, not seconds
  thrown(() => s.nextBestOffer(undefined, soon(), 0));
  thrown(() => s.nextBestOffer(undefined, soon(), 1.5));
  thrown(() => s.nextBestOffer("web", soon()));
  // The engine from before the failed call is still there: its pending decision settles.
  assert.equal(s.reward(before.chosen[0].eventId, 1, soon()).eventId, before.chosen[0].eventId);
  s.free();
});

test("apprentice mode shows the page's own rule's offer, then learns beside it", () => {
  const s = offered({ bandit: { apprentice: { epsilon: 0 } } });
  s.view(ITEM, { channel: "web" });
  const d = s.nextBestOffer(undefined, soon(), 1, "offer-electronics-10pct");
  assert.equal(d.chosen[0].offer, "offer-electronics-10pct");
  assert.equal(d.chosen[0].probability, 1);
  assert.equal(d.chosen[0].why, "the teacher's choice (apprentice mode)");
  // Without apprentice mode the teacher is ignored.
  const plain = offered({ bandit: { epsilon: 0 } });
  plain.view(ITEM, { channel: "web" });
  assert.notEqual(plain.nextBestOffer(undefined, soon(), 1, "offer-electronics-10pct").chosen[0].why,
    "the teacher's choice (apprentice mode)");
  thrown(() => offered({ bandit: { apprentice: { window: 0 } } }));
});

test("forget clears the visitor's offers history too", () => {
  const s = offered();
  s.view(ITEM, { channel: "web" });
  const d = s.nextBestOffer(undefined, soon());
  s.reward(d.chosen[0].eventId, 1, soon());
  const pending = s.nextBestOffer(undefined, soon());
  s.forget();
  // The pending showing is gone: rewarding it is an unknown event.
  thrown(() => s.reward(pending.chosen[0].eventId, 1, soon()), "Unknown");
  const again = s.nextBestOffer(undefined, soon());
  assert.equal(again.chosen.length, 1);
});

// The calls of extremes.test.mjs: for every public entry point and numeric
// argument of the package, a call with that argument set to `v`. Shared by the
// test (names) and its worker process (calls). `ctx` holds a loaded Storefront
// (`shop`) and a small EventLog (`log`), made once per worker.

export const EXTREMES = {
  "0": 0,
  "-1": -1,
  "1e12": 1e12,
  "2**63": 2 ** 63,
  "NaN": NaN,
  "Infinity": Infinity,
  "-Infinity": -Infinity,
  "'x'": "x",
  "1.5": 1.5,
  "true": true,
  "2**53+2": 2 ** 53 + 2,
};

const event = (over) => ({
  customer_id: "c1", item_id: "i1", kind: "rating", timestamp: 1714564800, value: 4, ...over,
});
const ITEM = "sku-000003";
const kinds = ["record", "view", "click", "addToCart", "purchase", "dislike"];
const sessionCall = (method, ctx, context) =>
  method === "record" ? ctx.shop.session().record("view", ITEM, context) : ctx.shop.session()[method](ITEM, context);

const OFFER = { item: { id: "offer-fashion-10pct", kind: "offer" }, value: 5 };
const offerWith = (over) => [{ ...OFFER, ...over }];
// A session with offers set and one decision awaiting its reward (event id 1).
const offered = (ctx, options) => {
  const s = ctx.shop.session();
  s.useOffers([OFFER, { item: { id: "service-return-help", kind: "service" }, value: 1 }], options);
  return s;
};
const decided = (ctx) => {
  const s = offered(ctx);
  s.nextBestOffer(undefined, 1_800_000_000);
  return s;
};

// "Owner.method:argument" (argument[key] for a number inside an options object).
export const CALLS = {
  "syntheticStorefront:seed": (ctx, v) => ctx.m.syntheticStorefront(v, "tiny"),
  "syntheticStorefront:size": (ctx, v) => ctx.m.syntheticStorefront(1, v),
  "evaluate:options": (ctx, v) => ctx.m.evaluate(ctx.log, { minValue: v }),
  "EventLog.link:timestamp": (ctx, v) => new ctx.m.EventLog().link("a", "c", v),
  "EventLog.push:events": (ctx, v) => new ctx.m.EventLog().push([event({ timestamp: v })]),
  "EventLog.push:events[value]": (ctx, v) => new ctx.m.EventLog().push([event({ value: v })]),
  "EventLog.push:events[customer_id]": (ctx, v) => new ctx.m.EventLog().push([event({ customer_id: v })]),
  "EventLog.push:events[item_id]": (ctx, v) => new ctx.m.EventLog().push([event({ item_id: v })]),
  "EventLog.push:events[context]": (ctx, v) => new ctx.m.EventLog().push([event({ context: { channel: v } })]),
  "Storefront.similarItems:k": (ctx, v) => ctx.shop.similarItems(ITEM, v),
  "Storefront.similarItems:filters": (ctx, v) => ctx.shop.similarItems(ITEM, 5, { minPrice: v }),
  "Storefront.session:options": (ctx, v) => ctx.shop.session({ maxEvents: v }),
  "Storefront.session:options[rotation]": (ctx, v) => ctx.shop.session({ rotation: { penalty: v } }).recommend(),
  "Storefront.session:options[persist]": (ctx, v) => ctx.shop.session({ persist: { key: "k", maxEvents: v } }),
  "Session.recommend:options": (ctx, v) => ctx.shop.session().recommend({ k: v }),
  "Session.recommend:options[minScore]": (ctx, v) => ctx.shop.session().recommend({ minScore: v }),
  "Session.recommend:options[filters]": (ctx, v) =>
    ctx.shop.session().recommend({ filters: { maxPrice: v, excludePurchasedWithin: v } }),
  "Session.recommend:options[diversity]": (ctx, v) => ctx.shop.session().recommend({ diversity: { relevance: v } }),
  "Session.recommend:options[maxPerCategory]": (ctx, v) =>
    ctx.shop.session().recommend({ diversity: { maxPerCategory: v } }),
  "Session.recommend:options[boosts]": (ctx, v) =>
    ctx.shop.session().recommend({ boosts: [{ when: { field: "category", values: ["cat-01"] }, amount: v }] }),
  "Session.useOffers:offers[value]": (ctx, v) => ctx.shop.session().useOffers(offerWith({ value: v })),
  "Session.useOffers:offers[valid_from]": (ctx, v) => ctx.shop.session().useOffers(offerWith({ valid_from: v })),
  "Session.useOffers:offers[valid_until]": (ctx, v) => ctx.shop.session().useOffers(offerWith({ valid_until: v })),
  "Session.useOffers:offers[budget]": (ctx, v) => offered(ctx).useOffers(offerWith({ budget: v })),
  "Session.useOffers:offers[cap]": (ctx, v) => ctx.shop.session().useOffers(offerWith({ cap: { max: v, window_secs: v } })),
  "Session.useOffers:offers[cooldown_secs]": (ctx, v) => ctx.shop.session().useOffers(offerWith({ cooldown_secs: v })),
  "Session.useOffers:offers[state]": (ctx, v) =>
    ctx.shop.session().useOffers(offerWith({ eligibility: { state: [{ kind: "view", within_secs: v, present: true }] } })),
  "Session.useOffers:offers[item.price]": (ctx, v) => ctx.shop.session().useOffers(offerWith({ item: { ...OFFER.item, price: v } })),
  "Session.useOffers:options[policy]": (ctx, v) => offered(ctx, {
    policy: { rules: [{ name: "r", after: ["view"], within_secs: v, action: { do: "suppress", kinds: ["offer"] } }] },
  }).nextBestOffer(undefined, 1_800_000_000),
  ...Object.fromEntries(["epsilon", "ridge", "seed", "reward_window_secs", "default_reward", "propensity_draws", "max_pending"]
    .map((key) => [`Session.useOffers:options[bandit.${key}]`, (ctx, v) =>
      offered(ctx, { bandit: { [key]: v } }).nextBestOffer(undefined, 1_800_000_000, 2)])),
  ...Object.fromEntries(["epsilon", "window", "agreement"]
    .map((key) => [`Session.useOffers:options[bandit.apprentice.${key}]`, (ctx, v) =>
      offered(ctx, { bandit: { apprentice: { [key]: v } } }).nextBestOffer(undefined, 1_800_000_000, 1, "offer-x")])),
  "Session.useOffers:options[bandit.policy]": (ctx, v) =>
    offered(ctx, { bandit: { policy: { name: "thompson", scale: v } } }).nextBestOffer(undefined, 1_800_000_000),
  "Session.nextBestOffer:now": (ctx, v) => offered(ctx).nextBestOffer(undefined, v),
  "Session.nextBestOffer:slots": (ctx, v) => offered(ctx).nextBestOffer(undefined, 1_800_000_000, v),
  "Session.nextBestOffer:context": (ctx, v) => offered(ctx).nextBestOffer({ channel: v }, 1_800_000_000),
  "Session.reward:eventId": (ctx, v) => decided(ctx).reward(v, 1, 1_800_000_060),
  "Session.reward:value": (ctx, v) => decided(ctx).reward(1, v, 1_800_000_060),
  "Session.reward:now": (ctx, v) => decided(ctx).reward(1, 1, v),
  "Session.expireOffers:now": (ctx, v) => decided(ctx).expireOffers(v),
  ...Object.fromEntries(kinds.map((method) => [
    `Session.${method}:context`, (ctx, v) => sessionCall(method, ctx, { channel: v }),
  ])),
};

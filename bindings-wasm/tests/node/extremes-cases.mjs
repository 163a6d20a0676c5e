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
  ...Object.fromEntries(kinds.map((method) => [
    `Session.${method}:context`, (ctx, v) => sessionCall(method, ctx, { channel: v }),
  ])),
};

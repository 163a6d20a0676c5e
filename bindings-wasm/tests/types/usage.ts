// Type-checks the generated .d.ts (tsc --noEmit): typed options and results,
// not `any`. Each @ts-expect-error must really be an error.
import init, {
  EventLog,
  Session,
  Storefront,
  evaluate,
  syntheticStorefront,
  type CatalogItem,
  type EvalReport,
  type IngestReport,
  type MaitreError,
  type Offer,
  type OfferDecision,
  type OfferOutcome,
  type OffersOptions,
  type Recommendation,
  type RecommendOptions,
  type RecordedEvent,
  type SessionOptions,
  type Summary,
} from "maitre";

await init();
const log = new EventLog();
const report: IngestReport = log.push(
  [{ customer_id: "c1", item_id: "sku-1", kind: "view", timestamp: 1714564800, context: { channel: "web" } }],
  { skipBadRows: true },
);
const skipped: number = report.firstSkipped[0]?.row ?? report.skippedByField["item_id"] ?? 0;
log.push([{ customer_id: 1, item_id: 2, kind: "view", timestamp: "2024-05-01T12:00:00Z", value: 2 }]);
log.link("anon-1", "c1", 1714564800);
log.link("anon-2", "c1", "2024-05-01T12:00:00Z");
const n: number = log.length;
const summary: Summary = log.summary();
const first: number | null = summary.firstTimestamp;
const perChannel: number | undefined = summary.context["channel"]?.["web"];

const shop: EventLog = syntheticStorefront(7, "tiny");
const eval_: EvalReport = evaluate(shop, { split: "temporal", models: ["popularity"], positiveKinds: ["purchase"], minValue: 1 });
const ndcg: number = eval_.results[0]["ndcg@10"];
const fit: number = eval_.results[0].fit_seconds;
evaluate(shop);

try {
  log.push([]);
} catch (e) {
  const err = e as MaitreError;
  const where: string = `${err.kind} ${err.field ?? ""} ${err.row ?? err.line ?? ""}: ${err.message}`;
  console.log(where);
}

// @ts-expect-error: item_id, kind and timestamp are required
log.push([{ customer_id: "c1" }]);
// @ts-expect-error: misspelt option
log.push([], { skipBadRow: true });
// @ts-expect-error: unknown split
evaluate(shop, { split: "sideways" });
// @ts-expect-error: unknown model
evaluate(shop, { models: ["magic"] });
// @ts-expect-error: summary is not an IngestReport
const wrong: IngestReport = log.summary();
// @ts-expect-error: length is read-only
log.length = 3;

// Serving: a storefront artifact, a visitor's session, recommendations.
const shopBytes: Uint8Array = new Uint8Array(await (await fetch("/data/storefront.maitre")).arrayBuffer());
const front: Storefront = Storefront.load(shopBytes);
Storefront.load(shopBytes.buffer as ArrayBuffer);
const items: number = front.length;
const entry: CatalogItem = front.item("sku-000001");
const price: number | null = entry.price;
const sessionOptions: SessionOptions = { persist: { key: "visitor", maxEvents: 20 }, rotation: { penalty: 0.1 } };
const session: Session = front.session(sessionOptions);
front.session({ persist: true, maxEvents: 10, rotation: false });
front.session();
session.view("sku-000001", { device: "mobile" });
session.click("sku-000002");
session.addToCart("sku-000002");
session.purchase("sku-000002");
session.dislike("sku-000003");
session.record("share", "sku-000004");
session.record("my-own-kind", "sku-000004");
const recorded: RecordedEvent[] = session.events;
const stamp: number = recorded[0].timestamp;
const options: RecommendOptions = {
  k: 10,
  context: { device: "mobile" },
  kinds: ["product", "content"],
  filters: {
    inStockOnly: true,
    excludeSeen: true,
    excludeConsumed: false,
    excludePurchasedWithin: 86400,
    categories: ["kitchen"],
    minPrice: 5,
    maxPrice: 100,
    excludeItems: ["sku-000009"],
    predicates: [{ field: "priceBand", values: ["low"], negate: true }],
  },
  diversity: { relevance: 0.8, maxPerCategory: 3 },
  boosts: [{ when: { field: "brand", values: ["acme"] }, amount: 0.1 }],
  pins: ["sku-000005"],
  minScore: 0.01,
  rotate: false,
  newArrivalSlot: true,
};
const recs: Recommendation[] = session.recommend(options);
const firstRec: Recommendation | undefined = recs[0];
const because: string[] = firstRec?.because ?? [];
const reason: "because" | "taste" | "pinned" | "popularInContext" | "popular" | "newArrival" | undefined =
  firstRec?.reason;
session.recommend();
const similar: Recommendation[] = front.similarItems("sku-000001", 5, { kinds: ["content"] });
front.similarItems("sku-000001");
session.forget();
const kept: number = session.length;

// The next best offer on the session: offers in the core's serde form.
const offers: Offer[] = [
  { item: { id: "offer-fashion-10pct", kind: "offer", category: "fashion" }, value: 5, cap: { max: 1, window_secs: 86400 }, cooldown_secs: 604800 },
  { item: { id: "service-return-help", kind: "service" }, value: 1, eligibility: { state: [{ kind: "return", within_secs: 2592000, present: true }] } },
];
const offersOptions: OffersOptions = {
  policy: { rules: [{ name: "service-first", after: ["return", "complaint"], within_secs: 2592000, action: { do: "first", kinds: ["service"] } }] },
  bandit: { policy: { name: "lin_ucb", alpha: 0.5 }, epsilon: 0.05, seed: 7 },
  customer: "visitor-1",
};
session.useOffers(offers, offersOptions);
session.useOffers(offers);
const decision: OfferDecision = session.nextBestOffer({ channel: "web" }, 1_800_000_000, 2);
session.nextBestOffer();
session.useOffers(offers, { bandit: { apprentice: { epsilon: 0.2, window: 1000, agreement: 0.9 } } });
session.nextBestOffer(undefined, 1_800_000_000, 1, "offer-a");
const chosenOffer = decision.chosen[0];
const eventId: number = chosenOffer.eventId;
const probability: number = chosenOffer.probability;
const fired: string[] = decision.fired;
const heldBack: string | undefined = decision.excluded.find((x) => x.rule === "contact_policy")?.detail;
const outcome: OfferOutcome = session.reward(eventId, 1, 1_800_000_060);
const expired: OfferOutcome[] = session.expireOffers();
// @ts-expect-error: an offer's kind is offer or service
session.useOffers([{ item: { id: "sku-1", kind: "product" }, value: 1 }]);
// @ts-expect-error: value is required
session.useOffers([{ item: { id: "o", kind: "offer" } }]);
// @ts-expect-error: unknown bandit policy
session.useOffers(offers, { bandit: { policy: { name: "greedy" } } });
// @ts-expect-error: the event id is a number
session.reward("1", 1);

try {
  Storefront.load(new Uint8Array(3));
} catch (e) {
  const err = e as MaitreError;
  if (err.kind === "Artifact") console.log(err.problem);
}

// @ts-expect-error: misspelt option
session.recommend({ kk: 3 });
// @ts-expect-error: unknown item kind
session.recommend({ kinds: ["spaceship"] });
// @ts-expect-error: unknown predicate field
session.recommend({ filters: { predicates: [{ field: "colour", values: ["red"] }] } });
// @ts-expect-error: context values are strings
session.view("sku-1", { device: 3 });
// @ts-expect-error: persist is a boolean or an object
front.session({ persist: "yes" });
// @ts-expect-error: events are read-only
session.events = [];

console.log(skipped, n, first, perChannel, ndcg, fit, wrong);
console.log(items, price, stamp, because, reason, similar, kept);
console.log(probability, fired, heldBack, outcome, expired);

// The storefront demo: loads the wasm build and the storefront artifact, shows
// product tiles and two rails, and records a view when a product is clicked.
// An offer banner shows the session's next best offer (a service action after
// the visitor records a return or a complaint); a click on it is a reward.
// Everything runs in this page; the visitor's events stay in localStorage.
import init, { Storefront } from "./pkg/maitre.js";

const $ = (id) => document.getElementById(id);
const device = matchMedia("(max-width: 700px)").matches ? "mobile" : "desktop";
const PER_CATEGORY = 8;

/** Catalogue entries by id: label, category, kind, price. */
let catalog = new Map();
let shop;
let session;
let shownCategory = null;

async function main() {
  const t0 = performance.now();
  const [, artifact, items] = await Promise.all([
    init(),
    fetch("./data/storefront.maitre").then(ok).then((r) => r.arrayBuffer()),
    fetch("./data/catalog.json").then(ok).then((r) => r.json()),
  ]);
  const t1 = performance.now();
  shop = Storefront.load(new Uint8Array(artifact));
  const t2 = performance.now();
  catalog = new Map(items.map((item) => [item.id, item]));
  session = shop.session({ persist: { key: "maitre.storefront-demo", maxEvents: 50 } });
  session.useOffers(offers());

  // For tests and the curious: the objects and how long loading took.
  window.maitreDemo = {
    shop, session, catalog,
    timings: { fetchMs: t1 - t0, loadMs: t2 - t1 },
    /** What the banner's clicks reported to the bandit (OfferOutcome[]). */
    rewards: [],
    artifactBytes: artifact.byteLength,
  };

  $("forget").addEventListener("click", () => {
    session.forget();
    render();
  });
  $("offer-cta").addEventListener("click", acceptOffer);
  $("return-last").addEventListener("click", () => afterSales("return"));
  $("complain").addEventListener("click", () => afterSales("complaint"));
  drawCategories();
  render();
  document.body.dataset.status = "ready";
  $("status").textContent =
    `${shop.length} items; artifact ${(artifact.byteLength / 1024).toFixed(0)} KB ` +
    `fetched in ${(t1 - t0).toFixed(0)} ms, loaded in ${(t2 - t1).toFixed(0)} ms.`;
}

function ok(response) {
  if (!response.ok) throw new Error(`${response.url}: ${response.status}`);
  return response;
}

const DAY = 86_400;

/**
 * The catalogue's offers and service actions, in the core's offer form: a
 * discount is worth 5 to the shop, a service action 1; the return helper is
 * for visitors who returned something in the last 30 days, the call-back for
 * those who complained. The default contact policy does the rest: after a
 * return or a complaint, no sales offers and service first.
 */
function offers() {
  const after = (kind) => ({ state: [{ kind, within_secs: 30 * DAY, present: true }] });
  const list = [];
  for (const item of catalog.values()) {
    const base = { item: { id: item.id, kind: item.kind, category: item.category } };
    if (item.kind === "offer") list.push({ ...base, value: 5 });
    if (item.id === "service-return-help") list.push({ ...base, value: 1, eligibility: after("return") });
    if (item.id === "service-callback") list.push({ ...base, value: 1, eligibility: after("complaint") });
  }
  return list;
}

/** The banner: the session's next best offer now, and why. */
function drawBanner() {
  const banner = $("offer-banner");
  const decision = session.nextBestOffer({ device });
  const chosen = decision.chosen[0];
  banner.hidden = !chosen;
  if (!chosen) return;
  const item = catalog.get(chosen.offer);
  banner.dataset.kind = chosen.kind;
  banner.dataset.offer = chosen.offer;
  banner.dataset.eventId = String(chosen.eventId);
  banner.dataset.fired = decision.fired.join(" ");
  $("offer-cta").textContent = item?.label ?? chosen.offer;
  $("offer-why").textContent = decision.fired.length
    ? `Shown because of your ${lastAfterSales() ?? "request"} (rule ${decision.fired.at(-1)}).`
    : `Chosen with probability ${chosen.probability.toFixed(2)} among ${decision.scores.length} offers.`;
}

function lastAfterSales() {
  return session.events.findLast((e) => e.kind === "return" || e.kind === "complaint")?.kind;
}

/** A click on the banner: the offer was taken (reward 1). */
function acceptOffer() {
  const banner = $("offer-banner");
  const outcome = session.reward(Number(banner.dataset.eventId), 1);
  window.maitreDemo.rewards.push(outcome);
  $("offer-why").textContent = `Thanks: noted (${outcome.offer}).`;
  banner.dataset.rewarded = String(outcome.eventId);
}

/** Records a return or a complaint on the last item viewed. */
function afterSales(kind) {
  const last = session.events.findLast((e) => catalog.get(e.item)?.kind === "product");
  if (!last) {
    $("status").textContent = "View a product first.";
    return;
  }
  session.record(kind, last.item, { device });
  render();
}

function categories() {
  const seen = new Set();
  for (const item of catalog.values()) {
    if (item.kind === "product" && item.category) seen.add(item.category);
  }
  return [...seen];
}

function drawCategories() {
  const nav = $("categories");
  for (const name of [null, ...categories()]) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = name ?? "all";
    b.dataset.category = name ?? "";
    b.setAttribute("aria-pressed", String(name === shownCategory));
    b.addEventListener("click", () => {
      shownCategory = name;
      for (const other of nav.children) {
        other.setAttribute("aria-pressed", String(other === b));
      }
      drawGrid();
    });
    nav.append(b);
  }
}

/** The first products of the chosen category, or two of each category. */
function gridItems() {
  const products = [...catalog.values()].filter((i) => i.kind === "product");
  if (shownCategory) {
    return products.filter((i) => i.category === shownCategory).slice(0, PER_CATEGORY * 2);
  }
  return categories().flatMap((c) => products.filter((i) => i.category === c).slice(0, 2));
}

function hue(category) {
  let h = 0;
  for (const ch of category ?? "") h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

function tile(id, extra = "") {
  const item = catalog.get(id) ?? { id, label: id, category: "", kind: "product" };
  const b = document.createElement("button");
  b.type = "button";
  b.className = "tile";
  b.dataset.item = id;
  b.dataset.category = item.category ?? "";
  b.dataset.kind = item.kind;
  const price = item.price == null ? "" : ` · €${item.price.toFixed(2)}`;
  b.innerHTML = `<div class="swatch"></div><div class="label"></div><div class="meta"></div>`;
  b.querySelector(".swatch").style.background = `hsl(${hue(item.category)} 55% 80%)`;
  b.querySelector(".label").textContent = item.label;
  b.querySelector(".meta").textContent = `${item.category}${price}${extra}`;
  b.addEventListener("click", () => {
    session.view(id, { device });
    render();
  });
  return b;
}

function drawGrid() {
  const seen = new Set(session.events.map((e) => e.item));
  $("grid").replaceChildren(...gridItems().map((item) => {
    const t = tile(item.id);
    t.classList.toggle("seen", seen.has(item.id));
    return t;
  }));
}

function drawRail(list, rail) {
  $(rail).replaceChildren(...list.map((r) => {
    const li = document.createElement("li");
    li.dataset.reason = r.reason;
    li.append(tile(r.item));
    return li;
  }));
}

function render() {
  // A browsing rail shows the visitor what they have not looked at yet. (The
  // default keeps viewed items eligible, because they are what shoppers most
  // often buy next; a "buy again / still interested" rail would keep it.)
  const unseen = { excludeSeen: true };
  const products = session.recommend({ k: 8, context: { device }, diversity: { maxPerCategory: 6 }, filters: unseen });
  drawRail(products, "rail-for-you");
  const guides = session.recommend({ k: 4, context: { device }, kinds: ["content"], filters: unseen });
  drawRail(guides, "rail-content");

  const top = products.find((r) => r.because.length > 0);
  $("because").textContent = top
    ? `Because you viewed ${top.because.map((id) => catalog.get(id)?.label ?? id).join(" and ")}`
    : "Popular right now";

  $("events").replaceChildren(...session.events.slice().reverse().map((e) => {
    const li = document.createElement("li");
    li.textContent = `${e.kind} ${catalog.get(e.item)?.label ?? e.item}`;
    return li;
  }));
  drawGrid();
  drawBanner();
  document.body.dataset.renders = String(Number(document.body.dataset.renders) + 1);
}

main().catch((e) => {
  document.body.dataset.status = "failed";
  $("status").textContent = `${e.name}: ${e.message}`;
  throw e;
});

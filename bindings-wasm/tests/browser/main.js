// The browser check: ingest, reject a bad batch, evaluate, and show it all.
import init, { EventLog, evaluate, syntheticStorefront } from "../../pkg/maitre.js";

const METRICS = ["hr@10", "recall@10", "recall@20", "ndcg@10", "mrr@10", "coverage@10"];
const $ = (id) => document.getElementById(id);

async function main() {
  await init();

  const log = new EventLog();
  const report = log.push([
    { customer_id: "c1", item_id: "sku-1", kind: "view", timestamp: 1714564800, context: { channel: "web" } },
    { customer_id: "c1", item_id: "sku-1", kind: "purchase", timestamp: "2024-05-01T12:05:00Z", value: 1 },
    { customer_id: "anon-7", item_id: "sku-2", kind: "view", timestamp: 1714565000, device: "mobile" },
  ]);
  log.link("anon-7", "c1", 1714565100);
  $("accepted").textContent = String(report.accepted);
  $("length").textContent = String(log.length);
  $("summary").textContent = JSON.stringify(log.summary(), null, 2);

  try {
    log.push([
      { customer_id: "c2", item_id: "sku-3", kind: "view", timestamp: 1714566000 },
      { customer_id: "c2", item_id: "", kind: "view", timestamp: 1714566001 },
    ]);
    $("error").textContent = "(no error)";
  } catch (e) {
    $("error").textContent = e.message;
    $("error").dataset.kind = e.kind;
  }
  $("length-after").textContent = String(log.length);

  const shop = syntheticStorefront(7, "tiny");
  const evalReport = evaluate(shop, { models: ["popularity", "item-knn"], positiveKinds: ["purchase"] });
  shop.free();
  $("eval-meta").textContent =
    `${evalReport.split}: ${evalReport.users} tested customers, ${evalReport.items} items`;
  const head = $("results").tHead.rows[0];
  for (const m of METRICS) head.insertCell().outerHTML = `<th>${m}</th>`;
  for (const r of evalReport.results) {
    const row = $("results").tBodies[0].insertRow();
    row.dataset.model = r.model;
    row.insertCell().textContent = r.model;
    for (const m of METRICS) {
      const cell = row.insertCell();
      cell.dataset.metric = m;
      cell.textContent = r[m].toFixed(4);
    }
  }
  document.body.dataset.status = "done";
}

main().catch((e) => {
  $("fatal").textContent = `${e.name}: ${e.message}`;
  document.body.dataset.status = "failed";
  throw e;
});

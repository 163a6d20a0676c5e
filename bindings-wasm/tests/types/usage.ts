// Type-checks the generated .d.ts (tsc --noEmit): typed options and results,
// not `any`. Each @ts-expect-error must really be an error.
import init, {
  EventLog,
  evaluate,
  syntheticStorefront,
  type EvalReport,
  type IngestReport,
  type MaitreError,
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

console.log(skipped, n, first, perChannel, ndcg, fit, wrong);

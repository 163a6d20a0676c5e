// Worker of extremes.test.mjs: runs the calls from index argv[2] on, one JSON
// line per call ("start", then "done" with the outcome), so the parent can
// blame an abort or a hang on the call that was running.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { CALLS, EXTREMES } from "./extremes-cases.mjs";

const require = createRequire(import.meta.url);
const m = require("../../pkg-node/maitre.js");
globalThis.localStorage ??= new (class {
  constructor() { this.map = new Map(); }
  getItem(k) { return this.map.has(k) ? this.map.get(k) : null; }
  setItem(k, v) { this.map.set(k, String(v)); }
  removeItem(k) { this.map.delete(k); }
})();
const bytes = readFileSync(new URL("./fixtures/tiny-storefront.maitre", import.meta.url));
const ctx = { m, shop: m.Storefront.load(new Uint8Array(bytes)), log: m.syntheticStorefront(1, "tiny") };

const cases = Object.keys(CALLS).flatMap((call) => Object.keys(EXTREMES).map((label) => [call, label]));
const emit = (message) => process.stdout.write(JSON.stringify(message) + "\n");
for (let i = Number(process.argv[2] ?? 0); i < cases.length; i++) {
  const [call, label] = cases[i];
  emit({ event: "start", i });
  let outcome;
  try {
    CALLS[call](ctx, EXTREMES[label]);
    outcome = "ok";
  } catch (e) {
    outcome = e instanceof Error && typeof e.kind === "string" ? "maitre" : `${e?.constructor?.name}: ${String(e?.message ?? e).slice(0, 200)}`;
  }
  emit({ event: "done", i, outcome });
}
emit({ event: "end" });

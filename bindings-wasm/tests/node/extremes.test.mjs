// Every public entry point of the package, every numeric argument, extreme
// values (issue 12). The entry points and their argument types come from the
// package's own declarations (pkg-node/maitre.d.ts), so a new function, method
// or numeric option fails "every numeric argument is walked" until
// extremes-cases.mjs calls it. The calls run in a worker process
// (extremes-worker.mjs): a wasm trap or an abort kills only the worker and is
// blamed on the running call, a hang is a per-call timeout; the worker is
// restarted after the call that killed it. A call passes by returning (the
// documented result, e.g. k above the catalogue is the whole catalogue) or by
// throwing a maitre Error (an Error with a string `kind`); a TypeError, a
// RuntimeError (wasm `unreachable`: a Rust panic) or anything else fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { CALLS, EXTREMES } from "./extremes-cases.mjs";

const require = createRequire(import.meta.url);
const DTS = readFileSync(new URL("../../pkg-node/maitre.d.ts", import.meta.url), "utf8");
const WORKER = new URL("./extremes-worker.mjs", import.meta.url).pathname;
const TIMEOUT_MS = 30_000;

/** Names of declared types that carry a number, directly or through another. */
function numericTypes() {
  const bodies = new Map();
  for (const match of DTS.matchAll(/export (?:interface|type) (\w+)([^]*?)(?=\nexport |\n\/\*\*|$)/g)) {
    bodies.set(match[1], match[2]);
  }
  const numeric = new Set([...bodies].filter(([, body]) => /\bnumber\b/.test(body)).map(([name]) => name));
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, body] of bodies) {
      if (!numeric.has(name) && [...numeric].some((t) => new RegExp(`\\b${t}\\b`).test(body))) {
        numeric.add(name);
        grew = true;
      }
    }
  }
  return numeric;
}

function splitParams(text) {
  const out = [];
  let depth = 0, current = "";
  for (const ch of text) {
    if ("<({[".includes(ch)) depth++;
    if (">)}]".includes(ch)) depth--;
    if (ch === "," && depth === 0) { out.push(current); current = ""; } else current += ch;
  }
  if (current.trim()) out.push(current);
  return out.map((p) => p.trim()).map((p) => [p.split(/\??:/)[0].trim(), p.slice(p.indexOf(":") + 1)]);
}

/** Every declared function and method: [owner.method, [[param, type], ...]]. */
function entryPoints() {
  const out = [];
  for (const match of DTS.matchAll(/export function (\w+)\(([^]*?)\):/g)) out.push([match[1], splitParams(match[2])]);
  for (const cls of DTS.matchAll(/export class (\w+) \{([^]*?)\n\}/g)) {
    for (const method of cls[2].matchAll(/^\s+(?:static )?(?:get |set )?(\w+)\((.*)\)(?::[^;]*)?;$/gm)) {
      if (!["free", "constructor"].includes(method[1]) && !method[1].startsWith("__")) {
        out.push([`${cls[1]}.${method[1]}`, splitParams(method[2])]);
      }
    }
  }
  return out;
}

test("every numeric argument is walked", () => {
  const exported = Object.keys(require("../../pkg-node/maitre.js")).sort();
  const declared = [...DTS.matchAll(/export (?:class|function) (\w+)/g)].map((m) => m[1]).sort();
  assert.deepEqual(exported, declared, "the module exports what its declarations say");
  const numeric = numericTypes();
  assert.ok(numeric.has("RecommendOptions") && numeric.has("EventInput"), [...numeric].join(", "));
  const walked = new Set(Object.keys(CALLS).map((key) => key.split("[")[0]));
  const entries = entryPoints();
  assert.ok(entries.length >= 15, `only ${entries.length} entry points found`);
  const missing = entries.flatMap(([name, params]) =>
    params
      .filter(([, type]) => /\bnumber\b/.test(type) || [...numeric].some((t) => new RegExp(`\\b${t}\\b`).test(type)))
      .map(([param]) => `${name}:${param}`)
      .filter((key) => !walked.has(key)));
  assert.deepEqual(missing, [], "add these to extremes-cases.mjs");
});

/** Runs the worker from `start`; resolves with the index to resume from. */
function runWorker(start, cases, outcomes) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [WORKER, String(start)], { stdio: ["ignore", "pipe", "ignore"] });
    let current = null, finished = false;
    let timer = setTimeout(onHang, 60_000); // the first covers loading the package
    function onHang() {
      finished = true;
      const at = current ?? start;
      outcomes.set(at, "hang");
      child.kill("SIGKILL");
      resolve(at + 1);
    }
    const arm = () => { clearTimeout(timer); timer = setTimeout(onHang, TIMEOUT_MS); };
    createInterface({ input: child.stdout }).on("line", (line) => {
      const message = JSON.parse(line);
      if (message.event === "start") { current = message.i; arm(); }
      if (message.event === "done") { outcomes.set(message.i, message.outcome); current = null; arm(); }
      if (message.event === "end") { finished = true; clearTimeout(timer); resolve(cases.length); }
    });
    child.on("exit", (code, signal) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const at = current ?? start;
      outcomes.set(at, `abort (${signal ?? `exit ${code}`})`);
      resolve(at + 1);
    });
  });
}

test("extreme values never abort, hang or escape as other errors", async () => {
  const cases = Object.keys(CALLS).flatMap((call) => Object.keys(EXTREMES).map((label) => [call, label]));
  const outcomes = new Map();
  const started = Date.now();
  for (let start = 0; start < cases.length; ) start = await runWorker(start, cases, outcomes);
  const values = [...outcomes.values()];
  const bad = [...outcomes].filter(([, o]) => o !== "ok" && o !== "maitre")
    .map(([i, o]) => `${cases[i][0]}=${cases[i][1]}: ${o}`);
  const summary = `${outcomes.size} calls in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
    `${values.filter((o) => o.startsWith("abort")).length} aborts, ` +
    `${values.filter((o) => o.startsWith("RuntimeError")).length} panics (wasm traps), ` +
    `${values.filter((o) => o === "hang").length} hangs, ${bad.length} non-maitre outcomes`;
  console.log(summary);
  assert.equal(outcomes.size, cases.length);
  assert.deepEqual(bad, [], summary);
});

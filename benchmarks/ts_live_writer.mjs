// The agent runtime's side of benchmarks/several_servers.py: the TypeScript store writing
// at a steady rate, as benchmarks/live_writer.py does from Python (3 turns to 1 task event).
//   node benchmarks/ts_live_writer.mjs TARGET SESSIONS RUN RATE SECONDS OUT
// TARGET: a SQLite file or a PostgreSQL URL; SESSIONS: comma-separated ids. Writes a JSON
// report (ids written, errors, "database is locked" errors, slowest write) to OUT.
import { writeFileSync } from "node:fs";
import { RuntimeMemoryStore } from "../runtime-store-ts/dist/index.js";

const [target, sessionList, runId, rate, seconds, out] = process.argv.slice(2);
const sessions = sessionList.split(",");
const store = await RuntimeMemoryStore.open(target);
const report = { turn_ids: [], event_ids: [], errors: 0, locked: 0, slowest_write_s: 0 };
const interval = 1000 / Number(rate);
const started = performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
for (let n = 0; performance.now() - started < Number(seconds) * 1000; n += 1) {
  const due = started + n * interval;
  if (due > performance.now()) await sleep(due - performance.now());
  const begin = performance.now();
  try {
    if (n % 4 === 3) {
      report.event_ids.push((await store.addEvent("info", "low", `load event ${n}`, { runId })).id);
    } else {
      const turn = await store.appendTurn(sessions[n % sessions.length], "agent", `load turn ${n}`, { tokenCount: 3 });
      report.turn_ids.push(turn.id);
    }
  } catch (error) {
    report.errors += 1;
    if (String(error).includes("database is locked")) report.locked += 1;
  }
  report.slowest_write_s = Math.max(report.slowest_write_s, (performance.now() - begin) / 1000);
}
report.elapsed_s = (performance.now() - started) / 1000;
await store.close();
writeFileSync(out, JSON.stringify(report));

// A TypeScript runtime appending turns: node tests/ts_appender.mjs DB SESSION COUNT LABEL START_AT
import { RuntimeMemoryStore } from "../runtime-store-ts/dist/index.js";

const [file, sessionId, count, label, startAt] = process.argv.slice(2);
const store = await RuntimeMemoryStore.open(file);
// START_AT is on the machine's monotonic clock (Python's time.monotonic), as hrtime is.
const wait = Number(startAt) * 1000 - Number(process.hrtime.bigint() / 1_000_000n);
if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
for (let n = 0; n < Number(count); n += 1) {
  await store.appendTurn(sessionId, "agent", `${label} ${n}`, { tokenCount: n });
  await new Promise((resolve) => setTimeout(resolve, 1)); // a runtime does some work between turns
}
await store.close();
process.stdout.write(`${label} wrote ${count}`);

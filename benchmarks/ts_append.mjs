// node benchmarks/ts_append.mjs DB SESSION COUNT: appends COUNT turns, prints seconds taken.
import { RuntimeMemoryStore } from "../runtime-store-ts/dist/index.js";

const [file, sessionId, count] = process.argv.slice(2);
const store = await RuntimeMemoryStore.open(file);
const start = process.hrtime.bigint();
for (let n = 0; n < Number(count); n += 1) {
  await store.appendTurn(sessionId, "assistant", `turn ${n} from a TypeScript runtime`, { tokenCount: 8 });
}
process.stdout.write(String(Number(process.hrtime.bigint() - start) / 1e9));
await store.close();

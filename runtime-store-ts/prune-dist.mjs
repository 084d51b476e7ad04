// Before packing: remove compiled modules whose source is gone (a module renamed or split
// leaves its old dist/*.js behind, and package.json ships dist/*.js). Removes only those,
// never the whole of dist/, which tests running at the same time import.
import { existsSync, readdirSync, rmSync } from "node:fs";

for (const name of readdirSync("dist")) {
  const stem = name.replace(/\.d\.ts$|\.js$/, "");
  if (stem !== name && !existsSync(`src/${stem}.ts`)) rmSync(`dist/${name}`);
}

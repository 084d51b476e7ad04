// The TypeScript store's person keys, for tests/test_people.py to compare with Python's:
//   node tests/ts_people.mjs every  -> a JSON list: the key of each code point, 0 to 10FFFF
//   node tests/ts_people.mjs visible -> a string of 0/1: whether each code point is visible
//   node tests/ts_people.mjs lines  -> for each line of stdin (a JSON list of names), a line
//                                      with the JSON list of their keys
import { createInterface } from "node:readline";

import { people } from "../runtime-store-ts/dist/index.js";

if (process.argv[2] === "every") {
  const keys = [];
  for (let code = 0; code <= 0x10ffff; code++) keys.push(people.key(String.fromCodePoint(code)));
  process.stdout.write(JSON.stringify(keys));
} else if (process.argv[2] === "visible") {
  let shown = "";
  for (let code = 0; code <= 0x10ffff; code++) shown += people.hasVisible(String.fromCodePoint(code)) ? "1" : "0";
  process.stdout.write(shown);
} else {
  for await (const line of createInterface({ input: process.stdin })) {
    process.stdout.write(`${JSON.stringify(JSON.parse(line).map((name) => people.key(name)))}\n`);
  }
}

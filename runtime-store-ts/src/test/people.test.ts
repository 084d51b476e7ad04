/**
 * Who is the same person (contract/people.json): the contract's examples, in this store.
 * The same examples run in Python (tests/test_people.py), which also compares both
 * languages' keys on every code point and on Hypothesis-made names.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { CONTRACT_DIR, people } from "../index.js";

const contract = JSON.parse(readFileSync(join(CONTRACT_DIR, "people.json"), "utf8")) as {
  examples: Record<string, string[]>[];
};

for (const example of contract.examples) {
  for (const [kind, names] of Object.entries(example)) {
    test(`people: ${kind} ${JSON.stringify(names)}`, () => {
      const keys = new Set(names.map((name) => people.key(name)));
      if (kind === "same") {
        assert.equal(keys.size, 1, JSON.stringify([...keys]));
        assert.ok(!keys.has(""));
        assert.ok(names.every((name) => people.same(names[0], name)));
      } else if (kind === "nobody") {
        assert.deepEqual([...keys], [""]);
        assert.ok(!names.some((name) => people.same(name, name)));
      } else {
        assert.equal(keys.size, names.length, JSON.stringify([...keys]));
        assert.ok(!people.same(names[0], names[1]));
      }
    });
  }
}

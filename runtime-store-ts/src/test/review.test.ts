/**
 * The TypeScript store's annotation calls (review.ts), for what JavaScript callers can do
 * that Python ones cannot: values of any type (a number as text, a boolean as 1, NaN, an
 * array for the scores, a limit of 1.5) are refused with the store's words and nothing
 * written; annotationsSince pages by its cursor, losing none, even among annotations
 * sharing an instant. That both stores write the same rows is the contract scenarios' part.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { InvalidInput, NotFound, RuntimeMemoryStore } from "../index.js";

const NOW = new Date("2026-12-01T09:00:00.000Z");

async function withStore(run: (store: RuntimeMemoryStore, ids: { session: string; turn: string }) => Promise<void>): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "tom-review-"));
  const store = await RuntimeMemoryStore.bootstrap(join(tmp, "tom.sqlite"), { now: () => NOW });
  try {
    await store.startSession("tom", { sessionId: "s1" });
    const turn = await store.appendTurn("s1", "assistant", "hello");
    await store.createScoreConfig("helpful", "categorical", { createdBy: "rhea", categories: ["yes", "no"] });
    await store.createScoreConfig("accuracy", "numeric", { createdBy: "rhea", minValue: 0, maxValue: 5 });
    await store.createScoreConfig("safe", "boolean", { createdBy: "rhea" });
    await run(store, { session: "s1", turn: turn.id });
  } finally {
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Every annotation and its scores, as the runtime reads them. */
async function everything(store: RuntimeMemoryStore): Promise<unknown[]> {
  return (await store.annotationsSince({ limit: 1000 })).annotations;
}

test("any refused annotation input is said and writes nothing", async () => {
  await withStore(async (store, { session, turn }) => {
    const mine = await store.annotate("turn", turn, { author: "rita", comment: "first" });
    const before = await everything(store);
    const refused: [string, string, Record<string, unknown>, RegExp][] = [
      ["turn", turn, { author: "rita", scores: { accuracy: "3" } }, /score 'accuracy' takes .*not "3"/],
      ["turn", turn, { author: "rita", scores: { accuracy: Number.NaN } }, /score 'accuracy' takes/],
      ["turn", turn, { author: "rita", scores: { accuracy: 6 } }, /score 'accuracy' takes/],
      ["turn", turn, { author: "rita", scores: { safe: 1 } }, /score 'safe' takes .*not 1/],
      ["turn", turn, { author: "rita", scores: { helpful: "maybe" } }, /score 'helpful' takes/],
      ["turn", turn, { author: "rita", scores: [["safe", true]] }, /scores must map score config names to values/],
      ["turn", turn, { author: "rita", scores: { nope: true } }, /no score config named 'nope'/],
      ["turn", turn, { author: 7, comment: "x" }, /author must be a non-empty text/],
      ["turn", turn, { author: "\u200b", comment: "x" }, /author must name a person/],
      ["turn", turn, { author: "rita", comment: "a\0b" }, /comment cannot hold the NUL character/],
      ["turn", turn, { author: "rita", comment: " \u200b " }, /an annotation needs a score, a comment or a correction/],
      ["session", session, { author: "rita", correction: "better" }, /only a turn takes a correction, not a session/],
      ["answer", turn, { author: "rita", comment: "x" }, /target_kind must be one of/],
      ["turn", "missing", { author: "rita", comment: "x" }, /no conversation_turns row with id 'missing'/],
      ["turn", turn, { author: "ops", comment: "x", supersedes: mine.id }, /only its author may edit it/],
      ["turn", turn, { author: "rita", comment: "x", createdAt: "yesterday" }, /created_at must be an ISO-8601 timestamp/],
    ];
    for (const [kind, target, options, said] of refused) {
      await assert.rejects(
        store.annotate(kind, target, options as never),
        (e: Error) => (e instanceof InvalidInput || e instanceof NotFound) && said.test(e.message),
        `${JSON.stringify(options)}: ${said}`,
      );
    }
    assert.deepEqual(await everything(store), before);
  });
});

test("annotationsSince pages by its cursor, losing none among annotations sharing an instant", async () => {
  await withStore(async (store, { session }) => {
    const made: string[] = [];
    for (let n = 0; n < 5; n += 1) {
      made.push((await store.annotate("session", session, { author: "rita", comment: `c${n}` })).id);
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page += 1) {
      const { annotations, nextCursor }: { annotations: { annotation: { id: string } }[]; nextCursor: string | null } = await store.annotationsSince({ after, limit: 2 });
      seen.push(...annotations.map((a) => a.annotation.id));
      if (!annotations.length) {
        assert.equal(nextCursor, after, "nothing new: the cursor stays where it was");
        break;
      }
      after = nextCursor;
    }
    assert.deepEqual(seen, [...made].sort()); // same instant: in id order (uuid7, as made)
    // An edit is a new annotation: it comes after the cursor.
    const edit = await store.annotate("session", session, { author: "rita", comment: "c0, edited", supersedes: made[0] });
    assert.deepEqual((await store.annotationsSince({ after })).annotations.map((a) => a.annotation.id), [edit.id]);
  });
});

test("annotationsSince refuses a limit that is no whole number in range, and an unknown cursor", async () => {
  await withStore(async (store) => {
    for (const limit of [0, 1.5, -1, 1001, Number.NaN, "2"]) {
      await assert.rejects(store.annotationsSince({ limit: limit as number }), (e: Error) => e instanceof InvalidInput
        && /limit must be a whole number from 1 to 1000/.test(e.message), String(limit));
    }
    await assert.rejects(store.annotationsSince({ after: "nope" }), NotFound);
    await assert.rejects(store.annotationsSince({ after: "a\0b" }), NotFound);
  });
});

/**
 * What people write that the rule reads: who they are (contract/people.json), and whether
 * they said something (contract/visible_text.json), as memory_app/promotion/people.py judges them.
 *
 * Two names are one person when their keys are equal; a text a person must give (a
 * rejection's notes) says something when it has a visible character, and a name without
 * one names nobody. Both rules use the contract's tables (Unicode 15.1), not Node's own
 * Unicode (newer than Python's, and JavaScript has no case folding), where versions differ,
 * so both stores judge every text alike. Names are stored and shown as written: the key is
 * only ever compared.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

interface VisibleText { not_visible_categories: string[]; not_visible_ranges: [string, string][] }

/** What a refusal adds, in the forms and both stores alike. */
export const SAYS_NOTHING = "spaces, zero-width and blank characters alone say nothing";

interface PeopleContract {
  unicode_version: string;
  ignorable: [number, number][];
  whitespace: [number, number][];
  unassigned: [number, number][];
  casefold: Record<string, string>;
}

export interface People {
  /** Whether `text` is a string with at least one visible character. */
  hasVisible(text: unknown): boolean;
  /** The key two names of one person share ("" for a name that names nobody: one without
   * a visible character). */
  key(name: unknown): string;
  /** Whether two names name one person (a name that names nobody is nobody's). */
  same(a: unknown, b: unknown): boolean;
}

/** A set of code points given as sorted inclusive [first, last] runs. */
function inRanges(runs: [number, number][]): (char: string) => boolean {
  return (char) => {
    const code = char.codePointAt(0) as number;
    let lo = 0;
    let hi = runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [first, last] = runs[mid] as [number, number];
      if (code < first) hi = mid - 1;
      else if (code > last) lo = mid + 1;
      else return true;
    }
    return false;
  };
}

const version = (text: string) => text.split(".").map(Number);

export function loadPeople(contractDir: string): People {
  const contract = JSON.parse(readFileSync(join(contractDir, "people.json"), "utf8")) as PeopleContract;
  // NFKC of text assigned in Unicode 15.1 never changes in a later version (Unicode's
  // normalization stability), so a newer runtime gives the contract's result.
  const [major = 0, minor = 0] = version(process.versions.unicode ?? "0");
  const [needMajor = 0, needMinor = 0] = version(contract.unicode_version);
  if (major < needMajor || (major === needMajor && minor < needMinor)) {
    throw new Error(`names are compared by Unicode ${contract.unicode_version} or later`);
  }
  const ignorable = inRanges(contract.ignorable);
  const whitespace = inRanges(contract.whitespace);
  const unassigned = inRanges(contract.unassigned);
  const fold = new Map(Object.entries(contract.casefold));
  const visibleText = JSON.parse(readFileSync(join(contractDir, "visible_text.json"), "utf8")) as VisibleText;
  // The categories as \p{..} classes: a character matching one does not show.
  const invisibleClass = new RegExp(`^[${visibleText.not_visible_categories.map((c) => `\\p{${c}}`).join("")}]$`, "u");
  const blank = inRanges(visibleText.not_visible_ranges.map(([low, high]): [number, number] => [parseInt(low, 16), parseInt(high, 16)]));
  // A code point Unicode 15.1 does not assign counts as shown: it may be a letter of a
  // script added since (Node knows a newer Unicode than Python; both stores judge alike).
  // (The table holds the surrogates too, which never show.)
  const surrogate = /^\p{Cs}$/u;
  const isVisible = (char: string): boolean =>
    (unassigned(char) && !surrogate.test(char)) || !(blank(char) || invisibleClass.test(char));
  // Iterating a string yields code points; a lone surrogate is one of its own (\p{Cs}).
  const hasVisible = (text: unknown): boolean => typeof text === "string" && [...text].some(isVisible);

  /** NFKC as Unicode 15.1 gives it: code points it does not assign are kept as they are
   * (each is a starter nothing composes with, so the runs between them normalise apart). */
  const nfkc = (text: string): string => {
    let out = "";
    let run = "";
    for (const char of text) {
      if (unassigned(char)) {
        out += run.normalize("NFKC") + char;
        run = "";
      } else {
        run += char;
      }
    }
    return out + run.normalize("NFKC");
  };

  const cache = new Map<string, string>();
  const key = (name: unknown): string => {
    const given = name === null || name === undefined ? "" : String(name);
    const known = cache.get(given);
    if (known !== undefined) return known;
    if (!hasVisible(given)) return "";
    let text = "";
    for (const char of given) if (!ignorable(char)) text += char;
    let folded = "";
    for (const char of nfkc(text)) folded += fold.get(char) ?? char;
    const words: string[] = [];
    let word = "";
    for (const char of nfkc(folded) + " ") {
      if (whitespace(char)) {
        if (word) words.push(word);
        word = "";
      } else {
        word += char;
      }
    }
    const made = words.join(" ");
    if (cache.size > 4096) cache.clear();
    cache.set(given, made);
    return made;
  };
  return { hasVisible, key, same: (a, b) => { const k = key(a); return k !== "" && k === key(b); } };
}

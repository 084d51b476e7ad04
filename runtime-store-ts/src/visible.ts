/**
 * Whether a text a person must give says something (a rejection's notes): at least one
 * visible character, as contract/visible_text.json defines it for both stores. Spaces,
 * zero-width and blank-looking characters (U+3164 HANGUL FILLER, U+2800 BRAILLE PATTERN
 * BLANK) alone record a decision nobody can read.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

interface VisibleText { not_visible_categories: string[]; not_visible_ranges: [string, string][] }

export const SAYS_NOTHING = "spaces, zero-width and blank characters alone say nothing";

/** The rule read from the contract folder: true when `text` is a string with at least one
 * visible character. */
export function loadVisible(contractDir: string): (text: unknown) => boolean {
  const contract = JSON.parse(readFileSync(join(contractDir, "visible_text.json"), "utf8")) as VisibleText;
  // The categories as \p{..} classes: a character matching one does not count.
  const classes = contract.not_visible_categories.map((c) => `\\p{${c}}`).join("");
  const notVisible = new RegExp(`^[${classes}]$`, "u");
  const ranges = contract.not_visible_ranges.map(([low, high]): [number, number] => [parseInt(low, 16), parseInt(high, 16)]);
  const isVisible = (char: string): boolean => {
    if (notVisible.test(char)) return false;
    const code = char.codePointAt(0) as number;
    return !ranges.some(([low, high]) => low <= code && code <= high);
  };
  // Iterating a string yields code points; a lone surrogate is one of its own (\p{Cs}).
  return (text) => typeof text === "string" && [...text].some(isVisible);
}

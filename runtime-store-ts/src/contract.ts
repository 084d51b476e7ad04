/**
 * The shared contract (v1 DDL, governance defaults, decision log, people, connection set-up)
 * as data: the files in contract/, which the Python store reads too.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { loadPeople } from "./people.js";

const HERE = dirname(fileURLToPath(import.meta.url));
/** The contract folder: beside the package when installed, the repository's otherwise. */
export const CONTRACT_DIR = [join(HERE, "..", "contract"), join(HERE, "..", "..", "contract")]
  .find((dir) => existsSync(join(dir, "v1_schema.sql"))) ?? join(HERE, "..", "contract");

/** A contract file's text. */
export function contractText(name: string): string {
  return readFileSync(join(CONTRACT_DIR, name), "utf8");
}

/** How every connection to the file is set up: the pragmas and lock wait both stores use. */
export interface Connection { pragmas: Record<string, string | number>; busy_timeout_ms: number }

/** How every connection to the file is set up (contract/connection.json). */
export function contractConnection(): Connection {
  return JSON.parse(contractText("connection.json")) as Connection;
}

/** Who is the same person, and whether a rejection's notes say something (contract/people.json,
 * contract/visible_text.json). */
export const people = loadPeople(CONTRACT_DIR);

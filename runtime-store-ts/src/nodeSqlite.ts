/**
 * Node's built-in SQLite (node:sqlite), loaded when a SQLite file is first opened rather
 * than when the package is imported: a Node without it (before 22.13; 22.5-22.12 only
 * behind --experimental-sqlite) can still import the package and use PostgreSQL, and
 * opening a file there says which Node is needed instead of ERR_UNKNOWN_BUILTIN_MODULE.
 */
import { StoreError } from "./errors.js";

type NodeSqlite = typeof import("node:sqlite");

// What Node 22 prints the first time node:sqlite loads, on every run of every program that
// uses this package: the one warning not to print (the package pins the Node it needs).
const SQLITE_WARNING = "SQLite is an experimental feature";

let loaded: NodeSqlite | undefined;

/** node:sqlite, or a StoreError naming the Node it needs. */
export function nodeSqlite(): NodeSqlite {
  if (loaded) return loaded;
  // Why emitWarning and not process.on("warning"): Node prints warnings from a listener of
  // its own, which another listener cannot stop, and removing that listener would silence
  // every warning. The warning is emitted synchronously while the module loads, so the
  // override lasts exactly that call and drops only this one message; any other warning,
  // and this one when the program loaded node:sqlite itself, is printed as usual.
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === "string" ? warning : warning?.message;
    if (typeof text === "string" && text.startsWith(SQLITE_WARNING)) return;
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    // getBuiltinModule (Node 20.16, 22.3) answers undefined for a module this Node lacks.
    loaded = process.getBuiltinModule?.("node:sqlite") as NodeSqlite | undefined;
  } finally {
    process.emitWarning = emitWarning;
  }
  if (!loaded) {
    throw new StoreError(
      `SQLite files need node:sqlite, which Node ${process.versions.node} does not have: ` +
      "run Node 22.13 or newer (a PostgreSQL URL works on this Node, with pg installed)",
    );
  }
  return loaded;
}

/**
 * The decision log's Merkle tree as C2SP tlog-tiles (tommemory_log_tiles), written in the
 * transaction that appends entries, as memory_app/promotion/log_tiles.py `extend` does, step
 * for step: so both stores' writes land in the same tiles (contract/scenarios/log_tiles.json).
 *
 * A tile holds 256 consecutive hashes of one tree level, as hex: level 0 the leaf hashes,
 * level L the roots of the full tiles of the level below. The partial tile at the right edge
 * of each level grows; a tile that fills up adds its root to the level above. Tiles that are
 * not the log's (behind it, ahead of it, or ending in another hash) are brought back to it
 * first: the missing hashes appended, or every tile made again from the log.
 */
import { createHash } from "node:crypto";

import type { Tx } from "./engines.js";

const TABLE = "tommemory_log_tiles";
const HEIGHT = 8;
const WIDTH = 256;
const HEX = 64; // hex digits of a hash
const LEVELS = 8; // 256 ** 8 = 2 ** 64 entries

// The right-edge tile of each level, one index seek each.
const EDGES = Array.from({ length: LEVELS }, (_, level) =>
  `SELECT * FROM (SELECT level, "index", hashes FROM ${TABLE} WHERE level = ${level} `
  + `ORDER BY "index" DESC LIMIT 1) e${level}`).join(" UNION ALL ");

type Tile = { level: number; index: number; width: number };

function sha256(...parts: Buffer[]): Buffer {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** The RFC 6962 root of a full tile's 256 hashes (hex). */
function tileRoot(hashes: string): string {
  let level: Buffer[] = [];
  for (let n = 0; n < hashes.length; n += HEX) level.push(Buffer.from(hashes.slice(n, n + HEX), "hex"));
  while (level.length > 1) {
    const paired: Buffer[] = [];
    for (let n = 0; n < level.length; n += 2) paired.push(sha256(Buffer.from([1]), level[n]!, level[n + 1]!));
    level = paired;
  }
  return level[0]!.toString("hex");
}

/** Every tile of a tree of `size` leaves, the right edge of each level last. */
function tilesOfTree(size: number): Tile[] {
  const found: Tile[] = [];
  for (let level = 0; Math.floor(size / WIDTH ** level) > 0; level += 1) {
    const count = Math.floor(size / WIDTH ** level);
    for (let index = 0; index < Math.floor(count / WIDTH); index += 1) found.push({ level, index, width: WIDTH });
    if (count % WIDTH) found.push({ level, index: Math.floor(count / WIDTH), width: count % WIDTH });
  }
  return found;
}

/** The tiles that change when `fresh` leaf hashes (hex) are appended to a tree of `size`
 * whose partial right-edge tiles are `edge` (level -> hashes): key "level/index" -> hashes. */
function append(size: number, edge: Map<number, string>, fresh: string[]): Map<string, [number, number, string]> {
  const changed = new Map<string, [number, number, string]>();
  let items = fresh;
  for (let level = 0; items.length; level += 1) {
    const before = Math.floor(size / WIDTH ** level);
    let index = Math.floor(before / WIDTH);
    let tile = edge.get(level) ?? "";
    const above: string[] = [];
    for (const item of items) {
      tile += item;
      if (tile.length === WIDTH * HEX) {
        changed.set(`${level}/${index}`, [level, index, tile]);
        above.push(tileRoot(tile));
        index += 1;
        tile = "";
      }
    }
    if (tile) changed.set(`${level}/${index}`, [level, index, tile]);
    items = above;
  }
  return changed;
}

function isLeafHash(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-fA-F]{64}$/.test(value);
}

/** The log's leaf hashes from entry `start` (to `stop`), up to the first gap. */
async function logHashes(tx: Tx, start: number, stop?: number): Promise<string[]> {
  const rows = stop === undefined
    ? await tx.all('SELECT "index", leaf_hash FROM tommemory_audit_log WHERE "index" >= ? ORDER BY "index"', start)
    : await tx.all('SELECT "index", leaf_hash FROM tommemory_audit_log WHERE "index" >= ? AND "index" < ? ORDER BY "index"', start, stop);
  const found: string[] = [];
  for (const [n, row] of rows.entries()) {
    if (Number(row.index) !== start + n || !isLeafHash(row.leaf_hash)) break;
    found.push(row.leaf_hash.toLowerCase());
  }
  return found;
}

/** Grow the tiles that were there, add the new ones, in level, then index order. */
async function write(tx: Tx, changed: Map<string, [number, number, string]>, existing: Set<string>): Promise<void> {
  const ordered = [...changed.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (const [level, index, hashes] of ordered) {
    if (existing.has(`${level}/${index}`)) {
      await tx.run(`UPDATE ${TABLE} SET hashes = ? WHERE level = ? AND "index" = ?`, hashes, level, index);
    } else {
      await tx.run(`INSERT INTO ${TABLE} (level, "index", hashes) VALUES (?, ?, ?)`, level, index, hashes);
    }
  }
}

async function rebuild(tx: Tx): Promise<void> {
  await tx.run(`DELETE FROM ${TABLE}`);
  await write(tx, append(0, new Map(), await logHashes(tx, 0)), new Set());
}

/**
 * After the log's entries `start`, `start + 1`, ... (leaf hashes `fresh`, hex) were
 * appended in this transaction, append them to the tiles. `before` is the leaf hash of
 * entry `start - 1` (null for the first entry).
 */
export async function extendTiles(tx: Tx, start: number, fresh: string[], before: string | null): Promise<void> {
  const rows = new Map<number, { index: number; hashes: string }>();
  for (const row of await tx.all(EDGES)) rows.set(Number(row.level), { index: Number(row.index), hashes: String(row.hashes) });
  const bottom = rows.get(0);
  const size = bottom ? bottom.index * WIDTH + Math.floor(bottom.hashes.length / HEX) : 0;
  const rightmost = new Map<number, Tile>();
  for (const tile of tilesOfTree(size)) rightmost.set(tile.level, tile);
  const whole = rows.size === rightmost.size && [...rows].every(([level, row]) => {
    const edge = rightmost.get(level);
    return edge !== undefined && row.hashes.length % HEX === 0 && row.index === edge.index
      && row.hashes.length / HEX === edge.width;
  });
  const last = bottom && bottom.hashes.length ? bottom.hashes.slice(-HEX) : null;
  const wanted = before === null ? null : isLeafHash(before) ? before.toLowerCase() : "";
  if (!whole || size > start || (size === start && last !== wanted)) return rebuild(tx);
  let leaves = fresh.map((h) => h.toLowerCase());
  if (size < start) { // entries a writer appended without tiles
    const missing = await logHashes(tx, size, start);
    const ends = size ? await logHashes(tx, size - 1, size) : [];
    if (missing.length < start - size || (size && ends[0] !== last)) return rebuild(tx);
    leaves = [...missing, ...leaves];
  }
  const edge = new Map<number, string>();
  const existing = new Set<string>();
  for (const [level, row] of rows) {
    if (row.hashes.length < WIDTH * HEX) {
      edge.set(level, row.hashes);
      existing.add(`${level}/${row.index}`);
    }
  }
  await write(tx, append(size, edge, leaves), existing);
}

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { and, asc, between, eq } from 'drizzle-orm';
import type { Config } from '../config';
import type { Db } from '../storage/db';
import { fileChunks, firmwareChunks } from '../storage/schema/index';

/** Size of one stored chunk in PostgreSQL; every chunk but the last is exactly this long, so offsets map to chunks. */
export const FILE_CHUNK_BYTES = 1024 * 1024;

/** A table of file chunks: `file_chunks`, or `firmware_chunks` (same columns). */
export type ChunkTable = typeof fileChunks | typeof firmwareChunks;

/** Where a file's bytes live. */
export interface FileLocation {
  readonly id: number;
  readonly orgId: string;
  readonly store: string;
}

/** A content store for files; metadata lives in the `files` table whatever the store. */
export interface FileStore {
  readonly kind: 'postgres' | 'dir';
  /** Stores the content of file `loc` from chunks of at most {@link FILE_CHUNK_BYTES} (all but the last exactly that size). */
  write(loc: FileLocation, chunks: AsyncIterable<Buffer>): Promise<void>;
  /** Streams bytes `start`..`end` (inclusive) of a file. */
  read(loc: FileLocation, start: number, end: number): Readable;
  /** Removes a file's content (idempotent). */
  remove(loc: FileLocation): Promise<void>;
}

/**
 * Chunked bytea rows in `file_chunks` (or another table of the same columns, such as
 * `firmware_chunks`): every instance sees them, and they commit with the database.
 */
export function createPostgresFileStore(db: Db, chunkTable: ChunkTable = fileChunks): FileStore {
  // NOTE: drizzle types a table by its name; tables of identical columns are used alike.
  const table = chunkTable as typeof fileChunks;
  return {
    kind: 'postgres',
    async write(loc, chunks) {
      let seq = 0;
      for await (const data of chunks) await db.insert(table).values({ fileId: loc.id, seq: seq++, data });
    },
    read(loc, start, end) {
      async function* gen() {
        const first = Math.floor(start / FILE_CHUNK_BYTES);
        const last = Math.floor(end / FILE_CHUNK_BYTES);
        // A few chunks per query: bounded memory for large ranges.
        for (let s = first; s <= last; s += 4) {
          const rows = await db
            .select({ seq: table.seq, data: table.data })
            .from(table)
            .where(and(eq(table.fileId, loc.id), between(table.seq, s, Math.min(s + 3, last))))
            .orderBy(asc(table.seq));
          for (const r of rows) {
            const buf = Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data as Uint8Array);
            const base = r.seq * FILE_CHUNK_BYTES;
            const from = Math.max(0, start - base);
            const to = Math.min(buf.length, end - base + 1);
            if (to > from) yield buf.subarray(from, to);
          }
        }
      }
      return Readable.from(gen());
    },
    async remove(loc) {
      await db.delete(table).where(eq(table.fileId, loc.id));
    },
  };
}

/** One file per stored id under `dir/<orgId>/` (names never come from clients); flushed to disk before the write resolves. */
export function createDirFileStore(dir: string): FileStore {
  const pathOf = (loc: FileLocation) => join(dir, encodeURIComponent(loc.orgId), `${loc.id}.bin`);
  return {
    kind: 'dir',
    async write(loc, chunks) {
      await mkdir(join(dir, encodeURIComponent(loc.orgId)), { recursive: true });
      await pipeline(Readable.from(chunks), createWriteStream(pathOf(loc), { flags: 'w', flush: true }));
    },
    read(loc, start, end) {
      return createReadStream(pathOf(loc), { start, end });
    },
    async remove(loc) {
      await rm(pathOf(loc), { force: true });
    },
  };
}

/** The configured store for new files. */
export function createFileStore(config: Config, db: Db): FileStore {
  return config.FILE_STORE === 'dir' ? createDirFileStore(fileDir(config)) : createPostgresFileStore(db);
}

/** FILE_DIR, or DATA_DIR/files. */
export function fileDir(config: Config): string {
  return config.FILE_DIR ?? join(config.DATA_DIR, 'files');
}

/** The store that holds an existing file (a file keeps the store it was written to). */
export function storeFor(config: Config, db: Db, loc: FileLocation): FileStore {
  return loc.store === 'dir' ? createDirFileStore(fileDir(config)) : createPostgresFileStore(db);
}

import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import BetterSqlite3 from "better-sqlite3";
import {
  type BetterSQLite3Database,
  drizzle,
} from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import * as schema from "./schema.js";

/** Drizzle handle over the service's schema. */
export type Db = BetterSQLite3Database<typeof schema>;

/** An open database: the drizzle handle and the way to close it. */
export interface Database {
  readonly db: Db;
  /** The better-sqlite3 connection, for plain SQL in this folder. */
  readonly client: BetterSqlite3.Database;
  /** File path of the database, or ":memory:". */
  readonly path: string;
  /** Runs `fn` in one immediate transaction and returns its result. */
  transaction<T>(fn: (tx: Db) => T): T;
  /** Checkpoints the write-ahead log and closes the connection. */
  close(): void;
}

/**
 * Opens (creating when missing) the SQLite database at `path`, applies the
 * pending migrations and returns it. `":memory:"` opens a private in-memory
 * database, which tests use.
 */
export function openDatabase(path: string): Database {
  if (path !== ":memory:") {
    mkdirSync(dirname(resolve(path)), { recursive: true });
  }
  const sqlite = new BetterSqlite3(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: findMigrationsFolder() });
  return {
    db,
    client: sqlite,
    path,
    transaction<T>(fn: (tx: Db) => T): T {
      // better-sqlite3 transactions are synchronous, so `fn` must not await.
      return sqlite.transaction(() => fn(db)).immediate();
    },
    close() {
      if (!sqlite.open) {
        return;
      }
      if (path !== ":memory:") {
        sqlite.pragma("wal_checkpoint(TRUNCATE)");
      }
      sqlite.close();
    },
  };
}

// The migrations folder sits at the package root, which is two levels above
// this file in src/ and three levels above it in dist/src/.
function findMigrationsFolder(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "migrations");
    if (existsSync(join(candidate, "meta", "_journal.json"))) {
      return candidate;
    }
    dir = dirname(dir);
  }
  throw new Error(
    "migrations folder not found above " +
      fileURLToPath(import.meta.url) +
      ": reinstall the package so that migrations/ is present",
  );
}

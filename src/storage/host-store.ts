import type BetterSqlite3 from "better-sqlite3";
import type { Database } from "./database.js";

const MAX_CACHED_STATEMENTS = 256;

/** A schema change of the host application, applied once. */
export interface HostMigration {
  /** Unique, stable name; migrations are applied in the order given. */
  name: string;
  sql: string;
}

/** Values SQLite accepts as bound parameters. */
export type SqlValue = string | number | bigint | Buffer | null;

/**
 * Plain SQL access to the service's SQLite database for host services,
 * such as the sample UserService. Host tables live next to the service's
 * own tables, so a host write and the events it emits share one
 * transaction. Every method is synchronous.
 */
export interface HostStore {
  /** Applies the migrations that were not applied before, in order. */
  migrate(migrations: readonly HostMigration[]): void;
  /** Runs a statement and returns the number of changed rows. */
  run(sql: string, ...params: SqlValue[]): number;
  /** Returns the first row of a query, or undefined. */
  get<T>(sql: string, ...params: SqlValue[]): T | undefined;
  /** Returns every row of a query. */
  all<T>(sql: string, ...params: SqlValue[]): T[];
  /**
   * Runs `fn` in one transaction; it commits when `fn` returns and rolls
   * back when it throws. `fn` must not await. Transactions nest.
   */
  transaction<T>(fn: () => T): T;
}

/** Creates the host store over an open database. */
export function createHostStore(database: Database): HostStore {
  const sqlite = database.client;
  const statements = new Map<string, BetterSqlite3.Statement<SqlValue[]>>();
  // Least recently used statements are evicted, so hosts that build SQL
  // from the shape of a query cannot grow the cache without bound.
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = sqlite.prepare<SqlValue[]>(sql);
      if (statements.size >= MAX_CACHED_STATEMENTS) {
        const oldest = statements.keys().next().value;
        if (oldest !== undefined) statements.delete(oldest);
      }
    } else {
      statements.delete(sql);
    }
    statements.set(sql, statement);
    return statement;
  };
  const store: HostStore = {
    migrate(migrations) {
      sqlite.exec(
        "create table if not exists host_migrations (name text primary key, applied_at integer not null)",
      );
      for (const migration of migrations) {
        const applied = sqlite
          .prepare("select 1 from host_migrations where name = ?")
          .get(migration.name);
        if (applied !== undefined) {
          continue;
        }
        database.transaction(() => {
          sqlite.exec(migration.sql);
          sqlite
            .prepare(
              "insert into host_migrations (name, applied_at) values (?, ?)",
            )
            .run(migration.name, Date.now());
        });
      }
    },
    run(sql, ...params) {
      return prepare(sql).run(...params).changes;
    },
    get<T>(sql: string, ...params: SqlValue[]) {
      return prepare(sql).get(...params) as T | undefined;
    },
    all<T>(sql: string, ...params: SqlValue[]) {
      return prepare(sql).all(...params) as T[];
    },
    transaction(fn) {
      return database.transaction(() => fn());
    },
  };
  return store;
}

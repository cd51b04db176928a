import { and, asc, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { Database } from "./database.js";
import { rethrowUnique } from "./errors.js";
import { targets } from "./schema.js";
import { type TextMatch, textMatches } from "./text-filter.js";

const MAX_CACHED_KEYS = 100_000;

/** Stored call type of a target: 0 webhook, 1 call, 2 async, as in ZITADEL. */
export type StoredTargetType = 0 | 1 | 2;

/** A stored target with its signing key decrypted. */
export interface TargetRecord {
  id: string;
  name: string;
  targetType: StoredTargetType;
  interruptOnError: boolean;
  endpoint: string;
  timeoutMs: number;
  payloadType: number;
  signingKey: string;
  /** Unix milliseconds. */
  creationDate: number;
  /** Unix milliseconds. */
  changeDate: number;
}

/** Fields an update may change; absent fields stay as they are. */
export type TargetChanges = Partial<
  Omit<TargetRecord, "id" | "creationDate" | "changeDate">
>;

/** Column a target list is sorted by. */
export type TargetSortColumn =
  | "id"
  | "creationDate"
  | "changeDate"
  | "name"
  | "targetType"
  | "endpoint"
  | "timeoutMs"
  | "interruptOnError";

/** One page of targets, with filters that are combined with AND. */
export interface TargetQuery {
  offset: number;
  limit: number;
  ascending: boolean;
  sortBy: TargetSortColumn;
  nameFilters: { value: string; match: TextMatch }[];
  /** Each entry is one filter: the id must be in that list. */
  idFilters: string[][];
}

/** Encrypts and decrypts secrets before they reach the database. */
export interface SecretCodec {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

/** Reads and writes targets. Every method is synchronous. */
export interface TargetRepository {
  /** Inserts a target; a taken name raises UniqueViolationError. */
  insert(target: TargetRecord): void;
  /** Applies the changes to an existing target and sets its change date. */
  update(id: string, changes: TargetChanges, changeDate: number): void;
  /** Deletes a target and its execution entries; false when it was absent. */
  delete(id: string): boolean;
  get(id: string): TargetRecord | undefined;
  list(query: TargetQuery): { total: number; targets: TargetRecord[] };
  /** Returns how many of the distinct ids exist. */
  countExisting(ids: readonly string[]): number;
  /** The targets with these ids, in no particular order. */
  byIds(ids: readonly string[]): TargetRecord[];
}

/** Creates the target repository; signing keys pass through `codec`. */
export function createTargetRepository(
  database: Database,
  codec: SecretCodec,
): TargetRepository {
  const { db } = database;
  // Every seal uses a fresh IV, so a sealed value maps to one plaintext and
  // can be cached. Router rebuilds then decrypt only keys that changed.
  const opened = new Map<string, string>();
  const openKey = (sealed: string): string => {
    let plaintext = opened.get(sealed);
    if (plaintext === undefined) {
      plaintext = codec.open(sealed);
      if (opened.size >= MAX_CACHED_KEYS) {
        opened.clear();
      }
      opened.set(sealed, plaintext);
    }
    return plaintext;
  };
  const toRecord = (row: typeof targets.$inferSelect): TargetRecord => ({
    ...row,
    targetType: row.targetType as StoredTargetType,
    signingKey: openKey(row.signingKey),
  });
  return {
    insert(target) {
      try {
        db.insert(targets)
          .values({ ...target, signingKey: codec.seal(target.signingKey) })
          .run();
      } catch (error) {
        rethrowUnique("targets", error);
      }
    },
    update(id, changes, changeDate) {
      const values: Partial<typeof targets.$inferInsert> = {
        ...changes,
        changeDate,
      };
      if (changes.signingKey !== undefined) {
        values.signingKey = codec.seal(changes.signingKey);
      }
      try {
        db.update(targets).set(values).where(eq(targets.id, id)).run();
      } catch (error) {
        rethrowUnique("targets", error);
      }
    },
    delete(id) {
      return db.delete(targets).where(eq(targets.id, id)).run().changes > 0;
    },
    get(id) {
      const row = db.select().from(targets).where(eq(targets.id, id)).get();
      return row === undefined ? undefined : toRecord(row);
    },
    list(query) {
      const where = and(...targetConditions(query));
      const total =
        db
          .select({ count: sql<number>`count(*)` })
          .from(targets)
          .where(where)
          .get()?.count ?? 0;
      const direction = query.ascending ? asc : desc;
      const rows = db
        .select()
        .from(targets)
        .where(where)
        .orderBy(...sortExpressions(query.sortBy).map((e) => direction(e)))
        .limit(query.limit)
        .offset(query.offset)
        .all();
      return { total, targets: rows.map(toRecord) };
    },
    countExisting(ids) {
      const distinct = [...new Set(ids)];
      if (distinct.length === 0) {
        return 0;
      }
      return (
        db
          .select({ count: sql<number>`count(*)` })
          .from(targets)
          .where(inArray(targets.id, distinct))
          .get()?.count ?? 0
      );
    },
    byIds(ids) {
      const records: TargetRecord[] = [];
      const distinct = [...new Set(ids)];
      // Chunks stay below SQLite's limit of bound parameters per statement.
      for (let i = 0; i < distinct.length; i += 500) {
        const rows = db
          .select()
          .from(targets)
          .where(inArray(targets.id, distinct.slice(i, i + 500)))
          .all();
        records.push(...rows.map(toRecord));
      }
      return records;
    },
  };
}

function targetConditions(query: TargetQuery): SQL[] {
  const conditions: SQL[] = [];
  for (const filter of query.nameFilters) {
    conditions.push(textMatches(targets.name, filter.match, filter.value));
  }
  for (const ids of query.idFilters) {
    conditions.push(
      ids.length === 0 ? sql`0` : inArray(targets.id, [...new Set(ids)]),
    );
  }
  return conditions;
}

// Ids are decimal numbers of varying length, so they sort by length first.
// Every sort ends with the id, so pages never overlap when values repeat.
function sortExpressions(column: TargetSortColumn): SQL[] {
  const byId = [sql`length(${targets.id})`, sql`${targets.id}`];
  if (column === "id") {
    return byId;
  }
  return [sql`${targets[column]}`, ...byId];
}

import { and, asc, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { Database } from "./database.js";
import { executions, executionTargets } from "./schema.js";

/** An execution with its target ids in call order. */
export interface ExecutionRecord {
  /** Condition key, for example `request/zitadel.user.v2.UserService`. */
  id: string;
  /** Unix milliseconds. */
  creationDate: number;
  /** Unix milliseconds. */
  changeDate: number;
  targetIds: string[];
}

/** Column an execution list is sorted by. */
export type ExecutionSortColumn = "id" | "creationDate" | "changeDate";

/** One page of executions, with filters that are combined with AND. */
export interface ExecutionQuery {
  offset: number;
  limit: number;
  ascending: boolean;
  sortBy: ExecutionSortColumn;
  /** Each entry is one filter: the id must be in that list. */
  idFilters: string[][];
  /** Each entry is one filter: the id must start with that prefix. */
  idPrefixFilters: string[];
  /** Each entry is one filter: the execution must call that target. */
  targetFilters: string[];
}

/** Reads and writes executions. Every method is synchronous. */
export interface ExecutionRepository {
  get(id: string): ExecutionRecord | undefined;
  /**
   * Replaces the targets of an execution, creating it when missing. An
   * empty list keeps the execution without targets, which lists hide.
   */
  set(id: string, targetIds: readonly string[], date: number): void;
  /** Lists executions that call at least one target. */
  list(query: ExecutionQuery): {
    total: number;
    executions: ExecutionRecord[];
  };
}

/** Creates the execution repository. */
export function createExecutionRepository(
  database: Database,
): ExecutionRepository {
  const { db } = database;

  const targetIdsOf = (ids: string[]): Map<string, string[]> => {
    const byExecution = new Map<string, string[]>();
    if (ids.length === 0) {
      return byExecution;
    }
    const rows = db
      .select()
      .from(executionTargets)
      .where(inArray(executionTargets.executionId, ids))
      .orderBy(executionTargets.executionId, executionTargets.position)
      .all();
    for (const row of rows) {
      const list = byExecution.get(row.executionId) ?? [];
      list.push(row.targetId);
      byExecution.set(row.executionId, list);
    }
    return byExecution;
  };

  const withTargets = (
    rows: (typeof executions.$inferSelect)[],
  ): ExecutionRecord[] => {
    const targetIds = targetIdsOf(rows.map((row) => row.id));
    return rows.map((row) => ({
      ...row,
      targetIds: targetIds.get(row.id) ?? [],
    }));
  };

  return {
    get(id) {
      const row = db
        .select()
        .from(executions)
        .where(eq(executions.id, id))
        .get();
      return row === undefined ? undefined : withTargets([row])[0];
    },
    set(id, targetIds, date) {
      database.transaction((tx) => {
        tx.insert(executions)
          .values({ id, creationDate: date, changeDate: date })
          .onConflictDoUpdate({
            target: executions.id,
            set: { changeDate: date },
          })
          .run();
        tx.delete(executionTargets)
          .where(eq(executionTargets.executionId, id))
          .run();
        if (targetIds.length > 0) {
          tx.insert(executionTargets)
            .values(
              targetIds.map((targetId, position) => ({
                executionId: id,
                position,
                targetId,
              })),
            )
            .run();
        }
      });
    },
    list(query) {
      const where = and(hasTargets(), ...executionConditions(query));
      const total =
        db
          .select({ count: sql<number>`count(*)` })
          .from(executions)
          .where(where)
          .get()?.count ?? 0;
      const direction = query.ascending ? asc : desc;
      const sortColumn = executions[query.sortBy];
      const rows = db
        .select()
        .from(executions)
        .where(where)
        .orderBy(direction(sortColumn), direction(executions.id))
        .limit(query.limit)
        .offset(query.offset)
        .all();
      return { total, executions: withTargets(rows) };
    },
  };
}

// drizzle's exists() does not parenthesize a raw SQL subquery, so these
// conditions write the parentheses themselves.
function hasTargets(): SQL {
  return sql`exists (select 1 from ${executionTargets} where ${executionTargets.executionId} = ${executions.id})`;
}

function executionConditions(query: ExecutionQuery): SQL[] {
  const conditions: SQL[] = [];
  for (const ids of query.idFilters) {
    conditions.push(
      ids.length === 0 ? sql`0` : inArray(executions.id, [...new Set(ids)]),
    );
  }
  for (const prefix of query.idPrefixFilters) {
    conditions.push(
      sql`substr(${executions.id}, 1, length(${prefix})) = ${prefix}`,
    );
  }
  for (const targetId of query.targetFilters) {
    conditions.push(
      sql`exists (select 1 from ${executionTargets} where ${executionTargets.executionId} = ${executions.id} and ${executionTargets.targetId} = ${targetId})`,
    );
  }
  return conditions;
}

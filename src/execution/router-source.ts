import type {
  RoutingReader,
  RoutingRow,
  TargetRecord,
} from "../storage/index.js";
import type { PayloadEncoding, TargetType } from "../target/index.js";
import {
  buildRouter,
  executionTargets,
  type RoutableExecution,
  type RoutedTarget,
  type Router,
  updateRouter,
} from "./router.js";

/**
 * Holds the current router and keeps it equal to what a full rebuild from
 * storage would produce. Each method replaces the router, so a call that
 * already took `current()` keeps its snapshot.
 *
 * NOTE: The router follows only the writes reported to it. After writing
 * executions or targets straight through the repositories, call
 * `rebuild()`.
 */
export interface RouterSource {
  /** The router of the last committed write. */
  current(): Router;
  /** Reloads every execution and its targets. */
  rebuild(): void;
  /** Reloads one execution. Call it after its targets were set. */
  executionChanged(executionId: string): void;
  /**
   * Reloads every execution that calls the target or called it before.
   * Call it after the target was updated or deleted.
   */
  targetChanged(targetId: string): void;
}

const targetTypes: Record<number, TargetType> = {
  0: "webhook",
  1: "call",
  2: "async",
};

// PayloadType numbers of the API; UNSPECIFIED (0) behaves as JSON.
const payloadEncodings: Record<number, PayloadEncoding> = {
  2: "jwt",
  3: "jwe",
};

/** Converts a PayloadType number to the body encoding of a target. */
export function payloadEncodingOf(payloadType: number): PayloadEncoding {
  return payloadEncodings[payloadType] ?? "json";
}

/** Converts a stored target to the form the router and the caller use. */
export function routedTarget(record: TargetRecord): RoutedTarget {
  return {
    id: record.id,
    endpoint: record.endpoint,
    timeoutMs: record.timeoutMs,
    signingKey: record.signingKey,
    type: targetTypes[record.targetType] ?? "webhook",
    interruptOnError: record.interruptOnError,
    payloadType: payloadEncodingOf(record.payloadType),
  };
}

/**
 * Creates the router source and builds the first router from one join of
 * executions and their targets, so targets that no execution uses cost
 * nothing. Later changes read only the executions they touch.
 */
export function createRouterSource(reader: RoutingReader): RouterSource {
  let router: Router;
  // Ids of the executions in `router` that call each target. A deleted
  // target's rows are gone from storage, so only this index still names
  // the executions that called it.
  let executionsByTarget = new Map<string, Set<string>>();

  const indexExecution = (executionId: string, targetIds: string[]) => {
    for (const targetId of targetIds) {
      let executionIds = executionsByTarget.get(targetId);
      if (executionIds === undefined) {
        executionIds = new Set();
        executionsByTarget.set(targetId, executionIds);
      }
      executionIds.add(executionId);
    }
  };

  const unindexExecution = (executionId: string) => {
    for (const target of executionTargets(router, executionId) ?? []) {
      const executionIds = executionsByTarget.get(target.id);
      executionIds?.delete(executionId);
      if (executionIds?.size === 0) {
        executionsByTarget.delete(target.id);
      }
    }
  };

  // Replaces the entries of `executionIds` with what `rows` contains for
  // them. An id without rows has no targets left and is removed.
  const apply = (executionIds: Iterable<string>, rows: RoutingRow[]) => {
    const loaded = groupRows(rows);
    const byId = new Map(
      loaded.executions.map((execution) => [execution.id, execution]),
    );
    const changes: RoutableExecution[] = [];
    for (const executionId of executionIds) {
      const execution = byId.get(executionId) ?? {
        id: executionId,
        targetIds: [],
      };
      unindexExecution(executionId);
      indexExecution(executionId, execution.targetIds);
      changes.push(execution);
    }
    router = updateRouter(router, changes, loaded.targets);
  };

  const rebuild = () => {
    const loaded = groupRows(reader.load());
    executionsByTarget = new Map();
    for (const execution of loaded.executions) {
      indexExecution(execution.id, execution.targetIds);
    }
    router = buildRouter(loaded.executions, loaded.targets);
  };

  rebuild();
  return {
    current: () => router,
    rebuild,
    executionChanged(executionId) {
      apply([executionId], reader.loadExecution(executionId));
    },
    targetChanged(targetId) {
      const rows = reader.loadExecutionsUsingTarget(targetId);
      const executionIds = new Set(rows.map((row) => row.executionId));
      // After a deletion, storage no longer links the target to the
      // executions that called it, so the index names them and they are
      // read by id.
      const formerIds = [...(executionsByTarget.get(targetId) ?? [])].filter(
        (executionId) => !executionIds.has(executionId),
      );
      const allRows =
        formerIds.length > 0
          ? rows.concat(reader.loadExecutions(formerIds))
          : rows;
      apply([...executionIds, ...formerIds], allRows);
    },
  };
}

// Groups rows, which arrive grouped by execution, into executions and the
// distinct targets they call.
function groupRows(rows: readonly RoutingRow[]): {
  executions: { id: string; targetIds: string[] }[];
  targets: Map<string, RoutedTarget>;
} {
  const executions: { id: string; targetIds: string[] }[] = [];
  const targets = new Map<string, RoutedTarget>();
  let current: { id: string; targetIds: string[] } | undefined;
  for (const row of rows) {
    if (current?.id !== row.executionId) {
      current = { id: row.executionId, targetIds: [] };
      executions.push(current);
    }
    current.targetIds.push(row.targetId);
    if (!targets.has(row.targetId)) {
      targets.set(row.targetId, {
        id: row.targetId,
        endpoint: row.endpoint,
        timeoutMs: row.timeoutMs,
        signingKey: row.signingKey,
        type: targetTypes[row.targetType] ?? "webhook",
        interruptOnError: row.interruptOnError,
        payloadType: payloadEncodingOf(row.payloadType),
      });
    }
  }
  return { executions, targets };
}

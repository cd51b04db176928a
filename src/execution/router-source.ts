import type { RoutingReader, TargetRecord } from "../storage/index.js";
import type { TargetType } from "../target/index.js";
import {
  buildRouter,
  type RoutableExecution,
  type RoutedTarget,
  type Router,
} from "./router.js";

/** Holds the current router and rebuilds it from storage. */
export interface RouterSource {
  /** The router of the last committed write. */
  current(): Router;
  /** Reloads executions and their targets; call after every write. */
  rebuild(): void;
}

const targetTypes: Record<number, TargetType> = {
  0: "webhook",
  1: "call",
  2: "async",
};

/** Converts a stored target to the form the router and the caller use. */
export function routedTarget(record: TargetRecord): RoutedTarget {
  return {
    id: record.id,
    endpoint: record.endpoint,
    timeoutMs: record.timeoutMs,
    signingKey: record.signingKey,
    type: targetTypes[record.targetType] ?? "webhook",
    interruptOnError: record.interruptOnError,
  };
}

/**
 * Creates the router source and builds the first router from one join of
 * executions and their targets, so targets that no execution uses cost
 * nothing.
 */
export function createRouterSource(reader: RoutingReader): RouterSource {
  const load = (): Router => {
    const executions: RoutableExecution[] = [];
    const targets = new Map<string, RoutedTarget>();
    let current: { id: string; targetIds: string[] } | undefined;
    for (const row of reader.load()) {
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
        });
      }
    }
    return buildRouter(executions, targets);
  };
  let router = load();
  return {
    current: () => router,
    rebuild() {
      router = load();
    },
  };
}

import type {
  ExecutionRepository,
  TargetRecord,
  TargetRepository,
} from "../storage/index.js";
import type { TargetType } from "../target/index.js";
import { buildRouter, type RoutedTarget, type Router } from "./router.js";

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
 * Creates the router source and builds the first router. Rebuilding reads
 * only the executions that have targets and the targets they name, so
 * targets that no execution uses cost nothing.
 */
export function createRouterSource(
  executions: ExecutionRepository,
  targets: TargetRepository,
): RouterSource {
  const load = (): Router => {
    const rows = executions.all();
    const ids = rows.flatMap((row) => row.targetIds);
    const byId = new Map(
      targets.byIds(ids).map((record) => [record.id, routedTarget(record)]),
    );
    return buildRouter(rows, byId);
  };
  let router = load();
  return {
    current: () => router,
    rebuild() {
      router = load();
    },
  };
}

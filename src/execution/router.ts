import type { TargetEndpoint, TargetType } from "../target/index.js";

/** A target as the engine calls it: endpoint, key and behaviour. */
export interface RoutedTarget extends TargetEndpoint {
  type: TargetType;
  interruptOnError: boolean;
}

/** An execution as the router receives it: its id and target ids in order. */
export interface RoutableExecution {
  id: string;
  targetIds: readonly string[];
}

/**
 * Immutable map from condition to the ordered targets of the single best
 * matching execution. Lookups never touch the database; results are
 * memoised per method, event type and function name.
 */
export interface Router {
  /** Targets of the best request execution: method, then service, then all. */
  requestTargets(fullMethod: string): readonly RoutedTarget[];
  /** Targets of the best response execution: method, then service, then all. */
  responseTargets(fullMethod: string): readonly RoutedTarget[];
  /** Targets of the best event execution: event, longest group, then all. */
  eventTargets(eventType: string): readonly RoutedTarget[];
  /** Targets of the function execution with exactly this name. */
  functionTargets(name: string): readonly RoutedTarget[];
  /** Number of executions with at least one target. */
  readonly size: number;
}

const none: readonly RoutedTarget[] = Object.freeze([]);

/**
 * Builds a router. Target ids without a target are skipped, and an
 * execution left with no targets is left out, so it never hides a broader
 * execution.
 */
export function buildRouter(
  executions: readonly RoutableExecution[],
  targets: ReadonlyMap<string, RoutedTarget>,
): Router {
  const byId = new Map<string, readonly RoutedTarget[]>();
  for (const execution of executions) {
    const resolved = execution.targetIds
      .map((id) => targets.get(id))
      .filter((target): target is RoutedTarget => target !== undefined);
    if (resolved.length > 0) {
      byId.set(execution.id, Object.freeze(resolved));
    }
  }

  const memo = new Map<string, readonly RoutedTarget[]>();
  const firstMatch = (key: string, candidates: () => string[]) => {
    let found = memo.get(key);
    if (found === undefined) {
      found = none;
      for (const candidate of candidates()) {
        const match = byId.get(candidate);
        if (match !== undefined) {
          found = match;
          break;
        }
      }
      memo.set(key, found);
    }
    return found;
  };

  const methodCandidates = (kind: string, fullMethod: string) => () => {
    const service = fullMethod.slice(1, fullMethod.lastIndexOf("/"));
    return [`${kind}${fullMethod}`, `${kind}/${service}`, kind];
  };

  return {
    size: byId.size,
    requestTargets: (fullMethod) =>
      byId.size === 0
        ? none
        : firstMatch(
            `request${fullMethod}`,
            methodCandidates("request", fullMethod),
          ),
    responseTargets: (fullMethod) =>
      byId.size === 0
        ? none
        : firstMatch(
            `response${fullMethod}`,
            methodCandidates("response", fullMethod),
          ),
    eventTargets: (eventType) =>
      firstMatch(`event/${eventType}`, () => {
        const parts = eventType.split(".");
        const candidates = [`event/${eventType}`];
        for (let i = parts.length - 1; i > 0; i--) {
          candidates.push(`event/${parts.slice(0, i).join(".")}.*`);
        }
        candidates.push("event");
        return candidates;
      }),
    functionTargets: (name) => byId.get(`function/${name}`) ?? none,
  };
}

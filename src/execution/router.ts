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
 * Entries of a router. `base` may be shared with earlier and later routers
 * and is never changed after it is built. `changes` contains the entries
 * replaced since `base` was built, with `null` for a removed one, and is
 * copied, not changed, when a router is derived.
 */
interface RouterEntries {
  readonly base: ReadonlyMap<string, readonly RoutedTarget[]>;
  readonly changes: ReadonlyMap<string, readonly RoutedTarget[] | null>;
  readonly size: number;
}

// Entries of every router that buildRouter or updateRouter returned. A
// WeakMap keeps them out of the public interface and lets unused routers be
// collected.
const entriesByRouter = new WeakMap<Router, RouterEntries>();

// Minimum number of changes at which a derived router merges them into a
// new base. For larger bases the limit is the square root of the base size,
// which balances copying the changes on every update against copying the
// base on every merge.
const MIN_MERGE_LIMIT = 32;

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
    const resolved = resolveTargets(execution, targets);
    if (resolved.length > 0) {
      byId.set(execution.id, resolved);
    }
  }
  return createRouter({ base: byId, changes: new Map(), size: byId.size });
}

/**
 * Derives a router from `previous` with the entries of `executions`
 * replaced, and resolves their target ids as buildRouter does. An
 * execution that resolves to no targets is removed, and executions not
 * listed keep their entries. `previous` stays unchanged, so a call that
 * took it keeps its snapshot. The cost grows with the number of
 * executions listed, plus an occasional merge that copies every entry.
 *
 * Throws when `previous` was not returned by buildRouter or updateRouter.
 */
export function updateRouter(
  previous: Router,
  executions: readonly RoutableExecution[],
  targets: ReadonlyMap<string, RoutedTarget>,
): Router {
  const entries = entriesOf(previous);
  const changes = new Map(entries.changes);
  let size = entries.size;
  for (const execution of executions) {
    const resolved = resolveTargets(execution, targets);
    // Looks at `changes`, not `entries`, in case an id is listed twice.
    const existed = changes.has(execution.id)
      ? changes.get(execution.id) !== null
      : entries.base.has(execution.id);
    if (resolved.length > 0) {
      changes.set(execution.id, resolved);
      size += existed ? 0 : 1;
    } else {
      changes.set(execution.id, null);
      size -= existed ? 1 : 0;
    }
  }

  const mergeLimit = Math.max(
    MIN_MERGE_LIMIT,
    Math.ceil(Math.sqrt(entries.base.size)),
  );
  if (changes.size < mergeLimit) {
    return createRouter({ base: entries.base, changes, size });
  }
  const base = new Map(entries.base);
  for (const [id, resolved] of changes) {
    if (resolved === null) {
      base.delete(id);
    } else {
      base.set(id, resolved);
    }
  }
  return createRouter({ base, changes: new Map(), size });
}

/**
 * Returns the targets that `router` stores under exactly this execution
 * id, with no fallback to a broader execution, or undefined when it stores
 * none.
 *
 * Throws when `router` was not returned by buildRouter or updateRouter.
 */
export function executionTargets(
  router: Router,
  executionId: string,
): readonly RoutedTarget[] | undefined {
  return lookup(entriesOf(router), executionId);
}

function entriesOf(router: Router): RouterEntries {
  const entries = entriesByRouter.get(router);
  if (entries === undefined) {
    throw new Error(
      "router entries not found: pass a router that buildRouter or updateRouter returned",
    );
  }
  return entries;
}

function resolveTargets(
  execution: RoutableExecution,
  targets: ReadonlyMap<string, RoutedTarget>,
): readonly RoutedTarget[] {
  const resolved = execution.targetIds
    .map((id) => targets.get(id))
    .filter((target): target is RoutedTarget => target !== undefined);
  return Object.freeze(resolved);
}

function lookup(
  entries: RouterEntries,
  executionId: string,
): readonly RoutedTarget[] | undefined {
  const changed = entries.changes.get(executionId);
  if (changed !== undefined) {
    return changed ?? undefined;
  }
  return entries.base.get(executionId);
}

function createRouter(entries: RouterEntries): Router {
  const get = (executionId: string) => lookup(entries, executionId);
  const memo = new Map<string, readonly RoutedTarget[]>();
  const firstMatch = (key: string, candidates: () => string[]) => {
    let found = memo.get(key);
    if (found === undefined) {
      found = none;
      for (const candidate of candidates()) {
        const match = get(candidate);
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

  const router: Router = {
    size: entries.size,
    requestTargets: (fullMethod) =>
      entries.size === 0
        ? none
        : firstMatch(
            `request${fullMethod}`,
            methodCandidates("request", fullMethod),
          ),
    responseTargets: (fullMethod) =>
      entries.size === 0
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
    functionTargets: (name) => get(`function/${name}`) ?? none,
  };
  entriesByRouter.set(router, entries);
  return router;
}

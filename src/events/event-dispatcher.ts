import { randomUUID } from "node:crypto";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { RoutedTarget } from "../execution/router.js";
import type { Logger } from "../logger.js";
import type { ClaimedDelivery, EventDeliveryQueue } from "../storage/index.js";
import type { TargetCaller } from "../target/index.js";
import {
  type DeliveryResult,
  type DeliveryWorkerContext,
  deliverClaimed,
} from "./delivery-worker.js";
import { defaultRetrySchedule } from "./retry-schedule.js";

/** Options of createEventDispatcher. */
export interface EventDispatcherOptions {
  queue: EventDeliveryQueue;
  caller: TargetCaller;
  /**
   * Returns the current definitions of these targets, keyed by id. Ids of
   * deleted targets are absent, and those targets are skipped.
   */
  loadTargets(ids: readonly string[]): ReadonlyMap<string, RoutedTarget>;
  logger: Logger;
  /**
   * Maximum delay before each retry in milliseconds; its length is the
   * number of retries. Default: defaultRetrySchedule (5 s up to 10 h).
   */
  retrySchedule?: readonly number[];
  /**
   * How long a claim owns a delivery before another dispatcher may take it,
   * in milliseconds. It is extended before a target call that could outlast
   * it. After a crash, the delivery is retried once it ran out.
   * Default: 300_000 (5 min).
   */
  leaseMs?: number;
  /**
   * Maximum wait between checks for due deliveries, in milliseconds. Emits
   * in this process wake the dispatcher at once; this bounds the delay for
   * deliveries created by other processes. Default: 1000.
   */
  pollIntervalMs?: number;
  /** Maximum number of deliveries processed at the same time. Default: 16. */
  concurrency?: number;
  /**
   * Age after which delivered deliveries are deleted, in milliseconds.
   * Exhausted and pending ones are kept. Default: 7 days.
   */
  retentionMs?: number;
  /** Interval between prune runs, in milliseconds. Default: 3_600_000 (1 h). */
  pruneIntervalMs?: number;
  /** Clock in Unix milliseconds. Default: Date.now. */
  now?: () => number;
  /** Source of jitter in [0, 1). Default: Math.random. */
  random?: () => number;
  /**
   * Called after each claimed delivery was processed, for example by a
   * benchmark that measures the time from emission to delivery. An error
   * it throws is logged and ignored.
   */
  onResult?: (result: DeliveryResultInfo) => void;
}

/** Outcome of one processed delivery, passed to onResult. */
export interface DeliveryResultInfo {
  deliveryId: string;
  eventType: string;
  result: DeliveryResult;
  /** Unix milliseconds when the event was emitted. */
  eventCreationDate: number;
  /** Unix milliseconds when processing ended. */
  finishedAt: number;
}

/** Counters since the dispatcher started, for logs and benchmarks. */
export interface DispatcherStats {
  claimed: number;
  delivered: number;
  retried: number;
  exhausted: number;
  lost: number;
  released: number;
  /** Deliveries whose processing threw; their lease expiry retries them. */
  failed: number;
}

/** Delivers events from the outbox in the background. */
export interface EventDispatcher {
  /** Starts claiming deliveries. A dispatcher starts once. */
  start(): void;
  /** Looks for due deliveries now instead of at the next poll. */
  wake(): void;
  /**
   * Stops claiming and waits up to `timeoutMs` (default 10_000) for the
   * deliveries in flight. Calls still running then are aborted, and their
   * deliveries are made due at once for the next dispatcher.
   */
  stop(timeoutMs?: number): Promise<void>;
  /** Deletes delivered deliveries older than the retention; returns how many. */
  prune(): Promise<number>;
  /**
   * Resolves when no delivery is in flight and the outbox contains no pending
   * or delivering delivery, even one due later. Requires a started
   * dispatcher.
   */
  whenIdle(): Promise<void>;
  readonly inFlight: number;
  readonly stats: Readonly<DispatcherStats>;
}

const PRUNE_BATCH_SIZE = 500;

/**
 * Creates a dispatcher. Several dispatchers, in one process or in several,
 * may share a database file: each claim takes deliveries with an atomic
 * UPDATE … RETURNING and a lease, so a delivery is processed by one of them
 * at a time. Delivery is at least once: a target may receive an event again
 * after a crash or a lost lease, always with the same webhook-id.
 */
export function createEventDispatcher(
  options: EventDispatcherOptions,
): EventDispatcher {
  const settings = resolveSettings(options);
  const { queue, logger } = options;
  const active = new Set<Promise<void>>();
  const abort = new AbortController();
  const stats: DispatcherStats = {
    claimed: 0,
    delivered: 0,
    retried: 0,
    exhausted: 0,
    lost: 0,
    released: 0,
    failed: 0,
  };
  const signal = createSignal();
  let idleWaiters: (() => void)[] = [];
  let running = false;
  let loopDone: Promise<void> | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;

  const reportResult = (claimed: ClaimedDelivery, result: DeliveryResult) => {
    try {
      options.onResult?.({
        deliveryId: claimed.id,
        eventType: claimed.event.eventType,
        result,
        eventCreationDate: claimed.event.creationDate,
        finishedAt: settings.now(),
      });
    } catch (error) {
      logger.error({ err: error }, "event dispatcher onResult hook failed");
    }
  };

  const startDelivery = (
    claimed: ClaimedDelivery,
    context: DeliveryWorkerContext,
  ) => {
    const run = deliverClaimed(claimed, context).then(
      (result: DeliveryResult) => {
        stats[result]++;
        reportResult(claimed, result);
      },
      (error: unknown) => {
        stats.failed++;
        logger.error(
          { deliveryId: claimed.id, err: error },
          "event delivery failed unexpectedly; it is retried when its lease expires",
        );
      },
    );
    const tracked = run.finally(() => {
      active.delete(tracked);
      signal.notify();
    });
    active.add(tracked);
  };

  const claimBatch = (limit: number): number => {
    const claimed = queue.claim({
      now: settings.now(),
      limit,
      leaseMs: settings.leaseMs,
      leaseToken: randomUUID(),
    });
    if (claimed.length === 0) {
      return 0;
    }
    stats.claimed += claimed.length;
    let targets: ReadonlyMap<string, RoutedTarget>;
    try {
      const ids = claimed.flatMap((c) =>
        c.pendingTargets.map((t) => t.targetId),
      );
      targets = options.loadTargets([...new Set(ids)]);
    } catch (error) {
      for (const delivery of claimed) {
        queue.release(delivery.id, delivery.leaseToken, settings.now());
      }
      throw error;
    }
    const context: DeliveryWorkerContext = {
      ...settings,
      queue,
      caller: options.caller,
      logger,
      targets,
      signal: abort.signal,
    };
    for (const delivery of claimed) {
      startDelivery(delivery, context);
    }
    return claimed.length;
  };

  const notifyIdle = () => {
    if (idleWaiters.length === 0 || active.size > 0) {
      return;
    }
    if (queue.nextDueAt() === undefined) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) {
        resolve();
      }
    }
  };

  // Waits until the next delivery is due, a slot frees up, wake() is
  // called or the poll interval passes, whichever comes first.
  const waitForWork = (free: number) => {
    let delay = settings.pollIntervalMs;
    if (free > 0) {
      const due = queue.nextDueAt();
      if (due !== undefined) {
        delay = Math.min(delay, Math.max(1, due - settings.now()));
      }
    }
    return signal.wait(delay);
  };

  const loop = async () => {
    let consecutiveFailures = 0;
    while (running) {
      const free = settings.concurrency - active.size;
      let claimed = 0;
      try {
        claimed = free > 0 ? claimBatch(free) : 0;
        consecutiveFailures = 0;
        notifyIdle();
        if (claimed > 0 && claimed === free) {
          await yieldToEventLoop();
          continue;
        }
        await waitForWork(free - claimed);
      } catch (error) {
        consecutiveFailures++;
        logger.error(
          { err: error, consecutiveFailures },
          "event dispatcher failed to claim deliveries; trying again after the poll interval",
        );
        await signal.wait(settings.pollIntervalMs);
      }
    }
  };

  const prune = async (): Promise<number> => {
    const cutoff = settings.now() - settings.retentionMs;
    let total = 0;
    for (;;) {
      const deleted = queue.pruneDelivered(cutoff, PRUNE_BATCH_SIZE);
      total += deleted;
      if (deleted < PRUNE_BATCH_SIZE) {
        break;
      }
      // Other writers get the database between batches.
      await yieldToEventLoop();
    }
    if (total > 0) {
      logger.info({ deleted: total }, "pruned delivered event deliveries");
    }
    return total;
  };

  return {
    get inFlight() {
      return active.size;
    },
    stats,
    start() {
      if (loopDone !== undefined) {
        throw new Error("event dispatcher: start was already called");
      }
      running = true;
      loopDone = loop();
      pruneTimer = setInterval(() => {
        prune().catch((error: unknown) => {
          logger.error({ err: error }, "pruning event deliveries failed");
        });
      }, settings.pruneIntervalMs);
      pruneTimer.unref();
    },
    wake() {
      signal.notify();
    },
    async stop(timeoutMs = 10_000) {
      running = false;
      clearInterval(pruneTimer);
      signal.notify();
      await loopDone;
      const settled = Promise.allSettled([...active]);
      if (!(await settledWithin(settled, timeoutMs))) {
        logger.warn(
          { inFlight: active.size, timeoutMs },
          "event dispatcher stop timed out; aborting target calls in flight",
        );
        abort.abort();
        await settledWithin(settled, 1000);
      }
    },
    prune,
    whenIdle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        signal.notify();
      });
    },
  };
}

function resolveSettings(options: EventDispatcherOptions) {
  const settings = {
    retrySchedule: options.retrySchedule ?? defaultRetrySchedule,
    leaseMs: options.leaseMs ?? 300_000,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    concurrency: options.concurrency ?? 16,
    retentionMs: options.retentionMs ?? 7 * 24 * 3_600_000,
    pruneIntervalMs: options.pruneIntervalMs ?? 3_600_000,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
  };
  for (const [name, value] of Object.entries(settings)) {
    if (typeof value === "number" && (!Number.isInteger(value) || value <= 0)) {
      throw new RangeError(
        `event dispatcher: ${name} must be a positive integer, got ${value}`,
      );
    }
  }
  for (const delay of settings.retrySchedule) {
    if (!Number.isInteger(delay) || delay < 0) {
      throw new RangeError(
        `event dispatcher: retrySchedule entries must be non-negative integers of milliseconds, got ${delay}`,
      );
    }
  }
  return settings;
}

// A wake-up that is never lost: a notify() without a waiting caller makes
// the next wait() return at once.
function createSignal() {
  let wakeUp: (() => void) | undefined;
  let pending = false;
  return {
    notify() {
      if (wakeUp === undefined) {
        pending = true;
        return;
      }
      wakeUp();
    },
    wait(ms: number): Promise<void> {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wakeUp = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        timer.unref();
        wakeUp = done;
      });
    },
  };
}

async function settledWithin(
  settled: Promise<unknown>,
  timeoutMs: number,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([settled.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

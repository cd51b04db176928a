import { performance } from "node:perf_hooks";
import type { RoutedTarget } from "../execution/router.js";
import type { Logger } from "../logger.js";
import type { ClaimedDelivery, EventDeliveryQueue } from "../storage/index.js";
import { TargetCallError, type TargetCaller } from "../target/index.js";
import { encodeEventPayload } from "./event-payload.js";
import { retryAfterOf, retryDelay } from "./retry-schedule.js";

/**
 * Time kept on a lease beyond a target's timeout, for recording the result
 * after the call ends.
 */
export const LEASE_MARGIN_MS = 5_000;

/** Outcome of processing one claimed delivery. */
export type DeliveryResult =
  /** Every pending target received the event or was deleted. */
  | "delivered"
  /** A target failed; the delivery is pending again for a later attempt. */
  | "retried"
  /** A target failed on the last attempt of the schedule. */
  | "exhausted"
  /** Another dispatcher took the delivery over after the lease expired. */
  | "lost"
  /** The dispatcher stopped; the delivery is due again at once. */
  | "released";

/** Dependencies of deliverClaimed besides the claimed delivery. */
export interface DeliveryWorkerContext {
  queue: EventDeliveryQueue;
  caller: TargetCaller;
  /** Current definitions of the claimed targets; deleted ones are absent. */
  targets: ReadonlyMap<string, RoutedTarget>;
  logger: Logger;
  retrySchedule: readonly number[];
  leaseMs: number;
  now: () => number;
  random: () => number;
  /** Aborted when the dispatcher stops waiting for calls in flight. */
  signal: AbortSignal;
}

interface CallFailure {
  targetId: string;
  error: unknown;
}

/**
 * Calls the delivery's pending targets in order and stores each call.
 * Every target type is awaited and its response body ignored, as ZITADEL
 * ignores response bodies of events. A failing target with interrupt_on_error stops the
 * attempt, so later targets never receive the event before it; other
 * failures let the attempt continue. Targets that succeeded are not called
 * again on a retry.
 */
export async function deliverClaimed(
  claimed: ClaimedDelivery,
  context: DeliveryWorkerContext,
): Promise<DeliveryResult> {
  if (claimed.runAttempt > context.retrySchedule.length + 1) {
    // Earlier claims of this delivery ended without a result, for example
    // because the process crashed during the call each time.
    return exhaust(claimed, context, []);
  }
  const body = encodeEventPayload(claimed.event);
  const failures: CallFailure[] = [];
  const skipped: number[] = [];
  let leaseUntil = claimed.leaseUntil;
  let retryAfterMs: number | undefined;

  for (const pending of claimed.pendingTargets) {
    const target = context.targets.get(pending.targetId);
    if (target === undefined) {
      skipped.push(pending.position);
      continue;
    }
    const extended = extendLeaseFor(claimed, target, leaseUntil, context);
    if (extended === undefined) {
      return lost(claimed, context);
    }
    leaseUntil = extended;
    const error = await callAndRecord(claimed, pending, target, body, context);
    if (context.signal.aborted) {
      context.queue.release(claimed.id, claimed.leaseToken, context.now());
      return "released";
    }
    if (error === undefined) {
      continue;
    }
    failures.push({ targetId: target.id, error });
    const wait = retryAfterOf(error, context.now());
    if (wait !== undefined) {
      retryAfterMs = Math.max(retryAfterMs ?? 0, wait);
    }
    if (target.interruptOnError && target.type !== "async") {
      break;
    }
  }
  if (skipped.length > 0) {
    context.queue.skipTargets(claimed.id, skipped, context.now());
  }
  return finish(claimed, context, failures, retryAfterMs);
}

// Returns the new lease end, or undefined when the claim was lost. The
// lease is extended only when it would end before the call can time out.
function extendLeaseFor(
  claimed: ClaimedDelivery,
  target: RoutedTarget,
  leaseUntil: number,
  context: DeliveryWorkerContext,
): number | undefined {
  const now = context.now();
  const needed = target.timeoutMs + LEASE_MARGIN_MS;
  if (leaseUntil >= now + needed) {
    return leaseUntil;
  }
  const next = now + Math.max(context.leaseMs, needed);
  const owned = context.queue.extendLease(claimed.id, claimed.leaseToken, next);
  return owned ? next : undefined;
}

// Calls one target and stores the attempt; returns the error of a failed call.
async function callAndRecord(
  claimed: ClaimedDelivery,
  pending: { position: number; targetId: string },
  target: RoutedTarget,
  body: Uint8Array,
  context: DeliveryWorkerContext,
): Promise<unknown> {
  const attemptDate = context.now();
  const started = performance.now();
  let failure: unknown;
  try {
    await context.caller.call(target, body, {
      webhookId: claimed.id,
      signal: context.signal,
    });
  } catch (error) {
    failure = error ?? new Error("target call failed");
  }
  const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
  context.queue.recordAttempt(
    {
      deliveryId: claimed.id,
      attempt: claimed.attempt,
      targetId: target.id,
      attemptDate,
      latencyMs,
      ...describeFailure(failure),
    },
    pending.position,
    failure === undefined,
  );
  return failure;
}

function describeFailure(error: unknown): {
  httpStatus: number | undefined;
  errorKind: string | undefined;
  errorMessage: string | undefined;
} {
  if (error === undefined) {
    return {
      httpStatus: undefined,
      errorKind: undefined,
      errorMessage: undefined,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    httpStatus: error instanceof TargetCallError ? error.status : undefined,
    errorKind: error instanceof TargetCallError ? error.kind : "internal",
    errorMessage: message.slice(0, 1000),
  };
}

function finish(
  claimed: ClaimedDelivery,
  context: DeliveryWorkerContext,
  failures: CallFailure[],
  retryAfterMs: number | undefined,
): DeliveryResult {
  const { queue, logger } = context;
  const now = context.now();
  if (failures.length === 0) {
    const outcome = { state: "delivered" } as const;
    return queue.finish(claimed.id, claimed.leaseToken, outcome, now)
      ? "delivered"
      : lost(claimed, context);
  }
  const delay = retryDelay(
    context.retrySchedule,
    claimed.runAttempt,
    retryAfterMs,
    context.random,
  );
  if (delay === undefined) {
    return exhaust(claimed, context, failures);
  }
  const nextAttemptAt = now + delay;
  const outcome = { state: "pending", nextAttemptAt } as const;
  if (!queue.finish(claimed.id, claimed.leaseToken, outcome, now)) {
    return lost(claimed, context);
  }
  for (const failure of failures) {
    logger.warn(
      {
        deliveryId: claimed.id,
        eventType: claimed.event.eventType,
        attempt: claimed.runAttempt,
        ...failureFields(failure),
        nextAttemptAt: new Date(nextAttemptAt).toISOString(),
      },
      "event delivery attempt failed; retrying later",
    );
  }
  return "retried";
}

// Marks the delivery exhausted and logs one line per failed target, or one
// line when earlier claims ended without a result.
function exhaust(
  claimed: ClaimedDelivery,
  context: DeliveryWorkerContext,
  failures: CallFailure[],
): DeliveryResult {
  const outcome = { state: "exhausted" } as const;
  if (
    !context.queue.finish(
      claimed.id,
      claimed.leaseToken,
      outcome,
      context.now(),
    )
  ) {
    return lost(claimed, context);
  }
  logExhausted(claimed, failures, context);
  return "exhausted";
}

function logExhausted(
  claimed: ClaimedDelivery,
  failures: CallFailure[],
  context: DeliveryWorkerContext,
): void {
  const fields = {
    deliveryId: claimed.id,
    eventType: claimed.event.eventType,
    attempts: claimed.runAttempt,
  };
  if (failures.length === 0) {
    context.logger.error(
      fields,
      "event delivery exhausted: earlier attempts ended without a result, e.g. because the process stopped; redeliver it with DeliveryService",
    );
    return;
  }
  for (const failure of failures) {
    context.logger.error(
      { ...fields, ...failureFields(failure) },
      "event delivery exhausted: the last attempt failed; redeliver it with DeliveryService",
    );
  }
}

// Log fields of a failed call: the caller's message names the target and
// host but never a body or a signing key.
function failureFields(failure: CallFailure) {
  const described = describeFailure(failure.error);
  return {
    targetId: failure.targetId,
    errorKind: described.errorKind,
    httpStatus: described.httpStatus,
    error: described.errorMessage,
  };
}

function lost(
  claimed: ClaimedDelivery,
  context: DeliveryWorkerContext,
): "lost" {
  context.logger.warn(
    { deliveryId: claimed.id, eventType: claimed.event.eventType },
    "event delivery lease lost to another dispatcher; its result is left to that dispatcher",
  );
  return "lost";
}

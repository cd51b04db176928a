import type { Registry } from "prom-client";
import { Counter, Histogram } from "prom-client";
import type { TargetCallErrorKind } from "./target-call-error.js";

/** Outcome label of a target call: "success" or the error kind. */
export type TargetCallOutcome = "success" | TargetCallErrorKind;

/** Prometheus metrics that a target caller records for every call. */
export interface TargetMetrics {
  /** actions_target_calls_total{target_id, outcome} */
  readonly calls: Counter<"target_id" | "outcome">;
  /** actions_target_call_duration_seconds{target_id} */
  readonly duration: Histogram<"target_id">;
}

/**
 * Creates the target call metrics and registers them in `registry`. Call it
 * once per registry, because prom-client rejects a second metric with the
 * same name.
 */
export function createTargetMetrics(registry: Registry): TargetMetrics {
  return {
    calls: new Counter({
      name: "actions_target_calls_total",
      help: "Target calls by target id and outcome (success or the error kind).",
      labelNames: ["target_id", "outcome"],
      registers: [registry],
    }),
    duration: new Histogram({
      name: "actions_target_call_duration_seconds",
      help: "Duration of target calls in seconds, including reading the response body.",
      labelNames: ["target_id"],
      // Target timeouts are often several seconds, so the buckets go past
      // prom-client's default maximum of 10 s.
      buckets: [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
      ],
      registers: [registry],
    }),
  };
}

/** Records one finished call. */
export function recordTargetCall(
  metrics: TargetMetrics,
  targetId: string,
  outcome: TargetCallOutcome,
  durationSeconds: number,
): void {
  metrics.calls.inc({ target_id: targetId, outcome });
  metrics.duration.observe({ target_id: targetId }, durationSeconds);
}

import { TargetCallError } from "../target/index.js";

/**
 * Default maximum delays before retries 1 to 8, in milliseconds: 5 s, 30 s,
 * 2 min, 10 min, 30 min, 2 h, 5 h and 10 h. With the first attempt that
 * makes 9 attempts. The steps follow the Standard Webhooks example and
 * Svix's default schedule (5 s up to 10 h), with two short retries added
 * for brief outages. Because of full jitter, the last attempt comes on
 * average about 9 h after the first, and at most 17 h 42 min 35 s after it.
 */
export const defaultRetrySchedule: readonly number[] = Object.freeze([
  5_000, 30_000, 120_000, 600_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000,
]);

/** Upper bound for a target's Retry-After, so one response cannot park a delivery for days. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * Returns the delay before the next attempt after run attempt `runAttempt`
 * (1 for the first attempt) failed, or undefined when the schedule is used
 * up and the delivery is exhausted. The delay is drawn uniformly between 0
 * and the schedule entry ("full jitter"), so retries of many deliveries
 * that failed together spread out. A Retry-After delay wins when it is
 * larger.
 */
export function retryDelay(
  schedule: readonly number[],
  runAttempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  const cap = schedule[runAttempt - 1];
  if (cap === undefined) {
    return undefined;
  }
  const jittered = Math.floor(random() * cap);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/**
 * Parses a Retry-After header value: delay-seconds or an HTTP date
 * (RFC 9110, section 10.2.3). Returns the delay in milliseconds from `now`,
 * at most MAX_RETRY_AFTER_MS and at least 0, or undefined when the value is
 * neither form.
 */
export function parseRetryAfter(
  value: string,
  now: number,
): number | undefined {
  const text = value.trim();
  let delay: number;
  if (/^\d+$/.test(text)) {
    delay = Number(text) * 1000;
  } else {
    // An HTTP date always names the weekday and month. Requiring a letter
    // rejects forms like 2025-01-02 or 1.5 that Date.parse also accepts.
    const date = Date.parse(text);
    if (Number.isNaN(date) || !/[a-z]/i.test(text)) {
      return undefined;
    }
    delay = date - now;
  }
  return Math.min(Math.max(delay, 0), MAX_RETRY_AFTER_MS);
}

/** Returns the Retry-After delay of a failed target call, or undefined. */
export function retryAfterOf(error: unknown, now: number): number | undefined {
  if (!(error instanceof TargetCallError)) {
    return undefined;
  }
  const header = error.retryAfter;
  return header === undefined ? undefined : parseRetryAfter(header, now);
}

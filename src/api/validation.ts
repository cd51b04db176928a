import type { Duration } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { ActionsError } from "../errors.js";

// The checks below reproduce the protoc-gen-validate rules of ZITADEL's
// protos, with the same message texts, for example
// "invalid CreateTargetRequest.Name: value length must be between 1 and
// 1000 runes, inclusive". Like ZITADEL, only the first violation is
// reported.

/** Raises InvalidArgument with a protoc-gen-validate message. */
export function invalidField(field: string, reason: string): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "VALIDATION-pgv01",
    "Errors.Invalid",
    `invalid ${field}: ${reason}`,
  );
}

/** Checks that `value` has between `min` and `max` Unicode code points. */
export function checkLength(
  field: string,
  value: string,
  min: number,
  max: number,
): void {
  const length = runeLength(value, max);
  if (length < min || length > max) {
    throw invalidField(
      field,
      min === 0
        ? `value length must be at most ${max} runes`
        : `value length must be between ${min} and ${max} runes, inclusive`,
    );
  }
}

/** Checks that a Duration lies between 0 and `maxSeconds`, inclusive. */
export function checkDurationRange(
  field: string,
  value: Duration,
  maxSeconds: number,
): void {
  const nanos = value.seconds * 1_000_000_000n + BigInt(value.nanos);
  if (nanos < 0n || nanos > BigInt(maxSeconds) * 1_000_000_000n) {
    throw invalidField(
      field,
      `value must be inside range [0s, ${formatGoDuration(maxSeconds)}]`,
    );
  }
}

/** Checks that an enum value is one of `defined`. */
export function checkDefinedEnum(
  field: string,
  value: number,
  defined: readonly number[],
): void {
  if (!defined.includes(value)) {
    throw invalidField(field, "value must be one of the defined enum values");
  }
}

/** Converts a Duration to whole milliseconds, rounding up. */
export function durationToMs(value: Duration): number {
  return Number(value.seconds) * 1000 + Math.ceil(value.nanos / 1_000_000);
}

// Counts code points, but stops early once the count passes `max` so that
// a huge string costs no more than needed.
function runeLength(value: string, max: number): number {
  if (value.length <= max) {
    let count = 0;
    for (const _ of value) count++;
    return count;
  }
  let count = 0;
  for (const _ of value) {
    count++;
    if (count > max) break;
  }
  return count;
}

// Go prints durations as 4m30s; PGV messages use that form.
function formatGoDuration(totalSeconds: number): string {
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}

import {
  defaultRetrySchedule,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  retryAfterOf,
  retryDelay,
} from "../../src/events/index.js";
import { TargetCallError } from "../../src/target/index.js";

describe("retryDelay", () => {
  const schedule = [1000, 5000];

  it.each([
    [1, 0, 0],
    [1, 0.5, 500],
    [1, 0.9999, 999],
    [2, 0.5, 2500],
  ])("draws attempt %i with random %d to %i ms", (attempt, random, delay) => {
    expect(retryDelay(schedule, attempt, undefined, () => random)).toBe(delay);
  });

  it("returns undefined once the schedule is used up", () => {
    expect(retryDelay(schedule, 3, undefined)).toBeUndefined();
    expect(retryDelay([], 1, 60_000)).toBeUndefined();
  });

  it("takes a larger Retry-After", () => {
    expect(retryDelay(schedule, 1, 4000, () => 0.5)).toBe(4000);
    expect(retryDelay(schedule, 2, 100, () => 0.5)).toBe(2500);
  });

  it("defaults to nine attempts over at most 17 h 42 min 35 s", () => {
    expect(defaultRetrySchedule).toHaveLength(8);
    const total = defaultRetrySchedule.reduce((sum, ms) => sum + ms, 0);
    expect(total).toBe(((17 * 60 + 42) * 60 + 35) * 1000);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");

  it.each([
    ["0", 0],
    ["1", 1000],
    [" 120 ", 120_000],
    ["Wed, 01 Jan 2025 00:00:30 GMT", 30_000],
    ["Tue, 31 Dec 2024 23:59:00 GMT", 0],
    ["999999", MAX_RETRY_AFTER_MS],
  ])("reads %j as %i ms", (value, delay) => {
    expect(parseRetryAfter(value, now)).toBe(delay);
  });

  it.each(["", "-1", "1.5", "soon", "2025-01-02"])("rejects %j", (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe("retryAfterOf", () => {
  it("reads a retryAfter header from a TargetCallError", () => {
    const error = new TargetCallError("HTTP 429", {
      kind: "status",
      targetId: "t",
      status: 429,
    });
    Object.defineProperty(error, "retryAfter", { value: "7" });

    expect(retryAfterOf(error, Date.now())).toBe(7000);
  });

  it("returns undefined without one", () => {
    const error = new TargetCallError("HTTP 503", {
      kind: "status",
      targetId: "t",
      status: 503,
    });

    expect(retryAfterOf(error, Date.now())).toBeUndefined();
    expect(retryAfterOf(new Error("x"), Date.now())).toBeUndefined();
  });
});

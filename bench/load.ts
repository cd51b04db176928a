import { performance } from "node:perf_hooks";
import { type LatencySummary, median, summarize } from "./stats.js";

/** One operation under test. Each call must start a fresh request. */
export type Operation = () => Promise<unknown>;

/**
 * An operation that times only a part of its work and returns that time
 * in ms, such as a POST sent after an untimed RPC.
 */
export type TimedOperation = () => Promise<number>;

/** A named operation that a comparison runs in alternating rounds. */
export interface Variant {
  name: string;
  /** The operation; it is timed whole unless `timed` is set. */
  run: Operation;
  /** Used instead of `run` when set, with the time it reports. */
  timed?: TimedOperation;
  /** Called before each round of this variant, outside the timed loop. */
  prepare?: () => Promise<void>;
}

/** Runs `operation` `count` times one after another and returns each time in ms. */
export async function sampleLatency(
  operation: Operation,
  count: number,
): Promise<number[]> {
  const samples = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await operation();
    samples[i] = performance.now() - started;
  }
  return samples;
}

/** Runs `operation` `count` times one after another and returns the times it reports. */
export async function sampleTimed(
  operation: TimedOperation,
  count: number,
): Promise<number[]> {
  const samples = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    samples[i] = await operation();
  }
  return samples;
}

/**
 * Runs `operation` `count` times with `concurrency` calls in flight and
 * returns the completed calls per second. Each worker starts its next call
 * as soon as its last one finishes.
 */
export async function measureThroughput(
  operation: Operation,
  count: number,
  concurrency: number,
): Promise<number> {
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      await operation();
    }
  };
  const begin = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - begin) / 1000;
  return count / seconds;
}

/** Latency of one variant, pooled over all rounds, and p50 per round. */
export interface VariantLatency {
  name: string;
  summary: LatencySummary;
  roundP50s: number[];
}

/** Options of compareLatency. */
export interface CompareOptions {
  /** Calls per variant that are run once before any timing. */
  warmUp: number;
  rounds: number;
  /** Timed calls per variant and round, at concurrency 1. */
  perRound: number;
}

/**
 * Measures the variants at concurrency 1 in alternating rounds: A B C,
 * then C B A, and so on. Alternating spreads JIT warm-up, garbage
 * collection and machine noise evenly over the variants, so their ratio
 * is steadier than that of back-to-back runs.
 */
export async function compareLatency(
  variants: readonly Variant[],
  options: CompareOptions,
): Promise<VariantLatency[]> {
  for (const variant of variants) {
    await variant.prepare?.();
    if (variant.timed === undefined) {
      await sampleLatency(variant.run, options.warmUp);
    } else {
      await sampleTimed(variant.timed, options.warmUp);
    }
  }
  const samples = variants.map(() => [] as number[]);
  const roundP50s = variants.map(() => [] as number[]);
  for (let round = 0; round < options.rounds; round++) {
    const order = variants.map((_, index) => index);
    if (round % 2 === 1) {
      order.reverse();
    }
    for (const index of order) {
      const variant = variants[index] as Variant;
      await variant.prepare?.();
      const roundSamples =
        variant.timed === undefined
          ? await sampleLatency(variant.run, options.perRound)
          : await sampleTimed(variant.timed, options.perRound);
      samples[index]?.push(...roundSamples);
      roundP50s[index]?.push(summarize(roundSamples).p50);
    }
  }
  return variants.map((variant, index) => ({
    name: variant.name,
    summary: summarize(samples[index] ?? []),
    roundP50s: roundP50s[index] ?? [],
  }));
}

/** Options of compareThroughput. */
export interface ThroughputOptions {
  rounds: number;
  /** Calls per variant and round. */
  perRound: number;
  concurrency: number;
}

/**
 * Measures the calls per second of each variant in alternating rounds and
 * returns the median rate per variant.
 */
export async function compareThroughput(
  variants: readonly Variant[],
  options: ThroughputOptions,
): Promise<number[]> {
  const rates = variants.map(() => [] as number[]);
  for (let round = 0; round < options.rounds; round++) {
    const order = variants.map((_, index) => index);
    if (round % 2 === 1) {
      order.reverse();
    }
    for (const index of order) {
      const variant = variants[index] as Variant;
      await variant.prepare?.();
      const rate = await measureThroughput(
        variant.run,
        options.perRound,
        options.concurrency,
      );
      rates[index]?.push(rate);
    }
  }
  return rates.map((values) => median(values));
}

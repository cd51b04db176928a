/** One measured value, with the goal it is checked against, if any. */
export interface ResultRow {
  metric: string;
  /** The goal in words, such as "≤ 1.05×", or empty when there is none. */
  goal: string;
  measured: string;
  /** Whether the goal is met, or undefined when there is no goal. */
  met?: boolean;
}

/** The results of one section of the harness. */
export interface SectionResult {
  title: string;
  rows: ResultRow[];
  /** Sentences on how the section measured, printed under its table. */
  notes: string[];
  /** Reason the section did not run, set only when it was skipped. */
  skipped?: string;
}

/** Sizes of the runs. The --quick flag selects the small ones. */
export interface BenchSizes {
  /** Untimed calls per variant before the timed rounds. */
  warmUp: number;
  /** Alternating rounds per latency comparison. */
  rounds: number;
  /** Timed calls per variant and round in the RPC overhead comparison. */
  rpcPerRound: number;
  /** Timed calls per variant and round in the target comparisons. */
  targetPerRound: number;
  /** Alternating rounds per throughput comparison. */
  throughputRounds: number;
  /** Calls per variant and round in the throughput comparison. */
  throughputPerRound: number;
  /** Calls in flight in throughput runs. */
  concurrency: number;
  /** Targets and function executions loaded for sections 3 and 4. */
  stateSize: number;
  /** Timed calls for the ActionService latency measurements. */
  managementCalls: number;
  /** Timed writes with `stateSize` executions loaded, each with a router rebuild. */
  loadedWrites: number;
  /** Timed transactions per kind and round in the emit measurement. */
  eventEmits: number;
  /** Events delivered per round in the delivery rate measurement. */
  eventDeliveries: number;
}

export const fullSizes: BenchSizes = {
  warmUp: 1500,
  rounds: 6,
  rpcPerRound: 2000,
  targetPerRound: 1000,
  throughputRounds: 4,
  throughputPerRound: 5000,
  concurrency: 16,
  stateSize: 10_000,
  managementCalls: 300,
  loadedWrites: 20,
  eventEmits: 2000,
  eventDeliveries: 5000,
};

export const quickSizes: BenchSizes = {
  warmUp: 300,
  rounds: 2,
  rpcPerRound: 400,
  targetPerRound: 250,
  throughputRounds: 2,
  throughputPerRound: 1000,
  concurrency: 16,
  stateSize: 1000,
  managementCalls: 50,
  loadedWrites: 5,
  eventEmits: 300,
  eventDeliveries: 500,
};

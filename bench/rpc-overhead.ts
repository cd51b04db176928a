import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ConditionSchema } from "../gen/zitadel/action/v2/execution_pb.js";
import { type BenchServer, startBenchServer } from "./fixtures.js";
import {
  compareLatency,
  compareThroughput,
  type Variant,
  type VariantLatency,
} from "./load.js";
import type { BenchSizes, SectionResult } from "./result.js";
import { formatMs, formatRate, formatRatio, median } from "./stats.js";

const P50_GOAL = 1.05;

/** Condition of a method execution of the sample UserService. */
export function methodCondition(
  phase: "request" | "response",
  method: string,
): MessageInitShape<typeof ConditionSchema> {
  return {
    conditionType: {
      case: phase,
      value: {
        condition: {
          case: "method",
          value: `/zitadel.user.v2.UserService/${method}`,
        },
      },
    },
  };
}

/** Adds one user to the sample service and returns its id. */
export async function addUser(
  bench: BenchServer,
  username: string,
): Promise<string> {
  const response = await bench.users.addHumanUser({
    username,
    profile: { givenName: "Ada", familyName: "Lovelace" },
    email: { email: `${username}@example.com` },
  });
  return response.userId;
}

/**
 * Measures section 1: GetUserByID on a server with the execution
 * interceptor but no execution for that method, against the same server
 * built without the interceptor.
 */
export async function benchRpcOverhead(
  sizes: BenchSizes,
): Promise<SectionResult> {
  const bare = await startBenchServer({ executionEngine: false });
  const engine = await startBenchServer();
  try {
    return await measure(sizes, bare, engine);
  } finally {
    await engine.stop();
    await bare.stop();
  }
}

async function measure(
  sizes: BenchSizes,
  bare: BenchServer,
  engine: BenchServer,
): Promise<SectionResult> {
  const bareUser = await addUser(bare, "ada");
  const engineUser = await addUser(engine, "ada");
  // The target is never called, because its execution is on another
  // method. Its port is the discard port, which nothing listens on here.
  const { id: targetId } = await engine.actions.createTarget({
    name: "other-method",
    endpoint: "http://127.0.0.1:9/never-called",
    timeout: { seconds: 5n },
    targetType: { case: "restWebhook", value: {} },
  });
  const otherMethod = methodCondition("request", "AddHumanUser");
  const setOther = (targets: string[]) => async () => {
    await engine.actions.setExecution({ condition: otherMethod, targets });
  };

  const bareVariant: Variant = {
    name: "interceptor off",
    run: () => bare.users.getUserByID({ userId: bareUser }),
  };
  const emptyVariant: Variant = {
    name: "interceptor on, no executions",
    run: () => engine.users.getUserByID({ userId: engineUser }),
    prepare: setOther([]),
  };
  const otherVariant: Variant = {
    name: "interceptor on, execution on another method",
    run: () => engine.users.getUserByID({ userId: engineUser }),
    prepare: setOther([targetId]),
  };

  const latency = await compareLatency(
    [bareVariant, emptyVariant, otherVariant],
    {
      warmUp: sizes.warmUp,
      rounds: sizes.rounds,
      perRound: sizes.rpcPerRound,
    },
  );
  const [bareRate, otherRate] = await compareThroughput(
    [bareVariant, otherVariant],
    {
      rounds: sizes.throughputRounds,
      perRound: sizes.throughputPerRound,
      concurrency: sizes.concurrency,
    },
  );
  return report(sizes, latency, bareRate ?? 0, otherRate ?? 0);
}

function report(
  sizes: BenchSizes,
  latency: VariantLatency[],
  bareRate: number,
  otherRate: number,
): SectionResult {
  const [bareLatency, emptyLatency, otherLatency] = latency as [
    VariantLatency,
    VariantLatency,
    VariantLatency,
  ];
  const p50Ratio = otherLatency.summary.p50 / bareLatency.summary.p50;
  const roundRatios = otherLatency.roundP50s.map(
    (p50, round) => p50 / (bareLatency.roundP50s[round] ?? p50),
  );
  const rows = latency.map((variant) => ({
    metric: `GetUserByID, ${variant.name}: p50 / p99`,
    goal: "",
    measured: `${formatMs(variant.summary.p50)} / ${formatMs(variant.summary.p99)}`,
  }));
  return {
    title: "1. Unary RPC overhead of the execution interceptor",
    rows: [
      ...rows,
      {
        metric: "p50 ratio, execution on another method / interceptor off",
        goal: `≤ ${formatRatio(P50_GOAL)}`,
        measured: formatRatio(p50Ratio),
        met: p50Ratio <= P50_GOAL,
      },
      {
        metric: "p50 ratio, no executions / interceptor off",
        goal: "",
        measured: formatRatio(
          emptyLatency.summary.p50 / bareLatency.summary.p50,
        ),
      },
      {
        metric: "p99 ratio, execution on another method / interceptor off",
        goal: "",
        measured: formatRatio(
          otherLatency.summary.p99 / bareLatency.summary.p99,
        ),
      },
      {
        metric: `throughput at concurrency ${sizes.concurrency}, interceptor off`,
        goal: "",
        measured: formatRate(bareRate),
      },
      {
        metric: `throughput at concurrency ${sizes.concurrency}, execution on another method`,
        goal: "",
        measured: `${formatRate(otherRate)} (${formatRatio(otherRate / bareRate)})`,
      },
    ],
    notes: [
      `Latency: ${sizes.rounds} alternating rounds of ${sizes.rpcPerRound} calls per variant at concurrency 1, after ${sizes.warmUp} warm-up calls each. The p50 and p99 pool all rounds.`,
      `The p50 ratio per round ranged from ${formatRatio(Math.min(...roundRatios))} to ${formatRatio(Math.max(...roundRatios))} (median ${formatRatio(median(roundRatios))}).`,
      `Throughput: median of ${sizes.throughputRounds} alternating rounds of ${sizes.throughputPerRound} calls with ${sizes.concurrency} in flight.`,
      "Both servers, the client and its gRPC (HTTP/2) connection live in one Node process, so every time includes the client's own work.",
    ],
  };
}

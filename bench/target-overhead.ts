import { performance } from "node:perf_hooks";
import { Agent } from "undici";
import {
  type BenchServer,
  startBenchServer,
  startTargetProcess,
  type TargetProcess,
} from "./fixtures.js";
import { compareLatency, type Variant, type VariantLatency } from "./load.js";
import type { BenchSizes, ResultRow, SectionResult } from "./result.js";
import { addUser, methodCondition } from "./rpc-overhead.js";
import { formatMs, formatRatio, median } from "./stats.js";

const RATIO_GOAL = 1.3;

// Pause before each POST of the control variant, about one RPC long.
const PAUSE_MS = 1;

const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Targets of section 2, each on its own loopback server. */
interface Targets {
  process: TargetProcess;
  /** Indexes of the webhook servers in the process. */
  webhooks: [number, number, number];
  /** Index of the call target's server. */
  call: number;
}

/** One comparison: RPC without execution, with it, and the bare POSTs. */
interface Scenario {
  label: string;
  method: "GetUserByID" | "AddHumanUser";
  /** Target ids of the request execution, in call order. */
  targetIds: string[];
  /** Servers the bare POSTs go to, one POST each, in order. */
  bareTargets: number[];
  rpc: () => Promise<unknown>;
}

/**
 * Measures section 2: the latency that request executions add to an RPC,
 * compared with undici POSTs of the same bodies to the same target servers.
 */
export async function benchTargetOverhead(
  sizes: BenchSizes,
): Promise<SectionResult> {
  const bench = await startBenchServer({ handlerHook: true });
  const targets: Targets = {
    process: await startTargetProcess([
      "empty",
      "empty",
      "empty",
      "addHumanUser",
    ]),
    webhooks: [0, 1, 2],
    call: 3,
  };
  // Its own agent, so the bare POSTs share no connection with the server.
  const agent = new Agent();
  try {
    return await measure(sizes, bench, targets, agent);
  } finally {
    await agent.close();
    await bench.stop();
    await targets.process.close();
  }
}

async function measure(
  sizes: BenchSizes,
  bench: BenchServer,
  targets: Targets,
  agent: Agent,
): Promise<SectionResult> {
  const webhookIds: string[] = [];
  for (const [index, target] of targets.webhooks.entries()) {
    webhookIds.push(
      await createTarget(
        bench,
        `webhook-${index}`,
        targets.process.urls[target] as string,
        "restWebhook",
      ),
    );
  }
  const callId = await createTarget(
    bench,
    "call",
    targets.process.urls[targets.call] as string,
    "restCall",
  );
  const userId = await addUser(bench, "ada");
  let added = 0;
  const scenarios: Scenario[] = [
    {
      label: "one webhook",
      method: "GetUserByID",
      targetIds: webhookIds.slice(0, 1),
      bareTargets: targets.webhooks.slice(0, 1),
      rpc: () => bench.users.getUserByID({ userId }),
    },
    {
      label: "three chained webhooks",
      method: "GetUserByID",
      targetIds: webhookIds,
      bareTargets: targets.webhooks,
      rpc: () => bench.users.getUserByID({ userId }),
    },
    {
      label: "call target rewriting the request",
      method: "AddHumanUser",
      targetIds: [callId],
      bareTargets: [targets.call],
      rpc: () => {
        added++;
        const username = `client-${added}`;
        return bench.users.addHumanUser({
          username,
          profile: { givenName: "Ada", familyName: "Lovelace" },
          email: { email: `${username}@example.com` },
        });
      },
    },
  ];
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  for (const scenario of scenarios) {
    const result = await compareScenario(
      sizes,
      bench,
      targets.process,
      scenario,
      agent,
    );
    rows.push(...result.rows);
    notes.push(result.note);
  }
  return {
    title: "2. Latency added by request targets on loopback",
    rows,
    notes: [
      `Each comparison runs ${sizes.rounds} alternating rounds of ${sizes.targetPerRound} calls per variant at concurrency 1, after ${sizes.warmUp} warm-up calls each.`,
      "Added latency is the p50 of the RPC with the execution minus the p50 of the same RPC without it. The baseline of the goal is the same RPC whose handler first sends the bare POSTs itself: undici requests with the body the targets received, one after another, to the same target servers, through a separate undici Agent. So both sides make the same HTTP calls at the same point of an RPC, and the ratio is what the engine costs over the calls themselves.",
      "The target servers are node:http servers in a child process, as a real endpoint runs apart from the service, and answer 200 on a kept-alive connection: webhooks with an empty body, the call target with a new AddHumanUser request as JSON. The handler hook makes every handler async, in all variants alike.",
      `The same bare POSTs in a tight loop, and after a pause of ${PAUSE_MS} ms with no RPC, are shown as controls. On this machine the pause alone makes a POST several times slower than in a tight loop, so the tight loop is no floor for a call made once per RPC.`,
      ...notes,
    ],
  };
}

async function createTarget(
  bench: BenchServer,
  name: string,
  url: string,
  type: "restWebhook" | "restCall",
): Promise<string> {
  const response = await bench.actions.createTarget({
    name,
    endpoint: `${url}/${name}`,
    timeout: { seconds: 10n },
    targetType: { case: type, value: { interruptOnError: true } },
  });
  return response.id;
}

async function compareScenario(
  sizes: BenchSizes,
  bench: BenchServer,
  targets: TargetProcess,
  scenario: Scenario,
  agent: Agent,
): Promise<{ rows: ResultRow[]; note: string }> {
  const condition = methodCondition("request", scenario.method);
  const setTargets = (targetIds: string[]) => async () => {
    await bench.actions.setExecution({ condition, targets: targetIds });
  };

  // One RPC with the execution records the exact bodies the targets get.
  await setTargets(scenario.targetIds)();
  await scenario.rpc();
  const bodies: Buffer[] = [];
  for (const index of scenario.bareTargets) {
    bodies.push(await targets.lastBody(index));
  }
  const barePosts = async () => {
    for (const [position, index] of scenario.bareTargets.entries()) {
      const response = await agent.request({
        origin: targets.urls[index] as string,
        path: "/bare",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: bodies[position],
      });
      await response.body.arrayBuffer();
    }
  };

  // Each variant sets the execution's targets and whether the handler
  // sends the bare POSTs itself before its round.
  const prepare = (targetIds: string[], postsInHandler: boolean) => () => {
    bench.beforeHandler = postsInHandler ? barePosts : undefined;
    return setTargets(targetIds)();
  };
  const variants: Variant[] = [
    {
      name: "without execution",
      run: scenario.rpc,
      prepare: prepare([], false),
    },
    {
      name: "with execution",
      run: scenario.rpc,
      prepare: prepare(scenario.targetIds, false),
    },
    {
      name: "bare POST inside the handler",
      run: scenario.rpc,
      prepare: prepare([], true),
    },
    {
      name: "bare POST in a tight loop",
      run: barePosts,
      prepare: prepare([], false),
    },
    {
      name: "bare POST after a pause",
      run: barePosts,
      timed: async () => {
        await sleep(PAUSE_MS);
        const started = performance.now();
        await barePosts();
        return performance.now() - started;
      },
      prepare: prepare([], false),
    },
  ];
  const [without, withExecution, inHandler, tight, paused] =
    (await compareLatency(variants, {
      warmUp: sizes.warmUp,
      rounds: sizes.rounds,
      perRound: sizes.targetPerRound,
    })) as [
      VariantLatency,
      VariantLatency,
      VariantLatency,
      VariantLatency,
      VariantLatency,
    ];
  bench.beforeHandler = undefined;
  await setTargets([])();

  const addedP50 = withExecution.summary.p50 - without.summary.p50;
  const bareP50 = inHandler.summary.p50 - without.summary.p50;
  const ratio = addedP50 / bareP50;
  const roundRatios = withExecution.roundP50s.map((p50, round) => {
    const base = without.roundP50s[round] ?? Number.NaN;
    return (p50 - base) / ((inHandler.roundP50s[round] ?? Number.NaN) - base);
  });
  const posts = scenario.bareTargets.length;
  const bareLabel = posts === 1 ? "bare POST" : `${posts} bare POSTs in a row`;
  const bytes = bodies.reduce((total, body) => total + body.length, 0);
  return {
    rows: [
      {
        metric: `${scenario.label} (${scenario.method}): RPC p50 without execution / with execution / with ${bareLabel} in the handler`,
        goal: "",
        measured: `${formatMs(without.summary.p50)} / ${formatMs(withExecution.summary.p50)} / ${formatMs(inHandler.summary.p50)}`,
      },
      {
        metric: `${scenario.label}: RPC p99, same three`,
        goal: "",
        measured: `${formatMs(without.summary.p99)} / ${formatMs(withExecution.summary.p99)} / ${formatMs(inHandler.summary.p99)}`,
      },
      {
        metric: `${scenario.label}: latency added at p50 by the execution / by ${bareLabel} in the handler`,
        goal: "",
        measured: `${formatMs(addedP50)} / ${formatMs(bareP50)}`,
      },
      {
        metric: `${scenario.label}: added latency, execution / ${bareLabel} in the handler (p50)`,
        goal: `≤ ${formatRatio(RATIO_GOAL)}`,
        measured: formatRatio(ratio),
        met: ratio <= RATIO_GOAL,
      },
      {
        metric: `${scenario.label}: ${bareLabel} in a tight loop: p50 / p99`,
        goal: "",
        measured: `${formatMs(tight.summary.p50)} / ${formatMs(tight.summary.p99)}`,
      },
      {
        metric: `${scenario.label}: added latency / ${bareLabel} in a tight loop (p50)`,
        goal: "",
        measured: formatRatio(addedP50 / tight.summary.p50),
      },
      {
        metric: `${scenario.label}: ${bareLabel} after a ${PAUSE_MS} ms pause: p50`,
        goal: "",
        measured: formatMs(paused.summary.p50),
      },
    ],
    note: `${scenario.label}: ${bytes} body bytes per RPC in total. The ratio per round ranged from ${formatRatio(Math.min(...roundRatios))} to ${formatRatio(Math.max(...roundRatios))} (median ${formatRatio(median(roundRatios))}).`,
  };
}

import { Agent } from "undici";
import {
  type BenchServer,
  type BenchTarget,
  startBenchServer,
  startBenchTarget,
} from "./fixtures.js";
import { compareLatency, type Variant, type VariantLatency } from "./load.js";
import type { BenchSizes, ResultRow, SectionResult } from "./result.js";
import { addUser, methodCondition } from "./rpc-overhead.js";
import { formatMs, formatRatio, median } from "./stats.js";

const RATIO_GOAL = 1.3;

/** Targets of section 2, each on its own loopback server. */
interface Targets {
  webhooks: [BenchTarget, BenchTarget, BenchTarget];
  call: BenchTarget;
}

/** One comparison: RPC without execution, with it, and the bare POSTs. */
interface Scenario {
  label: string;
  method: "GetUserByID" | "AddHumanUser";
  /** Target ids of the request execution, in call order. */
  targetIds: string[];
  /** Servers the bare POSTs go to, one POST each, in order. */
  bareTargets: BenchTarget[];
  rpc: () => Promise<unknown>;
}

/**
 * Measures section 2: the latency that request executions add to an RPC,
 * compared with undici POSTs of the same bodies to the same target servers.
 */
export async function benchTargetOverhead(
  sizes: BenchSizes,
): Promise<SectionResult> {
  const bench = await startBenchServer();
  let callCount = 0;
  const targets: Targets = {
    webhooks: [
      await startBenchTarget(),
      await startBenchTarget(),
      await startBenchTarget(),
    ],
    // The call target replaces the AddHumanUser request. Each response has
    // a new username, because the handler rejects a taken one.
    call: await startBenchTarget(() => {
      callCount++;
      const username = `call-${callCount}`;
      return {
        body: JSON.stringify({
          username,
          profile: { givenName: "Grace", familyName: "Hopper" },
          email: { email: `${username}@example.com` },
        }),
      };
    }),
  };
  // Its own agent, so the bare POSTs share no connection with the server.
  const agent = new Agent();
  try {
    return await measure(sizes, bench, targets, agent);
  } finally {
    await agent.close();
    await bench.stop();
    for (const target of [...targets.webhooks, targets.call]) {
      await target.close();
    }
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
      await createTarget(bench, `webhook-${index}`, target, "restWebhook"),
    );
  }
  const callId = await createTarget(bench, "call", targets.call, "restCall");
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
    const result = await compareScenario(sizes, bench, scenario, agent);
    rows.push(...result.rows);
    notes.push(result.note);
  }
  return {
    title: "2. Latency added by request targets on loopback",
    rows,
    notes: [
      `Each comparison runs ${sizes.rounds} alternating rounds of ${sizes.targetPerRound} calls per variant at concurrency 1, after ${sizes.warmUp} warm-up calls each.`,
      "Added latency is the p50 of the RPC with the execution minus the p50 of the same RPC without it. The ratio divides it by the p50 of undici POSTs that send the body the targets received, one after another, to the same target servers, through a separate undici Agent.",
      "The target servers are node:http servers in the same process that answer 200 on a kept-alive connection: webhooks with an empty body, the call target with a new AddHumanUser request as JSON.",
      "A bare POST in a tight loop runs with hot caches. The same POST sent right after each RPC, estimated as p50(RPC without execution, then the POSTs) minus p50(RPC without execution), is the fairer floor for work done inside an RPC, so it is shown too. The goal is checked against the tight loop.",
      ...notes,
    ],
  };
}

async function createTarget(
  bench: BenchServer,
  name: string,
  target: BenchTarget,
  type: "restWebhook" | "restCall",
): Promise<string> {
  const response = await bench.actions.createTarget({
    name,
    endpoint: `${target.url}/${name}`,
    timeout: { seconds: 10n },
    targetType: { case: type, value: { interruptOnError: true } },
  });
  return response.id;
}

async function compareScenario(
  sizes: BenchSizes,
  bench: BenchServer,
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
  const bodies = scenario.bareTargets.map((target) => target.lastBody);
  const barePosts = async () => {
    for (const [index, target] of scenario.bareTargets.entries()) {
      const response = await agent.request({
        origin: target.url,
        path: "/bare",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: bodies[index],
      });
      await response.body.arrayBuffer();
    }
  };

  const variants: Variant[] = [
    {
      name: "without execution",
      run: scenario.rpc,
      prepare: setTargets([]),
    },
    {
      name: "with execution",
      run: scenario.rpc,
      prepare: setTargets(scenario.targetIds),
    },
    { name: "bare POST", run: barePosts },
    {
      name: "without execution, then bare POST",
      run: async () => {
        await scenario.rpc();
        await barePosts();
      },
      prepare: setTargets([]),
    },
  ];
  const [without, withExecution, bare, afterRpc] = (await compareLatency(
    variants,
    {
      warmUp: sizes.warmUp,
      rounds: sizes.rounds,
      perRound: sizes.targetPerRound,
    },
  )) as [VariantLatency, VariantLatency, VariantLatency, VariantLatency];
  await setTargets([])();

  const addedP50 = withExecution.summary.p50 - without.summary.p50;
  const ratio = addedP50 / bare.summary.p50;
  const inContext = afterRpc.summary.p50 - without.summary.p50;
  const roundRatios = withExecution.roundP50s.map(
    (p50, round) =>
      (p50 - (without.roundP50s[round] ?? 0)) /
      (bare.roundP50s[round] ?? Number.NaN),
  );
  const posts = scenario.bareTargets.length;
  const bareLabel = posts === 1 ? "bare POST" : `${posts} bare POSTs in a row`;
  const bytes = bodies.reduce((total, body) => total + body.length, 0);
  return {
    rows: [
      {
        metric: `${scenario.label} (${scenario.method}): RPC p50 without / with execution`,
        goal: "",
        measured: `${formatMs(without.summary.p50)} / ${formatMs(withExecution.summary.p50)}`,
      },
      {
        metric: `${scenario.label}: RPC p99 without / with execution`,
        goal: "",
        measured: `${formatMs(without.summary.p99)} / ${formatMs(withExecution.summary.p99)}`,
      },
      {
        metric: `${scenario.label}: added latency at p50`,
        goal: "",
        measured: formatMs(addedP50),
      },
      {
        metric: `${scenario.label}: ${bareLabel} p50 / p99`,
        goal: "",
        measured: `${formatMs(bare.summary.p50)} / ${formatMs(bare.summary.p99)}`,
      },
      {
        metric: `${scenario.label}: added latency / ${bareLabel} (p50)`,
        goal: `≤ ${formatRatio(RATIO_GOAL)}`,
        measured: formatRatio(ratio),
        met: ratio <= RATIO_GOAL,
      },
      {
        metric: `${scenario.label}: ${bareLabel} right after an RPC, p50 (estimate)`,
        goal: "",
        measured: formatMs(inContext),
      },
      {
        metric: `${scenario.label}: added latency / ${bareLabel} right after an RPC (p50)`,
        goal: "",
        measured: formatRatio(addedP50 / inContext),
      },
    ],
    note: `${scenario.label}: ${bytes} body bytes per RPC in total. The ratio per round ranged from ${formatRatio(Math.min(...roundRatios))} to ${formatRatio(Math.max(...roundRatios))} (median ${formatRatio(median(roundRatios))}).`,
  };
}

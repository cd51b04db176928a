import { performance } from "node:perf_hooks";
import { TextFilterMethod } from "../gen/zitadel/filter/v2/filter_pb.js";
import { createExecutionRepository } from "../src/storage/index.js";
import {
  type BenchServer,
  functionNames,
  startBenchServer,
} from "./fixtures.js";
import { measureThroughput, sampleLatency } from "./load.js";
import type { BenchSizes, ResultRow, SectionResult } from "./result.js";
import { methodCondition } from "./rpc-overhead.js";
import {
  formatMiB,
  formatMs,
  formatRate,
  type LatencySummary,
  median,
  summarize,
} from "./stats.js";

// Runs sections 3 and 4 in a child process that the harness forks with
// --expose-gc, so the memory numbers start from a fresh heap and can be
// taken after a full collection. The results go back over the IPC channel.

const LIST_GOAL_MS = 20;
const NAME_FILTER = "target-12";

/** Message the child sends to the harness. */
export type StateChildMessage =
  | { type: "result"; sections: SectionResult[] }
  | { type: "error"; message: string };

interface MemorySample {
  rss: number;
  heapUsed: number;
}

function sampleMemory(): MemorySample {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

function describe(summary: LatencySummary): string {
  return `${formatMs(summary.p50)} / ${formatMs(summary.p99)}`;
}

async function createTargets(
  bench: BenchServer,
  prefix: string,
  count: number,
  concurrency: number,
): Promise<{ ids: string[]; rates: number[] }> {
  const ids: string[] = [];
  let next = 0;
  const createOne = async () => {
    const index = next++;
    const response = await bench.actions.createTarget({
      name: `${prefix}-${index}`,
      endpoint: `http://127.0.0.1:9/${prefix}/${index}`,
      timeout: { seconds: 5n },
      targetType: { case: "restWebhook", value: {} },
    });
    ids[index] = response.id;
  };
  // Ten chunks show whether the rate drops as the table grows.
  const rates: number[] = [];
  const chunk = Math.ceil(count / 10);
  for (let done = 0; done < count; done += chunk) {
    const size = Math.min(chunk, count - done);
    rates.push(await measureThroughput(createOne, size, concurrency));
  }
  return { ids, rates };
}

async function run(sizes: BenchSizes): Promise<SectionResult[]> {
  const n = sizes.stateSize;
  const calls = sizes.managementCalls;
  const bench = await startBenchServer({ functions: functionNames(n) });
  try {
    const baseline = sampleMemory();
    const { actions } = bench;

    const created = await createTargets(
      bench,
      "bench-target",
      n,
      sizes.concurrency,
    );
    const createRate = median(created.rates);
    let extra = 0;
    const createOne = async () => {
      extra++;
      await actions.createTarget({
        name: `bench-extra-${extra}`,
        endpoint: "http://127.0.0.1:9/extra",
        timeout: { seconds: 5n },
        targetType: { case: "restWebhook", value: {} },
      });
    };
    await sampleLatency(createOne, 20);
    const createLatency = summarize(await sampleLatency(createOne, calls));

    const listContains = () =>
      actions.listTargets({
        filters: [
          {
            filter: {
              case: "targetNameFilter",
              value: {
                targetName: NAME_FILTER,
                method: TextFilterMethod.CONTAINS,
              },
            },
          },
        ],
      });
    const matches = Number((await listContains()).pagination?.totalResult);
    await sampleLatency(listContains, 20);
    const listLatency = summarize(await sampleLatency(listContains, calls));
    const listAll = () => actions.listTargets({});
    await sampleLatency(listAll, 20);
    const listAllLatency = summarize(await sampleLatency(listAll, calls));

    const condition = methodCondition("request", "GetUserByID");
    let flip = 0;
    const setExecution = async () => {
      flip++;
      const targetId = created.ids[flip % 2] as string;
      await actions.setExecution({ condition, targets: [targetId] });
    };
    await sampleLatency(setExecution, 20);
    const setSamples = await sampleLatency(setExecution, calls);
    const setLatency = summarize(setSamples);
    const setRate = (calls / setSamples.reduce((a, b) => a + b, 0)) * 1000;
    const withTargets = sampleMemory();

    // Thousands of executions go straight into storage in one transaction,
    // which takes a fraction of the time of one API call each, and the
    // router is rebuilt once.
    const executions = createExecutionRepository(bench.server.database);
    const loadStarted = performance.now();
    const names = functionNames(n);
    bench.server.database.transaction(() => {
      for (const [index, name] of names.entries()) {
        const targetId = created.ids[index] as string;
        executions.set(`function/${name}`, [targetId], Date.now());
      }
    });
    bench.server.router.rebuild();
    const loadMs = performance.now() - loadStarted;
    const withExecutions = sampleMemory();
    const routed = bench.server.router.current().size;

    const rebuilds = await sampleLatency(async () => {
      bench.server.router.rebuild();
    }, sizes.loadedWrites);
    const loadedSet = summarize(
      await sampleLatency(setExecution, sizes.loadedWrites),
    );
    const loadedCreate = summarize(
      await sampleLatency(createOne, sizes.loadedWrites),
    );
    let timeout = 5;
    const updateOne = async () => {
      timeout = timeout === 5 ? 6 : 5;
      await actions.updateTarget({
        id: created.ids[0] as string,
        timeout: { seconds: BigInt(timeout) },
      });
    };
    const loadedUpdate = summarize(
      await sampleLatency(updateOne, sizes.loadedWrites),
    );

    const management: SectionResult = {
      title: "3. Management API",
      rows: [
        {
          metric: `CreateTarget, concurrency ${sizes.concurrency}, growing to ${n.toLocaleString("en-US")} targets`,
          goal: "",
          measured: `${formatRate(createRate)} (first tenth ${formatRate(created.rates[0] ?? 0)}, last tenth ${formatRate(created.rates.at(-1) ?? 0)})`,
        },
        {
          metric: `CreateTarget p50 / p99, concurrency 1, ${n.toLocaleString("en-US")} targets`,
          goal: "",
          measured: describe(createLatency),
        },
        {
          metric:
            "SetExecution on a method condition, replacing the list, concurrency 1",
          goal: "",
          measured: `${formatRate(setRate)}, p50 / p99 ${describe(setLatency)}`,
        },
        {
          metric: `ListTargets, name CONTAINS "${NAME_FILTER}" (${matches} matches, first page of 100), ${n.toLocaleString("en-US")} targets: p50`,
          goal: `< ${LIST_GOAL_MS} ms`,
          measured: formatMs(listLatency.p50),
          met: listLatency.p50 < LIST_GOAL_MS,
        },
        {
          metric: "ListTargets with the same filter: p99",
          goal: "",
          measured: formatMs(listLatency.p99),
        },
        {
          metric: "ListTargets without filter (first page of 100): p50 / p99",
          goal: "",
          measured: describe(listAllLatency),
        },
        {
          metric: `Router rebuild with ${routed.toLocaleString("en-US")} executions: p50`,
          goal: "",
          measured: formatMs(median(rebuilds)),
        },
        {
          metric: `SetExecution p50 / p99 with ${n.toLocaleString("en-US")} function executions loaded`,
          goal: "",
          measured: `${describe(loadedSet)} (${formatRate(1000 / loadedSet.mean)})`,
        },
        {
          metric: `CreateTarget p50 / p99 with ${n.toLocaleString("en-US")} function executions loaded`,
          goal: "",
          measured: describe(loadedCreate),
        },
        {
          metric: `UpdateTarget of a target that an execution calls, p50 / p99, with ${n.toLocaleString("en-US")} function executions loaded`,
          goal: "",
          measured: describe(loadedUpdate),
        },
      ],
      notes: [
        `CreateTarget throughput is the median of ten chunks of ${Math.ceil(n / 10).toLocaleString("en-US")} calls. Each call goes through gRPC with the interceptor on.`,
        `Latencies at concurrency 1 come from ${calls} calls after 20 warm-up calls. The rows with executions loaded come from ${sizes.loadedWrites} calls each.`,
        "SetExecution alternates one target id between two values, so every call writes and updates the router. The router reloads only the execution that changed, and UpdateTarget only the executions that call the target, so neither depends on how many executions are loaded. The full rebuild runs at startup.",
        `The ${n.toLocaleString("en-US")} function executions are written straight into storage in one transaction (${formatMs(loadMs)} including one rebuild) instead of ${n.toLocaleString("en-US")} API calls.`,
      ],
    };

    const gcNote =
      typeof (globalThis as { gc?: unknown }).gc === "function"
        ? "Each value is process.memoryUsage() after two global.gc() calls, in a child process started with --expose-gc."
        : "global.gc was not available, so the values are taken without a forced collection.";
    const memoryRow = (label: string, sample: MemorySample): ResultRow => ({
      metric: label,
      goal: "",
      measured: `${formatMiB(sample.rss)} (heap used ${formatMiB(sample.heapUsed)})`,
    });
    const memory: SectionResult = {
      title: "4. Resident memory",
      rows: [
        memoryRow(
          `Server started, ${n.toLocaleString("en-US")} function names registered: RSS`,
          baseline,
        ),
        memoryRow(
          `With ${(n + calls + 20).toLocaleString("en-US")} targets: RSS`,
          withTargets,
        ),
        memoryRow(
          `With the targets and ${routed.toLocaleString("en-US")} executions in the router: RSS`,
          withExecutions,
        ),
        {
          metric: "RSS growth from the server start to all loaded",
          goal: "",
          measured: formatMiB(withExecutions.rss - baseline.rss),
        },
        {
          metric: "V8 heap used growth from the server start to all loaded",
          goal: "",
          measured: formatMiB(withExecutions.heapUsed - baseline.heapUsed),
        },
      ],
      notes: [
        gcNote,
        "RSS includes the SQLite page cache and the heap pages V8 kept from the API calls before, and it can shrink when V8 returns pages after a collection, so it need not grow from one row to the next. The growth of heap used is the closer measure of what the targets and the router keep in memory.",
      ],
    };
    return [management, memory];
  } finally {
    await bench.stop();
  }
}

const sizes = JSON.parse(process.argv[2] ?? "{}") as BenchSizes;
run(sizes).then(
  (sections) => {
    const message: StateChildMessage = { type: "result", sections };
    process.send?.(message, () => process.exit(0));
  },
  (error: unknown) => {
    const message: StateChildMessage = {
      type: "error",
      message:
        error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
    process.send?.(message, () => process.exit(1));
  },
);

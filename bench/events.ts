import { performance } from "node:perf_hooks";
import { Agent } from "undici";
import type { EventInput } from "../src/events/index.js";
import {
  type BenchServer,
  type BenchTarget,
  startBenchServer,
  startBenchTarget,
} from "./fixtures.js";
import { measureThroughput } from "./load.js";
import type { BenchSizes, SectionResult } from "./result.js";
import {
  formatMs,
  formatRate,
  formatRatio,
  type LatencySummary,
  median,
  summarize,
} from "./stats.js";

const MATCHED = "user.human.added";
// A declared event type of the sample without an execution.
const UNMATCHED = "user.locked";
// The server's default config.eventConcurrency.
const DISPATCH_CONCURRENCY = 16;

// Deliveries per second that the dispatcher must reach on one target.
const DELIVERY_GOAL = 1000;
// A failed delivery is retried seconds to hours later, and whenIdle waits
// for it, so each wait is cut off instead.
const IDLE_TIMEOUT_MS = 60_000;

/**
 * Measures section 5: the cost of emitting an event in a transaction, and
 * how fast the server's dispatcher delivers events to one loopback
 * webhook, compared with undici POSTs of the same body at the same
 * concurrency.
 */
export async function benchEvents(sizes: BenchSizes): Promise<SectionResult> {
  const bench = await startBenchServer();
  const target = await startBenchTarget();
  const agent = new Agent();
  try {
    return await measure(sizes, bench, target, agent);
  } finally {
    await agent.close();
    await bench.stop();
    await target.close();
  }
}

async function measure(
  sizes: BenchSizes,
  bench: BenchServer,
  target: BenchTarget,
  agent: Agent,
): Promise<SectionResult> {
  const { id } = await bench.actions.createTarget({
    name: "event-webhook",
    endpoint: `${target.url}/events`,
    timeout: { seconds: 10n },
    targetType: { case: "restWebhook", value: {} },
  });
  await bench.actions.setExecution({
    condition: {
      conditionType: {
        case: "event",
        value: { condition: { case: "event", value: MATCHED } },
      },
    },
    targets: [id],
  });

  const emit = createEmitLoop(bench);
  const idle = () =>
    withTimeout(bench.server.events.dispatcher.whenIdle(), IDLE_TIMEOUT_MS);
  emit.run("empty", sizes.warmUp);
  emit.run(UNMATCHED, sizes.warmUp);
  emit.run(MATCHED, sizes.warmUp);
  await idle();

  const samples = { empty: [] as number[], unmatched: [] as number[] };
  const matched: number[] = [];
  for (let round = 0; round < sizes.rounds; round++) {
    samples.empty.push(...emit.run("empty", sizes.eventEmits));
    samples.unmatched.push(...emit.run(UNMATCHED, sizes.eventEmits));
    matched.push(...emit.run(MATCHED, sizes.eventEmits));
    // Deliver the backlog before the next round, outside the timed loops.
    await idle();
  }

  const deliveryRates: number[] = [];
  const deliveryRounds = 3;
  for (let round = 0; round < deliveryRounds; round++) {
    const before = target.received;
    emit.run(MATCHED, sizes.eventDeliveries);
    const started = performance.now();
    await idle();
    const seconds = (performance.now() - started) / 1000;
    const received = target.received - before;
    if (received !== sizes.eventDeliveries) {
      throw new Error(
        `event delivery: the target received ${received} events, expected ${sizes.eventDeliveries}`,
      );
    }
    deliveryRates.push(received / seconds);
  }
  const body = target.lastBody;
  const bareRate = await measureThroughput(
    async () => {
      const response = await agent.request({
        origin: target.url,
        path: "/bare",
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      await response.body.arrayBuffer();
    },
    sizes.eventDeliveries,
    DISPATCH_CONCURRENCY,
  );
  return report(sizes, {
    empty: summarize(samples.empty),
    unmatched: summarize(samples.unmatched),
    matched: summarize(matched),
    deliveryRate: median(deliveryRates),
    bareRate,
    bodyBytes: body.length,
    deliveryRounds,
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `event delivery: the dispatcher was still busy after ${ms} ms, so check the target and the delivery log`,
          ),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Returns a loop that runs `count` transactions one after another and
 * returns each duration in ms. The loop is synchronous, like
 * better-sqlite3 transactions, so the dispatcher cannot deliver while it
 * runs. It wakes after the loop ends.
 */
function createEmitLoop(bench: BenchServer) {
  const { database, events } = bench.server;
  let counter = 0;
  const eventOf = (eventType: string): EventInput => {
    counter++;
    return {
      aggregateType: "user",
      aggregateId: `user-${counter % 100}`,
      eventType,
      resourceOwner: "org-1",
      creator: "bench-admin",
      payload: { userId: `user-${counter % 100}`, username: `u${counter}` },
    };
  };
  return {
    run(kind: string, count: number): number[] {
      const samples = new Array<number>(count);
      for (let i = 0; i < count; i++) {
        const event = kind === "empty" ? undefined : eventOf(kind);
        const started = performance.now();
        database.transaction(() => {
          if (event !== undefined) {
            events.emitter.emit(event);
          }
        });
        samples[i] = performance.now() - started;
      }
      return samples;
    },
  };
}

interface EventNumbers {
  empty: LatencySummary;
  unmatched: LatencySummary;
  matched: LatencySummary;
  deliveryRate: number;
  bareRate: number;
  bodyBytes: number;
  deliveryRounds: number;
}

function report(sizes: BenchSizes, numbers: EventNumbers): SectionResult {
  const describe = (summary: LatencySummary) =>
    `${formatMs(summary.p50)} / ${formatMs(summary.p99)}`;
  return {
    title: "5. Event delivery",
    rows: [
      {
        metric: "Empty transaction, for reference: p50 / p99",
        goal: "",
        measured: describe(numbers.empty),
      },
      {
        metric:
          "Transaction with one emit, no event execution matches: p50 / p99",
        goal: "",
        measured: describe(numbers.unmatched),
      },
      {
        metric: "Transaction with one emit that creates a delivery: p50 / p99",
        goal: "",
        measured: describe(numbers.matched),
      },
      {
        metric: "Cost of an emit that creates a delivery, at p50",
        goal: "",
        measured: formatMs(numbers.matched.p50 - numbers.empty.p50),
      },
      {
        metric: `Deliveries per second to one webhook, dispatcher concurrency ${DISPATCH_CONCURRENCY}`,
        goal: `≥ ${formatRate(DELIVERY_GOAL)}`,
        measured: formatRate(numbers.deliveryRate),
        met: numbers.deliveryRate >= DELIVERY_GOAL,
      },
      {
        metric: `Bare POSTs per second, concurrency ${DISPATCH_CONCURRENCY}`,
        goal: "",
        measured: `${formatRate(numbers.bareRate)} (delivery rate is ${formatRatio(numbers.deliveryRate / numbers.bareRate)} of it)`,
      },
    ],
    notes: [
      `Emits: ${sizes.rounds} rounds of ${sizes.eventEmits} transactions of each kind, one after another, each in its own immediate transaction on the server's database. The dispatcher delivers the backlog between rounds.`,
      `Deliveries: ${sizes.eventDeliveries} events are emitted first, then the time until the dispatcher is idle is taken. The rate is the median of ${numbers.deliveryRounds} rounds. Each delivery claims its row, calls the target and records the outcome in SQLite. The body is ${numbers.bodyBytes} bytes.`,
      "The bare POSTs send the last delivered body to the same target server through a separate undici Agent.",
    ],
  };
}

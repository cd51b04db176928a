import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import { createEventHarness, type EventHarness } from "./event-harness.js";

let first: EventHarness;
let second: EventHarness;
let target: StubTarget;

// Requests in flight per webhook-id right now, and the maximum ever seen.
const inFlight = new Map<string, number>();
const maxInFlight = new Map<string, number>();

beforeEach(async () => {
  inFlight.clear();
  maxInFlight.clear();
  target = await startStubTarget({
    respondWith: async (request) => {
      const id = String(request.headers["webhook-id"]);
      const now = (inFlight.get(id) ?? 0) + 1;
      inFlight.set(id, now);
      maxInFlight.set(id, Math.max(maxInFlight.get(id) ?? 0, now));
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight.set(id, now - 1);
      return { status: 200 };
    },
  });
  first = createEventHarness({ concurrency: 4, machineId: 1 });
  // A second connection to the same file, as a second process would have.
  second = createEventHarness({
    dir: first.dir,
    concurrency: 4,
    machineId: 2,
  });
});

afterEach(async () => {
  await second.close();
  await first.close();
  await target.close();
});

it("two dispatchers deliver each event once", async () => {
  const { id } = first.addTarget(target.url);
  first.setExecution("event", [id]);
  second.router.rebuild();
  const deliveryIds = new Set<string>();
  for (let i = 0; i < 80; i++) {
    const { deliveryId } = first.emit({ aggregateId: `user-${i % 7}` });
    deliveryIds.add(deliveryId ?? "");
  }

  first.outbox.dispatcher.start();
  second.outbox.dispatcher.start();
  await Promise.all([
    first.outbox.dispatcher.whenIdle(),
    second.outbox.dispatcher.whenIdle(),
  ]);

  expect(deliveryIds.size).toBe(80);
  const perId = new Map<string, number>();
  for (const request of target.requests) {
    const webhookId = String(request.headers["webhook-id"]);
    perId.set(webhookId, (perId.get(webhookId) ?? 0) + 1);
  }
  expect([...perId.keys()].sort()).toEqual([...deliveryIds].sort());
  expect([...perId.values()].every((n) => n === 1)).toBe(true);
  expect([...maxInFlight.values()].every((n) => n === 1)).toBe(true);
  expect(first.outbox.log.list(allDeliveries).total).toBe(80);
  expect(
    first.outbox.dispatcher.stats.delivered +
      second.outbox.dispatcher.stats.delivered,
  ).toBe(80);
  expect(first.outbox.dispatcher.stats.delivered).toBeGreaterThan(0);
  expect(second.outbox.dispatcher.stats.delivered).toBeGreaterThan(0);
});

const allDeliveries = {
  offset: 0,
  limit: 1000,
  ascending: true,
  stateFilters: ["delivered" as const],
  targetFilters: [],
  eventTypeFilters: [],
  creationDateFilters: [],
};

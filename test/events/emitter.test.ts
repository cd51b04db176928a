import type { JsonObject } from "@bufbuild/protobuf";
import { InvalidEventError } from "../../src/events/index.js";
import { createHostStore } from "../../src/storage/index.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import { createEventHarness, type EventHarness } from "./event-harness.js";

let harness: EventHarness;
const stubs: StubTarget[] = [];

async function stub(): Promise<StubTarget> {
  const started = await startStubTarget();
  stubs.push(started);
  return started;
}

function count(table: string): number {
  const row = harness.database.client
    .prepare(`select count(*) as n from ${table}`)
    .get() as { n: number };
  return row.n;
}

const event = {
  aggregateType: "user",
  aggregateId: "user-1",
  eventType: "user.human.added",
  resourceOwner: "org-1",
  creator: "admin-1",
  payload: { username: "alice" },
};

beforeEach(() => {
  harness = createEventHarness();
});

afterEach(async () => {
  await harness.close();
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

describe("emit", () => {
  it("stores nothing when the transaction rolls back", async () => {
    const target = await stub();
    const { id } = harness.addTarget(target.url);
    harness.setExecution("event", [id]);
    const store = createHostStore(harness.database);

    expect(() =>
      store.transaction(() => {
        harness.outbox.emitter.emit(event);
        throw new Error("state change failed");
      }),
    ).toThrow("state change failed");
    expect(() =>
      harness.database.transaction(() => {
        harness.outbox.emitter.emit(event);
        throw new Error("state change failed");
      }),
    ).toThrow("state change failed");
    harness.outbox.dispatcher.start();
    await harness.outbox.dispatcher.whenIdle();

    expect(count("events")).toBe(0);
    expect(count("event_deliveries")).toBe(0);
    expect(count("event_sequences")).toBe(0);
    expect(target.requests).toHaveLength(0);
    expect(harness.emit().sequence).toBe(1);
  });

  it("commits with the host's transaction", async () => {
    const target = await stub();
    const { id } = harness.addTarget(target.url);
    harness.setExecution("event", [id]);
    const store = createHostStore(harness.database);
    store.run("create table accounts (id text primary key)");

    const result = store.transaction(() => {
      store.run("insert into accounts (id) values (?)", "user-1");
      return harness.outbox.emitter.emit(event);
    });

    expect(result.sequence).toBe(1);
    expect(harness.outbox.log.get(result.deliveryId ?? "")?.state).toBe(
      "pending",
    );
  });

  it("rejects an emit outside a transaction", () => {
    expect(() => harness.outbox.emitter.emit(event)).toThrow(
      /no transaction is open/,
    );
    expect(count("event_sequences")).toBe(0);
  });

  it("rejects an undeclared event type", () => {
    expect(() => harness.emit({ eventType: "user.teleported" })).toThrow(
      InvalidEventError,
    );
    expect(() => harness.emit({ eventType: "user.teleported" })).toThrow(
      'event type "user.teleported": it is not declared',
    );
  });

  it.each([
    ["null", null],
    ["an array", [1, 2]],
    ["a string", "text"],
    ["a number", 42],
    ["a Date", new Date(0)],
  ])("rejects %s as payload", (_name, payload) => {
    expect(() =>
      harness.emit({ payload: payload as unknown as JsonObject }),
    ).toThrow(InvalidEventError);
  });

  it("rejects an empty aggregate id", () => {
    expect(() => harness.emit({ aggregateId: "" })).toThrow(
      "aggregateType and aggregateId must not be empty",
    );
  });

  it("creates no delivery without a matching execution", () => {
    const first = harness.emit();
    const second = harness.emit();

    expect(first).toEqual({ sequence: 1, deliveryId: undefined });
    expect(second).toEqual({ sequence: 2, deliveryId: undefined });
    expect(count("events")).toBe(0);
    expect(count("event_deliveries")).toBe(0);
  });

  it("keeps the target list of emission time", async () => {
    const before = await stub();
    const after = await stub();
    const a = harness.addTarget(before.url);
    const b = harness.addTarget(after.url);
    harness.setExecution("event/user.human.added", [a.id]);

    const { deliveryId } = harness.emit();
    harness.setExecution("event/user.human.added", [b.id]);
    harness.outbox.dispatcher.start();
    const delivered = await harness.waitForState(deliveryId ?? "", [
      "delivered",
    ]);

    expect(delivered.targets.map((t) => t.targetId)).toEqual([a.id]);
    expect(before.requests).toHaveLength(1);
    expect(after.requests).toHaveLength(0);
  });

  it("wakes the dispatcher after the commit", async () => {
    await harness.close();
    harness = createEventHarness({ pollIntervalMs: 60_000 });
    const target = await stub();
    const { id } = harness.addTarget(target.url);
    harness.setExecution("event", [id]);
    harness.outbox.dispatcher.start();
    await harness.outbox.dispatcher.whenIdle();

    harness.emit();

    // Far below the 60 s poll interval: only the wake-up can deliver it.
    await target.waitForRequests(1, 5000);
  });
});

describe("event matching", () => {
  it("delivers to the best match only", async () => {
    const exact = await stub();
    const humanGroup = await stub();
    const userGroup = await stub();
    const all = await stub();
    const ids = {
      exact: harness.addTarget(exact.url).id,
      humanGroup: harness.addTarget(humanGroup.url).id,
      userGroup: harness.addTarget(userGroup.url).id,
      all: harness.addTarget(all.url).id,
    };
    harness.setExecution("event/user.human.changed", [ids.exact]);
    harness.setExecution("event/user.human.*", [ids.humanGroup]);
    harness.setExecution("event/user.*", [ids.userGroup]);
    harness.setExecution("event", [ids.all]);

    const cases: [string, string][] = [
      ["user.human.added", ids.humanGroup],
      ["user.human.changed", ids.exact],
      ["user.locked", ids.userGroup],
      ["org.added", ids.all],
    ];
    const deliveries = cases.map(([eventType]) => harness.emit({ eventType }));
    harness.outbox.dispatcher.start();
    await harness.outbox.dispatcher.whenIdle();

    for (const [index, [eventType, targetId]] of cases.entries()) {
      const record = harness.outbox.log.get(
        deliveries[index]?.deliveryId ?? "",
      );
      expect([eventType, record?.targets.map((t) => t.targetId)]).toEqual([
        eventType,
        [targetId],
      ]);
    }
    const received = (s: StubTarget) =>
      s.requests.map((r) => (r.json as { event_type: string }).event_type);
    expect(received(exact)).toEqual(["user.human.changed"]);
    expect(received(humanGroup)).toEqual(["user.human.added"]);
    expect(received(userGroup)).toEqual(["user.locked"]);
    expect(received(all)).toEqual(["org.added"]);
  });

  it("falls back to a broader group without the narrower one", async () => {
    const userGroup = await stub();
    const all = await stub();
    harness.setExecution("event/user.*", [harness.addTarget(userGroup.url).id]);
    harness.setExecution("event", [harness.addTarget(all.url).id]);

    harness.emit({ eventType: "user.human.added" });
    harness.outbox.dispatcher.start();
    await harness.outbox.dispatcher.whenIdle();

    expect(userGroup.requests).toHaveLength(1);
    expect(all.requests).toHaveLength(0);
  });
});

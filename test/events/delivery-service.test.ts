import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Client, Code, createClient } from "@connectrpc/connect";
import {
  connectNodeAdapter,
  createConnectTransport,
} from "@connectrpc/connect-node";
import {
  AttemptResult,
  DeliveryService,
  DeliveryState,
  DeliveryTargetState,
  type ListDeliveriesRequestSchema,
} from "../../gen/actions/v1/delivery_service_pb.js";
import { TimestampFilterMethod } from "../../gen/zitadel/filter/v2/filter_pb.js";
import { deliveryServicePermissions } from "../../src/events/index.js";
import { loggingInterceptor } from "../../src/logger.js";
import { rpcError } from "../support/rpc-error.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import { createEventHarness, type EventHarness } from "./event-harness.js";

type Filters = MessageInitShape<typeof ListDeliveriesRequestSchema>["filters"];

let harness: EventHarness;
let server: Server;
let client: Client<typeof DeliveryService>;
const stubs: StubTarget[] = [];

async function stub(): Promise<StubTarget> {
  const started = await startStubTarget();
  stubs.push(started);
  return started;
}

// A server with the DeliveryService only, behind the same logging
// interceptor that maps errors to codes in the real server.
beforeEach(async () => {
  harness = createEventHarness({ retrySchedule: [2] });
  const handler = connectNodeAdapter({
    routes: (router) => router.service(DeliveryService, harness.outbox.service),
    interceptors: [loggingInterceptor(harness.logger)],
  });
  server = createServer(handler);
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve()),
  );
  const { port } = server.address() as AddressInfo;
  client = createClient(
    DeliveryService,
    createConnectTransport({
      baseUrl: `http://127.0.0.1:${port}`,
      httpVersion: "1.1",
    }),
  );
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await harness.close();
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

describe("RedeliverDelivery", () => {
  it("delivers an exhausted delivery once the target recovers", async () => {
    const target = await stub();
    target.respondWith({ status: 500 });
    const { id: targetId } = harness.addTarget(target.url);
    harness.setExecution("event/user.human.added", [targetId]);
    const { deliveryId = "" } = harness.emit();
    harness.outbox.dispatcher.start();
    await harness.waitForState(deliveryId, ["exhausted"]);
    target.respondWith({ status: 200 });

    await client.redeliverDelivery({ id: deliveryId });
    await harness.waitForState(deliveryId, ["delivered"]);
    const { delivery, attempts } = await client.getDelivery({
      id: deliveryId,
    });

    expect(delivery?.state).toBe(DeliveryState.DELIVERED);
    expect(delivery?.attemptCount).toBe(3);
    expect(delivery?.deliveryDate).toBeDefined();
    expect(delivery?.nextAttemptDate).toBeUndefined();
    expect(delivery?.targets.map((t) => [t.targetId, t.state])).toEqual([
      [targetId, DeliveryTargetState.DELIVERED],
    ]);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(attempts.map((a) => a.result)).toEqual([
      AttemptResult.HTTP_STATUS,
      AttemptResult.HTTP_STATUS,
      AttemptResult.SUCCEEDED,
    ]);
    expect(attempts.map((a) => a.httpStatus)).toEqual([500, 500, 0]);
    expect(attempts[0]?.errorMessage).toContain("responded with HTTP 500");
    expect(attempts[2]?.errorMessage).toBe("");
    expect(attempts.every((a) => a.latency !== undefined)).toBe(true);
    expect(attempts.every((a) => a.targetId === targetId)).toBe(true);
    const webhookIds = new Set(
      target.requests.map((r) => r.headers["webhook-id"]),
    );
    expect([...webhookIds]).toEqual([deliveryId]);
  });

  it("sends a delivered delivery to every target again", async () => {
    const first = await stub();
    const second = await stub();
    const a = harness.addTarget(first.url);
    const b = harness.addTarget(second.url);
    harness.setExecution("event/user.human.added", [a.id, b.id]);
    const { deliveryId = "" } = harness.emit();
    harness.outbox.dispatcher.start();
    await harness.waitForState(deliveryId, ["delivered"]);

    await client.redeliverDelivery({ id: deliveryId });
    await harness.outbox.dispatcher.whenIdle();

    expect(first.requests).toHaveLength(2);
    expect(second.requests).toHaveLength(2);
    expect(harness.outbox.log.get(deliveryId)?.state).toBe("delivered");
  });

  it("rejects a pending delivery with FailedPrecondition", async () => {
    const target = await stub();
    harness.setExecution("event", [harness.addTarget(target.url).id]);
    const { deliveryId = "" } = harness.emit();

    const error = await rpcError(client.redeliverDelivery({ id: deliveryId }));

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.message).toContain("is pending");
    expect(error.details[0]?.id).toBe("DELIVERY-7c1rk");
  });

  it("rejects an unknown id with NotFound", async () => {
    const error = await rpcError(client.redeliverDelivery({ id: "123" }));

    expect(error.code).toBe(Code.NotFound);
    expect(error.details[0]?.id).toBe("DELIVERY-4n8qz");
  });

  it("rejects an empty id with InvalidArgument", async () => {
    const error = await rpcError(client.redeliverDelivery({ id: "" }));

    expect(error.code).toBe(Code.InvalidArgument);
  });
});

describe("RedeliverExhausted", () => {
  it("redelivers the target's exhausted deliveries only", async () => {
    const recovering = await stub();
    const broken = await stub();
    recovering.respondWith({ status: 503 });
    broken.respondWith({ status: 503 });
    const a = harness.addTarget(recovering.url);
    const b = harness.addTarget(broken.url);
    harness.setExecution("event/user.human.added", [a.id]);
    harness.setExecution("event/user.locked", [b.id]);
    const ofA = [harness.emit(), harness.emit()].map((r) => r.deliveryId);
    const ofB = harness.emit({ eventType: "user.locked" }).deliveryId ?? "";
    harness.outbox.dispatcher.start();
    await harness.outbox.dispatcher.whenIdle();
    recovering.respondWith({ status: 200 });

    const response = await client.redeliverExhausted({ targetId: a.id });
    await harness.outbox.dispatcher.whenIdle();

    expect(response.redeliveredCount).toBe(2n);
    for (const id of ofA) {
      expect(harness.outbox.log.get(id ?? "")?.state).toBe("delivered");
    }
    expect(harness.outbox.log.get(ofB)?.state).toBe("exhausted");
  });

  it("returns 0 when nothing is exhausted", async () => {
    const response = await client.redeliverExhausted({ targetId: "404" });

    expect(response.redeliveredCount).toBe(0n);
  });

  it("rejects an empty target id with InvalidArgument", async () => {
    const error = await rpcError(client.redeliverExhausted({ targetId: "" }));

    expect(error.code).toBe(Code.InvalidArgument);
  });
});

describe("GetDelivery", () => {
  it("returns the event as emitted", async () => {
    const target = await stub();
    const { id } = harness.addTarget(target.url);
    harness.setExecution("event", [id]);
    const payload = { username: "alice", roles: ["admin"], age: 42 };
    const { deliveryId = "" } = harness.emit({ aggregateId: "u-9", payload });

    const { delivery } = await client.getDelivery({ id: deliveryId });

    expect(delivery?.id).toBe(deliveryId);
    expect(delivery?.state).toBe(DeliveryState.PENDING);
    expect(delivery?.nextAttemptDate).toBeDefined();
    expect(delivery?.event?.aggregateId).toBe("u-9");
    expect(delivery?.event?.aggregateType).toBe("user");
    expect(delivery?.event?.sequence).toBe(1n);
    expect(delivery?.event?.eventType).toBe("user.human.added");
    expect(delivery?.event?.resourceOwner).toBe("org-1");
    expect(delivery?.event?.creator).toBe("admin-1");
    expect(delivery?.event?.instanceId).toBe("instance-1");
    expect(delivery?.event?.payload).toEqual(payload);
  });

  it("rejects an unknown id with NotFound", async () => {
    const error = await rpcError(client.getDelivery({ id: "123" }));

    expect(error.code).toBe(Code.NotFound);
    expect(error.message).toBe(
      'Delivery not found: no delivery has the id "123" (DELIVERY-4n8qz)',
    );
  });
});

describe("ListDeliveries", () => {
  async function emitSpaced(count: number, eventType = "user.human.added") {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      ids.push(harness.emit({ eventType }).deliveryId ?? "");
      // Distinct creation milliseconds, so date filters can split them.
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    return ids;
  }

  it("pages newest first by default", async () => {
    const target = await stub();
    harness.setExecution("event", [harness.addTarget(target.url).id]);
    const ids = await emitSpaced(5);

    const page = await client.listDeliveries({
      pagination: { offset: 1n, limit: 2 },
    });
    const ascending = await client.listDeliveries({
      pagination: { limit: 2, asc: true },
    });

    expect(page.pagination?.totalResult).toBe(5n);
    expect(page.pagination?.appliedLimit).toBe(2n);
    expect(page.deliveries.map((d) => d.id)).toEqual([ids[3], ids[2]]);
    expect(ascending.deliveries.map((d) => d.id)).toEqual([ids[0], ids[1]]);
  });

  it("filters by state, target, event type and date range", async () => {
    const good = await stub();
    const bad = await stub();
    bad.respondWith({ status: 500 });
    const a = harness.addTarget(good.url);
    const b = harness.addTarget(bad.url);
    harness.setExecution("event/user.human.added", [a.id]);
    harness.setExecution("event/user.locked", [a.id, b.id]);
    const added = await emitSpaced(3);
    const locked = await emitSpaced(2, "user.locked");
    harness.outbox.dispatcher.start();
    await harness.outbox.dispatcher.whenIdle();
    const created = (id: string | undefined) =>
      harness.outbox.log.get(id ?? "")?.creationDate ?? 0;

    const list = async (filters: Filters) =>
      (
        await client.listDeliveries({ filters, pagination: { asc: true } })
      ).deliveries.map((d) => d.id);

    expect(
      await list([
        {
          filter: {
            case: "stateFilter",
            value: { state: DeliveryState.EXHAUSTED },
          },
        },
      ]),
    ).toEqual(locked);
    expect(
      await list([{ filter: { case: "targetIdFilter", value: { id: a.id } } }]),
    ).toEqual([...added, ...locked]);
    expect(
      await list([
        { filter: { case: "targetIdFilter", value: { id: b.id } } },
        {
          filter: {
            case: "stateFilter",
            value: { state: DeliveryState.DELIVERED },
          },
        },
      ]),
    ).toEqual([]);
    expect(
      await list([
        {
          filter: {
            case: "eventTypeFilter",
            value: { eventType: "user.human.added" },
          },
        },
      ]),
    ).toEqual(added);
    expect(
      await list([
        {
          filter: {
            case: "creationDateFilter",
            value: {
              timestamp: timestampFromMs(created(added[1])),
              method: TimestampFilterMethod.AFTER_OR_EQUALS,
            },
          },
        },
        {
          filter: {
            case: "creationDateFilter",
            value: {
              timestamp: timestampFromMs(created(locked[0])),
              method: TimestampFilterMethod.BEFORE,
            },
          },
        },
      ]),
    ).toEqual([added[1], added[2]]);
  });

  const invalidFilters: [string, Filters][] = [
    ["a filter without a case", [{ filter: { case: undefined } }]],
    [
      "an unspecified state",
      [
        {
          filter: {
            case: "stateFilter",
            value: { state: DeliveryState.UNSPECIFIED },
          },
        },
      ],
    ],
    [
      "an empty target id",
      [{ filter: { case: "targetIdFilter", value: { id: "" } } }],
    ],
    [
      "an empty event type",
      [{ filter: { case: "eventTypeFilter", value: { eventType: "" } } }],
    ],
    [
      "a date filter without a timestamp",
      [{ filter: { case: "creationDateFilter", value: {} } }],
    ],
  ];

  it.each(invalidFilters)(
    "rejects %s with InvalidArgument",
    async (_name, filters) => {
      const error = await rpcError(client.listDeliveries({ filters }));

      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.details[0]?.id).toBe("DELIVERY-9f3tb");
    },
  );

  it("rejects a limit over 1000 with InvalidArgument", async () => {
    const error = await rpcError(
      client.listDeliveries({ pagination: { limit: 1001 } }),
    );

    expect(error.code).toBe(Code.InvalidArgument);
  });
});

describe("deliveryServicePermissions", () => {
  it("maps reads and redeliveries", () => {
    expect(deliveryServicePermissions).toEqual({
      "/actions.v1.DeliveryService/ListDeliveries": "action.execution.read",
      "/actions.v1.DeliveryService/GetDelivery": "action.execution.read",
      "/actions.v1.DeliveryService/RedeliverDelivery": "action.execution.write",
      "/actions.v1.DeliveryService/RedeliverExhausted":
        "action.execution.write",
    });
  });
});

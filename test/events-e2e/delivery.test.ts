import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  AttemptResult,
  DeliveryState,
  DeliveryTargetState,
} from "../../gen/actions/v1/delivery_service_pb.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import {
  createTarget,
  deliveryIdsOfTarget,
  E2E_RETRY_SCHEDULE,
  type E2eServer,
  humanUser,
  setEventExecution,
  startE2eServer,
  waitForDelivery,
} from "./e2e-server.js";

// Deliveries through the real server: the sample's AddHumanUser emits
// user.human.added, the dispatcher calls the target with the real target
// caller, and the test reads the outcome through the DeliveryService.

let server: E2eServer;
let target: StubTarget;

beforeEach(async () => {
  server = await startE2eServer();
  target = await startStubTarget();
});

afterEach(async () => {
  await target.close();
  await server.test.stop();
});

async function addUserWithWebhook(): Promise<{
  targetId: string;
  userId: string;
}> {
  const targetId = await createTarget(server.actions, `${target.url}/hook`);
  await setEventExecution(server.actions, { event: "user.human.added" }, [
    targetId,
  ]);
  const { userId } = await server.users.addHumanUser(humanUser());
  return { targetId, userId };
}

describe("event delivery end to end", () => {
  it("retries 503 twice and delivers with one webhook-id", async () => {
    target.reply({ status: 503 }, { status: 503 });
    const { targetId } = await addUserWithWebhook();
    const [deliveryId = ""] = await deliveryIdsOfTarget(
      server.deliveries,
      targetId,
    );

    const { delivery, attempts } = await waitForDelivery(
      server.deliveries,
      deliveryId,
      [DeliveryState.DELIVERED],
    );

    expect(target.requests).toHaveLength(3);
    expect(target.requests.map((r) => r.headers["webhook-id"])).toEqual([
      deliveryId,
      deliveryId,
      deliveryId,
    ]);
    expect(delivery?.attemptCount).toBe(3);
    expect(delivery?.deliveryDate).toBeDefined();
    expect(delivery?.targets.map((t) => t.state)).toEqual([
      DeliveryTargetState.DELIVERED,
    ]);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(attempts.map((a) => a.targetId)).toEqual([
      targetId,
      targetId,
      targetId,
    ]);
    expect(attempts.map((a) => a.result)).toEqual([
      AttemptResult.HTTP_STATUS,
      AttemptResult.HTTP_STATUS,
      AttemptResult.SUCCEEDED,
    ]);
    expect(attempts.map((a) => a.httpStatus)).toEqual([503, 503, 0]);
  });

  it("exhausts a dead target, then redelivers after recovery", async () => {
    target.respondWith({ status: 500 });
    const { targetId } = await addUserWithWebhook();
    await server.users.addHumanUser(humanUser());
    const [first = "", second = ""] = await deliveryIdsOfTarget(
      server.deliveries,
      targetId,
    );
    const attemptsPerRun = E2E_RETRY_SCHEDULE.length + 1;

    for (const id of [first, second]) {
      const exhausted = await waitForDelivery(server.deliveries, id, [
        DeliveryState.EXHAUSTED,
      ]);
      expect(exhausted.delivery?.attemptCount).toBe(attemptsPerRun);
      expect(exhausted.delivery?.targets[0]?.state).toBe(
        DeliveryTargetState.PENDING,
      );
    }
    expect(target.requests).toHaveLength(2 * attemptsPerRun);

    target.respondWith({ status: 200 });
    await server.deliveries.redeliverDelivery({ id: first });
    const redelivered = await waitForDelivery(server.deliveries, first, [
      DeliveryState.DELIVERED,
    ]);
    expect(redelivered.delivery?.attemptCount).toBe(attemptsPerRun + 1);
    expect(redelivered.attempts.at(-1)?.result).toBe(AttemptResult.SUCCEEDED);
    const secondBefore = await server.deliveries.getDelivery({ id: second });
    expect(secondBefore.delivery?.state).toBe(DeliveryState.EXHAUSTED);

    const bulk = await server.deliveries.redeliverExhausted({ targetId });
    expect(bulk.redeliveredCount).toBe(1n);
    const bulkDelivered = await waitForDelivery(server.deliveries, second, [
      DeliveryState.DELIVERED,
    ]);
    expect(bulkDelivered.delivery?.attemptCount).toBe(attemptsPerRun + 1);

    const lastTwo = target.requests.slice(-2);
    expect(lastTwo.map((r) => r.headers["webhook-id"]).sort()).toEqual(
      [first, second].sort(),
    );
  });

  it("waits for Retry-After before the next attempt", async () => {
    target.reply({ status: 503, headers: { "retry-after": "1" } });
    const { targetId } = await addUserWithWebhook();
    const [deliveryId = ""] = await deliveryIdsOfTarget(
      server.deliveries,
      targetId,
    );

    const { attempts } = await waitForDelivery(server.deliveries, deliveryId, [
      DeliveryState.DELIVERED,
    ]);

    expect(attempts).toHaveLength(2);
    const [first, second] = attempts;
    expect(first?.httpStatus).toBe(503);
    expect(second?.result).toBe(AttemptResult.SUCCEEDED);
    const firstDate = first?.attemptDate ? timestampMs(first.attemptDate) : 0;
    const secondDate = second?.attemptDate
      ? timestampMs(second.attemptDate)
      : 0;
    // The schedule allows a retry after 5 ms; only Retry-After explains
    // a gap of a second.
    expect(secondDate - firstDate).toBeGreaterThanOrEqual(1000);
  });
});

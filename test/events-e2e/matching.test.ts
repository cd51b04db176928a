import { DeliveryState } from "../../gen/actions/v1/delivery_service_pb.js";
import { Gender } from "../../gen/zitadel/user/v2/user_pb.js";
import type { RecordedRequest } from "../support/stub-target.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import {
  createTarget,
  E2E_INSTANCE_ID,
  type E2eServer,
  type EventCondition,
  humanUser,
  setEventExecution,
  startE2eServer,
  waitForDelivery,
} from "./e2e-server.js";

// Which execution receives an event, and what the target receives. One
// stub serves every target; the path of a request names its target.

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

type Body = Record<string, unknown>;

const bodyOf = (request: RecordedRequest) => request.json as Body;

// Waits until every delivery in the log is delivered, then returns the
// requests the stub received by event type.
async function deliveredRequests(): Promise<Map<string, RecordedRequest[]>> {
  const listed = await server.deliveries.listDeliveries({});
  for (const delivery of listed.deliveries) {
    await waitForDelivery(server.deliveries, delivery.id, [
      DeliveryState.DELIVERED,
    ]);
  }
  const byType = new Map<string, RecordedRequest[]>();
  for (const request of target.requests) {
    const type = String(bodyOf(request).event_type);
    byType.set(type, [...(byType.get(type) ?? []), request]);
  }
  return byType;
}

const executions: Record<string, EventCondition> = {
  exact: { event: "user.human.added" },
  human: { group: "user.human" },
  user: { group: "user" },
  all: { all: true },
};

describe("event execution matching", () => {
  it.each<[string, string[], string, string]>([
    [
      "exact event",
      ["exact", "human", "user", "all"],
      "user.human.added",
      "/exact",
    ],
    [
      "group user.human",
      ["human", "user", "all"],
      "user.human.added",
      "/human",
    ],
    ["group user", ["user", "all"], "user.human.added", "/user"],
    ["all", ["all"], "user.human.added", "/all"],
    [
      "group user, user.locked",
      ["human", "user", "all"],
      "user.locked",
      "/user",
    ],
    ["all, user.locked", ["human", "all"], "user.locked", "/all"],
  ])("routes by %s", async (_name, configured, eventType, expectedPath) => {
    for (const name of configured) {
      const id = await createTarget(server.actions, `${target.url}/${name}`);
      await setEventExecution(server.actions, executions[name], [id]);
    }

    const { userId } = await server.users.addHumanUser(humanUser());
    await server.users.lockUser({ userId });
    const byType = await deliveredRequests();

    const received = byType.get(eventType) ?? [];
    expect(received.map((request) => request.path)).toEqual([expectedPath]);
  });

  it("sends ZITADEL's payload with the caller as userID", async () => {
    const id = await createTarget(server.actions, target.url);
    await setEventExecution(server.actions, { all: true }, [id]);
    const request = humanUser({ orgId: "org-e2e" });

    const before = Date.now();
    const { userId } = await server.users.addHumanUser({
      ...request,
      profile: {
        givenName: "Grace",
        familyName: "Hopper",
        nickName: "amazing",
        preferredLanguage: "en",
        gender: Gender.FEMALE,
      },
      phone: { phone: "+41 79 000 00 00" },
      metadata: [{ key: "team", value: new TextEncoder().encode("navy") }],
    });
    const byType = await deliveredRequests();

    const [added] = byType.get("user.human.added") ?? [];
    const body = added === undefined ? {} : bodyOf(added);
    expect(Object.keys(body)).toEqual([
      "aggregateID",
      "aggregateType",
      "resourceOwner",
      "instanceID",
      "version",
      "sequence",
      "event_type",
      "created_at",
      "userID",
      "event_payload",
    ]);
    expect(body.aggregateID).toBe(userId);
    expect(body.aggregateType).toBe("user");
    expect(body.resourceOwner).toBe("org-e2e");
    expect(body.instanceID).toBe(E2E_INSTANCE_ID);
    expect(body.version).toBe("v2");
    expect(body.sequence).toBe(1);
    expect(body.event_type).toBe("user.human.added");
    expect(body.userID).toBe("test-admin");
    expect(Date.parse(String(body.created_at))).toBeGreaterThanOrEqual(before);
    expect(body.event_payload).toEqual({
      userName: request.username,
      firstName: "Grace",
      lastName: "Hopper",
      nickName: "amazing",
      displayName: "Grace Hopper",
      preferredLanguage: "en",
      gender: Gender.FEMALE,
      email: request.email.email,
      phone: "+41 79 000 00 00",
    });

    const [metadataSet] = byType.get("user.metadata.set") ?? [];
    const metadataBody = metadataSet === undefined ? {} : bodyOf(metadataSet);
    expect(metadataBody.sequence).toBe(2);
    expect(metadataBody.userID).toBe("test-admin");
    expect(metadataBody.event_payload).toEqual({
      key: "team",
      value: Buffer.from("navy").toString("base64"),
    });
  });

  it("emits one event per write with increasing sequences", async () => {
    const id = await createTarget(server.actions, target.url);
    await setEventExecution(server.actions, { group: "user" }, [id]);
    const value = new TextEncoder().encode("v");

    const { userId } = await server.users.addHumanUser(humanUser());
    await server.users.lockUser({ userId });
    await server.users.unlockUser({ userId });
    await server.users.setUserMetadata({
      userId,
      metadata: [
        { key: "a", value },
        { key: "b", value },
      ],
    });
    await server.users.deleteUserMetadata({ userId, keys: ["a", "b"] });
    await server.users.deleteUser({ userId });
    await deliveredRequests();

    const events = target.requests
      .map(bodyOf)
      .sort((a, b) => Number(a.sequence) - Number(b.sequence));
    expect(events.map((e) => [e.sequence, e.event_type])).toEqual([
      [1, "user.human.added"],
      [2, "user.locked"],
      [3, "user.unlocked"],
      [4, "user.metadata.set"],
      [5, "user.metadata.set"],
      [6, "user.metadata.removed"],
      [7, "user.metadata.removed"],
      [8, "user.removed"],
    ]);
    expect(events.map((e) => e.event_payload)).toEqual([
      expect.objectContaining({ userName: expect.any(String) }),
      {},
      {},
      { key: "a", value: "dg==" },
      { key: "b", value: "dg==" },
      { key: "a" },
      { key: "b" },
      {},
    ]);
    for (const event of events) {
      expect(event.aggregateID).toBe(userId);
      expect(event.resourceOwner).toBe("default");
      expect(event.userID).toBe("test-admin");
    }
  });
});

import { type JsonObject, toJson } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  AttemptResult,
  DeliveryState,
} from "../../gen/actions/v1/delivery_service_pb.js";
import { UserState } from "../../gen/zitadel/user/v2/user_pb.js";
import {
  type AddHumanUserResponse,
  AddHumanUserResponseSchema,
} from "../../gen/zitadel/user/v2/user_service_pb.js";
import { rpcError } from "../support/rpc-error.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import {
  createTarget,
  deliveryIdsOfTarget,
  type E2eServer,
  humanUser,
  setEventExecution,
  startE2eServer,
  waitForDelivery,
} from "./e2e-server.js";

// Events are delivered after the RPC commits, so a target can neither
// change nor fail the RPC, and a write that rolls back emits nothing.

let server: E2eServer;
const stubs: StubTarget[] = [];

beforeEach(async () => {
  server = await startE2eServer();
});

afterEach(async () => {
  await Promise.all(stubs.splice(0).map((stub) => stub.close()));
  await server.test.stop();
});

async function stub(): Promise<StubTarget> {
  const started = await startStubTarget();
  stubs.push(started);
  return started;
}

// The URL of a stub that was closed again, so nothing listens on its port.
async function deadEndpoint(): Promise<string> {
  const closed = await startStubTarget();
  await closed.close();
  return `${closed.url}/hook`;
}

// The response as JSON with the values that differ between users
// replaced by their type.
function responseShape(response: AddHumanUserResponse): JsonObject {
  const json = toJson(AddHumanUserResponseSchema, response) as JsonObject;
  const details = json.details as JsonObject;
  return {
    ...json,
    userId: typeof json.userId,
    details: {
      ...details,
      creationDate: typeof details.creationDate,
      changeDate: typeof details.changeDate,
    },
  };
}

describe("RPCs with event executions", () => {
  it("returns the same result while the target is down", async () => {
    const baseline = await server.users.addHumanUser(
      humanUser({ orgId: "org-1" }),
    );
    const targetId = await createTarget(server.actions, await deadEndpoint(), {
      interruptOnError: true,
    });
    await setEventExecution(server.actions, { all: true }, [targetId]);

    const added = await server.users.addHumanUser(
      humanUser({ orgId: "org-1" }),
    );
    const locked = await server.users.lockUser({ userId: added.userId });

    expect(responseShape(added)).toEqual(responseShape(baseline));
    expect(added.details?.sequence).toBe(1n);
    expect(added.details?.resourceOwner).toBe("org-1");
    expect(locked.details?.sequence).toBe(2n);
    const stored = await server.users.getUserByID({ userId: added.userId });
    expect(stored.user?.userId).toBe(added.userId);
    expect(stored.user?.state).toBe(UserState.LOCKED);

    const deliveryIds = await deliveryIdsOfTarget(server.deliveries, targetId);
    expect(deliveryIds).toHaveLength(2);
    const { attempts } = await waitForDelivery(
      server.deliveries,
      deliveryIds[0] ?? "",
      [DeliveryState.EXHAUSTED],
    );
    expect(attempts[0]?.result).toBe(AttemptResult.TRANSPORT_ERROR);
  });

  it("emits nothing for writes that fail", async () => {
    const target = await stub();
    const targetId = await createTarget(server.actions, target.url);
    await setEventExecution(server.actions, { all: true }, [targetId]);
    const first = humanUser({ userId: "e2e-rollback-1" });
    const metadata = [{ key: "k", value: new TextEncoder().encode("v") }];
    await server.users.addHumanUser(first);

    const sameId = await rpcError(
      server.users.addHumanUser({
        ...humanUser({ userId: first.userId }),
        metadata,
      }),
    );
    const sameUsername = await rpcError(
      server.users.addHumanUser({
        ...humanUser(),
        username: first.username,
        metadata,
      }),
    );
    await server.users.lockUser({ userId: "e2e-rollback-1" });
    const lockedTwice = await rpcError(
      server.users.lockUser({ userId: "e2e-rollback-1" }),
    );
    const missingKey = await rpcError(
      server.users.deleteUserMetadata({
        userId: "e2e-rollback-1",
        keys: ["absent"],
      }),
    );
    await server.users.unlockUser({ userId: "e2e-rollback-1" });

    expect(sameId.code).toBe(Code.AlreadyExists);
    expect(sameUsername.code).toBe(Code.AlreadyExists);
    expect(lockedTwice.code).toBe(Code.FailedPrecondition);
    expect(missingKey.code).toBe(Code.NotFound);
    const deliveryIds = await deliveryIdsOfTarget(server.deliveries, targetId);
    expect(deliveryIds).toHaveLength(3);
    for (const id of deliveryIds) {
      await waitForDelivery(server.deliveries, id, [DeliveryState.DELIVERED]);
    }
    const events = target.requests
      .map((request) => request.json as JsonObject)
      .sort((a, b) => Number(a.sequence) - Number(b.sequence));
    expect(events.map((e) => [e.sequence, e.event_type])).toEqual([
      [1, "user.human.added"],
      [2, "user.locked"],
      [3, "user.unlocked"],
    ]);
  });
});

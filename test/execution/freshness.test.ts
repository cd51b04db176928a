import { Code } from "@connectrpc/connect";
import { ActionService as ActionServiceV2beta } from "../../gen/zitadel/action/v2beta/action_service_pb.js";
import { clientFor } from "../support/clients.js";
import { rpcError } from "../support/rpc-error.js";
import {
  addHumanUser,
  deleteUser,
  deleteUserError,
  type Engine,
  methodCondition,
  serviceCondition,
  startEngine,
  userService,
} from "./engine-fixture.js";

// Writes through the ActionService take effect on the very next RPC, with
// no cache to wait for.

let engine: Engine;

beforeAll(async () => {
  engine = await startEngine();
});

afterEach(async () => {
  await engine.reset();
});

afterAll(async () => {
  await engine.stop();
});

describe("freshness", () => {
  it("new target and execution fire at once", async () => {
    const stub = await engine.stub();
    const target = await engine.createTarget({
      kind: "webhook",
      endpoint: stub.url,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      target.id,
    ]);

    await engine.users().addHumanUser({ username: "ada" });

    expect(stub.requests).toHaveLength(1);
  });

  it("v2beta writes fire at once", async () => {
    const beta = clientFor(
      ActionServiceV2beta,
      "connect-json-h1",
      engine.server.baseUrl,
    );
    const stub = await engine.stub();
    const target = await beta.createTarget({
      name: "v2beta target",
      targetType: { case: "restWebhook", value: { interruptOnError: true } },
      timeout: { seconds: 5n },
      endpoint: stub.url,
    });
    await beta.setExecution({
      condition: {
        conditionType: {
          case: "request",
          value: { condition: { case: "service", value: userService } },
        },
      },
      targets: [target.id],
    });

    await engine.users().addHumanUser({ username: "ada" });
    await beta.setExecution({
      condition: {
        conditionType: {
          case: "request",
          value: { condition: { case: "service", value: userService } },
        },
      },
      targets: [],
    });
    await engine.users().addHumanUser({ username: "bob" });

    expect(stub.requests).toHaveLength(1);
  });

  it("endpoint update applies to the next call", async () => {
    const before = await engine.stub();
    const after = await engine.stub();
    const target = await engine.createTarget({
      kind: "webhook",
      endpoint: before.url,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      target.id,
    ]);
    await engine.users().addHumanUser({ username: "ada" });

    await engine.actions.updateTarget({ id: target.id, endpoint: after.url });
    await engine.users().addHumanUser({ username: "bob" });

    expect(before.requests).toHaveLength(1);
    expect(after.requests).toHaveLength(1);
  });

  it("type update applies to the next call", async () => {
    const stub = await engine.stub({ respondWith: { status: 500 } });
    const target = await engine.createTarget({
      kind: "webhook",
      endpoint: stub.url,
      interrupt: false,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      target.id,
    ]);
    await engine.users().addHumanUser({ username: "ada" });

    await engine.actions.updateTarget({
      id: target.id,
      targetType: { case: "restWebhook", value: { interruptOnError: true } },
    });
    const error = await rpcError(
      engine.users().addHumanUser({ username: "bob" }),
    );

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(stub.requests).toHaveLength(2);
  });

  it("empty target list stops calls at once", async () => {
    const stub = await engine.stub();
    const target = await engine.createTarget({
      kind: "webhook",
      endpoint: stub.url,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      target.id,
    ]);
    await engine.users().addHumanUser({ username: "ada" });

    await engine.setExecution(methodCondition("request", addHumanUser), []);
    await engine.users().addHumanUser({ username: "bob" });

    expect(stub.requests).toHaveLength(1);
  });

  it("deleted target stops calls at once", async () => {
    const stub = await engine.stub();
    const deleted = await engine.createTarget({
      kind: "webhook",
      endpoint: `${stub.url}/deleted`,
    });
    const kept = await engine.createTarget({
      kind: "webhook",
      endpoint: `${stub.url}/kept`,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      deleted.id,
      kept.id,
    ]);
    await engine.users().addHumanUser({ username: "ada" });

    await engine.actions.deleteTarget({ id: deleted.id });
    await engine.users().addHumanUser({ username: "bob" });

    expect(stub.requests.map((request) => request.path)).toEqual([
      "/deleted",
      "/kept",
      "/kept",
    ]);
  });

  it("narrower execution takes over at once", async () => {
    const service = await engine.stub();
    const method = await engine.stub();
    const serviceTarget = await engine.createTarget({
      kind: "webhook",
      endpoint: service.url,
    });
    const methodTarget = await engine.createTarget({
      kind: "webhook",
      endpoint: method.url,
    });
    await engine.setExecution(serviceCondition("request", userService), [
      serviceTarget.id,
    ]);
    await engine.users().addHumanUser({ username: "ada" });

    await engine.setExecution(methodCondition("request", addHumanUser), [
      methodTarget.id,
    ]);
    await engine.users().addHumanUser({ username: "bob" });

    expect(service.requests).toHaveLength(1);
    expect(method.requests).toHaveLength(1);
  });

  it("mid-call execution waits for the next call", async () => {
    const responseStub = await engine.stub();
    const responseTarget = await engine.createTarget({
      kind: "webhook",
      endpoint: responseStub.url,
    });
    // The request target sets the response execution while the call that
    // triggered it is in flight.
    const requestStub = await engine.stub({
      respondWith: async () => {
        await engine.setExecution(methodCondition("response", addHumanUser), [
          responseTarget.id,
        ]);
        return { status: 200 };
      },
    });
    const requestTarget = await engine.createTarget({
      kind: "webhook",
      endpoint: requestStub.url,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      requestTarget.id,
    ]);

    await engine.users().addHumanUser({ username: "ada" });
    const afterFirst = responseStub.requests.length;
    await engine.users().addHumanUser({ username: "bob" });

    expect(afterFirst).toBe(0);
    expect(responseStub.requests).toHaveLength(1);
  });
});

describe("handler failure", () => {
  it("skips response targets", async () => {
    const requestStub = await engine.stub();
    const responseStub = await engine.stub();
    const requestTarget = await engine.createTarget({
      kind: "webhook",
      endpoint: requestStub.url,
      interrupt: true,
    });
    const responseTargets = [
      await engine.createTarget({
        kind: "webhook",
        endpoint: responseStub.url,
        interrupt: true,
      }),
      await engine.createTarget({ kind: "call", endpoint: responseStub.url }),
      await engine.createTarget({ kind: "async", endpoint: responseStub.url }),
    ];
    await engine.setExecution(methodCondition("request", deleteUser), [
      requestTarget.id,
    ]);
    await engine.setExecution(
      methodCondition("response", deleteUser),
      responseTargets.map((target) => target.id),
    );

    const error = await rpcError(engine.users().deleteUser({ userId: "u1" }));
    await engine.drainAsync();

    expect(error.code).toBe(Code.NotFound);
    expect(error.message).toBe(deleteUserError);
    expect(engine.handled).toHaveLength(1);
    expect(requestStub.requests).toHaveLength(1);
    expect(responseStub.requests).toHaveLength(0);
  });

  it("handler sees the rewritten request", async () => {
    const stub = await engine.stub({
      respondWith: { json: { userId: "rewritten" } },
    });
    const target = await engine.createTarget({
      kind: "call",
      endpoint: stub.url,
    });
    await engine.setExecution(methodCondition("request", deleteUser), [
      target.id,
    ]);

    const error = await rpcError(
      engine.users("grpc").deleteUser({ userId: "u1" }),
    );

    expect(error.code).toBe(Code.NotFound);
    expect(engine.handled[0]?.request).toMatchObject({ userId: "rewritten" });
  });
});

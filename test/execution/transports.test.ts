import { Code } from "@connectrpc/connect";
import { transportNames } from "../support/clients.js";
import { rpcError } from "../support/rpc-error.js";
import type { StubReply } from "../support/stub-target.js";
import {
  addHumanUser,
  deleteUser,
  deleteUserError,
  type Engine,
  executionFailed,
  methodCondition,
  type Phase,
  startEngine,
  type TargetKind,
} from "./engine-fixture.js";

// The interceptor behaves the same whichever protocol the client speaks:
// Connect JSON over HTTP/1.1, Connect binary over HTTP/2, gRPC, gRPC-web
// and grpc-js.

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

async function oneTarget(
  phase: Phase,
  kind: TargetKind,
  reply: StubReply,
  fullMethod = addHumanUser,
) {
  const stub = await engine.stub({ respondWith: reply });
  const target = await engine.createTarget({
    kind,
    endpoint: stub.url,
    interrupt: true,
  });
  await engine.setExecution(methodCondition(phase, fullMethod), [target.id]);
  return { stub, targetId: target.id };
}

describe.each(transportNames)("%s", (transport) => {
  it("request rewrite", async () => {
    await oneTarget("request", "call", { json: { username: "grace" } });

    const response = await engine.users(transport).addHumanUser({
      username: "ada",
    });

    expect(response.userId).toBe("id-grace");
    expect(engine.handled[0]?.request).toMatchObject({ username: "grace" });
  });

  it("response rewrite", async () => {
    await oneTarget("response", "call", { json: { userId: "replaced" } });

    const response = await engine.users(transport).addHumanUser({
      username: "ada",
    });

    expect(response.userId).toBe("replaced");
  });

  it("webhook, 500, interrupt", async () => {
    await oneTarget("request", "webhook", { status: 500 });

    const error = await rpcError(
      engine.users(transport).addHumanUser({ username: "ada" }),
    );

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.message).toBe(executionFailed);
    expect(error.details).toMatchObject([
      { id: "EXEC-dra6yamk98", message: "Execution failed" },
    ]);
  });

  it("forwarded 404", async () => {
    await oneTarget("response", "webhook", {
      json: { forwardedStatusCode: 404, forwardedErrorMessage: "msg" },
    });

    const error = await rpcError(
      engine.users(transport).addHumanUser({ username: "ada" }),
    );

    expect(error.code).toBe(Code.NotFound);
    expect(error.message).toBe("msg (EXEC-reUaUZCzCp)");
  });

  it("malformed reply, interrupt", async () => {
    await oneTarget("request", "call", { body: "not json" });

    const error = await rpcError(
      engine.users(transport).addHumanUser({ username: "ada" }),
    );

    expect(error.code).toBe(Code.Unknown);
  });

  it("handler error passes through", async () => {
    const { stub } = await oneTarget(
      "response",
      "webhook",
      { status: 200 },
      deleteUser,
    );

    const error = await rpcError(
      engine.users(transport).deleteUser({ userId: "u1" }),
    );

    expect(error.code).toBe(Code.NotFound);
    expect(error.message).toBe(deleteUserError);
    expect(stub.requests).toHaveLength(0);
  });
});

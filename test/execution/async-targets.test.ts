import { Code } from "@connectrpc/connect";
import { rpcError } from "../support/rpc-error.js";
import type { StubTarget } from "../support/stub-target.js";
import {
  addHumanUser,
  createGate,
  type Engine,
  type Gate,
  getUserByID,
  hideClosedStreamReports,
  methodCondition,
  type Phase,
  startEngine,
  waitForAbortUserId,
} from "./engine-fixture.js";

// Async targets run detached from the RPC. Each stub here delays its reply
// until the test opens a gate, so the order of events proves that the RPC
// did not wait, without any timing threshold.

let engine: Engine;
let restoreConsole: () => void;

beforeAll(async () => {
  restoreConsole = hideClosedStreamReports();
  engine = await startEngine();
});

afterEach(async () => {
  await engine.reset();
});

afterAll(async () => {
  await engine.stop();
  restoreConsole();
});

/** Sets an async target on `fullMethod` whose stub replies once `gate` opens. */
async function gatedAsyncTarget(
  phase: Phase,
  fullMethod: string,
  gate: Gate,
): Promise<{ stub: StubTarget; targetId: string }> {
  const stub = await engine.stub({
    respondWith: async () => {
      await gate.promise;
      return { status: 200 };
    },
  });
  const target = await engine.createTarget({
    kind: "async",
    endpoint: stub.url,
  });
  await engine.setExecution(methodCondition(phase, fullMethod), [target.id]);
  return { stub, targetId: target.id };
}

describe("async target", () => {
  it.each<Phase>(["request", "response"])(
    "%s, RPC returns before the target replies",
    async (phase) => {
      const gate = createGate();
      const { stub, targetId } = await gatedAsyncTarget(
        phase,
        addHumanUser,
        gate,
      );

      const response = await engine.users().addHumanUser({ username: "ada" });

      expect(response.userId).toBe("id-ada");
      expect(engine.server.server.runner.asyncInFlight).toBe(1);
      expect(await engine.targetCalls(targetId, "success")).toBe(0);

      gate.open();
      const [received] = await stub.waitForRequests(1);
      await engine.drainAsync();

      expect(received?.json).toMatchObject({ request: { username: "ada" } });
      expect(engine.server.server.runner.asyncInFlight).toBe(0);
      expect(await engine.targetCalls(targetId, "success")).toBe(1);
    },
  );

  it.each(["connect-json-h1", "connect-binary-h2"] as const)(
    "%s, client abort does not cancel it",
    async (transport) => {
      const gate = createGate();
      const { stub, targetId } = await gatedAsyncTarget(
        "request",
        getUserByID,
        gate,
      );
      const controller = new AbortController();
      const call = engine
        .users(transport)
        .getUserByID(
          { userId: waitForAbortUserId },
          { signal: controller.signal },
        );
      await stub.waitForRequests(1);
      controller.abort();
      const error = await rpcError(call);

      expect(error.code).toBe(Code.Canceled);
      expect(engine.server.server.runner.asyncInFlight).toBe(1);

      gate.open();
      await engine.drainAsync();

      expect(stub.requests).toHaveLength(1);
      expect(await engine.targetCalls(targetId, "success")).toBe(1);
      expect(await engine.targetCalls(targetId, "transport")).toBe(0);
    },
  );

  it("sync targets after it still run", async () => {
    const gate = createGate();
    const asyncStub = await engine.stub({
      respondWith: async () => {
        await gate.promise;
        return { status: 500 };
      },
    });
    const nextStub = await engine.stub();
    const asyncTarget = await engine.createTarget({
      kind: "async",
      endpoint: asyncStub.url,
    });
    const next = await engine.createTarget({
      kind: "webhook",
      endpoint: nextStub.url,
      interrupt: true,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      asyncTarget.id,
      next.id,
    ]);

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
    expect(nextStub.requests).toHaveLength(1);
    gate.open();
    await engine.drainAsync();
    expect(await engine.targetCalls(asyncTarget.id, "status")).toBe(1);
  });

  it("reply never rewrites the request", async () => {
    const stub = await engine.stub({
      respondWith: { json: { username: "grace" } },
    });
    const target = await engine.createTarget({
      kind: "async",
      endpoint: stub.url,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      target.id,
    ]);

    const response = await engine.users().addHumanUser({ username: "ada" });
    await engine.drainAsync();

    expect(response.userId).toBe("id-ada");
    expect(stub.requests).toHaveLength(1);
  });
});

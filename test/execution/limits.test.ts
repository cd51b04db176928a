import { Code } from "@connectrpc/connect";
import { rpcError } from "../support/rpc-error.js";
import {
  addHumanUser,
  createGate,
  type Engine,
  methodCondition,
  startEngine,
  type TargetKind,
} from "./engine-fixture.js";

// The server bounds calls in flight per target, async calls in flight in
// the process and the size of a target's reply. This server allows one
// call per target, one async call and replies of 64 bytes.

let engine: Engine;

beforeAll(async () => {
  engine = await startEngine({
    config: {
      maxConcurrentCallsPerTarget: 1,
      maxConcurrentAsyncCalls: 1,
      maxTargetResponseBytes: 64,
    },
  });
});

afterEach(async () => {
  await engine.reset();
});

afterAll(async () => {
  await engine.stop();
});

/** Sets one target whose stub delays every reply until the gate opens. */
async function gatedTarget(kind: TargetKind, interrupt: boolean) {
  const gate = createGate();
  const stub = await engine.stub({
    respondWith: async () => {
      await gate.promise;
      return { status: 200 };
    },
  });
  const target = await engine.createTarget({
    kind,
    endpoint: stub.url,
    interrupt,
  });
  await engine.setExecution(methodCondition("request", addHumanUser), [
    target.id,
  ]);
  return { gate, stub, targetId: target.id };
}

describe("calls in flight per target", () => {
  it("webhook, interrupt rejects the second call", async () => {
    const { gate, stub, targetId } = await gatedTarget("webhook", true);

    const first = engine.users().addHumanUser({ username: "a" });
    await stub.waitForRequests(1);
    const error = await rpcError(
      engine.users().addHumanUser({ username: "b" }),
    );
    gate.open();
    const response = await first;

    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.message).toBe(
      `Execution failed: target ${targetId} has too many calls in flight; retry later or raise ACTIONS_MAX_CONCURRENT_CALLS_PER_TARGET (EXEC-4kq9v)`,
    );
    expect(response.userId).toBe("id-a");
    expect(stub.requests).toHaveLength(1);
    expect(await engine.targetCalls(targetId, "overloaded")).toBe(1);
  });

  it("webhook, no interrupt lets the second call pass", async () => {
    const { gate, stub } = await gatedTarget("webhook", false);

    const first = engine.users().addHumanUser({ username: "a" });
    await stub.waitForRequests(1);
    const second = await engine.users().addHumanUser({ username: "b" });
    gate.open();
    await first;

    expect(second.userId).toBe("id-b");
    expect(stub.requests).toHaveLength(1);
  });
});

describe("async calls in flight", () => {
  it("async, call beyond the limit is dropped", async () => {
    const { gate, stub, targetId } = await gatedTarget("async", true);

    await engine.users().addHumanUser({ username: "a" });
    await stub.waitForRequests(1);
    const second = await engine.users().addHumanUser({ username: "b" });
    gate.open();
    await engine.drainAsync();

    expect(second.userId).toBe("id-b");
    expect(stub.requests).toHaveLength(1);
    expect(await engine.targetCalls(targetId, "success")).toBe(1);
    expect(await engine.targetCalls(targetId, "overloaded")).toBe(0);
  });
});

describe("reply size", () => {
  const largeReply = { json: { username: "x".repeat(100) } };

  it("call, interrupt fails on a large reply", async () => {
    const stub = await engine.stub({ respondWith: largeReply });
    const target = await engine.createTarget({
      kind: "call",
      endpoint: stub.url,
      interrupt: true,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      target.id,
    ]);

    const error = await rpcError(
      engine.users().addHumanUser({ username: "ada" }),
    );

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.message).toBe(
      `Execution failed: the answer of target ${target.id} is larger than ACTIONS_MAX_TARGET_RESPONSE allows (EXEC-8zq1m)`,
    );
    expect(engine.handled).toHaveLength(0);
  });

  it("call, no interrupt keeps the request", async () => {
    const stub = await engine.stub({ respondWith: largeReply });
    const target = await engine.createTarget({
      kind: "call",
      endpoint: stub.url,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      target.id,
    ]);

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
  });
});

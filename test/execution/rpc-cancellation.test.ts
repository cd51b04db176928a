import { Code } from "@connectrpc/connect";
import { rpcError } from "../support/rpc-error.js";
import {
  addHumanUser,
  createGate,
  type Engine,
  hideClosedStreamReports,
  methodCondition,
  startEngine,
  type TargetKind,
  waitFor,
} from "./engine-fixture.js";

// Webhook and call targets run within the RPC, so they stop when the
// client's deadline passes or the client aborts, as ZITADEL's calls do on
// the request context. The stubs delay their replies until the test ends,
// so only the RPC's end can stop the target call. Async targets outlive
// the RPC; async-targets.test.ts covers them.

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

async function heldTarget(kind: TargetKind, interrupt: boolean) {
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
    timeoutMs: 20_000,
  });
  const next = await engine.stub();
  const nextTarget = await engine.createTarget({
    kind: "webhook",
    endpoint: next.url,
  });
  await engine.setExecution(methodCondition("request", addHumanUser), [
    target.id,
    nextTarget.id,
  ]);
  return { gate, stub, next, targetId: target.id };
}

const cases = (["webhook", "call"] as const).flatMap((kind) =>
  [true, false].map((interrupt) => ({
    name: `${kind}, ${interrupt ? "interrupt" : "no interrupt"}`,
    kind,
    interrupt,
  })),
);

describe("RPC end stops target calls", () => {
  it.each(cases)("$name, client deadline", async ({ kind, interrupt }) => {
    const { gate, stub, next, targetId } = await heldTarget(kind, interrupt);

    const error = await rpcError(
      engine.users().addHumanUser({ username: "ada" }, { timeoutMs: 300 }),
    );
    // The server's deadline and the client closing the connection race,
    // so the stopped call counts as a timeout or as a transport failure.
    await waitFor("the stopped target call", async () => {
      const timedOut = await engine.targetCalls(targetId, "timeout");
      const aborted = await engine.targetCalls(targetId, "transport");
      return timedOut + aborted === 1;
    });
    gate.open();

    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(stub.requests).toHaveLength(1);
    expect(next.requests).toHaveLength(0);
    expect(engine.handled).toHaveLength(0);
  });

  it.each(cases)("$name, client abort", async ({ kind, interrupt }) => {
    const { gate, stub, next, targetId } = await heldTarget(kind, interrupt);
    const controller = new AbortController();

    const call = engine
      .users()
      .addHumanUser({ username: "ada" }, { signal: controller.signal });
    await stub.waitForRequests(1);
    controller.abort();
    const error = await rpcError(call);
    await waitFor("the aborted target call", async () => {
      return (await engine.targetCalls(targetId, "transport")) === 1;
    });
    gate.open();

    expect(error.code).toBe(Code.Canceled);
    expect(next.requests).toHaveLength(0);
    expect(engine.handled).toHaveLength(0);
  });
});

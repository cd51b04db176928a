import { Code } from "@connectrpc/connect";
import { rpcError } from "../support/rpc-error.js";
import {
  addHumanUser,
  type Engine,
  executionFailed,
  methodCondition,
  startEngine,
  type TargetKind,
} from "./engine-fixture.js";

// The egress guard also checks the address a host name resolves to when
// the call connects, so a name that passed CreateTarget cannot reach a
// denied address. The injected resolver maps target.test to 127.0.0.1,
// and no query leaves the machine.

const resolveToLoopback = async () => [{ address: "127.0.0.1", family: 4 }];

async function arrange(engine: Engine, kind: TargetKind, interrupt: boolean) {
  const stub = await engine.stub();
  const target = await engine.createTarget({
    kind,
    endpoint: `http://target.test:${stub.port}/hook`,
    interrupt,
  });
  await engine.setExecution(methodCondition("request", addHumanUser), [
    target.id,
  ]);
  return { stub, targetId: target.id };
}

describe("egress, name resolves to a denied address", () => {
  let engine: Engine;

  beforeAll(async () => {
    engine = await startEngine({
      config: { egressAllow: [] },
      resolve: resolveToLoopback,
    });
  });

  afterEach(async () => {
    await engine.reset();
  });

  afterAll(async () => {
    await engine.stop();
  });

  it.each<TargetKind>(["webhook", "call"])(
    "%s, interrupt fails the call",
    async (kind) => {
      const { stub, targetId } = await arrange(engine, kind, true);

      const error = await rpcError(
        engine.users().addHumanUser({ username: "ada" }),
      );

      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.message).toBe(executionFailed);
      expect(stub.requests).toHaveLength(0);
      expect(engine.handled).toHaveLength(0);
      expect(await engine.targetCalls(targetId, "egress-denied")).toBe(1);
    },
  );

  it("webhook, no interrupt goes on", async () => {
    const { stub } = await arrange(engine, "webhook", false);

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
    expect(stub.requests).toHaveLength(0);
  });

  it("async, never reaches the stub", async () => {
    const { stub, targetId } = await arrange(engine, "async", true);

    const response = await engine.users().addHumanUser({ username: "ada" });
    await engine.drainAsync();

    expect(response.userId).toBe("id-ada");
    expect(stub.requests).toHaveLength(0);
    expect(await engine.targetCalls(targetId, "egress-denied")).toBe(1);
  });

  it("literal loopback endpoint is rejected at creation", async () => {
    const stub = await engine.stub();

    const error = await rpcError(
      engine.createTarget({ kind: "webhook", endpoint: stub.url }),
    );

    expect(error.code).toBe(Code.InvalidArgument);
  });
});

describe("egress, name on the allow-list", () => {
  let engine: Engine;

  beforeAll(async () => {
    engine = await startEngine({
      config: { egressAllow: ["target.test"] },
      resolve: resolveToLoopback,
    });
  });

  afterAll(async () => {
    await engine.stop();
  });

  it("webhook, interrupt reaches the stub", async () => {
    const { stub, targetId } = await arrange(engine, "webhook", true);

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]?.headers.host).toBe(`target.test:${stub.port}`);
    expect(await engine.targetCalls(targetId, "success")).toBe(1);
  });
});

import { Code } from "@connectrpc/connect";
import { rpcError } from "../support/rpc-error.js";
import {
  addHumanUser,
  closedPort,
  type Engine,
  methodCondition,
  startEngine,
} from "./engine-fixture.js";

// GET /metrics serves the Prometheus text format, with one
// actions_target_calls_total sample per target id and outcome.

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

describe("metrics", () => {
  it("counts calls by target and outcome", async () => {
    const stub = await engine.stub();
    stub.reply({ status: 200 }, { status: 200 }, { status: 503 });
    const webhook = await engine.createTarget({
      kind: "webhook",
      endpoint: stub.url,
      interrupt: true,
    });
    const unreachable = await engine.createTarget({
      kind: "webhook",
      endpoint: `http://127.0.0.1:${await closedPort()}/`,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      webhook.id,
      unreachable.id,
    ]);

    await engine.users().addHumanUser({ username: "a" });
    await engine.users().addHumanUser({ username: "b" });
    const error = await rpcError(
      engine.users().addHumanUser({ username: "c" }),
    );
    const response = await fetch(`${engine.server.baseUrl}/metrics`);
    const text = await response.text();

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(text).toContain("# TYPE actions_target_calls_total counter");
    expect(text).toContain(
      `actions_target_calls_total{target_id="${webhook.id}",outcome="success"} 2`,
    );
    expect(text).toContain(
      `actions_target_calls_total{target_id="${webhook.id}",outcome="status"} 1`,
    );
    expect(text).toContain(
      `actions_target_calls_total{target_id="${unreachable.id}",outcome="transport"} 2`,
    );
    expect(text).toContain(
      `actions_target_call_duration_seconds_count{target_id="${webhook.id}"} 3`,
    );
  });

  it("counts async calls once they finish", async () => {
    const stub = await engine.stub();
    const target = await engine.createTarget({
      kind: "async",
      endpoint: stub.url,
    });
    await engine.setExecution(methodCondition("response", addHumanUser), [
      target.id,
    ]);

    await engine.users().addHumanUser({ username: "a" });
    await engine.drainAsync();

    expect(await engine.targetCalls(target.id, "success")).toBe(1);
  });

  it("unknown path is 404", async () => {
    const response = await fetch(`${engine.server.baseUrl}/metricz`);
    await response.text();

    expect(response.status).toBe(404);
  });
});

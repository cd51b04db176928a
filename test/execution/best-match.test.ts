import type { StubTarget } from "../support/stub-target.js";
import {
  addHumanUser,
  allCondition,
  type Engine,
  getUserByID,
  methodCondition,
  type Phase,
  serviceCondition,
  startEngine,
  userService,
} from "./engine-fixture.js";

// For each phase, the most specific execution of method, service and all
// fires, and only its targets are called. Every execution here has one
// webhook target on its own stub, so the request counts show which fired.

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

type Level = "method" | "service" | "all" | "otherMethod";

const conditionOf = (phase: Phase, level: Level) => {
  switch (level) {
    case "method":
      return methodCondition(phase, addHumanUser);
    case "otherMethod":
      return methodCondition(phase, getUserByID);
    case "service":
      return serviceCondition(phase, userService);
    case "all":
      return allCondition(phase);
  }
};

/** Creates one execution per level, each with a webhook on its own stub. */
async function executionsAt(
  phase: Phase,
  levels: Level[],
): Promise<Map<Level, { stub: StubTarget; targetId: string }>> {
  const created = new Map<Level, { stub: StubTarget; targetId: string }>();
  for (const level of levels) {
    const stub = await engine.stub();
    const target = await engine.createTarget({
      kind: "webhook",
      endpoint: `${stub.url}/${level}`,
    });
    await engine.setExecution(conditionOf(phase, level), [target.id]);
    created.set(level, { stub, targetId: target.id });
  }
  return created;
}

function requestCounts(
  created: Map<Level, { stub: StubTarget }>,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [level, { stub }] of created) {
    counts[level] = stub.requests.length;
  }
  return counts;
}

const phases: Phase[] = ["request", "response"];

describe("best match", () => {
  const cases: {
    name: string;
    levels: Level[];
    expected: Partial<Record<Level, number>>;
  }[] = [
    {
      name: "method beats service and all",
      levels: ["method", "service", "all"],
      expected: { method: 1, service: 0, all: 0 },
    },
    {
      name: "method beats all",
      levels: ["method", "all"],
      expected: { method: 1, all: 0 },
    },
    {
      name: "service beats all",
      levels: ["service", "all"],
      expected: { service: 1, all: 0 },
    },
    {
      name: "all alone fires",
      levels: ["all"],
      expected: { all: 1 },
    },
    {
      name: "another method's execution is skipped",
      levels: ["otherMethod", "service"],
      expected: { otherMethod: 0, service: 1 },
    },
    {
      name: "another method alone calls nothing",
      levels: ["otherMethod"],
      expected: { otherMethod: 0 },
    },
  ];

  it.each(phases.flatMap((phase) => cases.map((c) => ({ phase, ...c }))))(
    "$phase, $name",
    async ({ phase, levels, expected }) => {
      const created = await executionsAt(phase, levels);

      const response = await engine.users().addHumanUser({ username: "ada" });

      expect(response.userId).toBe("id-ada");
      expect(requestCounts(created)).toEqual(expected);
      expect(engine.handled).toHaveLength(1);
    },
  );

  it.each(phases)(
    "%s, deleted target does not shadow service",
    async (phase) => {
      const created = await executionsAt(phase, ["method", "service"]);
      const method = created.get("method");
      if (method === undefined) {
        throw new Error("the method execution was not created");
      }

      await engine.actions.deleteTarget({ id: method.targetId });
      await engine.users().addHumanUser({ username: "ada" });

      expect(requestCounts(created)).toEqual({ method: 0, service: 1 });
    },
  );

  it.each(phases)(
    "%s, emptied execution does not shadow all",
    async (phase) => {
      const created = await executionsAt(phase, ["service", "all"]);

      await engine.setExecution(conditionOf(phase, "service"), []);
      await engine.users().addHumanUser({ username: "ada" });

      expect(requestCounts(created)).toEqual({ service: 0, all: 1 });
    },
  );

  it("phases resolve independently", async () => {
    const request = await executionsAt("request", ["method"]);
    const response = await executionsAt("response", ["all"]);

    await engine.users().addHumanUser({ username: "ada" });

    expect(requestCounts(request)).toEqual({ method: 1 });
    expect(requestCounts(response)).toEqual({ all: 1 });
    const requestPayload = request.get("method")?.stub.requests[0]?.json;
    const responsePayload = response.get("all")?.stub.requests[0]?.json;
    expect(requestPayload).not.toHaveProperty("response");
    expect(responsePayload).toHaveProperty("response");
  });

  it("no execution calls nothing", async () => {
    const stub = await engine.stub();
    await engine.createTarget({ kind: "webhook", endpoint: stub.url });

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
    expect(stub.requests).toHaveLength(0);
  });
});

describe("target order", () => {
  it.each(phases)("%s, targets run in list order", async (phase) => {
    const stub = await engine.stub();
    const ids: Record<string, string> = {};
    for (const name of ["a", "b", "c"]) {
      const target = await engine.createTarget({
        kind: "webhook",
        endpoint: `${stub.url}/${name}`,
      });
      ids[name] = target.id;
    }
    await engine.setExecution(
      methodCondition(phase, addHumanUser),
      ["c", "a", "b"].map((name) => ids[name] ?? ""),
    );

    await engine.users().addHumanUser({ username: "ada" });

    expect(stub.requests.map((request) => request.path)).toEqual([
      "/c",
      "/a",
      "/b",
    ]);
  });

  it("call targets chain in list order", async () => {
    const stub = await engine.stub();
    const first = await engine.createTarget({
      kind: "call",
      endpoint: `${stub.url}/first`,
    });
    const second = await engine.createTarget({
      kind: "call",
      endpoint: `${stub.url}/second`,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      second.id,
      first.id,
    ]);
    stub.respondWith((request) => ({
      json: { username: `${request.path.slice(1)}` },
    }));

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(stub.requests.map((request) => request.path)).toEqual([
      "/second",
      "/first",
    ]);
    expect(response.userId).toBe("id-first");
  });
});

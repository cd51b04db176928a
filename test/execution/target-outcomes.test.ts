import { Code } from "@connectrpc/connect";
import { rpcError } from "../support/rpc-error.js";
import type { StubReply, StubTarget } from "../support/stub-target.js";
import {
  addHumanUser,
  closedPort,
  type Engine,
  executionFailed,
  methodCondition,
  startEngine,
  type TargetKind,
} from "./engine-fixture.js";

// Each case puts the target under test first and a non-interrupting
// webhook on a second stub after it, so the second stub shows whether the
// run went on. The metric outcome shows how the caller classified the call.

type Outcome =
  | "2xx"
  | "500"
  | "404"
  | "302"
  | "timeout"
  | "slow body"
  | "hang up"
  | "unreachable";

const outcomes: Outcome[] = [
  "2xx",
  "500",
  "404",
  "302",
  "timeout",
  "slow body",
  "hang up",
  "unreachable",
];

// Label of actions_target_calls_total for each outcome.
const metricOutcome: Record<Outcome, string> = {
  "2xx": "success",
  "500": "status",
  "404": "status",
  "302": "status",
  timeout: "timeout",
  "slow body": "timeout",
  "hang up": "transport",
  unreachable: "transport",
};

const targetTimeoutMs = 300;

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

interface Arranged {
  targetId: string;
  target: StubTarget;
  next: StubTarget;
  redirected: StubTarget;
}

/** Creates the target under test for an outcome, then the next webhook. */
async function arrange(
  kind: TargetKind,
  outcome: Outcome,
  interrupt: boolean,
): Promise<Arranged> {
  const target = await engine.stub();
  const next = await engine.stub();
  const redirected = await engine.stub();
  const replies: Record<Exclude<Outcome, "unreachable">, StubReply> = {
    "2xx": { status: 200 },
    "500": { status: 500, body: "internal error at the target" },
    "404": { status: 404, body: "no such hook" },
    "302": {
      status: 302,
      headers: { location: `${redirected.url}/landed` },
    },
    // Longer than the target's timeout, so the caller gives up first.
    timeout: { delayMs: 2000, json: { username: "too late" } },
    // The status arrives at once, the rest of the body after the timeout.
    "slow body": {
      chunks: ['{"username":', '"too late"}'],
      chunkIntervalMs: 2000,
    },
    "hang up": { hangUp: true },
  };
  const endpoint =
    outcome === "unreachable"
      ? `http://127.0.0.1:${await closedPort()}/hook`
      : `${target.url}/hook`;
  if (outcome !== "unreachable") {
    target.respondWith(replies[outcome]);
  }
  const underTest = await engine.createTarget({
    kind,
    endpoint,
    interrupt,
    timeoutMs: targetTimeoutMs,
  });
  const following = await engine.createTarget({
    kind: "webhook",
    endpoint: `${next.url}/next`,
  });
  await engine.setExecution(methodCondition("request", addHumanUser), [
    underTest.id,
    following.id,
  ]);
  return { targetId: underTest.id, target, next, redirected };
}

const syncCases = (["webhook", "call"] as const).flatMap((kind) =>
  outcomes.flatMap((outcome) =>
    [true, false].map((interrupt) => ({
      name: `${kind}, ${outcome}, ${interrupt ? "interrupt" : "no interrupt"}`,
      kind,
      outcome,
      interrupt,
    })),
  ),
);

describe("webhook and call outcomes", () => {
  it.each(syncCases)("$name", async ({ kind, outcome, interrupt }) => {
    const arranged = await arrange(kind, outcome, interrupt);
    const call = engine.users().addHumanUser({ username: "ada" });

    if (interrupt && outcome !== "2xx") {
      const error = await rpcError(call);
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.message).toBe(executionFailed);
      expect(arranged.next.requests).toHaveLength(0);
      expect(engine.handled).toHaveLength(0);
    } else {
      const response = await call;
      expect(response.userId).toBe("id-ada");
      expect(arranged.next.requests).toHaveLength(1);
      expect(engine.handled).toHaveLength(1);
    }
    expect(arranged.redirected.requests).toHaveLength(0);
    expect(
      await engine.targetCalls(arranged.targetId, metricOutcome[outcome]),
    ).toBe(1);
  });

  it("call, timeout, late reply is ignored", async () => {
    await arrange("call", "timeout", false);

    await engine.users().addHumanUser({ username: "ada" });

    expect(engine.handled[0]?.request).toMatchObject({ username: "ada" });
  });
});

describe("async outcomes", () => {
  it.each(outcomes)("async, %s", async (outcome) => {
    const arranged = await arrange("async", outcome, true);

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
    expect(arranged.next.requests).toHaveLength(1);
    expect(engine.handled).toHaveLength(1);
    await engine.drainAsync();
    expect(arranged.redirected.requests).toHaveLength(0);
    expect(
      await engine.targetCalls(arranged.targetId, metricOutcome[outcome]),
    ).toBe(1);
  });
});

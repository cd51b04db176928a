import { Code } from "@connectrpc/connect";
import { rpcError } from "../support/rpc-error.js";
import {
  addHumanUser,
  type Engine,
  methodCondition,
  type Phase,
  startEngine,
  type TargetKind,
} from "./engine-fixture.js";

// A 200 reply with forwardedStatusCode or forwardedErrorMessage is an
// error: a 4xx status maps to its gRPC code with id EXEC-reUaUZCzCp, and
// anything else becomes FailedPrecondition with id EXEC-bmhNhpcqpF. The
// client sees the forwarded message followed by the id.

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

const statuses: { status: number; code: Code; id: string }[] = [
  { status: 400, code: Code.InvalidArgument, id: "EXEC-reUaUZCzCp" },
  { status: 401, code: Code.Unauthenticated, id: "EXEC-reUaUZCzCp" },
  { status: 403, code: Code.PermissionDenied, id: "EXEC-reUaUZCzCp" },
  { status: 404, code: Code.NotFound, id: "EXEC-reUaUZCzCp" },
  { status: 409, code: Code.AlreadyExists, id: "EXEC-reUaUZCzCp" },
  { status: 429, code: Code.ResourceExhausted, id: "EXEC-reUaUZCzCp" },
  { status: 418, code: Code.Unknown, id: "EXEC-reUaUZCzCp" },
  { status: 503, code: Code.FailedPrecondition, id: "EXEC-bmhNhpcqpF" },
  { status: 200, code: Code.FailedPrecondition, id: "EXEC-bmhNhpcqpF" },
];

/** Sets a target for the phase of AddHumanUser whose stub replies with `body`. */
async function forwardingTarget(
  kind: TargetKind,
  phase: Phase,
  body: unknown,
  interrupt: boolean,
) {
  const stub = await engine.stub({ respondWith: { json: body } });
  const target = await engine.createTarget({
    kind,
    endpoint: stub.url,
    interrupt,
  });
  await engine.setExecution(methodCondition(phase, addHumanUser), [target.id]);
  return { stub, targetId: target.id };
}

const kinds: TargetKind[] = ["call", "webhook"];

describe("forwarded error, interrupt", () => {
  const cases = kinds.flatMap((kind) =>
    statuses.map((entry) => ({ kind, ...entry })),
  );

  it.each(cases)(
    "$kind, forwarded $status",
    async ({ kind, status, code, id }) => {
      await forwardingTarget(
        kind,
        "request",
        { forwardedStatusCode: status, forwardedErrorMessage: "msg" },
        true,
      );

      const error = await rpcError(
        engine.users().addHumanUser({ username: "ada" }),
      );

      expect(error.code).toBe(code);
      expect(error.message).toBe(`msg (${id})`);
      expect(engine.handled).toHaveLength(0);
    },
  );

  it("call, message without status", async () => {
    await forwardingTarget(
      "call",
      "request",
      { forwardedErrorMessage: "msg" },
      true,
    );

    const error = await rpcError(
      engine.users().addHumanUser({ username: "ada" }),
    );

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.message).toBe("msg (EXEC-bmhNhpcqpF)");
  });

  it("call, status without message", async () => {
    await forwardingTarget(
      "call",
      "request",
      { forwardedStatusCode: 403 },
      true,
    );

    const error = await rpcError(
      engine.users().addHumanUser({ username: "ada" }),
    );

    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.message).toBe("Execution failed (EXEC-reUaUZCzCp)");
  });

  it("response phase, forwarded 404", async () => {
    await forwardingTarget(
      "call",
      "response",
      { forwardedStatusCode: 404, forwardedErrorMessage: "user is hidden" },
      true,
    );

    const error = await rpcError(
      engine.users().addHumanUser({ username: "ada" }),
    );

    expect(error.code).toBe(Code.NotFound);
    expect(error.message).toBe("user is hidden (EXEC-reUaUZCzCp)");
    expect(engine.handled).toHaveLength(1);
  });
});

describe("forwarded error, no interrupt", () => {
  it.each(kinds)("%s, forwarded 403 is ignored", async (kind) => {
    const { stub } = await forwardingTarget(
      kind,
      "request",
      { forwardedStatusCode: 403, forwardedErrorMessage: "msg" },
      false,
    );

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
    expect(stub.requests).toHaveLength(1);
    expect(engine.handled[0]?.request).toMatchObject({ username: "ada" });
  });

  it("async, forwarded 403 is ignored", async () => {
    const { stub } = await forwardingTarget(
      "async",
      "request",
      { forwardedStatusCode: 403, forwardedErrorMessage: "msg" },
      true,
    );

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
    await stub.waitForRequests(1);
  });
});

describe("forwarded fields of other types", () => {
  it.each([
    { name: "string status", body: { forwardedStatusCode: "403" } },
    { name: "zero status", body: { forwardedStatusCode: 0 } },
    { name: "empty message", body: { forwardedErrorMessage: "" } },
  ])("webhook, $name is no error", async ({ body }) => {
    await forwardingTarget("webhook", "request", body, true);

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
  });
});

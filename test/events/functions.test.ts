import { Code } from "@connectrpc/connect";
import { ActionsError } from "../../src/errors.js";
import {
  createFunctionRunner,
  type FunctionRunner,
  functionLogClaim,
} from "../../src/events/index.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import { createEventHarness, type EventHarness } from "./event-harness.js";

let harness: EventHarness;
let functions: FunctionRunner;
const stubs: StubTarget[] = [];

async function stub(): Promise<StubTarget> {
  const started = await startStubTarget();
  stubs.push(started);
  return started;
}

const payload = {
  userinfo: { sub: "user-1", email: "alice@example.com" },
  user: { id: "user-1", username: "alice" },
};

beforeEach(() => {
  harness = createEventHarness();
  functions = createFunctionRunner({
    router: harness.router,
    runner: harness.runner,
    functions: ["preuserinfo", "preaccesstoken"],
  });
});

afterEach(async () => {
  await harness.close();
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

describe("runFunction", () => {
  it("sends the function id first, then the payload", async () => {
    const target = await stub();
    const { id } = harness.addTarget(target.url, { type: "call" });
    harness.setExecution("function/preuserinfo", [id]);

    await functions.runFunction("preuserinfo", {
      ...payload,
      function: "function/spoofed",
    });

    const [request] = target.requests;
    expect(Object.keys(request?.json as object)).toEqual([
      "function",
      "userinfo",
      "user",
    ]);
    expect(request?.json).toEqual({
      function: "function/preuserinfo",
      userinfo: payload.userinfo,
      user: payload.user,
    });
  });

  it("returns an empty result without an execution", async () => {
    const result = await functions.runFunction("preaccesstoken", payload);

    expect(result).toEqual({ claims: [], metadata: [], logClaims: [] });
  });

  it("applies ZITADEL's claim rules", async () => {
    const target = await stub();
    target.reply({
      json: {
        append_claims: [
          { key: "department", value: "sales" },
          { key: "urn:zitadel:iam:org:id", value: "forged" },
          { key: "email", value: "other@example.com" },
          { key: "level", value: { rank: 3 } },
          { key: "department", value: "again" },
        ],
        set_user_metadata: [
          { key: "plan", value: Buffer.from("gold").toString("base64") },
        ],
        append_log_claims: ["checked by crm"],
      },
    });
    const { id } = harness.addTarget(target.url, { type: "call" });
    harness.setExecution("function/preuserinfo", [id]);

    const result = await functions.runFunction("preuserinfo", payload);

    expect(result.claims).toEqual([
      { key: "department", value: "sales" },
      { key: "level", value: { rank: 3 } },
    ]);
    expect(result.logClaims).toEqual([
      'key "email" already exists',
      'key "department" already exists',
      "checked by crm",
    ]);
    expect(result.metadata).toHaveLength(1);
    expect(result.metadata[0]?.key).toBe("plan");
    expect(Buffer.from(result.metadata[0]?.value ?? []).toString()).toBe(
      "gold",
    );
    expect(functionLogClaim("preuserinfo")).toBe(
      "urn:zitadel:iam:action:function/preuserinfo:log",
    );
  });

  it("lets a later response replace fields", async () => {
    const first = await stub();
    const second = await stub();
    first.reply({
      json: {
        append_claims: [{ key: "a", value: 1 }],
        append_log_claims: ["first"],
      },
    });
    second.reply({ json: { append_claims: [{ key: "b", value: 2 }] } });
    const a = harness.addTarget(first.url, { type: "call" });
    const b = harness.addTarget(second.url, { type: "call" });
    harness.setExecution("function/preuserinfo", [a.id, b.id]);

    const result = await functions.runFunction("preuserinfo", payload);

    expect(result.claims).toEqual([{ key: "b", value: 2 }]);
    expect(result.logClaims).toEqual(["first"]);
  });

  it("uses the caller's existing claims when given", async () => {
    const target = await stub();
    target.reply({ json: { append_claims: [{ key: "email", value: "x" }] } });
    const { id } = harness.addTarget(target.url, { type: "call" });
    harness.setExecution("function/preaccesstoken", [id]);

    const result = await functions.runFunction("preaccesstoken", payload, {
      existingClaims: ["sub"],
    });

    expect(result.claims).toEqual([{ key: "email", value: "x" }]);
  });

  it("ignores webhook bodies, skips waiting for async", async () => {
    const webhook = await stub();
    const asyncTarget = await stub();
    webhook.reply({ json: { append_claims: [{ key: "w", value: 1 }] } });
    asyncTarget.reply({ delayMs: 2000, json: {} });
    const a = harness.addTarget(webhook.url, { type: "webhook" });
    const b = harness.addTarget(asyncTarget.url, { type: "async" });
    harness.setExecution("function/preuserinfo", [a.id, b.id]);

    const started = Date.now();
    const result = await functions.runFunction("preuserinfo", payload);

    expect(Date.now() - started).toBeLessThan(1500);
    expect(result.claims).toEqual([]);
    await asyncTarget.waitForRequests(1);
  });

  it("fails an interrupting call target's invalid JSON", async () => {
    const target = await stub();
    target.reply({ body: "not json" });
    const { id } = harness.addTarget(target.url, {
      type: "call",
      interruptOnError: true,
    });
    harness.setExecution("function/preuserinfo", [id]);

    const error = await functions
      .runFunction("preuserinfo", payload)
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ActionsError);
    expect((error as ActionsError).code).toBe(Code.FailedPrecondition);
    expect((error as ActionsError).key).toBe(
      "Errors.Execution.ResponseIsNotValidJSON",
    );
    expect((error as ActionsError).id).toBe("ACTION-4m9s2");
  });

  it.each([
    ["text", { body: "not json" }],
    ["an array", { json: [1] }],
    ["a claim list of the wrong type", { json: { append_claims: "x" } }],
    [
      "metadata that is not base64",
      { json: { set_user_metadata: [{ key: "k", value: "***" }] } },
    ],
  ])("ignores %s without interrupt_on_error", async (_name, reply) => {
    const broken = await stub();
    const good = await stub();
    broken.reply(reply);
    good.reply({ json: { append_claims: [{ key: "ok", value: true }] } });
    const a = harness.addTarget(broken.url, { type: "call" });
    const b = harness.addTarget(good.url, { type: "call" });
    harness.setExecution("function/preuserinfo", [a.id, b.id]);

    const result = await functions.runFunction("preuserinfo", payload);

    expect(result.claims).toEqual([{ key: "ok", value: true }]);
  });

  it("fails an interrupting target's 500", async () => {
    const target = await stub();
    target.reply({ status: 500 });
    const { id } = harness.addTarget(target.url, {
      type: "call",
      interruptOnError: true,
    });
    harness.setExecution("function/preuserinfo", [id]);

    const error = await functions
      .runFunction("preuserinfo", payload)
      .catch((caught: unknown) => caught);

    expect((error as ActionsError).code).toBe(Code.FailedPrecondition);
    expect((error as ActionsError).key).toBe("Errors.Execution.Failed");
  });

  it("stops when the request's signal aborts", async () => {
    const target = await stub();
    target.reply({ delayMs: 5000, json: {} });
    const { id } = harness.addTarget(target.url, { type: "call" });
    harness.setExecution("function/preuserinfo", [id]);
    const abort = new AbortController();

    const running = functions.runFunction("preuserinfo", payload, {
      signal: abort.signal,
    });
    await target.waitForRequests(1);
    abort.abort();
    const error = await running.catch((caught: unknown) => caught);

    expect((error as { code?: unknown }).code).toBe(Code.Canceled);
  });

  it("rejects an undeclared function", async () => {
    await expect(functions.runFunction("presamlresponse", {})).rejects.toThrow(
      'cannot run function "presamlresponse": it is not declared',
    );
  });
});

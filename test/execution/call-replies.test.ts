import { Code } from "@connectrpc/connect";
import { rpcError } from "../support/rpc-error.js";
import type { StubReply } from "../support/stub-target.js";
import {
  addHumanUser,
  type Engine,
  methodCondition,
  type Phase,
  startEngine,
} from "./engine-fixture.js";

// The body of a call target's 2xx reply replaces the request or the
// response message as a whole. The next target, and then the handler or
// the client, receive the replacement.

const invalidAnswerMessage = (targetId: string) =>
  `Target response is not a valid message: the body from target ${targetId} does not match the message; fix the target's response (EXEC-2pvk4)`;

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

/** Sets one call target for the phase of AddHumanUser whose stub sends `reply`. */
async function callTarget(phase: Phase, reply: StubReply, interrupt = true) {
  const stub = await engine.stub({ respondWith: reply });
  const target = await engine.createTarget({
    kind: "call",
    endpoint: `${stub.url}/call`,
    interrupt,
  });
  await engine.setExecution(methodCondition(phase, addHumanUser), [target.id]);
  return { stub, targetId: target.id };
}

describe("request rewrite", () => {
  it("handler sees the new request", async () => {
    await callTarget("request", {
      json: { username: "grace", profile: { givenName: "Grace" } },
    });

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-grace");
    expect(engine.handled[0]?.request).toMatchObject({
      username: "grace",
      profile: { givenName: "Grace" },
    });
  });

  it("reply replaces the whole request", async () => {
    await callTarget("request", { json: { username: "grace" } });

    await engine.users().addHumanUser({
      username: "ada",
      profile: { givenName: "Ada", familyName: "Lovelace" },
    });

    expect(engine.handled[0]?.request).toMatchObject({ username: "grace" });
    expect(engine.handled[0]?.request).not.toHaveProperty("profile");
  });

  it("second call receives the first reply", async () => {
    const first = await engine.stub({
      respondWith: { json: { username: "b" } },
    });
    const second = await engine.stub({
      respondWith: { json: { username: "c" } },
    });
    const firstTarget = await engine.createTarget({
      kind: "call",
      endpoint: first.url,
    });
    const secondTarget = await engine.createTarget({
      kind: "call",
      endpoint: second.url,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      firstTarget.id,
      secondTarget.id,
    ]);

    const response = await engine.users().addHumanUser({ username: "a" });

    expect(first.requests[0]?.json).toMatchObject({
      request: { username: "a" },
    });
    expect(second.requests[0]?.json).toMatchObject({
      request: { username: "b" },
    });
    expect(response.userId).toBe("id-c");
  });

  it("webhook reply is ignored", async () => {
    const stub = await engine.stub({
      respondWith: { json: { username: "grace" } },
    });
    const target = await engine.createTarget({
      kind: "webhook",
      endpoint: stub.url,
      interrupt: true,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      target.id,
    ]);

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
  });
});

describe("response rewrite", () => {
  it("client sees the new response", async () => {
    await callTarget("response", { json: { userId: "replaced" } });

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("replaced");
    expect(response.details).toBeUndefined();
  });

  it("payload has request and response", async () => {
    const { stub } = await callTarget("response", { status: 200 });

    await engine.users().addHumanUser({ username: "ada" });

    expect(stub.requests[0]?.json).toMatchObject({
      request: { username: "ada" },
      response: {
        userId: "id-ada",
        details: { sequence: "7", resourceOwner: "org-1" },
      },
    });
  });

  it("payload has the rewritten request", async () => {
    const requestStub = await engine.stub({
      respondWith: { json: { username: "grace" } },
    });
    const requestTarget = await engine.createTarget({
      kind: "call",
      endpoint: requestStub.url,
    });
    await engine.setExecution(methodCondition("request", addHumanUser), [
      requestTarget.id,
    ]);
    const { stub } = await callTarget("response", { status: 200 });

    await engine.users().addHumanUser({ username: "ada" });

    expect(stub.requests[0]?.json).toMatchObject({
      request: { username: "grace" },
      response: { userId: "id-grace" },
    });
  });

  it("second call receives the first reply", async () => {
    const first = await engine.stub({
      respondWith: { json: { userId: "first" } },
    });
    const second = await engine.stub({ respondWith: { status: 204 } });
    const firstTarget = await engine.createTarget({
      kind: "call",
      endpoint: first.url,
    });
    const secondTarget = await engine.createTarget({
      kind: "call",
      endpoint: second.url,
    });
    await engine.setExecution(methodCondition("response", addHumanUser), [
      firstTarget.id,
      secondTarget.id,
    ]);

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(second.requests[0]?.json).toMatchObject({
      request: { username: "ada" },
      response: { userId: "first" },
    });
    expect(response.userId).toBe("first");
  });
});

describe("empty reply", () => {
  it.each<{ name: string; reply: StubReply }>([
    { name: "200 with no body", reply: { status: 200 } },
    { name: "204", reply: { status: 204 } },
  ])("request, $name keeps the message", async ({ reply }) => {
    await callTarget("request", reply);

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
  });

  it("response, 200 with no body keeps the message", async () => {
    await callTarget("response", { status: 200 });

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
    expect(response.details?.sequence).toBe(7n);
  });
});

describe("malformed reply", () => {
  const replies: { name: string; reply: StubReply }[] = [
    { name: "not JSON", reply: { body: "user: grace" } },
    {
      name: "unknown field",
      reply: { json: { username: "x", nickname: "y" } },
    },
    { name: "wrong type", reply: { json: { username: 5 } } },
    { name: "JSON array", reply: { json: [{ username: "grace" }] } },
    { name: "JSON null", reply: { body: "null" } },
  ];
  const phases: Phase[] = ["request", "response"];
  const cases = phases.flatMap((phase) =>
    replies.map((entry) => ({ phase, ...entry })),
  );

  it.each(cases)("$phase, $name, interrupt", async ({ phase, reply }) => {
    const { targetId } = await callTarget(phase, reply, true);

    const error = await rpcError(
      engine.users().addHumanUser({ username: "ada" }),
    );

    expect(error.code).toBe(Code.Unknown);
    expect(error.message).toBe(invalidAnswerMessage(targetId));
    expect(engine.handled).toHaveLength(phase === "request" ? 0 : 1);
  });

  it.each(cases)("$phase, $name, no interrupt", async ({ phase, reply }) => {
    const { targetId } = await callTarget(phase, reply, false);
    const next = await engine.stub();
    const following = await engine.createTarget({
      kind: "webhook",
      endpoint: next.url,
    });
    await engine.setExecution(methodCondition(phase, addHumanUser), [
      targetId,
      following.id,
    ]);

    const response = await engine.users().addHumanUser({ username: "ada" });

    expect(response.userId).toBe("id-ada");
    expect(engine.handled[0]?.request).toMatchObject({ username: "ada" });
    expect(next.requests[0]?.json).toMatchObject({
      request: { username: "ada" },
    });
  });
});

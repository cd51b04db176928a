import {
  SignatureError,
  verifySignature,
  verifyStandardWebhook,
} from "../../src/target/index.js";
import type { RecordedRequest } from "../support/stub-target.js";
import {
  addHumanUser,
  type Engine,
  methodCondition,
  type Phase,
  startEngine,
  type TargetKind,
} from "./engine-fixture.js";

// Every target call carries a ZITADEL-Signature and the Standard Webhooks
// headers, computed over the exact body bytes with the target's signing
// key from CreateTarget or UpdateTarget.

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

function header(request: RecordedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

function verifyBoth(request: RecordedRequest, key: string): void {
  verifySignature(request.body, header(request, "zitadel-signature"), key);
  verifyStandardWebhook(
    request.body,
    {
      id: header(request, "webhook-id"),
      timestamp: header(request, "webhook-timestamp"),
      signature: header(request, "webhook-signature"),
    },
    key,
  );
}

function signatureFailure(verify: () => void): SignatureError | undefined {
  try {
    verify();
  } catch (error) {
    if (error instanceof SignatureError) {
      return error;
    }
    throw error;
  }
  return undefined;
}

const cases = (["webhook", "call", "async"] as TargetKind[]).flatMap((kind) =>
  (["request", "response"] as Phase[]).map((phase) => ({ kind, phase })),
);

describe("signature", () => {
  it.each(cases)("$kind, $phase, verifies", async ({ kind, phase }) => {
    const stub = await engine.stub();
    const target = await engine.createTarget({ kind, endpoint: stub.url });
    await engine.setExecution(methodCondition(phase, addHumanUser), [
      target.id,
    ]);

    await engine.users().addHumanUser({ username: "ada" });
    const [received] = await stub.waitForRequests(1);
    if (received === undefined) {
      throw new Error("the stub target received no request");
    }

    expect(target.signingKey).not.toBe("");
    expect(header(received, "zitadel-signature")).toMatch(
      /^t=\d+,v1=[0-9a-f]{64}$/,
    );
    expect(() => verifyBoth(received, target.signingKey)).not.toThrow();
    expect(
      signatureFailure(() => verifyBoth(received, "some other key"))?.reason,
    ).toBe("no-match");
  });

  it.each(["webhook", "call", "async"] as TargetKind[])(
    "%s, rotated key signs the next call",
    async (kind) => {
      const stub = await engine.stub();
      const target = await engine.createTarget({ kind, endpoint: stub.url });
      await engine.setExecution(methodCondition("request", addHumanUser), [
        target.id,
      ]);
      await engine.users().addHumanUser({ username: "before" });
      await stub.waitForRequests(1);

      const updated = await engine.actions.updateTarget({
        id: target.id,
        expirationSigningKey: { seconds: 0n },
      });
      await engine.users().addHumanUser({ username: "after" });
      const [before, after] = await stub.waitForRequests(2);
      if (before === undefined || after === undefined) {
        throw new Error("the stub target received fewer than two requests");
      }

      const newKey = updated.signingKey ?? "";
      expect(newKey).not.toBe("");
      expect(newKey).not.toBe(target.signingKey);
      expect(() => verifyBoth(before, target.signingKey)).not.toThrow();
      expect(() => verifyBoth(after, newKey)).not.toThrow();
      expect(
        signatureFailure(() =>
          verifySignature(
            after.body,
            header(after, "zitadel-signature"),
            target.signingKey,
          ),
        )?.reason,
      ).toBe("no-match");
      expect(
        signatureFailure(() =>
          verifyStandardWebhook(
            after.body,
            {
              id: header(after, "webhook-id"),
              timestamp: header(after, "webhook-timestamp"),
              signature: header(after, "webhook-signature"),
            },
            target.signingKey,
          ),
        )?.reason,
      ).toBe("no-match");
    },
  );

  it("chained calls are signed over their own bodies", async () => {
    const first = await engine.stub({
      respondWith: { json: { username: "second body" } },
    });
    const second = await engine.stub();
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

    await engine.users().addHumanUser({ username: "first body" });
    const [received] = second.requests;
    if (received === undefined) {
      throw new Error("the second stub target received no request");
    }

    expect(received.text).toContain("second body");
    expect(() => verifyBoth(received, secondTarget.signingKey)).not.toThrow();
  });
});

import { getEventListeners } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import {
  createEgressPolicy,
  createTargetCaller,
  createTargetMetrics,
  TargetCallError,
  type TargetCaller,
  type TargetCallerOptions,
  type TargetEndpoint,
  verifySignature,
  verifyStandardWebhook,
} from "../../src/target/index.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";

const signingKey = "test-signing-key-3f9a";
const loopbackEgress = createEgressPolicy({
  allow: ["127.0.0.0/8", "::1/128"],
});

let stub: StubTarget;
let caller: TargetCaller;
const extraCallers: TargetCaller[] = [];

function useCaller(options: Partial<TargetCallerOptions> = {}): TargetCaller {
  const created = createTargetCaller({ egress: loopbackEgress, ...options });
  extraCallers.push(created);
  return created;
}

function targetFor(overrides: Partial<TargetEndpoint> = {}): TargetEndpoint {
  return {
    id: "target-1",
    endpoint: `${stub.url}/hook`,
    timeoutMs: 2000,
    signingKey,
    ...overrides,
  };
}

const payload = new TextEncoder().encode('{"fullMethod":"/svc/Method"}');

async function callError(
  promise: Promise<Uint8Array>,
): Promise<TargetCallError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TargetCallError);
  return error as TargetCallError;
}

function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

beforeEach(async () => {
  stub = await startStubTarget();
  caller = createTargetCaller({ egress: loopbackEgress });
});

afterEach(async () => {
  await caller.close();
  await Promise.all(extraCallers.splice(0).map((extra) => extra.close()));
  await stub.close();
});

describe("createTargetCaller success", () => {
  it("returns the 2xx body", async () => {
    stub.reply({ json: { user: { id: "u1" } } });
    const result = await caller.call(targetFor(), payload);
    expect(text(result)).toBe('{"user":{"id":"u1"}}');
    expect(result).toBeInstanceOf(Uint8Array);
  });

  it("returns an empty body for 204", async () => {
    stub.reply({ status: 204 });
    const result = await caller.call(targetFor(), payload);
    expect(result.length).toBe(0);
  });

  it.each(["[1,2]", '"text"', "42", "null", "not json", '{"other":1}'])(
    "passes 2xx body %s",
    async (body) => {
      stub.reply({ body });
      const result = await caller.call(targetFor(), payload);
      expect(text(result)).toBe(body);
    },
  );

  it.each([
    '{"forwardedStatusCode":0,"forwardedErrorMessage":""}',
    '{"forwardedStatusCode":"403"}',
    '{"forwardedErrorMessage":7}',
  ])("ignores empty or mistyped forwarded fields %s", async (body) => {
    stub.reply({ body });
    const result = await caller.call(targetFor(), payload);
    expect(text(result)).toBe(body);
  });

  it("reaches a target on ::1", async () => {
    const ipv6Stub = await startStubTarget({ host: "::1" });
    try {
      ipv6Stub.reply({ body: "ok" });
      const target = targetFor({ endpoint: `${ipv6Stub.url}/hook` });
      const result = await caller.call(target, payload);
      expect(text(result)).toBe("ok");
      expect(ipv6Stub.requests).toHaveLength(1);
    } finally {
      await ipv6Stub.close();
    }
  });

  it("reuses connections", async () => {
    stub.respondWith({ body: "ok" });
    for (let i = 0; i < 6; i++) {
      await caller.call(targetFor(), payload);
    }
    stub.reply({ status: 500, body: "error page" }, { status: 500 });
    await callError(caller.call(targetFor(), payload));
    await callError(caller.call(targetFor(), payload));
    await caller.call(targetFor(), payload);
    const ports = new Set(stub.requests.map((request) => request.remotePort));
    // Nine calls in sequence: undici alternates between at most a few
    // pooled connections instead of opening one per call.
    expect(ports.size).toBeLessThanOrEqual(3);
  });
});

describe("createTargetCaller request", () => {
  it("posts the body with JSON and signature headers", async () => {
    await caller.call(targetFor(), payload, { webhookId: "msg_test1" });
    expect(stub.requests).toHaveLength(1);
    const [request] = stub.requests;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/hook");
    expect(request?.body).toEqual(payload);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["user-agent"]).toBe("zitadel-actions/0.1");
    expect(request?.headers["webhook-id"]).toBe("msg_test1");
  });

  it("sends a verifiable ZITADEL-Signature", async () => {
    await caller.call(targetFor(), payload);
    const [request] = stub.requests;
    const header = request?.headers["zitadel-signature"];
    expect(typeof header).toBe("string");
    expect(() =>
      verifySignature(request?.body ?? "", header as string, signingKey),
    ).not.toThrow();
  });

  it("sends verifiable Standard Webhooks headers", async () => {
    await caller.call(targetFor(), payload);
    const [request] = stub.requests;
    const headers = request?.headers ?? {};
    expect(headers["webhook-id"]).toMatch(/^msg_[A-Za-z0-9_-]{16,}$/);
    expect(() =>
      verifyStandardWebhook(
        request?.body ?? "",
        {
          id: headers["webhook-id"] as string,
          timestamp: headers["webhook-timestamp"] as string,
          signature: headers["webhook-signature"] as string,
        },
        signingKey,
      ),
    ).not.toThrow();
  });

  it("generates a new webhook id per call", async () => {
    await caller.call(targetFor(), payload);
    await caller.call(targetFor(), payload);
    const ids = stub.requests.map((request) => request.headers["webhook-id"]);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it("omits signatures without a signing key", async () => {
    await caller.call(targetFor({ signingKey: "" }), payload);
    const headers = stub.requests[0]?.headers ?? {};
    expect(headers["zitadel-signature"]).toBeUndefined();
    expect(headers["webhook-signature"]).toBeUndefined();
    expect(headers["webhook-id"]).toBeDefined();
  });

  it("sends URL user info as Basic auth", async () => {
    const endpoint = `http://hook%20user:p%40ss@127.0.0.1:${stub.port}/hook?x=1`;
    await caller.call(targetFor({ endpoint }), payload);
    const [request] = stub.requests;
    const expected = Buffer.from("hook user:p@ss").toString("base64");
    expect(request?.headers.authorization).toBe(`Basic ${expected}`);
    expect(request?.path).toBe("/hook?x=1");
  });

  it("uses the configured user agent", async () => {
    const custom = useCaller({ userAgent: "actions-test/1" });
    await custom.call(targetFor(), payload);
    expect(stub.requests[0]?.headers["user-agent"]).toBe("actions-test/1");
  });
});

describe("createTargetCaller status", () => {
  it("does not follow a redirect", async () => {
    stub.reply({ status: 302, headers: { location: `${stub.url}/other` } });
    const error = await callError(caller.call(targetFor(), payload));
    expect(error.kind).toBe("status");
    expect(error.status).toBe(302);
    expect(stub.requests.map((request) => request.path)).toEqual(["/hook"]);
  });

  it.each([400, 401, 404, 429, 500, 503])("fails on HTTP %i", async (code) => {
    stub.reply({ status: code, body: "internal-detail-from-target" });
    const error = await callError(caller.call(targetFor(), payload));
    expect(error.kind).toBe("status");
    expect(error.status).toBe(code);
    expect(error.targetId).toBe("target-1");
  });

  it("keeps body and key out of the message", async () => {
    stub.reply({ status: 500, body: "internal-detail-from-target" });
    const error = await callError(caller.call(targetFor(), payload));
    expect(error.message).toContain('"target-1"');
    expect(error.message).toContain(`127.0.0.1:${stub.port}`);
    expect(error.message).not.toContain("internal-detail");
    expect(error.message).not.toContain(signingKey);
  });
});

describe("createTargetCaller forwarded errors", () => {
  it.each([
    [
      { forwardedStatusCode: 403, forwardedErrorMessage: "denied" },
      403,
      "denied",
    ],
    [{ forwardedStatusCode: 409 }, 409, ""],
    [{ forwardedErrorMessage: "no such user" }, 0, "no such user"],
    [{ forwardedStatusCode: 500, other: true }, 500, ""],
  ])("rejects %j", async (json, statusCode, message) => {
    stub.reply({ json });
    const error = await callError(caller.call(targetFor(), payload));
    expect(error.kind).toBe("forwarded");
    expect(error.forwardedStatusCode).toBe(statusCode);
    expect(error.forwardedErrorMessage).toBe(message);
  });

  it("rejects a forwarded field whose key is written with escapes", async () => {
    stub.reply({ body: '{"f\\u006frwardedStatusCode":451}' });
    const error = await callError(caller.call(targetFor(), payload));
    expect(error.kind).toBe("forwarded");
    expect(error.forwardedStatusCode).toBe(451);
  });

  it("accepts an answer that names forwarded fields only in values", async () => {
    const body = '{"note":"forwardedStatusCode","n":1}';
    stub.reply({ body });
    const answer = await caller.call(targetFor(), payload);
    expect(text(answer)).toBe(body);
  });

  it("keeps the forwarded message out of the message", async () => {
    stub.reply({ json: { forwardedErrorMessage: "secret-reason" } });
    const error = await callError(caller.call(targetFor(), payload));
    expect(error.message).not.toContain("secret-reason");
  });
});

describe("createTargetCaller timeouts and transport", () => {
  it("times out while the body is slow", async () => {
    stub.reply({ chunks: ['{"partial":', "true}"], chunkIntervalMs: 10_000 });
    const started = Date.now();
    const error = await callError(
      caller.call(targetFor({ timeoutMs: 300 }), payload),
    );
    expect(error.kind).toBe("timeout");
    expect(error.message).toContain("300 ms");
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("times out before the headers", async () => {
    stub.reply({ delayMs: 10_000 });
    const error = await callError(
      caller.call(targetFor({ timeoutMs: 200 }), payload),
    );
    expect(error.kind).toBe("timeout");
  });

  it("bounds the body of an error status by the timeout", async () => {
    stub.reply({
      status: 500,
      chunks: ["a", "b", "c"],
      chunkIntervalMs: 10_000,
    });
    const own = useCaller();
    const error = await callError(
      own.call(targetFor({ timeoutMs: 300 }), payload),
    );
    expect(error.kind).toBe("status");
    expect(error.status).toBe(500);

    // close waits for the body that is being dropped, which the target
    // would send for 20 s without the timeout.
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("fails when the connection is refused", async () => {
    const closedPort = await findClosedPort();
    const endpoint = `http://127.0.0.1:${closedPort}/hook`;
    const error = await callError(
      caller.call(targetFor({ endpoint }), payload),
    );
    expect(error.kind).toBe("transport");
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("fails when the target hangs up", async () => {
    stub.reply({ hangUp: true });
    const error = await callError(caller.call(targetFor(), payload));
    expect(error.kind).toBe("transport");
  });

  it("reports a caller abort as transport", async () => {
    stub.reply({ delayMs: 10_000 });
    const controller = new AbortController();
    const pending = caller.call(targetFor(), payload, {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    const error = await callError(pending);
    expect(error.kind).toBe("transport");
  });

  it("fails at once when the caller's signal has already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await callError(
      caller.call(targetFor(), payload, { signal: controller.signal }),
    );
    expect(error.kind).toBe("transport");
    expect(error.message).toContain("the caller aborted the request");
    expect(stub.requests).toHaveLength(0);
  });

  it("adds one listener to a signal that many calls share", async () => {
    stub.respondWith({ delayMs: 10_000 });
    const wide = useCaller({ maxConcurrentPerTarget: 100 });
    const controller = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const pending = Array.from({ length: 20 }, () =>
        callError(
          wide.call(targetFor(), payload, { signal: controller.signal }),
        ),
      );
      await stub.waitForRequests(20);
      expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
      controller.abort();
      const errors = await Promise.all(pending);
      expect(errors.map((error) => error.kind)).toEqual(
        Array(20).fill("transport"),
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("reports a caller deadline as timeout", async () => {
    stub.reply({ delayMs: 10_000 });
    const signal = AbortSignal.timeout(100);
    const error = await callError(
      caller.call(targetFor({ timeoutMs: 5000 }), payload, { signal }),
    );
    expect(error.kind).toBe("timeout");
  });

  it("rejects an invalid timeout", async () => {
    await expect(
      caller.call(targetFor({ timeoutMs: 0 }), payload),
    ).rejects.toThrow(RangeError);
  });

  it("fails after close", async () => {
    const closing = useCaller();
    await closing.close();
    const error = await callError(closing.call(targetFor(), payload));
    expect(error.kind).toBe("transport");
    expect(stub.requests).toHaveLength(0);
  });
});

describe("createTargetCaller response size", () => {
  it("accepts a body at the limit", async () => {
    const limited = useCaller({ maxResponseBytes: 1024 });
    stub.reply({ body: "a".repeat(1024) });
    const result = await limited.call(targetFor(), payload);
    expect(result.length).toBe(1024);
  });

  it("rejects a large Content-Length before reading", async () => {
    const limited = useCaller({ maxResponseBytes: 1024 });
    stub.reply({
      headers: { "content-length": "5000" },
      chunks: ["x", "y"],
      chunkIntervalMs: 10_000,
    });
    const started = Date.now();
    const error = await callError(
      limited.call(targetFor({ timeoutMs: 5000 }), payload),
    );
    expect(error.kind).toBe("response-too-large");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("rejects a large chunked body", async () => {
    const limited = useCaller({ maxResponseBytes: 1024 });
    stub.reply({
      chunks: ["a".repeat(600), "b".repeat(600), "c".repeat(600)],
    });
    const error = await callError(limited.call(targetFor(), payload));
    expect(error.kind).toBe("response-too-large");
    expect(error.message).toContain("1024 bytes");
  });

  it("stops reading an endless body", async () => {
    const limited = useCaller({ maxResponseBytes: 1024 });
    // Sending every chunk would take 4 s, so a quick failure shows that the
    // caller stopped reading after the limit.
    const chunks = Array.from({ length: 200 }, () => "z".repeat(512));
    stub.reply({ chunks, chunkIntervalMs: 20 });
    const started = Date.now();
    const error = await callError(
      limited.call(targetFor({ timeoutMs: 5000 }), payload),
    );
    expect(error.kind).toBe("response-too-large");
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("createTargetCaller concurrency", () => {
  it("rejects calls beyond the per-target limit", async () => {
    const limited = useCaller({ maxConcurrentPerTarget: 2 });
    stub.respondWith({ delayMs: 300 });
    const first = limited.call(targetFor(), payload);
    const second = limited.call(targetFor(), payload);
    const error = await callError(limited.call(targetFor(), payload));
    expect(error.kind).toBe("overloaded");
    expect(error.targetId).toBe("target-1");
    const other = limited.call(targetFor({ id: "target-2" }), payload);
    await Promise.all([first, second, other]);
    expect(stub.requests).toHaveLength(3);
  });

  it("frees slots when calls finish", async () => {
    const limited = useCaller({ maxConcurrentPerTarget: 1 });
    stub.reply({ status: 500 });
    await callError(limited.call(targetFor(), payload));
    await limited.call(targetFor(), payload);
    await limited.call(targetFor(), payload);
    expect(stub.requests).toHaveLength(3);
  });

  it.each([0, -1, 1.5])("rejects maxConcurrentPerTarget %p", (value) => {
    expect(() =>
      createTargetCaller({
        egress: loopbackEgress,
        maxConcurrentPerTarget: value,
      }),
    ).toThrow(RangeError);
  });
});

describe("createTargetCaller metrics", () => {
  it("counts outcomes and observes durations", async () => {
    const registry = new Registry();
    const metrics = createTargetMetrics(registry);
    const measured = useCaller({ metrics });
    stub.reply({ status: 200 }, { status: 503 });
    await measured.call(targetFor(), payload);
    await callError(measured.call(targetFor(), payload));

    const calls = await metrics.calls.get();
    const count = (outcome: string) =>
      calls.values.find(
        (entry) =>
          entry.labels.outcome === outcome &&
          entry.labels.target_id === "target-1",
      )?.value;
    expect(count("success")).toBe(1);
    expect(count("status")).toBe(1);

    const durations = await metrics.duration.get();
    const samples = durations.values.find(
      (entry) =>
        entry.metricName === "actions_target_call_duration_seconds_count",
    );
    expect(samples?.value).toBe(2);
  });
});

async function findClosedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

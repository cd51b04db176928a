import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  Health,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import {
  type HttpTestServer,
  startHttpTestServer,
} from "./http-test-server.js";

const actionServiceV2 = "zitadel.action.v2.ActionService";

let server: HttpTestServer;

beforeAll(async () => {
  server = await startHttpTestServer({ notServing: true });
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  server.health.setNotServing();
});

function healthClient() {
  return createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
}

/**
 * Reads a stream one message at a time with a time limit. A read that
 * times out stays pending, and the next read waits for the same message.
 */
function createReader(stream: AsyncIterable<HealthCheckResponse>) {
  const iterator = stream[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<HealthCheckResponse>> | undefined;
  return async (ms: number): Promise<ServingStatus | "pending" | "done"> => {
    pending ??= iterator.next();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"pending">((resolve) => {
      timer = setTimeout(() => resolve("pending"), ms);
    });
    try {
      const result = await Promise.race([pending, timeout]);
      if (result === "pending") {
        return result;
      }
      pending = undefined;
      return result.done ? "done" : result.value.status;
    } finally {
      clearTimeout(timer);
    }
  };
}

describe("Health.Check", () => {
  it("reports NOT_SERVING until set", async () => {
    const client = healthClient();
    const before = await client.check({ service: "" });
    expect(before.status).toBe(ServingStatus.NOT_SERVING);

    server.health.setServing();
    const after = await client.check({ service: "" });
    expect(after.status).toBe(ServingStatus.SERVING);
  });

  it("reports a served service", async () => {
    server.health.setServing();
    const response = await healthClient().check({ service: actionServiceV2 });
    expect(response.status).toBe(ServingStatus.SERVING);
  });

  it("rejects an unknown service", async () => {
    const error = await healthClient()
      .check({ service: "no.such.Service" })
      .then(
        () => undefined,
        (reason: unknown) => ConnectError.from(reason),
      );
    expect(error?.code).toBe(Code.NotFound);
    expect(error?.rawMessage).toBe("unknown service: no.such.Service");
  });
});

describe("Health.Watch", () => {
  it("streams each status change", async () => {
    const abort = new AbortController();
    const stream = healthClient().watch(
      { service: actionServiceV2 },
      { signal: abort.signal },
    );
    const read = createReader(stream);
    expect(await read(2000)).toBe(ServingStatus.NOT_SERVING);
    expect(await read(100)).toBe("pending");

    server.health.setServing();
    expect(await read(2000)).toBe(ServingStatus.SERVING);
    server.health.setServing();
    expect(await read(100)).toBe("pending");
    server.health.setNotServing();
    expect(await read(2000)).toBe(ServingStatus.NOT_SERVING);

    abort.abort();
    const error = await read(2000).then(
      () => undefined,
      (reason: unknown) => ConnectError.from(reason),
    );
    expect(error?.code).toBe(Code.Canceled);
  });

  it("sends SERVICE_UNKNOWN and stays open", async () => {
    const abort = new AbortController();
    const stream = healthClient().watch(
      { service: "no.such.Service" },
      { signal: abort.signal },
    );
    const read = createReader(stream);
    expect(await read(2000)).toBe(ServingStatus.SERVICE_UNKNOWN);
    server.health.setServing();
    expect(await read(200)).toBe("pending");
    abort.abort();
    await read(2000).catch(() => undefined);
  });
});

describe("HealthService.close", () => {
  let closing: HttpTestServer;

  beforeAll(async () => {
    closing = await startHttpTestServer();
  });

  afterAll(async () => {
    await closing.stop();
  });

  it("ends open Watch streams", async () => {
    const client = createClient(
      Health,
      createGrpcTransport({ baseUrl: closing.baseUrl }),
    );
    const read = createReader(client.watch({ service: "" }));
    expect(await read(2000)).toBe(ServingStatus.SERVING);

    closing.health.setNotServing();
    closing.health.close();
    expect(await read(2000)).toBe(ServingStatus.NOT_SERVING);
    expect(await read(2000)).toBe("done");
  });
});

describe("GET /healthz", () => {
  it("returns 503 until serving, then 200", async () => {
    const before = await fetch(`${server.baseUrl}/healthz`);
    expect(before.status).toBe(503);
    expect(await before.text()).toBe("not serving\n");

    server.health.setServing();
    const after = await fetch(`${server.baseUrl}/healthz`);
    expect(after.status).toBe(200);
    expect(after.headers.get("content-type")).toBe("text/plain");
    expect(await after.text()).toBe("ok\n");
  });

  it("serves HEAD without a body", async () => {
    server.health.setServing();
    const response = await fetch(`${server.baseUrl}/healthz`, {
      method: "HEAD",
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
  });

  it("rejects POST with 405", async () => {
    const response = await fetch(`${server.baseUrl}/healthz`, {
      method: "POST",
    });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
  });
});

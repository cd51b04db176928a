import { type StubTarget, startStubTarget } from "../support/stub-target.js";

let stub: StubTarget;

beforeEach(async () => {
  stub = await startStubTarget();
});

afterEach(async () => {
  await stub.close();
});

function post(path: string, body: string): Promise<Response> {
  return fetch(`${stub.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-test": "1" },
    body,
  });
}

describe("startStubTarget", () => {
  it("listens on loopback", () => {
    expect(stub.url).toBe(`http://127.0.0.1:${stub.port}`);
  });

  it("records method, path, headers and body", async () => {
    await post("/hook?x=1", '{"a":1}');
    const [request] = stub.requests;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/hook?x=1");
    expect(request?.headers["x-test"]).toBe("1");
    expect(request?.text).toBe('{"a":1}');
    expect(request?.json).toEqual({ a: 1 });
    expect(request?.body).toEqual(new TextEncoder().encode('{"a":1}'));
  });

  it("leaves json undefined for other bodies", async () => {
    await post("/", "not json");
    expect(stub.requests[0]?.json).toBeUndefined();
  });

  it("uses queued replies before the default", async () => {
    stub.respondWith({ status: 202, body: "default" });
    stub.reply({ status: 201, json: { queued: true } });
    const first = await post("/", "");
    const second = await post("/", "");
    expect(first.status).toBe(201);
    expect(first.headers.get("content-type")).toBe("application/json");
    expect(await first.json()).toEqual({ queued: true });
    expect(second.status).toBe(202);
    expect(await second.text()).toBe("default");
  });

  it("calls a responder with the request", async () => {
    stub.respondWith((request) => ({ body: `echo ${request.text}` }));
    const response = await post("/", "ping");
    expect(await response.text()).toBe("echo ping");
  });

  it("streams chunks", async () => {
    stub.reply({ chunks: ["a", "b", "c"], chunkIntervalMs: 5 });
    const response = await post("/", "");
    expect(response.headers.get("transfer-encoding")).toBe("chunked");
    expect(await response.text()).toBe("abc");
  });

  it("waits for requests", async () => {
    const waiting = stub.waitForRequests(2, 2000);
    await post("/one", "");
    await post("/two", "");
    const requests = await waiting;
    expect(requests.map((request) => request.path)).toEqual(["/one", "/two"]);
  });

  it("rejects when requests do not arrive", async () => {
    await expect(stub.waitForRequests(1, 50)).rejects.toThrow(
      "expected 1 requests within 50 ms, received 0",
    );
  });

  it("closes with a reply still pending", async () => {
    stub.reply({ delayMs: 10_000 });
    const pending = post("/", "").catch((error: unknown) => error);
    await stub.waitForRequests(1);
    await stub.close();
    // fetch errors come from another realm than jest's, so compare text.
    expect(String(await pending)).toContain("fetch failed");
  });
});

import http2 from "node:http2";
import {
  type HttpTestServer,
  startHttpTestServer,
} from "./http-test-server.js";

const allowedOrigin = "https://console.example.com";
const listTargetsPath = "/zitadel.action.v2.ActionService/ListTargets";

let server: HttpTestServer;

beforeAll(async () => {
  server = await startHttpTestServer({
    allowedOrigins: [allowedOrigin, "https://*.apps.example.com"],
  });
});

afterAll(async () => {
  await server.stop();
});

function preflight(origin: string, path = listTargetsPath) {
  return fetch(`${server.baseUrl}${path}`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers":
        "content-type,connect-protocol-version,authorization,x-zitadel-orgid",
    },
  });
}

function listTargets(headers: Record<string, string>) {
  return fetch(`${server.baseUrl}${listTargetsPath}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "connect-protocol-version": "1",
      ...headers,
    },
    body: "{}",
  });
}

function headerList(response: Response, name: string): string[] {
  return (response.headers.get(name) ?? "")
    .split(",")
    .map((value) => value.trim().toLowerCase())
    .filter((value) => value !== "");
}

describe("CORS preflight", () => {
  it.each([
    ["listed origin", allowedOrigin],
    ["wildcard subdomain", "https://tenant.apps.example.com"],
  ])("allows a %s", async (_case, origin) => {
    const response = await preflight(origin);
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(origin);
    expect(headerList(response, "access-control-allow-methods")).toEqual(
      expect.arrayContaining(["post", "get", "put", "delete"]),
    );
    expect(headerList(response, "access-control-allow-headers")).toEqual(
      expect.arrayContaining([
        "content-type",
        "connect-protocol-version",
        "x-grpc-web",
        "authorization",
        "x-zitadel-orgid",
        "x-request-id",
      ]),
    );
    expect(response.headers.get("access-control-max-age")).toBe("7200");
    expect(headerList(response, "vary")).toContain("origin");
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it.each([
    ["other host", "https://evil.example.com"],
    ["other scheme", "http://console.example.com"],
    ["suffix trick", "https://console.example.com.evil.test"],
    ["bare wildcard domain", "https://apps.example.com"],
  ])("denies an %s", async (_case, origin) => {
    const response = await preflight(origin);
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(response.headers.get("access-control-allow-methods")).toBeNull();
    expect(response.headers.get("access-control-allow-headers")).toBeNull();
  });

  it("covers REST paths", async () => {
    const response = await preflight(allowedOrigin, "/v2/actions/targets/1");
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(
      allowedOrigin,
    );
  });
});

describe("CORS on actual requests", () => {
  it("adds headers for an allowed origin", async () => {
    const response = await listTargets({
      origin: allowedOrigin,
      "x-request-id": "cors-allowed",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(
      allowedOrigin,
    );
    expect(headerList(response, "access-control-expose-headers")).toEqual(
      expect.arrayContaining(["x-request-id", "grpc-status", "grpc-message"]),
    );
    expect(headerList(response, "vary")).toContain("origin");
    expect(response.headers.get("x-request-id")).toBe("cors-allowed");
  });

  it("adds none for a denied origin", async () => {
    const response = await listTargets({ origin: "https://evil.example.com" });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(response.headers.get("access-control-expose-headers")).toBeNull();
    expect(headerList(response, "vary")).toContain("origin");
  });

  it("adds none without an Origin header", async () => {
    const response = await listTargets({});
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(response.headers.get("vary")).toBeNull();
  });

  it("adds headers to REST responses", async () => {
    const response = await fetch(
      `${server.baseUrl}/v2/actions/executions/services`,
      { headers: { origin: allowedOrigin } },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(
      allowedOrigin,
    );
  });

  it("adds headers over HTTP/2", async () => {
    const session = http2.connect(server.baseUrl);
    try {
      const headers = await new Promise<http2.IncomingHttpHeaders>(
        (resolve, reject) => {
          const stream = session.request({
            ":method": "POST",
            ":path": listTargetsPath,
            "content-type": "application/json",
            origin: allowedOrigin,
          });
          stream.on("response", (responseHeaders) => {
            stream.resume();
            resolve(responseHeaders);
          });
          stream.on("error", reject);
          stream.end("{}");
        },
      );
      expect(headers[":status"]).toBe(200);
      expect(headers["access-control-allow-origin"]).toBe(allowedOrigin);
      expect(headers["content-type"]).toBe("application/json");
    } finally {
      session.close();
    }
  });
});

describe("CORS with a wildcard entry", () => {
  let open: HttpTestServer;

  beforeAll(async () => {
    open = await startHttpTestServer({ allowedOrigins: ["*"] });
  });

  afterAll(async () => {
    await open.stop();
  });

  it("allows every origin with *", async () => {
    const response = await fetch(`${open.baseUrl}${listTargetsPath}`, {
      method: "OPTIONS",
      headers: {
        origin: "https://anywhere.example.org",
        "access-control-request-method": "POST",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });
});

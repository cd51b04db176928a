import http2 from "node:http2";
import { Code, createRouterTransport } from "@connectrpc/connect";
import { ActionService as ActionServiceV2 } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { createRestGateway } from "../../src/http/index.js";
import {
  type HttpTestServer,
  rejectedToken,
  startHttpTestServer,
} from "./http-test-server.js";

type Json = Record<string, unknown>;

interface RestResponse {
  status: number;
  headers: Headers;
  body: Json;
}

let server: HttpTestServer;

beforeAll(async () => {
  server = await startHttpTestServer();
});

afterAll(async () => {
  await server.stop();
});

async function rest(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RestResponse> {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body:
      body === undefined
        ? undefined
        : typeof body === "string"
          ? body
          : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: JSON.parse(text) as Json,
  };
}

function webhookBody(name: string): Json {
  return {
    name,
    restWebhook: { interruptOnError: true },
    timeout: "10s",
    endpoint: "https://example.com/hook",
  };
}

async function createTarget(version: string, name: string): Promise<string> {
  const created = await rest(
    "POST",
    `/${version}/actions/targets`,
    webhookBody(name),
  );
  expect(created.status).toBe(200);
  return created.body.id as string;
}

describe.each(["v2", "v2beta"])("REST /%s", (version) => {
  const base = `/${version}/actions`;
  const procedure = (rpc: string) =>
    `/zitadel.action.${version}.ActionService/${rpc}`;

  it("round-trips a target", async () => {
    const created = await rest("POST", `${base}/targets`, {
      ...webhookBody(`round-trip-${version}`),
      notAField: { nested: true },
    });
    expect(created.status).toBe(200);
    expect(created.headers.get("content-type")).toBe("application/json");
    expect(created.body.id).toMatch(/^\d+$/);
    expect(created.body.creationDate).toEqual(expect.any(String));
    expect(created.body.signingKey).toMatch(/^[A-Za-z0-9]{36}$/);
    const id = created.body.id as string;

    const fetched = await rest("GET", `${base}/targets/${id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.target).toMatchObject({
      id,
      name: `round-trip-${version}`,
      restWebhook: { interruptOnError: true },
      timeout: "10s",
      endpoint: "https://example.com/hook",
    });

    // The path id wins over the id in the body.
    const updated = await rest("POST", `${base}/targets/${id}`, {
      id: "1",
      name: `renamed-${version}`,
      timeout: "20s",
    });
    expect(updated.status).toBe(200);
    expect(updated.body.changeDate).toEqual(expect.any(String));

    const listed = await rest("POST", `${base}/targets/search`, {});
    expect(listed.status).toBe(200);
    const targets = listed.body.targets as Json[];
    const renamed = targets.find((target) => target.id === id);
    expect(renamed).toMatchObject({
      name: `renamed-${version}`,
      timeout: "20s",
    });

    const deleted = await rest("DELETE", `${base}/targets/${id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.deletionDate).toEqual(expect.any(String));

    const missing = await rest("GET", `${base}/targets/${id}`);
    expect(missing.status).toBe(404);
  });

  it("sets and lists an execution", async () => {
    const id = await createTarget(version, `execution-target-${version}`);
    const condition = { function: { name: "preuserinfo" } };

    const set = await rest("PUT", `${base}/executions`, {
      condition,
      targets: [id],
    });
    expect(set.status).toBe(200);
    expect(set.body.setDate).toEqual(expect.any(String));

    const listed = await rest("POST", `${base}/executions/search`, {});
    expect(listed.status).toBe(200);
    expect(listed.body.executions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ condition, targets: [id] }),
      ]),
    );

    const removed = await rest("PUT", `${base}/executions`, {
      condition,
      targets: [],
    });
    expect(removed.status).toBe(200);
  });

  it("lists functions, methods and services", async () => {
    const functions = await rest("GET", `${base}/executions/functions`);
    expect(functions.status).toBe(200);
    expect(functions.body).toEqual({ functions: ["preuserinfo"] });

    const methods = await rest("GET", `${base}/executions/methods`);
    expect(methods.status).toBe(200);
    expect(methods.body.methods).toContain(procedure("ListTargets"));

    const services = await rest("GET", `${base}/executions/services`);
    expect(services.status).toBe(200);
    expect(services.body.services).toEqual([
      "zitadel.action.v2.ActionService",
      "zitadel.action.v2beta.ActionService",
    ]);
  });

  it("calls through the interceptors", async () => {
    const before = server.calls.length;
    const response = await rest(
      "GET",
      `${base}/executions/services`,
      undefined,
      {
        authorization: "Bearer token-1",
        "x-zitadel-orgid": "org-1",
        "x-request-id": `request-${version}`,
        "x-forwarded-for": "203.0.113.7",
        origin: "https://console.example.com",
      },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe(`request-${version}`);
    expect(server.calls.slice(before)).toEqual([
      {
        procedure: procedure("ListExecutionServices"),
        authorization: "Bearer token-1",
        orgId: "org-1",
        requestId: `request-${version}`,
        forwardedFor: "203.0.113.7, 127.0.0.1",
        origin: "https://console.example.com",
      },
    ]);
  });
});

describe("REST errors", () => {
  it("maps NotFound to 404 with a JSON status", async () => {
    const response = await rest("GET", "/v2/actions/targets/123456789");
    expect(response.status).toBe(404);
    expect(response.body).toEqual({
      code: Code.NotFound,
      message: expect.stringMatching(/^Target not found.* \([A-Z]+-\w+\)$/),
      details: [
        {
          "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
          id: expect.stringMatching(/^[A-Z]+-\w+$/),
          message: expect.stringMatching(/^Target not found/),
        },
      ],
    });
    expect(response.headers.get("x-request-id")).toEqual(expect.any(String));
  });

  it("maps InvalidArgument to 400", async () => {
    const response = await rest("POST", "/v2/actions/targets", {
      ...webhookBody(""),
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe(Code.InvalidArgument);
    expect(response.body.details).toHaveLength(1);
  });

  it("maps AlreadyExists to 409", async () => {
    await createTarget("v2", "taken-name");
    const response = await rest(
      "POST",
      "/v2beta/actions/targets",
      webhookBody("taken-name"),
    );
    expect(response.status).toBe(409);
    expect(response.body.code).toBe(Code.AlreadyExists);
  });

  it("maps Unauthenticated to 401", async () => {
    const response = await rest(
      "POST",
      "/v2/actions/targets/search",
      {},
      { authorization: rejectedToken },
    );
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      code: Code.Unauthenticated,
      message: "token rejected",
      details: [],
    });
  });

  it.each([
    ["malformed JSON", "{not json"],
    ["a JSON array", "[]"],
    ["a wrong field type", JSON.stringify({ name: 5 })],
  ])("rejects %s with 400", async (_case, body) => {
    const response = await rest("POST", "/v2/actions/targets", body);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe(Code.InvalidArgument);
    expect(response.body.message).toEqual(expect.any(String));
    expect(response.body.details).toEqual([]);
  });

  it("rejects a bad percent-encoding with 400", async () => {
    const response = await rest("GET", "/v2/actions/targets/%zz");
    expect(response.status).toBe(400);
    expect(response.body.code).toBe(Code.InvalidArgument);
  });

  it("rejects an oversized body with 413", async () => {
    const body = JSON.stringify({ name: "x".repeat(5 * 1024 * 1024) });
    const response = await rest("POST", "/v2/actions/targets", body);
    expect(response.status).toBe(413);
    expect(response.body.code).toBe(Code.ResourceExhausted);
  });

  it("rejects another method with 405", async () => {
    const response = await rest("PATCH", "/v2/actions/targets/1", {});
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("DELETE, GET, POST");
    expect(response.body.code).toBe(Code.Unimplemented);
  });

  it("leaves unknown paths to the fallback", async () => {
    const response = await fetch(`${server.baseUrl}/v2/actions/unknown`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("not found\n");
  });
});

describe("REST request mapping", () => {
  it("serves HTTP/2 requests", async () => {
    const session = http2.connect(server.baseUrl);
    try {
      const { status, body } = await new Promise<{
        status: number | undefined;
        body: string;
      }>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/v2/actions/targets/search",
          "content-type": "application/json",
        });
        let status: number | undefined;
        let body = "";
        stream.setEncoding("utf8");
        stream.on("response", (headers) => {
          status = headers[":status"];
        });
        stream.on("data", (chunk: string) => {
          body += chunk;
        });
        stream.on("end", () => resolve({ status, body }));
        stream.on("error", reject);
        stream.end(JSON.stringify({ pagination: { limit: 1 } }));
      });
      expect(status).toBe(200);
      expect(JSON.parse(body)).toHaveProperty("pagination");
    } finally {
      session.close();
    }
  });

  it("treats an empty body as the empty message", async () => {
    const response = await fetch(
      `${server.baseUrl}/v2/actions/targets/search`,
      {
        method: "POST",
      },
    );
    expect(response.status).toBe(200);
  });

  it("lets the path win over query parameters", async () => {
    const id = await createTarget("v2", "query-target");
    const response = await rest("GET", `/v2/actions/targets/${id}?id=1`);
    expect(response.status).toBe(200);
    expect((response.body.target as Json).id).toBe(id);
  });

  it("treats search as a fixed segment", async () => {
    const response = await rest("POST", "/v2/actions/targets/search", {
      pagination: { limit: 1 },
    });
    expect(response.status).toBe(200);
    expect(response.body.targets).toEqual(expect.any(Array));
    expect((response.body.targets as Json[]).length).toBeLessThanOrEqual(1);
  });

  it("decodes percent-encoded path variables", async () => {
    const before = server.calls.length;
    const response = await rest("GET", "/v2/actions/targets/a%2Fb");
    expect(response.status).toBe(404);
    expect(server.calls.slice(before).map((call) => call.procedure)).toEqual([
      "/zitadel.action.v2.ActionService/GetTarget",
    ]);
  });
});

describe("REST route table", () => {
  const transport = createRouterTransport(() => {});

  it("rejects an unknown RPC", () => {
    expect(() =>
      createRestGateway({
        services: [ActionServiceV2],
        transport,
        routes: [{ method: "GET", path: "/actions/nothing", rpc: "Nothing" }],
      }),
    ).toThrow(
      "REST route GET /actions/nothing: zitadel.action.v2.ActionService has no unary RPC Nothing",
    );
  });

  it("rejects an unknown path variable", () => {
    expect(() =>
      createRestGateway({
        services: [ActionServiceV2],
        transport,
        routes: [
          { method: "GET", path: "/actions/targets/{name}", rpc: "GetTarget" },
        ],
      }),
    ).toThrow(
      "REST route GET /v2/actions/targets/{name}: zitadel.action.v2.GetTargetRequest has no field name",
    );
  });
});

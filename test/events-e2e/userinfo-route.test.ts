import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import {
  buildUserInfo,
  createSampleUserService,
  sampleEventTypes,
  sampleFunctions,
} from "../../src/sample/index.js";
import { clientFor } from "../support/clients.js";
import {
  startTestServer,
  TEST_TOKEN,
  type TestServer,
} from "../support/start-server.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";

const userToken = "userinfo-token-0123456789abcdef";

let server: TestServer;
let stub: StubTarget;

beforeAll(async () => {
  stub = await startStubTarget();
  server = await startTestServer({
    config: {
      egressAllow: ["127.0.0.0/8"],
      authTokens: [`test-admin:${TEST_TOKEN}`, `ada-1:${userToken}`],
    },
    services: (host) => [createSampleUserService(host)],
    httpRoutes: (host) => [
      {
        path: "/oidc/v1/userinfo",
        handle: (caller, signal) =>
          buildUserInfo(host, caller.userId, { signal }),
      },
    ],
    eventTypes: sampleEventTypes,
    functions: sampleFunctions,
  });
  await clientFor(UserService, "connect-json-h1", server.baseUrl).addHumanUser({
    userId: "ada-1",
    username: "ada",
    profile: { givenName: "Ada", familyName: "Lovelace" },
    email: { email: "ada@example.com" },
  });
});

afterAll(async () => {
  await server.stop();
  await stub.close();
});

function userinfo(token?: string, method = "GET"): Promise<Response> {
  return fetch(`${server.baseUrl}/oidc/v1/userinfo`, {
    method,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

it("userinfo route returns claims extended by preuserinfo", async () => {
  const actions = clientFor(ActionService, "connect-json-h1", server.baseUrl);
  const target = await actions.createTarget({
    name: "claims",
    targetType: { case: "restCall", value: { interruptOnError: true } },
    timeout: { seconds: 5n },
    endpoint: `${stub.url}/claims`,
  });
  await actions.setExecution({
    condition: {
      conditionType: { case: "function", value: { name: "preuserinfo" } },
    },
    targets: [target.id],
  });
  stub.reply({
    json: { append_claims: [{ key: "department", value: "R&D" }] },
  });

  const response = await userinfo(userToken);
  const claims = (await response.json()) as Record<string, unknown>;

  expect(response.status).toBe(200);
  expect(claims.sub).toBe("ada-1");
  expect(claims.email).toBe("ada@example.com");
  expect(claims.department).toBe("R&D");
  const payload = stub.requests[0]?.json as Record<string, unknown>;
  expect(payload.function).toBe("function/preuserinfo");
});

it("userinfo route rejects a missing token", async () => {
  const response = await userinfo();

  expect(response.status).toBe(401);
  expect(response.headers.get("www-authenticate")).toContain("invalid_token");
});

it("userinfo route rejects a caller without a user", async () => {
  const response = await userinfo(TEST_TOKEN);
  const body = (await response.json()) as Record<string, unknown>;

  expect(response.status).toBe(401);
  expect(body.error_description).toBe("no active user");
});

it("userinfo route rejects other methods", async () => {
  const response = await userinfo(userToken, "DELETE");

  expect(response.status).toBe(405);
});

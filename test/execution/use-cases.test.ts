import { Code } from "@connectrpc/connect";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import {
  createSampleUserService,
  sampleEventTypes,
  sampleFunctions,
} from "../../src/sample/index.js";
import { clientFor, closeGrpcJsClients } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/start-server.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";

// The four uses that motivate request and response executions, run on the
// sample UserService exactly as an operator would set them up.

const addHumanUser = "/zitadel.user.v2.UserService/AddHumanUser";

let server: TestServer;
let stub: StubTarget;
let actions: ReturnType<typeof clientFor<typeof ActionService>>;
let users: ReturnType<typeof clientFor<typeof UserService>>;

beforeAll(async () => {
  stub = await startStubTarget();
  server = await startTestServer({
    config: { egressAllow: ["127.0.0.0/8"] },
    services: (host) => [createSampleUserService(host)],
    eventTypes: sampleEventTypes,
    functions: sampleFunctions,
  });
  actions = clientFor(ActionService, "connect-json-h1", server.baseUrl);
  users = clientFor(UserService, "grpc", server.baseUrl);
});

afterAll(async () => {
  closeGrpcJsClients();
  await server.stop();
  await stub.close();
});

afterEach(async () => {
  for (const phase of ["request", "response"] as const) {
    await actions.setExecution({
      condition: {
        conditionType: {
          case: phase,
          value: { condition: { case: "method", value: addHumanUser } },
        },
      },
      targets: [],
    });
  }
  stub.respondWith({ status: 200 });
  stub.requests.length = 0;
});

async function setTarget(
  phase: "request" | "response",
  kind: "restWebhook" | "restCall",
  path: string,
): Promise<string> {
  const target = await actions.createTarget({
    name: `${phase}-${kind}-${path}-${Date.now()}-${Math.random()}`,
    targetType: { case: kind, value: { interruptOnError: true } },
    timeout: { seconds: 5n },
    endpoint: `${stub.url}${path}`,
  });
  await actions.setExecution({
    condition: {
      conditionType: {
        case: phase,
        value: { condition: { case: "method", value: addHumanUser } },
      },
    },
    targets: [target.id],
  });
  return target.id;
}

function newUser(username: string, email: string) {
  return {
    username,
    profile: { givenName: "Ada", familyName: "Lovelace" },
    email: { email },
  };
}

async function usernames(): Promise<string[]> {
  const list = await users.listUsers({});
  return list.result.map((user) => user.username);
}

it("validation target rejects an invalid user before it is stored", async () => {
  await setTarget("request", "restWebhook", "/validate");
  stub.respondWith((request) => {
    const payload = request.json as { request: { username?: string } };
    return payload.request.username?.startsWith("bad-")
      ? {
          json: {
            forwardedStatusCode: 400,
            forwardedErrorMessage: "username must not start with bad-",
          },
        }
      : { status: 200 };
  });

  await expect(
    users.addHumanUser(newUser("bad-ada", "ada@example.com")),
  ).rejects.toMatchObject({ code: Code.InvalidArgument });
  const good = await users.addHumanUser(newUser("ada", "ada@example.com"));

  expect(good.userId).not.toBe("");
  expect(await usernames()).toContain("ada");
  expect(await usernames()).not.toContain("bad-ada");
});

it("call target adds metadata that is stored with the user", async () => {
  await setTarget("request", "restCall", "/enrich");
  stub.respondWith((request) => {
    const payload = request.json as { request: Record<string, unknown> };
    return {
      json: {
        ...payload.request,
        metadata: [
          { key: "source", value: Buffer.from("actions").toString("base64") },
        ],
      },
    };
  });

  const added = await users.addHumanUser(newUser("grace", "grace@example.com"));
  const metadata = await users.listUserMetadata({ userId: added.userId });

  expect(metadata.metadata).toHaveLength(1);
  expect(metadata.metadata[0]?.key).toBe("source");
  expect(Buffer.from(metadata.metadata[0]?.value ?? []).toString()).toBe(
    "actions",
  );
});

it("domain restriction rejects other email domains", async () => {
  await setTarget("request", "restWebhook", "/domains");
  stub.respondWith((request) => {
    const payload = request.json as {
      request: { email?: { email?: string } };
    };
    const email = payload.request.email?.email ?? "";
    return email.endsWith("@allowed.example")
      ? { status: 200 }
      : {
          json: {
            forwardedStatusCode: 403,
            forwardedErrorMessage: "registration is limited to allowed.example",
          },
        };
  });

  const rejected = users.addHumanUser(
    newUser("mallory", "mallory@other.example"),
  );
  await expect(rejected).rejects.toMatchObject({
    code: Code.PermissionDenied,
  });
  const accepted = await users.addHumanUser(
    newUser("alice", "alice@allowed.example"),
  );

  expect(accepted.userId).not.toBe("");
  expect(await usernames()).not.toContain("mallory");
});

it("response target receives each created user's id", async () => {
  await setTarget("response", "restWebhook", "/provision");

  const added = await users.addHumanUser(newUser("linus", "linus@example.com"));

  expect(stub.requests).toHaveLength(1);
  const payload = stub.requests[0]?.json as {
    fullMethod: string;
    request: { username: string };
    response: { userId: string };
  };
  expect(payload.fullMethod).toBe(addHumanUser);
  expect(payload.request.username).toBe("linus");
  expect(payload.response.userId).toBe(added.userId);
});

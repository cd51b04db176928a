import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import {
  AddHumanUserResponseSchema,
  UserService,
} from "../../gen/zitadel/user/v2/user_service_pb.js";
import { hostService } from "../../src/server.js";
import { clientFor } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/start-server.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";

let server: TestServer;
let stub: StubTarget;
const handled: string[] = [];

beforeAll(async () => {
  stub = await startStubTarget();
  server = await startTestServer({
    config: { egressAllow: ["127.0.0.0/8"] },
    services: [
      hostService(UserService, {
        addHumanUser(request) {
          handled.push(request.username ?? "");
          return create(AddHumanUserResponseSchema, {
            userId: `id-${request.username}`,
          });
        },
      }),
    ],
  });
});

afterAll(async () => {
  await server.stop();
  await stub.close();
});

it("rewrites a request through a call target", async () => {
  const actions = clientFor(ActionService, "connect-json-h1", server.baseUrl);
  const users = clientFor(UserService, "grpc", server.baseUrl);
  const target = await actions.createTarget({
    name: "rewrite",
    targetType: { case: "restCall", value: { interruptOnError: true } },
    timeout: { seconds: 5n },
    endpoint: `${stub.url}/call`,
  });
  await actions.setExecution({
    condition: {
      conditionType: {
        case: "request",
        value: {
          condition: {
            case: "method",
            value: "/zitadel.user.v2.UserService/AddHumanUser",
          },
        },
      },
    },
    targets: [target.id],
  });
  stub.reply({ json: { username: "rewritten" } });

  const response = await users.addHumanUser({ username: "original" });

  expect(response.userId).toBe("id-rewritten");
  expect(handled).toEqual(["rewritten"]);
  const payload = stub.requests[0]?.json as Record<string, unknown>;
  expect(payload.fullMethod).toBe("/zitadel.user.v2.UserService/AddHumanUser");
  expect(payload.request).toEqual({ username: "original" });
});

it("fails the call when an interrupting webhook answers 500", async () => {
  stub.reply({ status: 500 });
  const users = clientFor(UserService, "connect-json-h1", server.baseUrl);
  await expect(users.addHumanUser({ username: "x" })).rejects.toMatchObject({
    code: Code.FailedPrecondition,
  });
});

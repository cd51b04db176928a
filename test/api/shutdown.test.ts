import { existsSync } from "node:fs";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import {
  createSampleUserService,
  sampleEventTypes,
  sampleFunctions,
} from "../../src/sample/index.js";
import { clientFor } from "../support/clients.js";
import { startTestServer } from "../support/start-server.js";
import { startStubTarget } from "../support/stub-target.js";

it("close lets in-flight calls finish", async () => {
  const stub = await startStubTarget();
  const server = await startTestServer({
    config: { egressAllow: ["127.0.0.0/8"], shutdownTimeoutMs: 5000 },
    services: (host) => [createSampleUserService(host)],
    eventTypes: sampleEventTypes,
    functions: sampleFunctions,
  });
  const actions = clientFor(ActionService, "connect-json-h1", server.baseUrl);
  const users = clientFor(UserService, "connect-binary-h2", server.baseUrl);
  const target = await actions.createTarget({
    name: "slow",
    targetType: { case: "restWebhook", value: { interruptOnError: true } },
    timeout: { seconds: 5n },
    endpoint: `${stub.url}/slow`,
  });
  await actions.setExecution({
    condition: {
      conditionType: {
        case: "request",
        value: { condition: { case: "service", value: UserService.typeName } },
      },
    },
    targets: [target.id],
  });
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  stub.respondWith(async () => {
    await held;
    return { status: 200 };
  });

  const inFlight = users.addHumanUser({
    username: "late",
    profile: { givenName: "Late", familyName: "Caller" },
    email: { email: "late@example.com" },
  });
  await stub.waitForRequests(1);
  const closed = server.stop({ keepData: true });
  release();
  const response = await inFlight;
  await closed;

  expect(response.userId).not.toBe("");
  await expect(
    clientFor(ActionService, "connect-json-h1", server.baseUrl).listTargets({}),
  ).rejects.toThrow(/ECONNREFUSED/);
  expect(existsSync(`${server.config.databasePath}-wal`)).toBe(false);
  await stub.close();
});

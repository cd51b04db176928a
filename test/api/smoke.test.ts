import { Code, ConnectError } from "@connectrpc/connect";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import {
  clientFor,
  closeGrpcJsClients,
  transportNames,
} from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/start-server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  closeGrpcJsClients();
  await server.stop();
});

describe.each(transportNames)("ActionService over %s", (transport) => {
  it("creates and gets a target", async () => {
    const client = clientFor(ActionService, transport, server.baseUrl);
    const created = await client.createTarget({
      name: `smoke-${transport}`,
      targetType: { case: "restWebhook", value: { interruptOnError: true } },
      timeout: { seconds: 10n },
      endpoint: "https://example.com/hook",
    });
    const got = await client.getTarget({ id: created.id });
    expect(got.target?.name).toBe(`smoke-${transport}`);
  });

  it("rejects an unknown id with NotFound", async () => {
    const client = clientFor(ActionService, transport, server.baseUrl);
    await expect(client.getTarget({ id: "1" })).rejects.toMatchObject({
      code: Code.NotFound,
    });
  });
});

it("keeps ConnectError codes", () => {
  expect(new ConnectError("x", Code.NotFound).code).toBe(5);
});

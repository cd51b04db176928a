import { createClient, createRouterTransport } from "@connectrpc/connect";
import { pino } from "pino";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { Gender, UserState } from "../../gen/zitadel/user/v2/user_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import {
  createSampleUserService,
  sampleEventTypes,
} from "../../src/sample/index.js";
import {
  humanAddedPayload,
  metadataRemovedEvents,
  metadataSetEvents,
  userEvent,
} from "../../src/sample/user-events.js";
import type { UserRecord } from "../../src/sample/user-schema.js";
import type { HostContext } from "../../src/server.js";
import { clientFor } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/start-server.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import { humanRequest, userClient } from "./fixtures.js";

const user: UserRecord = {
  id: "u-1",
  resourceOwner: "org-1",
  username: "ada",
  state: UserState.ACTIVE,
  givenName: "Ada",
  familyName: "Lovelace",
  nickName: null,
  displayName: "Ada Lovelace",
  preferredLanguage: null,
  gender: null,
  email: "ada@example.com",
  emailVerified: false,
  phone: null,
  phoneVerified: false,
  sequence: 1,
  creationDate: 0,
  changeDate: 0,
};

describe("sample event payloads", () => {
  it("leaves out empty fields of user.human.added", () => {
    expect(humanAddedPayload(user)).toEqual({
      userName: "ada",
      firstName: "Ada",
      lastName: "Lovelace",
      displayName: "Ada Lovelace",
      preferredLanguage: "und",
      email: "ada@example.com",
    });
  });

  it("writes every set field of user.human.added", () => {
    const payload = humanAddedPayload({
      ...user,
      nickName: "countess",
      preferredLanguage: "en",
      gender: Gender.DIVERSE,
      phone: "+44 20 0000 0000",
    });

    expect(payload).toEqual({
      userName: "ada",
      firstName: "Ada",
      lastName: "Lovelace",
      nickName: "countess",
      displayName: "Ada Lovelace",
      preferredLanguage: "en",
      gender: Gender.DIVERSE,
      email: "ada@example.com",
      phone: "+44 20 0000 0000",
    });
  });

  it("builds one metadata event per key", () => {
    const set = metadataSetEvents(
      user,
      [
        { key: "a", value: Uint8Array.from([0, 255]) },
        { key: "b", value: new TextEncoder().encode("x") },
      ],
      "admin",
    );
    const removed = metadataRemovedEvents(user, ["a", "b"], "admin");

    expect(set.map((event) => event.payload)).toEqual([
      { key: "a", value: "AP8=" },
      { key: "b", value: "eA==" },
    ]);
    expect(removed.map((event) => event.payload)).toEqual([
      { key: "a" },
      { key: "b" },
    ]);
    expect(userEvent("user.locked", user, "admin")).toEqual({
      aggregateType: "user",
      aggregateId: "u-1",
      eventType: "user.locked",
      resourceOwner: "org-1",
      creator: "admin",
      payload: {},
    });
  });
});

describe("sample UserService events", () => {
  let server: TestServer | undefined;
  let target: StubTarget | undefined;

  afterEach(async () => {
    await target?.close();
    await server?.stop();
    target = undefined;
    server = undefined;
  });

  it("skips undeclared event types and warns once", async () => {
    const lines: { msg: string; eventType?: string }[] = [];
    server = await startTestServer({
      services: (host) => [createSampleUserService(host)],
      logger: pino(
        { level: "warn" },
        { write: (line: string) => lines.push(JSON.parse(line)) },
      ),
    });
    const client = userClient(server, "connect-json-h1");

    const first = await client.addHumanUser(humanRequest());
    await client.addHumanUser(humanRequest());
    await client.lockUser({ userId: first.userId });

    const warnings = lines.filter((line) =>
      line.msg.startsWith("sample UserService skips an event"),
    );
    expect(warnings.map((line) => line.eventType)).toEqual([
      "user.human.added",
      "user.locked",
    ]);
    const got = await client.getUserByID({ userId: first.userId });
    expect(got.user?.state).toBe(UserState.LOCKED);
  });

  it("leaves userID out when no caller is known", async () => {
    let captured: HostContext | undefined;
    target = await startStubTarget();
    server = await startTestServer({
      services: (host) => {
        captured = host;
        return [createSampleUserService(host)];
      },
      eventTypes: sampleEventTypes,
      config: { egressAllow: ["127.0.0.0/8"] },
    });
    const actions = clientFor(ActionService, "connect-json-h1", server.baseUrl);
    const { id: targetId } = await actions.createTarget({
      name: "sample-events",
      endpoint: target.url,
      timeout: { seconds: 5n },
      targetType: { case: "restWebhook", value: {} },
    });
    await actions.setExecution({
      condition: {
        conditionType: {
          case: "event",
          value: { condition: { case: "all", value: true } },
        },
      },
      targets: [targetId],
    });
    // Without the server's interceptors, no caller is stored.
    const host = captured as HostContext;
    const inProcess = createClient(
      UserService,
      createRouterTransport((router) => {
        const sample = createSampleUserService(host);
        router.service(UserService, sample.implementation);
      }),
    );

    await inProcess.addHumanUser(humanRequest());
    const [request] = await target.waitForRequests(1);

    const body = request?.json as Record<string, unknown>;
    expect(body.event_type).toBe("user.human.added");
    expect(body).not.toHaveProperty("userID");
  });
});

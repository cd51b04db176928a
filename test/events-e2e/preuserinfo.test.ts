import { Code } from "@connectrpc/connect";
import { DeliveryState } from "../../gen/actions/v1/delivery_service_pb.js";
import { Gender } from "../../gen/zitadel/user/v2/user_pb.js";
import { ActionsError } from "../../src/errors.js";
import { buildUserInfo } from "../../src/sample/index.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import {
  createTarget,
  deliveryIdsOfTarget,
  type E2eServer,
  humanUser,
  setEventExecution,
  setFunctionExecution,
  startE2eServer,
  waitForDelivery,
} from "./e2e-server.js";

// buildUserInfo runs on the host context of a real server, so the
// preuserinfo execution is set through the ActionService and the target
// is called by the server's real target runner.

const LOG_CLAIM = "urn:zitadel:iam:action:function/preuserinfo:log";

const targetResponse = {
  append_claims: [
    { key: "department", value: "R&D" },
    { key: "urn:zitadel:iam:x", value: 1 },
    { key: "email", value: "x" },
  ],
  set_user_metadata: [{ key: "k", value: "dmFsdWU=" }],
  append_log_claims: ["hello"],
};

let server: E2eServer;
let target: StubTarget;

beforeEach(async () => {
  server = await startE2eServer();
  target = await startStubTarget();
});

afterEach(async () => {
  await target.close();
  await server.test.stop();
});

async function addUser(): Promise<{ userId: string; email: string }> {
  const request = humanUser({ orgId: "org-ui" });
  const { userId } = await server.users.addHumanUser({
    ...request,
    profile: {
      givenName: "Grace",
      familyName: "Hopper",
      preferredLanguage: "en",
      gender: Gender.FEMALE,
    },
    email: {
      email: request.email.email,
      verification: { case: "isVerified", value: true },
    },
    metadata: [{ key: "team", value: new TextEncoder().encode("navy") }],
  });
  return { userId, email: request.email.email };
}

async function setCallTarget(interruptOnError: boolean): Promise<string> {
  const id = await createTarget(server.actions, `${target.url}/userinfo`, {
    kind: "restCall",
    interruptOnError,
  });
  await setFunctionExecution(server.actions, "preuserinfo", [id]);
  return id;
}

async function metadataOf(userId: string): Promise<Record<string, string>> {
  const listed = await server.users.listUserMetadata({ userId });
  return Object.fromEntries(
    listed.metadata.map((entry) => [
      entry.key,
      new TextDecoder().decode(entry.value),
    ]),
  );
}

describe("buildUserInfo with preuserinfo", () => {
  it("returns the standard claims without an execution", async () => {
    const { userId, email } = await addUser();

    const claims = await buildUserInfo(server.host, userId);

    expect(claims).toEqual({
      sub: userId,
      name: "Grace Hopper",
      given_name: "Grace",
      family_name: "Hopper",
      gender: "female",
      locale: "en",
      updated_at: expect.any(Number),
      preferred_username: expect.stringMatching(/^e2e-user-/),
      email,
      email_verified: true,
    });
    expect(target.requests).toHaveLength(0);
  });

  it("applies claims, metadata and log claims", async () => {
    target.reply({ json: targetResponse });
    await setCallTarget(false);
    const { userId, email } = await addUser();

    const claims = await buildUserInfo(server.host, userId);

    expect(claims.department).toBe("R&D");
    expect(claims).not.toHaveProperty("urn:zitadel:iam:x");
    expect(claims.email).toBe(email);
    expect(claims[LOG_CLAIM]).toEqual(['key "email" already exists', "hello"]);
    expect(claims.sub).toBe(userId);
    expect(await metadataOf(userId)).toEqual({ k: "value", team: "navy" });
  });

  it("sends ZITADEL's snake_case payload", async () => {
    target.reply({ json: {} });
    await setCallTarget(false);
    const { userId, email } = await addUser();

    await buildUserInfo(server.host, userId);

    const [request] = target.requests;
    const body = request?.json as Record<string, Record<string, unknown>>;
    expect(request?.path).toBe("/userinfo");
    expect(Object.keys(body)).toEqual([
      "function",
      "userinfo",
      "user",
      "user_metadata",
      "org",
    ]);
    expect(body.function).toBe("function/preuserinfo");
    expect(body.userinfo?.sub).toBe(userId);
    expect(body.userinfo?.email).toBe(email);
    const user = body.user ?? {};
    expect(user.id).toBe(userId);
    expect(user.resource_owner).toBe("org-ui");
    expect(user.state).toBe(1);
    expect(user.type).toBe(1);
    expect(user.sequence).toBe(1);
    expect(user.preferred_login_name).toBe(user.username);
    expect(user.login_names).toEqual([user.username]);
    expect(user.creation_date).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/);
    expect(user.change_date).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/);
    expect(user.human).toEqual({
      first_name: "Grace",
      last_name: "Hopper",
      display_name: "Grace Hopper",
      preferred_language: "en",
      gender: Gender.FEMALE,
      email,
      is_email_verified: true,
      password_changed: "0001-01-01T00:00:00Z",
      mfa_init_skipped: "0001-01-01T00:00:00Z",
    });
    expect(body.user_metadata).toEqual([
      {
        creation_date: expect.any(String),
        change_date: expect.any(String),
        resource_owner: "org-ui",
        key: "team",
        value: Buffer.from("navy").toString("base64"),
      },
    ]);
    expect(body.org).toEqual({ id: "org-ui" });
  });

  it("emits user.metadata.set for set_user_metadata", async () => {
    target.reply({ json: targetResponse });
    await setCallTarget(false);
    const events = await startStubTarget();
    try {
      const eventTargetId = await createTarget(server.actions, events.url);
      await setEventExecution(server.actions, { event: "user.metadata.set" }, [
        eventTargetId,
      ]);
      const { userId } = await addUser();

      await buildUserInfo(server.host, userId);
      const ids = await deliveryIdsOfTarget(server.deliveries, eventTargetId);
      for (const id of ids) {
        await waitForDelivery(server.deliveries, id, [DeliveryState.DELIVERED]);
      }

      const bodies = events.requests.map(
        (request) => request.json as Record<string, unknown>,
      );
      // The first comes from AddHumanUser's metadata, the second from the
      // function, recorded with the user as its creator.
      expect(
        bodies.map((b) => [b.sequence, b.userID, b.event_payload]),
      ).toEqual([
        [2, "test-admin", { key: "team", value: "bmF2eQ==" }],
        [3, userId, { key: "k", value: "dmFsdWU=" }],
      ]);
    } finally {
      await events.close();
    }
  });

  it("fails with FailedPrecondition for invalid JSON", async () => {
    target.reply({ body: "not json" });
    await setCallTarget(true);
    const { userId } = await addUser();

    const error = await buildUserInfo(server.host, userId).catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(ActionsError);
    expect((error as ActionsError).code).toBe(Code.FailedPrecondition);
    expect((error as ActionsError).key).toBe(
      "Errors.Execution.ResponseIsNotValidJSON",
    );
    expect(await metadataOf(userId)).toEqual({ team: "navy" });
  });

  it("ignores invalid JSON without interrupt_on_error", async () => {
    target.reply({ body: "not json" });
    await setCallTarget(false);
    const { userId } = await addUser();

    const claims = await buildUserInfo(server.host, userId);

    expect(claims.sub).toBe(userId);
    expect(claims).not.toHaveProperty(LOG_CLAIM);
  });

  it("logs metadata entries it cannot set", async () => {
    target.reply({
      json: {
        set_user_metadata: [
          { key: "", value: "dmFsdWU=" },
          { key: "empty", value: "" },
          { key: "ok", value: "dmFsdWU=" },
        ],
      },
    });
    await setCallTarget(false);
    const { userId } = await addUser();

    const claims = await buildUserInfo(server.host, userId);

    expect(claims[LOG_CLAIM]).toEqual([
      'failed to set user metadata key ""',
      'failed to set user metadata key "empty"',
    ]);
    expect(await metadataOf(userId)).toEqual({ ok: "value", team: "navy" });
  });

  it("rejects an unknown user with NotFound", async () => {
    const error = await buildUserInfo(server.host, "no-such-user").catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(ActionsError);
    expect((error as ActionsError).code).toBe(Code.NotFound);
    expect((error as ActionsError).key).toBe("Errors.User.NotFound");
  });
});

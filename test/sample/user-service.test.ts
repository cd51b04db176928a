import { rmSync } from "node:fs";
import { Code } from "@connectrpc/connect";
import { Gender, UserState } from "../../gen/zitadel/user/v2/user_pb.js";
import { sampleEventTypes, sampleFunctions } from "../../src/sample/index.js";
import { closeGrpcJsClients } from "../support/clients.js";
import { rpcError } from "../support/rpc-error.js";
import type { TestServer } from "../support/start-server.js";
import {
  type AddHumanUserInit,
  humanRequest,
  sampleTransports,
  startSampleServer,
  uniqueName,
  userClient,
} from "./fixtures.js";

let server: TestServer;

beforeAll(async () => {
  server = await startSampleServer();
});

afterAll(async () => {
  closeGrpcJsClients();
  await server.stop();
});

describe.each(sampleTransports)("UserService over %s", (transport) => {
  const client = () => userClient(server, transport);

  it("adds and gets a human user", async () => {
    const username = uniqueName("ada");
    const added = await client().addHumanUser({
      username,
      organization: { org: { case: "orgId", value: "org-1" } },
      profile: {
        givenName: "Ada",
        familyName: "Lovelace",
        nickName: "ada",
        preferredLanguage: "en",
        gender: Gender.FEMALE,
      },
      email: {
        email: "ada@example.com",
        verification: { case: "isVerified", value: true },
      },
      phone: { phone: "+41 79 123 45 67" },
      passwordType: {
        case: "password",
        value: { password: "Secret-1234", changeRequired: false },
      },
    });
    expect(added.userId).toMatch(/^\d+$/);
    expect(added.details?.sequence).toBe(1n);
    expect(added.details?.resourceOwner).toBe("org-1");
    expect(added.details?.creationDate).toEqual(added.details?.changeDate);
    expect(added.emailCode).toBeUndefined();
    expect(added.phoneCode).toBeUndefined();

    const got = await client().getUserByID({ userId: added.userId });
    const user = got.user;
    expect(got.details).toEqual(added.details);
    expect(user?.userId).toBe(added.userId);
    expect(user?.state).toBe(UserState.ACTIVE);
    expect(user?.username).toBe(username);
    expect(user?.loginNames).toEqual([username]);
    expect(user?.preferredLoginName).toBe(username);
    expect(user?.details).toEqual(added.details);
    expect(user?.type.case).toBe("human");
    const human = user?.type.case === "human" ? user.type.value : undefined;
    expect(human?.profile?.givenName).toBe("Ada");
    expect(human?.profile?.familyName).toBe("Lovelace");
    expect(human?.profile?.nickName).toBe("ada");
    expect(human?.profile?.displayName).toBe("Ada Lovelace");
    expect(human?.profile?.preferredLanguage).toBe("en");
    expect(human?.profile?.gender).toBe(Gender.FEMALE);
    expect(human?.email?.email).toBe("ada@example.com");
    expect(human?.email?.isVerified).toBe(true);
    expect(human?.phone?.phone).toBe("+41 79 123 45 67");
    expect(human?.phone?.isVerified).toBe(false);
  });

  it("uses the email as username when unset", async () => {
    const email = `${uniqueName("mail")}@example.com`;
    const added = await client().addHumanUser(
      humanRequest({ username: undefined, email: { email } }),
    );
    const got = await client().getUserByID({ userId: added.userId });
    expect(got.user?.username).toBe(email);
    expect(got.user?.loginNames).toEqual([email]);
  });

  it("uses the default resource owner without org_id", async () => {
    const added = await client().addHumanUser(humanRequest());
    expect(added.details?.resourceOwner).toBe("default");
  });

  it("takes the given user id", async () => {
    const userId = uniqueName("given-id");
    const added = await client().addHumanUser(humanRequest({ userId }));
    expect(added.userId).toBe(userId);
  });

  it("returns codes for return_code", async () => {
    const request = humanRequest();
    const added = await client().addHumanUser({
      ...request,
      email: {
        email: `${uniqueName("code")}@example.com`,
        verification: { case: "returnCode", value: {} },
      },
      phone: {
        phone: "+41 79 000 00 00",
        verification: { case: "returnCode", value: {} },
      },
    });
    expect(added.emailCode).toMatch(/^[A-Z0-9]{6}$/);
    expect(added.phoneCode).toMatch(/^[A-Z0-9]{6}$/);
    const got = await client().getUserByID({ userId: added.userId });
    const human = got.user?.type.case === "human" ? got.user.type.value : null;
    expect(human?.email?.isVerified).toBe(false);
  });

  it("accepts names of 200 multi-byte runes", async () => {
    const name = "é".repeat(200);
    const added = await client().addHumanUser(
      humanRequest({ profile: { givenName: name, familyName: name } }),
    );
    const got = await client().getUserByID({ userId: added.userId });
    const human = got.user?.type.case === "human" ? got.user.type.value : null;
    expect(human?.profile?.givenName).toBe(name);
  });

  it("stores metadata given at creation", async () => {
    const value = Uint8Array.from([0, 1, 2, 255]);
    const added = await client().addHumanUser(
      humanRequest({ metadata: [{ key: "k", value }] }),
    );
    const list = await client().listUserMetadata({ userId: added.userId });
    expect(list.metadata.map((m) => m.key)).toEqual(["k"]);
    expect(list.metadata[0]?.value).toEqual(value);
  });

  const badRequests: [string, () => AddHumanUserInit][] = [
    ["empty user_id", () => humanRequest({ userId: "" })],
    ["user_id of 201 runes", () => humanRequest({ userId: "1".repeat(201) })],
    ["empty username", () => humanRequest({ username: "" })],
    ["missing profile", () => humanRequest({ profile: undefined })],
    [
      "empty given_name",
      () => humanRequest({ profile: { givenName: "", familyName: "L" } }),
    ],
    [
      "blank given_name",
      () => humanRequest({ profile: { givenName: "  ", familyName: "L" } }),
    ],
    [
      "given_name of 201 runes",
      () =>
        humanRequest({
          profile: { givenName: "é".repeat(201), familyName: "L" },
        }),
    ],
    [
      "empty family_name",
      () => humanRequest({ profile: { givenName: "A", familyName: "" } }),
    ],
    [
      "family_name of 201 runes",
      () =>
        humanRequest({
          profile: { givenName: "A", familyName: "x".repeat(201) },
        }),
    ],
    [
      "undefined gender",
      () =>
        humanRequest({
          profile: { givenName: "A", familyName: "L", gender: 9 as Gender },
        }),
    ],
    ["missing email", () => humanRequest({ email: undefined })],
    ["empty email", () => humanRequest({ email: { email: "" } })],
    ...[
      "no-at-sign",
      "a@b",
      "@example.com",
      "a@@example.com",
      "a@example.",
      "a@.example.com",
      "a b@example.com",
    ].map((email): [string, () => AddHumanUserInit] => [
      `email "${email}"`,
      () => humanRequest({ email: { email } }),
    ]),
    [
      "empty metadata key",
      () => humanRequest({ metadata: [{ key: "", value: Uint8Array.of(1) }] }),
    ],
    [
      "metadata key of 201 runes",
      () =>
        humanRequest({
          metadata: [{ key: "k".repeat(201), value: Uint8Array.of(1) }],
        }),
    ],
    [
      "empty metadata value",
      () => humanRequest({ metadata: [{ key: "k", value: new Uint8Array() }] }),
    ],
    [
      "metadata value of 500001 bytes",
      () =>
        humanRequest({
          metadata: [{ key: "k", value: new Uint8Array(500_001) }],
        }),
    ],
  ];

  it.each(badRequests)("rejects %s", async (_name, request) => {
    const error = await rpcError(client().addHumanUser(request()));
    expect(error.code).toBe(Code.InvalidArgument);
  });

  it("accepts a metadata value of 500000 bytes", async () => {
    const value = new Uint8Array(500_000).fill(7);
    const added = await client().addHumanUser(
      humanRequest({ metadata: [{ key: "big", value }] }),
    );
    const list = await client().listUserMetadata({ userId: added.userId });
    expect(list.metadata[0]?.value).toEqual(value);
  });

  it("rejects a taken user id", async () => {
    const userId = uniqueName("taken-id");
    await client().addHumanUser(humanRequest({ userId }));
    const error = await rpcError(
      client().addHumanUser(humanRequest({ userId })),
    );
    expect(error.code).toBe(Code.AlreadyExists);
    expect(error.details[0]?.id).toBe("USER-9dk2m");
    expect(error.message).toContain(userId);
  });

  it("rejects a taken username, ignoring case", async () => {
    const username = uniqueName("Taken");
    await client().addHumanUser(humanRequest({ username }));
    const same = await rpcError(
      client().addHumanUser(humanRequest({ username })),
    );
    expect(same.code).toBe(Code.AlreadyExists);
    expect(same.details[0]?.id).toBe("USER-2mv8s");
    const lower = await rpcError(
      client().addHumanUser(humanRequest({ username: username.toLowerCase() })),
    );
    expect(lower.code).toBe(Code.AlreadyExists);
  });

  it("rejects a taken email used as username", async () => {
    const email = `${uniqueName("dup")}@example.com`;
    await client().addHumanUser(
      humanRequest({ username: undefined, email: { email } }),
    );
    const error = await rpcError(
      client().addHumanUser(
        humanRequest({ username: undefined, email: { email } }),
      ),
    );
    expect(error.code).toBe(Code.AlreadyExists);
  });

  it("rejects getting an unknown user with NotFound", async () => {
    const error = await rpcError(client().getUserByID({ userId: "404" }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.details[0]?.id).toBe("USER-4kq8v");
    expect(error.message).toContain('"404"');
  });

  it("rejects an empty user id", async () => {
    const error = await rpcError(client().getUserByID({ userId: "" }));
    expect(error.code).toBe(Code.InvalidArgument);
  });

  it("locks and unlocks a user", async () => {
    const { userId } = await client().addHumanUser(humanRequest());
    const locked = await client().lockUser({ userId });
    expect(locked.details?.sequence).toBe(2n);
    const got = await client().getUserByID({ userId });
    expect(got.user?.state).toBe(UserState.LOCKED);

    const again = await rpcError(client().lockUser({ userId }));
    expect(again.code).toBe(Code.FailedPrecondition);
    expect(again.message).toContain("USER_STATE_LOCKED");

    const unlocked = await client().unlockUser({ userId });
    expect(unlocked.details?.sequence).toBe(3n);
    const after = await client().getUserByID({ userId });
    expect(after.user?.state).toBe(UserState.ACTIVE);

    const notLocked = await rpcError(client().unlockUser({ userId }));
    expect(notLocked.code).toBe(Code.FailedPrecondition);
  });

  it("rejects locking and unlocking unknown users", async () => {
    const lock = await rpcError(client().lockUser({ userId: "404" }));
    expect(lock.code).toBe(Code.NotFound);
    const unlock = await rpcError(client().unlockUser({ userId: "404" }));
    expect(unlock.code).toBe(Code.NotFound);
  });

  it("deletes a user and frees its id", async () => {
    const request = humanRequest({
      metadata: [{ key: "k", value: Uint8Array.of(1) }],
    });
    const { userId } = await client().addHumanUser(request);
    const deleted = await client().deleteUser({ userId });
    expect(deleted.details?.sequence).toBe(2n);

    expect((await rpcError(client().getUserByID({ userId }))).code).toBe(
      Code.NotFound,
    );
    expect((await rpcError(client().deleteUser({ userId }))).code).toBe(
      Code.NotFound,
    );
    expect((await rpcError(client().lockUser({ userId }))).code).toBe(
      Code.NotFound,
    );
    expect((await rpcError(client().listUserMetadata({ userId }))).code).toBe(
      Code.NotFound,
    );
    const list = await client().listUsers({
      queries: [
        { query: { case: "inUserIdsQuery", value: { userIds: [userId] } } },
      ],
    });
    expect(list.result).toEqual([]);

    // The id and the username can be used again, without the old metadata.
    const again = await client().addHumanUser({
      ...request,
      userId,
      metadata: [],
    });
    expect(again.details?.sequence).toBe(1n);
    const metadata = await client().listUserMetadata({ userId });
    expect(metadata.metadata).toEqual([]);
  });
});

describe("UserService over grpc-js", () => {
  it("adds, gets and rejects unknown users", async () => {
    const client = userClient(server, "grpc-js");
    const added = await client.addHumanUser(humanRequest());
    const got = await client.getUserByID({ userId: added.userId });
    expect(got.user?.userId).toBe(added.userId);
    const error = await rpcError(client.getUserByID({ userId: "404" }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.details[0]?.id).toBe("USER-4kq8v");
  });
});

describe("sample exports", () => {
  it("lists the event types and functions", () => {
    expect(sampleEventTypes).toEqual([
      "user.human.added",
      "user.locked",
      "user.unlocked",
      "user.removed",
      "user.metadata.set",
      "user.metadata.removed",
    ]);
    expect(sampleFunctions).toEqual(["preuserinfo"]);
  });
});

describe("UserService restart", () => {
  it("keeps users and metadata", async () => {
    const first = await startSampleServer();
    const value = Uint8Array.from([0, 128, 255]);
    const before = userClient(first, "grpc");
    const request = humanRequest({ metadata: [{ key: "k", value }] });
    const { userId } = await before.addHumanUser(request);
    await before.lockUser({ userId });
    const stored = await before.getUserByID({ userId });
    await first.stop({ keepData: true });

    const second = await startSampleServer({
      config: {
        dataDir: first.dataDir,
        databasePath: first.config.databasePath,
      },
    });
    try {
      const after = userClient(second, "connect-json-h1");
      const got = await after.getUserByID({ userId });
      expect(got.user).toEqual(stored.user);
      expect(got.user?.details?.sequence).toBe(2n);
      const list = await after.listUserMetadata({ userId });
      expect(list.metadata[0]?.value).toEqual(value);
      const taken = await rpcError(after.addHumanUser(request));
      expect(taken.code).toBe(Code.AlreadyExists);
    } finally {
      await second.stop();
      rmSync(first.dataDir, { recursive: true, force: true });
    }
  });
});

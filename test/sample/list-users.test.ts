import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { TextQueryMethod } from "../../gen/zitadel/object/v2/object_pb.js";
import {
  type SearchQuerySchema,
  Type,
  UserFieldName,
} from "../../gen/zitadel/user/v2/query_pb.js";
import { UserState } from "../../gen/zitadel/user/v2/user_pb.js";
import type {
  ListUsersRequest,
  ListUsersRequestSchema,
} from "../../gen/zitadel/user/v2/user_service_pb.js";
import { closeGrpcJsClients } from "../support/clients.js";
import { rpcError } from "../support/rpc-error.js";
import type { TestServer } from "../support/start-server.js";
import {
  sampleTransports,
  startSampleServer,
  type UserClient,
  userClient,
} from "./fixtures.js";

type QueryInit = MessageInitShape<typeof SearchQuerySchema>["query"];
type ListInit = Exclude<
  MessageInitShape<typeof ListUsersRequestSchema>,
  ListUsersRequest
>;

let server: TestServer;

beforeAll(async () => {
  server = await startSampleServer();
});

afterAll(async () => {
  closeGrpcJsClients();
  await server.stop();
});

const text = (method: TextQueryMethod) => ({ method });

describe.each(sampleTransports)("ListUsers over %s", (transport) => {
  // Three users in an organization of their own, so other tests' users do
  // not show up. Usernames contain LIKE wildcards on purpose.
  const org = `org-list-${transport}`;
  const ids: Record<"alice" | "bob" | "carol", string> = {
    alice: "",
    bob: "",
    carol: "",
  };
  let client: UserClient;

  const names = (list: { result: { userId: string }[] }) =>
    list.result.map(
      (user) => Object.entries(ids).find(([, id]) => id === user.userId)?.[0],
    );
  const inOrg: { query: QueryInit } = {
    query: { case: "organizationIdQuery", value: { organizationId: org } },
  };
  const list = (request: ListInit = {}) =>
    client.listUsers({
      ...request,
      queries: [inOrg, ...(request.queries ?? [])],
    });
  const matching = async (...queries: QueryInit[]) =>
    names(
      await list({
        query: { asc: true },
        queries: queries.map((query) => ({ query })),
      }),
    );

  beforeAll(async () => {
    client = userClient(server, transport);
    const organization = { org: { case: "orgId" as const, value: org } };
    ids.alice = (
      await client.addHumanUser({
        username: `alice%-${transport}`,
        organization,
        profile: { givenName: "Alice", familyName: "Smith", nickName: "al" },
        email: { email: `alice-${transport}@example.com` },
        phone: { phone: "+41 11" },
      })
    ).userId;
    ids.bob = (
      await client.addHumanUser({
        username: `bob_-${transport}`,
        organization,
        profile: {
          givenName: "Bob",
          familyName: "Jones",
          displayName: "Bobby",
        },
        email: { email: `bob-${transport}@Example.org` },
      })
    ).userId;
    ids.carol = (
      await client.addHumanUser({
        username: `carol-${transport}`,
        organization,
        profile: { givenName: "Carol", familyName: "Smith" },
        email: { email: `carol-${transport}@example.com` },
      })
    ).userId;
    await client.lockUser({ userId: ids.carol });
  });

  it("lists newest first by default", async () => {
    const result = await list();
    expect(names(result)).toEqual(["carol", "bob", "alice"]);
    expect(result.details?.totalResult).toBe(3n);
    expect(result.details?.timestamp).toBeDefined();
    expect(result.sortingColumn).toBe(UserFieldName.UNSPECIFIED);
  });

  it("sorts by a column in both directions", async () => {
    const byFirst = await list({
      sortingColumn: UserFieldName.FIRST_NAME,
      query: { asc: false },
    });
    expect(names(byFirst)).toEqual(["carol", "bob", "alice"]);
    expect(byFirst.sortingColumn).toBe(UserFieldName.FIRST_NAME);
    const byDisplay = await list({
      sortingColumn: UserFieldName.DISPLAY_NAME,
      query: { asc: true },
    });
    // "Alice Smith" < "Bobby" < "Carol Smith"
    expect(names(byDisplay)).toEqual(["alice", "bob", "carol"]);
    const byState = await list({
      sortingColumn: UserFieldName.STATE,
      query: { asc: true },
    });
    expect(names(byState)).toEqual(["alice", "bob", "carol"]);
  });

  it("pages with offset and limit", async () => {
    const first = await list({ query: { asc: true, limit: 2 } });
    expect(names(first)).toEqual(["alice", "bob"]);
    expect(first.details?.totalResult).toBe(3n);
    const second = await list({ query: { asc: true, limit: 2, offset: 2n } });
    expect(names(second)).toEqual(["carol"]);
    expect(second.details?.totalResult).toBe(3n);
    const past = await list({ query: { offset: 10n } });
    expect(past.result).toEqual([]);
  });

  it.each(
    [
      [TextQueryMethod.EQUALS, "Smith", ["alice", "carol"]],
      [TextQueryMethod.EQUALS, "smith", []],
      [TextQueryMethod.EQUALS_IGNORE_CASE, "sMITH", ["alice", "carol"]],
      [TextQueryMethod.STARTS_WITH, "Jo", ["bob"]],
      [TextQueryMethod.STARTS_WITH, "jo", []],
      [TextQueryMethod.STARTS_WITH_IGNORE_CASE, "jO", ["bob"]],
      [TextQueryMethod.CONTAINS, "mit", ["alice", "carol"]],
      [TextQueryMethod.CONTAINS, "MIT", []],
      [TextQueryMethod.CONTAINS_IGNORE_CASE, "MIT", ["alice", "carol"]],
      [TextQueryMethod.ENDS_WITH, "es", ["bob"]],
      [TextQueryMethod.ENDS_WITH, "ES", []],
      [TextQueryMethod.ENDS_WITH_IGNORE_CASE, "ES", ["bob"]],
      [TextQueryMethod.ENDS_WITH, "", ["alice", "bob", "carol"]],
    ].map(([method, value, want]) => [
      TextQueryMethod[method as TextQueryMethod],
      method as TextQueryMethod,
      value as string,
      want as string[],
    ]),
  )("matches last name %s %j", async (_name, method, value, want) => {
    expect(
      await matching({
        case: "lastNameQuery",
        value: { lastName: value, ...text(method) },
      }),
    ).toEqual(want);
  });

  it("treats LIKE wildcards as plain characters", async () => {
    const contains = (userName: string) =>
      matching({
        case: "userNameQuery",
        value: { userName, ...text(TextQueryMethod.CONTAINS) },
      });
    expect(await contains("%")).toEqual(["alice"]);
    expect(await contains("_")).toEqual(["bob"]);
    expect(await contains("' or 1=1 --")).toEqual([]);
  });

  it("matches each text field", async () => {
    const equals = text(TextQueryMethod.EQUALS);
    const ignoreCase = text(TextQueryMethod.EQUALS_IGNORE_CASE);
    expect(
      await matching({
        case: "userNameQuery",
        value: { userName: `bob_-${transport}`, ...equals },
      }),
    ).toEqual(["bob"]);
    expect(
      await matching({
        case: "loginNameQuery",
        value: { loginName: `CAROL-${transport}`, ...ignoreCase },
      }),
    ).toEqual(["carol"]);
    expect(
      await matching({
        case: "firstNameQuery",
        value: { firstName: "Alice", ...equals },
      }),
    ).toEqual(["alice"]);
    expect(
      await matching({
        case: "nickNameQuery",
        value: { nickName: "al", ...equals },
      }),
    ).toEqual(["alice"]);
    expect(
      await matching({
        case: "displayNameQuery",
        value: { displayName: "Carol Smith", ...equals },
      }),
    ).toEqual(["carol"]);
    expect(
      await matching({
        case: "emailQuery",
        value: {
          emailAddress: `BOB-${transport}@example.ORG`,
          ...ignoreCase,
        },
      }),
    ).toEqual(["bob"]);
    expect(
      await matching({
        case: "phoneQuery",
        value: { number: "+41", ...text(TextQueryMethod.STARTS_WITH) },
      }),
    ).toEqual(["alice"]);
  });

  it("matches state, type, ids and emails", async () => {
    expect(
      await matching({
        case: "stateQuery",
        value: { state: UserState.LOCKED },
      }),
    ).toEqual(["carol"]);
    expect(
      await matching({ case: "typeQuery", value: { type: Type.HUMAN } }),
    ).toEqual(["alice", "bob", "carol"]);
    expect(
      await matching({ case: "typeQuery", value: { type: Type.MACHINE } }),
    ).toEqual([]);
    expect(
      await matching({
        case: "inUserIdsQuery",
        value: { userIds: [ids.alice, ids.carol, "404"] },
      }),
    ).toEqual(["alice", "carol"]);
    expect(
      await matching({
        case: "inUserEmailsQuery",
        value: { userEmails: [`bob-${transport}@Example.org`] },
      }),
    ).toEqual(["bob"]);
    expect(
      await matching({ case: "inUserIdsQuery", value: { userIds: [] } }),
    ).toEqual([]);
  });

  it("combines queries with or, and and not", async () => {
    const first = (firstName: string): QueryInit => ({
      case: "firstNameQuery",
      value: { firstName, ...text(TextQueryMethod.EQUALS) },
    });
    const smith: QueryInit = {
      case: "lastNameQuery",
      value: { lastName: "Smith", ...text(TextQueryMethod.EQUALS) },
    };
    const locked: QueryInit = {
      case: "stateQuery",
      value: { state: UserState.LOCKED },
    };
    const or = (...queries: QueryInit[]): QueryInit => ({
      case: "orQuery",
      value: { queries: queries.map((query) => ({ query })) },
    });
    const and = (...queries: QueryInit[]): QueryInit => ({
      case: "andQuery",
      value: { queries: queries.map((query) => ({ query })) },
    });
    const not = (query: QueryInit): QueryInit => ({
      case: "notQuery",
      value: { query: { query } },
    });

    expect(await matching(or(first("Alice"), first("Bob")))).toEqual([
      "alice",
      "bob",
    ]);
    expect(await matching(and(smith, not(locked)))).toEqual(["alice"]);
    expect(await matching(not(or(first("Alice"), first("Bob"))))).toEqual([
      "carol",
    ]);
    expect(await matching(not(not(locked)))).toEqual(["carol"]);
    // Bob and Carol have no nickname, so NOT must still match them.
    expect(
      await matching(
        not({
          case: "nickNameQuery",
          value: { nickName: "al", ...text(TextQueryMethod.EQUALS) },
        }),
      ),
    ).toEqual(["bob", "carol"]);
    expect(await matching(or())).toEqual([]);
    expect(await matching(and())).toEqual(["alice", "bob", "carol"]);
    expect(await matching(smith, locked)).toEqual(["carol"]);
  });

  it("rejects a limit over 1000", async () => {
    const error = await rpcError(list({ query: { limit: 1001 } }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.details[0]?.id).toBe("QUERY-4M0fs");
    const ok = await list({ query: { limit: 1000 } });
    expect(ok.result).toHaveLength(3);
  });

  it.each<[string, QueryInit]>([
    ["a query without case", { case: undefined }],
    ["a not_query without query", { case: "notQuery", value: {} }],
    [
      "an undefined text method",
      {
        case: "userNameQuery",
        value: { userName: "a", method: 99 as TextQueryMethod },
      },
    ],
    [
      "an undefined state",
      { case: "stateQuery", value: { state: 99 as UserState } },
    ],
  ])("rejects %s", async (_name, query) => {
    const error = await rpcError(list({ queries: [{ query }] }));
    expect(error.code).toBe(Code.InvalidArgument);
  });

  it("accepts 10 levels and rejects 11", async () => {
    const nested = (levels: number): QueryInit => {
      let query: QueryInit = { case: "typeQuery", value: { type: Type.HUMAN } };
      for (let i = 1; i < levels; i++) {
        query = { case: "notQuery", value: { query: { query } } };
      }
      return query;
    };
    // An odd number of NOTs around "human" matches nobody.
    const ok = await list({ queries: [{ query: nested(10) }] });
    expect(ok.result).toEqual([]);
    const error = await rpcError(list({ queries: [{ query: nested(11) }] }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.details[0]?.id).toBe("USER-6hq2z");
  });

  it("rejects more than 100 queries", async () => {
    const human: QueryInit = { case: "typeQuery", value: { type: Type.HUMAN } };
    const queries = Array.from({ length: 99 }, () => ({ query: human }));
    // Together with the organization query these are exactly 100.
    const ok = await list({ queries });
    expect(ok.result).toHaveLength(3);
    const error = await rpcError(
      list({ queries: [...queries, { query: human }] }),
    );
    expect(error.code).toBe(Code.InvalidArgument);
  });
});

describe("ListUsers default limit", () => {
  it("returns 100 users when the limit is 0", async () => {
    const client = userClient(server, "grpc");
    const org = "org-default-limit";
    for (let i = 0; i < 101; i++) {
      await client.addHumanUser({
        username: `limit-${i}`,
        organization: { org: { case: "orgId", value: org } },
        profile: { givenName: "L", familyName: "L" },
        email: { email: `limit-${i}@example.com` },
      });
    }
    const result = await client.listUsers({
      queries: [
        {
          query: {
            case: "organizationIdQuery",
            value: { organizationId: org },
          },
        },
      ],
    });
    expect(result.result).toHaveLength(100);
    expect(result.details?.totalResult).toBe(101n);
  });
});

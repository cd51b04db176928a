import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { ActionService as ActionServiceV2 } from "../../gen/zitadel/action/v2/action_service_pb.js";
import {
  type Condition,
  ConditionSchema,
  type Execution,
} from "../../gen/zitadel/action/v2/execution_pb.js";
import {
  ExecutionFieldName,
  type ExecutionSearchFilterSchema,
  ExecutionType,
} from "../../gen/zitadel/action/v2/query_pb.js";
import { ActionService as ActionServiceV2beta } from "../../gen/zitadel/action/v2beta/action_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import {
  type ActionClient,
  type ApiCase,
  actionClient,
  sleep,
} from "../support/action-clients.js";
import { closeGrpcJsClients } from "../support/clients.js";
import { rpcError } from "../support/rpc-error.js";
import {
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from "../support/start-server.js";

type ConditionInit = MessageInitShape<typeof ConditionSchema>;
type FilterInit = MessageInitShape<typeof ExecutionSearchFilterSchema>;

const apiCases: ApiCase[] = [
  { version: "v2", transport: "connect-json-h1" },
  { version: "v2", transport: "grpc" },
  { version: "v2", transport: "grpc-js" },
  { version: "v2beta", transport: "connect-json-h1" },
];

const USER_SERVICE = "zitadel.user.v2.UserService";
const MAX_TARGETS = 3;
// Go's zero time, 0001-01-01T00:00:00Z, which ZITADEL returns for "never".
const ZERO_TIME_SECONDS = -62135596800n;

const serverOptions: TestServerOptions = {
  functions: ["preuserinfo", "preaccesstoken"],
  eventTypes: ["user.human.added", "user.locked", "user.human.changed"],
  services: [{ service: UserService, implementation: {} }],
  config: { maxTargetsPerExecution: MAX_TARGETS },
};

function method(name: string): string {
  return `/${USER_SERVICE}/${name}`;
}

function request(
  condition: { case: "method" | "service"; value: string } | "all",
): ConditionInit {
  return {
    conditionType: {
      case: "request",
      value: {
        condition:
          condition === "all" ? { case: "all", value: true } : condition,
      },
    },
  };
}

function response(
  condition: { case: "method" | "service"; value: string } | "all",
): ConditionInit {
  const { conditionType } = request(condition);
  return {
    conditionType: { case: "response", value: conditionType?.value ?? {} },
  } as ConditionInit;
}

function functionNamed(name: string): ConditionInit {
  return { conditionType: { case: "function", value: { name } } };
}

function event(
  condition: { case: "event" | "group"; value: string } | "all",
): ConditionInit {
  return {
    conditionType: {
      case: "event",
      value: {
        condition:
          condition === "all" ? { case: "all", value: true } : condition,
      },
    },
  };
}

/** Formats a condition as one string, e.g. "request/method=/pkg.S/M". */
function conditionKey(condition: Condition | ConditionInit | undefined) {
  const type = create(ConditionSchema, condition ?? {}).conditionType;
  switch (type.case) {
    case "request":
    case "response":
    case "event":
      return `${type.case}/${type.value.condition.case}=${type.value.condition.value}`;
    case "function":
      return `function/name=${type.value.name}`;
    default:
      return "none";
  }
}

function ms(timestamp: Timestamp | undefined): number {
  if (timestamp === undefined) {
    throw new Error("timestamp is missing");
  }
  return timestampMs(timestamp);
}

function inConditions(...conditions: ConditionInit[]): FilterInit {
  return {
    filter: { case: "inConditionsFilter", value: { conditions } },
  };
}

function ofType(executionType: ExecutionType): FilterInit {
  return {
    filter: { case: "executionTypeFilter", value: { executionType } },
  };
}

function withTarget(targetId: string): FilterInit {
  return { filter: { case: "targetFilter", value: { targetId } } };
}

async function createTargets(
  client: ActionClient,
  prefix: string,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = await client.createTarget({
      name: `${prefix}-${i}-${ids.length}-${Date.now()}`,
      targetType: { case: "restWebhook", value: { interruptOnError: false } },
      timeout: { seconds: 5n },
      endpoint: "https://example.com/hook",
    });
    ids.push(created.id);
  }
  return ids;
}

afterAll(() => {
  closeGrpcJsClients();
});

describe.each(apiCases)("executions over $version $transport", (apiCase) => {
  const { version, transport } = apiCase;
  let server: TestServer;
  let client: ActionClient;
  let targetIds: string[];

  beforeAll(async () => {
    server = await startTestServer(serverOptions);
    client = actionClient(version, transport, server.baseUrl);
    targetIds = await createTargets(client, "exec", 5);
  });

  afterAll(async () => {
    await server.stop();
  });

  async function listed(condition: ConditionInit): Promise<Execution[]> {
    const result = await client.listExecutions({
      filters: [inConditions(condition)],
    });
    return result.executions;
  }

  describe("SetExecution", () => {
    it.each<[string, ConditionInit]>([
      [
        "request method",
        request({ case: "method", value: method("AddHumanUser") }),
      ],
      [
        "request method of the ActionService",
        request({
          case: "method",
          value: "/zitadel.action.v2beta.ActionService/ListTargets",
        }),
      ],
      ["request service", request({ case: "service", value: USER_SERVICE })],
      ["request all", request("all")],
      [
        "response method",
        response({ case: "method", value: method("GetUserByID") }),
      ],
      ["response service", response({ case: "service", value: USER_SERVICE })],
      ["response all", response("all")],
      ["function", functionNamed("preuserinfo")],
      ["event", event({ case: "event", value: "user.human.added" })],
      ["event group", event({ case: "group", value: "user.human" })],
      ["top-level event group", event({ case: "group", value: "user" })],
      ["event all", event("all")],
    ])("sets and lists a %s", async (_, condition) => {
      const [first, second] = targetIds as [string, string];

      const set = await client.setExecution({
        condition,
        targets: [second, first],
      });

      const executions = await listed(condition);
      expect(executions).toHaveLength(1);
      expect(conditionKey(executions[0]?.condition)).toBe(
        conditionKey(condition),
      );
      expect(executions[0]?.targets).toEqual([second, first]);
      expect(ms(executions[0]?.creationDate)).toBe(ms(set.setDate));
      expect(ms(executions[0]?.changeDate)).toBe(ms(set.setDate));
    });

    it.each<[string, ConditionInit | undefined, Code]>([
      [
        "an unknown method",
        request({ case: "method", value: method("Unknown") }),
        Code.NotFound,
      ],
      [
        "a method without its leading slash",
        request({ case: "method", value: `${USER_SERVICE}/AddHumanUser` }),
        Code.NotFound,
      ],
      [
        "a service as a method",
        request({ case: "method", value: `/${USER_SERVICE}` }),
        Code.NotFound,
      ],
      [
        "an unknown service",
        response({ case: "service", value: "zitadel.user.v2.Unknown" }),
        Code.NotFound,
      ],
      [
        "a service with a leading slash",
        request({ case: "service", value: `/${USER_SERVICE}` }),
        Code.NotFound,
      ],
      ["an unknown function", functionNamed("presamlresponse"), Code.NotFound],
      [
        "an unknown event type",
        event({ case: "event", value: "user.unknown" }),
        Code.NotFound,
      ],
      [
        "an event group as an event",
        event({ case: "event", value: "user.human" }),
        Code.NotFound,
      ],
      [
        "an unknown event group",
        event({ case: "group", value: "org" }),
        Code.NotFound,
      ],
      [
        "an event group ending in .*",
        event({ case: "group", value: "user.human.*" }),
        Code.NotFound,
      ],
      ["a missing condition", undefined, Code.InvalidArgument],
      ["a condition with no case", {}, Code.InvalidArgument],
      [
        "a request with no case",
        { conditionType: { case: "request", value: {} } },
        Code.InvalidArgument,
      ],
      [
        "a response with no case",
        { conditionType: { case: "response", value: {} } },
        Code.InvalidArgument,
      ],
      [
        "an event with no case",
        { conditionType: { case: "event", value: {} } },
        Code.InvalidArgument,
      ],
      [
        "request all false",
        {
          conditionType: {
            case: "request",
            value: { condition: { case: "all", value: false } },
          },
        },
        Code.InvalidArgument,
      ],
      [
        "event all false",
        {
          conditionType: {
            case: "event",
            value: { condition: { case: "all", value: false } },
          },
        },
        Code.InvalidArgument,
      ],
      [
        "an empty method",
        request({ case: "method", value: "" }),
        Code.InvalidArgument,
      ],
      ["an empty function", functionNamed(""), Code.InvalidArgument],
    ])("rejects %s", async (_, condition, code) => {
      const error = await rpcError(
        client.setExecution({ condition, targets: [targetIds[0] as string] }),
      );

      expect(error.code).toBe(code);
    });

    it.each<[string, () => string[], Code]>([
      [
        "an empty target id",
        () => [targetIds[0] as string, ""],
        Code.InvalidArgument,
      ],
      [
        "an unknown target id",
        () => [targetIds[0] as string, "1"],
        Code.NotFound,
      ],
      [
        "a repeated target id",
        () => [targetIds[0] as string, targetIds[0] as string],
        Code.NotFound,
      ],
      [
        `more than ${MAX_TARGETS} targets`,
        () => targetIds.slice(0, MAX_TARGETS + 1),
        Code.InvalidArgument,
      ],
    ])("rejects %s", async (_, targets, code) => {
      const condition = request({ case: "method", value: method("ListUsers") });

      const error = await rpcError(
        client.setExecution({ condition, targets: targets() }),
      );

      expect(error.code).toBe(code);
      expect(await listed(condition)).toEqual([]);
    });

    it(`accepts ${MAX_TARGETS} targets`, async () => {
      const condition = response({
        case: "method",
        value: method("ListUsers"),
      });
      const targets = targetIds.slice(0, MAX_TARGETS);

      await client.setExecution({ condition, targets });

      const [execution] = await listed(condition);
      expect(execution?.targets).toEqual(targets);
    });

    it("keeps the target order and replaces the list", async () => {
      const condition = request({ case: "method", value: method("LockUser") });
      const [a, b, c] = targetIds as [string, string, string];

      await client.setExecution({ condition, targets: [c, a, b] });
      const first = await listed(condition);
      await client.setExecution({ condition, targets: [b, a] });
      const second = await listed(condition);
      await client.setExecution({ condition, targets: [] });
      const third = await listed(condition);

      expect(first[0]?.targets).toEqual([c, a, b]);
      expect(second[0]?.targets).toEqual([b, a]);
      expect(third).toEqual([]);
    });

    it("returns the last set date for an unchanged list", async () => {
      const condition = request({
        case: "method",
        value: method("UnlockUser"),
      });
      const targets = targetIds.slice(0, 2);
      const first = await client.setExecution({ condition, targets });
      await sleep(2);

      const again = await client.setExecution({ condition, targets });

      expect(ms(again.setDate)).toBe(ms(first.setDate));
      const [execution] = await listed(condition);
      expect(ms(execution?.changeDate)).toBe(ms(first.setDate));
    });

    it("returns the zero time for a never-set empty list", async () => {
      const condition = response({
        case: "method",
        value: method("DeleteUser"),
      });

      const set = await client.setExecution({ condition, targets: [] });

      expect(set.setDate?.seconds).toBe(ZERO_TIME_SECONDS);
      expect(set.setDate?.nanos).toBe(0);
      expect(await listed(condition)).toEqual([]);
    });

    it("moves the change date and keeps the creation date", async () => {
      const condition = request({
        case: "method",
        value: method("DeleteUser"),
      });
      const [a, b] = targetIds as [string, string];
      const first = await client.setExecution({ condition, targets: [a] });

      const second = await client.setExecution({ condition, targets: [b] });

      expect(ms(second.setDate)).toBeGreaterThan(ms(first.setDate));
      const [execution] = await listed(condition);
      expect(ms(execution?.creationDate)).toBe(ms(first.setDate));
      expect(ms(execution?.changeDate)).toBe(ms(second.setDate));
    });
  });

  describe("DeleteTarget", () => {
    it("removes the target from every execution", async () => {
      const [a, b, c] = await createTargets(client, "removed", 3);
      const both = request({
        case: "method",
        value: method("SetUserMetadata"),
      });
      const onlyB = request({
        case: "method",
        value: method("ListUserMetadata"),
      });
      const reversed = response({
        case: "method",
        value: method("SetUserMetadata"),
      });
      await client.setExecution({ condition: both, targets: [a, b, c] });
      await client.setExecution({ condition: onlyB, targets: [b] });
      await client.setExecution({ condition: reversed, targets: [c, b, a] });

      await client.deleteTarget({ id: b as string });

      expect((await listed(both))[0]?.targets).toEqual([a, c]);
      expect((await listed(reversed))[0]?.targets).toEqual([c, a]);
      expect(await listed(onlyB)).toEqual([]);
      const byTarget = await client.listExecutions({
        filters: [withTarget(b as string)],
      });
      expect(byTarget.executions).toEqual([]);
      const all = await client.listExecutions({ pagination: { limit: 1000 } });
      const listedTargets = all.executions.flatMap(
        (execution) => execution.targets,
      );
      expect(listedTargets).not.toContain(b);
    });
  });

  describe("discovery", () => {
    const methodsOf = (service: typeof UserService | typeof ActionServiceV2) =>
      service.methods.map((m) => `/${service.typeName}/${m.name}`);

    it("lists the served methods sorted", async () => {
      const { methods } = await client.listExecutionMethods({});

      expect(methods).toEqual(expect.arrayContaining(methodsOf(UserService)));
      expect(methods).toEqual(
        expect.arrayContaining(methodsOf(ActionServiceV2)),
      );
      expect(methods).toEqual(
        expect.arrayContaining(
          methodsOf(ActionServiceV2beta as unknown as typeof ActionServiceV2),
        ),
      );
      expect(methods).toContain(
        "/zitadel.action.v2.ActionService/SetExecution",
      );
      expect(methods).toEqual([...methods].sort());
      expect(new Set(methods).size).toBe(methods.length);
    });

    it("lists the served services sorted", async () => {
      const { services } = await client.listExecutionServices({});

      expect(services).toEqual(
        expect.arrayContaining([
          ActionServiceV2.typeName,
          ActionServiceV2beta.typeName,
          UserService.typeName,
        ]),
      );
      expect(services).toEqual([...services].sort());
      expect(new Set(services).size).toBe(services.length);
    });

    it("lists the declared functions sorted", async () => {
      const { functions } = await client.listExecutionFunctions({});

      expect(functions).toEqual(["preaccesstoken", "preuserinfo"]);
    });
  });

  describe("ListExecutions", () => {
    let lister: TestServer;
    let listClient: ActionClient;
    let seedTargets: string[];
    const seeds: ListSeed[] = listSeeds();

    beforeAll(async () => {
      lister = await startTestServer(serverOptions);
      listClient = actionClient(version, transport, lister.baseUrl);
      seedTargets = await createTargets(listClient, "list", 4);
      for (const seed of seeds) {
        await listClient.setExecution({
          condition: seed.condition,
          targets: seed.initial.map((i) => seedTargets[i] as string),
        });
        await sleep(2);
      }
      for (const index of changeOrder) {
        const seed = seeds[index] as ListSeed;
        await listClient.setExecution({
          condition: seed.condition,
          targets: seed.final.map((i) => seedTargets[i] as string),
        });
        await sleep(2);
      }
      // Two executions that must not be listed: one emptied, and one whose
      // only target is deleted.
      const emptied = request({ case: "method", value: method("LockUser") });
      await listClient.setExecution({
        condition: emptied,
        targets: [seedTargets[0] as string],
      });
      await listClient.setExecution({ condition: emptied, targets: [] });
      await listClient.setExecution({
        condition: response({ case: "service", value: USER_SERVICE }),
        targets: [seedTargets[3] as string],
      });
      await listClient.deleteTarget({ id: seedTargets[3] as string });
    });

    afterAll(async () => {
      await lister.stop();
    });

    const keysOf = (executions: Execution[]) =>
      executions.map((execution) => conditionKey(execution.condition));
    const keysOfSeeds = (list: ListSeed[]) =>
      list.map((seed) => conditionKey(seed.condition));

    it("returns newest first by default", async () => {
      const result = await listClient.listExecutions({});

      expect(result.pagination?.appliedLimit).toBe(100n);
      expect(result.pagination?.totalResult).toBe(BigInt(seeds.length));
      expect(keysOf(result.executions)).toEqual(
        keysOfSeeds([...seeds].reverse()),
      );
      for (const execution of result.executions) {
        const seed = seeds.find(
          (seed) =>
            conditionKey(seed.condition) === conditionKey(execution.condition),
        );
        expect(execution.targets).toEqual(
          seed?.final.map((i) => seedTargets[i] as string),
        );
      }
    });

    it("accepts limit 1000", async () => {
      const result = await listClient.listExecutions({
        pagination: { limit: 1000, asc: true },
      });

      expect(result.pagination?.appliedLimit).toBe(1000n);
      expect(keysOf(result.executions)).toEqual(keysOfSeeds(seeds));
    });

    it("rejects limit 1001", async () => {
      const error = await rpcError(
        listClient.listExecutions({ pagination: { limit: 1001 } }),
      );

      expect(error.code).toBe(Code.InvalidArgument);
    });

    it("pages with offset and limit", async () => {
      const result = await listClient.listExecutions({
        pagination: { offset: 2n, limit: 3 },
      });

      expect(result.pagination?.appliedLimit).toBe(3n);
      expect(result.pagination?.totalResult).toBe(BigInt(seeds.length));
      expect(keysOf(result.executions)).toEqual(
        keysOfSeeds([...seeds].reverse().slice(2, 5)),
      );
    });

    it.each([
      ["ID", ExecutionFieldName.ID, (seed: ListSeed) => seed.id],
      [
        "CREATED_DATE",
        ExecutionFieldName.CREATED_DATE,
        (seed: ListSeed) => seed.index,
      ],
      [
        "CHANGED_DATE",
        ExecutionFieldName.CHANGED_DATE,
        (seed: ListSeed) => changeOrder.indexOf(seed.index),
      ],
    ] as const)("sorts by %s both ways", async (_, sortingColumn, key) => {
      const byKey = [...seeds].sort((a, b) =>
        key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0,
      );

      const ascending = await listClient.listExecutions({
        sortingColumn,
        pagination: { asc: true },
      });
      const descending = await listClient.listExecutions({ sortingColumn });

      expect(keysOf(ascending.executions)).toEqual(keysOfSeeds(byKey));
      expect(keysOf(descending.executions)).toEqual(
        keysOfSeeds(byKey.reverse()),
      );
    });

    it.each<[string, () => FilterInit[], (s: ListSeed) => boolean]>([
      [
        "conditions",
        () => [
          inConditions(
            functionNamed("preuserinfo"),
            response({ case: "method", value: method("GetUserByID") }),
            request({ case: "method", value: method("LockUser") }),
          ),
        ],
        (seed) =>
          seed.id === "function/preuserinfo" || seed.id.startsWith("response/"),
      ],
      [
        "type REQUEST",
        () => [ofType(ExecutionType.REQUEST)],
        (seed) => seed.id.startsWith("request"),
      ],
      [
        "type RESPONSE",
        () => [ofType(ExecutionType.RESPONSE)],
        (seed) => seed.id.startsWith("response"),
      ],
      [
        "type EVENT",
        () => [ofType(ExecutionType.EVENT)],
        (seed) => seed.id.startsWith("event"),
      ],
      [
        "type FUNCTION",
        () => [ofType(ExecutionType.FUNCTION)],
        (seed) => seed.id.startsWith("function"),
      ],
      [
        "type UNSPECIFIED",
        () => [ofType(ExecutionType.UNSPECIFIED)],
        () => true,
      ],
      [
        "target",
        () => [withTarget(seedTargets[0] as string)],
        (seed) => seed.final.includes(0),
      ],
      [
        "type and target",
        () => [
          ofType(ExecutionType.REQUEST),
          withTarget(seedTargets[2] as string),
        ],
        (seed) => seed.id.startsWith("request") && seed.final.includes(2),
      ],
      [
        "conditions and type",
        () => [
          inConditions(functionNamed("preuserinfo"), event("all")),
          ofType(ExecutionType.EVENT),
        ],
        (seed) => seed.id === "event",
      ],
      [
        "two targets",
        () => [
          withTarget(seedTargets[1] as string),
          withTarget(seedTargets[2] as string),
        ],
        (seed) => seed.final.includes(1) && seed.final.includes(2),
      ],
    ])("filters by %s", async (_, filters, matches) => {
      const expected = seeds.filter(matches);

      const result = await listClient.listExecutions({
        pagination: { asc: true },
        filters: filters(),
      });

      expect(expected.length).toBeGreaterThan(0);
      expect(keysOf(result.executions)).toEqual(keysOfSeeds(expected));
      expect(result.pagination?.totalResult).toBe(BigInt(expected.length));
    });

    it("counts all matches on a page", async () => {
      const events = seeds.filter((seed) => seed.id.startsWith("event"));

      const result = await listClient.listExecutions({
        pagination: { offset: 1n, limit: 1, asc: true },
        filters: [ofType(ExecutionType.EVENT)],
      });

      expect(result.pagination?.totalResult).toBe(BigInt(events.length));
      expect(keysOf(result.executions)).toEqual(
        keysOfSeeds(events.slice(1, 2)),
      );
    });

    it.each<[string, FilterInit[]]>([
      ["a filter with no case", [{}]],
      ["an undefined execution type", [ofType(99 as ExecutionType)]],
      ["a condition with no case", [inConditions({})]],
    ])("rejects %s", async (_, filters) => {
      const error = await rpcError(listClient.listExecutions({ filters }));

      expect(error.code).toBe(Code.InvalidArgument);
    });
  });
});

interface ListSeed {
  index: number;
  /** The execution id that ZITADEL derives from the condition. */
  id: string;
  condition: ConditionInit;
  /** Indexes into the list server's targets, set first. */
  initial: number[];
  /** Indexes into the list server's targets, set afterwards. */
  final: number[];
}

// The seeds are created in list order and changed in this order, with
// pauses, so creation and change dates sort differently.
const changeOrder = [4, 0, 8, 2, 6, 1, 9, 3, 7, 5];

function listSeeds(): ListSeed[] {
  const seeds: Omit<ListSeed, "index">[] = [
    {
      id: `request/${USER_SERVICE}/AddHumanUser`,
      condition: request({ case: "method", value: method("AddHumanUser") }),
      initial: [0],
      final: [0, 1],
    },
    {
      id: "response",
      condition: response("all"),
      initial: [1],
      final: [2],
    },
    {
      id: "function/preuserinfo",
      condition: functionNamed("preuserinfo"),
      initial: [0, 1],
      final: [1, 0],
    },
    {
      id: "event/user.human.*",
      condition: event({ case: "group", value: "user.human" }),
      initial: [2],
      final: [2, 1],
    },
    {
      id: `request/${USER_SERVICE}`,
      condition: request({ case: "service", value: USER_SERVICE }),
      initial: [1, 2],
      final: [2],
    },
    {
      id: "event/user.locked",
      condition: event({ case: "event", value: "user.locked" }),
      initial: [0],
      final: [0, 2],
    },
    {
      id: `response/${USER_SERVICE}/GetUserByID`,
      condition: response({ case: "method", value: method("GetUserByID") }),
      initial: [2],
      final: [0],
    },
    {
      id: "request",
      condition: request("all"),
      initial: [0, 2],
      final: [2, 0],
    },
    {
      id: "event",
      condition: event("all"),
      initial: [1],
      final: [0],
    },
    {
      id: "function/preaccesstoken",
      condition: functionNamed("preaccesstoken"),
      initial: [2],
      final: [1, 2],
    },
  ];
  return seeds.map((seed, index) => ({ ...seed, index }));
}

describe("executions across versions", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(serverOptions);
  });

  afterAll(async () => {
    await server.stop();
  });

  it.each([
    ["v2", "v2beta", functionNamed("preuserinfo")],
    ["v2beta", "v2", functionNamed("preaccesstoken")],
  ] as const)("shows a %s execution in %s", async (from, to, condition) => {
    const writer = actionClient(from, "connect-json-h1", server.baseUrl);
    const reader = actionClient(to, "grpc", server.baseUrl);
    const [targetId] = await createTargets(writer, `cross-${from}`, 1);

    const set = await writer.setExecution({
      condition,
      targets: [targetId as string],
    });

    const result = await reader.listExecutions({
      filters: [inConditions(condition)],
    });
    expect(result.executions).toHaveLength(1);
    expect(conditionKey(result.executions[0]?.condition)).toBe(
      conditionKey(condition),
    );
    expect(result.executions[0]?.targets).toEqual([targetId]);
    expect(ms(result.executions[0]?.changeDate)).toBe(ms(set.setDate));
  });
});

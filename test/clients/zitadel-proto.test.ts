// Drives the v2beta ActionService with the descriptors that ZITADEL
// publishes in @zitadel/proto 1.3.1, the package that ZITADEL's own
// TypeScript clients use, instead of the code generated from proto/.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { ActionService } from "@zitadel/proto/zitadel/action/v2beta/action_service_pb.js";
import { TextFilterMethod } from "@zitadel/proto/zitadel/filter/v2beta/filter_pb.js";
import {
  startTestServer,
  TEST_TOKEN,
  type TestServer,
} from "../support/start-server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ functions: ["preuserinfo"] });
});

afterAll(async () => {
  await server.stop();
});

// Sets the bearer token on every call, as ZITADEL's client libraries do.
const bearerToken: Interceptor = (next) => (request) => {
  request.header.set("authorization", `Bearer ${TEST_TOKEN}`);
  return next(request);
};

const transports: Array<[string, (baseUrl: string) => Transport]> = [
  [
    "Connect JSON over HTTP/1.1",
    (baseUrl) =>
      createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        interceptors: [bearerToken],
      }),
  ],
  [
    "Connect binary over HTTP/2",
    (baseUrl) =>
      createConnectTransport({
        baseUrl,
        httpVersion: "2",
        useBinaryFormat: true,
        interceptors: [bearerToken],
      }),
  ],
  [
    "gRPC",
    (baseUrl) => createGrpcTransport({ baseUrl, interceptors: [bearerToken] }),
  ],
  [
    "gRPC-web",
    (baseUrl) =>
      createGrpcWebTransport({
        baseUrl,
        httpVersion: "1.1",
        interceptors: [bearerToken],
      }),
  ],
];

describe("@zitadel/proto v2beta client", () => {
  it.each(transports)("should manage targets over %s", async (label, make) => {
    const client = createClient(ActionService, make(server.baseUrl));
    const name = `zitadel-proto ${label}`;
    const before = Date.now();

    const created = await client.createTarget({
      name,
      targetType: { case: "restWebhook", value: { interruptOnError: true } },
      timeout: { seconds: 10n },
      endpoint: "https://example.com/zitadel-proto",
    });
    expect(created.id).toMatch(/^\d+$/);
    expect(created.signingKey).not.toBe("");
    const creationDate = created.creationDate;
    expect(creationDate).toBeDefined();
    if (creationDate !== undefined) {
      expect(timestampMs(creationDate)).toBeGreaterThanOrEqual(before - 1000);
    }

    const { target } = await client.getTarget({ id: created.id });
    expect(target?.id).toBe(created.id);
    expect(target?.name).toBe(name);
    expect(target?.endpoint).toBe("https://example.com/zitadel-proto");
    expect(target?.targetType).toEqual({
      case: "restWebhook",
      value: expect.objectContaining({ interruptOnError: true }),
    });
    expect(target?.timeout?.seconds).toBe(10n);
    expect(target?.signingKey).toBe(created.signingKey);

    const listed = await client.listTargets({
      filters: [
        {
          filter: {
            case: "targetNameFilter",
            value: { targetName: name, method: TextFilterMethod.EQUALS },
          },
        },
      ],
    });
    expect(listed.targets.map((found) => found.id)).toEqual([created.id]);
    expect(listed.pagination?.totalResult).toBe(1n);
  });

  it.each(transports)(
    "should manage executions over %s",
    async (label, make) => {
      const client = createClient(ActionService, make(server.baseUrl));
      const { id } = await client.createTarget({
        name: `zitadel-proto execution ${label}`,
        targetType: { case: "restCall", value: { interruptOnError: false } },
        timeout: { seconds: 5n },
        endpoint: "https://example.com/zitadel-proto-call",
      });
      const condition = {
        conditionType: {
          case: "function" as const,
          value: { name: "preuserinfo" },
        },
      };

      const set = await client.setExecution({ condition, targets: [id] });
      expect(set.setDate).toBeDefined();

      const { executions } = await client.listExecutions({
        filters: [
          { filter: { case: "targetFilter", value: { targetId: id } } },
        ],
      });
      expect(executions).toHaveLength(1);
      expect(executions[0]?.condition?.conditionType).toEqual({
        case: "function",
        value: expect.objectContaining({ name: "preuserinfo" }),
      });
      expect(executions[0]?.targets).toEqual([id]);

      const { functions } = await client.listExecutionFunctions({});
      expect(functions).toEqual(["preuserinfo"]);

      const deleted = await client.deleteTarget({ id });
      expect(deleted.deletionDate).toBeDefined();
      const missing = await client.getTarget({ id }).then(
        () => undefined,
        (reason: unknown) => ConnectError.from(reason),
      );
      expect(missing?.code).toBe(Code.NotFound);
    },
  );

  it("should reject a call without a token", async () => {
    const client = createClient(
      ActionService,
      createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }),
    );
    const error = await client.listTargets({}).then(
      () => undefined,
      (reason: unknown) => ConnectError.from(reason),
    );
    expect(error?.code).toBe(Code.Unauthenticated);
  });
});

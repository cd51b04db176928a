// Calls the ActionService with @grpc/grpc-js over HTTP/2 cleartext. The
// client loads the .proto files at run time with @grpc/proto-loader, and
// protobufjs encodes the messages, so neither protobuf-es nor the code in
// gen/ takes part on the client side.
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  authHeader,
  startTestServer,
  type TestServer,
} from "../support/start-server.js";

type Callback = (error: grpc.ServiceError | null, value: unknown) => void;
type UnaryMethod = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: Callback,
) => grpc.ClientUnaryCall;

let server: TestServer;
let client: grpc.Client;

beforeAll(async () => {
  server = await startTestServer({ functions: ["preuserinfo"] });
  const definition = protoLoader.loadSync(
    "zitadel/action/v2/action_service.proto",
    {
      includeDirs: [join(process.cwd(), "proto")],
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    },
  );
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    zitadel: {
      action: { v2: { ActionService: grpc.ServiceClientConstructor } };
    };
  };
  const ActionService = loaded.zitadel.action.v2.ActionService;
  client = new ActionService(
    `127.0.0.1:${server.port}`,
    grpc.credentials.createInsecure(),
  );
});

afterAll(async () => {
  client.close();
  await server.stop();
});

function bearerMetadata(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", authHeader.authorization);
  return metadata;
}

// Calls a unary method by its camelCase name with a 5 s deadline.
function call<T = Record<string, unknown>>(
  method: string,
  request: object,
  metadata = bearerMetadata(),
): Promise<T> {
  const unary = (client as unknown as Record<string, UnaryMethod>)[method];
  if (unary === undefined) {
    throw new Error(`ActionService has no method ${method}`);
  }
  return new Promise((resolve, reject) => {
    unary.call(
      client,
      request,
      metadata,
      { deadline: Date.now() + 5000 },
      (error, value) => (error ? reject(error) : resolve(value as T)),
    );
  });
}

function callError(
  method: string,
  request: object,
  metadata?: grpc.Metadata,
): Promise<grpc.ServiceError> {
  return call(method, request, metadata).then(
    () => {
      throw new Error(`${method} succeeded, but an error was expected`);
    },
    (error: grpc.ServiceError) => error,
  );
}

describe("grpc-js with proto-loader", () => {
  it("should create and get a target", async () => {
    const created = await call("createTarget", {
      name: "grpc-js target",
      restWebhook: { interruptOnError: true },
      timeout: { seconds: 10 },
      endpoint: "https://example.com/grpc-js",
    });
    expect(created.id).toMatch(/^\d+$/);
    expect(created.signingKey).not.toBe("");

    const { target } = await call<{ target: Record<string, unknown> }>(
      "getTarget",
      { id: created.id },
    );
    expect(target).toMatchObject({
      id: created.id,
      name: "grpc-js target",
      targetType: "restWebhook",
      restWebhook: { interruptOnError: true },
      timeout: { seconds: "10", nanos: 0 },
      endpoint: "https://example.com/grpc-js",
      signingKey: created.signingKey,
    });
  });

  it("should set and list an execution", async () => {
    const { id } = await call("createTarget", {
      name: "grpc-js execution target",
      restCall: { interruptOnError: false },
      timeout: { seconds: 5 },
      endpoint: "https://example.com/grpc-js-call",
    });
    const { methods } = await call<{ methods: string[] }>(
      "listExecutionMethods",
      {},
    );
    expect(methods).toContain("/zitadel.action.v2.ActionService/GetTarget");

    const set = await call("setExecution", {
      condition: {
        request: { method: "/zitadel.action.v2.ActionService/GetTarget" },
      },
      targets: [id],
    });
    expect(set.setDate).toEqual(
      expect.objectContaining({ seconds: expect.any(String) }),
    );

    const { executions } = await call<{
      executions: Array<Record<string, unknown>>;
    }>("listExecutions", { filters: [{ targetFilter: { targetId: id } }] });
    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({
      condition: {
        conditionType: "request",
        request: {
          condition: "method",
          method: "/zitadel.action.v2.ActionService/GetTarget",
        },
      },
      targets: [id],
    });
  });

  it("should reject a call without a token", async () => {
    const error = await callError("listTargets", {}, new grpc.Metadata());
    expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("should report an invalid request", async () => {
    const error = await callError("createTarget", {
      name: "",
      restWebhook: {},
      timeout: { seconds: 10 },
      endpoint: "https://example.com/grpc-js",
    });
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/\([A-Za-z]+-[A-Za-z0-9]+\)$/);
  });
});

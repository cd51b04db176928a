import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  create,
  createFileRegistry,
  fromBinary,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import {
  type Client,
  Code,
  ConnectError,
  createClient,
} from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflection as ServerReflectionV1,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import {
  type HttpTestServer,
  startHttpTestServer,
} from "./http-test-server.js";

const run = promisify(execFile);
const bufBinary = join(process.cwd(), "node_modules", ".bin", "buf");

type RequestInit = MessageInitShape<typeof ServerReflectionRequestSchema>;
type ReflectionCall = Client<typeof ServerReflectionV1>["serverReflectionInfo"];

let server: HttpTestServer;

beforeAll(async () => {
  server = await startHttpTestServer();
});

afterAll(async () => {
  await server.stop();
});

async function bufCurl(...args: string[]): Promise<string> {
  const { stdout } = await run(
    bufBinary,
    ["curl", "--http2-prior-knowledge", ...args],
    { timeout: 20_000 },
  );
  return stdout;
}

// Sends `requests` on one reflection stream and collects the responses.
async function reflect(
  requests: RequestInit[],
  version: "v1" | "v1alpha" = "v1",
): Promise<ServerReflectionResponse[]> {
  const transport = createGrpcTransport({ baseUrl: server.baseUrl });
  // v1alpha has the same messages as v1 under another package, so its
  // responses read the same through the v1 type.
  const call: ReflectionCall =
    version === "v1"
      ? createClient(ServerReflectionV1, transport).serverReflectionInfo
      : (createClient(ServerReflectionV1alpha, transport)
          .serverReflectionInfo as unknown as ReflectionCall);
  async function* input() {
    yield* requests;
  }
  const responses: ServerReflectionResponse[] = [];
  for await (const response of call(input())) {
    responses.push(response);
  }
  return responses;
}

function fileNames(response: ServerReflectionResponse | undefined): string[] {
  return filesOf(response).map((file) => file.name);
}

function filesOf(
  response: ServerReflectionResponse | undefined,
): FileDescriptorProto[] {
  if (response?.messageResponse.case !== "fileDescriptorResponse") {
    throw new Error(
      `expected a file descriptor response, got ${response?.messageResponse.case}`,
    );
  }
  return response.messageResponse.value.fileDescriptorProto.map((bytes) =>
    fromBinary(FileDescriptorProtoSchema, bytes),
  );
}

// Orders files so that each comes after the files it imports, as a
// FileDescriptorSet must be. Reflection sends the requested file first.
function importsFirst(files: FileDescriptorProto[]): FileDescriptorProto[] {
  const byName = new Map(files.map((file) => [file.name, file]));
  const ordered: FileDescriptorProto[] = [];
  const visit = (file: FileDescriptorProto) => {
    if (ordered.includes(file)) {
      return;
    }
    for (const name of file.dependency) {
      const dependency = byName.get(name);
      if (dependency === undefined) {
        throw new Error(`${file.name} imports ${name}, which was not sent`);
      }
      visit(dependency);
    }
    ordered.push(file);
  };
  files.forEach(visit);
  return ordered;
}

function errorOf(response: ServerReflectionResponse | undefined) {
  if (response?.messageResponse.case !== "errorResponse") {
    throw new Error(
      `expected an error response, got ${response?.messageResponse.case}`,
    );
  }
  return response.messageResponse.value;
}

describe("reflection through buf curl", () => {
  it("lists methods without a schema", async () => {
    const output = await bufCurl("--list-methods", server.baseUrl);
    const methods = output.trim().split("\n");
    expect(methods).toContain("zitadel.action.v2.ActionService/ListTargets");
    expect(methods).toContain(
      "zitadel.action.v2beta.ActionService/CreateTarget",
    );
    expect(methods).toContain("grpc.health.v1.Health/Check");
    expect(methods).toContain(
      "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    );
  });

  it("lists services over v1alpha", async () => {
    const output = await bufCurl(
      "--reflect-protocol",
      "grpc-v1alpha",
      "--list-services",
      server.baseUrl,
    );
    expect(output.trim().split("\n")).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "zitadel.action.v2.ActionService",
      "zitadel.action.v2beta.ActionService",
    ]);
  });

  it("calls methods without a schema", async () => {
    const created = JSON.parse(
      await bufCurl(
        "-d",
        JSON.stringify({
          name: "buf-curl-target",
          restWebhook: {},
          timeout: "10s",
          endpoint: "https://example.com/hook",
        }),
        `${server.baseUrl}/zitadel.action.v2.ActionService/CreateTarget`,
      ),
    ) as { id: string };
    expect(created.id).toMatch(/^\d+$/);

    for (const protocol of ["connect", "grpc", "grpcweb"]) {
      const listed = JSON.parse(
        await bufCurl(
          "--protocol",
          protocol,
          "-d",
          "{}",
          `${server.baseUrl}/zitadel.action.v2.ActionService/ListTargets`,
        ),
      ) as { targets: Array<{ id: string; name: string }> };
      expect(listed.targets.map((target) => target.id)).toContain(created.id);
    }
  });
});

describe("reflection through a gRPC client", () => {
  it("lists every served service", async () => {
    const [response] = await reflect([
      { messageRequest: { case: "listServices", value: "" } },
    ]);
    expect(response?.messageResponse.case).toBe("listServicesResponse");
    const names =
      response?.messageResponse.case === "listServicesResponse"
        ? response.messageResponse.value.service.map((s) => s.name)
        : [];
    expect(names).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "zitadel.action.v2.ActionService",
      "zitadel.action.v2beta.ActionService",
    ]);
  });

  it("sends a file with its dependencies once", async () => {
    const [service, target, again] = await reflect([
      {
        host: "localhost",
        messageRequest: {
          case: "fileContainingSymbol",
          value: "zitadel.action.v2.ActionService",
        },
      },
      {
        messageRequest: {
          case: "fileByFilename",
          value: "zitadel/action/v2/target.proto",
        },
      },
      {
        messageRequest: {
          case: "fileContainingSymbol",
          value: "zitadel.action.v2.ActionService",
        },
      },
    ]);
    expect(service?.validHost).toBe("localhost");
    expect(service?.originalRequest?.messageRequest.value).toBe(
      "zitadel.action.v2.ActionService",
    );
    const names = fileNames(service);
    expect(names[0]).toBe("zitadel/action/v2/action_service.proto");
    expect(names).toEqual(
      expect.arrayContaining([
        "zitadel/action/v2/target.proto",
        "zitadel/action/v2/execution.proto",
        "zitadel/action/v2/query.proto",
        "zitadel/filter/v2/filter.proto",
        "google/protobuf/duration.proto",
        "google/protobuf/timestamp.proto",
      ]),
    );
    expect(new Set(names).size).toBe(names.length);
    // Already sent on this stream: only the requested file comes back.
    expect(fileNames(target)).toEqual(["zitadel/action/v2/target.proto"]);
    expect(fileNames(again)).toEqual([
      "zitadel/action/v2/action_service.proto",
    ]);
  });

  it("sends files that form a registry", async () => {
    const [response] = await reflect([
      {
        messageRequest: {
          case: "fileContainingSymbol",
          value: "zitadel.action.v2beta.ActionService",
        },
      },
    ]);
    const registry = createFileRegistry(
      create(FileDescriptorSetSchema, {
        file: importsFirst(filesOf(response)),
      }),
    );
    const service = registry.getService("zitadel.action.v2beta.ActionService");
    expect(service?.methods.map((method) => method.name)).toEqual([
      "CreateTarget",
      "UpdateTarget",
      "DeleteTarget",
      "GetTarget",
      "ListTargets",
      "SetExecution",
      "ListExecutions",
      "ListExecutionFunctions",
      "ListExecutionMethods",
      "ListExecutionServices",
    ]);
    const field = registry
      .getMessage("zitadel.action.v2beta.CreateTargetRequest")
      ?.fields.find((f) => f.name === "rest_webhook");
    expect(field?.jsonName).toBe("restWebhook");
  });

  it.each([
    ["method", "zitadel.action.v2.ActionService.ListTargets", "action_service"],
    [
      "field",
      "zitadel.action.v2.CreateTargetRequest.endpoint",
      "action_service",
    ],
    [
      "oneof",
      "zitadel.action.v2.CreateTargetRequest.target_type",
      "action_service",
    ],
    ["message", "zitadel.action.v2.Target", "target"],
    ["enum", "zitadel.action.v2.TargetFieldName", "query"],
    ["enum value", "zitadel.action.v2.TARGET_FIELD_NAME_CREATED_DATE", "query"],
    [
      "nested enum",
      "grpc.health.v1.HealthCheckResponse.ServingStatus",
      "health",
    ],
    [
      "nested enum value",
      "grpc.health.v1.HealthCheckResponse.SERVING",
      "health",
    ],
    ["well-known type", "google.protobuf.Duration", "duration"],
  ])("finds the file of a %s", async (_kind, symbol, file) => {
    const [response] = await reflect([
      { messageRequest: { case: "fileContainingSymbol", value: symbol } },
    ]);
    expect(fileNames(response)[0]).toMatch(new RegExp(`/${file}\\.proto$`));
  });

  it.each([
    ["fileContainingSymbol", "zitadel.action.v2.NoSuchMessage"],
    ["fileContainingSymbol", "zitadel.action.v2.ActionService.NoSuchMethod"],
    ["fileContainingSymbol", "NoSuchPackage"],
    ["fileByFilename", "zitadel/action/v2/missing.proto"],
    ["allExtensionNumbersOfType", "zitadel.action.v2.NoSuchMessage"],
  ] as const)("returns NOT_FOUND for %s %s", async (kind, value) => {
    const [response, next] = await reflect([
      { messageRequest: { case: kind, value } },
      { messageRequest: { case: "listServices", value: "" } },
    ]);
    const error = errorOf(response);
    expect(error.errorCode).toBe(Code.NotFound);
    expect(error.errorMessage).toContain(value);
    // The stream stays open after an error response.
    expect(next?.messageResponse.case).toBe("listServicesResponse");
  });

  it("returns NOT_FOUND for an unknown extension", async () => {
    const [response] = await reflect([
      {
        messageRequest: {
          case: "fileContainingExtension",
          value: {
            containingType: "zitadel.action.v2.Target",
            extensionNumber: 1000,
          },
        },
      },
    ]);
    expect(errorOf(response).errorCode).toBe(Code.NotFound);
  });

  it("lists no extension numbers of a message", async () => {
    const [response] = await reflect([
      {
        messageRequest: {
          case: "allExtensionNumbersOfType",
          value: "zitadel.action.v2.Target",
        },
      },
    ]);
    expect(response?.messageResponse.case).toBe("allExtensionNumbersResponse");
    expect(response?.messageResponse.value).toMatchObject({
      baseTypeName: "zitadel.action.v2.Target",
      extensionNumber: [],
    });
  });

  it("fails the stream on an empty request", async () => {
    const error = await reflect([{ host: "localhost" }]).then(
      () => undefined,
      (reason: unknown) => ConnectError.from(reason),
    );
    expect(error?.code).toBe(Code.InvalidArgument);
  });

  it("serves v1alpha", async () => {
    const [list, file] = await reflect(
      [
        { messageRequest: { case: "listServices", value: "" } },
        {
          messageRequest: {
            case: "fileByFilename",
            value: "grpc/health/v1/health.proto",
          },
        },
      ],
      "v1alpha",
    );
    expect(list?.messageResponse.case).toBe("listServicesResponse");
    expect(fileNames(file)).toEqual(["grpc/health/v1/health.proto"]);
  });
});

import { execFileSync } from "node:child_process";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
} from "@connectrpc/connect-node";
import {
  ActionService,
  CreateTargetRequestSchema,
} from "../../gen/zitadel/action/v2/action_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import {
  clientFor,
  closeGrpcJsClients,
  type TransportName,
  transportNames,
} from "../support/clients.js";
import { rpcError } from "../support/rpc-error.js";
import type { TestServer } from "../support/start-server.js";
import {
  type StubReply,
  type StubTarget,
  startStubTarget,
} from "../support/stub-target.js";
import {
  ADMIN_TOKEN,
  addHumanUser,
  bearer,
  createGate,
  humanUser,
  requestCondition,
  startSecurityServer,
  type TargetKind,
  targetRequest,
} from "./security-fixture.js";

// The limits of the README's security model, each exceeded through a real
// server, followed by a call that shows the server still serves.

const neverCalled = "https://93.184.216.34/";

describe("request message size", () => {
  const maxRequestBytes = 1024;
  const oversized = targetRequest(neverCalled);
  oversized.name = "n".repeat(4096);
  const oversizedBytes = toBinary(
    CreateTargetRequestSchema,
    create(CreateTargetRequestSchema, oversized),
  ).length;
  // connect-node 2.1.2 names the size only when it has read the gRPC
  // length prefix. A Connect unary request is rejected by Content-Length.
  const expectedMessage: Record<TransportName, string> = {
    "connect-json-h1": `message size is larger than configured readMaxBytes ${maxRequestBytes}`,
    "connect-binary-h2": `message size is larger than configured readMaxBytes ${maxRequestBytes}`,
    grpc: `message size ${oversizedBytes} is larger than configured readMaxBytes ${maxRequestBytes}`,
    "grpc-web": `message size ${oversizedBytes} is larger than configured readMaxBytes ${maxRequestBytes}`,
    "grpc-js": `message size ${oversizedBytes} is larger than configured readMaxBytes ${maxRequestBytes}`,
  };
  let server: TestServer;

  beforeAll(async () => {
    server = await startSecurityServer({ config: { maxRequestBytes } });
  });

  afterAll(async () => {
    closeGrpcJsClients();
    await server.stop();
  });

  function actions(transport: TransportName = "grpc") {
    return clientFor(
      ActionService,
      transport,
      server.baseUrl,
      bearer(ADMIN_TOKEN),
    );
  }

  it.each(transportNames)(
    "%s, should reject a 4 KiB name as ResourceExhausted",
    async (transport) => {
      const error = await rpcError(actions(transport).createTarget(oversized));
      const list = await actions(transport).listTargets({});

      expect(error.code).toBe(Code.ResourceExhausted);
      expect(error.message).toBe(expectedMessage[transport]);
      expect(list.pagination?.totalResult).toBe(0n);
    },
  );

  it("should accept a message under the limit", async () => {
    const request = targetRequest(neverCalled);
    request.name = "n".repeat(900);

    const response = await actions().createTarget(request);
    await actions().deleteTarget({ id: response.id });

    expect(response.id).not.toBe("");
  });

  // A small gzip body that inflates beyond the limit must fail as well.
  // NOTE: connect-node 2.1.2 maps zlib's ERR_BUFFER_TOO_LARGE to
  // ResourceExhausted only when the zlib error passes `instanceof Error`.
  // Under jest the error comes from another VM realm, so the server returns
  // Internal "decompression failed" here. The test below checks the mapping
  // in a plain node process.
  it.each([
    [
      "grpc",
      () =>
        createGrpcTransport({
          baseUrl: server.baseUrl,
          sendCompression: compressionGzip,
          compressMinBytes: 0,
        }),
    ],
    [
      "connect",
      () =>
        createConnectTransport({
          baseUrl: server.baseUrl,
          httpVersion: "1.1",
          sendCompression: compressionGzip,
          compressMinBytes: 0,
        }),
    ],
  ])(
    "%s, should reject a gzip body that inflates past the limit",
    async (_name, transport) => {
      const client = createClient(ActionService, transport());

      const error = await rpcError(
        client.createTarget(oversized, { headers: bearer(ADMIN_TOKEN) }),
      );
      const list = await actions().listTargets({});

      expect(error.code).toBe(Code.Internal);
      expect(error.message).toBe("decompression failed");
      expect(list.pagination?.totalResult).toBe(0n);
    },
  );

  it("should map inflation past the limit to ResourceExhausted", () => {
    const script = [
      'import { gzipSync } from "node:zlib";',
      'import { compressionGzip } from "@connectrpc/connect-node";',
      "const body = new Uint8Array(gzipSync(Buffer.alloc(4096, 110)));",
      `compressionGzip.decompress(body, ${maxRequestBytes}).then(`,
      '  () => console.log("{}"),',
      "  (e) => console.log(JSON.stringify({ code: e.code, message: e.rawMessage })),",
      ");",
    ].join("\n");

    const output = execFileSync(
      process.execPath,
      ["--input-type=module", "--eval", script],
      { encoding: "utf8", timeout: 10_000 },
    );

    expect(JSON.parse(output)).toEqual({
      code: Code.ResourceExhausted,
      message: `message is larger than configured readMaxBytes ${maxRequestBytes} after decompression`,
    });
  });
});

describe("targets, answers and calls in flight", () => {
  const maxTargetsPerExecution = 3;
  let server: TestServer;
  let stub: StubTarget;

  beforeAll(async () => {
    server = await startSecurityServer({
      config: {
        egressAllow: ["127.0.0.0/8"],
        maxTargetResponseBytes: 1024,
        maxTargetsPerExecution,
        maxConcurrentCallsPerTarget: 1,
      },
    });
  });

  beforeEach(async () => {
    stub = await startStubTarget();
  });

  afterEach(async () => {
    await actions().setExecution({
      condition: requestCondition(addHumanUser),
      targets: [],
    });
    await stub.close();
    closeGrpcJsClients();
  });

  afterAll(async () => {
    await server.stop();
  });

  function actions() {
    return clientFor(
      ActionService,
      "grpc",
      server.baseUrl,
      bearer(ADMIN_TOKEN),
    );
  }

  function users(transport: TransportName = "grpc") {
    return clientFor(
      UserService,
      transport,
      server.baseUrl,
      bearer(ADMIN_TOKEN),
    );
  }

  async function targetOnAddHumanUser(kind: TargetKind, interrupt: boolean) {
    const target = await actions().createTarget(
      targetRequest(`${stub.url}/hook`, kind, interrupt),
    );
    await actions().setExecution({
      condition: requestCondition(addHumanUser),
      targets: [target.id],
    });
    return target.id;
  }

  async function expectStillServing() {
    await actions().setExecution({
      condition: requestCondition(addHumanUser),
      targets: [],
    });
    const response = await users().addHumanUser(humanUser());
    expect(response.userId).not.toBe("");
  }

  const largeJson = JSON.stringify({ username: "x".repeat(4096) });
  const largeAnswers: [string, StubReply][] = [
    [
      "with Content-Length",
      { body: largeJson, headers: { "content-type": "application/json" } },
    ],
    [
      "chunked",
      {
        chunks: [largeJson.slice(0, 1000), largeJson.slice(1000)],
        headers: { "content-type": "application/json" },
      },
    ],
  ];

  it.each(largeAnswers)(
    "call answering 4 KiB %s, interrupt fails with FailedPrecondition",
    async (_case, reply) => {
      stub.respondWith(reply);
      const targetId = await targetOnAddHumanUser("call", true);
      const request = { ...humanUser(), userId: `large-${targetId}` };

      const error = await rpcError(users().addHumanUser(request));
      const lookup = await rpcError(
        users().getUserByID({ userId: request.userId }),
      );

      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.message).toBe(
        `Execution failed: the answer of target ${targetId} is larger than ACTIONS_MAX_TARGET_RESPONSE allows (EXEC-8zq1m)`,
      );
      expect(stub.requests).toHaveLength(1);
      expect(lookup.code).toBe(Code.NotFound);
      await expectStillServing();
    },
  );

  it("should reject more targets than the maximum", async () => {
    const ids: string[] = [];
    for (let i = 0; i <= maxTargetsPerExecution; i++) {
      ids.push((await actions().createTarget(targetRequest(neverCalled))).id);
    }
    const condition = requestCondition(
      "/zitadel.user.v2.UserService/ListUsers",
    );

    const error = await rpcError(
      actions().setExecution({ condition, targets: ids }),
    );
    const executions = await actions().listExecutions({});

    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.message).toBe(
      `Execution has too many targets: ${ids.length} given, at most ${maxTargetsPerExecution} are allowed (COMMAND-9tr3a)`,
    );
    expect(executions.executions).toHaveLength(0);
  });

  it("should reject a second concurrent call as ResourceExhausted", async () => {
    const gate = createGate();
    stub.respondWith(async () => {
      await gate.promise;
      return { status: 200 };
    });
    const targetId = await targetOnAddHumanUser("webhook", true);

    const first = users("connect-json-h1").addHumanUser(humanUser());
    await stub.waitForRequests(1);
    const error = await rpcError(users("grpc").addHumanUser(humanUser()));
    gate.open();
    const firstResponse = await first;

    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.message).toBe(
      `Execution failed: target ${targetId} has too many calls in flight; retry later or raise ACTIONS_MAX_CONCURRENT_CALLS_PER_TARGET (EXEC-4kq9v)`,
    );
    expect(firstResponse.userId).not.toBe("");
    expect(stub.requests).toHaveLength(1);

    const third = await users("grpc").addHumanUser(humanUser());
    expect(third.userId).not.toBe("");
    expect(stub.requests).toHaveLength(2);
    await expectStillServing();
  });
});

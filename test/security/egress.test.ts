import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import type { ResolvedAddress } from "../../src/target/index.js";
import {
  clientFor,
  closeGrpcJsClients,
  type TransportName,
} from "../support/clients.js";
import { rpcError } from "../support/rpc-error.js";
import type { TestServer } from "../support/start-server.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import {
  ADMIN_TOKEN,
  addHumanUser,
  bearer,
  type CapturedLogs,
  captureLogs,
  executionFailed,
  humanUser,
  requestCondition,
  startSecurityServer,
  type TargetKind,
  targetRequest,
} from "./security-fixture.js";

// The egress guard through the real API. Denied endpoints are only ever
// given to CreateTarget and UpdateTarget, which reject them before any
// connection, and the public literal below is never put in an execution,
// so no test connects to anything but the loopback stubs.

const publicLiteral = "https://93.184.216.34/";

const deniedEndpoints: readonly string[] = [
  "http://127.0.0.1/",
  "http://127.1/",
  "http://2130706433/",
  "http://0x7f000001/",
  "http://0177.0.0.1/",
  "http://0x7f.1/",
  "http://127.0.0.1.:8080/",
  "http://[::1]/",
  "http://[0:0:0:0:0:0:0:1]/",
  "http://[::]/",
  "http://[::ffff:127.0.0.1]/",
  "http://[::ffff:7f00:1]/",
  "http://[::127.0.0.1]/",
  "http://[64:ff9b::7f00:1]/",
  "http://[2002:7f00:1::]/",
  "http://10.0.0.1/",
  "http://172.16.5.4/",
  "http://192.168.1.1/",
  "http://[::ffff:192.168.1.1]/",
  "http://169.254.169.254/latest/meta-data",
  "http://2852039166/latest/meta-data",
  "http://[::ffff:169.254.169.254]/latest/meta-data",
  "http://[fd00::1]/",
  "http://[fd00:ec2::254]/",
  "http://[fe80::1]/",
  "http://100.64.0.1/",
  "http://0.0.0.0/",
  "http://0/",
  "http://224.0.0.1/",
  "http://[ff02::1]/",
  "http://255.255.255.255/",
  "http://localhost/",
  "http://LOCALHOST./",
  "http://api.localhost/",
  "http://metadata.google.internal/",
  "http://Metadata.Google.Internal./computeMetadata/v1/",
  "http://metadata/",
];

function actions(server: TestServer, transport: TransportName = "grpc") {
  return clientFor(
    ActionService,
    transport,
    server.baseUrl,
    bearer(ADMIN_TOKEN),
  );
}

async function targetCount(server: TestServer): Promise<bigint> {
  const list = await actions(server).listTargets({});
  return list.pagination?.totalResult ?? 0n;
}

function expectDenied(
  error: { code: number; message: string },
  endpoint: string,
) {
  expect(error.code).toBe(Code.InvalidArgument);
  expect(error.message).toMatch(/\(COMMAND-2k9ad\)$/);
  expect(error.message).toContain(
    `Endpoint is not allowed: endpoint "${endpoint}" is rejected by the egress policy (egress denied: `,
  );
}

describe("egress at create time", () => {
  let server: TestServer;
  let existingId: string;

  beforeAll(async () => {
    server = await startSecurityServer();
    existingId = (
      await actions(server).createTarget(targetRequest(publicLiteral))
    ).id;
  });

  afterAll(async () => {
    closeGrpcJsClients();
    await server.stop();
  });

  describe.each<TransportName>(["connect-json-h1", "grpc-js"])(
    "%s",
    (transport) => {
      it.each(deniedEndpoints)(
        "should reject CreateTarget with %s",
        async (endpoint) => {
          const before = await targetCount(server);

          const error = await rpcError(
            actions(server, transport).createTarget(targetRequest(endpoint)),
          );

          expectDenied(error, endpoint);
          expect(await targetCount(server)).toBe(before);
        },
      );

      it.each(deniedEndpoints)(
        "should reject UpdateTarget with %s",
        async (endpoint) => {
          const error = await rpcError(
            actions(server, transport).updateTarget({
              id: existingId,
              endpoint,
            }),
          );
          const stored = await actions(server).getTarget({ id: existingId });

          expectDenied(error, endpoint);
          expect(stored.target?.endpoint).toBe(publicLiteral);
        },
      );
    },
  );

  it("should name a denied endpoint without its credentials", async () => {
    const error = await rpcError(
      actions(server).createTarget(
        targetRequest("http://hook:secret-0123@127.0.0.1/"),
      ),
    );

    expectDenied(error, "http://redacted:redacted@127.0.0.1/");
    expect(error.message).not.toContain("secret-0123");
  });

  it("should accept a public literal", async () => {
    const response = await actions(server).createTarget(
      targetRequest(publicLiteral),
    );
    const stored = await actions(server).getTarget({ id: response.id });

    expect(stored.target?.endpoint).toBe(publicLiteral);
  });

  it("should accept a host name without resolving it", async () => {
    const response = await actions(server).createTarget(
      targetRequest("https://hooks.example.test/user-created"),
    );

    expect(response.id).not.toBe("");
  });
});

describe("egress with loopback allow-listed", () => {
  let server: TestServer;
  let stub: StubTarget;

  beforeAll(async () => {
    server = await startSecurityServer({
      config: { egressAllow: ["127.0.0.0/8"] },
    });
    stub = await startStubTarget();
  });

  afterAll(async () => {
    closeGrpcJsClients();
    await stub.close();
    await server.stop();
  });

  it("should accept http://127.0.0.1/", async () => {
    const response = await actions(server).createTarget(
      targetRequest("http://127.0.0.1/"),
    );

    expect(response.id).not.toBe("");
  });

  it("should still reject other private blocks", async () => {
    const error = await rpcError(
      actions(server).createTarget(targetRequest("http://10.0.0.1/")),
    );

    expectDenied(error, "http://10.0.0.1/");
  });

  it("should call a loopback target end to end", async () => {
    const target = await actions(server).createTarget(
      targetRequest(`${stub.url}/user-added`, "webhook", true),
    );
    await actions(server).setExecution({
      condition: requestCondition(addHumanUser),
      targets: [target.id],
    });
    const users = clientFor(
      UserService,
      "grpc",
      server.baseUrl,
      bearer(ADMIN_TOKEN),
    );

    const response = await users.addHumanUser(humanUser());

    expect(response.userId).not.toBe("");
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]?.path).toBe("/user-added");
    expect(stub.requests[0]?.headers["zitadel-signature"]).toMatch(
      /^t=\d+,v1=[0-9a-f]{64}$/,
    );
    expect(stub.requests[0]?.json).toMatchObject({
      fullMethod: addHumanUser,
      userID: "admin",
    });
  });
});

describe("egress of stored targets", () => {
  let dataDir: string;
  let stub: StubTarget;
  let redirected: StubTarget;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "actions-security-"));
    stub = await startStubTarget();
    redirected = await startStubTarget();
  });

  afterAll(async () => {
    closeGrpcJsClients();
    await stub.close();
    await redirected.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function users(server: TestServer) {
    return clientFor(UserService, "grpc", server.baseUrl, bearer(ADMIN_TOKEN));
  }

  it("should deny a loopback target once the allow-list is removed", async () => {
    const open = await startSecurityServer({
      config: { dataDir, egressAllow: ["127.0.0.0/8"] },
    });
    const target = await actions(open).createTarget(
      targetRequest(`${stub.url}/hook`, "webhook", true),
    );
    await actions(open).setExecution({
      condition: requestCondition(addHumanUser),
      targets: [target.id],
    });
    await users(open).addHumanUser(humanUser());
    await open.stop();
    const closed = await startSecurityServer({ config: { dataDir } });

    const error = await rpcError(users(closed).addHumanUser(humanUser()));
    const calls = await targetCalls(closed, target.id, "egress-denied");
    await closed.stop();

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.message).toBe(executionFailed);
    expect(stub.requests).toHaveLength(1);
    expect(calls).toBe(1);
  });

  it("should not follow a redirect", async () => {
    const server = await startSecurityServer({
      config: { egressAllow: ["127.0.0.0/8"] },
    });
    stub.respondWith({
      status: 307,
      headers: { location: `${redirected.url}/elsewhere` },
    });
    const target = await actions(server).createTarget(
      targetRequest(`${stub.url}/redirect`, "webhook", true),
    );
    await actions(server).setExecution({
      condition: requestCondition(addHumanUser),
      targets: [target.id],
    });
    const before = stub.requests.length;

    const error = await rpcError(users(server).addHumanUser(humanUser()));
    await server.stop();

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(stub.requests).toHaveLength(before + 1);
    expect(redirected.requests).toHaveLength(0);
  });
});

describe.each<[string, string[]]>([
  ["0.0.0.0/0", ["0.0.0.0/0"]],
  [
    "every address and the metadata names",
    [
      "0.0.0.0/0",
      "::/0",
      "169.254.169.254/32",
      "metadata.google.internal",
      "*.internal",
      "metadata",
    ],
  ],
])("egress with %s allow-listed", (_name, egressAllow) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startSecurityServer({ config: { egressAllow } });
  });

  afterAll(async () => {
    await server.stop();
  });

  it.each([
    "http://169.254.169.254/latest/meta-data",
    "http://2852039166/latest/meta-data",
    "http://[::ffff:169.254.169.254]/latest/meta-data",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
    "http://169.254.170.2/v2/credentials",
    "http://100.100.100.200/latest/meta-data",
    "http://168.63.129.16/machine",
    "http://[fd00:ec2::254]/latest/meta-data",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/computeMetadata/v1/",
  ])("should still reject %s", async (endpoint) => {
    const error = await rpcError(
      actions(server).createTarget(targetRequest(endpoint)),
    );

    expectDenied(error, endpoint);
    expect(error.message).toContain(
      "is a cloud metadata service, which the egress allow-list cannot permit",
    );
  });

  it("should accept a private address", async () => {
    const response = await actions(server).createTarget(
      targetRequest("http://10.0.0.1/"),
    );

    expect(response.id).not.toBe("");
  });
});

describe("egress at call time", () => {
  // Every name resolves to a loopback spelling that no allow-list entry
  // covers. Both spellings reach 127.0.0.1, where the stub listens, so
  // even a guard that failed would not send traffic off the machine.
  const answers: Record<string, ResolvedAddress[]> = {
    "loopback.example.test": [{ address: "127.0.0.1", family: 4 }],
    "mapped.example.test": [{ address: "::ffff:127.0.0.1", family: 6 }],
  };
  const resolved: string[] = [];
  const logs = captureLogs();
  let server: TestServer;
  let stub: StubTarget;

  beforeAll(async () => {
    server = await startSecurityServer({
      logger: logs.logger,
      resolve: async (hostname) => {
        resolved.push(hostname);
        return answers[hostname] ?? [];
      },
    });
    stub = await startStubTarget();
  });

  afterAll(async () => {
    closeGrpcJsClients();
    await stub.close();
    await server.stop();
  });

  const cases: [string, TargetKind][] = Object.keys(answers).flatMap(
    (hostname) =>
      (["webhook", "call"] as const).map(
        (kind) => [hostname, kind] as [string, TargetKind],
      ),
  );

  it.each(cases)(
    "%s, %s, interrupt fails with FailedPrecondition",
    async (hostname, kind) => {
      const target = await actions(server).createTarget(
        targetRequest(`http://${hostname}:${stub.port}/hook`, kind, true),
      );
      await actions(server).setExecution({
        condition: requestCondition(addHumanUser),
        targets: [target.id],
      });
      const users = clientFor(
        UserService,
        "connect-json-h1",
        server.baseUrl,
        bearer(ADMIN_TOKEN),
      );
      const request = { ...humanUser(), userId: `blocked-${target.id}` };
      resolved.length = 0;

      const error = await rpcError(users.addHumanUser(request));
      const lookup = await rpcError(
        users.getUserByID({ userId: request.userId }),
      );

      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.message).toBe(executionFailed);
      expect(resolved).toContain(hostname);
      expect(stub.requests).toHaveLength(0);
      expect(lookup.code).toBe(Code.NotFound);
      expect(await targetCalls(server, target.id, "egress-denied")).toBe(1);
    },
  );

  it("should log the denial of a target without interrupt", async () => {
    const target = await actions(server).createTarget(
      targetRequest(`http://loopback.example.test:${stub.port}/hook`),
    );
    await actions(server).setExecution({
      condition: requestCondition(addHumanUser),
      targets: [target.id],
    });
    const users = clientFor(
      UserService,
      "grpc",
      server.baseUrl,
      bearer(ADMIN_TOKEN),
    );

    const response = await users.addHumanUser(humanUser());

    expect(response.userId).not.toBe("");
    expect(stub.requests).toHaveLength(0);
    expect(deniedCallLines(logs, target.id)).toHaveLength(1);
  });

  it("should log the denial of an interrupting target", async () => {
    const target = await actions(server).createTarget(
      targetRequest(
        `http://loopback.example.test:${stub.port}/hook`,
        "webhook",
        true,
      ),
    );
    await actions(server).setExecution({
      condition: requestCondition(addHumanUser),
      targets: [target.id],
    });
    const users = clientFor(
      UserService,
      "grpc",
      server.baseUrl,
      bearer(ADMIN_TOKEN),
    );

    const error = await rpcError(users.addHumanUser(humanUser()));

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(deniedCallLines(logs, target.id)).toHaveLength(1);
  });
});

// Log lines of target calls that the egress guard stopped, for one target.
function deniedCallLines(logs: CapturedLogs, targetId: string) {
  return logs.lines().filter((line) => {
    const error = line.err as { kind?: string } | undefined;
    return line.targetId === targetId && error?.kind === "egress-denied";
  });
}

/** Reads actions_target_calls_total for one target and outcome. */
async function targetCalls(
  server: TestServer,
  targetId: string,
  outcome: string,
): Promise<number> {
  const response = await fetch(`${server.baseUrl}/metrics`);
  const text = await response.text();
  for (const line of text.split("\n")) {
    if (
      line.startsWith("actions_target_calls_total{") &&
      line.includes(`target_id="${targetId}"`) &&
      line.includes(`outcome="${outcome}"`)
    ) {
      return Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return 0;
}

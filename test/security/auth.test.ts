import { Code } from "@connectrpc/connect";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { ActionService as ActionServiceV2beta } from "../../gen/zitadel/action/v2beta/action_service_pb.js";
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
  ADMIN_TOKEN,
  bearer,
  checkHealth,
  humanUser,
  listServicesByReflection,
  probeService,
  requestCondition,
  startSecurityServer,
  targetRequest,
  VIEWER_TOKEN,
} from "./security-fixture.js";

// Authentication and permissions through a real server and every client
// transport. The server accepts ADMIN_TOKEN (every permission) and
// VIEWER_TOKEN (action.target.read and action.execution.read only).

// A public literal that is never called: no test puts it in an execution.
const neverCalled = "https://93.184.216.34/";
const hint =
  "send authorization: Bearer <token> with a static token of this server";

let server: TestServer;
let existingTargetId: string;

beforeAll(async () => {
  server = await startSecurityServer();
  const admin = clientFor(
    ActionService,
    "connect-json-h1",
    server.baseUrl,
    bearer(ADMIN_TOKEN),
  );
  const created = await admin.createTarget(targetRequest(neverCalled));
  existingTargetId = created.id;
});

afterAll(async () => {
  closeGrpcJsClients();
  await server.stop();
});

function actions(transport: TransportName, headers: Record<string, string>) {
  return clientFor(ActionService, transport, server.baseUrl, headers);
}

async function targetCount(): Promise<bigint> {
  const admin = actions("connect-json-h1", bearer(ADMIN_TOKEN));
  const list = await admin.listTargets({});
  return list.pagination?.totalResult ?? 0n;
}

describe("authentication", () => {
  const rejected: [string, Record<string, string>, string][] = [
    ["no header", {}, `Authorization header is missing; ${hint}`],
    [
      "wrong token",
      bearer("wrong-token-0123456789abcdefghijklmnop"),
      `Token is invalid; ${hint}`,
    ],
    [
      "Basic scheme",
      { authorization: `Basic ${ADMIN_TOKEN}` },
      `Authorization header must use the Bearer scheme; ${hint}`,
    ],
    [
      "Basic scheme, encoded",
      {
        authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}`,
      },
      `Authorization header must use the Bearer scheme; ${hint}`,
    ],
    [
      "Bearer without token",
      { authorization: "Bearer" },
      `Bearer token is missing; ${hint}`,
    ],
    [
      "token with a suffix",
      bearer(`${ADMIN_TOKEN}x`),
      `Token is invalid; ${hint}`,
    ],
    [
      "token prefix",
      bearer(ADMIN_TOKEN.slice(0, -1)),
      `Token is invalid; ${hint}`,
    ],
  ];

  describe.each(transportNames)("%s", (transport) => {
    it.each(rejected)(
      "should reject %s as Unauthenticated",
      async (_case, headers, message) => {
        const error = await rpcError(
          actions(transport, headers).listTargets({}),
        );

        expect(error.code).toBe(Code.Unauthenticated);
        expect(error.message).toBe(`${message} (${errorIdOf(message)})`);
        expect(error.message).not.toContain(ADMIN_TOKEN);
      },
    );

    it("should reject CreateTarget without a token", async () => {
      const before = await targetCount();

      const error = await rpcError(
        actions(transport, {}).createTarget(targetRequest(neverCalled)),
      );

      expect(error.code).toBe(Code.Unauthenticated);
      expect(await targetCount()).toBe(before);
    });

    it("should accept the admin token", async () => {
      const response = await actions(transport, bearer(ADMIN_TOKEN)).getTarget({
        id: existingTargetId,
      });

      expect(response.target?.id).toBe(existingTargetId);
    });

    it("should accept a lowercase bearer scheme", async () => {
      const response = await actions(transport, {
        authorization: `bearer ${ADMIN_TOKEN}`,
      }).getTarget({ id: existingTargetId });

      expect(response.target?.id).toBe(existingTargetId);
    });
  });
});

// The ids of the authentication errors, by the start of their message.
function errorIdOf(message: string): string {
  if (message.startsWith("Authorization header is missing")) {
    return "AUTH-h7m2q";
  }
  if (message.startsWith("Authorization header must use")) {
    return "AUTH-w3k9d";
  }
  if (message.startsWith("Bearer token is missing")) {
    return "AUTH-b8j4f";
  }
  return "AUTH-p4x8n";
}

describe("viewer permissions", () => {
  describe.each(transportNames)("%s", (transport) => {
    const viewer = () => actions(transport, bearer(VIEWER_TOKEN));

    it("should allow GetTarget", async () => {
      const response = await viewer().getTarget({ id: existingTargetId });

      expect(response.target?.id).toBe(existingTargetId);
    });

    it("should allow ListTargets", async () => {
      const response = await viewer().listTargets({});

      expect(response.targets.map((target) => target.id)).toContain(
        existingTargetId,
      );
    });

    it("should allow ListExecutions", async () => {
      const response = await viewer().listExecutions({});

      expect(response.executions).toBeDefined();
    });

    it("should allow the discovery methods", async () => {
      const functions = await viewer().listExecutionFunctions({});
      const methods = await viewer().listExecutionMethods({});
      const services = await viewer().listExecutionServices({});

      expect(functions.functions).toBeDefined();
      expect(methods.methods).toContain(
        "/zitadel.user.v2.UserService/GetUserByID",
      );
      expect(services.services).toContain("zitadel.user.v2.UserService");
    });

    it("should deny CreateTarget", async () => {
      const before = await targetCount();

      const error = await rpcError(
        viewer().createTarget(targetRequest(neverCalled)),
      );

      expect(error.code).toBe(Code.PermissionDenied);
      expect(error.message).toBe(
        "Permission action.target.write is required for /zitadel.action.v2.ActionService/CreateTarget; use a token that has it (AUTHZ-k2v7p)",
      );
      expect(await targetCount()).toBe(before);
    });

    it("should deny UpdateTarget", async () => {
      const error = await rpcError(
        viewer().updateTarget({ id: existingTargetId, name: "renamed" }),
      );
      const stored = await viewer().getTarget({ id: existingTargetId });

      expect(error.code).toBe(Code.PermissionDenied);
      expect(stored.target?.name).not.toBe("renamed");
    });

    it("should deny DeleteTarget", async () => {
      const error = await rpcError(
        viewer().deleteTarget({ id: existingTargetId }),
      );
      const stored = await viewer().getTarget({ id: existingTargetId });

      expect(error.code).toBe(Code.PermissionDenied);
      expect(error.message).toBe(
        "Permission action.target.delete is required for /zitadel.action.v2.ActionService/DeleteTarget; use a token that has it (AUTHZ-k2v7p)",
      );
      expect(stored.target?.id).toBe(existingTargetId);
    });

    it("should deny SetExecution", async () => {
      const error = await rpcError(
        viewer().setExecution({
          condition: requestCondition(
            "/zitadel.user.v2.UserService/GetUserByID",
          ),
          targets: [],
        }),
      );

      expect(error.code).toBe(Code.PermissionDenied);
      expect(error.message).toBe(
        "Permission action.execution.write is required for /zitadel.action.v2.ActionService/SetExecution; use a token that has it (AUTHZ-k2v7p)",
      );
    });
  });

  it("should deny v2beta CreateTarget", async () => {
    const viewer = clientFor(
      ActionServiceV2beta,
      "grpc",
      server.baseUrl,
      bearer(VIEWER_TOKEN),
    );

    const error = await rpcError(
      viewer.createTarget({
        name: "v2beta-target",
        endpoint: neverCalled,
        timeout: { seconds: 5n },
        targetType: { case: "restWebhook", value: {} },
      }),
    );

    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.message).toBe(
      "Permission action.target.write is required for /zitadel.action.v2beta.ActionService/CreateTarget; use a token that has it (AUTHZ-k2v7p)",
    );
  });

  it("should reject discovery without a token", async () => {
    const error = await rpcError(
      actions("connect-json-h1", {}).listExecutionMethods({}),
    );

    expect(error.code).toBe(Code.Unauthenticated);
  });
});

describe("sample UserService", () => {
  describe.each(transportNames)("%s", (transport) => {
    it("should reject a call without a token", async () => {
      const users = clientFor(UserService, transport, server.baseUrl, {});

      const error = await rpcError(users.addHumanUser(humanUser()));

      expect(error.code).toBe(Code.Unauthenticated);
    });

    it("should reject a wrong token", async () => {
      const users = clientFor(
        UserService,
        transport,
        server.baseUrl,
        bearer("wrong-token-0123456789abcdefghijklmnop"),
      );

      const error = await rpcError(users.getUserByID({ userId: "u-1" }));

      expect(error.code).toBe(Code.Unauthenticated);
    });

    it("should accept the viewer token", async () => {
      const users = clientFor(
        UserService,
        transport,
        server.baseUrl,
        bearer(VIEWER_TOKEN),
      );

      const response = await users.addHumanUser(humanUser());

      expect(response.userId).not.toBe("");
    });
  });
});

// Health checks and reflection need no token once the server serves them.
// The probes run at load time, because jest decides between it and it.todo
// when it collects the tests.
const health = await probeService(checkHealth);
const reflection = await probeService(listServicesByReflection);

describe("services without a token", () => {
  if (health === "unwired") {
    it.todo(
      "should serve Health/Check without a token (the server does not serve grpc.health.v1.Health yet)",
    );
  } else {
    it("should serve Health/Check without a token", async () => {
      const response = await checkHealth(server.baseUrl);

      expect(response.status).toBe(ServingStatus.SERVING);
    });
  }

  if (reflection === "unwired") {
    it.todo(
      "should serve reflection without a token (the server does not serve grpc.reflection.v1 yet)",
    );
  } else {
    it("should serve reflection without a token", async () => {
      const services = await listServicesByReflection(server.baseUrl);

      expect(services).toContain("zitadel.action.v2.ActionService");
    });
  }
});

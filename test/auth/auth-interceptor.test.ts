import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ActionService as ActionServiceV2 } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { ActionService as ActionServiceV2beta } from "../../gen/zitadel/action/v2beta/action_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import {
  type AuthConfig,
  authInterceptor,
  createAuth,
  createJwtVerifier,
  createStaticToken,
  createStaticTokenStore,
} from "../../src/auth/index.js";
import { type CallerIdentity, callerKey } from "../../src/caller-context.js";
import { ConfigError } from "../../src/config.js";
import {
  createDualProtocolServer,
  type DualProtocolServer,
} from "../../src/http-server.js";
import {
  clientFor,
  closeGrpcJsClients,
  type TransportName,
  transportNames,
} from "../support/clients.js";
import { rpcError } from "../support/rpc-error.js";
import {
  AUDIENCE,
  createSigningKey,
  ISSUER,
  type JwksServer,
  type SigningKey,
  signToken,
  startJwksServer,
} from "./jwt-fixture.js";

const ADMIN = "admin-token-0123456789abcdef";
const VIEWER = "viewer-token-0123456789abcdef";
// Holds a host permission but none of the action permissions.
const SUPPORT = "support-token-0123456789abcdef";

const HINT =
  "send authorization: Bearer <token> with a static token of this server or a JWT access token from https://issuer.test";

/** Callers that reached a handler, in call order. */
const callers: (CallerIdentity | undefined)[] = [];

// Every method records the caller from the context and returns an empty
// response, so the tests see exactly what authentication let through.
function stubService<S extends DescService>(service: S) {
  const implementation: Record<string, unknown> = {};
  for (const method of service.methods) {
    implementation[method.localName] = (
      _request: unknown,
      context: HandlerContext,
    ) => {
      callers.push(context.values.get(callerKey));
      return {};
    };
  }
  return implementation;
}

let dataDir: string;
let jwks: JwksServer;
let signer: SigningKey;
let impostor: SigningKey;
let http: DualProtocolServer;
let baseUrl: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "actions-auth-"));
  signer = await createSigningKey("ES256", "ec-1");
  impostor = await createSigningKey("ES256", "ec-1");
  jwks = await startJwksServer([signer.publicJwk]);
  const config: AuthConfig = {
    dataDir,
    authTokens: [
      `admin:${ADMIN}`,
      `viewer:${VIEWER}:action.target.read+action.execution.read`,
      `support:${SUPPORT}:user.read`,
    ],
    authTokensFile: "",
    jwtJwksUrl: jwks.url,
    jwtJwks: "",
    jwtIssuer: ISSUER,
    jwtAudience: [AUDIENCE],
    jwtPermissionsClaim: "",
    jwtProjectIdClaim: "",
    jwtClockToleranceMs: 30_000,
  };
  const auth = createAuth(config, {
    permissions: { "/zitadel.user.v2.UserService/LockUser": "user.write" },
  });
  const routes = (router: ConnectRouter) => {
    router.service(ActionServiceV2, stubService(ActionServiceV2));
    router.service(ActionServiceV2beta, stubService(ActionServiceV2beta));
    router.service(UserService, stubService(UserService));
  };
  const handler = connectNodeAdapter({
    routes,
    interceptors: [auth.interceptor],
  });
  http = createDualProtocolServer(handler);
  const address = await http.listen(0, "127.0.0.1");
  baseUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  closeGrpcJsClients();
  await http.close(1000);
  await jwks.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  callers.length = 0;
});

function actions(transport: TransportName, authorization?: string) {
  const headers: Record<string, string> =
    authorization === undefined ? {} : { authorization };
  return clientFor(ActionServiceV2, transport, baseUrl, headers);
}

// grpc-js decodes grpc-message with decodeURI, which leaves the "/", ";"
// and "," that connect-node percent-encodes; the other clients decode all.
function messageOf(error: { message: string }): string {
  return decodeURIComponent(error.message);
}

function bearer(token: string): string {
  return `Bearer ${token}`;
}

describe.each(transportNames)("auth over %s", (transport) => {
  it("rejects a call without a token", async () => {
    const error = await rpcError(actions(transport).getTarget({ id: "1" }));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(messageOf(error)).toBe(
      `Authorization header is missing; ${HINT} (AUTH-h7m2q)`,
    );
    expect(error.details[0]?.id).toBe("AUTH-h7m2q");
    expect(callers).toEqual([]);
  });

  it("rejects a wrong token", async () => {
    const wrong = "wrong-token-0123456789abcdef";
    const client = actions(transport, bearer(wrong));
    const error = await rpcError(client.getTarget({ id: "1" }));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(messageOf(error)).toBe(`Token is invalid; ${HINT} (AUTH-p4x8n)`);
    expect(error.message).not.toContain(wrong);
  });

  it.each([
    ["Basic credentials", `Basic ${ADMIN}`],
    ["Bearer alone", "Bearer"],
    ["Bearer with blanks", "Bearer   "],
    ["two tokens", `Bearer ${ADMIN} ${ADMIN}`],
    ["a token with a comma", `Bearer ${ADMIN},x`],
  ])("rejects %s", async (_name, authorization) => {
    const client = actions(transport, authorization);
    const error = await rpcError(client.getTarget({ id: "1" }));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.message).not.toContain(ADMIN);
    expect(callers).toEqual([]);
  });

  it("accepts a lowercase scheme", async () => {
    const client = actions(transport, `bearer ${ADMIN}`);
    await client.createTarget({});
    expect(callers[0]?.userId).toBe("admin");
  });

  it("passes the admin identity to the handler", async () => {
    await actions(transport, bearer(ADMIN)).deleteTarget({ id: "1" });
    expect(callers).toHaveLength(1);
    expect(callers[0]?.userId).toBe("admin");
    expect(callers[0]?.projectId).toBe("");
    expect([...(callers[0]?.permissions ?? [])].sort()).toEqual([
      "action.execution.read",
      "action.execution.write",
      "action.target.delete",
      "action.target.read",
      "action.target.write",
      "user.write",
    ]);
  });

  it("lets a viewer read", async () => {
    const client = actions(transport, bearer(VIEWER));
    await client.getTarget({ id: "1" });
    await client.listTargets({});
    await client.listExecutions({});
    expect(callers.map((caller) => caller?.userId)).toEqual([
      "viewer",
      "viewer",
      "viewer",
    ]);
  });

  it.each([
    ["createTarget", "action.target.write", "CreateTarget"],
    ["updateTarget", "action.target.write", "UpdateTarget"],
    ["deleteTarget", "action.target.delete", "DeleteTarget"],
    ["setExecution", "action.execution.write", "SetExecution"],
  ] as const)("denies a viewer %s", async (method, permission, rpc) => {
    const client = actions(transport, bearer(VIEWER));
    const error = await rpcError(client[method]({}));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(messageOf(error)).toBe(
      `Permission ${permission} is required for /zitadel.action.v2.ActionService/${rpc}; use a token that has it (AUTHZ-k2v7p)`,
    );
    expect(callers).toEqual([]);
  });

  it("allows discovery with any valid token", async () => {
    const client = actions(transport, bearer(SUPPORT));
    await client.listExecutionFunctions({});
    await client.listExecutionMethods({});
    await client.listExecutionServices({});
    expect(callers).toHaveLength(3);
  });

  it("denies a token without action permissions", async () => {
    const client = actions(transport, bearer(SUPPORT));
    const error = await rpcError(client.listTargets({}));
    expect(error.code).toBe(Code.PermissionDenied);
  });
});

describe("auth with JWTs", () => {
  const transports: TransportName[] = ["connect-json-h1", "grpc"];

  it.each(transports)("passes the JWT identity over %s", async (transport) => {
    const token = await signToken(signer, {
      subject: "user-42",
      claims: {
        permissions: ["action.target.write"],
        "urn:zitadel:iam:org:project:id": "project-7",
      },
    });
    await actions(transport, bearer(token)).createTarget({});
    expect(callers).toHaveLength(1);
    expect(callers[0]?.userId).toBe("user-42");
    expect(callers[0]?.projectId).toBe("project-7");
    expect([...(callers[0]?.permissions ?? [])]).toEqual([
      "action.target.write",
    ]);
  });

  const rejected: [string, () => Promise<string>, string][] = [
    [
      "an expired JWT",
      () => signToken(signer, { expiresIn: -120 }),
      "the token has expired",
    ],
    [
      "a wrongly signed JWT",
      () => signToken(impostor),
      "no trusted key verifies the signature",
    ],
    [
      "a JWT of another issuer",
      () => signToken(signer, { issuer: "https://other.test" }),
      "the token has the wrong issuer (iss)",
    ],
    [
      "a JWT for another audience",
      () => signToken(signer, { audience: "other" }),
      "the token has the wrong audience (aud)",
    ],
  ];

  describe.each(transports)("over %s", (transport) => {
    it.each(rejected)("rejects %s", async (_name, makeToken, reason) => {
      const token = await makeToken();
      const client = actions(transport, bearer(token));
      const error = await rpcError(client.listExecutionServices({}));
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.message).toBe(
        `Token is invalid: ${reason}; ${HINT} (AUTH-r5t2c)`,
      );
      expect(error.message).not.toContain(token);
      expect(callers).toEqual([]);
    });

    it("denies a JWT without the permission", async () => {
      const token = await signToken(signer, {
        claims: { permissions: "action.target.read" },
      });
      const client = actions(transport, bearer(token));
      await client.getTarget({ id: "1" });
      const error = await rpcError(client.createTarget({}));
      expect(error.code).toBe(Code.PermissionDenied);
      expect(callers).toHaveLength(1);
    });
  });
});

describe("auth of other services", () => {
  it("checks v2beta like v2", async () => {
    const client = clientFor(ActionServiceV2beta, "connect-json-h1", baseUrl, {
      authorization: bearer(VIEWER),
    });
    await client.getTarget({ id: "1" });
    const error = await rpcError(client.createTarget({}));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.message).toContain(
      "/zitadel.action.v2beta.ActionService/CreateTarget",
    );
  });

  it("requires a registered host permission", async () => {
    const support = clientFor(UserService, "grpc", baseUrl, {
      authorization: bearer(SUPPORT),
    });
    const error = await rpcError(support.lockUser({}));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.message).toContain("Permission user.write is required");
  });

  it("gives admin tokens the host permissions", async () => {
    const admin = clientFor(UserService, "grpc", baseUrl, {
      authorization: bearer(ADMIN),
    });
    await admin.lockUser({});
    expect(callers[0]?.userId).toBe("admin");
  });

  it("requires only a token for other host methods", async () => {
    const support = clientFor(UserService, "connect-json-h1", baseUrl, {
      authorization: bearer(SUPPORT),
    });
    await support.unlockUser({});
    expect(callers[0]?.userId).toBe("support");
    const anonymous = clientFor(UserService, "connect-json-h1", baseUrl);
    const error = await rpcError(anonymous.unlockUser({}));
    expect(error.code).toBe(Code.Unauthenticated);
  });

  it("sends www-authenticate with a 401", async () => {
    const error = await actions("connect-json-h1")
      .getTarget({ id: "1" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).metadata.get("www-authenticate")).toBe(
      "Bearer",
    );
  });
});

// Calls the interceptor directly with a minimal request, for services the
// generated code does not have and for failures a server cannot stage.
async function invoke(
  interceptor: Interceptor,
  typeName: string,
  authorization?: string,
) {
  const header = new Headers();
  if (authorization !== undefined) {
    header.set("authorization", authorization);
  }
  const contextValues = createContextValues();
  let calls = 0;
  const next = async () => {
    calls += 1;
    return {};
  };
  const request = {
    service: { typeName },
    method: { name: "Check" },
    header,
    contextValues,
  };
  await interceptor(next as never)(request as never);
  return { calls, caller: contextValues.get(callerKey) };
}

describe("authInterceptor", () => {
  const tokens = createStaticTokenStore([createStaticToken("ci", ADMIN)]);

  it.each([
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
  ])("serves %s without a token", async (typeName) => {
    const { calls, caller } = await invoke(
      authInterceptor({ tokens }),
      typeName,
    );
    expect(calls).toBe(1);
    expect(caller).toBeUndefined();
  });

  it("requires a token source", () => {
    expect(() => authInterceptor({})).toThrow(ConfigError);
    expect(() =>
      authInterceptor({ tokens: createStaticTokenStore([]) }),
    ).toThrow(/no token source/);
  });

  it("rejects a JWT when only static tokens exist", async () => {
    const token = await signToken(signer);
    const call = invoke(
      authInterceptor({ tokens }),
      "acme.v1.Shop",
      bearer(token),
    );
    await expect(call).rejects.toMatchObject({
      code: Code.Unauthenticated,
      rawMessage:
        "Token is invalid; send authorization: Bearer <token> with a static token of this server (AUTH-p4x8n)",
    });
  });

  it("fails with Unavailable while the JWKS is down", async () => {
    const down = await startJwksServer([]);
    down.serve({ status: 503, body: "maintenance" });
    const logged: unknown[] = [];
    const interceptor = authInterceptor({
      jwt: createJwtVerifier({
        jwksUrl: down.url,
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
      logger: { error: (fields: unknown) => logged.push(fields) } as never,
    });
    const token = await signToken(signer);
    try {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const call = invoke(interceptor, "acme.v1.Shop", bearer(token));
        await expect(call).rejects.toMatchObject({
          code: Code.Unavailable,
        });
      }
    } finally {
      await down.close();
    }
    expect(logged).toHaveLength(1);
    expect(JSON.stringify(logged)).not.toContain(token);
  });
});

import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import {
  AUDIENCE,
  createSigningKey,
  ISSUER,
  type SigningKey,
  signToken,
} from "../auth/jwt-fixture.js";
import { clientFor, closeGrpcJsClients } from "../support/clients.js";
import { type RpcError, rpcError } from "../support/rpc-error.js";
import type { TestServer } from "../support/start-server.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import {
  ADMIN_TOKEN,
  addHumanUser,
  bearer,
  type CapturedLogs,
  captureLogs,
  closedPort,
  getUserByID,
  humanUser,
  requestCondition,
  startSecurityServer,
  type TargetKind,
  targetRequest,
  VIEWER_TOKEN,
} from "./security-fixture.js";

// One server logs at level trace into memory while the tests drive every
// path that handles a secret: target creation, reads and key rotation,
// failing, forwarding and invalid targets, and rejected tokens and JWTs.
// The last block checks that no secret reached the log, a client error or
// a target.

const masterKey = randomBytes(32).toString("hex");
const wrongToken = "wrong-token-0123456789abcdefghijklmnop";
const endpointPassword = "endpoint-password-0123456789";
const listUsers = "/zitadel.user.v2.UserService/ListUsers";
const lockUser = "/zitadel.user.v2.UserService/LockUser";

let logs: CapturedLogs;
let server: TestServer;
let stub: StubTarget;
let trusted: SigningKey;
let impostor: SigningKey;

/** Every signing key the API returned. */
const signingKeys: string[] = [];
/** Every token or JWT that a test sent. */
const tokens: string[] = [ADMIN_TOKEN, VIEWER_TOKEN, wrongToken];
/** Every error a client received. */
const clientErrors: RpcError[] = [];

beforeAll(async () => {
  trusted = await createSigningKey("RS256", "trusted-key");
  impostor = await createSigningKey("RS256", "trusted-key");
  logs = captureLogs();
  server = await startSecurityServer({
    config: {
      masterKey,
      egressAllow: ["127.0.0.0/8"],
      jwtJwks: JSON.stringify({ keys: [trusted.publicJwk] }),
      jwtIssuer: ISSUER,
      jwtAudience: [AUDIENCE],
    },
    logger: logs.logger,
  });
  stub = await startStubTarget({ respondWith: stubReply });
});

afterAll(async () => {
  closeGrpcJsClients();
  await stub.close();
  await server.stop();
});

// The stub replies by path, so one stub plays every kind of target.
function stubReply(request: { path: string }) {
  switch (request.path) {
    case "/fail":
      return { status: 500, body: "target error" };
    case "/forward":
      return {
        json: { forwardedStatusCode: 403, forwardedErrorMessage: "blocked" },
      };
    case "/not-json":
      return { body: "this is not JSON" };
    default:
      return { status: 200 };
  }
}

function actions(token = ADMIN_TOKEN) {
  return clientFor(ActionService, "grpc", server.baseUrl, bearer(token));
}

function users(token = ADMIN_TOKEN) {
  return clientFor(UserService, "grpc", server.baseUrl, bearer(token));
}

async function failingCall(call: Promise<unknown>): Promise<RpcError> {
  const error = await rpcError(call);
  clientErrors.push(error);
  return error;
}

async function createTarget(
  path: string,
  kind: TargetKind,
  interrupt: boolean,
): Promise<string> {
  const created = await actions().createTarget(
    targetRequest(`${stub.url}${path}`, kind, interrupt),
  );
  signingKeys.push(created.signingKey);
  return created.id;
}

async function setExecution(fullMethod: string, targets: string[]) {
  await actions().setExecution({
    condition: requestCondition(fullMethod),
    targets,
  });
}

describe("secret-handling paths", () => {
  it("should read and rotate signing keys", async () => {
    const id = await createTarget("/ok", "webhook", false);

    const read = await actions().getTarget({ id });
    const viewerRead = await actions(VIEWER_TOKEN).getTarget({ id });
    const rotated = await actions().updateTarget({
      id,
      name: `renamed-${id}`,
      expirationSigningKey: { seconds: 0n },
    });
    const listed = await actions().listTargets({});
    signingKeys.push(rotated.signingKey ?? "");

    expect(read.target?.signingKey).toBe(signingKeys.at(-2));
    expect(viewerRead.target?.signingKey).toBe(signingKeys.at(-2));
    expect(rotated.signingKey).toMatch(/^[A-Za-z0-9]{36}$/);
    expect(rotated.signingKey).not.toBe(signingKeys.at(-2));
    expect(listed.targets.map((target) => target.signingKey)).toContain(
      rotated.signingKey,
    );
  });

  it("should reject a denied endpoint in UpdateTarget", async () => {
    const id = await createTarget("/ok", "webhook", false);

    const error = await failingCall(
      actions().updateTarget({ id, endpoint: "http://10.0.0.1/" }),
    );

    expect(error.code).toBe(Code.InvalidArgument);
  });

  it("should reject endpoints with a password", async () => {
    const id = await createTarget("/ok", "webhook", false);

    const denied = await failingCall(
      actions().updateTarget({
        id,
        endpoint: `http://hook:${endpointPassword}@10.0.0.1/`,
      }),
    );
    const scheme = await failingCall(
      actions().createTarget(
        targetRequest(`ftp://hook:${endpointPassword}@files.example.com/`),
      ),
    );

    expect(denied.code).toBe(Code.InvalidArgument);
    expect(denied.message).toContain(
      'endpoint "http://redacted:redacted@10.0.0.1/" is rejected',
    );
    expect(scheme.code).toBe(Code.InvalidArgument);
    expect(scheme.message).toBe(
      'Target has an invalid URL: endpoint "ftp://redacted:redacted@files.example.com/" uses the scheme ftp; use http or https (COMMAND-1r2k6)',
    );
  });

  it("should fail the call on an interrupting target", async () => {
    const quiet = await createTarget("/fail", "webhook", false);
    const background = await createTarget("/fail", "async", false);
    const interrupting = await createTarget("/fail", "webhook", true);
    await setExecution(addHumanUser, [quiet, background, interrupting]);

    const error = await failingCall(users().addHumanUser(humanUser()));
    await server.server.runner.drain();

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(stub.requests.filter((r) => r.path === "/fail")).toHaveLength(3);
  });

  it("should forward a target's error", async () => {
    const forwarding = await createTarget("/forward", "call", true);
    await setExecution(getUserByID, [forwarding]);

    const error = await failingCall(users().getUserByID({ userId: "u-1" }));

    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.message).toBe("blocked (EXEC-reUaUZCzCp)");
  });

  it("should fail on an answer that is not JSON", async () => {
    const invalid = await createTarget("/not-json", "call", true);
    await setExecution(listUsers, [invalid]);

    const error = await failingCall(users().listUsers({}));

    expect(error.code).toBe(Code.Unknown);
    expect(logs.linesWithMessage("rpc failed")).not.toHaveLength(0);
  });

  it("should fail on an unreachable target", async () => {
    const port = await closedPort();
    const ids: string[] = [];
    for (const interrupt of [false, true]) {
      const created = await actions().createTarget(
        targetRequest(`http://127.0.0.1:${port}/closed`, "webhook", interrupt),
      );
      signingKeys.push(created.signingKey);
      ids.push(created.id);
    }
    await setExecution(lockUser, ids);

    const error = await failingCall(users().lockUser({ userId: "u-1" }));
    const warnings = logs
      .linesWithMessage(
        "target call failed; continuing because interrupt_on_error is off",
      )
      .filter((line) => line.targetId === ids[0]);

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(warnings).toHaveLength(1);
  });

  it("should reject wrong static tokens", async () => {
    const wrong = await failingCall(actions(wrongToken).listTargets({}));
    const basic = await failingCall(
      clientFor(ActionService, "connect-json-h1", server.baseUrl, {
        authorization: `Basic ${ADMIN_TOKEN}`,
      }).listTargets({}),
    );
    const viewer = await failingCall(
      actions(VIEWER_TOKEN).createTarget(targetRequest("https://a.test/")),
    );

    expect(wrong.code).toBe(Code.Unauthenticated);
    expect(basic.code).toBe(Code.Unauthenticated);
    expect(viewer.code).toBe(Code.PermissionDenied);
  });

  it("should accept a valid JWT and reject broken ones", async () => {
    const valid = await signToken(trusted, { subject: "jwt-user" });
    const expired = await signToken(trusted, { expiresIn: -120 });
    const forged = await signToken(impostor, {
      claims: { permissions: ["IAM_OWNER"] },
    });
    const garbage = `${valid.split(".").slice(0, 2).join(".")}.AAAA`;
    tokens.push(valid, expired, forged, garbage);

    const response = await actions(valid).listExecutionServices({});
    const errors = await Promise.all(
      [expired, forged, garbage].map((token) =>
        failingCall(actions(token).listExecutionServices({})),
      ),
    );
    const denied = await failingCall(
      actions(valid).createTarget(targetRequest("https://a.test/")),
    );

    expect(response.services).not.toHaveLength(0);
    expect(errors.map((error) => error.code)).toEqual([
      Code.Unauthenticated,
      Code.Unauthenticated,
      Code.Unauthenticated,
    ]);
    expect(denied.code).toBe(Code.PermissionDenied);
  });
});

describe("secrets", () => {
  // The secrets, and for a JWT also its signature, which alone proves
  // nothing but should not be printed either.
  function secrets(): [string, string][] {
    const jwtSignatures = tokens
      .filter((token) => token.split(".").length === 3)
      .map((token) => token.split(".")[2] ?? "")
      .filter((signature) => signature.length > 8);
    return [
      ...signingKeys.map((key) => ["signing key", key] as [string, string]),
      ...tokens.map((token) => ["token", token] as [string, string]),
      ...jwtSignatures.map((sig) => ["JWT signature", sig] as [string, string]),
      ["endpoint password", endpointPassword],
      ["master key", masterKey],
      ["master key (base64)", Buffer.from(masterKey, "hex").toString("base64")],
    ];
  }

  it("should have exercised every path", () => {
    expect(signingKeys).toHaveLength(11);
    expect(tokens).toHaveLength(7);
    expect(clientErrors).toHaveLength(14);
    expect(logs.linesWithMessage("rpc served").length).toBeGreaterThan(20);
    expect(
      logs.linesWithMessage(
        "target call failed; continuing because interrupt_on_error is off",
      ),
    ).not.toHaveLength(0);
  });

  it("should keep secrets out of the log", () => {
    const text = logs.text();

    for (const [kind, secret] of secrets()) {
      expect({ kind, found: text.includes(secret) }).toEqual({
        kind,
        found: false,
      });
    }
  });

  it("should keep secrets out of client errors", () => {
    const text = JSON.stringify(
      clientErrors.map((error) => ({
        message: error.message,
        details: error.details.map((detail) => ({
          id: detail.id,
          message: detail.message,
        })),
      })),
    );

    for (const [kind, secret] of secrets()) {
      expect({ kind, found: text.includes(secret) }).toEqual({
        kind,
        found: false,
      });
    }
  });

  it("should keep secrets out of target requests", () => {
    const text = JSON.stringify(
      stub.requests.map((request) => ({
        headers: request.headers,
        body: request.text,
      })),
    );

    expect(stub.requests.length).toBeGreaterThan(4);
    for (const [kind, secret] of secrets()) {
      expect({ kind, found: text.includes(secret) }).toEqual({
        kind,
        found: false,
      });
    }
  });
});

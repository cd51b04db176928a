import { createPublicKey } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { SignJWT } from "jose";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import {
  AUDIENCE,
  createSigningKey,
  ISSUER,
  type SigningKey,
  signToken,
} from "../auth/jwt-fixture.js";
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
  bearer,
  getUserByID,
  humanUser,
  requestCondition,
  startSecurityServer,
  targetRequest,
} from "./security-fixture.js";

// JWT access tokens through a real server whose JWKS is given as JSON text.
// A request execution on GetUserByID sends every accepted call to a stub
// target, so the tests can read the caller that the server derived from
// the token, and can check that rejected tokens never reach a target.

const hint = `send authorization: Bearer <token> with a static token of this server or a JWT access token from ${ISSUER}`;
const projectIdClaim = "urn:zitadel:iam:org:project:id";

let server: TestServer;
let stub: StubTarget;
let trusted: SigningKey;
let userId: string;

beforeAll(async () => {
  trusted = await createSigningKey("RS256", "trusted-key");
  server = await startSecurityServer({
    config: {
      jwtJwks: JSON.stringify({ keys: [trusted.publicJwk] }),
      jwtIssuer: ISSUER,
      jwtAudience: [AUDIENCE],
      egressAllow: ["127.0.0.0/8"],
    },
  });
  stub = await startStubTarget();
  const admin = clientFor(
    ActionService,
    "connect-json-h1",
    server.baseUrl,
    bearer(ADMIN_TOKEN),
  );
  const target = await admin.createTarget(
    targetRequest(`${stub.url}/user-read`, "webhook", true),
  );
  await admin.setExecution({
    condition: requestCondition(getUserByID),
    targets: [target.id],
  });
  const users = clientFor(
    UserService,
    "connect-json-h1",
    server.baseUrl,
    bearer(ADMIN_TOKEN),
  );
  userId = (await users.addHumanUser(humanUser())).userId;
});

afterAll(async () => {
  closeGrpcJsClients();
  await stub.close();
  await server.stop();
});

function usersWith(token: string, transport: TransportName = "grpc") {
  return clientFor(UserService, transport, server.baseUrl, {
    ...bearer(token),
    "x-zitadel-orgid": "org-42",
  });
}

function actionsWith(token: string) {
  return clientFor(ActionService, "grpc", server.baseUrl, bearer(token));
}

describe("valid JWT", () => {
  it.each<TransportName>(["connect-json-h1", "grpc", "grpc-js"])(
    "%s, should send sub as userID to the target",
    async (transport) => {
      const token = await signToken(trusted, {
        subject: "jwt-user-7",
        claims: { [projectIdClaim]: "project-9" },
      });
      const before = stub.requests.length;

      const response = await usersWith(token, transport).getUserByID({
        userId,
      });

      expect(response.user?.userId).toBe(userId);
      expect(stub.requests).toHaveLength(before + 1);
      const payload = stub.requests[before]?.json as Record<string, unknown>;
      expect(payload.userID).toBe("jwt-user-7");
      expect(payload.projectID).toBe("project-9");
      expect(payload.orgID).toBe("org-42");
      expect(payload.fullMethod).toBe(getUserByID);
      expect(stub.requests[before]?.text).not.toContain(token);
      expect(JSON.stringify(stub.requests[before]?.headers)).not.toContain(
        token,
      );
    },
  );

  it("should allow CreateTarget with action.target.write", async () => {
    const token = await signToken(trusted, {
      claims: { permissions: ["action.target.write"] },
    });

    const response = await actionsWith(token).createTarget(
      targetRequest("https://93.184.216.34/"),
    );

    expect(response.id).not.toBe("");
  });
});

describe("rejected JWT", () => {
  let other: SigningKey;
  let impostor: SigningKey;

  beforeAll(async () => {
    other = await createSigningKey("RS256", "other-key");
    // Same kid as the trusted key, so the server picks the trusted key and
    // the signature check itself must fail.
    impostor = await createSigningKey("RS256", "trusted-key");
  });

  const cases: [string, () => Promise<string>, string][] = [
    [
      "expired",
      () => signToken(trusted, { expiresIn: -120 }),
      "the token has expired",
    ],
    [
      "signed by another key with the same kid",
      () => signToken(impostor),
      "no trusted key verifies the signature",
    ],
    [
      "signed by an unknown key",
      () => signToken(other),
      "no trusted key verifies the signature",
    ],
    [
      "wrong issuer",
      () => signToken(trusted, { issuer: "https://evil.test" }),
      "the token has the wrong issuer (iss)",
    ],
    [
      "wrong audience",
      () => signToken(trusted, { audience: "other-project" }),
      "the token has the wrong audience (aud)",
    ],
    [
      "not valid yet",
      () => signToken(trusted, { notBefore: 600 }),
      "the token is not valid yet (nbf)",
    ],
    [
      "without exp",
      () => signToken(trusted, { expiresIn: null }),
      "claim exp is missing",
    ],
    [
      "HS256 with the public key as secret",
      () => signWithPublicKeyAsSecret(trusted),
      "the signature algorithm is not accepted",
    ],
    [
      "alg none",
      async () => unsignedToken(),
      "the signature algorithm is not accepted",
    ],
    [
      "changed payload",
      () => changedPayload(trusted),
      "no trusted key verifies the signature",
    ],
  ];

  it.each(cases)(
    "should reject a token %s as Unauthenticated",
    async (_case, makeToken, reason) => {
      const token = await makeToken();
      const before = stub.requests.length;

      const error = await rpcError(usersWith(token).getUserByID({ userId }));

      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.message).toBe(
        `Token is invalid: ${reason}; ${hint} (AUTH-r5t2c)`,
      );
      expect(error.message).not.toContain(token);
      expect(stub.requests).toHaveLength(before);
    },
  );
});

describe("JWT permissions", () => {
  it("should deny CreateTarget without a permissions claim", async () => {
    const token = await signToken(trusted);

    const error = await rpcError(
      actionsWith(token).createTarget(targetRequest("https://93.184.216.34/")),
    );

    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.message).toBe(
      "Permission action.target.write is required for /zitadel.action.v2.ActionService/CreateTarget; use a token that has it (AUTHZ-k2v7p)",
    );
  });

  it("should deny CreateTarget with the viewer role", async () => {
    const token = await signToken(trusted, {
      claims: { permissions: ["IAM_OWNER_VIEWER"] },
    });

    const error = await rpcError(
      actionsWith(token).createTarget(targetRequest("https://93.184.216.34/")),
    );
    const list = await actionsWith(token).listTargets({});

    expect(error.code).toBe(Code.PermissionDenied);
    expect(list.targets.length).toBeGreaterThan(0);
  });

  it("should allow discovery without a permissions claim", async () => {
    const token = await signToken(trusted);

    const response = await actionsWith(token).listExecutionServices({});

    expect(response.services).toContain("zitadel.user.v2.UserService");
  });
});

// Algorithm confusion: an HMAC token keyed with the text of the trusted
// public key, which a verifier that trusts the token's alg would accept.
async function signWithPublicKeyAsSecret(key: SigningKey): Promise<string> {
  const pem = createPublicKey({ key: key.publicJwk, format: "jwk" }).export({
    type: "spki",
    format: "pem",
  });
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", kid: key.kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject("user-1")
    .setExpirationTime(now + 300)
    .sign(new TextEncoder().encode(String(pem)));
}

function unsignedToken(): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: unknown) =>
    Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = encode({ alg: "none", typ: "JWT" });
  const payload = encode({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "user-1",
    exp: now + 300,
    permissions: ["IAM_OWNER"],
  });
  return `${header}.${payload}.`;
}

// A valid token whose payload is replaced by one that grants IAM_OWNER,
// with the original signature.
async function changedPayload(key: SigningKey): Promise<string> {
  const [header, payload, signature] = (await signToken(key)).split(".");
  const claims = JSON.parse(
    Buffer.from(payload ?? "", "base64url").toString("utf8"),
  ) as Record<string, unknown>;
  const changed = Buffer.from(
    JSON.stringify({ ...claims, permissions: ["IAM_OWNER"] }),
  ).toString("base64url");
  return `${header}.${changed}.${signature}`;
}

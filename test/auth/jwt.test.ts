import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import {
  createJwtVerifier,
  type JwtVerifier,
  type JwtVerifierOptions,
  KeySetUnavailableError,
  permissionsFromClaim,
  type RejectReason,
  TokenRejectedError,
} from "../../src/auth/index.js";
import { ConfigError } from "../../src/config.js";
import {
  AUDIENCE,
  createSigningKey,
  ISSUER,
  type JwksServer,
  type SigningKey,
  signToken,
  startJwksServer,
} from "./jwt-fixture.js";

let rsa: SigningKey;
let ec: SigningKey;
// Same kid as `rsa`, another key: its tokens have a wrong signature.
let impostor: SigningKey;
let jwks: JwksServer;
let remote: JwtVerifier;

beforeAll(async () => {
  rsa = await createSigningKey("RS256", "rsa-1");
  ec = await createSigningKey("ES256", "ec-1");
  impostor = await createSigningKey("RS256", "rsa-1");
  jwks = await startJwksServer([rsa.publicJwk, ec.publicJwk]);
  remote = createJwtVerifier({
    jwksUrl: jwks.url,
    issuer: ISSUER,
    audience: AUDIENCE,
  });
});

afterAll(async () => {
  await jwks.close();
});

async function rejection(
  verifier: JwtVerifier,
  token: string,
): Promise<TokenRejectedError> {
  const error = await verifier.verify(token).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof TokenRejectedError)) {
    throw new Error(`expected a TokenRejectedError, got ${String(error)}`);
  }
  return error;
}

describe("remote JWKS", () => {
  it("accepts an RS256 token", async () => {
    const identity = await remote.verify(await signToken(rsa));
    expect(identity.userId).toBe("user-1");
    expect(identity.projectId).toBe("");
    expect([...identity.permissions]).toEqual([]);
  });

  it("accepts an ES256 token", async () => {
    const token = await signToken(ec, { subject: "user-ec" });
    const identity = await remote.verify(token);
    expect(identity.userId).toBe("user-ec");
  });

  it("downloads the key set once", async () => {
    const verifier = createJwtVerifier({
      jwksUrl: jwks.url,
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const before = jwks.requests;
    await verifier.verify(await signToken(rsa));
    await verifier.verify(await signToken(ec));
    await verifier.verify(await signToken(rsa));
    expect(jwks.requests - before).toBe(1);
  });

  it("accepts one of several audiences", async () => {
    const token = await signToken(rsa, { audience: ["other", AUDIENCE] });
    await expect(remote.verify(token)).resolves.toMatchObject({
      userId: "user-1",
    });
  });
});

describe("JWT rejection", () => {
  const cases: [string, () => Promise<string>, RejectReason][] = [
    ["expired", () => signToken(rsa, { expiresIn: -120 }), "expired"],
    [
      "not yet valid",
      () => signToken(rsa, { notBefore: 120 }),
      "not_yet_valid",
    ],
    [
      "wrong issuer",
      () => signToken(rsa, { issuer: "https://other.test" }),
      "issuer",
    ],
    [
      "wrong audience",
      () => signToken(ec, { audience: "other-project" }),
      "audience",
    ],
    ["wrong signature", () => signToken(impostor), "signature"],
    ["unknown kid", () => signToken(impostor, { kid: "unknown" }), "signature"],
    ["tampered payload", () => tamper(signToken(rsa)), "signature"],
    ["alg none", () => unsignedToken(), "algorithm"],
    ["HS256 with the public key", () => hmacToken(rsa), "algorithm"],
    ["missing sub", () => signToken(rsa, { subject: null }), "claims"],
    ["empty sub", () => signToken(rsa, { subject: "" }), "claims"],
    ["missing exp", () => signToken(rsa, { expiresIn: null }), "claims"],
    ["garbage", async () => "a.b.c", "malformed"],
    ["one part", async () => "abcdef", "malformed"],
  ];

  it.each(cases)("rejects %s", async (_name, makeToken, reason) => {
    const token = await makeToken();
    const error = await rejection(remote, token);
    expect(error.reason).toBe(reason);
    expect(error.message).not.toContain(token);
  });

  it("accepts exp within the tolerance", async () => {
    const token = await signToken(rsa, { expiresIn: -10 });
    await expect(remote.verify(token)).resolves.toMatchObject({
      userId: "user-1",
    });
  });

  it("accepts nbf within the tolerance", async () => {
    const token = await signToken(rsa, { notBefore: 10 });
    await expect(remote.verify(token)).resolves.toMatchObject({
      userId: "user-1",
    });
  });

  it("rejects exp past a zero tolerance", async () => {
    const strict = createJwtVerifier({
      jwksUrl: jwks.url,
      issuer: ISSUER,
      audience: AUDIENCE,
      clockToleranceSeconds: 0,
    });
    const token = await signToken(rsa, { expiresIn: -10 });
    const error = await rejection(strict, token);
    expect(error.reason).toBe("expired");
  });
});

describe("JWKS unavailable", () => {
  let broken: JwksServer;

  beforeEach(async () => {
    broken = await startJwksServer([rsa.publicJwk]);
  });

  afterEach(async () => {
    await broken.close();
  });

  function verifierFor(url: string): JwtVerifier {
    return createJwtVerifier({
      jwksUrl: url,
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksTimeoutMs: 2000,
    });
  }

  it("fails on a 500 response", async () => {
    broken.serve({ status: 500, body: "down" });
    const verify = verifierFor(broken.url).verify(await signToken(rsa));
    await expect(verify).rejects.toBeInstanceOf(KeySetUnavailableError);
  });

  it("fails on a response without keys", async () => {
    broken.serve({ status: 200, body: '{"issuer":"x"}' });
    const verify = verifierFor(broken.url).verify(await signToken(rsa));
    await expect(verify).rejects.toBeInstanceOf(KeySetUnavailableError);
  });

  it("fails when nothing listens", async () => {
    const url = broken.url;
    await broken.close();
    const verify = verifierFor(url).verify(await signToken(rsa));
    await expect(verify).rejects.toBeInstanceOf(KeySetUnavailableError);
  });
});

describe("local JWKS", () => {
  let folder: string;

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), "actions-jwks-"));
  });

  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it("accepts a key set as JSON text", async () => {
    const verifier = createJwtVerifier({
      jwks: JSON.stringify({ keys: [rsa.publicJwk, ec.publicJwk] }),
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    await expect(verifier.verify(await signToken(ec))).resolves.toMatchObject({
      userId: "user-1",
    });
    const error = await rejection(verifier, await signToken(impostor));
    expect(error.reason).toBe("signature");
  });

  it("accepts a key set file", async () => {
    const path = join(folder, "keys.json");
    writeFileSync(path, JSON.stringify({ keys: [rsa.publicJwk] }));
    const verifier = createJwtVerifier({
      jwks: path,
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    await expect(verifier.verify(await signToken(rsa))).resolves.toMatchObject({
      userId: "user-1",
    });
  });
});

describe("JWT claims", () => {
  let verifier: JwtVerifier;

  beforeAll(() => {
    verifier = createJwtVerifier({
      jwks: JSON.stringify({ keys: [rsa.publicJwk] }),
      issuer: ISSUER,
      audience: AUDIENCE,
    });
  });

  it("reads a permissions array", async () => {
    const token = await signToken(rsa, {
      claims: { permissions: ["action.target.read", "user.read"] },
    });
    const identity = await verifier.verify(token);
    expect([...identity.permissions].sort()).toEqual([
      "action.target.read",
      "user.read",
    ]);
  });

  it("reads a space-separated permissions string", async () => {
    const token = await signToken(rsa, {
      claims: { permissions: " action.target.read  action.execution.read " },
    });
    const identity = await verifier.verify(token);
    expect([...identity.permissions].sort()).toEqual([
      "action.execution.read",
      "action.target.read",
    ]);
  });

  it("reads the default project id claim", async () => {
    const token = await signToken(rsa, {
      claims: { "urn:zitadel:iam:org:project:id": "4711" },
    });
    const identity = await verifier.verify(token);
    expect(identity.projectId).toBe("4711");
  });

  it("reads configured claim names", async () => {
    const custom = createJwtVerifier({
      jwks: JSON.stringify({ keys: [rsa.publicJwk] }),
      issuer: ISSUER,
      audience: AUDIENCE,
      permissionsClaim: "urn:zitadel:iam:org:project:roles",
      projectIdClaim: "project",
    });
    const token = await signToken(rsa, {
      claims: {
        "urn:zitadel:iam:org:project:roles": {
          "action.target.read": { "org-1": "acme.test" },
          IAM_OWNER_VIEWER: { "org-1": "acme.test" },
        },
        permissions: ["action.target.write"],
        project: "p-9",
      },
    });
    const identity = await custom.verify(token);
    expect([...identity.permissions].sort()).toEqual([
      "action.execution.read",
      "action.target.read",
    ]);
    expect(identity.projectId).toBe("p-9");
  });

  it("rejects a permissions number", async () => {
    const token = await signToken(rsa, { claims: { permissions: 7 } });
    const error = await rejection(verifier, token);
    expect(error.reason).toBe("claims");
  });

  it("rejects a permissions array of numbers", async () => {
    const token = await signToken(rsa, { claims: { permissions: ["a", 1] } });
    const error = await rejection(verifier, token);
    expect(error.reason).toBe("claims");
  });

  it("ignores a project id that is not a string", async () => {
    const token = await signToken(rsa, {
      claims: { "urn:zitadel:iam:org:project:id": 4711 },
    });
    const identity = await verifier.verify(token);
    expect(identity.projectId).toBe("");
  });
});

describe("permissionsFromClaim", () => {
  it("expands IAM_OWNER to the admin permissions", () => {
    const permissions = permissionsFromClaim("IAM_OWNER", "roles", [
      "action.target.write",
      "user.write",
    ]);
    expect([...permissions].sort()).toEqual([
      "action.target.write",
      "user.write",
    ]);
  });

  it("expands IAM_OWNER by default to five permissions", () => {
    const permissions = permissionsFromClaim(["IAM_OWNER"]);
    expect([...permissions].sort()).toEqual([
      "action.execution.read",
      "action.execution.write",
      "action.target.delete",
      "action.target.read",
      "action.target.write",
    ]);
  });

  it("returns no permissions for null", () => {
    expect(permissionsFromClaim(null).size).toBe(0);
  });

  it("rejects a boolean", () => {
    expect(() => permissionsFromClaim(true)).toThrow(TokenRejectedError);
  });
});

describe("JWT verifier options", () => {
  const base: JwtVerifierOptions = {
    jwks: '{"keys":[]}',
    issuer: ISSUER,
    audience: AUDIENCE,
  };

  const invalid: [string, Partial<JwtVerifierOptions>, RegExp][] = [
    ["no key set", { jwks: "" }, /needs a JWKS URL or a local JWKS/],
    [
      "two key sets",
      { jwksUrl: "https://127.0.0.1:1/keys" },
      /both a JWKS URL and a local JWKS/,
    ],
    ["an empty issuer", { issuer: "" }, /needs the issuer/],
    ["an empty audience", { audience: [] }, /needs the audience/],
    ["a negative tolerance", { clockToleranceSeconds: -1 }, /clock tolerance/],
    [
      "plain http to another host",
      { jwks: "", jwksUrl: "http://issuer.test/keys" },
      /use https/,
    ],
    ["a relative URL", { jwks: "", jwksUrl: "/keys" }, /invalid JWKS URL/],
    ["a missing file", { jwks: "/nonexistent/keys.json" }, /cannot read/],
    ["invalid JSON", { jwks: "{keys" }, /not valid JSON/],
    ["no keys array", { jwks: '{"key":[]}' }, /"keys" array/],
    [
      "a symmetric key",
      { jwks: '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}' },
      /symmetric key/,
    ],
  ];

  it.each(invalid)("rejects %s", (_name, override, message) => {
    expect(() => createJwtVerifier({ ...base, ...override })).toThrow(
      ConfigError,
    );
    expect(() => createJwtVerifier({ ...base, ...override })).toThrow(message);
  });

  it("rejects a private key", async () => {
    const { privateKey } = await generateKeyPair("ES256", {
      extractable: true,
    });
    const jwk = await exportJWK(privateKey);
    expect(() =>
      createJwtVerifier({ ...base, jwks: JSON.stringify({ keys: [jwk] }) }),
    ).toThrow(/private key/);
  });

  it.each([
    "http://127.0.0.1:1/keys",
    "http://[::1]:1/keys",
    "http://localhost:1/keys",
    "https://127.0.0.1:1/keys",
  ])("accepts %s", (jwksUrl) => {
    expect(() =>
      createJwtVerifier({ ...base, jwks: "", jwksUrl }),
    ).not.toThrow();
  });
});

// Replaces the payload of a signed token and keeps the old signature.
async function tamper(signed: Promise<string>): Promise<string> {
  const [header, , signature] = (await signed).split(".");
  const payload = Buffer.from(
    JSON.stringify({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: "admin",
      exp: Math.floor(Date.now() / 1000) + 300,
      permissions: ["action.target.write"],
    }),
  ).toString("base64url");
  return `${header}.${payload}.${signature}`;
}

function unsignedToken(): Promise<string> {
  return Promise.resolve(
    new UnsecuredJWT({ sub: "user-1" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .encode(),
  );
}

// Signs with HS256 and the public JWK as the secret: the classic algorithm
// confusion attack on verifiers that pick the algorithm from the header.
function hmacToken(key: SigningKey): Promise<string> {
  return new SignJWT({ sub: "user-1" })
    .setProtectedHeader({ alg: "HS256", kid: key.kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(JSON.stringify(key.publicJwk)));
}

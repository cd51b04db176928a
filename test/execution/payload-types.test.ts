import { rmSync } from "node:fs";
import { join } from "node:path";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import Database from "better-sqlite3";
import {
  compactDecrypt,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  type JSONWebKeySet,
} from "jose";
import { PayloadType } from "../../gen/zitadel/action/v2/target_pb.js";
import { buildUserInfo } from "../../src/sample/index.js";
import { verifySignature } from "../../src/target/signing.js";
import {
  type E2eServer,
  humanUser,
  setEventExecution,
  setFunctionExecution,
  startE2eServer,
} from "../events-e2e/e2e-server.js";
import { type TestKeyPair, testKeyPair } from "../support/key-pairs.js";
import { rpcError } from "../support/rpc-error.js";
import {
  type RecordedRequest,
  type StubTarget,
  startStubTarget,
} from "../support/stub-target.js";

// JWT and JWE bodies through a real server with the sample UserService,
// real stub targets and keys that the tests generate. Targets verify the
// JWT with the JWKS that the server publishes at /oauth/v2/keys.

const addHumanUser = "/zitadel.user.v2.UserService/AddHumanUser";
const missingKeyId = "EXEC-2n8fhs7g";

let server: E2eServer;
let target: StubTarget;
let targetCount = 0;

beforeAll(async () => {
  server = await startE2eServer();
});

beforeEach(async () => {
  target = await startStubTarget();
});

afterEach(async () => {
  await target.close();
  await server.actions.setExecution({
    condition: requestCondition(),
    targets: [],
  });
});

afterAll(async () => {
  await server.test.stop();
});

function requestCondition() {
  return {
    conditionType: {
      case: "request" as const,
      value: { condition: { case: "method" as const, value: addHumanUser } },
    },
  };
}

interface TargetOptions {
  payloadType: PayloadType;
  kind?: "restWebhook" | "restCall";
  interruptOnError?: boolean;
  path?: string;
}

async function createTarget(
  options: TargetOptions,
): Promise<{ id: string; signingKey: string }> {
  targetCount++;
  return server.actions.createTarget({
    name: `payload-target-${targetCount}`,
    endpoint: `${target.url}${options.path ?? "/hook"}`,
    timeout: { seconds: 5n },
    targetType: {
      case: options.kind ?? "restWebhook",
      value: { interruptOnError: options.interruptOnError ?? true },
    },
    payloadType: options.payloadType,
  });
}

async function onRequest(targetId: string): Promise<void> {
  await server.actions.setExecution({
    condition: requestCondition(),
    targets: [targetId],
  });
}

async function addActiveKey(
  targetId: string,
  pair: TestKeyPair,
): Promise<string> {
  const { keyId } = await server.actions.addPublicKey({
    targetId,
    publicKey: pair.publicPem,
  });
  await server.actions.activatePublicKey({ targetId, keyId });
  return keyId;
}

async function fetchJwks(baseUrl = server.test.baseUrl) {
  const response = await fetch(`${baseUrl}/oauth/v2/keys`);
  return (await response.json()) as JSONWebKeySet;
}

/** Verifies a compact JWS with the server's JWKS and returns its JSON. */
async function verifiedJson(
  jws: string | Uint8Array,
  jwks: JSONWebKeySet,
): Promise<Record<string, unknown>> {
  const { payload } = await compactVerify(jws, createLocalJWKSet(jwks));
  return JSON.parse(new TextDecoder().decode(payload));
}

function onlyRequest(): RecordedRequest {
  expect(target.requests).toHaveLength(1);
  return target.requests[0] as RecordedRequest;
}

describe("JWT payloads", () => {
  it("signs request payloads with the instance key", async () => {
    const created = await createTarget({ payloadType: PayloadType.JWT });
    await onRequest(created.id);
    const user = humanUser();

    await server.users.addHumanUser(user);

    const request = onlyRequest();
    const jwks = await fetchJwks();
    const header = decodeProtectedHeader(request.text);
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.text.split(".")).toHaveLength(3);
    expect(request.json).toBeUndefined();
    expect(header.alg).toBe("ES256");
    expect(header.kid).toBe(jwks.keys[0]?.kid);
    const payload = await verifiedJson(request.text, jwks);
    expect(payload.fullMethod).toBe(addHumanUser);
    expect(payload.request).toEqual(
      expect.objectContaining({ username: user.username }),
    );
    expect(() =>
      verifySignature(
        request.body,
        request.headers["zitadel-signature"] as string,
        created.signingKey,
      ),
    ).not.toThrow();
    expect(request.headers["webhook-signature"]).toBeDefined();
  });

  it("signs event payloads", async () => {
    const created = await createTarget({ payloadType: PayloadType.JWT });
    await setEventExecution(server.actions, { event: "user.human.added" }, [
      created.id,
    ]);

    try {
      await server.users.addHumanUser(humanUser());
      const [request] = await target.waitForRequests(1);

      const payload = await verifiedJson(
        request?.text ?? "",
        await fetchJwks(),
      );
      expect(payload.event_type).toBe("user.human.added");
    } finally {
      await setEventExecution(
        server.actions,
        { event: "user.human.added" },
        [],
      );
    }
  });

  it("rejects a body signed by another key", async () => {
    const created = await createTarget({ payloadType: PayloadType.JWT });
    await onRequest(created.id);
    await server.users.addHumanUser(humanUser());
    const other = testKeyPair("p256").privateKey.export({ format: "jwk" });
    const { d: _, ...otherPublic } = other;
    const header = decodeProtectedHeader(onlyRequest().text);

    await expect(
      verifiedJson(onlyRequest().text, {
        keys: [{ ...otherPublic, kid: header.kid, alg: "ES256" }],
      }),
    ).rejects.toThrow();
  });
});

describe("JWE payloads", () => {
  it.each([
    ["RSA", "rsa", "RSA-OAEP-256"],
    ["EC P-256", "p256", "ECDH-ES+A256KW"],
    ["EC P-521", "p521", "ECDH-ES+A256KW"],
  ] as const)("encrypts to an active %s key", async (_, kind, algorithm) => {
    const created = await createTarget({ payloadType: PayloadType.JWE });
    const pair = testKeyPair(kind);
    const keyId = await addActiveKey(created.id, pair);
    await onRequest(created.id);
    const user = humanUser();

    await server.users.addHumanUser(user);

    const request = onlyRequest();
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.text.split(".")).toHaveLength(5);
    const { plaintext, protectedHeader } = await compactDecrypt(
      request.text,
      pair.privateKey,
    );
    expect(protectedHeader).toEqual({
      alg: algorithm,
      enc: "A256GCM",
      typ: "JWT",
      cty: "JWT",
      kid: keyId,
      ...(algorithm === "ECDH-ES+A256KW" ? { epk: expect.any(Object) } : {}),
    });
    const payload = await verifiedJson(plaintext, await fetchJwks());
    expect(payload.fullMethod).toBe(addHumanUser);
    expect(payload.request).toEqual(
      expect.objectContaining({ username: user.username }),
    );
    expect(() =>
      verifySignature(
        request.body,
        request.headers["zitadel-signature"] as string,
        created.signingKey,
      ),
    ).not.toThrow();
  });

  // Go's pem.Decode ignores the label and skips header lines, so these
  // keys are accepted, and the body must be encrypted to the key that was
  // checked: the first block's.
  it.each([
    [
      "under another PEM label",
      (first: TestKeyPair) =>
        Buffer.from(first.publicPem).toString().replaceAll("PUBLIC KEY", "FOO"),
    ],
    [
      "in a block with a header line, before a second block",
      (first: TestKeyPair) =>
        Buffer.from(first.publicPem)
          .toString()
          .replace(
            "-----BEGIN PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nComment: first\n\n",
          ) + Buffer.from(testKeyPair("p256").publicPem).toString(),
    ],
  ])("encrypts to a key %s", async (_, pemOf) => {
    const created = await createTarget({ payloadType: PayloadType.JWE });
    const pair = testKeyPair("rsa");
    const { keyId } = await server.actions.addPublicKey({
      targetId: created.id,
      publicKey: Buffer.from(pemOf(pair)),
    });
    await server.actions.activatePublicKey({ targetId: created.id, keyId });
    await onRequest(created.id);

    await server.users.addHumanUser(humanUser());

    const request = onlyRequest();
    const { protectedHeader } = await compactDecrypt(
      request.text,
      pair.privateKey,
    );
    expect(protectedHeader.alg).toBe("RSA-OAEP-256");
    expect(protectedHeader.kid).toBe(keyId);
  });

  it("uses the key activated last", async () => {
    const created = await createTarget({ payloadType: PayloadType.JWE });
    const first = testKeyPair("p256");
    const second = testKeyPair("rsa");
    await addActiveKey(created.id, first);
    await onRequest(created.id);
    await server.users.addHumanUser(humanUser());

    const secondKeyId = await addActiveKey(created.id, second);
    await server.users.addHumanUser(humanUser());

    const [, request] = target.requests;
    const decrypted = await compactDecrypt(
      request?.text ?? "",
      second.privateKey,
    );
    expect(decrypted.protectedHeader.kid).toBe(secondKeyId);
    await expect(
      compactDecrypt(request?.text ?? "", first.privateKey),
    ).rejects.toThrow();
  });

  it.each([
    ["no key", "none"],
    ["an inactive key", "inactive"],
    ["a deactivated key", "deactivated"],
    ["an expired active key", "expired"],
  ] as const)("fails with MissingEncryptionKey for %s", async (_, state) => {
    const created = await createTarget({ payloadType: PayloadType.JWE });
    if (state !== "none") {
      const { keyId } = await server.actions.addPublicKey({
        targetId: created.id,
        publicKey: testKeyPair("p256").publicPem,
        expirationDate:
          state === "expired" ? timestampFromMs(Date.now() + 300) : undefined,
      });
      if (state !== "inactive") {
        await server.actions.activatePublicKey({ targetId: created.id, keyId });
      }
      if (state === "deactivated") {
        await server.actions.deactivatePublicKey({
          targetId: created.id,
          keyId,
        });
      }
      if (state === "expired") {
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
    }
    await onRequest(created.id);

    const error = await rpcError(server.users.addHumanUser(humanUser()));

    expect(error.code).toBe(Code.Internal);
    expect(error.details[0]?.id).toBe(missingKeyId);
    expect(error.message).toMatch(/no active public key/);
    expect(target.requests).toHaveLength(0);
  });

  it("skips the target without interrupt_on_error", async () => {
    const created = await createTarget({
      payloadType: PayloadType.JWE,
      interruptOnError: false,
    });
    await onRequest(created.id);

    const added = await server.users.addHumanUser(humanUser());

    expect(added.userId).not.toBe("");
    expect(target.requests).toHaveLength(0);
  });

  it("encrypts function payloads and applies the answer", async () => {
    const created = await createTarget({
      payloadType: PayloadType.JWE,
      kind: "restCall",
      path: "/userinfo",
    });
    const pair = testKeyPair("p384");
    await addActiveKey(created.id, pair);
    await setFunctionExecution(server.actions, "preuserinfo", [created.id]);
    target.respondWith({
      json: { append_claims: [{ key: "department", value: "R&D" }] },
    });

    try {
      const { userId } = await server.users.addHumanUser(humanUser());
      const claims = await buildUserInfo(server.host, userId);

      expect(claims.department).toBe("R&D");
      const { plaintext } = await compactDecrypt(
        onlyRequest().text,
        pair.privateKey,
      );
      const payload = await verifiedJson(plaintext, await fetchJwks());
      expect(payload.function).toBe("function/preuserinfo");
    } finally {
      await setFunctionExecution(server.actions, "preuserinfo", []);
    }
  });
});

describe("JWKS route", () => {
  it("publishes the public signing key", async () => {
    const response = await fetch(`${server.test.baseUrl}/oauth/v2/keys`);
    const jwks = (await response.json()) as JSONWebKeySet;

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toEqual({
      kty: "EC",
      crv: "P-256",
      x: expect.any(String),
      y: expect.any(String),
      kid: expect.stringMatching(/^[0-9]+$/),
      alg: "ES256",
      use: "sig",
    });
  });

  it("answers HEAD and rejects POST", async () => {
    const head = await fetch(`${server.test.baseUrl}/oauth/v2/keys`, {
      method: "HEAD",
    });
    const post = await fetch(`${server.test.baseUrl}/oauth/v2/keys`, {
      method: "POST",
    });

    expect(head.status).toBe(200);
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("keeps the key across restarts, encrypted at rest", async () => {
    const first = await startE2eServer();
    const { dataDir } = first.test;
    const before = await fetchJwks(first.test.baseUrl);
    await first.test.stop({ keepData: true });
    const second = await startE2eServer({
      dataDir,
      databasePath: join(dataDir, "actions.db"),
    });

    try {
      const after = await fetchJwks(second.test.baseUrl);
      const database = new Database(join(dataDir, "actions.db"), {
        readonly: true,
      });
      const rows = database
        .prepare("select private_key from instance_signing_keys")
        .all() as { private_key: string }[];
      database.close();

      expect(after).toEqual(before);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.private_key).toMatch(/^v1:/);
      expect(rows[0]?.private_key).not.toMatch(/PRIVATE KEY/);
    } finally {
      await second.test.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

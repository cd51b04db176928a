import { createHash, generateKeyPairSync } from "node:crypto";
import { type Timestamp, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { ActionService as ActionServiceV2 } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { type ActionClient, actionClient } from "../support/action-clients.js";
import {
  clientFor,
  closeGrpcJsClients,
  transportNames,
} from "../support/clients.js";
import { testKeyPair } from "../support/key-pairs.js";
import { rpcError } from "../support/rpc-error.js";
import {
  authHeader,
  startTestServer,
  type TestServer,
} from "../support/start-server.js";

const VIEWER_TOKEN = "test-viewer-token-0123456789abcdef";
const WRITER_TOKEN = "test-writer-token-0123456789abcdef";

let server: TestServer;
let client: ActionClient;

beforeAll(async () => {
  server = await startTestServer({
    config: {
      authTokens: [
        `admin:${authHeader.authorization.slice("Bearer ".length)}`,
        `viewer:${VIEWER_TOKEN}:action.target.read`,
        `writer:${WRITER_TOKEN}:action.target.write`,
      ],
    },
  });
  client = actionClient("v2", "connect-json-h1", server.baseUrl);
});

afterAll(async () => {
  closeGrpcJsClients();
  await server.stop();
});

let counter = 0;

async function createTarget(): Promise<string> {
  counter++;
  const created = await client.createTarget({
    name: `public-keys-${counter}-${Date.now()}`,
    targetType: { case: "restWebhook", value: { interruptOnError: false } },
    timeout: { seconds: 5n },
    endpoint: "https://example.com/hook",
  });
  return created.id;
}

function fingerprintOf(der: Buffer): string {
  const digest = createHash("sha256").update(der).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

function ms(timestamp: Timestamp | undefined): number | undefined {
  return timestamp === undefined
    ? undefined
    : Number(timestamp.seconds) * 1000 + timestamp.nanos / 1_000_000;
}

describe("addPublicKey", () => {
  it.each(transportNames)("adds an inactive key over %s", async (name) => {
    const targetId = await createTarget();
    const pair = testKeyPair("p256");
    const transportClient = actionClient("v2", name, server.baseUrl);

    const added = await transportClient.addPublicKey({
      targetId,
      publicKey: pair.publicPem,
    });
    const listed = await transportClient.listPublicKeys({ targetId });

    expect(added.keyId).toMatch(/^[1-9][0-9]{16,19}$/);
    expect(added.creationDate).toBeDefined();
    expect(listed.publicKeys).toHaveLength(1);
    const [key] = listed.publicKeys;
    expect(key?.keyId).toBe(added.keyId);
    expect(key?.active).toBe(false);
    expect(Buffer.from(key?.publicKey ?? []).toString()).toBe(
      Buffer.from(pair.publicPem).toString(),
    );
    expect(key?.fingerprint).toBe(fingerprintOf(pair.publicDer));
    expect(key?.expirationDate).toBeUndefined();
    expect(ms(key?.creationDate)).toBe(ms(added.creationDate));
  });

  it.each(["rsa", "p256", "p384", "p521"] as const)(
    "accepts a %s key",
    async (kind) => {
      const targetId = await createTarget();

      const added = await client.addPublicKey({
        targetId,
        publicKey: testKeyPair(kind).publicPem,
      });

      expect(added.keyId).not.toBe("");
    },
  );

  it("stores a future expiration date", async () => {
    const targetId = await createTarget();
    const expiration = Date.now() + 3_600_000;

    await client.addPublicKey({
      targetId,
      publicKey: testKeyPair("p256").publicPem,
      expirationDate: timestampFromMs(expiration),
    });
    const listed = await client.listPublicKeys({ targetId });

    expect(ms(listed.publicKeys[0]?.expirationDate)).toBe(expiration);
  });

  const rsaPkcs1 = Buffer.from(
    generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({
      type: "pkcs1",
      format: "pem",
    }),
  );
  const certificateLike = Buffer.from(
    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
  );

  const rsa1024 = Buffer.from(
    generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({
      type: "spki",
      format: "pem",
    }),
  );
  // A P-256 key with five bytes after its DER, which Go's x509 rejects.
  const trailingBytes = Buffer.from(
    `-----BEGIN PUBLIC KEY-----\n${Buffer.concat([
      testKeyPair("p256").publicDer,
      Buffer.from([1, 2, 3, 4, 5]),
    ]).toString("base64")}\n-----END PUBLIC KEY-----\n`,
  );

  it.each([
    ["text without PEM", Buffer.from("not a key")],
    ["PKCS#1 RSA key", rsaPkcs1],
    ["PEM block that is no key", certificateLike],
    ["Ed25519 key", Buffer.from(testKeyPair("ed25519").publicPem)],
    ["EC key on secp256k1", Buffer.from(testKeyPair("secp256k1").publicPem)],
    ["RSA key of 1024 bits", rsa1024],
    ["key with bytes after its DER", trailingBytes],
  ])("rejects a %s", async (_, publicKey) => {
    const targetId = await createTarget();

    const error = await rpcError(client.addPublicKey({ targetId, publicKey }));

    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.details[0]?.id).toBe("ErrPublicKeyFormat");
    expect(error.message).toMatch(/^Public key is invalid: /);
    const listed = await client.listPublicKeys({ targetId });
    expect(listed.publicKeys).toEqual([]);
  });

  it.each([
    ["an empty key", new Uint8Array(0)],
    ["a key of 8193 bytes", new Uint8Array(8193).fill(65)],
  ])("rejects %s as invalid field", async (_, publicKey) => {
    const targetId = await createTarget();

    const error = await rpcError(client.addPublicKey({ targetId, publicKey }));

    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.message).toMatch(/^invalid AddPublicKeyRequest.PublicKey: /);
  });

  it("rejects an empty target id", async () => {
    const error = await rpcError(
      client.addPublicKey({
        targetId: "",
        publicKey: testKeyPair("p256").publicPem,
      }),
    );

    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.message).toMatch(/AddPublicKeyRequest.TargetId/);
  });

  it("rejects an expiration in the past", async () => {
    const targetId = await createTarget();

    const error = await rpcError(
      client.addPublicKey({
        targetId,
        publicKey: testKeyPair("p256").publicPem,
        expirationDate: timestampFromMs(Date.now() - 1000),
      }),
    );

    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.details[0]?.id).toBe("ErrExpirationDateBeforeNow");
    expect(error.details[0]?.message).toMatch(/Expiration date is invalid/);
  });

  it.each([
    ["before year 1", -10_000_000_000_000n],
    ["after year 9999", 10_000_000_000_000n],
  ])("rejects an expiration %s", async (_, seconds) => {
    const targetId = await createTarget();
    // JSON cannot carry such a timestamp, so the binary protocol sends it.
    const binary = actionClient("v2", "connect-binary-h2", server.baseUrl);

    const error = await rpcError(
      binary.addPublicKey({
        targetId,
        publicKey: testKeyPair("p256").publicPem,
        expirationDate: { seconds, nanos: 0 },
      }),
    );

    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.message).toMatch(
      /^invalid AddPublicKeyRequest.ExpirationDate: /,
    );
    const listed = await client.listPublicKeys({ targetId });
    expect(listed.publicKeys).toEqual([]);
  });

  it("rejects an unknown target with FailedPrecondition", async () => {
    const error = await rpcError(
      client.addPublicKey({
        targetId: "123456789012345678",
        publicKey: testKeyPair("p256").publicPem,
      }),
    );

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.details[0]?.id).toBe("COMMAND-nd3fsd");
    expect(error.message).toMatch(/123456789012345678/);
  });

  it("drops the keys of a deleted target", async () => {
    const targetId = await createTarget();
    await client.addPublicKey({
      targetId,
      publicKey: testKeyPair("p256").publicPem,
    });

    await client.deleteTarget({ id: targetId });
    const listed = await client.listPublicKeys({ targetId });

    expect(listed.publicKeys).toEqual([]);
  });
});

describe("activatePublicKey", () => {
  async function addKeys(count: number) {
    const targetId = await createTarget();
    const keyIds: string[] = [];
    for (let i = 0; i < count; i++) {
      const added = await client.addPublicKey({
        targetId,
        publicKey: testKeyPair("p256").publicPem,
      });
      keyIds.push(added.keyId);
    }
    return { targetId, keyIds };
  }

  async function activeIds(targetId: string): Promise<string[]> {
    const listed = await client.listPublicKeys({ targetId });
    return listed.publicKeys.filter((k) => k.active).map((k) => k.keyId);
  }

  it("activates a key", async () => {
    const { targetId, keyIds } = await addKeys(1);

    const activated = await client.activatePublicKey({
      targetId,
      keyId: keyIds[0],
    });

    expect(activated.changeDate).toBeDefined();
    expect(await activeIds(targetId)).toEqual([keyIds[0]]);
  });

  it("deactivates the current key when another is activated", async () => {
    const { targetId, keyIds } = await addKeys(2);
    await client.activatePublicKey({ targetId, keyId: keyIds[0] });

    await client.activatePublicKey({ targetId, keyId: keyIds[1] });

    expect(await activeIds(targetId)).toEqual([keyIds[1]]);
  });

  it("keeps the change date of an active key", async () => {
    const { targetId, keyIds } = await addKeys(1);
    const first = await client.activatePublicKey({
      targetId,
      keyId: keyIds[0],
    });

    const second = await client.activatePublicKey({
      targetId,
      keyId: keyIds[0],
    });

    expect(ms(second.changeDate)).toBe(ms(first.changeDate));
    expect(await activeIds(targetId)).toEqual([keyIds[0]]);
  });

  it("rejects an expired key", async () => {
    const targetId = await createTarget();
    const added = await client.addPublicKey({
      targetId,
      publicKey: testKeyPair("p256").publicPem,
      expirationDate: timestampFromMs(Date.now() + 300),
    });
    await new Promise((resolve) => setTimeout(resolve, 400));

    const error = await rpcError(
      client.activatePublicKey({ targetId, keyId: added.keyId }),
    );

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.details[0]?.id).toBe("COMMAND-SAF4g");
    expect(error.details[0]?.message).toMatch(/Public key has expired/);
    expect(await activeIds(targetId)).toEqual([]);
  });

  it.each([
    ["an unknown key", "known", "987654321098765432"],
    ["an unknown target", "123456789012345678", "known"],
  ])("rejects %s with FailedPrecondition", async (_, target, key) => {
    const { targetId, keyIds } = await addKeys(1);

    const error = await rpcError(
      client.activatePublicKey({
        targetId: target === "known" ? targetId : target,
        keyId: key === "known" ? (keyIds[0] ?? "") : key,
      }),
    );

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.details[0]?.id).toBe("COMMAND-SAF4g");
    expect(error.message).toMatch(/^Target not found/);
  });

  it("rejects a key of another target", async () => {
    const first = await addKeys(1);
    const second = await addKeys(0);

    const error = await rpcError(
      client.activatePublicKey({
        targetId: second.targetId,
        keyId: first.keyIds[0] ?? "",
      }),
    );

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(await activeIds(first.targetId)).toEqual([]);
  });

  it("rejects an empty key id", async () => {
    const { targetId } = await addKeys(0);

    const error = await rpcError(
      client.activatePublicKey({ targetId, keyId: "" }),
    );

    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.message).toMatch(/ActivatePublicKeyRequest.KeyId/);
  });

  it("deactivates a key", async () => {
    const { targetId, keyIds } = await addKeys(1);
    const activated = await client.activatePublicKey({
      targetId,
      keyId: keyIds[0],
    });

    const deactivated = await client.deactivatePublicKey({
      targetId,
      keyId: keyIds[0],
    });

    expect(ms(deactivated.changeDate)).toBeGreaterThan(
      ms(activated.changeDate) ?? 0,
    );
    expect(await activeIds(targetId)).toEqual([]);
  });

  it("leaves an inactive key inactive on deactivate", async () => {
    const { targetId, keyIds } = await addKeys(2);
    await client.activatePublicKey({ targetId, keyId: keyIds[1] });

    await client.deactivatePublicKey({ targetId, keyId: keyIds[0] });

    expect(await activeIds(targetId)).toEqual([keyIds[1]]);
  });

  it("rejects deactivating an unknown key", async () => {
    const { targetId } = await addKeys(0);

    const error = await rpcError(
      client.deactivatePublicKey({ targetId, keyId: "987654321098765432" }),
    );

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.details[0]?.id).toBe("COMMAND-SAF4g");
  });
});

describe("removePublicKey", () => {
  it("removes an inactive key", async () => {
    const targetId = await createTarget();
    const added = await client.addPublicKey({
      targetId,
      publicKey: testKeyPair("rsa").publicPem,
    });

    const removed = await client.removePublicKey({
      targetId,
      keyId: added.keyId,
    });
    const listed = await client.listPublicKeys({ targetId });

    expect(removed.deletionDate).toBeDefined();
    expect(listed.publicKeys).toEqual([]);
  });

  it("rejects removing the active key", async () => {
    const targetId = await createTarget();
    const added = await client.addPublicKey({
      targetId,
      publicKey: testKeyPair("p256").publicPem,
    });
    await client.activatePublicKey({ targetId, keyId: added.keyId });

    const error = await rpcError(
      client.removePublicKey({ targetId, keyId: added.keyId }),
    );

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.details[0]?.id).toBe("ErrPublicKeyDeleteActiveKey");
    const listed = await client.listPublicKeys({ targetId });
    expect(listed.publicKeys.map((key) => key.keyId)).toEqual([added.keyId]);
  });

  it("succeeds without a date for an unknown key", async () => {
    const targetId = await createTarget();

    const removed = await client.removePublicKey({
      targetId,
      keyId: "987654321098765432",
    });

    expect(removed.deletionDate).toBeUndefined();
  });
});

describe("listPublicKeys", () => {
  it("lists keys oldest first", async () => {
    const targetId = await createTarget();
    const first = await client.addPublicKey({
      targetId,
      publicKey: testKeyPair("p256").publicPem,
    });
    const second = await client.addPublicKey({
      targetId,
      publicKey: testKeyPair("rsa").publicPem,
    });

    const listed = await client.listPublicKeys({ targetId });

    expect(listed.publicKeys.map((key) => key.keyId)).toEqual([
      first.keyId,
      second.keyId,
    ]);
  });
});

describe("public key permissions", () => {
  const viewer = () =>
    clientFor(ActionServiceV2, "connect-json-h1", server.baseUrl, {
      authorization: `Bearer ${VIEWER_TOKEN}`,
    });
  const writer = () =>
    clientFor(ActionServiceV2, "grpc", server.baseUrl, {
      authorization: `Bearer ${WRITER_TOKEN}`,
    });

  it("lets action.target.read list keys", async () => {
    const targetId = await createTarget();
    await client.addPublicKey({
      targetId,
      publicKey: testKeyPair("p256").publicPem,
    });

    const listed = await viewer().listPublicKeys({ targetId });

    expect(listed.publicKeys).toHaveLength(1);
  });

  it.each([
    "addPublicKey",
    "activatePublicKey",
    "deactivatePublicKey",
    "removePublicKey",
  ] as const)("denies %s without action.target.write", async (method) => {
    const targetId = await createTarget();
    const added = await client.addPublicKey({
      targetId,
      publicKey: testKeyPair("p256").publicPem,
    });
    const request = {
      targetId,
      keyId: added.keyId,
      publicKey: testKeyPair("p256").publicPem,
    };

    const error = await rpcError(viewer()[method](request));

    expect(error.code).toBe(Code.PermissionDenied);
    const listed = await client.listPublicKeys({ targetId });
    expect(listed.publicKeys.map((key) => key.active)).toEqual([false]);
  });

  it("lets action.target.write add and activate keys", async () => {
    const targetId = await createTarget();

    const added = await writer().addPublicKey({
      targetId,
      publicKey: testKeyPair("p256").publicPem,
    });
    await writer().activatePublicKey({ targetId, keyId: added.keyId });

    const listed = await client.listPublicKeys({ targetId });
    expect(listed.publicKeys.map((key) => key.active)).toEqual([true]);
  });

  it("denies listing without action.target.read", async () => {
    const error = await rpcError(
      writer().listPublicKeys({ targetId: "123456789012345678" }),
    );

    expect(error.code).toBe(Code.PermissionDenied);
  });

  it("rejects calls without a token", async () => {
    const anonymous = clientFor(
      ActionServiceV2,
      "connect-json-h1",
      server.baseUrl,
      {},
    );

    const error = await rpcError(
      anonymous.listPublicKeys({ targetId: "123456789012345678" }),
    );

    expect(error.code).toBe(Code.Unauthenticated);
  });
});

describe("public keys in v2beta", () => {
  it("are not served", async () => {
    const response = await fetch(
      `${server.baseUrl}/zitadel.action.v2beta.ActionService/ListPublicKeys`,
      {
        method: "POST",
        headers: { "content-type": "application/json", ...authHeader },
        body: JSON.stringify({ targetId: "123456789012345678" }),
      },
    );

    expect(response.status).toBe(404);
  });
});

describe("public key REST paths", () => {
  async function rest(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers: { "content-type": "application/json", ...authHeader },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json = response.headers
      .get("content-type")
      ?.startsWith("application/json")
      ? (JSON.parse(text) as Record<string, unknown>)
      : {};
    return { status: response.status, json };
  }

  it("adds, activates, lists, deactivates and removes a key", async () => {
    const targetId = await createTarget();
    const pair = testKeyPair("p256");
    const base = `/v2/actions/targets/${targetId}/publickeys`;

    const added = await rest("POST", base, {
      publicKey: Buffer.from(pair.publicPem).toString("base64"),
    });
    const keyId = String(added.json.keyId);
    const activated = await rest("POST", `${base}/${keyId}/activate`);
    const listed = await rest("POST", `${base}/search`, {});
    const deactivated = await rest("POST", `${base}/${keyId}/deactivate`);
    const removed = await rest("DELETE", `${base}/${keyId}`);
    const after = await client.listPublicKeys({ targetId });

    expect(added.status).toBe(200);
    expect(keyId).toMatch(/^[0-9]+$/);
    expect(activated.status).toBe(200);
    expect(typeof activated.json.changeDate).toBe("string");
    expect(listed.status).toBe(200);
    expect(listed.json.publicKeys).toEqual([
      expect.objectContaining({
        keyId,
        active: true,
        publicKey: Buffer.from(pair.publicPem).toString("base64"),
        fingerprint: fingerprintOf(pair.publicDer),
      }),
    ]);
    expect(deactivated.status).toBe(200);
    expect(removed.status).toBe(200);
    expect(typeof removed.json.deletionDate).toBe("string");
    expect(after.publicKeys).toEqual([]);
  });

  it("returns 400 for an invalid key", async () => {
    const targetId = await createTarget();

    const added = await rest(
      "POST",
      `/v2/actions/targets/${targetId}/publickeys`,
      {
        publicKey: Buffer.from("not a key").toString("base64"),
      },
    );

    expect(added.status).toBe(400);
    expect(added.json.code).toBe(Code.InvalidArgument);
  });

  it("is not served under v2beta", async () => {
    const targetId = await createTarget();

    const listed = await rest(
      "POST",
      `/v2beta/actions/targets/${targetId}/publickeys/search`,
      {},
    );

    expect(listed.status).toBe(404);
  });
});

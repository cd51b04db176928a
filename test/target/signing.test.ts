import { createHmac } from "node:crypto";
import {
  SignatureError,
  type SignatureErrorReason,
  signPayload,
  standardWebhookHeaders,
  verifySignature,
  verifyStandardWebhook,
} from "../../src/target/index.js";

const key = "sig-key-1";
const now = 1_700_000_000;
const body = '{"fullMethod":"/zitadel.user.v2.UserService/AddHumanUser"}';

function hexHmac(secret: string, message: string): string {
  return createHmac("sha256", secret).update(message).digest("hex");
}

function expectReason(action: () => void, reason: SignatureErrorReason): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SignatureError);
  expect((caught as SignatureError).reason).toBe(reason);
}

describe("signPayload", () => {
  it("formats t and lowercase hex v1", () => {
    const header = signPayload(body, key, now);
    expect(header).toBe(`t=${now},v1=${hexHmac(key, `${now}.${body}`)}`);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it("signs bytes and strings alike", () => {
    const bytes = new TextEncoder().encode(body);
    expect(signPayload(bytes, key, now)).toBe(signPayload(body, key, now));
  });

  it("uses the system clock by default", () => {
    const before = Math.floor(Date.now() / 1000);
    const header = signPayload(body, key);
    const timestamp = Number(/^t=(\d+),/.exec(header)?.[1]);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(before + 1);
  });
});

describe("verifySignature", () => {
  const valid = signPayload(body, key, now);
  const digest = valid.split(",v1=")[1];

  it("accepts its own signature", () => {
    expect(() =>
      verifySignature(body, valid, key, { nowSeconds: now }),
    ).not.toThrow();
  });

  it("accepts the same body as bytes", () => {
    const bytes = new TextEncoder().encode(body);
    expect(() =>
      verifySignature(bytes, valid, key, { nowSeconds: now }),
    ).not.toThrow();
  });

  it("accepts any of several v1 values", () => {
    const wrong = "0".repeat(64);
    const header = `t=${now},v1=${wrong},v1=${digest}`;
    expect(() =>
      verifySignature(body, header, key, { nowSeconds: now }),
    ).not.toThrow();
  });

  it("skips undecodable hex and unknown keys", () => {
    const header = `t=${now},v0=abc,v1=zz,v1=abc,x=1,v1=${digest}`;
    expect(() =>
      verifySignature(body, header, key, { nowSeconds: now }),
    ).not.toThrow();
  });

  it("accepts any of several keys", () => {
    expect(() =>
      verifySignature(body, valid, ["old-key", key], { nowSeconds: now }),
    ).not.toThrow();
  });

  it("accepts a timestamp exactly at the tolerance", () => {
    const options = (offset: number) => ({ nowSeconds: now + offset });
    expect(() => verifySignature(body, valid, key, options(300))).not.toThrow();
    expect(() =>
      verifySignature(body, valid, key, options(-300)),
    ).not.toThrow();
  });

  it.each([undefined, null, ""])("rejects missing header %p", (header) => {
    expectReason(
      () => verifySignature(body, header, key, { nowSeconds: now }),
      "missing-header",
    );
  });

  it.each([`t=${now},v1`, `t=${now},v1=a=b`, `t=${now},,v1=ab`])(
    "rejects malformed part in %s",
    (header) => {
      expectReason(
        () => verifySignature(body, header, key, { nowSeconds: now }),
        "malformed-header",
      );
    },
  );

  it.each([
    ["non-integer t", `t=1.5,v1=${"ab".repeat(32)}`],
    ["text t", `t=abc,v1=${"ab".repeat(32)}`],
    ["empty t", `t=,v1=${"ab".repeat(32)}`],
    ["missing t", `v1=${"ab".repeat(32)}`],
  ])("rejects %s", (_case, header) => {
    expectReason(
      () => verifySignature(body, header, key, { nowSeconds: now }),
      "invalid-timestamp",
    );
  });

  it.each([
    ["no v1", `t=${now}`],
    ["only other versions", `t=${now},v0=${digest}`],
    ["only undecodable hex", `t=${now},v1=xyz,v1=abc`],
  ])("rejects %s", (_case, header) => {
    expectReason(
      () => verifySignature(body, header, key, { nowSeconds: now }),
      "no-signatures",
    );
  });

  it("rejects a timestamp older than the tolerance", () => {
    expectReason(
      () => verifySignature(body, valid, key, { nowSeconds: now + 301 }),
      "timestamp-too-old",
    );
  });

  it("rejects a timestamp beyond the tolerance ahead", () => {
    expectReason(
      () => verifySignature(body, valid, key, { nowSeconds: now - 301 }),
      "timestamp-in-future",
    );
  });

  it("applies a custom tolerance", () => {
    const options = { nowSeconds: now + 11, toleranceSeconds: 10 };
    expectReason(
      () => verifySignature(body, valid, key, options),
      "timestamp-too-old",
    );
  });

  it("rejects a wrong key", () => {
    expectReason(
      () => verifySignature(body, valid, "other-key", { nowSeconds: now }),
      "no-match",
    );
  });

  it("rejects a changed body", () => {
    expectReason(
      () => verifySignature(`${body} `, valid, key, { nowSeconds: now }),
      "no-match",
    );
  });

  it("rejects a truncated signature", () => {
    const header = `t=${now},v1=${digest?.slice(0, 62)}`;
    expectReason(
      () => verifySignature(body, header, key, { nowSeconds: now }),
      "no-match",
    );
  });

  it("rejects an empty key list", () => {
    expect(() => verifySignature(body, valid, [], { nowSeconds: now })).toThrow(
      TypeError,
    );
  });
});

describe("standardWebhookHeaders", () => {
  const headers = standardWebhookHeaders(body, key, "msg_abc", now);

  it("sets id, timestamp and v1 signature", () => {
    expect(headers["webhook-id"]).toBe("msg_abc");
    expect(headers["webhook-timestamp"]).toBe(String(now));
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it("verifies like a Standard Webhooks receiver", () => {
    // A receiver configured with "whsec_" + base64(key) decodes the secret
    // back to the key bytes and signs "<id>.<timestamp>.<body>".
    const secret = `whsec_${Buffer.from(key, "utf8").toString("base64")}`;
    const secretBytes = Buffer.from(secret.slice("whsec_".length), "base64");
    const signedContent = `msg_abc.${now}.${body}`;
    const expected = createHmac("sha256", secretBytes)
      .update(signedContent)
      .digest("base64");
    expect(headers["webhook-signature"]).toBe(`v1,${expected}`);
  });
});

describe("verifyStandardWebhook", () => {
  const signed = standardWebhookHeaders(body, key, "msg_abc", now);
  const headers = {
    id: signed["webhook-id"],
    timestamp: signed["webhook-timestamp"],
    signature: signed["webhook-signature"],
  };

  it("accepts its own headers", () => {
    expect(() =>
      verifyStandardWebhook(body, headers, key, { nowSeconds: now }),
    ).not.toThrow();
  });

  it("accepts one of several signatures", () => {
    const signature = `v1,${"A".repeat(44)} v2,abc v1,%%% ${headers.signature}`;
    expect(() =>
      verifyStandardWebhook(body, { ...headers, signature }, key, {
        nowSeconds: now,
      }),
    ).not.toThrow();
  });

  it.each(["id", "timestamp", "signature"] as const)(
    "rejects missing %s",
    (name) => {
      expectReason(
        () =>
          verifyStandardWebhook(body, { ...headers, [name]: undefined }, key, {
            nowSeconds: now,
          }),
        "missing-header",
      );
    },
  );

  it("rejects a non-integer timestamp", () => {
    expectReason(
      () =>
        verifyStandardWebhook(body, { ...headers, timestamp: "12a" }, key, {
          nowSeconds: now,
        }),
      "invalid-timestamp",
    );
  });

  it("rejects a header without v1 signatures", () => {
    expectReason(
      () =>
        verifyStandardWebhook(body, { ...headers, signature: "v2,abcd" }, key, {
          nowSeconds: now,
        }),
      "no-signatures",
    );
  });

  it("rejects an old timestamp", () => {
    expectReason(
      () =>
        verifyStandardWebhook(body, headers, key, { nowSeconds: now + 301 }),
      "timestamp-too-old",
    );
  });

  it("rejects a future timestamp", () => {
    expectReason(
      () =>
        verifyStandardWebhook(body, headers, key, { nowSeconds: now - 301 }),
      "timestamp-in-future",
    );
  });

  it("rejects a different webhook id", () => {
    expectReason(
      () =>
        verifyStandardWebhook(body, { ...headers, id: "msg_other" }, key, {
          nowSeconds: now,
        }),
      "no-match",
    );
  });

  it("rejects a wrong key", () => {
    expectReason(
      () => verifyStandardWebhook(body, headers, "other", { nowSeconds: now }),
      "no-match",
    );
  });
});

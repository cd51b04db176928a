import { createHmac, timingSafeEqual } from "node:crypto";

/** Name of ZITADEL's signature header. */
export const signatureHeaderName = "ZITADEL-Signature";

/** Default maximum clock difference accepted by the verifiers, in seconds. */
export const defaultToleranceSeconds = 300;

/** Why a signature failed verification. */
export type SignatureErrorReason =
  /** The signature header or a Standard Webhooks header is missing or empty. */
  | "missing-header"
  /** A part of the header does not contain exactly one "=". */
  | "malformed-header"
  /** The timestamp is missing or not an integer number of seconds. */
  | "invalid-timestamp"
  /** The header contains no decodable v1 signature. */
  | "no-signatures"
  /** The timestamp is older than the tolerance allows. */
  | "timestamp-too-old"
  /** The timestamp is further in the future than the tolerance allows. */
  | "timestamp-in-future"
  /** No signature matches the body under any of the keys. */
  | "no-match";

/** Raised by the verifiers when a signature is invalid. */
export class SignatureError extends Error {
  override readonly name = "SignatureError";

  constructor(
    readonly reason: SignatureErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** Options for {@link verifySignature} and {@link verifyStandardWebhook}. */
export interface VerifyOptions {
  /**
   * Maximum difference between the signed timestamp and now, in seconds,
   * in either direction. Default: 300.
   */
  toleranceSeconds?: number;
  /** Current time as Unix seconds. Default: the system clock. */
  nowSeconds?: number;
}

/** The three Standard Webhooks request headers. */
export interface StandardWebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * Signs a payload the way ZITADEL does and returns the value of the
 * ZITADEL-Signature header: `t=<unix seconds>,v1=<hex>`, where hex is the
 * lowercase HMAC-SHA256 of `<t>.<body>` keyed with the signing key's UTF-8
 * bytes.
 */
export function signPayload(
  body: Uint8Array | string,
  key: string,
  nowSeconds: number = currentSeconds(),
): string {
  const timestamp = Math.floor(nowSeconds);
  const digest = hmac(key, [`${timestamp}.`, body]).toString("hex");
  return `t=${timestamp},v1=${digest}`;
}

/**
 * Builds the Standard Webhooks headers (standardwebhooks.com) for a payload.
 * The signature is `v1,<base64 HMAC-SHA256 of "<id>.<t>.<body>">`.
 *
 * The HMAC key is the signing key's UTF-8 bytes, not the base64-decoded
 * bytes of a `whsec_` secret. A receiver that uses a Standard Webhooks
 * library must pass `whsec_` followed by the base64 encoding of the key.
 */
export function standardWebhookHeaders(
  body: Uint8Array | string,
  key: string,
  webhookId: string,
  nowSeconds: number = currentSeconds(),
): StandardWebhookHeaders {
  const timestamp = Math.floor(nowSeconds);
  const digest = hmac(key, [`${webhookId}.${timestamp}.`, body]);
  return {
    "webhook-id": webhookId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": `v1,${digest.toString("base64")}`,
  };
}

/**
 * Verifies a ZITADEL-Signature header against the exact body bytes that
 * arrived. The header may carry several `v1` values, and `key` may list
 * several keys, as during key rotation. One match is enough. Values that
 * are not valid hex and parts with other names are skipped.
 *
 * @throws SignatureError when the signature is invalid. Its `reason` names
 *   the failed check.
 */
export function verifySignature(
  body: Uint8Array | string,
  header: string | null | undefined,
  key: string | string[],
  options: VerifyOptions = {},
): void {
  const keys = toKeyList(key);
  if (header === null || header === undefined || header === "") {
    throw new SignatureError(
      "missing-header",
      `signature: the ${signatureHeaderName} header is missing`,
    );
  }
  const { timestamp, signatures } = parseSignatureHeader(header);
  checkTimestamp(timestamp, options);
  for (const candidate of keys) {
    const expected = hmac(candidate, [`${timestamp}.`, body]);
    if (signatures.some((signature) => digestsEqual(signature, expected))) {
      return;
    }
  }
  throw noMatchError();
}

/**
 * Verifies Standard Webhooks headers produced by
 * {@link standardWebhookHeaders}. The signature header may list several
 * space-separated `v1,<base64>` values. Entries of other versions and
 * values that are not valid base64 are skipped.
 *
 * @throws SignatureError when the signature is invalid. Its `reason` names
 *   the failed check.
 */
export function verifyStandardWebhook(
  body: Uint8Array | string,
  headers: {
    id: string | null | undefined;
    timestamp: string | null | undefined;
    signature: string | null | undefined;
  },
  key: string | string[],
  options: VerifyOptions = {},
): void {
  const keys = toKeyList(key);
  const { id, timestamp: timestampText, signature } = headers;
  if (!id || !timestampText || !signature) {
    throw new SignatureError(
      "missing-header",
      "signature: the webhook-id, webhook-timestamp and webhook-signature headers are all required",
    );
  }
  const timestamp = parseTimestamp(timestampText);
  const signatures = parseStandardSignatures(signature);
  checkTimestamp(timestamp, options);
  for (const candidate of keys) {
    const expected = hmac(candidate, [`${id}.${timestamp}.`, body]);
    if (signatures.some((value) => digestsEqual(value, expected))) {
      return;
    }
  }
  throw noMatchError();
}

function parseSignatureHeader(header: string): {
  timestamp: number;
  signatures: Buffer[];
} {
  let timestampText: string | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(",")) {
    const pieces = part.split("=");
    if (pieces.length !== 2) {
      throw new SignatureError(
        "malformed-header",
        `signature: header part "${part}" must have the form name=value`,
      );
    }
    const [name, value = ""] = pieces;
    if (name === "t") {
      timestampText = value;
    } else if (name === "v1" && /^(?:[0-9a-fA-F]{2})+$/.test(value)) {
      signatures.push(Buffer.from(value, "hex"));
    }
  }
  const timestamp = parseTimestamp(timestampText);
  if (signatures.length === 0) {
    throw new SignatureError(
      "no-signatures",
      "signature: the header contains no valid v1 signature",
    );
  }
  return { timestamp, signatures };
}

function parseStandardSignatures(header: string): Buffer[] {
  const signatures: Buffer[] = [];
  for (const entry of header.split(" ")) {
    const comma = entry.indexOf(",");
    const version = entry.slice(0, comma);
    const value = entry.slice(comma + 1);
    if (comma !== -1 && version === "v1" && isBase64(value)) {
      signatures.push(Buffer.from(value, "base64"));
    }
  }
  if (signatures.length === 0) {
    throw new SignatureError(
      "no-signatures",
      "signature: the webhook-signature header contains no valid v1 signature",
    );
  }
  return signatures;
}

function parseTimestamp(text: string | undefined): number {
  const timestamp = text === undefined ? Number.NaN : Number(text);
  if (!/^[+-]?\d+$/.test(text ?? "") || !Number.isSafeInteger(timestamp)) {
    throw new SignatureError(
      "invalid-timestamp",
      `signature: timestamp ${JSON.stringify(text ?? null)} is not an integer number of Unix seconds`,
    );
  }
  return timestamp;
}

function checkTimestamp(timestamp: number, options: VerifyOptions): void {
  const tolerance = options.toleranceSeconds ?? defaultToleranceSeconds;
  const now = options.nowSeconds ?? currentSeconds();
  if (now - timestamp > tolerance) {
    throw new SignatureError(
      "timestamp-too-old",
      `signature: timestamp ${timestamp} is more than ${tolerance} s in the past`,
    );
  }
  if (timestamp - now > tolerance) {
    throw new SignatureError(
      "timestamp-in-future",
      `signature: timestamp ${timestamp} is more than ${tolerance} s in the future`,
    );
  }
}

function toKeyList(key: string | string[]): string[] {
  const keys = typeof key === "string" ? [key] : key;
  if (keys.length === 0) {
    throw new TypeError("signature: pass at least one signing key");
  }
  return keys;
}

function hmac(key: string, parts: (Uint8Array | string)[]): Buffer {
  const mac = createHmac("sha256", Buffer.from(key, "utf8"));
  for (const part of parts) {
    mac.update(part);
  }
  return mac.digest();
}

// timingSafeEqual throws on a length mismatch. Comparing lengths first
// reveals only the digest length, which is public: 32 bytes for SHA-256.
function digestsEqual(received: Buffer, expected: Buffer): boolean {
  return (
    received.length === expected.length && timingSafeEqual(received, expected)
  );
}

function isBase64(text: string): boolean {
  return (
    text.length > 0 &&
    text.length % 4 === 0 &&
    /^[A-Za-z0-9+/]+={0,2}$/.test(text)
  );
}

function noMatchError(): SignatureError {
  return new SignatureError(
    "no-match",
    "signature: no signature matches the body; check the signing key and that the body is verified byte for byte as received",
  );
}

function currentSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

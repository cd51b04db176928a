import type { KeyObject } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { CompactEncrypt, CompactSign, type JWK } from "jose";
import { ActionsError } from "../errors.js";
import type {
  TargetCaller,
  TargetEndpoint,
  TargetRequestOptions,
} from "../target/index.js";
import { parsePublicKeyPem } from "./public-key.js";

const MAX_CACHED_KEYS = 10_000;

/** The key pair that signs JWT and JWE bodies. */
export interface InstanceSigningKey {
  keyId: string;
  /** JWS algorithm, e.g. ES256. */
  algorithm: string;
  /** Returns the private key; it may decrypt it and throw on the way. */
  privateKey: () => KeyObject;
  /** Public JWK with kid, alg and use, as the JWKS route publishes it. */
  publicJwk: JWK;
}

/** The active public key of a target. */
export interface EncryptionKey {
  keyId: string;
  /** PEM of the PKIX RSA or EC key. */
  publicKey: string;
}

/** Options of createPayloadEncoder. */
export interface PayloadEncoderOptions {
  signingKey: InstanceSigningKey;
  /** Returns the active, unexpired public key of a target, if any. */
  activeKey(targetId: string): EncryptionKey | undefined;
}

/** Encodes JSON bodies as JWT or JWE for targets that request it. */
export interface PayloadEncoder {
  /**
   * Returns the body for the target's payload type: a compact JWS for
   * "jwt", that JWS encrypted to the target's active key for "jwe".
   *
   * @throws ActionsError Internal Errors.Execution.MissingEncryptionKey
   *   when a "jwe" target has no active key.
   */
  encode(target: TargetEndpoint, json: Uint8Array): Promise<Uint8Array>;
}

/**
 * Creates the payload encoder. The JWS of a body is cached by the body's
 * identity, so targets of one execution that share a body share one
 * signature. Imported public keys are cached by key id, because a key id
 * never changes its key.
 */
export function createPayloadEncoder(
  options: PayloadEncoderOptions,
): PayloadEncoder {
  const { signingKey } = options;
  const signatures = new WeakMap<Uint8Array, Promise<string>>();
  const encryptionKeys = new Map<string, ImportedKey>();
  let privateKey: KeyObject | undefined;

  const sign = (json: Uint8Array): Promise<string> => {
    let signature = signatures.get(json);
    if (signature === undefined) {
      privateKey ??= signingKey.privateKey();
      signature = new CompactSign(json)
        .setProtectedHeader({
          alg: signingKey.algorithm,
          kid: signingKey.keyId,
          typ: "JWT",
        })
        .sign(privateKey);
      signatures.set(json, signature);
    }
    return signature;
  };

  const importKey = (key: EncryptionKey): ImportedKey => {
    let imported = encryptionKeys.get(key.keyId);
    if (imported === undefined) {
      imported = importEncryptionKey(key.publicKey);
      if (encryptionKeys.size >= MAX_CACHED_KEYS) {
        encryptionKeys.clear();
      }
      encryptionKeys.set(key.keyId, imported);
    }
    return imported;
  };

  return {
    async encode(target, json) {
      if (target.payloadType === "jwt") {
        return Buffer.from(await sign(json));
      }
      const key = options.activeKey(target.id);
      if (key === undefined) {
        throw missingEncryptionKey(target.id);
      }
      const { key: publicKey, algorithm } = importKey(key);
      const jws = await sign(json);
      const jwe = await new CompactEncrypt(Buffer.from(jws))
        .setProtectedHeader({
          alg: algorithm,
          enc: "A256GCM",
          typ: "JWT",
          cty: "JWT",
          kid: key.keyId,
        })
        .encrypt(publicKey);
      return Buffer.from(jwe);
    },
  };
}

/**
 * Wraps a target caller so that "jwt" and "jwe" targets receive the
 * encoded body. JSON targets go straight to `caller`, with no extra work.
 */
export function withPayloadEncoding(
  caller: TargetCaller,
  encoder: PayloadEncoder,
): TargetCaller {
  return {
    call(
      target: TargetEndpoint,
      body: Uint8Array,
      options?: TargetRequestOptions,
    ) {
      if (target.payloadType === undefined || target.payloadType === "json") {
        return caller.call(target, body, options);
      }
      return encoder
        .encode(target, body)
        .then((encoded) => caller.call(target, encoded, options));
    },
    close: () => caller.close(),
  };
}

interface ImportedKey {
  key: KeyObject;
  algorithm: "RSA-OAEP-256" | "ECDH-ES+A256KW";
}

// The stored PEM passed AddPublicKey, and parsing it the same way again
// yields the key that AddPublicKey checked, which OpenSSL's own PEM reader
// would not do for a block with headers or another label.
function importEncryptionKey(pem: string): ImportedKey {
  const parsed = parsePublicKeyPem(Buffer.from(pem));
  if (!parsed.ok) {
    throw new Error(`stored public key is invalid: ${parsed.reason}`);
  }
  return { key: parsed.key, algorithm: parsed.algorithm };
}

function missingEncryptionKey(targetId: string): ActionsError {
  return new ActionsError(
    Code.Internal,
    "EXEC-2n8fhs7g",
    "Errors.Execution.MissingEncryptionKey",
    `Target has no active public key to encrypt the payload: add and activate a public key of target ${targetId}`,
  );
}

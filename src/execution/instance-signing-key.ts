import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import type { JWK } from "jose";
import type { InstanceSigningKeyRepository } from "../storage/index.js";
import type { InstanceSigningKey } from "./payload-encoder.js";

const ALGORITHM = "ES256";

/**
 * Loads the newest instance signing key, or generates an ES256 (P-256) key
 * pair and stores it when there is none. The repository stores the
 * private key encrypted. A stored private key is decrypted on its first
 * use, not at startup, and a failure names the master key as the likely
 * cause.
 *
 * NOTE: The key is never rotated. The newest stored key signs every body,
 * and the JWKS publishes the keys stored at startup.
 */
export function loadOrCreateInstanceSigningKey(
  repository: InstanceSigningKeyRepository,
  newId: () => string,
  now: () => number = Date.now,
): InstanceSigningKey {
  const stored = repository.list().at(-1);
  if (stored !== undefined) {
    return {
      keyId: stored.keyId,
      algorithm: stored.algorithm,
      privateKey: () => {
        try {
          return createPrivateKey(stored.openPrivateKey());
        } catch (error) {
          throw new Error(
            `instance signing key ${stored.keyId} cannot be decrypted: start the server with the master key it was stored under (ACTIONS_MASTER_KEY or data/master.key)`,
            { cause: error },
          );
        }
      },
      publicJwk: JSON.parse(stored.publicJwk) as JWK,
    };
  }

  const keyId = newId();
  const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const publicJwk: JWK = {
    ...(pair.publicKey.export({ format: "jwk" }) as JWK),
    kid: keyId,
    alg: ALGORITHM,
    use: "sig",
  };
  repository.insert({
    keyId,
    algorithm: ALGORITHM,
    privateKey: pair.privateKey
      .export({ type: "pkcs8", format: "pem" })
      .toString(),
    publicJwk: JSON.stringify(publicJwk),
    creationDate: now(),
  });
  return {
    keyId,
    algorithm: ALGORITHM,
    privateKey: () => pair.privateKey,
    publicJwk,
  };
}

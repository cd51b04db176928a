import { generateKeyPairSync, type KeyObject } from "node:crypto";

/** A generated key pair with the public key as PKIX PEM bytes. */
export interface TestKeyPair {
  privateKey: KeyObject;
  /** PEM of the SubjectPublicKeyInfo ("PUBLIC KEY"). */
  publicPem: Uint8Array;
  /** DER of the SubjectPublicKeyInfo, for fingerprints. */
  publicDer: Buffer;
}

/** Generates an RSA (2048 bit) or EC key pair for public key tests. */
export function testKeyPair(
  kind: "rsa" | "p256" | "p384" | "p521" | "secp256k1" | "ed25519",
): TestKeyPair {
  const pair =
    kind === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : kind === "ed25519"
        ? generateKeyPairSync("ed25519")
        : generateKeyPairSync("ec", {
            namedCurve: {
              p256: "prime256v1",
              p384: "secp384r1",
              p521: "secp521r1",
              secp256k1: "secp256k1",
            }[kind],
          });
  return {
    privateKey: pair.privateKey,
    publicPem: Buffer.from(
      pair.publicKey.export({ type: "spki", format: "pem" }),
    ),
    publicDer: pair.publicKey.export({ type: "spki", format: "der" }),
  };
}

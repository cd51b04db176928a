import { createHash, createPublicKey, type KeyObject } from "node:crypto";

/** A public key that passed the checks of AddPublicKey. */
export interface ParsedPublicKey {
  ok: true;
  /** The PEM text as given. */
  pem: string;
  /** "SHA256:" and the unpadded base64 SHA-256 of the DER key. */
  fingerprint: string;
  key: KeyObject;
  /** JWE key management algorithm for this key type. */
  algorithm: "RSA-OAEP-256" | "ECDH-ES+A256KW";
}

// EC curves that both Go's x509 and jose's ECDH-ES support.
const supportedCurves = new Set(["prime256v1", "secp384r1", "secp521r1"]);

const PEM_BLOCK =
  /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n\t ]*)-----END \1-----/;

/**
 * Parses the first PEM block of `bytes` as a PKIX (SubjectPublicKeyInfo)
 * RSA or EC key, as ZITADEL's AddPublicKey does. Returns the reason when
 * the text is no PEM, the block is no PKIX key, or the key type or curve
 * is not supported.
 */
export function parsePublicKeyPem(
  bytes: Uint8Array,
): ParsedPublicKey | { ok: false; reason: string } {
  const pem = Buffer.from(bytes).toString("utf8");
  const block = PEM_BLOCK.exec(pem);
  if (block === null || block[2] === undefined) {
    return { ok: false, reason: "the value contains no PEM block" };
  }
  const der = Buffer.from(block[2].replace(/\s/g, ""), "base64");
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: "der", type: "spki" });
  } catch {
    return {
      ok: false,
      reason: `the PEM block "${block[1]}" is not a PKIX public key`,
    };
  }
  const fingerprint = `SHA256:${createHash("sha256").update(der).digest("base64").replace(/=+$/, "")}`;
  if (key.asymmetricKeyType === "rsa") {
    return { ok: true, pem, fingerprint, key, algorithm: "RSA-OAEP-256" };
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === "ec" && supportedCurves.has(curve ?? "")) {
    return { ok: true, pem, fingerprint, key, algorithm: "ECDH-ES+A256KW" };
  }
  const type =
    key.asymmetricKeyType === "ec"
      ? `an EC key on ${curve ?? "an unnamed curve"}`
      : `a key of type ${key.asymmetricKeyType ?? "unknown"}`;
  return { ok: false, reason: `the PEM block contains ${type}` };
}

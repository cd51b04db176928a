import { createHash, createPublicKey, type KeyObject } from "node:crypto";

/** A public key that passed the checks of AddPublicKey. */
export interface ParsedPublicKey {
  ok: true;
  /** The PEM text as given; ListPublicKeys returns it unchanged. */
  pem: string;
  /** "SHA256:" and the unpadded base64 SHA-256 of the DER key. */
  fingerprint: string;
  key: KeyObject;
  /** JWE key management algorithm for this key type. */
  algorithm: "RSA-OAEP-256" | "ECDH-ES+A256KW";
}

// EC curves that both Go's x509 and jose's ECDH-ES support.
const supportedCurves = new Set(["prime256v1", "secp384r1", "secp521r1"]);

// jose refuses RSA-OAEP-256 with a smaller modulus.
const MIN_RSA_BITS = 2048;

// The first PEM block, as Go's pem.Decode finds it: a BEGIN line, then
// the content up to the END line with the same label.
const PEM_BLOCK = /-----BEGIN ([^-\r\n]+)-----\r?\n([\s\S]*?)-----END \1-----/;

/**
 * Parses the first PEM block of `bytes` as a PKIX (SubjectPublicKeyInfo)
 * RSA or EC key, as ZITADEL's AddPublicKey does with Go's pem.Decode and
 * x509.ParsePKIXPublicKey. Header lines of the block are skipped and its
 * label is not checked, as in Go. Returns the reason when the text is no
 * PEM, the block is no PKIX key or has data after the key, or the key
 * type, size or curve is not supported.
 */
export function parsePublicKeyPem(
  bytes: Uint8Array,
): ParsedPublicKey | { ok: false; reason: string } {
  const pem = Buffer.from(bytes).toString("utf8");
  const block = PEM_BLOCK.exec(pem);
  const content = block === null ? undefined : base64Content(block[2] ?? "");
  if (block === null || content === undefined) {
    return { ok: false, reason: "the value contains no PEM block" };
  }

  const der = Buffer.from(content, "base64");
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: "der", type: "spki" });
  } catch {
    return {
      ok: false,
      reason: `the PEM block "${block[1]}" is not a PKIX public key`,
    };
  }

  // Go rejects bytes after the key, and the fingerprint must cover the
  // key alone, so the DER must be exactly what the key encodes to.
  const canonical = key.export({ type: "spki", format: "der" });
  if (!canonical.equals(der)) {
    return {
      ok: false,
      reason: "the PEM block contains data after the PKIX public key",
    };
  }

  const fingerprint = `SHA256:${createHash("sha256").update(der).digest("base64").replace(/=+$/, "")}`;
  if (key.asymmetricKeyType === "rsa") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      return {
        ok: false,
        reason: `the RSA key has ${bits} bits, fewer than the ${MIN_RSA_BITS} that RSA-OAEP-256 requires`,
      };
    }
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

// Returns the base64 text of a block's content without its header lines
// ("Name: value" lines up to a blank line, as in RFC 1421), or undefined
// when the rest is not base64.
function base64Content(content: string): string | undefined {
  let lines = content.split(/\r?\n/);
  if (lines[0]?.includes(":")) {
    const blank = lines.findIndex((line) => line.trim() === "");
    lines = blank === -1 ? [] : lines.slice(blank + 1);
  }
  const text = lines.join("").replace(/\s/g, "");
  return text !== "" && /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? text : undefined;
}

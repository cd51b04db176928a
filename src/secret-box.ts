import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  randomInt,
} from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ALPHABET =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** Encrypts secrets at rest with AES-256-GCM. */
export interface SecretBox {
  /** Returns `v1:<iv>:<ciphertext and tag>`, both parts base64url. */
  seal(plaintext: string): string;
  /** Decrypts a value from seal; a wrong key or changed data throws. */
  open(sealed: string): string;
}

/** Creates a secret box over a 32-byte key. */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== KEY_BYTES) {
    throw new RangeError(
      `invalid master key length ${key.length}: it must be ${KEY_BYTES} bytes`,
    );
  }
  return {
    seal(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([
        cipher.update(plaintext, "utf8"),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      return `${VERSION}:${iv.toString("base64url")}:${body.toString("base64url")}`;
    },
    open(sealed) {
      const [version, ivText, bodyText] = sealed.split(":");
      if (version !== VERSION || ivText === undefined || !bodyText) {
        throw new Error("sealed secret has an unknown format");
      }
      const body = Buffer.from(bodyText, "base64url");
      const decipher = createDecipheriv(
        "aes-256-gcm",
        key,
        Buffer.from(ivText, "base64url"),
      );
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(body.subarray(0, body.length - TAG_BYTES)),
        decipher.final(),
      ]).toString("utf8");
    },
  };
}

/**
 * Parses a master key given as 64 hex digits or as base64 of 32 bytes.
 * Throws an error that names the expected forms, never the value.
 */
export function parseMasterKey(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) {
    return Buffer.from(trimmed, "hex");
  }
  const decoded = Buffer.from(trimmed, "base64");
  if (decoded.length === KEY_BYTES) {
    return decoded;
  }
  throw new Error(
    "invalid master key: give 64 hex digits or the base64 of 32 random bytes, for example from `openssl rand -base64 32`",
  );
}

/**
 * Reads the master key file at `path`, creating it with a new random key
 * and mode 0600 when it does not exist.
 */
export function loadOrCreateKeyFile(path: string): Buffer {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${randomBytes(KEY_BYTES).toString("hex")}\n`, {
      mode: 0o600,
      flag: "wx",
    });
    chmodSync(path, 0o600);
  }
  return parseMasterKey(readFileSync(path, "utf8"));
}

/**
 * Generates a signing key of `length` letters and digits from the system's
 * cryptographic random source.
 */
export function generateSigningKey(length = 36): string {
  let key = "";
  for (let i = 0; i < length; i++) {
    key += KEY_ALPHABET[randomInt(KEY_ALPHABET.length)];
  }
  return key;
}

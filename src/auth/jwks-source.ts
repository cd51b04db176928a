import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { JSONWebKeySet } from "jose";
import { ConfigError } from "../config.js";

/**
 * Parses the URL of a remote key set: https, or plain http to a loopback
 * host.
 *
 * @throws ConfigError for any other URL.
 */
export function parseJwksUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new ConfigError(
      `invalid JWKS URL "${text}": use an absolute https URL, e.g. https://example.zitadel.cloud/oauth/v2/keys`,
      { cause: error },
    );
  }
  if (url.protocol === "https:") {
    return url;
  }
  if (url.protocol === "http:" && isLoopback(url.hostname)) {
    return url;
  }
  throw new ConfigError(
    `invalid JWKS URL "${text}": use https; plain http is accepted only for 127.0.0.0/8, ::1 and localhost`,
  );
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "localhost" || host === "::1") {
    return true;
  }
  return isIP(host) === 4 && host.startsWith("127.");
}

/**
 * Reads a local key set from JSON text (starting with "{") or a file, and
 * accepts only public asymmetric keys.
 *
 * @throws ConfigError naming the file and the problem.
 */
export function loadLocalJwks(source: string): JSONWebKeySet {
  const inline = source.trimStart().startsWith("{");
  const label = inline ? "the JWKS JSON" : `the JWKS file ${source}`;
  let text = source;
  if (!inline) {
    try {
      text = readFileSync(source, "utf8");
    } catch (error) {
      throw new ConfigError(
        `cannot read ${label}: ${(error as Error).message}; check the path, or pass the key set as JSON text`,
        { cause: error },
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `${label} is not valid JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) {
    throw new ConfigError(
      `${label} is not a JSON Web Key Set; it needs a "keys" array, e.g. {"keys":[{"kty":"RSA",...}]}`,
    );
  }
  for (const [index, key] of keys.entries()) {
    checkPublicKey(key, `key ${index + 1} of ${label}`);
  }
  return parsed as JSONWebKeySet;
}

function checkPublicKey(key: unknown, label: string): void {
  if (typeof key !== "object" || key === null) {
    throw new ConfigError(
      `${label} is not a JSON object; each entry of "keys" must be a JWK`,
    );
  }
  const jwk = key as Record<string, unknown>;
  if (jwk.kty === "oct") {
    throw new ConfigError(
      `${label} is a symmetric key (kty oct); publish only RSA, EC or OKP public keys`,
    );
  }
  if ("d" in jwk) {
    throw new ConfigError(
      `${label} is a private key (it has "d"); publish only the public part`,
    );
  }
}

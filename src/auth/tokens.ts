import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { CallerIdentity } from "../caller-context.js";
import { ConfigError } from "../config.js";
import { adminPermissions } from "./permissions.js";

/**
 * A static bearer token as the server keeps it: the SHA-256 hash of the
 * token, never the token itself.
 */
export interface StaticToken {
  /** Caller name; becomes the caller's userId. */
  readonly name: string;
  readonly tokenHash: Buffer;
  /** Permissions of the token; undefined makes it an admin token. */
  readonly permissions: readonly string[] | undefined;
}

/** Checks presented bearer tokens against the static tokens. */
export interface StaticTokenStore {
  readonly size: number;
  /** Returns the caller of a matching token, or undefined. */
  verify(token: string): CallerIdentity | undefined;
}

/** Options of createStaticTokenStore. */
export interface StaticTokenStoreOptions {
  /**
   * Permissions of tokens configured without a list. Default: the five
   * action permissions.
   */
  adminPermissions?: Iterable<string>;
}

/** Shortest static token accepted, in characters. */
export const MIN_TOKEN_LENGTH = 16;
const MAX_TOKEN_LENGTH = 4096;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
// RFC 6750 b64token (token68): the characters a Bearer credential may use.
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const PERMISSION = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const GENERATE_HINT = "generate one with: openssl rand -hex 32";

/** Returns the SHA-256 hash of a token. */
export function hashToken(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Tells whether a string may be sent as a Bearer token (RFC 6750). */
export function isToken68(value: string): boolean {
  return TOKEN68.test(value);
}

/**
 * Creates a static token from its parts and hashes the token. Error
 * messages name the token by `name` and `source`, never by its value.
 *
 * @throws ConfigError for an invalid name, token or permission.
 */
export function createStaticToken(
  name: string,
  token: string,
  permissions?: readonly string[],
  source = `static token "${name}"`,
): StaticToken {
  if (!NAME.test(name)) {
    throw new ConfigError(
      `invalid ${source}: the name must be 1 to 128 letters, digits, ".", "_", "@" or "-", starting with a letter or digit`,
    );
  }
  if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) {
    throw new ConfigError(
      `invalid ${source}: the token has ${token.length} characters, use ${MIN_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH}; ${GENERATE_HINT}`,
    );
  }
  if (!isToken68(token)) {
    throw new ConfigError(
      `invalid ${source}: the token may contain only letters, digits and - . _ ~ + / with trailing =; ${GENERATE_HINT}`,
    );
  }
  if (permissions !== undefined) {
    checkPermissions(permissions, source);
  }
  return {
    name,
    tokenHash: hashToken(token),
    permissions: permissions === undefined ? undefined : [...permissions],
  };
}

/**
 * Parses one entry of the form `name:token` (an admin token with the five
 * action permissions) or `name:token:perm1+perm2`.
 *
 * @param source names the entry in error messages, e.g.
 *   "ACTIONS_AUTH_TOKENS entry 2".
 * @throws ConfigError naming `source` and the fix; the message never
 *   contains the entry, because it contains the token.
 */
export function parseStaticToken(entry: string, source: string): StaticToken {
  const parts = entry.trim().split(":");
  if (parts.length < 2 || parts.length > 3) {
    throw new ConfigError(
      `invalid ${source}: use name:token or name:token:perm1+perm2; tokens cannot contain ":"`,
    );
  }
  const [name = "", token = "", list] = parts;
  if (list === undefined) {
    return createStaticToken(name, token, undefined, source);
  }
  if (list === "") {
    throw new ConfigError(
      `invalid ${source}: the permission list after the second ":" is empty; list permissions joined by "+", or drop the second ":" for an admin token`,
    );
  }
  return createStaticToken(name, token, list.split("+"), source);
}

/**
 * Parses a list of entries, e.g. the comma-separated token option.
 *
 * @param source names the list in error messages.
 */
export function parseStaticTokens(
  entries: readonly string[],
  source: string,
): StaticToken[] {
  return entries.map((entry, index) =>
    parseStaticToken(entry, `${source} entry ${index + 1}`),
  );
}

/**
 * Reads static tokens from a file with one `name:token[:perm+perm]` entry
 * per line. Blank lines and lines that start with "#" are skipped.
 *
 * @throws ConfigError when the file cannot be read or a line is invalid.
 */
export function readStaticTokenFile(path: string): StaticToken[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      `cannot read the static token file ${path}: ${(error as Error).message}; check the path and its permissions`,
      { cause: error },
    );
  }
  const tokens: StaticToken[] = [];
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    const entry = line.trim();
    if (entry === "" || entry.startsWith("#")) {
      continue;
    }
    tokens.push(parseStaticToken(entry, `line ${index + 1} of ${path}`));
  }
  return tokens;
}

/**
 * Creates the store. Presented tokens are hashed and compared with every
 * stored hash in constant time, so the time taken does not depend on how
 * much of a token matched or on which entry matched.
 *
 * @throws ConfigError when two entries share a name or a token.
 */
export function createStaticTokenStore(
  tokens: readonly StaticToken[],
  options: StaticTokenStoreOptions = {},
): StaticTokenStore {
  checkUnique(tokens);
  const entries = [...tokens];
  const adminSet = [...(options.adminPermissions ?? adminPermissions)];
  return {
    size: entries.length,
    verify(token) {
      const presented = hashToken(token);
      let match: StaticToken | undefined;
      for (const entry of entries) {
        // No early exit: every entry is compared, whatever matched first.
        if (timingSafeEqual(presented, entry.tokenHash)) {
          match = entry;
        }
      }
      if (match === undefined) {
        return undefined;
      }
      return {
        userId: match.name,
        projectId: "",
        permissions: new Set(match.permissions ?? adminSet),
      };
    },
  };
}

function checkPermissions(permissions: readonly string[], source: string) {
  if (permissions.length === 0) {
    throw new ConfigError(
      `invalid ${source}: the permission list is empty; name at least one permission, e.g. action.target.read`,
    );
  }
  // The message gives the position, not the value: when a token contains
  // a ":" by mistake, the rest of the token lands in this list.
  for (const [index, permission] of permissions.entries()) {
    if (!PERMISSION.test(permission)) {
      throw new ConfigError(
        `invalid ${source}: permission ${index + 1} of the list is invalid; use letters, digits, "_", "." and "-", joined by "+", e.g. action.target.read+action.execution.read`,
      );
    }
  }
}

function checkUnique(tokens: readonly StaticToken[]): void {
  const names = new Set<string>();
  const hashes = new Map<string, string>();
  for (const token of tokens) {
    if (names.has(token.name)) {
      throw new ConfigError(
        `static token name "${token.name}" is used twice; give each token its own name`,
      );
    }
    names.add(token.name);
    const hash = token.tokenHash.toString("hex");
    const other = hashes.get(hash);
    if (other !== undefined) {
      throw new ConfigError(
        `static tokens "${other}" and "${token.name}" have the same token; give each name its own token`,
      );
    }
    hashes.set(hash, token.name);
  }
}

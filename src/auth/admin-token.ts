import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../config.js";
import { isToken68, MIN_TOKEN_LENGTH } from "./tokens.js";

/** File name of the generated admin token inside the data folder. */
export const ADMIN_TOKEN_FILE = "admin.token";

/** The admin token and where it is stored. */
export interface AdminToken {
  /** The bearer token; never log it. */
  token: string;
  /** Path of the token file; this is what the server logs. */
  path: string;
  /** True when this call generated the file, false when it reused it. */
  created: boolean;
}

/**
 * Returns the admin token from `<dataDir>/admin.token`, generating it on
 * the first call: 32 random bytes in base64url, written to a file with
 * mode 0600 that is created exclusively. The file appears with its whole
 * content at once (written under a temporary name, then hard-linked), so
 * a second process starting at the same moment never reads a half-written
 * file, and both end up with the same token.
 *
 * @throws ConfigError when an existing file is not a regular file, is
 *   readable by group or others, or does not contain a valid token.
 */
export function loadOrCreateAdminToken(dataDir: string): AdminToken {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  const token = randomBytes(32).toString("base64url");
  if (publishExclusively(path, `${token}\n`)) {
    return { token, path, created: true };
  }
  return { token: readAdminToken(path), path, created: false };
}

// Writes `content` to a temporary file and hard-links it to `path`. Returns
// false when `path` exists already. File systems without hard links fall
// back to an exclusive create, where a concurrent reader may briefly see
// an empty file.
// NOTE: no test runs the fallback, because it needs such a file system.
function publishExclusively(path: string, content: string): boolean {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  writePrivateFile(temporary, content);
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      return false;
    }
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS") {
      throw error;
    }
  } finally {
    unlinkSync(temporary);
  }
  try {
    writePrivateFile(path, content);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      return false;
    }
    throw error;
  }
}

function writePrivateFile(path: string, content: string): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    writeFileSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readAdminToken(path: string): string {
  let fd: number;
  try {
    // O_NOFOLLOW: a symbolic link in place of the file is rejected.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === "ELOOP"
        ? `admin token file ${path} is a symbolic link; replace it with the file itself, or remove it so that the server generates a new one`
        : `cannot read the admin token file ${path}: ${(error as Error).message}; check its owner and permissions`,
      { cause: error },
    );
  }
  let text: string;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new ConfigError(
        `admin token file ${path} is not a regular file; remove it so that the server generates a new one`,
      );
    }
    // NOTE: Windows has no group and other mode bits, so the check is
    // skipped there.
    if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, "0");
      throw new ConfigError(
        `admin token file ${path} has mode ${mode}, so other users can read it; run chmod 600 ${path}, or remove it and configure a new token`,
      );
    }
    text = readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_LENGTH || !isToken68(token)) {
    throw new ConfigError(
      `admin token file ${path} does not contain a valid token; remove it so that the server generates a new one`,
    );
  }
  return token;
}

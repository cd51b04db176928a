import { Code, type ConnectError, type Interceptor } from "@connectrpc/connect";
import { type CallerIdentity, callerKey } from "../caller-context.js";
import { ConfigError } from "../config.js";
import { ActionsError, toConnectError } from "../errors.js";
import type { Logger } from "../logger.js";
import {
  type JwtVerifier,
  KeySetUnavailableError,
  TokenRejectedError,
} from "./jwt.js";
import { createPermissionPolicy, type Requirement } from "./permissions.js";
import { isToken68, type StaticTokenStore } from "./tokens.js";

/** Options of authInterceptor. At least one token source is required. */
export interface AuthInterceptorOptions {
  /** Static bearer tokens, checked first. */
  tokens?: StaticTokenStore;
  /** JWT verification, tried when no static token matches. */
  jwt?: JwtVerifier;
  /**
   * Required permission of host methods by full method, e.g.
   * `{ "/zitadel.user.v2.UserService/LockUser": "user.write" }`. Host
   * methods without an entry need only a valid token.
   */
  permissions?: Readonly<Record<string, string>>;
  /** Receives a rate-limited error line while the JWKS cannot be loaded. */
  logger?: Pick<Logger, "error">;
}

const TOKEN_INVALID = "Errors.Token.Invalid";
const PERMISSION_DENIED = "Errors.Permission.Denied";
// One log line per minute at most while the key set stays unavailable.
const UNAVAILABLE_LOG_INTERVAL_MS = 60_000;

/**
 * Authenticates every call and checks the permission the method requires
 * (see createPermissionPolicy), then stores the caller under `callerKey`
 * in the context values for the execution engine and the handlers.
 *
 * The caller sends `authorization: Bearer <token>`; the scheme is
 * case-insensitive. A missing header, another scheme or an invalid token
 * fails with Unauthenticated, a valid token without the permission with
 * PermissionDenied, and a JWKS that cannot be downloaded with Unavailable.
 * Messages never contain the token, and nothing here logs it.
 *
 * Place it after the logging interceptor and before the execution
 * interceptor, so that rejected calls are logged and never reach targets.
 */
export function authInterceptor(options: AuthInterceptorOptions): Interceptor {
  const authenticate = createAuthenticator(options);
  const policy = createPermissionPolicy(options.permissions);

  return (next) => async (request) => {
    const requirement = policy.requirementFor(
      request.service.typeName,
      request.method.name,
    );
    if (requirement.kind === "public") {
      return next(request);
    }
    const identity = await authenticate(request.header.get("authorization"));
    authorize(
      requirement,
      identity,
      `/${request.service.typeName}/${request.method.name}`,
    );
    request.contextValues.set(callerKey, identity);
    return next(request);
  };
}

/** Resolves an authorization header to the caller, or throws. */
export type Authenticator = (
  header: string | null | undefined,
) => Promise<CallerIdentity>;

/**
 * Creates the function that resolves an `authorization: Bearer <token>`
 * header to the caller: static tokens first, then JWT verification. It
 * throws a ConnectError with Unauthenticated, or Unavailable while the
 * JWKS cannot be loaded, and never puts the token in a message.
 */
export function createAuthenticator(
  options: Omit<AuthInterceptorOptions, "permissions">,
): Authenticator {
  const { tokens, jwt } = options;
  if ((tokens === undefined || tokens.size === 0) && jwt === undefined) {
    throw new ConfigError(
      "authentication has no token source; configure static tokens or JWT verification",
    );
  }
  const hint = authenticationHint(tokens, jwt);
  const logUnavailable = rateLimited(
    UNAVAILABLE_LOG_INTERVAL_MS,
    (error: Error, suppressed: number) =>
      options.logger?.error(
        { error: error.message, suppressed },
        "JWKS unavailable, rejecting JWTs",
      ),
  );

  return async (header) => {
    const token = bearerToken(header ?? null, hint);
    const identity = tokens?.verify(token);
    if (identity !== undefined) {
      return identity;
    }
    if (jwt === undefined || !looksLikeJwt(token)) {
      throw unauthenticated("AUTH-p4x8n", `Token is invalid; ${hint}`);
    }
    try {
      return await jwt.verify(token);
    } catch (error) {
      if (error instanceof TokenRejectedError) {
        throw unauthenticated(
          "AUTH-r5t2c",
          `Token is invalid: ${error.message}; ${hint}`,
          error,
        );
      }
      if (error instanceof KeySetUnavailableError) {
        logUnavailable(error);
        throw toConnectError(
          new ActionsError(
            Code.Unavailable,
            "AUTH-c6r1v",
            "Errors.Token.KeysUnavailable",
            "Token cannot be verified because the issuer's signing keys cannot be loaded; retry later",
            { cause: error },
          ),
        );
      }
      throw error;
    }
  };
}

// Returns the credentials of an `authorization: Bearer <token>` header.
function bearerToken(header: string | null, hint: string): string {
  const value = header?.trim() ?? "";
  if (value === "") {
    throw unauthenticated(
      "AUTH-h7m2q",
      `Authorization header is missing; ${hint}`,
    );
  }
  const space = value.search(/\s/);
  const scheme = space === -1 ? value : value.slice(0, space);
  if (scheme.toLowerCase() !== "bearer") {
    throw unauthenticated(
      "AUTH-w3k9d",
      `Authorization header must use the Bearer scheme; ${hint}`,
    );
  }
  const token = space === -1 ? "" : value.slice(space).trim();
  if (token === "") {
    throw unauthenticated("AUTH-b8j4f", `Bearer token is missing; ${hint}`);
  }
  // Several authorization headers arrive joined by ", ", which fails here.
  if (!isToken68(token)) {
    throw unauthenticated(
      "AUTH-p4x8n",
      `Token is invalid: it is not a single token of letters, digits and - . _ ~ + /; ${hint}`,
    );
  }
  return token;
}

function authorize(
  requirement: Requirement,
  identity: CallerIdentity,
  fullMethod: string,
): void {
  if (requirement.kind === "unmapped") {
    throw permissionDenied(
      "AUTHZ-m3n8b",
      `No permission is defined for ${fullMethod}, so every call is rejected; add the method to the ActionService permission table`,
    );
  }
  if (
    requirement.kind === "permission" &&
    !identity.permissions.has(requirement.permission)
  ) {
    throw permissionDenied(
      "AUTHZ-k2v7p",
      `Permission ${requirement.permission} is required for ${fullMethod}; use a token that has it`,
    );
  }
}

// A JWS in compact form: three base64url parts separated by dots.
function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

function authenticationHint(
  tokens: StaticTokenStore | undefined,
  jwt: JwtVerifier | undefined,
): string {
  const sources: string[] = [];
  if (tokens !== undefined && tokens.size > 0) {
    sources.push("a static token of this server");
  }
  if (jwt !== undefined) {
    sources.push(`a JWT access token from ${jwt.issuer}`);
  }
  return `send authorization: Bearer <token> with ${sources.join(" or ")}`;
}

// The errors are converted here rather than by the logging interceptor,
// so that they carry their code and the www-authenticate header in a
// server without it too.
function unauthenticated(
  id: string,
  text: string,
  cause?: unknown,
): ConnectError {
  const error = toConnectError(
    new ActionsError(Code.Unauthenticated, id, TOKEN_INVALID, text, {
      cause,
    }),
  );
  // RFC 6750, section 3: a 401 names the scheme the server expects.
  error.metadata.set("www-authenticate", "Bearer");
  return error;
}

function permissionDenied(id: string, text: string): ConnectError {
  return toConnectError(
    new ActionsError(Code.PermissionDenied, id, PERMISSION_DENIED, text),
  );
}

// Calls `log` at most once per interval and passes the number of calls
// that were skipped since the last line.
function rateLimited<T>(
  intervalMs: number,
  log: (value: T, suppressed: number) => void,
): (value: T) => void {
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (value) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      suppressed += 1;
      return;
    }
    log(value, suppressed);
    last = now;
    suppressed = 0;
  };
}

import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import type { CallerIdentity } from "../caller-context.js";
import { ConfigError } from "../config.js";
import { loadLocalJwks, parseJwksUrl } from "./jwks-source.js";
import { adminPermissions, viewerPermissions } from "./permissions.js";

/** Options of createJwtVerifier. Set exactly one of jwksUrl and jwks. */
export interface JwtVerifierOptions {
  /**
   * URL of the issuer's JSON Web Key Set, e.g.
   * https://example.zitadel.cloud/oauth/v2/keys. Plain http is accepted
   * only for loopback hosts.
   */
  jwksUrl?: string;
  /** A JSON Web Key Set as JSON text, or the path of a file that has one. */
  jwks?: string;
  /** Required `iss` claim. */
  issuer: string;
  /** Accepted `aud` values; a token must name at least one of them. */
  audience: string | readonly string[];
  /**
   * Claim that carries the caller's permissions. Default: "permissions".
   * See permissionsFromClaim for the accepted shapes.
   */
  permissionsClaim?: string;
  /**
   * Claim that carries the caller's project id. Default:
   * "urn:zitadel:iam:org:project:id"; a missing claim gives "".
   */
  projectIdClaim?: string;
  /** Allowed clock skew for exp and nbf, in seconds. Default: 30. */
  clockToleranceSeconds?: number;
  /** Accepted `alg` values. Default: asymmetricAlgorithms. */
  algorithms?: readonly string[];
  /** Timeout of one JWKS download, in milliseconds. Default: 5000. */
  jwksTimeoutMs?: number;
  /**
   * Permissions that the IAM_OWNER role grants. Default: the five
   * action permissions.
   */
  adminPermissions?: Iterable<string>;
}

/** Verifies JWT access tokens and returns the caller they name. */
export interface JwtVerifier {
  readonly issuer: string;
  /**
   * @throws TokenRejectedError when the token is invalid, or
   *   KeySetUnavailableError when the key set cannot be downloaded.
   */
  verify(token: string): Promise<CallerIdentity>;
}

/** Reason a token was rejected. */
export type RejectReason =
  | "malformed"
  | "algorithm"
  | "signature"
  | "expired"
  | "not_yet_valid"
  | "issuer"
  | "audience"
  | "claims";

/**
 * A token that is not valid. The message describes the reason and never
 * contains the token or its claim values.
 */
export class TokenRejectedError extends Error {
  override readonly name = "TokenRejectedError";

  constructor(
    readonly reason: RejectReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The remote key set could not be downloaded or is not a key set. */
export class KeySetUnavailableError extends Error {
  override readonly name = "KeySetUnavailableError";
}

/**
 * The signature algorithms accepted by default. HMAC algorithms are left
 * out, so a public key can never be used as a shared secret, and "none"
 * is never accepted by jose's jwtVerify.
 */
export const asymmetricAlgorithms: readonly string[] = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

const IAM_OWNER = "IAM_OWNER";
const IAM_OWNER_VIEWER = "IAM_OWNER_VIEWER";

/**
 * Creates a verifier that checks the signature against the key set, the
 * algorithm, `iss`, `aud`, `exp` and `nbf` (with the clock tolerance), and
 * requires `sub` and `exp`. The caller's userId is `sub`.
 *
 * @throws ConfigError for missing or conflicting options, an http URL of
 *   a non-loopback host, or a key set that is invalid or contains a
 *   private or symmetric key.
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  checkOptions(options);
  const jwksUrl =
    options.jwksUrl === undefined || options.jwksUrl === ""
      ? undefined
      : parseJwksUrl(options.jwksUrl);
  const keySet: JWTVerifyGetKey =
    jwksUrl === undefined
      ? createLocalJWKSet(loadLocalJwks(options.jwks ?? ""))
      : createRemoteJWKSet(jwksUrl, {
          timeoutDuration: options.jwksTimeoutMs ?? 5000,
        });
  // Error messages name the URL without user info and query.
  const jwksLabel =
    jwksUrl === undefined ? undefined : `${jwksUrl.origin}${jwksUrl.pathname}`;

  const audience =
    typeof options.audience === "string"
      ? [options.audience]
      : [...options.audience];
  const verifyOptions = {
    issuer: options.issuer,
    audience,
    algorithms: [...(options.algorithms ?? asymmetricAlgorithms)],
    clockTolerance: options.clockToleranceSeconds ?? 30,
    requiredClaims: ["exp", "sub"],
  };
  const claims: ClaimNames = {
    permissions: options.permissionsClaim || "permissions",
    projectId: options.projectIdClaim || "urn:zitadel:iam:org:project:id",
  };
  const adminSet = [...(options.adminPermissions ?? adminPermissions)];

  return {
    issuer: options.issuer,
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keySet, verifyOptions));
      } catch (error) {
        throw classifyError(error, jwksLabel);
      }
      return identityFromPayload(payload, claims, adminSet);
    },
  };
}

interface ClaimNames {
  permissions: string;
  projectId: string;
}

function identityFromPayload(
  payload: JWTPayload,
  claims: ClaimNames,
  adminSet: readonly string[],
): CallerIdentity {
  if (typeof payload.sub !== "string" || payload.sub === "") {
    throw new TokenRejectedError(
      "claims",
      "claim sub must be a non-empty string",
    );
  }
  const projectId = payload[claims.projectId];
  return {
    userId: payload.sub,
    projectId: typeof projectId === "string" ? projectId : "",
    permissions: permissionsFromClaim(
      payload[claims.permissions],
      claims.permissions,
      adminSet,
    ),
  };
}

/**
 * Reads permissions from a claim value. Accepted shapes:
 * - an array of strings: `["action.target.read", "action.execution.read"]`
 * - a space-separated string, like the OAuth `scope` claim
 * - a ZITADEL roles object, whose keys are the names:
 *   `{ "action.target.read": { "<orgId>": "<org domain>" } }`
 * - a missing claim or null: no permissions, so only methods that need
 *   just a valid token are allowed.
 *
 * In every shape the name IAM_OWNER expands to `adminSet` and
 * IAM_OWNER_VIEWER to the two read permissions, the permissions of those
 * ZITADEL roles. Any other value rejects the token.
 */
export function permissionsFromClaim(
  value: unknown,
  claimName = "permissions",
  adminSet: readonly string[] = adminPermissions,
): Set<string> {
  let names: string[];
  if (value === undefined || value === null) {
    names = [];
  } else if (typeof value === "string") {
    names = value.split(/\s+/).filter((name) => name !== "");
  } else if (Array.isArray(value)) {
    if (!value.every((name) => typeof name === "string")) {
      throw new TokenRejectedError(
        "claims",
        `claim ${claimName} must hold only strings`,
      );
    }
    names = value;
  } else if (typeof value === "object") {
    names = Object.keys(value);
  } else {
    throw new TokenRejectedError(
      "claims",
      `claim ${claimName} must be a string, an array of strings or a roles object`,
    );
  }
  const permissions = new Set<string>();
  for (const name of names) {
    const expanded =
      name === IAM_OWNER
        ? adminSet
        : name === IAM_OWNER_VIEWER
          ? viewerPermissions
          : [name];
    for (const permission of expanded) {
      permissions.add(permission);
    }
  }
  return permissions;
}

// Maps jose's errors to a reject reason. Errors of the remote key set
// (timeout, non-200 response, network failure, not a key set) are the
// server's problem, not the token's, and become KeySetUnavailableError.
function classifyError(error: unknown, jwksUrl: string | undefined): Error {
  if (error instanceof TokenRejectedError) {
    return error;
  }
  const reject = (reason: RejectReason, message: string) =>
    new TokenRejectedError(reason, message, { cause: error });

  if (error instanceof errors.JWTExpired) {
    return reject("expired", "the token has expired");
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "nbf":
        return reject("not_yet_valid", "the token is not valid yet (nbf)");
      case "iss":
        return reject("issuer", "the token has the wrong issuer (iss)");
      case "aud":
        return reject("audience", "the token has the wrong audience (aud)");
      default:
        return reject(
          "claims",
          `claim ${error.claim} is ${error.reason === "missing" ? "missing" : "invalid"}`,
        );
    }
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return reject("signature", "no trusted key verifies the signature");
  }
  if (
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JOSENotSupported
  ) {
    return reject("algorithm", "the signature algorithm is not accepted");
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid
  ) {
    return reject("malformed", "the token is not a valid signed JWT");
  }
  if (
    jwksUrl !== undefined &&
    (error instanceof errors.JWKSTimeout ||
      error instanceof errors.JWKSInvalid ||
      error instanceof errors.JWKInvalid ||
      (error instanceof errors.JOSEError &&
        error.code === errors.JOSEError.code) ||
      !(error instanceof errors.JOSEError))
  ) {
    return new KeySetUnavailableError(
      `failed to load the JSON Web Key Set from ${jwksUrl}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

function checkOptions(options: JwtVerifierOptions): void {
  const hasUrl = options.jwksUrl !== undefined && options.jwksUrl !== "";
  const hasLocal = options.jwks !== undefined && options.jwks !== "";
  if (hasUrl === hasLocal) {
    throw new ConfigError(
      hasUrl
        ? "JWT verification has both a JWKS URL and a local JWKS; set only one"
        : "JWT verification needs a JWKS URL or a local JWKS; set one",
    );
  }
  if (options.issuer === "") {
    throw new ConfigError(
      "JWT verification needs the issuer; set it to the iss value of the tokens, e.g. https://example.zitadel.cloud",
    );
  }
  const audience =
    typeof options.audience === "string"
      ? [options.audience]
      : options.audience;
  if (audience.length === 0 || audience.some((value) => value === "")) {
    throw new ConfigError(
      "JWT verification needs the audience; set it to the aud value the tokens carry, e.g. the ZITADEL project id",
    );
  }
  const tolerance = options.clockToleranceSeconds;
  if (tolerance !== undefined && !(tolerance >= 0 && tolerance < 86_400)) {
    throw new ConfigError(
      `invalid JWT clock tolerance ${tolerance}s: use 0s up to 24h`,
    );
  }
}

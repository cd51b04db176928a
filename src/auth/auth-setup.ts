import type { Interceptor } from "@connectrpc/connect";
import { ConfigError } from "../config.js";
import type { Logger } from "../logger.js";
import { type AdminToken, loadOrCreateAdminToken } from "./admin-token.js";
import {
  type Authenticator,
  authInterceptor,
  createAuthenticator,
} from "./auth-interceptor.js";
import { createJwtVerifier, type JwtVerifier } from "./jwt.js";
import { adminPermissions, createPermissionPolicy } from "./permissions.js";
import {
  createStaticToken,
  createStaticTokenStore,
  parseStaticTokens,
  readStaticTokenFile,
  type StaticToken,
} from "./tokens.js";

/** The configuration options that createAuth reads. */
export interface AuthConfig {
  /** Folder for the generated admin token file. */
  readonly dataDir: string;
  /** Entries `name:token` or `name:token:perm1+perm2`. */
  readonly authTokens: readonly string[];
  /** File with one entry per line; empty for none. */
  readonly authTokensFile: string;
  /** JWKS URL of the token issuer; empty for none. */
  readonly jwtJwksUrl: string;
  /** Local JWKS as JSON text or a file path; empty for none. */
  readonly jwtJwks: string;
  readonly jwtIssuer: string;
  readonly jwtAudience: readonly string[];
  readonly jwtPermissionsClaim: string;
  readonly jwtProjectIdClaim: string;
  /** Allowed clock skew for exp and nbf, in milliseconds. */
  readonly jwtClockToleranceMs: number;
}

/** Options of createAuth that come from the host, not the configuration. */
export interface AuthSetupOptions {
  /** Required permission of host methods by full method. */
  permissions?: Readonly<Record<string, string>>;
  /** Receives where the admin token is and what was configured. */
  logger?: Pick<Logger, "info" | "error">;
}

/** The authentication of one server. */
export interface AuthSetup {
  interceptor: Interceptor;
  /** Resolves an authorization header to the caller, for plain HTTP routes. */
  authenticate: Authenticator;
  /**
   * The generated or reused admin token; undefined when static tokens or
   * JWT verification are configured.
   */
  adminToken: AdminToken | undefined;
}

/**
 * Builds the auth interceptor from the configuration. Static tokens come
 * from `authTokens` and `authTokensFile`, and JWT verification is on when
 * a JWKS URL or a local JWKS is set. With neither, the admin token in
 * `<dataDir>/admin.token` is the only accepted token, and the first start
 * generates it. The logger gets the file's path, never the token.
 *
 * Admin tokens (static tokens without a permission list, the admin token
 * file and the IAM_OWNER role) get the five action permissions and every
 * permission of the host table.
 *
 * @throws ConfigError for an invalid token entry or JWT option, and
 *   PermissionTableError for an invalid host permission table.
 */
export function createAuth(
  config: AuthConfig,
  options: AuthSetupOptions = {},
): AuthSetup {
  const { logger } = options;
  const policy = createPermissionPolicy(options.permissions);
  const adminSet = new Set([...adminPermissions, ...policy.knownPermissions]);

  const tokens: StaticToken[] = parseStaticTokens(
    config.authTokens,
    "ACTIONS_AUTH_TOKENS",
  );
  if (config.authTokensFile !== "") {
    tokens.push(...readStaticTokenFile(config.authTokensFile));
  }
  const jwt = createJwtFromConfig(config, adminSet);

  let adminToken: AdminToken | undefined;
  if (tokens.length === 0 && jwt === undefined) {
    adminToken = loadOrCreateAdminToken(config.dataDir);
    tokens.push(
      createStaticToken(
        "admin",
        adminToken.token,
        undefined,
        `admin token file ${adminToken.path}`,
      ),
    );
    logger?.info(
      { path: adminToken.path, created: adminToken.created },
      adminToken.created
        ? "no tokens configured, generated an admin token file"
        : "no tokens configured, using the admin token file",
    );
  }

  const store = createStaticTokenStore(tokens, { adminPermissions: adminSet });
  logger?.info(
    { staticTokens: store.size, jwtIssuer: jwt?.issuer ?? null },
    "authentication configured",
  );
  return {
    interceptor: authInterceptor({
      tokens: store,
      jwt,
      permissions: options.permissions,
      logger,
    }),
    authenticate: createAuthenticator({ tokens: store, jwt, logger }),
    adminToken,
  };
}

function createJwtFromConfig(
  config: AuthConfig,
  adminSet: ReadonlySet<string>,
): JwtVerifier | undefined {
  if (config.jwtJwksUrl === "" && config.jwtJwks === "") {
    if (config.jwtIssuer !== "" || config.jwtAudience.length > 0) {
      throw new ConfigError(
        "JWT issuer or audience is set without a key set; set ACTIONS_JWT_JWKS_URL or ACTIONS_JWT_JWKS, or unset the issuer and audience",
      );
    }
    return undefined;
  }
  if (config.jwtIssuer === "") {
    throw new ConfigError(
      "JWT verification needs ACTIONS_JWT_ISSUER; set it to the iss value of the tokens, e.g. https://example.zitadel.cloud",
    );
  }
  if (config.jwtAudience.length === 0) {
    throw new ConfigError(
      "JWT verification needs ACTIONS_JWT_AUDIENCE; set it to the aud value of the tokens, e.g. the ZITADEL project id",
    );
  }
  return createJwtVerifier({
    jwksUrl: config.jwtJwksUrl,
    jwks: config.jwtJwks,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    permissionsClaim: config.jwtPermissionsClaim,
    projectIdClaim: config.jwtProjectIdClaim,
    clockToleranceSeconds: config.jwtClockToleranceMs / 1000,
    adminPermissions: adminSet,
  });
}

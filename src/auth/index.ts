export {
  ADMIN_TOKEN_FILE,
  type AdminToken,
  loadOrCreateAdminToken,
} from "./admin-token.js";
export {
  type Authenticator,
  type AuthInterceptorOptions,
  authInterceptor,
  createAuthenticator,
} from "./auth-interceptor.js";
export {
  type AuthConfig,
  type AuthSetup,
  type AuthSetupOptions,
  createAuth,
} from "./auth-setup.js";
export {
  asymmetricAlgorithms,
  createJwtVerifier,
  type JwtVerifier,
  type JwtVerifierOptions,
  KeySetUnavailableError,
  permissionsFromClaim,
  type RejectReason,
  TokenRejectedError,
} from "./jwt.js";
export {
  ActionPermission,
  AUTHENTICATED,
  actionServicePermissions,
  adminPermissions,
  createPermissionPolicy,
  type PermissionPolicy,
  PermissionTableError,
  publicServices,
  type Requirement,
  viewerPermissions,
} from "./permissions.js";
export {
  createStaticToken,
  createStaticTokenStore,
  hashToken,
  isToken68,
  MIN_TOKEN_LENGTH,
  parseStaticToken,
  parseStaticTokens,
  readStaticTokenFile,
  type StaticToken,
  type StaticTokenStore,
  type StaticTokenStoreOptions,
} from "./tokens.js";

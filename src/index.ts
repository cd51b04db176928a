// Public API of the package: assemble a server around your own Connect
// services, and verify target calls on the receiving side.

export { type CallerIdentity, callerKey } from "./caller-context.js";
export {
  type Config,
  ConfigError,
  configOptions,
  defaultConfig,
  loadConfig,
} from "./config.js";
export { ActionsError } from "./errors.js";
export type {
  EmitResult,
  EventEmitter,
  EventInput,
  FunctionResult,
  FunctionRunner,
} from "./events/index.js";
export { createLogger, type Logger } from "./logger.js";
export {
  type ActionsServer,
  type ActionsServerOptions,
  createActionsServer,
  type HostContext,
  type HostHttpRoute,
  type HostMigration,
  type HostService,
  type HostStore,
  hostService,
  type SqlValue,
} from "./server.js";
export {
  SignatureError,
  type SignatureErrorReason,
  signatureHeaderName,
  signPayload,
  standardWebhookHeaders,
  type VerifyOptions,
  verifySignature,
  verifyStandardWebhook,
} from "./target/index.js";

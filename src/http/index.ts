export {
  type CorsOptions,
  corsAllowedHeaders,
  corsAllowedMethods,
  corsExposedHeaders,
  createOriginMatcher,
  withCors,
} from "./cors.js";
export { withEarlyResponseReset } from "./early-reset.js";
export {
  createHealthService,
  createHealthzHandler,
  type HealthService,
  type HealthServiceOptions,
  ServingStatus,
} from "./health.js";
export { createJwksHandler, JWKS_PATH } from "./jwks.js";
export { createReflectionServices, findFileOfSymbol } from "./reflection.js";
export {
  createRejectedRequestLog,
  type RejectedRequestLog,
  type RejectedRequestLogOptions,
  type RpcLogState,
  rpcLogStateKey,
} from "./rejected-requests.js";
export { errorToJson, httpStatusFromCode } from "./rest-errors.js";
export {
  createRestGateway,
  type RestGatewayOptions,
  restForwardedHeaders,
} from "./rest-gateway.js";
export {
  actionServiceRestRoutes,
  type RestRoute,
} from "./rest-routes.js";
export type {
  NodeHandler,
  NodeRequest,
  NodeResponse,
  PathHandler,
  ServedService,
} from "./types.js";

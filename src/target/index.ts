export {
  createEgressPolicy,
  EgressDeniedError,
  type EgressDenyReason,
  type EgressPolicy,
  type EgressPolicyOptions,
} from "./egress.js";
export type { EgressResolver, ResolvedAddress } from "./egress-lookup.js";
export {
  defaultToleranceSeconds,
  SignatureError,
  type SignatureErrorReason,
  type StandardWebhookHeaders,
  signatureHeaderName,
  signPayload,
  standardWebhookHeaders,
  type VerifyOptions,
  verifySignature,
  verifyStandardWebhook,
} from "./signing.js";
export {
  createTargetCaller,
  type PayloadEncoding,
  TargetCallError,
  type TargetCallErrorKind,
  type TargetCaller,
  type TargetCallerOptions,
  type TargetEndpoint,
  type TargetRequestOptions,
  type TargetType,
} from "./target-caller.js";
export {
  createTargetMetrics,
  type TargetCallOutcome,
  type TargetMetrics,
} from "./target-metrics.js";

export {
  createDeliveryService,
  type DeliveryServiceDeps,
  deliveryServicePermissions,
} from "./delivery-service.js";
export {
  type DeliveryResult,
  LEASE_MARGIN_MS,
} from "./delivery-worker.js";
export {
  createEventDispatcher,
  type DeliveryResultInfo,
  type DispatcherStats,
  type EventDispatcher,
  type EventDispatcherOptions,
} from "./event-dispatcher.js";
export {
  createEventEmitter,
  type EmitResult,
  type EventEmitter,
  type EventEmitterOptions,
  type EventInput,
  InvalidEventError,
} from "./event-emitter.js";
export {
  createEventOutbox,
  type EventOutbox,
  type EventOutboxOptions,
} from "./event-outbox.js";
export { EVENT_PAYLOAD_VERSION, encodeEventPayload } from "./event-payload.js";
export {
  type AppendedClaim,
  applyFunctionResponse,
  type FunctionResponse,
  InvalidFunctionResponseError,
  type MetadataEntry,
  RESERVED_CLAIM_PREFIX,
} from "./function-response.js";
export {
  createFunctionRunner,
  type FunctionResult,
  type FunctionRunner,
  type FunctionRunnerOptions,
  functionLogClaim,
  type RunFunctionOptions,
} from "./function-runner.js";
export {
  defaultRetrySchedule,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  retryAfterOf,
  retryDelay,
} from "./retry-schedule.js";

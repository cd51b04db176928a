export { type Database, type Db, openDatabase } from "./database.js";
export { UniqueViolationError } from "./errors.js";
export {
  createEventDeliveryLog,
  type DateComparison,
  type DeliveryQuery,
  type EventDeliveryLog,
  type RedeliverResult,
} from "./event-delivery-log.js";
export {
  type ClaimedDelivery,
  type ClaimRequest,
  createEventDeliveryQueue,
  type DeliveryOutcome,
  type EventDeliveryQueue,
} from "./event-delivery-queue.js";
export type {
  DeliveryAttemptRecord,
  DeliveryRecord,
  DeliveryTargetRecord,
  DeliveryTargetState,
  EventDeliveryState,
  StoredEvent,
} from "./event-records.js";
export {
  createEventRepository,
  type EventRepository,
  type NewEvent,
} from "./event-repository.js";
export {
  createExecutionRepository,
  type ExecutionQuery,
  type ExecutionRecord,
  type ExecutionRepository,
  type ExecutionSortColumn,
} from "./execution-repository.js";
export {
  createHostStore,
  type HostMigration,
  type HostStore,
  type SqlValue,
} from "./host-store.js";
export {
  createInstanceSigningKeyRepository,
  createPublicKeyRepository,
  type InstanceSigningKeyRecord,
  type InstanceSigningKeyRepository,
  type PublicKeyRecord,
  type PublicKeyRepository,
  type StoredInstanceSigningKey,
} from "./public-key-repository.js";
export {
  createRoutingReader,
  type RoutingReader,
  type RoutingRow,
} from "./routing-reader.js";
export {
  createTargetRepository,
  type SecretCodec,
  type StoredTargetType,
  type TargetChanges,
  type TargetQuery,
  type TargetRecord,
  type TargetRepository,
  type TargetSortColumn,
} from "./target-repository.js";
export type { TextMatch } from "./text-filter.js";

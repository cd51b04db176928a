/**
 * State of an event delivery:
 * - `pending`: waiting for its first attempt or for a retry at next_attempt_at;
 * - `delivering`: claimed by a dispatcher until lease_until; an expired
 *   lease makes it due again, so a crashed dispatcher loses nothing;
 * - `delivered`: every target received the event or was deleted;
 * - `exhausted`: the last attempt of the retry schedule failed.
 */
export type EventDeliveryState =
  | "pending"
  | "delivering"
  | "delivered"
  | "exhausted";

/** State of one target within a delivery. */
export type DeliveryTargetState = "pending" | "delivered" | "skipped";

/** An event as stored in the outbox. */
export interface StoredEvent {
  id: string;
  instanceId: string;
  aggregateType: string;
  aggregateId: string;
  /** 1, 2, … per aggregate type and aggregate id. */
  sequence: number;
  eventType: string;
  resourceOwner: string;
  /** Id of the user that caused the event. */
  creator: string;
  /** The event's own JSON object, serialized. */
  payload: string;
  /** Unix milliseconds. */
  creationDate: number;
}

/** A target of a delivery, in call order. */
export interface DeliveryTargetRecord {
  position: number;
  targetId: string;
  state: DeliveryTargetState;
  /** Unix milliseconds when the target was delivered or skipped. */
  completionDate: number | undefined;
}

/** A delivery with its event and targets. */
export interface DeliveryRecord {
  /** Delivery id, sent as the webhook-id header on every attempt. */
  id: string;
  state: EventDeliveryState;
  /** Attempts since the delivery was created, including redeliveries. */
  attemptCount: number;
  /** Attempts since creation or the last redelivery; the schedule counts these. */
  runAttemptCount: number;
  /** Unix milliseconds when a pending delivery is due or a lease expires. */
  nextAttemptAt: number;
  creationDate: number;
  changeDate: number;
  /** Unix milliseconds when the delivery became `delivered`. */
  deliveryDate: number | undefined;
  event: StoredEvent;
  targets: DeliveryTargetRecord[];
}

/** One call of one target within a delivery attempt. */
export interface DeliveryAttemptRecord {
  deliveryId: string;
  /** The delivery's attempt number, starting at 1. */
  attempt: number;
  targetId: string;
  /** Unix milliseconds when the call started. */
  attemptDate: number;
  latencyMs: number;
  /** HTTP status of a failed call; undefined when there was none or it succeeded. */
  httpStatus: number | undefined;
  /** Failure kind, such as "status" or "timeout"; undefined on success. */
  errorKind: string | undefined;
  /** The caller's error message, which never contains a body or a key. */
  errorMessage: string | undefined;
}

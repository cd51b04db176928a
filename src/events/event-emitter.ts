import type { JsonObject } from "@bufbuild/protobuf";
import type { Router } from "../execution/router.js";
import type { IdGenerator } from "../id-generator.js";
import type { EventRepository } from "../storage/index.js";

/** An event that host code emits after a state change. */
export interface EventInput {
  /** Kind of the changed object, e.g. "user". */
  aggregateType: string;
  /** Id of the changed object. */
  aggregateId: string;
  /** A declared event type, e.g. "user.human.added". */
  eventType: string;
  /** Organization that owns the object. */
  resourceOwner: string;
  /** Id of the user that caused the change; sent as userID. */
  creator: string;
  /** The event's own fields, sent as event_payload; must be a JSON object. */
  payload: JsonObject;
}

/** Result of emit. */
export interface EmitResult {
  /** The event's sequence number within its aggregate. */
  sequence: number;
  /** Id of the delivery, or undefined when no event execution matched. */
  deliveryId: string | undefined;
}

/** Appends events to the outbox; see createEventEmitter. */
export interface EventEmitter {
  /**
   * Stores the event and, when an event execution matches, its delivery.
   * Call it inside `HostStore.transaction` or `Database.transaction` on the
   * service's database, so the event commits or rolls back with the state
   * change. It never calls a target and never waits.
   *
   * @throws InvalidEventError for an undeclared event type, an empty
   *   aggregate type or id, or a payload that is not a JSON object.
   * @throws Error when no transaction is open.
   */
  emit(event: EventInput): EmitResult;
}

/** Options of createEventEmitter. */
export interface EventEmitterOptions {
  repository: EventRepository;
  /** Source of the current router; only `current()` is used. */
  router: { current(): Router };
  /** Event types host code may emit, the same list as the registry's. */
  eventTypes: readonly string[];
  /** Generates event and delivery ids. */
  newId: IdGenerator;
  /** Instance id sent as instanceID; empty leaves it out. Default: "". */
  instanceId?: string;
  /** Clock in Unix milliseconds. Default: Date.now. */
  now?: () => number;
  /**
   * Called once after the current synchronous transaction, when an emitted
   * event got a delivery; the server passes the dispatcher's wake().
   */
  onDelivery?: () => void;
}

/** An event that emit rejects before touching the database. */
export class InvalidEventError extends Error {
  override readonly name = "InvalidEventError";
}

/**
 * Creates the emitter. Matching happens at emission: the router's best
 * event execution (exact event, then the longest group, then all) is
 * looked up in memory, and its target ids are copied into the delivery. An
 * execution changed later does not affect deliveries already created, and
 * an event without a matching execution stores only its sequence number.
 */
export function createEventEmitter(options: EventEmitterOptions): EventEmitter {
  const declared = new Set(options.eventTypes);
  const now = options.now ?? Date.now;
  const instanceId = options.instanceId ?? "";
  let wakeScheduled = false;

  // better-sqlite3 transactions are synchronous, so by the time setImmediate
  // runs, the emitting transaction has committed or rolled back.
  const scheduleWake = () => {
    const onDelivery = options.onDelivery;
    if (onDelivery === undefined || wakeScheduled) {
      return;
    }
    wakeScheduled = true;
    setImmediate(() => {
      wakeScheduled = false;
      onDelivery();
    });
  };

  return {
    emit(event) {
      checkEvent(event, declared);
      const payload = serializePayload(event);
      const targets = options.router.current().eventTargets(event.eventType);
      const deliveryId = targets.length > 0 ? options.newId() : undefined;
      const sequence = options.repository.append({
        id: deliveryId === undefined ? "" : options.newId(),
        deliveryId: deliveryId ?? "",
        instanceId,
        aggregateType: event.aggregateType,
        aggregateId: event.aggregateId,
        eventType: event.eventType,
        resourceOwner: event.resourceOwner,
        creator: event.creator,
        payload,
        creationDate: now(),
        targetIds: targets.map((target) => target.id),
      });
      if (deliveryId !== undefined) {
        scheduleWake();
      }
      return { sequence, deliveryId };
    },
  };
}

function checkEvent(event: EventInput, declared: ReadonlySet<string>): void {
  if (!declared.has(event.eventType)) {
    throw new InvalidEventError(
      `cannot emit event type "${event.eventType}": it is not declared; add it to the server's eventTypes`,
    );
  }
  if (event.aggregateType === "" || event.aggregateId === "") {
    throw new InvalidEventError(
      `cannot emit event ${event.eventType}: aggregateType and aggregateId must not be empty`,
    );
  }
}

function serializePayload(event: EventInput): string {
  const { payload } = event;
  const invalid = (detail: string, cause?: unknown) =>
    new InvalidEventError(
      `cannot emit event ${event.eventType}: payload ${detail}`,
      cause === undefined ? undefined : { cause },
    );
  if (typeof payload !== "object" || payload === null) {
    throw invalid("must be a JSON object");
  }
  if (Array.isArray(payload)) {
    throw invalid("must be a JSON object, not an array");
  }
  let text: string;
  try {
    text = JSON.stringify(payload);
  } catch (error) {
    throw invalid("cannot be serialized as JSON", error);
  }
  // A toJSON method can turn an object into another JSON value, as Date does.
  if (!text.startsWith("{")) {
    throw invalid("must serialize to a JSON object");
  }
  return text;
}

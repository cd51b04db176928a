import {
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
} from "drizzle-orm/sqlite-core";

// Tables of the event outbox. Host code appends an event and its delivery
// in the host's own transaction; dispatchers then claim deliveries and call
// the targets. Dates are Unix milliseconds.

/** Last sequence number used per aggregate, so pruning never resets it. */
export const eventSequences = sqliteTable(
  "event_sequences",
  {
    aggregateType: text("aggregate_type").notNull(),
    aggregateId: text("aggregate_id").notNull(),
    sequence: integer("sequence").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.aggregateType, table.aggregateId] }),
  ],
);

/**
 * Emitted events that matched an execution. The payload is the event's own
 * JSON object as text. Rows never change after the insert.
 */
export const events = sqliteTable("events", {
  id: text("id").primaryKey(),
  instanceId: text("instance_id").notNull(),
  aggregateType: text("aggregate_type").notNull(),
  aggregateId: text("aggregate_id").notNull(),
  sequence: integer("sequence").notNull(),
  eventType: text("event_type").notNull(),
  resourceOwner: text("resource_owner").notNull(),
  creator: text("creator").notNull(),
  payload: text("payload").notNull(),
  creationDate: integer("creation_date").notNull(),
});

/** States of a delivery; EventDeliveryState in event-records.ts describes them. */
export const deliveryStates = [
  "pending",
  "delivering",
  "delivered",
  "exhausted",
] as const;

/**
 * One delivery per stored event: the mutable dispatch state, kept apart from
 * the event so that frequent updates rewrite small rows. While a delivery is
 * `delivering`, next_attempt_at equals lease_until, so one index finds both
 * due retries and expired leases.
 */
export const eventDeliveries = sqliteTable(
  "event_deliveries",
  {
    id: text("id").primaryKey(),
    eventId: text("event_id")
      .notNull()
      .references(() => events.id, { onDelete: "cascade" }),
    eventType: text("event_type").notNull(),
    state: text("state", { enum: deliveryStates }).notNull(),
    attemptCount: integer("attempt_count").notNull().default(0),
    runAttemptCount: integer("run_attempt_count").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    leaseToken: text("lease_token"),
    leaseUntil: integer("lease_until"),
    creationDate: integer("creation_date").notNull(),
    changeDate: integer("change_date").notNull(),
    deliveryDate: integer("delivery_date"),
  },
  (table) => [
    index("event_deliveries_state_next_attempt_at_idx").on(
      table.state,
      table.nextAttemptAt,
    ),
    index("event_deliveries_creation_date_idx").on(table.creationDate),
    index("event_deliveries_event_id_idx").on(table.eventId),
  ],
);

/** States of one target within a delivery. */
export const deliveryTargetStates = [
  "pending",
  "delivered",
  "skipped",
] as const;

/**
 * The targets of a delivery in call order, copied from the execution when
 * the event was emitted. There is no foreign key to targets: a target
 * deleted later stays listed and is skipped.
 */
export const eventDeliveryTargets = sqliteTable(
  "event_delivery_targets",
  {
    deliveryId: text("delivery_id")
      .notNull()
      .references(() => eventDeliveries.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    targetId: text("target_id").notNull(),
    state: text("state", { enum: deliveryTargetStates })
      .notNull()
      .default("pending"),
    completionDate: integer("completion_date"),
  },
  (table) => [
    primaryKey({ columns: [table.deliveryId, table.position] }),
    index("event_delivery_targets_target_id_idx").on(table.targetId),
  ],
);

/**
 * One row per target call of a delivery. Response bodies and signing keys
 * are never stored; error_message is the caller's message, which names the
 * target id and host only.
 */
export const eventDeliveryAttempts = sqliteTable(
  "event_delivery_attempts",
  {
    id: integer("id").primaryKey(),
    deliveryId: text("delivery_id")
      .notNull()
      .references(() => eventDeliveries.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    targetId: text("target_id").notNull(),
    attemptDate: integer("attempt_date").notNull(),
    latencyMs: real("latency_ms").notNull(),
    httpStatus: integer("http_status"),
    errorKind: text("error_kind"),
    errorMessage: text("error_message"),
  },
  (table) => [
    index("event_delivery_attempts_delivery_id_idx").on(table.deliveryId),
  ],
);

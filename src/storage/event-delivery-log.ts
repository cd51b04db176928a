import { and, asc, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { Database } from "./database.js";
import type {
  DeliveryAttemptRecord,
  DeliveryRecord,
  DeliveryTargetRecord,
  EventDeliveryState,
  StoredEvent,
} from "./event-records.js";
import {
  eventDeliveries,
  eventDeliveryAttempts,
  eventDeliveryTargets,
  events,
} from "./event-schema.js";

/** Comparison of a creation-date filter. */
export type DateComparison =
  | "equals"
  | "after"
  | "afterOrEquals"
  | "before"
  | "beforeOrEquals";

/** One page of deliveries, with filters that are combined with AND. */
export interface DeliveryQuery {
  offset: number;
  limit: number;
  /** Oldest first when true; newest first otherwise. */
  ascending: boolean;
  /** Each entry is one filter: the delivery must be in that state. */
  stateFilters: EventDeliveryState[];
  /** Each entry is one filter: the delivery must include that target. */
  targetFilters: string[];
  /** Each entry is one filter: the event type must equal it. */
  eventTypeFilters: string[];
  /** Each entry is one filter on the creation date, in Unix milliseconds. */
  creationDateFilters: { comparison: DateComparison; date: number }[];
}

/** Result of a redelivery request. */
export type RedeliverResult =
  | { result: "redelivered"; previousState: "delivered" | "exhausted" }
  | { result: "not-found" }
  | { result: "in-progress"; state: "pending" | "delivering" };

/** The API's side of the outbox: the delivery log and redelivery. */
export interface EventDeliveryLog {
  get(id: string): DeliveryRecord | undefined;
  list(query: DeliveryQuery): { total: number; deliveries: DeliveryRecord[] };
  /** Attempts of a delivery, oldest first. */
  attempts(id: string): DeliveryAttemptRecord[];
  /**
   * Makes a delivered or exhausted delivery pending and due now, with a
   * fresh retry schedule; its attempt log is kept. A delivered one sends to
   * every target again; an exhausted one resumes with the targets that did
   * not receive the event yet.
   */
  redeliver(id: string, now: number): RedeliverResult;
  /**
   * Makes every exhausted delivery that includes the target pending and due
   * now, as redeliver does. Returns how many changed.
   */
  redeliverExhausted(targetId: string, now: number): number;
}

/** Creates the delivery log over drizzle. */
export function createEventDeliveryLog(database: Database): EventDeliveryLog {
  const { db } = database;

  const withDetails = (
    rows: (typeof eventDeliveries.$inferSelect)[],
  ): DeliveryRecord[] => {
    if (rows.length === 0) {
      return [];
    }
    const eventRows = db
      .select()
      .from(events)
      .where(
        inArray(
          events.id,
          rows.map((row) => row.eventId),
        ),
      )
      .all();
    const eventsById = new Map(eventRows.map((row) => [row.id, row]));
    const targets = targetsOf(
      database,
      rows.map((row) => row.id),
    );
    return rows.flatMap((row) => {
      const event = eventsById.get(row.eventId);
      if (event === undefined) {
        return [];
      }
      return [deliveryFromRow(row, event, targets.get(row.id) ?? [])];
    });
  };

  return {
    get(id) {
      const row = db
        .select()
        .from(eventDeliveries)
        .where(eq(eventDeliveries.id, id))
        .get();
      return row === undefined ? undefined : withDetails([row])[0];
    },
    list(query) {
      const where = and(...deliveryConditions(query));
      const total =
        db
          .select({ count: sql<number>`count(*)` })
          .from(eventDeliveries)
          .where(where)
          .get()?.count ?? 0;
      const direction = query.ascending ? asc : desc;
      const rows = db
        .select()
        .from(eventDeliveries)
        .where(where)
        .orderBy(
          direction(eventDeliveries.creationDate),
          direction(sql`length(${eventDeliveries.id})`),
          direction(eventDeliveries.id),
        )
        .limit(query.limit)
        .offset(query.offset)
        .all();
      return { total, deliveries: withDetails(rows) };
    },
    attempts(id) {
      return db
        .select()
        .from(eventDeliveryAttempts)
        .where(eq(eventDeliveryAttempts.deliveryId, id))
        .orderBy(asc(eventDeliveryAttempts.id))
        .all()
        .map((row) => ({
          deliveryId: row.deliveryId,
          attempt: row.attempt,
          targetId: row.targetId,
          attemptDate: row.attemptDate,
          latencyMs: row.latencyMs,
          httpStatus: row.httpStatus ?? undefined,
          errorKind: row.errorKind ?? undefined,
          errorMessage: row.errorMessage ?? undefined,
        }));
    },
    redeliver(id, now) {
      return database.transaction((tx) => {
        const row = tx
          .select({ state: eventDeliveries.state })
          .from(eventDeliveries)
          .where(eq(eventDeliveries.id, id))
          .get();
        if (row === undefined) {
          return { result: "not-found" } as const;
        }
        if (row.state === "pending" || row.state === "delivering") {
          return { result: "in-progress", state: row.state } as const;
        }
        if (row.state === "delivered") {
          tx.update(eventDeliveryTargets)
            .set({ state: "pending", completionDate: null })
            .where(eq(eventDeliveryTargets.deliveryId, id))
            .run();
        }
        tx.update(eventDeliveries)
          .set(requeued(now))
          .where(eq(eventDeliveries.id, id))
          .run();
        return { result: "redelivered", previousState: row.state } as const;
      });
    },
    redeliverExhausted(targetId, now) {
      return db
        .update(eventDeliveries)
        .set(requeued(now))
        .where(
          and(
            eq(eventDeliveries.state, "exhausted"),
            sql`exists (select 1 from ${eventDeliveryTargets} where ${eventDeliveryTargets.deliveryId} = ${eventDeliveries.id} and ${eventDeliveryTargets.targetId} = ${targetId})`,
          ),
        )
        .run().changes;
    },
  };
}

function requeued(now: number): Partial<typeof eventDeliveries.$inferInsert> {
  return {
    state: "pending",
    runAttemptCount: 0,
    nextAttemptAt: now,
    changeDate: now,
    deliveryDate: null,
    leaseToken: null,
    leaseUntil: null,
  };
}

function targetsOf(
  database: Database,
  deliveryIds: string[],
): Map<string, DeliveryTargetRecord[]> {
  const rows = database.db
    .select()
    .from(eventDeliveryTargets)
    .where(inArray(eventDeliveryTargets.deliveryId, deliveryIds))
    .orderBy(eventDeliveryTargets.deliveryId, eventDeliveryTargets.position)
    .all();
  const byDelivery = new Map<string, DeliveryTargetRecord[]>();
  for (const row of rows) {
    const list = byDelivery.get(row.deliveryId) ?? [];
    list.push({
      position: row.position,
      targetId: row.targetId,
      state: row.state,
      completionDate: row.completionDate ?? undefined,
    });
    byDelivery.set(row.deliveryId, list);
  }
  return byDelivery;
}

function deliveryFromRow(
  row: typeof eventDeliveries.$inferSelect,
  event: StoredEvent,
  targets: DeliveryTargetRecord[],
): DeliveryRecord {
  return {
    id: row.id,
    state: row.state,
    attemptCount: row.attemptCount,
    runAttemptCount: row.runAttemptCount,
    nextAttemptAt: row.nextAttemptAt,
    creationDate: row.creationDate,
    changeDate: row.changeDate,
    deliveryDate: row.deliveryDate ?? undefined,
    event,
    targets,
  };
}

const dateOperators: Record<DateComparison, string> = {
  equals: "=",
  after: ">",
  afterOrEquals: ">=",
  before: "<",
  beforeOrEquals: "<=",
};

function deliveryConditions(query: DeliveryQuery): SQL[] {
  const conditions: SQL[] = [];
  for (const state of query.stateFilters) {
    conditions.push(eq(eventDeliveries.state, state));
  }
  for (const targetId of query.targetFilters) {
    conditions.push(
      sql`exists (select 1 from ${eventDeliveryTargets} where ${eventDeliveryTargets.deliveryId} = ${eventDeliveries.id} and ${eventDeliveryTargets.targetId} = ${targetId})`,
    );
  }
  for (const eventType of query.eventTypeFilters) {
    conditions.push(eq(eventDeliveries.eventType, eventType));
  }
  for (const filter of query.creationDateFilters) {
    const operator = sql.raw(dateOperators[filter.comparison]);
    conditions.push(
      sql`${eventDeliveries.creationDate} ${operator} ${filter.date}`,
    );
  }
  return conditions;
}

import type { Database } from "./database.js";
import type {
  DeliveryAttemptRecord,
  EventDeliveryState,
  StoredEvent,
} from "./event-records.js";

/** A delivery that a dispatcher claimed, with what it needs to call targets. */
export interface ClaimedDelivery {
  id: string;
  /** This attempt's number over the delivery's whole life, from 1. */
  attempt: number;
  /** This attempt's number since creation or the last redelivery, from 1. */
  runAttempt: number;
  /** Proves ownership; every later write of this claim must pass it. */
  leaseToken: string;
  /** Unix milliseconds when the claim expires unless it is extended. */
  leaseUntil: number;
  event: StoredEvent;
  /** Targets not yet delivered or skipped, in call order. */
  pendingTargets: { position: number; targetId: string }[];
}

/** Parameters of one claim. */
export interface ClaimRequest {
  /** Unix milliseconds; deliveries due at or before it are claimed. */
  now: number;
  /** Maximum number of deliveries to claim. */
  limit: number;
  /** Lease duration in milliseconds. */
  leaseMs: number;
  /** Random token that identifies this claim. */
  leaseToken: string;
}

/** Outcome of an attempt, which sets the delivery's next state. */
export type DeliveryOutcome =
  | { state: "delivered" }
  | { state: "pending"; nextAttemptAt: number }
  | { state: "exhausted" };

/** The dispatcher's side of the outbox: claims, leases and results. */
export interface EventDeliveryQueue {
  /**
   * Claims due deliveries in one immediate transaction: pending ones whose
   * next attempt is due and delivering ones whose lease expired. Each one
   * becomes `delivering` with a new lease and an incremented attempt count.
   * Two dispatchers on one database file never claim the same delivery
   * while its lease runs, because SQLite serializes the write transactions.
   */
  claim(request: ClaimRequest): ClaimedDelivery[];
  /** Moves the lease end; false when the claim was lost to another dispatcher. */
  extendLease(id: string, leaseToken: string, leaseUntil: number): boolean;
  /**
   * Stores one target call and, when it succeeded, marks the target
   * delivered. The write does not check the lease: the call happened either way.
   */
  recordAttempt(
    attempt: DeliveryAttemptRecord,
    position: number,
    delivered: boolean,
  ): void;
  /** Marks targets skipped, for targets deleted since the event was emitted. */
  skipTargets(id: string, positions: readonly number[], now: number): void;
  /** Ends a claim with its outcome; false when the claim was lost. */
  finish(
    id: string,
    leaseToken: string,
    outcome: DeliveryOutcome,
    now: number,
  ): boolean;
  /** Makes a claimed delivery due at once, for a dispatcher that stops. */
  release(id: string, leaseToken: string, now: number): boolean;
  /** Earliest next_attempt_at of pending or delivering deliveries. */
  nextDueAt(): number | undefined;
  /**
   * Deletes up to `limit` delivered deliveries created before
   * `createdBefore`, with their events, targets and attempts. Returns the
   * number deleted.
   */
  pruneDelivered(createdBefore: number, limit: number): number;
  /** Number of deliveries per state. */
  countByState(): Record<EventDeliveryState, number>;
}

interface EventRow {
  delivery_id: string;
  id: string;
  instance_id: string;
  aggregate_type: string;
  aggregate_id: string;
  sequence: number;
  event_type: string;
  resource_owner: string;
  creator: string;
  payload: string;
  creation_date: number;
}

function storedEventFromRow(row: EventRow): StoredEvent {
  return {
    id: row.id,
    instanceId: row.instance_id,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    sequence: row.sequence,
    eventType: row.event_type,
    resourceOwner: row.resource_owner,
    creator: row.creator,
    payload: row.payload,
    creationDate: row.creation_date,
  };
}

/** Creates the queue over the shared connection with prepared statements. */
export function createEventDeliveryQueue(
  database: Database,
): EventDeliveryQueue {
  const statements = prepareQueueStatements(database);

  const loadClaimed = (
    rows: { id: string; attempt_count: number; run_attempt_count: number }[],
    request: ClaimRequest,
  ): ClaimedDelivery[] => {
    const ids = JSON.stringify(rows.map((row) => row.id));
    const events = new Map(
      statements.eventsOf.all(ids).map((row) => [row.delivery_id, row]),
    );
    const targets = new Map<string, ClaimedDelivery["pendingTargets"]>();
    for (const row of statements.pendingTargetsOf.all(ids)) {
      const list = targets.get(row.delivery_id) ?? [];
      list.push({ position: row.position, targetId: row.target_id });
      targets.set(row.delivery_id, list);
    }
    return rows.flatMap((row) => {
      const event = events.get(row.id);
      if (event === undefined) {
        return [];
      }
      return [
        {
          id: row.id,
          attempt: row.attempt_count,
          runAttempt: row.run_attempt_count,
          leaseToken: request.leaseToken,
          leaseUntil: request.now + request.leaseMs,
          event: storedEventFromRow(event),
          pendingTargets: targets.get(row.id) ?? [],
        },
      ];
    });
  };

  return {
    claim(request) {
      return database.transaction(() => {
        const rows = statements.claim.all({
          now: request.now,
          limit: request.limit,
          leaseUntil: request.now + request.leaseMs,
          leaseToken: request.leaseToken,
        });
        return rows.length === 0 ? [] : loadClaimed(rows, request);
      });
    },
    extendLease(id, leaseToken, leaseUntil) {
      return (
        statements.extendLease.run({ id, leaseToken, leaseUntil }).changes > 0
      );
    },
    recordAttempt(attempt, position, delivered) {
      database.transaction(() => {
        statements.insertAttempt.run({
          ...attempt,
          httpStatus: attempt.httpStatus ?? null,
          errorKind: attempt.errorKind ?? null,
          errorMessage: attempt.errorMessage ?? null,
        });
        if (delivered) {
          statements.completeTarget.run({
            id: attempt.deliveryId,
            position,
            state: "delivered",
            now: Math.round(attempt.attemptDate + attempt.latencyMs),
          });
        }
      });
    },
    skipTargets(id, positions, now) {
      database.transaction(() => {
        for (const position of positions) {
          statements.completeTarget.run({
            id,
            position,
            state: "skipped",
            now,
          });
        }
      });
    },
    finish(id, leaseToken, outcome, now) {
      const params = { id, leaseToken, now };
      switch (outcome.state) {
        case "delivered":
          return statements.finishDelivered.run(params).changes > 0;
        case "exhausted":
          return statements.finishExhausted.run(params).changes > 0;
        case "pending":
          return (
            statements.finishPending.run({
              ...params,
              nextAttemptAt: outcome.nextAttemptAt,
            }).changes > 0
          );
      }
    },
    release(id, leaseToken, now) {
      return (
        statements.finishPending.run({
          id,
          leaseToken,
          now,
          nextAttemptAt: now,
        }).changes > 0
      );
    },
    nextDueAt() {
      return statements.nextDueAt.get()?.at ?? undefined;
    },
    pruneDelivered(createdBefore, limit) {
      return statements.prune.run({ createdBefore, limit }).changes;
    },
    countByState() {
      const counts: Record<EventDeliveryState, number> = {
        pending: 0,
        delivering: 0,
        delivered: 0,
        exhausted: 0,
      };
      for (const row of statements.countByState.all()) {
        counts[row.state] = row.count;
      }
      return counts;
    },
  };
}

// The lease condition `state = 'delivering' and lease_token = @leaseToken`
// makes every write of a claim a no-op once another dispatcher took over.
function prepareQueueStatements(database: Database) {
  const sqlite = database.client;
  const owned = "state = 'delivering' and lease_token = @leaseToken";
  return {
    claim: sqlite.prepare<
      [{ now: number; limit: number; leaseUntil: number; leaseToken: string }],
      { id: string; attempt_count: number; run_attempt_count: number }
    >(
      `update event_deliveries
       set state = 'delivering',
           attempt_count = attempt_count + 1,
           run_attempt_count = run_attempt_count + 1,
           lease_token = @leaseToken,
           lease_until = @leaseUntil,
           next_attempt_at = @leaseUntil,
           change_date = @now
       where id in (
         select id from event_deliveries
         where state in ('pending', 'delivering') and next_attempt_at <= @now
         order by next_attempt_at
         limit @limit
       )
       returning id, attempt_count, run_attempt_count`,
    ),
    eventsOf: sqlite.prepare<[string], EventRow>(
      `select d.id as delivery_id, e.*
       from event_deliveries d join events e on e.id = d.event_id
       where d.id in (select value from json_each(?))`,
    ),
    pendingTargetsOf: sqlite.prepare<
      [string],
      { delivery_id: string; position: number; target_id: string }
    >(
      `select delivery_id, position, target_id from event_delivery_targets
       where delivery_id in (select value from json_each(?))
         and state = 'pending'
       order by delivery_id, position`,
    ),
    extendLease: sqlite.prepare<
      [{ id: string; leaseToken: string; leaseUntil: number }]
    >(
      `update event_deliveries
       set lease_until = @leaseUntil, next_attempt_at = @leaseUntil
       where id = @id and ${owned}`,
    ),
    insertAttempt: sqlite.prepare<[Record<string, unknown>]>(
      `insert into event_delivery_attempts (delivery_id, attempt, target_id,
         attempt_date, latency_ms, http_status, error_kind, error_message)
       values (@deliveryId, @attempt, @targetId, @attemptDate, @latencyMs,
         @httpStatus, @errorKind, @errorMessage)`,
    ),
    completeTarget: sqlite.prepare<
      [{ id: string; position: number; state: string; now: number }]
    >(
      `update event_delivery_targets
       set state = @state, completion_date = @now
       where delivery_id = @id and position = @position`,
    ),
    finishDelivered: sqlite.prepare<
      [{ id: string; leaseToken: string; now: number }]
    >(
      `update event_deliveries
       set state = 'delivered', delivery_date = @now, change_date = @now,
           next_attempt_at = @now, lease_token = null, lease_until = null
       where id = @id and ${owned}`,
    ),
    finishExhausted: sqlite.prepare<
      [{ id: string; leaseToken: string; now: number }]
    >(
      `update event_deliveries
       set state = 'exhausted', change_date = @now, next_attempt_at = @now,
           lease_token = null, lease_until = null
       where id = @id and ${owned}`,
    ),
    finishPending: sqlite.prepare<
      [{ id: string; leaseToken: string; now: number; nextAttemptAt: number }]
    >(
      `update event_deliveries
       set state = 'pending', next_attempt_at = @nextAttemptAt,
           change_date = @now, lease_token = null, lease_until = null
       where id = @id and ${owned}`,
    ),
    nextDueAt: sqlite.prepare<[], { at: number | null }>(
      `select min(next_attempt_at) as at from event_deliveries
       where state in ('pending', 'delivering')`,
    ),
    // Deleting the event cascades to its delivery, the delivery's targets
    // and its attempts.
    prune: sqlite.prepare<[{ createdBefore: number; limit: number }]>(
      `delete from events where id in (
         select event_id from event_deliveries
         where creation_date < @createdBefore and state = 'delivered'
         limit @limit
       )`,
    ),
    countByState: sqlite.prepare<
      [],
      { state: EventDeliveryState; count: number }
    >("select state, count(*) as count from event_deliveries group by state"),
  };
}

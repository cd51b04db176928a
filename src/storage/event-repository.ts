import type BetterSqlite3 from "better-sqlite3";
import type { Database } from "./database.js";

/** An event to append, with the targets its delivery calls. */
export interface NewEvent {
  id: string;
  /** Delivery id; unused when `targetIds` is empty. */
  deliveryId: string;
  instanceId: string;
  aggregateType: string;
  aggregateId: string;
  eventType: string;
  resourceOwner: string;
  creator: string;
  /** The event's JSON object, serialized. */
  payload: string;
  /** Unix milliseconds. */
  creationDate: number;
  /** Target ids of the matching execution in call order; may be empty. */
  targetIds: readonly string[];
}

/** Writes emitted events into the outbox. */
export interface EventRepository {
  /**
   * Takes the aggregate's next sequence number and, when `targetIds` is not
   * empty, inserts the event, its pending delivery and the delivery's
   * targets. An event without targets stores nothing but the sequence.
   * Returns the sequence number.
   *
   * @throws Error when no transaction is open on the connection, because
   *   the event must commit or roll back with the caller's state change.
   */
  append(event: NewEvent): number;
}

/**
 * Creates the event repository. It uses prepared statements on the shared
 * connection, so an append costs a few index inserts and no query planning.
 */
export function createEventRepository(database: Database): EventRepository {
  const sqlite = database.client;
  const nextSequence = sqlite.prepare<[string, string], { sequence: number }>(
    `insert into event_sequences (aggregate_type, aggregate_id, sequence)
     values (?, ?, 1)
     on conflict (aggregate_type, aggregate_id)
     do update set sequence = sequence + 1
     returning sequence`,
  );
  const insertEvent = sqlite.prepare(
    `insert into events (id, instance_id, aggregate_type, aggregate_id,
       sequence, event_type, resource_owner, creator, payload, creation_date)
     values (@id, @instanceId, @aggregateType, @aggregateId, @sequence,
       @eventType, @resourceOwner, @creator, @payload, @creationDate)`,
  );
  const insertDelivery = sqlite.prepare(
    `insert into event_deliveries (id, event_id, event_type, state,
       next_attempt_at, creation_date, change_date)
     values (@deliveryId, @id, @eventType, 'pending', @creationDate,
       @creationDate, @creationDate)`,
  );
  const insertTargets = createTargetInserter(sqlite);

  return {
    append(event) {
      if (!sqlite.inTransaction) {
        throw new Error(
          `cannot emit event ${event.eventType}: no transaction is open; call emit inside Database.transaction or HostStore.transaction so the event commits with the state change`,
        );
      }
      const row = nextSequence.get(event.aggregateType, event.aggregateId);
      const sequence = row?.sequence ?? 1;
      if (event.targetIds.length === 0) {
        return sequence;
      }
      insertEvent.run({
        id: event.id,
        instanceId: event.instanceId,
        aggregateType: event.aggregateType,
        aggregateId: event.aggregateId,
        sequence,
        eventType: event.eventType,
        resourceOwner: event.resourceOwner,
        creator: event.creator,
        payload: event.payload,
        creationDate: event.creationDate,
      });
      insertDelivery.run({
        deliveryId: event.deliveryId,
        id: event.id,
        eventType: event.eventType,
        creationDate: event.creationDate,
      });
      insertTargets(event.deliveryId, event.targetIds);
      return sequence;
    },
  };
}

// Executions hold at most a few dozen targets, so one multi-row insert per
// list length is prepared once and reused.
function createTargetInserter(
  sqlite: BetterSqlite3.Database,
): (deliveryId: string, targetIds: readonly string[]) => void {
  const statements = new Map<number, BetterSqlite3.Statement<unknown[]>>();
  return (deliveryId, targetIds) => {
    let statement = statements.get(targetIds.length);
    if (statement === undefined) {
      const rows = targetIds.map(() => "(?, ?, ?)").join(", ");
      statement = sqlite.prepare<unknown[]>(
        `insert into event_delivery_targets (delivery_id, position, target_id) values ${rows}`,
      );
      statements.set(targetIds.length, statement);
    }
    const params: unknown[] = [];
    targetIds.forEach((targetId, position) => {
      params.push(deliveryId, position, targetId);
    });
    statement.run(...params);
  };
}

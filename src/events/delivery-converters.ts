import { create, type JsonObject } from "@bufbuild/protobuf";
import {
  type Timestamp,
  timestampDate,
  timestampFromMs,
} from "@bufbuild/protobuf/wkt";
import {
  AttemptResult,
  type Delivery,
  type DeliveryAttempt,
  DeliveryAttemptSchema,
  DeliverySchema,
  type DeliverySearchFilter,
  DeliveryState,
  DeliveryTargetState,
} from "../../gen/actions/v1/delivery_service_pb.js";
import { TimestampFilterMethod } from "../../gen/zitadel/filter/v2/filter_pb.js";
import type {
  DateComparison,
  DeliveryAttemptRecord,
  DeliveryQuery,
  DeliveryRecord,
  EventDeliveryState,
  DeliveryTargetState as StoredTargetState,
} from "../storage/index.js";
import { deliveryFilterInvalid } from "./delivery-errors.js";

const stateToProto: Record<EventDeliveryState, DeliveryState> = {
  pending: DeliveryState.PENDING,
  delivering: DeliveryState.DELIVERING,
  delivered: DeliveryState.DELIVERED,
  exhausted: DeliveryState.EXHAUSTED,
};

const stateFromProto: Partial<Record<DeliveryState, EventDeliveryState>> = {
  [DeliveryState.PENDING]: "pending",
  [DeliveryState.DELIVERING]: "delivering",
  [DeliveryState.DELIVERED]: "delivered",
  [DeliveryState.EXHAUSTED]: "exhausted",
};

const targetStateToProto: Record<StoredTargetState, DeliveryTargetState> = {
  pending: DeliveryTargetState.PENDING,
  delivered: DeliveryTargetState.DELIVERED,
  skipped: DeliveryTargetState.SKIPPED,
};

// TargetCallError kinds and the dispatcher's "internal" kind.
const attemptResults: Record<string, AttemptResult> = {
  transport: AttemptResult.TRANSPORT_ERROR,
  timeout: AttemptResult.TIMEOUT,
  status: AttemptResult.HTTP_STATUS,
  forwarded: AttemptResult.FORWARDED_ERROR,
  "response-too-large": AttemptResult.RESPONSE_TOO_LARGE,
  "egress-denied": AttemptResult.EGRESS_DENIED,
  overloaded: AttemptResult.OVERLOADED,
  internal: AttemptResult.INTERNAL_ERROR,
};

const dateComparisons: Record<TimestampFilterMethod, DateComparison> = {
  [TimestampFilterMethod.EQUALS]: "equals",
  [TimestampFilterMethod.AFTER]: "after",
  [TimestampFilterMethod.AFTER_OR_EQUALS]: "afterOrEquals",
  [TimestampFilterMethod.BEFORE]: "before",
  [TimestampFilterMethod.BEFORE_OR_EQUALS]: "beforeOrEquals",
};

/** Converts a stored delivery to its API message. */
export function deliveryToProto(record: DeliveryRecord): Delivery {
  const { event } = record;
  const showsNextAttempt =
    record.state === "pending" || record.state === "delivering";
  return create(DeliverySchema, {
    id: record.id,
    state: stateToProto[record.state],
    event: {
      aggregateType: event.aggregateType,
      aggregateId: event.aggregateId,
      sequence: BigInt(event.sequence),
      eventType: event.eventType,
      resourceOwner: event.resourceOwner,
      creator: event.creator,
      instanceId: event.instanceId,
      creationDate: timestampFromMs(event.creationDate),
      payload: JSON.parse(event.payload) as JsonObject,
    },
    targets: record.targets.map((target) => ({
      targetId: target.targetId,
      state: targetStateToProto[target.state],
      completionDate: optionalTimestamp(target.completionDate),
    })),
    attemptCount: record.attemptCount,
    nextAttemptDate: showsNextAttempt
      ? timestampFromMs(record.nextAttemptAt)
      : undefined,
    creationDate: timestampFromMs(record.creationDate),
    changeDate: timestampFromMs(record.changeDate),
    deliveryDate: optionalTimestamp(record.deliveryDate),
  });
}

/** Converts a stored attempt to its API message. */
export function attemptToProto(record: DeliveryAttemptRecord): DeliveryAttempt {
  const latencyNanos = BigInt(Math.round(record.latencyMs * 1_000_000));
  return create(DeliveryAttemptSchema, {
    attempt: record.attempt,
    targetId: record.targetId,
    attemptDate: timestampFromMs(record.attemptDate),
    latency: {
      seconds: latencyNanos / 1_000_000_000n,
      nanos: Number(latencyNanos % 1_000_000_000n),
    },
    result:
      record.errorKind === undefined
        ? AttemptResult.SUCCEEDED
        : (attemptResults[record.errorKind] ?? AttemptResult.INTERNAL_ERROR),
    httpStatus: record.httpStatus ?? 0,
    errorMessage: record.errorMessage ?? "",
  });
}

/**
 * Converts the filters of ListDeliveries to the storage query's filter
 * lists.
 *
 * @throws ActionsError InvalidArgument for a filter without a case, an
 *   unspecified or unknown state, an empty target id or event type, or a
 *   timestamp filter without a timestamp or with an unknown method.
 */
export function deliveryFiltersFromProto(
  filters: readonly DeliverySearchFilter[],
): Omit<DeliveryQuery, "offset" | "limit" | "ascending"> {
  const query: Omit<DeliveryQuery, "offset" | "limit" | "ascending"> = {
    stateFilters: [],
    targetFilters: [],
    eventTypeFilters: [],
    creationDateFilters: [],
  };
  for (const [index, { filter }] of filters.entries()) {
    const where = `filters[${index}]`;
    switch (filter.case) {
      case "stateFilter": {
        const state = stateFromProto[filter.value.state];
        if (state === undefined) {
          throw deliveryFilterInvalid(
            `${where}.state_filter.state must be a DeliveryState other than DELIVERY_STATE_UNSPECIFIED, got ${filter.value.state}`,
          );
        }
        query.stateFilters.push(state);
        break;
      }
      case "targetIdFilter":
        query.targetFilters.push(
          nonEmpty(filter.value.id, `${where}.target_id_filter.id`),
        );
        break;
      case "eventTypeFilter":
        query.eventTypeFilters.push(
          nonEmpty(
            filter.value.eventType,
            `${where}.event_type_filter.event_type`,
          ),
        );
        break;
      case "creationDateFilter":
        query.creationDateFilters.push(
          dateFilterFromProto(filter.value, `${where}.creation_date_filter`),
        );
        break;
      default:
        throw deliveryFilterInvalid(`${where} must set one of its cases`);
    }
  }
  return query;
}

function dateFilterFromProto(
  filter: { timestamp?: Timestamp; method: TimestampFilterMethod },
  where: string,
): DeliveryQuery["creationDateFilters"][number] {
  if (filter.timestamp === undefined) {
    throw deliveryFilterInvalid(`${where}.timestamp is missing`);
  }
  const comparison = dateComparisons[filter.method];
  if (comparison === undefined) {
    throw deliveryFilterInvalid(
      `${where}.method ${filter.method} is not a TimestampFilterMethod`,
    );
  }
  return { comparison, date: timestampDate(filter.timestamp).getTime() };
}

function nonEmpty(value: string, field: string): string {
  if (value === "") {
    throw deliveryFilterInvalid(`${field} must not be empty`);
  }
  return value;
}

function optionalTimestamp(ms: number | undefined): Timestamp | undefined {
  return ms === undefined ? undefined : timestampFromMs(ms);
}

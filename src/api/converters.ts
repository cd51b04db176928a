import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type Duration,
  DurationSchema,
  type Timestamp,
  TimestampSchema,
  timestampFromMs,
} from "@bufbuild/protobuf/wkt";
import {
  type Execution,
  ExecutionSchema,
} from "../../gen/zitadel/action/v2/execution_pb.js";
import {
  type Target,
  TargetSchema,
} from "../../gen/zitadel/action/v2/target_pb.js";
import { conditionFromExecutionId } from "../execution/conditions.js";
import type { ExecutionRecord, TargetRecord } from "../storage/index.js";

/** Go's zero time, 0001-01-01T00:00:00Z, which ZITADEL returns for "never". */
export const zeroTimestamp: Timestamp = create(TimestampSchema, {
  seconds: -62135596800n,
  nanos: 0,
});

/** Converts Unix milliseconds to a Timestamp. */
export function timestampFromDate(ms: number): Timestamp {
  return timestampFromMs(ms);
}

/** Converts milliseconds to a Duration. */
export function durationFromMs(ms: number): Duration {
  return create(DurationSchema, {
    seconds: BigInt(Math.floor(ms / 1000)),
    nanos: (ms % 1000) * 1_000_000,
  });
}

/** Converts a stored target to its API message. */
export function targetToProto(record: TargetRecord): Target {
  return create(TargetSchema, {
    id: record.id,
    creationDate: timestampFromDate(record.creationDate),
    changeDate: timestampFromDate(record.changeDate),
    name: record.name,
    timeout: durationFromMs(record.timeoutMs),
    endpoint: record.endpoint,
    signingKey: record.signingKey,
    payloadType: record.payloadType,
    targetType: targetTypeToProto(record),
  });
}

function targetTypeToProto(
  record: TargetRecord,
): MessageInitShape<typeof TargetSchema>["targetType"] {
  const interruptOnError = record.interruptOnError;
  switch (record.targetType) {
    case 0:
      return { case: "restWebhook", value: { interruptOnError } };
    case 1:
      return { case: "restCall", value: { interruptOnError } };
    case 2:
      return { case: "restAsync", value: {} };
  }
}

/** Converts a stored execution to its API message. */
export function executionToProto(record: ExecutionRecord): Execution {
  return create(ExecutionSchema, {
    condition: conditionFromExecutionId(record.id),
    creationDate: timestampFromDate(record.creationDate),
    changeDate: timestampFromDate(record.changeDate),
    targets: [...record.targetIds],
  });
}

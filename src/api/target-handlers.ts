import { create } from "@bufbuild/protobuf";
import {
  type CreateTargetRequest,
  type CreateTargetResponse,
  CreateTargetResponseSchema,
  type DeleteTargetRequest,
  type DeleteTargetResponse,
  DeleteTargetResponseSchema,
  type GetTargetRequest,
  type GetTargetResponse,
  GetTargetResponseSchema,
  type ListTargetsRequest,
  type ListTargetsResponse,
  ListTargetsResponseSchema,
  type UpdateTargetRequest,
  type UpdateTargetResponse,
  UpdateTargetResponseSchema,
} from "../../gen/zitadel/action/v2/action_service_pb.js";
import { TargetFieldName } from "../../gen/zitadel/action/v2/query_pb.js";
import { PayloadType } from "../../gen/zitadel/action/v2/target_pb.js";
import { generateSigningKey } from "../secret-box.js";
import {
  type StoredTargetType,
  type TargetChanges,
  type TargetRecord,
  type TargetSortColumn,
  UniqueViolationError,
} from "../storage/index.js";
import { targetToProto, timestampFromDate } from "./converters.js";
import type { ActionServiceDeps } from "./deps.js";
import {
  targetEndpointDenied,
  targetEndpointInvalid,
  targetNameMissing,
  targetNameTaken,
  targetNotFound,
  targetTimeoutMissing,
} from "./errors.js";
import { resolvePage } from "./pagination.js";
import { targetFilters } from "./target-filters.js";
import {
  checkDefinedEnum,
  checkDurationRange,
  checkLength,
  durationToMs,
  invalidField,
} from "./validation.js";

const MAX_TIMEOUT_SECONDS = 270;
const MAX_ENDPOINT_LENGTH = 2048;

const sortColumns: Record<number, TargetSortColumn> = {
  [TargetFieldName.UNSPECIFIED]: "creationDate",
  [TargetFieldName.ID]: "id",
  [TargetFieldName.CREATED_DATE]: "creationDate",
  [TargetFieldName.CHANGED_DATE]: "changeDate",
  [TargetFieldName.NAME]: "name",
  [TargetFieldName.TARGET_TYPE]: "targetType",
  [TargetFieldName.URL]: "endpoint",
  [TargetFieldName.TIMEOUT]: "timeoutMs",
  [TargetFieldName.INTERRUPT_ON_ERROR]: "interruptOnError",
};

/** Handlers of the five target methods of the ActionService. */
export function createTargetHandlers(deps: ActionServiceDeps) {
  const { targets } = deps;
  const now = deps.now ?? Date.now;

  return {
    createTarget(request: CreateTargetRequest): CreateTargetResponse {
      checkLength("CreateTargetRequest.Name", request.name, 1, 1000);
      if (request.targetType.case === undefined) {
        throw invalidField(
          "CreateTargetRequest.TargetType",
          "value is required",
        );
      }
      if (request.timeout !== undefined) {
        checkDurationRange(
          "CreateTargetRequest.Timeout",
          request.timeout,
          MAX_TIMEOUT_SECONDS,
        );
      }
      checkLength(
        "CreateTargetRequest.Endpoint",
        request.endpoint,
        1,
        MAX_ENDPOINT_LENGTH,
      );
      checkPayloadType("CreateTargetRequest.PayloadType", request.payloadType);
      const timeoutMs =
        request.timeout === undefined ? 0 : durationToMs(request.timeout);
      if (request.name.trim() === "") {
        throw targetNameMissing("CreateTargetRequest.Name");
      }
      if (timeoutMs === 0) {
        throw targetTimeoutMissing();
      }
      checkEndpoint(deps, request.endpoint);

      const date = now();
      const record: TargetRecord = {
        id: deps.newId(),
        name: request.name,
        ...targetTypeFromRequest(request.targetType),
        endpoint: request.endpoint,
        timeoutMs,
        payloadType: request.payloadType,
        signingKey: generateSigningKey(),
        creationDate: date,
        changeDate: date,
      };
      try {
        targets.insert(record);
      } catch (error) {
        if (error instanceof UniqueViolationError) {
          throw targetNameTaken(request.name);
        }
        throw error;
      }
      // A new target is in no execution yet, so the router stays as it is.
      return create(CreateTargetResponseSchema, {
        id: record.id,
        creationDate: timestampFromDate(date),
        signingKey: record.signingKey,
      });
    },

    updateTarget(request: UpdateTargetRequest): UpdateTargetResponse {
      checkLength("UpdateTargetRequest.Id", request.id, 1, 200);
      if (request.name !== undefined) {
        checkLength("UpdateTargetRequest.Name", request.name, 1, 1000);
      }
      if (request.timeout !== undefined) {
        checkDurationRange(
          "UpdateTargetRequest.Timeout",
          request.timeout,
          MAX_TIMEOUT_SECONDS,
        );
      }
      if (request.endpoint !== undefined) {
        checkLength(
          "UpdateTargetRequest.Endpoint",
          request.endpoint,
          1,
          MAX_ENDPOINT_LENGTH,
        );
      }
      const expiration = request.expirationSigningKey;
      if (
        expiration !== undefined &&
        (expiration.seconds !== 0n || expiration.nanos !== 0)
      ) {
        throw invalidField(
          "UpdateTargetRequest.ExpirationSigningKey",
          "value must equal 0s",
        );
      }
      checkPayloadType("UpdateTargetRequest.PayloadType", request.payloadType);
      if (request.name !== undefined && request.name.trim() === "") {
        throw targetNameMissing("UpdateTargetRequest.Name");
      }
      const timeoutMs =
        request.timeout === undefined
          ? undefined
          : durationToMs(request.timeout);
      if (timeoutMs === 0) {
        throw targetTimeoutMissing();
      }
      if (request.endpoint !== undefined) {
        checkEndpoint(deps, request.endpoint);
      }

      const current = targets.get(request.id);
      if (current === undefined) {
        throw targetNotFound(request.id);
      }
      const requested: TargetChanges = {
        name: request.name,
        endpoint: request.endpoint,
        timeoutMs,
        payloadType:
          request.payloadType === PayloadType.UNSPECIFIED
            ? undefined
            : request.payloadType,
        ...(request.targetType.case === undefined
          ? {}
          : targetTypeFromRequest(request.targetType)),
      };
      const changes = changedFields(current, requested);
      const signingKey =
        expiration === undefined ? undefined : generateSigningKey();
      if (signingKey !== undefined) {
        changes.signingKey = signingKey;
      }
      if (Object.keys(changes).length === 0) {
        return create(UpdateTargetResponseSchema, {
          changeDate: timestampFromDate(current.changeDate),
        });
      }
      // The change date moves forward on every write, even within one
      // millisecond, so clients can compare it to detect changes.
      const date = Math.max(now(), current.changeDate + 1);
      try {
        targets.update(request.id, changes, date);
      } catch (error) {
        if (error instanceof UniqueViolationError) {
          throw targetNameTaken(request.name ?? current.name);
        }
        throw error;
      }
      deps.onTargetChanged?.(request.id);
      return create(UpdateTargetResponseSchema, {
        changeDate: timestampFromDate(date),
        signingKey,
      });
    },

    deleteTarget(request: DeleteTargetRequest): DeleteTargetResponse {
      checkLength("DeleteTargetRequest.Id", request.id, 1, 200);
      const deleted = targets.delete(request.id);
      if (!deleted) {
        return create(DeleteTargetResponseSchema, {});
      }
      deps.onTargetChanged?.(request.id);
      return create(DeleteTargetResponseSchema, {
        deletionDate: timestampFromDate(now()),
      });
    },

    getTarget(request: GetTargetRequest): GetTargetResponse {
      checkLength("GetTargetRequest.Id", request.id, 1, 200);
      const record = targets.get(request.id);
      if (record === undefined) {
        throw targetNotFound(request.id);
      }
      return create(GetTargetResponseSchema, { target: targetToProto(record) });
    },

    listTargets(request: ListTargetsRequest): ListTargetsResponse {
      const page = resolvePage(request.pagination);
      const sortingColumn =
        request.sortingColumn ?? TargetFieldName.UNSPECIFIED;
      checkDefinedEnum(
        "ListTargetsRequest.SortingColumn",
        sortingColumn,
        Object.keys(sortColumns).map(Number),
      );
      const result = targets.list({
        ...page,
        sortBy: sortColumns[sortingColumn] ?? "creationDate",
        ...targetFilters(request.filters),
      });
      return create(ListTargetsResponseSchema, {
        pagination: {
          totalResult: BigInt(result.total),
          appliedLimit: BigInt(page.limit),
        },
        targets: result.targets.map(targetToProto),
      });
    },
  };
}

function targetTypeFromRequest(
  targetType: Exclude<CreateTargetRequest["targetType"], { case: undefined }>,
): { targetType: StoredTargetType; interruptOnError: boolean } {
  switch (targetType.case) {
    case "restWebhook":
      return {
        targetType: 0,
        interruptOnError: targetType.value.interruptOnError,
      };
    case "restCall":
      return {
        targetType: 1,
        interruptOnError: targetType.value.interruptOnError,
      };
    case "restAsync":
      return { targetType: 2, interruptOnError: false };
  }
}

function checkPayloadType(field: string, payloadType: PayloadType): void {
  checkDefinedEnum(field, payloadType, [
    PayloadType.UNSPECIFIED,
    PayloadType.JSON,
    PayloadType.JWT,
    PayloadType.JWE,
  ]);
}

// Stricter than ZITADEL, which accepts anything Go's url.Parse accepts: an
// endpoint that is not an absolute http or https URL can never be called.
function checkEndpoint(deps: ActionServiceDeps, endpoint: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    // Messages are logged, so user info before an "@" is masked even when
    // the URL does not parse.
    const masked = endpoint.replace(/\/\/[^/?#]*@/, "//redacted@");
    throw targetEndpointInvalid(
      `"${masked}" is not an absolute URL; use the form https://host/path`,
    );
  }
  // The messages below are logged, so they name the endpoint without the
  // user name and password it may carry.
  let redactedEndpoint = endpoint;
  if (url.username !== "" || url.password !== "") {
    const copy = new URL(url.href);
    copy.username = "redacted";
    copy.password = url.password === "" ? "" : "redacted";
    redactedEndpoint = copy.href;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw targetEndpointInvalid(
      `"${redactedEndpoint}" uses the scheme ${url.protocol.slice(0, -1)}; use http or https`,
    );
  }
  if (url.hostname === "") {
    throw targetEndpointInvalid(`"${redactedEndpoint}" has no host`);
  }
  if (deps.checkEndpoint !== undefined) {
    const denied = deps.checkEndpoint(endpoint);
    if (denied !== undefined) {
      throw targetEndpointDenied(redactedEndpoint, denied);
    }
  }
}

function changedFields(
  current: TargetRecord,
  requested: TargetChanges,
): TargetChanges {
  const changes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(requested)) {
    if (value !== undefined && current[key as keyof TargetRecord] !== value) {
      changes[key] = value;
    }
  }
  return changes as TargetChanges;
}

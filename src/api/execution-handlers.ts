import { create } from "@bufbuild/protobuf";
import {
  type ListExecutionFunctionsResponse,
  ListExecutionFunctionsResponseSchema,
  type ListExecutionMethodsResponse,
  ListExecutionMethodsResponseSchema,
  type ListExecutionServicesResponse,
  ListExecutionServicesResponseSchema,
  type ListExecutionsRequest,
  type ListExecutionsResponse,
  ListExecutionsResponseSchema,
  type SetExecutionRequest,
  type SetExecutionResponse,
  SetExecutionResponseSchema,
} from "../../gen/zitadel/action/v2/action_service_pb.js";
import {
  ExecutionFieldName,
  type ExecutionSearchFilter,
  ExecutionType,
} from "../../gen/zitadel/action/v2/query_pb.js";
import { conditionToExecutionId } from "../execution/conditions.js";
import type { ExecutionQuery, ExecutionSortColumn } from "../storage/index.js";
import {
  executionToProto,
  timestampFromDate,
  zeroTimestamp,
} from "./converters.js";
import type { ActionServiceDeps } from "./deps.js";
import {
  executionTargetEmpty,
  executionTargetsNotFound,
  executionTooManyTargets,
  listQueryInvalid,
} from "./errors.js";
import { resolvePage } from "./pagination.js";
import { checkDefinedEnum } from "./validation.js";

const sortColumns: Record<number, ExecutionSortColumn> = {
  [ExecutionFieldName.UNSPECIFIED]: "creationDate",
  [ExecutionFieldName.ID]: "id",
  [ExecutionFieldName.CREATED_DATE]: "creationDate",
  [ExecutionFieldName.CHANGED_DATE]: "changeDate",
};

const typePrefixes: Record<number, string | undefined> = {
  [ExecutionType.UNSPECIFIED]: undefined,
  [ExecutionType.REQUEST]: "request",
  [ExecutionType.RESPONSE]: "response",
  [ExecutionType.EVENT]: "event",
  [ExecutionType.FUNCTION]: "function",
};

/** Handlers of the execution and discovery methods of the ActionService. */
export function createExecutionHandlers(deps: ActionServiceDeps) {
  const { database, executions, targets, registry } = deps;
  const now = deps.now ?? Date.now;

  return {
    setExecution(request: SetExecutionRequest): SetExecutionResponse {
      const id = conditionToExecutionId(request.condition, registry);
      if (request.targets.some((targetId) => targetId === "")) {
        throw executionTargetEmpty();
      }
      if (request.targets.length > deps.maxTargetsPerExecution) {
        throw executionTooManyTargets(
          request.targets.length,
          deps.maxTargetsPerExecution,
        );
      }
      const result = database.transaction(() => {
        const current = executions.get(id);
        if (sameList(current?.targetIds ?? [], request.targets)) {
          const setDate =
            current === undefined
              ? zeroTimestamp
              : timestampFromDate(current.changeDate);
          return { setDate, written: false };
        }
        // Counting distinct ids makes a repeated id fail like a missing one,
        // as in ZITADEL.
        const existing = targets.countExisting(request.targets);
        if (existing !== request.targets.length) {
          throw executionTargetsNotFound();
        }
        // As for targets, the set date moves forward on every write.
        const date = Math.max(now(), (current?.changeDate ?? -1) + 1);
        executions.set(id, request.targets, date);
        return { setDate: timestampFromDate(date), written: true };
      });
      // An unchanged list writes nothing, so the router stays as it is.
      if (result.written) {
        deps.onExecutionChanged?.(id);
      }
      return create(SetExecutionResponseSchema, { setDate: result.setDate });
    },

    listExecutions(request: ListExecutionsRequest): ListExecutionsResponse {
      const page = resolvePage(request.pagination);
      const sortingColumn =
        request.sortingColumn ?? ExecutionFieldName.UNSPECIFIED;
      checkDefinedEnum(
        "ListExecutionsRequest.SortingColumn",
        sortingColumn,
        Object.keys(sortColumns).map(Number),
      );
      const result = executions.list({
        ...page,
        sortBy: sortColumns[sortingColumn] ?? "creationDate",
        ...executionFilters(request.filters),
      });
      return create(ListExecutionsResponseSchema, {
        pagination: {
          totalResult: BigInt(result.total),
          appliedLimit: BigInt(page.limit),
        },
        executions: result.executions.map(executionToProto),
      });
    },

    listExecutionFunctions(): ListExecutionFunctionsResponse {
      return create(ListExecutionFunctionsResponseSchema, {
        functions: [...registry.functions],
      });
    },

    listExecutionMethods(): ListExecutionMethodsResponse {
      return create(ListExecutionMethodsResponseSchema, {
        methods: [...registry.methods],
      });
    },

    listExecutionServices(): ListExecutionServicesResponse {
      return create(ListExecutionServicesResponseSchema, {
        services: [...registry.services],
      });
    },
  };
}

function executionFilters(
  filters: readonly ExecutionSearchFilter[],
): Pick<ExecutionQuery, "idFilters" | "idPrefixFilters" | "targetFilters"> {
  const query: Pick<
    ExecutionQuery,
    "idFilters" | "idPrefixFilters" | "targetFilters"
  > = { idFilters: [], idPrefixFilters: [], targetFilters: [] };
  for (const filter of filters) {
    switch (filter.filter.case) {
      case "inConditionsFilter":
        query.idFilters.push(
          filter.filter.value.conditions.map((condition) =>
            conditionToExecutionId(condition),
          ),
        );
        break;
      case "executionTypeFilter": {
        const type = filter.filter.value.executionType;
        checkDefinedEnum(
          "ExecutionTypeFilter.ExecutionType",
          type,
          Object.keys(typePrefixes).map(Number),
        );
        const prefix = typePrefixes[type];
        if (prefix !== undefined) {
          query.idPrefixFilters.push(prefix);
        }
        break;
      }
      case "targetFilter":
        query.targetFilters.push(filter.filter.value.targetId);
        break;
      default:
        throw listQueryInvalid();
    }
  }
  return query;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

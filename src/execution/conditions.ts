import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type {
  Condition,
  ConditionSchema,
} from "../../gen/zitadel/action/v2/execution_pb.js";
import { ActionsError } from "../errors.js";
import type { Registry } from "./registry.js";

// Execution ids follow ZITADEL: the kind ("request", "response",
// "function", "event"), then "/" and the value unless the value already
// starts with "/". So a method keeps one slash, a service gets one, "all"
// is the bare kind and an event group ends in ".*".

/** Kind of an execution, the first segment of its id. */
export type ExecutionKind = "request" | "response" | "function" | "event";

/** Joins a kind and a value into an execution id. */
export function executionId(kind: ExecutionKind, value = ""): string {
  if (value === "") {
    return kind;
  }
  return value.startsWith("/") ? `${kind}${value}` : `${kind}/${value}`;
}

/**
 * Converts a condition to its execution id. With a registry, the method,
 * service, function or event it names must exist, or NotFound is raised.
 * Without one, only its shape is checked, which is what list filters need.
 */
export function conditionToExecutionId(
  condition: Condition | undefined,
  registry?: Registry,
): string {
  const type = condition?.conditionType;
  switch (type?.case) {
    case "request":
    case "response": {
      const kind = type.case;
      const message =
        kind === "request" ? "RequestExecution" : "ResponseExecution";
      const inner = type.value.condition;
      switch (inner.case) {
        case "method":
          checkName(`${message}.Method`, inner.value);
          if (registry && !registry.hasMethod(inner.value)) {
            throw conditionNotFound("method", inner.value);
          }
          return executionId(kind, inner.value);
        case "service":
          checkName(`${message}.Service`, inner.value);
          if (registry && !registry.hasService(inner.value)) {
            throw conditionNotFound("service", inner.value);
          }
          return executionId(kind, inner.value);
        case "all":
          if (!inner.value) {
            throw invalidCondition(`${message}.All`, "value must equal true");
          }
          return kind;
        default:
          throw executionInvalid();
      }
    }
    case "function": {
      const name = type.value.name;
      checkName("FunctionExecution.Name", name);
      if (registry && !registry.hasFunction(name)) {
        throw conditionNotFound("function", name);
      }
      return executionId("function", name);
    }
    case "event": {
      const inner = type.value.condition;
      switch (inner.case) {
        case "event":
          checkName("EventExecution.Event", inner.value);
          if (registry && !registry.hasEventType(inner.value)) {
            throw conditionNotFound("event type", inner.value);
          }
          return executionId("event", inner.value);
        case "group": {
          checkName("EventExecution.Group", inner.value);
          if (registry && !registry.hasEventGroup(inner.value)) {
            throw conditionNotFound("event group", inner.value);
          }
          const group = inner.value.endsWith(".*")
            ? inner.value
            : `${inner.value}.*`;
          return executionId("event", group);
        }
        case "all":
          if (!inner.value) {
            throw invalidCondition(
              "EventExecution.All",
              "value must equal true",
            );
          }
          return "event";
        default:
          throw executionInvalid();
      }
    }
    default:
      throw new ActionsError(
        Code.InvalidArgument,
        "ACTION-5r5Ju",
        "Errors.Execution.ConditionInvalid",
      );
  }
}

/** Rebuilds the condition stored under an execution id, as ZITADEL does. */
export function conditionFromExecutionId(
  id: string,
): MessageInitShape<typeof ConditionSchema> {
  const slash = id.indexOf("/");
  const kind = slash < 0 ? id : id.slice(0, slash);
  const rest = slash < 0 ? "" : id.slice(slash);
  switch (kind) {
    case "request":
    case "response": {
      const slashes = rest.split("/").length - 1;
      const condition =
        slashes >= 2
          ? ({ case: "method", value: rest } as const)
          : slashes === 1
            ? ({ case: "service", value: rest.slice(1) } as const)
            : ({ case: "all", value: true } as const);
      return { conditionType: { case: kind, value: { condition } } };
    }
    case "function":
      return {
        conditionType: { case: "function", value: { name: rest.slice(1) } },
      };
    case "event": {
      const value = rest.slice(1);
      const condition =
        value === ""
          ? ({ case: "all", value: true } as const)
          : value.endsWith(".*")
            ? ({ case: "group", value: value.slice(0, -2) } as const)
            : ({ case: "event", value } as const);
      return { conditionType: { case: "event", value: { condition } } };
    }
    default:
      return {};
  }
}

function checkName(field: string, value: string): void {
  const length = [...value].length;
  if (length < 1 || length > 1000) {
    throw invalidCondition(
      field,
      "value length must be between 1 and 1000 runes, inclusive",
    );
  }
}

function invalidCondition(field: string, reason: string): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "VALIDATION-pgv01",
    "Errors.Invalid",
    `invalid ${field}: ${reason}`,
  );
}

function executionInvalid(): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "COMMAND-hdj2n",
    "Errors.Execution.Invalid",
  );
}

function conditionNotFound(what: string, value: string): ActionsError {
  return new ActionsError(
    Code.NotFound,
    "COMMAND-3Xh0m",
    "Errors.Execution.ConditionInvalid",
    `Execution condition is invalid: ${what} "${value}" is not registered; list the valid values with ListExecutionMethods, ListExecutionServices or ListExecutionFunctions`,
  );
}

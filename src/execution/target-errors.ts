import { Code } from "@connectrpc/connect";
import { ActionsError } from "../errors.js";
import { TargetCallError } from "../target/index.js";

// Codes for forwarded 4xx statuses, as ZITADEL maps them. Any other 4xx
// becomes Unknown, and any other forwarded status FailedPrecondition.
const forwardedCodes: Record<number, Code> = {
  400: Code.InvalidArgument,
  401: Code.Unauthenticated,
  403: Code.PermissionDenied,
  404: Code.NotFound,
  409: Code.AlreadyExists,
  429: Code.ResourceExhausted,
};

/**
 * Converts a failed target call to the error the client receives. A
 * forwarded error keeps the target's message; every other failure reads
 * "Execution failed" and names no endpoint, status or body, which stay in
 * the server log.
 */
export function executionErrorFrom(error: unknown): ActionsError {
  // Errors raised before the call, such as a missing encryption key,
  // already carry the client's code and id.
  if (error instanceof ActionsError) {
    return error;
  }
  if (!(error instanceof TargetCallError)) {
    return new ActionsError(
      Code.FailedPrecondition,
      "EXEC-dra6yamk98",
      "Errors.Execution.Failed",
      undefined,
      { cause: error },
    );
  }
  switch (error.kind) {
    case "forwarded": {
      const status = error.forwardedStatusCode ?? 0;
      const message = error.forwardedErrorMessage || "Execution failed";
      if (status >= 400 && status <= 499) {
        return new ActionsError(
          forwardedCodes[status] ?? Code.Unknown,
          "EXEC-reUaUZCzCp",
          "Errors.Execution.Forwarded",
          message,
          { cause: error },
        );
      }
      return new ActionsError(
        Code.FailedPrecondition,
        "EXEC-bmhNhpcqpF",
        "Errors.Execution.Forwarded",
        message,
        { cause: error },
      );
    }
    case "overloaded":
      return new ActionsError(
        Code.ResourceExhausted,
        "EXEC-4kq9v",
        "Errors.Execution.TargetOverloaded",
        `Execution failed: target ${error.targetId} has too many calls in flight; retry later or raise ACTIONS_MAX_CONCURRENT_CALLS_PER_TARGET`,
        { cause: error },
      );
    case "response-too-large":
      return new ActionsError(
        Code.FailedPrecondition,
        "EXEC-8zq1m",
        "Errors.Execution.Failed",
        `Execution failed: the answer of target ${error.targetId} is larger than ACTIONS_MAX_TARGET_RESPONSE allows`,
        { cause: error },
      );
    default:
      return new ActionsError(
        Code.FailedPrecondition,
        "EXEC-dra6yamk98",
        "Errors.Execution.Failed",
        undefined,
        { cause: error },
      );
  }
}

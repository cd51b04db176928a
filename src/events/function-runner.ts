import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ActionsError } from "../errors.js";
import type { Router } from "../execution/router.js";
import type { TargetRunner } from "../execution/target-runner.js";
import {
  type AppendedClaim,
  applyFunctionResponse,
  type FunctionResponse,
  type MetadataEntry,
  RESERVED_CLAIM_PREFIX,
} from "./function-response.js";

/** Changes that a function's targets requested, after ZITADEL's rules. */
export interface FunctionResult {
  /** Claims to append, in response order, without reserved or existing keys. */
  claims: AppendedClaim[];
  /** User metadata to set, in response order. */
  metadata: MetadataEntry[];
  /**
   * Entries for the log claim (see functionLogClaim): one
   * `key "<key>" already exists` per skipped claim, then append_log_claims.
   */
  logClaims: string[];
}

/** Per-call options of runFunction. */
export interface RunFunctionOptions {
  /**
   * Claims the token or userinfo already has, which targets cannot
   * overwrite. Default: the keys of `payload.userinfo` when it is an object.
   */
  existingClaims?: Iterable<string>;
  /**
   * Signal of the request that runs the function, such as the userinfo
   * call. When it aborts, the call in flight is cancelled and runFunction
   * rejects with a Canceled or DeadlineExceeded ConnectError.
   */
  signal?: AbortSignal;
}

/** Calls function executions; see createFunctionRunner. */
export interface FunctionRunner {
  /**
   * Calls the targets of the execution `function/<name>` in order with the
   * body `{"function":"function/<name>", …payload}` and returns the changes
   * their responses request. Without an execution it returns an empty result.
   *
   * @throws ActionsError FailedPrecondition Errors.Execution.ResponseIsNotValidJSON
   *   when a call target with interrupt_on_error responds with invalid JSON,
   *   or the error of a failing target with interrupt_on_error.
   * @throws Error when `name` is not a declared function.
   */
  runFunction(
    name: string,
    payload: JsonObject,
    options?: RunFunctionOptions,
  ): Promise<FunctionResult>;
}

/** Options of createFunctionRunner. */
export interface FunctionRunnerOptions {
  /** Source of the current router; only `current()` is used. */
  router: { current(): Router };
  runner: TargetRunner;
  /** Function names host code may run; undefined allows any name. */
  functions?: readonly string[];
}

/** Returns the claim that collects a function's log entries, as ZITADEL names it. */
export function functionLogClaim(name: string): string {
  return `${RESERVED_CLAIM_PREFIX}:action:function/${name}:log`;
}

/**
 * Creates the function runner. Targets behave as in request executions:
 * a webhook's response body is ignored, an async target is called without
 * waiting, and a call target's response body is applied as ZITADEL decodes it
 * (see applyFunctionResponse). Failures without interrupt_on_error are
 * logged by the runner and skipped.
 */
export function createFunctionRunner(
  options: FunctionRunnerOptions,
): FunctionRunner {
  const declared =
    options.functions === undefined ? undefined : new Set(options.functions);
  return {
    async runFunction(name, payload, runOptions = {}) {
      if (declared !== undefined && !declared.has(name)) {
        throw new Error(
          `cannot run function "${name}": it is not declared; add it to the server's functions`,
        );
      }
      const executionId = `function/${name}`;
      const targets = options.router.current().functionTargets(name);
      if (targets.length === 0) {
        return { claims: [], metadata: [], logClaims: [] };
      }
      // The function key comes first and cannot be overridden by the payload.
      const body = Buffer.from(
        JSON.stringify(
          Object.assign({ function: executionId }, payload, {
            function: executionId,
          }),
        ),
      );
      const response = await options.runner.run<FunctionResponse>({
        executionId,
        targets,
        initial: {},
        signal: runOptions.signal,
        encode: () => body,
        apply: (state, bytes) => applyFunctionResponse(state, bytes),
        invalidAnswer: (_target, cause) =>
          new ActionsError(
            Code.FailedPrecondition,
            "ACTION-4m9s2",
            "Errors.Execution.ResponseIsNotValidJSON",
            undefined,
            { cause },
          ),
      });
      const existing = runOptions.existingClaims ?? userinfoClaims(payload);
      return resultFromResponse(response, existing);
    },
  };
}

function userinfoClaims(payload: JsonObject): string[] {
  const userinfo = payload.userinfo;
  if (
    typeof userinfo !== "object" ||
    userinfo === null ||
    Array.isArray(userinfo)
  ) {
    return [];
  }
  return Object.keys(userinfo);
}

// Applies ZITADEL's claim rules: reserved keys are dropped silently, and a
// key that already exists, or was appended earlier, is logged instead.
function resultFromResponse(
  response: FunctionResponse,
  existingClaims: Iterable<string>,
): FunctionResult {
  const existing = new Set(existingClaims);
  const claims: AppendedClaim[] = [];
  const logClaims: string[] = [];
  for (const claim of response.appendClaims ?? []) {
    if (claim.key.startsWith(RESERVED_CLAIM_PREFIX)) {
      continue;
    }
    if (existing.has(claim.key)) {
      logClaims.push(`key ${JSON.stringify(claim.key)} already exists`);
      continue;
    }
    existing.add(claim.key);
    claims.push(claim);
  }
  logClaims.push(...(response.appendLogClaims ?? []));
  return {
    claims,
    metadata: response.setUserMetadata ?? [],
    logClaims,
  };
}

import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { TargetCaller } from "../target/index.js";
import type { RoutedTarget } from "./router.js";
import { executionErrorFrom } from "./target-errors.js";

/** Options of createTargetRunner. */
export interface TargetRunnerOptions {
  caller: TargetCaller;
  logger: Logger;
  /** Most async calls in flight; further ones are dropped and logged. */
  maxConcurrentAsync: number;
}

/** Input of one run of an execution's targets. */
export interface TargetRun<T> {
  /** Execution id, for logs, e.g. request/zitadel.user.v2.UserService. */
  executionId: string;
  targets: readonly RoutedTarget[];
  /** State the first target receives, such as the request message. */
  initial: T;
  /** Encodes the body for the current state. */
  encode(state: T): Uint8Array;
  /**
   * Applies a call target's non-empty response body and returns the new
   * state. It throws when the body is not a valid message.
   */
  apply?(state: T, body: Uint8Array, target: RoutedTarget): T;
  /** Converts an invalid response body to the client's error. */
  invalidAnswer(target: RoutedTarget, cause: unknown): Error;
  /** Id sent as webhook-id; by default a new one per call. */
  webhookId?: string;
  /**
   * Signal of the RPC that runs the targets. When it aborts, the webhook or
   * call target in flight is cancelled and the run stops with the abort
   * reason. Async targets never receive it.
   */
  signal?: AbortSignal;
}

/** Calls the targets of an execution in order. */
export interface TargetRunner {
  /**
   * Runs the targets in list order and returns the final state. A failing
   * target with interrupt_on_error stops the run and its error is thrown.
   * Without it, the failure is logged and the next target runs. Async
   * targets run detached and never fail the run. When `run.signal` aborts,
   * the run stops with the abort reason as a ConnectError (Canceled, unless
   * the reason carries a code such as DeadlineExceeded), regardless of
   * interrupt_on_error.
   */
  run<T>(run: TargetRun<T>): Promise<T>;
  /** Number of async calls in flight. */
  readonly asyncInFlight: number;
  /** Resolves when every async call in flight has finished. */
  drain(): Promise<void>;
}

/** Creates the runner that the interceptor, events and functions share. */
export function createTargetRunner(options: TargetRunnerOptions): TargetRunner {
  const { caller, logger } = options;
  const inFlight = new Set<Promise<void>>();

  const startAsync = (
    target: RoutedTarget,
    body: Uint8Array,
    executionId: string,
  ) => {
    if (inFlight.size >= options.maxConcurrentAsync) {
      logger.warn(
        { targetId: target.id, executionId, limit: options.maxConcurrentAsync },
        "async target call dropped: too many in flight",
      );
      return;
    }
    // The call gets no signal from the RPC, so a client that goes away
    // does not cancel it; the target's own timeout still bounds it.
    const call = caller.call(target, body).then(
      () => undefined,
      (error: unknown) => {
        logger.warn(
          { targetId: target.id, executionId, err: error },
          "async target call failed",
        );
      },
    );
    inFlight.add(call);
    void call.finally(() => inFlight.delete(call));
  };

  return {
    get asyncInFlight() {
      return inFlight.size;
    },
    async run<T>(run: TargetRun<T>): Promise<T> {
      let state = run.initial;
      // The body changes only when a call target replaced the state, so
      // chained targets share one encoding until then.
      let encoded: { state: T; body: Uint8Array } | undefined;
      for (const target of run.targets) {
        if (encoded?.state !== state) {
          encoded = { state, body: run.encode(state) };
        }
        const { body } = encoded;
        if (target.type === "async") {
          startAsync(target, body, run.executionId);
          continue;
        }
        let responseBody: Uint8Array;
        try {
          responseBody = await caller.call(target, body, {
            webhookId: run.webhookId,
            signal: run.signal,
          });
        } catch (error) {
          // The client is gone or its deadline passed, so neither the next
          // target nor the handler would reach anyone. connect-node aborts
          // with a DeadlineExceeded ConnectError when the deadline passes.
          if (run.signal?.aborted) {
            throw ConnectError.from(run.signal.reason, Code.Canceled);
          }
          if (target.interruptOnError) {
            logger.warn(
              { targetId: target.id, executionId: run.executionId, err: error },
              "target call failed; the execution stops because interrupt_on_error is on",
            );
            throw executionErrorFrom(error);
          }
          logger.warn(
            { targetId: target.id, executionId: run.executionId, err: error },
            "target call failed; continuing because interrupt_on_error is off",
          );
          continue;
        }
        if (target.type !== "call" || responseBody.length === 0 || !run.apply) {
          continue;
        }
        try {
          state = run.apply(state, responseBody, target);
        } catch (error) {
          if (target.interruptOnError) {
            logger.warn(
              { targetId: target.id, executionId: run.executionId, err: error },
              "target response is not a valid message; the execution stops",
            );
            throw run.invalidAnswer(target, error);
          }
          logger.warn(
            { targetId: target.id, executionId: run.executionId, err: error },
            "target response ignored: it is not a valid message",
          );
        }
      }
      return state;
    },
    async drain() {
      while (inFlight.size > 0) {
        await Promise.allSettled([...inFlight]);
      }
    },
  };
}

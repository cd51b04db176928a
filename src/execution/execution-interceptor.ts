import { type DescMessage, fromJson, type Message } from "@bufbuild/protobuf";
import {
  Code,
  type Interceptor,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { callerKey } from "../caller-context.js";
import { ActionsError } from "../errors.js";
import {
  type CallIdentity,
  encodeRpcPayload,
  forwardedHeadersOf,
} from "./payload.js";
import type { RoutedTarget } from "./router.js";
import type { RouterSource } from "./router-source.js";
import type { TargetRunner } from "./target-runner.js";

type Next = Parameters<Interceptor>[0];

/** Options of executionInterceptor. */
export interface ExecutionInterceptorOptions {
  router: RouterSource;
  runner: TargetRunner;
  /** Instance id sent as instanceID; empty leaves the key out. */
  instanceId: string;
  /** Service type names whose methods never run executions. */
  exemptServices: ReadonlySet<string>;
}

/**
 * Runs the best-matching request execution before the handler and the
 * best-matching response execution after it, for every unary method. Call
 * targets may replace the request or the response; the next target and the
 * handler see the replacement. When the handler fails, response targets
 * are not called. Webhook and call targets get the RPC's signal, so a
 * client that aborts or whose deadline passes stops them. Async targets
 * outlive the RPC.
 */
export function executionInterceptor(
  options: ExecutionInterceptorOptions,
): Interceptor {
  const { router, runner } = options;
  // Without matching targets the call goes straight to `next`, with no
  // async function in between, because most methods have no execution.
  return (next) => (request) => {
    if (
      request.stream ||
      options.exemptServices.has(request.service.typeName)
    ) {
      return next(request);
    }
    const fullMethod = `/${request.service.typeName}/${request.method.name}`;
    // Both phases use the router of the moment the call arrived, as ZITADEL
    // resolves both target lists before the handler. Otherwise a call that
    // sets a response execution would run it on its own response and fail
    // after its write was committed.
    const routes = router.current();
    const requestTargets = routes.requestTargets(fullMethod);
    const responseTargets = routes.responseTargets(fullMethod);
    if (requestTargets.length === 0 && responseTargets.length === 0) {
      return next(request);
    }
    return runTargets(request, next, {
      fullMethod,
      requestTargets,
      responseTargets,
    });
  };

  async function runTargets(
    request: UnaryRequest,
    next: Next,
    route: {
      fullMethod: string;
      requestTargets: readonly RoutedTarget[];
      responseTargets: readonly RoutedTarget[];
    },
  ): Promise<UnaryResponse | StreamResponse> {
    const { fullMethod, requestTargets, responseTargets } = route;
    const caller = request.contextValues.get(callerKey);
    const identity: CallIdentity = {
      instanceId: options.instanceId,
      orgId: request.header.get("x-zitadel-orgid") ?? "",
      projectId: caller?.projectId ?? "",
      userId: caller?.userId ?? "",
    };
    const headers = forwardedHeadersOf(request.header);
    const requestSchema = request.method.input;
    const responseSchema = request.method.output;

    let message = request.message;
    if (requestTargets.length > 0) {
      message = await runner.run<Message>({
        executionId: `request${fullMethod}`,
        targets: requestTargets,
        initial: message,
        encode: (current) =>
          encodeRpcPayload({
            fullMethod,
            identity,
            requestSchema,
            request: current,
            headers,
          }),
        apply: (_current, body) => parseAnswer(requestSchema, body),
        invalidAnswer,
        signal: request.signal,
      });
    }

    const response = await next({ ...request, message });

    if (responseTargets.length === 0 || response.stream) {
      return response;
    }
    const finalRequest = message;
    const replaced = await runner.run<Message>({
      executionId: `response${fullMethod}`,
      targets: responseTargets,
      initial: response.message,
      encode: (current) =>
        encodeRpcPayload({
          fullMethod,
          identity,
          requestSchema,
          request: finalRequest,
          responseSchema,
          response: current,
          headers,
        }),
      apply: (_current, body) => parseAnswer(responseSchema, body),
      invalidAnswer,
      signal: request.signal,
    });
    return { ...response, message: replaced };
  }
}

// A call target's response body is the whole new message. fromJson starts
// from an empty message, so fields the body leaves out are cleared, and it
// rejects unknown fields, as protojson does in ZITADEL.
function parseAnswer(schema: DescMessage, body: Uint8Array): Message {
  const text = Buffer.from(body.buffer, body.byteOffset, body.length);
  const json: unknown = JSON.parse(text.toString("utf8"));
  return fromJson(schema, json as never);
}

function invalidAnswer(target: RoutedTarget, cause: unknown): Error {
  return new ActionsError(
    Code.Unknown,
    "EXEC-2pvk4",
    "Errors.Execution.ResponseIsNotValidJSON",
    `Target response is not a valid message: the body from target ${target.id} does not match the message; fix the target's response`,
    { cause },
  );
}

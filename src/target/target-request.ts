import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Dispatcher } from "undici";
import { EgressDeniedError } from "./egress.js";
import { discardBody, readBodyWithLimit } from "./read-body.js";
import {
  signatureHeaderName,
  signPayload,
  standardWebhookHeaders,
} from "./signing.js";
import {
  TargetCallError,
  type TargetCallErrorKind,
} from "./target-call-error.js";

/** The part of a target that a call needs. */
export interface TargetEndpoint {
  /** Target id, used in error messages and metric labels. */
  id: string;
  /** Absolute http or https URL. */
  endpoint: string;
  /** Maximum call duration in ms, from connecting to reading the body. */
  timeoutMs: number;
  /** HMAC key for the signature headers. With "" no signature is sent. */
  signingKey: string;
  /**
   * Encoding of the body: "jwt" and "jwe" bodies are encoded by the caller
   * that withPayloadEncoding returns. Default: "json".
   */
  payloadType?: PayloadEncoding;
}

/** Body encoding of a target, from its PayloadType. */
export type PayloadEncoding = "json" | "jwt" | "jwe";

/** Per-call options of {@link sendTargetRequest}. */
export interface TargetRequestOptions {
  /** Value of the webhook-id header. Default: `msg_` and a random id. */
  webhookId?: string;
  /**
   * Aborts the call early, in addition to the target's timeout. The call
   * then fails with kind "timeout" when the abort reason is a TimeoutError
   * DOMException, as from AbortSignal.timeout, and with kind "transport"
   * otherwise.
   */
  signal?: AbortSignal;
}

/** Settings shared by all calls of one target caller. */
export interface TargetRequestSettings {
  readonly dispatcher: Dispatcher;
  readonly maxResponseBytes: number;
  readonly userAgent: string;
}

// Connect and socket timeouts from undici that count as the kind "timeout".
const undiciTimeoutCodes = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

// Reason of the abort when a target's own timeout passes.
const targetTimeout = Symbol("target timeout");

/**
 * Sends one signed POST to a target and returns the response body. The
 * target's timeout covers connecting, the response and reading the body.
 * Redirects are not followed. The endpoint must already have passed the
 * egress check, because literal IP addresses skip the connect-time lookup.
 *
 * @throws TargetCallError for every failure.
 */
export async function sendTargetRequest(
  settings: TargetRequestSettings,
  target: TargetEndpoint,
  body: Uint8Array,
  options: TargetRequestOptions,
): Promise<Uint8Array> {
  const url = parsedEndpoint(target.endpoint);
  // undici accepts an EventEmitter as the signal. One emitter and one timer
  // per call cost a fifth of an AbortController with AbortSignal.timeout
  // and AbortSignal.any, which took a tenth of a loopback call.
  const abort = new CallAbort();
  const timer = setTimeout(() => abort.fire(targetTimeout), target.timeoutMs);
  const unfollow =
    options.signal === undefined
      ? undefined
      : followSignal(options.signal, abort);

  const release = () => {
    clearTimeout(timer);
    unfollow?.();
  };

  let response: Dispatcher.ResponseData | undefined;
  // The body of a response outside 2xx is dropped after the call has
  // failed. The timer and the caller's signal keep bounding that read, so
  // a target cannot hold the connection open by sending it slowly.
  let discarding: Promise<void> | undefined;
  try {
    response = await settings.dispatcher.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: "POST",
      headers: buildHeaders(settings, target, url, body, options),
      body,
      signal: abort,
    });
    const { statusCode } = response;
    if (statusCode < 200 || statusCode > 299) {
      discarding = discardBody(response.body);
      throw statusError(target, url.host, response);
    }
    return await readResponse(settings, target, url.host, response);
  } catch (error) {
    if (response !== undefined && !(error instanceof TargetCallError)) {
      response.body.destroy();
    }
    throw classifyFailure(error, target, url.host, abort);
  } finally {
    if (discarding === undefined) {
      release();
    } else {
      void discarding.finally(release);
    }
  }
}

// Calls in flight per caller signal. A signal such as the event
// dispatcher's is shared by many calls at once, so each gets one listener
// that fans out, not one per call, which would pass Node's limit of ten
// and print a MaxListenersExceededWarning.
const callsBySignal = new WeakMap<AbortSignal, Set<CallAbort>>();

// Makes `abort` fire when `signal` aborts; the result stops that.
function followSignal(signal: AbortSignal, abort: CallAbort): () => void {
  if (signal.aborted) {
    abort.fire(signal.reason);
    return () => {};
  }
  let calls = callsBySignal.get(signal);
  if (calls === undefined) {
    const created = new Set<CallAbort>();
    signal.addEventListener(
      "abort",
      () => {
        for (const call of created) {
          call.fire(signal.reason);
        }
      },
      { once: true },
    );
    callsBySignal.set(signal, created);
    calls = created;
  }
  calls.add(abort);
  const following = calls;
  return () => {
    following.delete(abort);
  };
}

/**
 * The abort signal of one call, in the EventEmitter form that undici
 * accepts: undici reads `aborted` and `reason` and listens for "abort".
 */
class CallAbort extends EventEmitter {
  aborted = false;
  reason: unknown;

  fire(reason: unknown): void {
    if (this.aborted) {
      return;
    }
    this.aborted = true;
    this.reason = reason ?? new DOMException("aborted", "AbortError");
    this.emit("abort");
  }
}

/**
 * Returns `target "<id>" (<host>)` for error messages, or only the id part
 * when the endpoint is not a valid URL.
 */
export function describeTarget(target: TargetEndpoint): string {
  try {
    return `target "${target.id}" (${new URL(target.endpoint).host})`;
  } catch {
    return `target "${target.id}"`;
  }
}

// Reads the body of a 2xx response and checks it for a forwarded error.
async function readResponse(
  settings: TargetRequestSettings,
  target: TargetEndpoint,
  host: string,
  response: Dispatcher.ResponseData,
): Promise<Uint8Array> {
  const { headers } = response;
  const limit = settings.maxResponseBytes;
  const contentLength = headers["content-length"];
  // Most webhooks respond with an empty body and a Content-Length of 0, so
  // the body is skipped without reading it.
  if (contentLength === "0") {
    await response.body.dump();
    return empty;
  }
  const read = await readBodyWithLimit(response.body, contentLength, limit);
  if (read.tooLarge) {
    throw new TargetCallError(
      `target "${target.id}" (${host}): response body exceeds the limit of ${limit} bytes`,
      { kind: "response-too-large", targetId: target.id },
    );
  }
  const forwarded = findForwardedError(read.bytes);
  if (forwarded !== undefined) {
    throw new TargetCallError(
      `target "${target.id}" (${host}): target forwarded an error with forwardedStatusCode ${forwarded.forwardedStatusCode}`,
      { kind: "forwarded", targetId: target.id, ...forwarded },
    );
  }
  return read.bytes;
}

const empty = new Uint8Array(0);

function statusError(
  target: TargetEndpoint,
  host: string,
  response: Dispatcher.ResponseData,
): TargetCallError {
  const { statusCode } = response;
  const retryAfter = response.headers["retry-after"];
  return new TargetCallError(
    `target "${target.id}" (${host}): responded with HTTP ${statusCode}`,
    {
      kind: "status",
      targetId: target.id,
      status: statusCode,
      retryAfter:
        typeof retryAfter === "string" ? retryAfter.trim() : undefined,
    },
  );
}

function buildHeaders(
  settings: TargetRequestSettings,
  target: TargetEndpoint,
  url: URL,
  body: Uint8Array,
  options: TargetRequestOptions,
): Record<string, string> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const webhookId =
    options.webhookId ?? `msg_${randomUUID().replaceAll("-", "")}`;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": settings.userAgent,
    "webhook-id": webhookId,
    "webhook-timestamp": String(nowSeconds),
  };
  if (target.signingKey !== "") {
    headers[signatureHeaderName] = signPayload(
      body,
      target.signingKey,
      nowSeconds,
    );
    headers["webhook-signature"] = standardWebhookHeaders(
      body,
      target.signingKey,
      webhookId,
      nowSeconds,
    )["webhook-signature"];
  }
  // Go's http.Client, which ZITADEL uses, sends user info in the endpoint
  // URL as Basic authentication, so this caller does the same.
  if (url.username !== "" || url.password !== "") {
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString("base64")}`;
  }
  return headers;
}

/**
 * Returns the forwarded error of a 2xx body, which ZITADEL recognises as a
 * JSON object with a non-zero integer forwardedStatusCode or a non-empty
 * string forwardedErrorMessage. A field of another type is ignored.
 */
const OPEN_BRACE = 0x7b;

// Returns the first byte that is not JSON whitespace, or -1.
function firstNonSpace(bytes: Uint8Array): number {
  for (const byte of bytes) {
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) {
      return byte;
    }
  }
  return -1;
}

function findForwardedError(
  bytes: Uint8Array,
): { forwardedStatusCode: number; forwardedErrorMessage: string } | undefined {
  // Most webhooks answer with an empty body, and a JSON.parse that throws
  // costs more than the rest of reading the response.
  if (bytes.length === 0 || bytes[0] !== OPEN_BRACE) {
    const first = firstNonSpace(bytes);
    if (first !== OPEN_BRACE) {
      return undefined;
    }
  }
  // Without these bytes and without a \u escape, no key of the object can
  // be a forwarded field, so a call target's answer is parsed only once,
  // by the runner.
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buffer.indexOf("orwarded") === -1 && buffer.indexOf("\\u") === -1) {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(buffer.toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return undefined;
  }
  const { forwardedStatusCode, forwardedErrorMessage } = parsed as Record<
    string,
    unknown
  >;
  const statusCode = Number.isInteger(forwardedStatusCode)
    ? (forwardedStatusCode as number)
    : 0;
  const message =
    typeof forwardedErrorMessage === "string" ? forwardedErrorMessage : "";
  if (statusCode === 0 && message === "") {
    return undefined;
  }
  return { forwardedStatusCode: statusCode, forwardedErrorMessage: message };
}

function classifyFailure(
  error: unknown,
  target: TargetEndpoint,
  host: string,
  signal: CallAbort,
): TargetCallError {
  if (error instanceof TargetCallError) {
    return error;
  }
  const fail = (kind: TargetCallErrorKind, detail: string) =>
    new TargetCallError(`target "${target.id}" (${host}): ${detail}`, {
      kind,
      targetId: target.id,
      cause: error,
    });
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason === targetTimeout) {
      return fail("timeout", `timed out after ${target.timeoutMs} ms`);
    }
    return reason instanceof DOMException && reason.name === "TimeoutError"
      ? fail("timeout", "the caller's deadline passed")
      : fail("transport", "the caller aborted the request");
  }
  const denied = findEgressDenial(error);
  if (denied !== undefined) {
    return fail("egress-denied", denied.message);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && undiciTimeoutCodes.has(code)) {
    return fail("timeout", `timed out (${code})`);
  }
  const detail = error instanceof Error ? error.message : String(error);
  return fail("transport", `request failed: ${detail}`);
}

function findEgressDenial(error: unknown): EgressDeniedError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof EgressDeniedError) {
      return current;
    }
    current = current.cause;
  }
  return undefined;
}

// Endpoints repeat on every call, so each is parsed once.
const parsedEndpoints = new Map<string, URL>();

function parsedEndpoint(endpoint: string): URL {
  let url = parsedEndpoints.get(endpoint);
  if (url === undefined) {
    url = new URL(endpoint);
    if (parsedEndpoints.size >= 10_000) {
      parsedEndpoints.clear();
    }
    parsedEndpoints.set(endpoint, url);
  }
  return url;
}

/** How a target call failed. */
export type TargetCallErrorKind =
  /**
   * Connecting, sending or receiving failed: a refused or reset connection,
   * a DNS failure, a caller abort or a call after close.
   */
  | "transport"
  /** The target's timeout, or the connect timeout, ran out. */
  | "timeout"
  /** The target responded with a status outside 200-299, including 3xx. */
  | "status"
  /** A 2xx response carried forwardedStatusCode or forwardedErrorMessage. */
  | "forwarded"
  /** The response body was larger than the caller's maxResponseBytes. */
  | "response-too-large"
  /** The egress guard rejected the endpoint or its resolved address. */
  | "egress-denied"
  /** Too many calls to this target were already in flight. */
  | "overloaded";

/** Fields of a {@link TargetCallError} besides its message. */
export interface TargetCallErrorInit {
  kind: TargetCallErrorKind;
  targetId: string;
  status?: number;
  forwardedStatusCode?: number;
  forwardedErrorMessage?: string;
  retryAfter?: string;
  cause?: unknown;
}

/**
 * Raised when a target call fails. The message names the target id and the
 * endpoint host. It never contains the signing key or the target's response
 * body. A forwarded error message is only in `forwardedErrorMessage`.
 */
export class TargetCallError extends Error {
  override readonly name = "TargetCallError";
  readonly kind: TargetCallErrorKind;
  readonly targetId: string;
  /** HTTP status, for kind "status". */
  readonly status?: number;
  /** The target's forwardedStatusCode, 0 when absent, for kind "forwarded". */
  readonly forwardedStatusCode?: number;
  /**
   * The target's forwardedErrorMessage, "" when absent, for kind
   * "forwarded".
   */
  readonly forwardedErrorMessage?: string;

  /** The raw Retry-After header of a non-2xx answer, for kind "status". */
  readonly retryAfter?: string;

  constructor(message: string, init: TargetCallErrorInit) {
    super(
      message,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.kind = init.kind;
    this.targetId = init.targetId;
    this.status = init.status;
    this.forwardedStatusCode = init.forwardedStatusCode;
    this.forwardedErrorMessage = init.forwardedErrorMessage;
    this.retryAfter = init.retryAfter;
  }
}

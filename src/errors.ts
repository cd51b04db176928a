import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../gen/zitadel/message_pb.js";

// English texts of ZITADEL's message keys that this service returns.
const texts: Record<string, string> = {
  "Errors.Internal": "Internal error",
  "Errors.Target.Invalid": "Target is invalid",
  "Errors.Target.NoTimeout": "Target has no timeout",
  "Errors.Target.InvalidURL": "Target has an invalid URL",
  "Errors.Target.NotFound": "Target not found",
  "Errors.Target.AlreadyExists": "Target already exists",
  "Errors.Target.InvalidPublicKey": "Public key is invalid",
  "Errors.Target.InvalidExpirationDate": "Expiration date is invalid",
  "Errors.Target.PublicKeyExpired": "Public key has expired",
  "Errors.Target.PublicKeyActive": "Public key is active",
  "Errors.Execution.MissingEncryptionKey":
    "Target has no active public key to encrypt the payload",
  "Errors.Execution.Invalid": "Execution is invalid",
  "Errors.Execution.ConditionInvalid": "Execution condition is invalid",
  "Errors.Execution.TooManyTargets": "Execution has too many targets",
  "Errors.Execution.Failed": "Execution failed",
  "Errors.Execution.ResponseIsNotValidJSON":
    "Target answer is not a valid message",
  "Errors.Endpoint.Denied": "Endpoint is not allowed",
  "Errors.Query.LimitExceeded": "Limit exceeded",
  "List.Query.Invalid": "Query is invalid",
};

/**
 * An error for the client, in ZITADEL's form: a gRPC code, a stable id of
 * the place that raised it and a message key such as Errors.Target.NotFound.
 * The error interceptor turns it into a ConnectError whose message reads
 * `<text> (<id>)` with a zitadel.v1.ErrorDetail attached.
 */
export class ActionsError extends Error {
  override readonly name = "ActionsError";

  /**
   * @param text overrides the English text of `key`, for messages that a
   *   target forwarded or that name a value.
   */
  constructor(
    readonly code: Code,
    readonly id: string,
    readonly key: string,
    readonly text: string = texts[key] ?? key,
    options?: ErrorOptions,
  ) {
    super(`${text} (${id})`, options);
  }
}

/**
 * Converts any error to the ConnectError a client receives. ActionsError
 * and ConnectError keep their code and message; anything else becomes an
 * opaque Internal error, so SQL and stack traces never reach the client.
 */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ActionsError) {
    return new ConnectError(
      error.message,
      error.code,
      undefined,
      [
        {
          desc: ErrorDetailSchema,
          value: { id: error.id, message: error.text },
        },
      ],
      error,
    );
  }
  if (error instanceof ConnectError) {
    return error;
  }
  return new ConnectError(
    `${texts["Errors.Internal"]} (INTERNAL-7g2kq)`,
    Code.Internal,
    undefined,
    [
      {
        desc: ErrorDetailSchema,
        value: { id: "INTERNAL-7g2kq", message: texts["Errors.Internal"] },
      },
    ],
    error,
  );
}

/**
 * Returns the snake_case name of a code, as the Connect protocol and the
 * log lines write it, for example "invalid_argument". A number that is no
 * code returns "unknown".
 */
export function codeName(code: Code): string {
  const name = Code[code] ?? "Unknown";
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

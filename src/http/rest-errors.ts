import {
  create,
  type JsonObject,
  type JsonValue,
  type Registry,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectError } from "@connectrpc/connect";

// The HTTP status of each gRPC code, from the "HTTP Mapping" lines of
// google/rpc/code.proto in googleapis.
const httpStatusByCode: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/** Returns the HTTP status for a gRPC code, 500 for codes it does not know. */
export function httpStatusFromCode(code: Code): number {
  return httpStatusByCode[code] ?? 500;
}

/**
 * Renders an error as the JSON form of google.rpc.Status:
 * `{ code, message, details }`. `code` is the gRPC code
 * number and `message` the text without Connect's "[code]" prefix. Each
 * detail is the JSON form of a google.protobuf.Any. A detail whose type is
 * not in `registry` is rendered with its bytes in base64 under "value".
 */
export function errorToJson(
  error: ConnectError,
  registry: Registry,
): JsonObject {
  return {
    code: error.code,
    message: error.rawMessage,
    details: error.details.map((detail) => detailToJson(detail, registry)),
  };
}

function detailToJson(
  detail: ConnectError["details"][number],
  registry: Registry,
): JsonValue {
  const typeName = "desc" in detail ? detail.desc.typeName : detail.type;
  const value =
    "desc" in detail
      ? toBinary(detail.desc, create(detail.desc, detail.value))
      : detail.value;
  const any = create(AnySchema, {
    typeUrl: `type.googleapis.com/${typeName}`,
    value,
  });
  try {
    return toJson(AnySchema, any, { registry });
  } catch {
    return { "@type": any.typeUrl, value: base64Encode(value) };
  }
}

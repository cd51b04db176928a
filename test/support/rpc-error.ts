import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { ConnectError } from "@connectrpc/connect";
import {
  type ErrorDetail,
  ErrorDetailSchema,
} from "../../gen/zitadel/message_pb.js";
import { GrpcJsError } from "./clients.js";

/** The parts of a failed call that tests check, whatever the transport. */
export interface RpcError {
  code: number;
  /** The status message as the server sent it, without a code prefix. */
  message: string;
  /** The zitadel.v1.ErrorDetail messages attached to the status. */
  details: ErrorDetail[];
}

/** A google.protobuf.Any: the type URL and the encoded message. */
export interface AnyValue {
  typeUrl: string;
  value: Uint8Array;
}

/** A google.rpc.Status, as gRPC sends it in grpc-status-details-bin. */
export interface RpcStatus {
  code: number;
  message: string;
  details: AnyValue[];
}

/**
 * Awaits a call that must fail and returns its error. A call that succeeds
 * fails the test; an error that no client transport produces is rethrown.
 */
export async function rpcError(call: Promise<unknown>): Promise<RpcError> {
  let error: unknown;
  try {
    await call;
  } catch (caught) {
    error = caught;
  }
  if (error === undefined) {
    throw new Error("expected the call to fail, but it succeeded");
  }
  if (error instanceof ConnectError) {
    return {
      code: error.code,
      message: error.rawMessage,
      details: error.findDetails(ErrorDetailSchema),
    };
  }
  if (error instanceof GrpcJsError) {
    return {
      code: error.code,
      message: error.rawMessage,
      details: errorDetailsFromTrailer(error),
    };
  }
  throw error;
}

// grpc-js leaves grpc-status-details-bin in the trailers as raw bytes.
function errorDetailsFromTrailer(error: GrpcJsError): ErrorDetail[] {
  const values = error.metadata.get("grpc-status-details-bin");
  const details: ErrorDetail[] = [];
  for (const value of values) {
    if (typeof value === "string") {
      continue;
    }
    for (const any of decodeRpcStatus(value).details) {
      if (any.typeUrl.endsWith(`/${ErrorDetailSchema.typeName}`)) {
        details.push(fromBinary(ErrorDetailSchema, any.value));
      }
    }
  }
  return details;
}

/**
 * Decodes a google.rpc.Status: code = 1 (int32), message = 2 (string),
 * details = 3 (repeated google.protobuf.Any with type_url = 1 and
 * value = 2).
 */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus {
  const status: RpcStatus = { code: 0, message: "", details: [] };
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1 && wireType === WireType.Varint) {
      status.code = reader.int32();
    } else if (fieldNo === 2 && wireType === WireType.LengthDelimited) {
      status.message = reader.string();
    } else if (fieldNo === 3 && wireType === WireType.LengthDelimited) {
      status.details.push(decodeAny(reader.bytes()));
    } else {
      reader.skip(wireType, fieldNo);
    }
  }
  return status;
}

function decodeAny(bytes: Uint8Array): AnyValue {
  const any: AnyValue = { typeUrl: "", value: new Uint8Array() };
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1 && wireType === WireType.LengthDelimited) {
      any.typeUrl = reader.string();
    } else if (fieldNo === 2 && wireType === WireType.LengthDelimited) {
      any.value = reader.bytes();
    } else {
      reader.skip(wireType, fieldNo);
    }
  }
  return any;
}

import type { JsonValue } from "@bufbuild/protobuf";
import { type DescMessage, type Message, toJson } from "@bufbuild/protobuf";

/** Caller and origin of an RPC, with the names the payload uses. */
export interface CallIdentity {
  instanceId: string;
  orgId: string;
  projectId: string;
  userId: string;
}

// Only these request headers reach targets; credentials such as
// authorization and cookie never do.
const forwardedHeaders = [
  "content-type",
  "x-forwarded-for",
  "x-forwarded-host",
  "host",
  "origin",
];

/**
 * Returns the forwarded headers as a map from name to values. Names are
 * lowercase on gRPC calls, as gRPC metadata keys are, and canonical
 * (Content-Type) otherwise, as ZITADEL sends them. Undefined when none
 * is present.
 */
export function forwardedHeadersOf(
  header: Headers,
): Record<string, string[]> | undefined {
  const grpc = header.get("content-type")?.startsWith("application/grpc");
  let result: Record<string, string[]> | undefined;
  for (const name of forwardedHeaders) {
    const value = header.get(name);
    if (value === null || value === "") {
      continue;
    }
    result ??= {};
    result[grpc ? name : canonicalName(name)] = [value];
  }
  return result;
}

/** Inputs of a request or response payload. */
export interface RpcPayloadInput {
  fullMethod: string;
  identity: CallIdentity;
  requestSchema: DescMessage;
  request: Message;
  responseSchema?: DescMessage;
  response?: Message;
  headers?: Record<string, string[]>;
}

/**
 * Encodes the JSON body sent to request and response targets, with keys in
 * ZITADEL's order and empty strings left out. Messages are encoded with
 * protobuf-es toJson, which follows the protojson rules.
 */
export function encodeRpcPayload(input: RpcPayloadInput): Uint8Array {
  const payload: Record<string, JsonValue> = {
    fullMethod: input.fullMethod,
  };
  setIfPresent(payload, "instanceID", input.identity.instanceId);
  setIfPresent(payload, "orgID", input.identity.orgId);
  setIfPresent(payload, "projectID", input.identity.projectId);
  setIfPresent(payload, "userID", input.identity.userId);
  payload.request = toJson(input.requestSchema, input.request);
  if (input.responseSchema !== undefined && input.response !== undefined) {
    payload.response = toJson(input.responseSchema, input.response);
  }
  if (input.headers !== undefined) {
    payload.headers = input.headers;
  }
  return Buffer.from(JSON.stringify(payload));
}

function setIfPresent(
  payload: Record<string, JsonValue>,
  key: string,
  value: string,
): void {
  if (value !== "") {
    payload[key] = value;
  }
}

function canonicalName(name: string): string {
  return name.replace(
    /(^|-)([a-z])/g,
    (_, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`,
  );
}

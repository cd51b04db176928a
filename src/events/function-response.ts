import type { JsonValue } from "@bufbuild/protobuf";

/** Prefix of ZITADEL's reserved claims; targets cannot append these. */
export const RESERVED_CLAIM_PREFIX = "urn:zitadel:iam";

/** A claim that a function target requests to append. */
export interface AppendedClaim {
  key: string;
  value: JsonValue;
}

/** A user metadata entry that a function target requests to set. */
export interface MetadataEntry {
  key: string;
  /** The decoded bytes of the response's base64 value. */
  value: Uint8Array;
}

/**
 * The fields of call targets' responses to a function, decoded into one
 * object as ZITADEL does: set_user_metadata, append_claims and
 * append_log_claims. An absent field stays undefined.
 */
export interface FunctionResponse {
  setUserMetadata?: MetadataEntry[];
  appendClaims?: AppendedClaim[];
  appendLogClaims?: string[];
}

/** A target response that is not valid JSON or has fields of the wrong type. */
export class InvalidFunctionResponseError extends Error {
  override readonly name = "InvalidFunctionResponseError";
}

/**
 * Parses one response body and applies it to `previous` as Go's
 * json.Unmarshal into ZITADEL's shared response object does. A field
 * present in the body replaces that field, because a JSON array replaces a
 * Go slice instead of extending it. `null` clears a field, absent or
 * unknown fields keep the previous value, and a `null` body changes
 * nothing.
 *
 * NOTE: Go also matches field names case-insensitively; this parser
 * accepts the exact snake_case names only.
 *
 * @throws InvalidFunctionResponseError when the body is not JSON, not an
 *   object or null, or a known field has the wrong type.
 */
export function applyFunctionResponse(
  previous: FunctionResponse,
  bytes: Uint8Array,
): FunctionResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (error) {
    throw new InvalidFunctionResponseError("response body is not valid JSON", {
      cause: error,
    });
  }
  if (parsed === null) {
    return previous;
  }
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new InvalidFunctionResponseError(
      "response body is not a JSON object or null",
    );
  }
  const body = parsed as Record<string, unknown>;
  const next: FunctionResponse = { ...previous };
  if ("set_user_metadata" in body) {
    next.setUserMetadata = parseList(
      body.set_user_metadata,
      "set_user_metadata",
      parseMetadataEntry,
    );
  }
  if ("append_claims" in body) {
    next.appendClaims = parseList(
      body.append_claims,
      "append_claims",
      parseClaim,
    );
  }
  if ("append_log_claims" in body) {
    next.appendLogClaims = parseList(
      body.append_log_claims,
      "append_log_claims",
      (item, field) => {
        if (typeof item !== "string") {
          throw new InvalidFunctionResponseError(`${field} must be a string`);
        }
        return item;
      },
    );
  }
  return next;
}

function parseList<T>(
  value: unknown,
  field: string,
  parseItem: (item: unknown, field: string) => T,
): T[] | undefined {
  if (value === null) {
    return undefined;
  }
  if (!Array.isArray(value)) {
    throw new InvalidFunctionResponseError(`${field} must be an array`);
  }
  return value.map((item, index) => parseItem(item, `${field}[${index}]`));
}

function parseClaim(item: unknown, field: string): AppendedClaim {
  const entry = objectOf(item, field);
  const key = entry.key ?? "";
  if (typeof key !== "string") {
    throw new InvalidFunctionResponseError(`${field}.key must be a string`);
  }
  return { key, value: (entry.value ?? null) as JsonValue };
}

// Go decodes a []byte field from standard base64 with padding.
const base64Pattern =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function parseMetadataEntry(item: unknown, field: string): MetadataEntry {
  const entry = objectOf(item, field);
  const key = entry.key ?? "";
  const value = entry.value ?? "";
  if (typeof key !== "string") {
    throw new InvalidFunctionResponseError(`${field}.key must be a string`);
  }
  if (typeof value !== "string" || !base64Pattern.test(value)) {
    throw new InvalidFunctionResponseError(
      `${field}.value must be standard base64 with padding`,
    );
  }
  return { key, value: new Uint8Array(Buffer.from(value, "base64")) };
}

function objectOf(item: unknown, field: string): Record<string, unknown> {
  if (typeof item !== "object" || item === null || Array.isArray(item)) {
    throw new InvalidFunctionResponseError(`${field} must be an object`);
  }
  return item as Record<string, unknown>;
}

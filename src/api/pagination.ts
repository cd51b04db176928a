import type { PaginationRequest } from "../../gen/zitadel/filter/v2/filter_pb.js";
import { limitExceeded } from "./errors.js";

/** Limit applied when a list request gives none or 0. */
export const DEFAULT_LIST_LIMIT = 100;
/** Largest limit a list request may ask for. */
export const MAX_LIST_LIMIT = 1000;

/** A page of a list: offset, limit and direction. */
export interface Page {
  offset: number;
  limit: number;
  ascending: boolean;
}

/**
 * Resolves ZITADEL's pagination rules: a missing page or a limit of 0 takes
 * the default of 100, more than 1000 is InvalidArgument, and the order is
 * descending unless `asc` is set.
 */
export function resolvePage(pagination: PaginationRequest | undefined): Page {
  const limit = pagination?.limit ?? 0;
  if (limit > MAX_LIST_LIMIT) {
    throw limitExceeded(limit, MAX_LIST_LIMIT);
  }
  const offset = pagination?.offset ?? 0n;
  return {
    // Offsets past 2^53 cannot hit a row anyway, so clamping is harmless.
    offset:
      offset > BigInt(Number.MAX_SAFE_INTEGER)
        ? Number.MAX_SAFE_INTEGER
        : Number(offset),
    limit: limit === 0 ? DEFAULT_LIST_LIMIT : limit,
    ascending: pagination?.asc ?? false,
  };
}

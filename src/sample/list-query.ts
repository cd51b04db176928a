import { TextFilterMethodSchema } from "../../gen/zitadel/filter/v2/filter_pb.js";
import type { MetadataSearchFilter } from "../../gen/zitadel/metadata/v2/metadata_pb.js";
import { TextQueryMethodSchema } from "../../gen/zitadel/object/v2/object_pb.js";
import {
  type SearchQuery,
  Type,
  UserFieldName,
} from "../../gen/zitadel/user/v2/query_pb.js";
import { UserStateSchema } from "../../gen/zitadel/user/v2/user_pb.js";
import { limitExceeded, searchQueryInvalid } from "./errors.js";
import {
  joinConditions,
  matchAll,
  matchNone,
  type SqlCondition,
  textCondition,
} from "./text-condition.js";
import { checkDefinedEnum } from "./validation.js";

/** Limit applied when a list request gives none or 0. */
export const DEFAULT_LIST_LIMIT = 100;
/** Maximum limit of a list request. */
export const MAX_LIST_LIMIT = 1000;
// SQLite rejects expressions nested deeper than 1000 levels, and a chain
// of n ORs nests n levels. These caps keep every accepted query well
// inside that limit and turn larger ones into InvalidArgument.
const MAX_QUERY_DEPTH = 10;
const MAX_QUERY_COUNT = 100;

/** A page of a list: offset, limit and direction. */
export interface Page {
  offset: number;
  limit: number;
  ascending: boolean;
}

/**
 * Resolves ZITADEL's paging rules: a limit of 0 takes the default of 100,
 * more than 1000 is InvalidArgument, and the order is descending unless
 * `asc` is set.
 */
export function resolvePage(offset: bigint, limit: number, asc: boolean): Page {
  if (limit > MAX_LIST_LIMIT) {
    throw limitExceeded(limit, MAX_LIST_LIMIT);
  }
  return {
    // An offset past 2^53 cannot hit a row anyway, so clamping is harmless.
    offset: Number(
      offset > BigInt(Number.MAX_SAFE_INTEGER)
        ? Number.MAX_SAFE_INTEGER
        : offset,
    ),
    limit: limit === 0 ? DEFAULT_LIST_LIMIT : limit,
    ascending: asc,
  };
}

/**
 * Builds the condition for ListUsers: a user must match every query.
 * Raises InvalidArgument for a query with no case set, a NotQuery without
 * its query, an undefined method or state, more than 100 queries in all or
 * nesting deeper than 10 levels.
 */
export function userQueriesCondition(
  queries: readonly SearchQuery[],
): SqlCondition {
  const counter = { count: 0 };
  return combine(queries, "and", 1, counter);
}

/**
 * Builds the condition for ListUserMetadata: an entry must match every
 * filter. Raises InvalidArgument for a filter with no case set or an
 * undefined method.
 */
export function metadataFiltersCondition(
  filters: readonly MetadataSearchFilter[],
): SqlCondition {
  const parts = filters.map((filter): SqlCondition => {
    const f = filter.filter;
    if (f.case === undefined) {
      throw searchQueryInvalid(
        "a MetadataSearchFilter sets no filter, set key_filter",
      );
    }
    checkDefinedEnum(
      "MetadataKeyFilter.Method",
      f.value.method,
      TextFilterMethodSchema,
    );
    return textCondition("key", f.value.method, f.value.key);
  });
  return joinConditions(parts, "and");
}

/**
 * Returns the ORDER BY clause for a UserFieldName. UNSPECIFIED and unknown
 * values sort by creation date. Creation date and id break ties, so pages
 * do not overlap.
 */
export function userOrderBy(field: UserFieldName, ascending: boolean): string {
  const direction = ascending ? "asc" : "desc";
  const column = sortColumns[field] ?? "creation_date";
  return `${column} ${direction}, creation_date ${direction}, id ${direction}`;
}

const sortColumns: Partial<Record<UserFieldName, string>> = {
  [UserFieldName.USER_NAME]: "username",
  [UserFieldName.FIRST_NAME]: "given_name",
  [UserFieldName.LAST_NAME]: "family_name",
  [UserFieldName.NICK_NAME]: "coalesce(nick_name, '')",
  [UserFieldName.DISPLAY_NAME]: "display_name",
  [UserFieldName.EMAIL]: "email",
  [UserFieldName.STATE]: "state",
  // Every stored user is human, so sorting by type leaves the tie-breakers.
  [UserFieldName.TYPE]: "creation_date",
  [UserFieldName.CREATION_DATE]: "creation_date",
};

function combine(
  queries: readonly SearchQuery[],
  operator: "and" | "or",
  depth: number,
  counter: { count: number },
): SqlCondition {
  return joinConditions(
    queries.map((query) => queryCondition(query, depth, counter)),
    operator,
  );
}

function queryCondition(
  query: SearchQuery,
  depth: number,
  counter: { count: number },
): SqlCondition {
  counter.count++;
  if (counter.count > MAX_QUERY_COUNT) {
    throw searchQueryInvalid(
      `the request has more than ${MAX_QUERY_COUNT} search queries, use in_user_ids_query or in_user_emails_query for long lists`,
    );
  }
  if (depth > MAX_QUERY_DEPTH) {
    throw searchQueryInvalid(
      `or_query, and_query and not_query nest more than ${MAX_QUERY_DEPTH} levels deep, flatten the query`,
    );
  }
  const q = query.query;
  switch (q.case) {
    case "orQuery":
      return combine(q.value.queries, "or", depth + 1, counter);
    case "andQuery":
      return combine(q.value.queries, "and", depth + 1, counter);
    case "notQuery": {
      if (q.value.query === undefined) {
        throw searchQueryInvalid("not_query has no query, set one");
      }
      const inner = queryCondition(q.value.query, depth + 1, counter);
      return { sql: `not (${inner.sql})`, params: inner.params };
    }
    case undefined:
      throw searchQueryInvalid(
        "a SearchQuery sets no query, set exactly one such as user_name_query",
      );
    default:
      return leafCondition(q);
  }
}

type LeafQuery = Exclude<
  SearchQuery["query"],
  { case: "orQuery" | "andQuery" | "notQuery" | undefined }
>;

function leafCondition(q: LeafQuery): SqlCondition {
  switch (q.case) {
    case "userNameQuery":
    case "loginNameQuery": {
      // The only login name of a user is its username.
      const value =
        q.case === "userNameQuery" ? q.value.userName : q.value.loginName;
      return text("username", q.value.method, value);
    }
    case "firstNameQuery":
      return text("given_name", q.value.method, q.value.firstName);
    case "lastNameQuery":
      return text("family_name", q.value.method, q.value.lastName);
    case "nickNameQuery":
      return text("coalesce(nick_name, '')", q.value.method, q.value.nickName);
    case "displayNameQuery":
      return text("display_name", q.value.method, q.value.displayName);
    case "emailQuery":
      return text("email", q.value.method, q.value.emailAddress);
    case "phoneQuery":
      return text("coalesce(phone, '')", q.value.method, q.value.number);
    case "stateQuery":
      checkDefinedEnum("StateQuery.State", q.value.state, UserStateSchema);
      return { sql: "state = ?", params: [q.value.state] };
    case "typeQuery":
      // The sample stores human users only.
      return q.value.type === Type.HUMAN ? matchAll : matchNone;
    case "inUserIdsQuery":
      return inList("id", q.value.userIds);
    case "inUserEmailsQuery":
      return inList("email", q.value.userEmails);
    case "organizationIdQuery":
      return { sql: "resource_owner = ?", params: [q.value.organizationId] };
  }
}

function text(column: string, method: number, value: string): SqlCondition {
  checkDefinedEnum("TextQueryMethod", method, TextQueryMethodSchema);
  return textCondition(column, method, value);
}

// One JSON array parameter keeps the statement the same for any list
// length and far from SQLite's limit on bound parameters.
function inList(column: string, values: readonly string[]): SqlCondition {
  return {
    sql: `${column} in (select value from json_each(?))`,
    params: [JSON.stringify(values)],
  };
}

import type { SqlValue } from "../server.js";

/** A SQL boolean expression with its bound parameters, in order. */
export interface SqlCondition {
  sql: string;
  params: SqlValue[];
}

/** A condition that every row matches. */
export const matchAll: SqlCondition = { sql: "1 = 1", params: [] };
/** A condition that no row matches. */
export const matchNone: SqlCondition = { sql: "1 = 0", params: [] };

/**
 * Builds the condition that compares the SQL expression `column` with
 * `value`. `method` is a TextQueryMethod or TextFilterMethod number. Both
 * enums list the same eight methods in the same order. It uses substr and
 * instr instead of LIKE, so `%` and `_` in the value are plain characters.
 * Ignoring case folds ASCII letters only, as SQLite's lower() does.
 * `column` must be a fixed expression, never request input.
 */
export function textCondition(
  column: string,
  method: number,
  value: string,
): SqlCondition {
  const ignoreCase = method % 2 === 1;
  const left = ignoreCase ? `lower(${column})` : column;
  const right = ignoreCase ? "lower(?)" : "?";
  switch (method >> 1) {
    case 0:
      return { sql: `${left} = ${right}`, params: [value] };
    case 1:
      return {
        sql: `substr(${left}, 1, length(${right})) = ${right}`,
        params: [value, value],
      };
    case 2:
      return { sql: `instr(${left}, ${right}) > 0`, params: [value] };
    default:
      // An empty suffix matches every value, which substr(x, -0) does not.
      return {
        sql: `(length(${right}) = 0 or substr(${left}, -length(${right})) = ${right})`,
        params: [value, value, value],
      };
  }
}

/**
 * Joins conditions with AND or OR. An empty AND matches every row and an
 * empty OR none, as in the SQL builder squirrel, which ZITADEL uses.
 */
export function joinConditions(
  parts: readonly SqlCondition[],
  operator: "and" | "or",
): SqlCondition {
  if (parts.length === 0) {
    return operator === "and" ? matchAll : matchNone;
  }
  return {
    sql: parts.map((part) => `(${part.sql})`).join(` ${operator} `),
    params: parts.flatMap((part) => part.params),
  };
}

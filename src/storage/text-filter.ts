import { type SQL, type SQLWrapper, sql } from "drizzle-orm";

/** Comparison of a text filter, in the order of ZITADEL's TextFilterMethod. */
export type TextMatch =
  | "equals"
  | "equalsIgnoreCase"
  | "startsWith"
  | "startsWithIgnoreCase"
  | "contains"
  | "containsIgnoreCase"
  | "endsWith"
  | "endsWithIgnoreCase";

/**
 * Builds the SQL condition that compares `column` with `value`. It uses
 * substr and instr instead of LIKE, so `%` and `_` in the value are plain
 * characters and the case-sensitive methods really are case-sensitive.
 * Ignoring case folds ASCII letters only, as SQLite's lower() does.
 */
export function textMatches(
  column: SQLWrapper,
  match: TextMatch,
  value: string,
): SQL {
  const ignoreCase = match.endsWith("IgnoreCase");
  const left = ignoreCase ? sql`lower(${column})` : sql`${column}`;
  const right = ignoreCase ? sql`lower(${value})` : sql`${value}`;
  if (match.startsWith("equals")) {
    return sql`${left} = ${right}`;
  }
  if (match.startsWith("startsWith")) {
    return sql`substr(${left}, 1, length(${right})) = ${right}`;
  }
  if (match.startsWith("contains")) {
    return sql`instr(${left}, ${right}) > 0`;
  }
  // An empty suffix matches every value; substr(x, -0) would not.
  return sql`(length(${right}) = 0 or substr(${left}, -length(${right})) = ${right})`;
}

import type { TargetSearchFilter } from "../../gen/zitadel/action/v2/query_pb.js";
import { TextFilterMethod } from "../../gen/zitadel/filter/v2/filter_pb.js";
import type { TextMatch } from "../storage/index.js";
import { listQueryInvalid } from "./errors.js";
import { checkDefinedEnum, checkLength } from "./validation.js";

const textMatches: Record<number, TextMatch> = {
  [TextFilterMethod.EQUALS]: "equals",
  [TextFilterMethod.EQUALS_IGNORE_CASE]: "equalsIgnoreCase",
  [TextFilterMethod.STARTS_WITH]: "startsWith",
  [TextFilterMethod.STARTS_WITH_IGNORE_CASE]: "startsWithIgnoreCase",
  [TextFilterMethod.CONTAINS]: "contains",
  [TextFilterMethod.CONTAINS_IGNORE_CASE]: "containsIgnoreCase",
  [TextFilterMethod.ENDS_WITH]: "endsWith",
  [TextFilterMethod.ENDS_WITH_IGNORE_CASE]: "endsWithIgnoreCase",
};

/** Converts a text filter method to the storage comparison. */
export function textMatchFromProto(field: string, method: number): TextMatch {
  checkDefinedEnum(field, method, Object.keys(textMatches).map(Number));
  return textMatches[method] ?? "equals";
}

/** Converts ListTargets filters to the storage query's filter lists. */
export function targetFilters(filters: readonly TargetSearchFilter[]): {
  nameFilters: { value: string; match: TextMatch }[];
  idFilters: string[][];
} {
  const nameFilters: { value: string; match: TextMatch }[] = [];
  const idFilters: string[][] = [];
  for (const filter of filters) {
    switch (filter.filter.case) {
      case "targetNameFilter": {
        const { targetName, method } = filter.filter.value;
        checkLength("TargetNameFilter.TargetName", targetName, 0, 200);
        nameFilters.push({
          value: targetName,
          match: textMatchFromProto("TargetNameFilter.Method", method),
        });
        break;
      }
      case "inTargetIdsFilter":
        idFilters.push([...filter.filter.value.targetIds]);
        break;
      default:
        throw listQueryInvalid();
    }
  }
  return { nameFilters, idFilters };
}

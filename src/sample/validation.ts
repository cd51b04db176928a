import type { DescEnum } from "@bufbuild/protobuf";
import { GenderSchema } from "../../gen/zitadel/user/v2/user_pb.js";
import type { AddHumanUserRequest } from "../../gen/zitadel/user/v2/user_service_pb.js";
import { emailInvalid, invalidField, profileNameBlank } from "./errors.js";

// The checks follow the protoc-gen-validate rules that ZITADEL puts on
// these fields, for example metadata keys of 1 to 200 runes and values of
// 1 to 500000 bytes. Like ZITADEL, they report only the first violation.

/** Maximum length of names, ids, usernames and metadata keys, in runes. */
export const MAX_NAME_RUNES = 200;
/** Maximum size of one metadata value, in bytes. */
export const MAX_METADATA_VALUE_BYTES = 500_000;
const MAX_LANGUAGE_RUNES = 10;

/** A metadata entry as requests carry it. */
export interface MetadataEntry {
  key: string;
  value: Uint8Array;
}

/** Checks that `value` has between `min` and `max` Unicode code points. */
export function checkLength(
  field: string,
  value: string,
  min: number,
  max: number,
): void {
  const length = [...value].length;
  if (length < min || length > max) {
    throw invalidField(
      field,
      min === 0
        ? `value length must be at most ${max} runes`
        : `value length must be between ${min} and ${max} runes, inclusive`,
    );
  }
}

/** Checks that `value` is one of the values `schema` defines. */
export function checkDefinedEnum(
  field: string,
  value: number,
  schema: DescEnum,
): void {
  if (schema.value[value] === undefined) {
    throw invalidField(field, "value must be one of the defined enum values");
  }
}

/** Checks the user_id of a request that addresses one user. */
export function checkUserId(field: string, userId: string): void {
  checkLength(field, userId, 1, MAX_NAME_RUNES);
}

/**
 * Checks each metadata key and value. `field` names the repeated field in
 * error messages.
 */
export function checkMetadata(
  field: string,
  entries: readonly MetadataEntry[],
): void {
  entries.forEach((entry, index) => {
    checkLength(`${field}[${index}].Key`, entry.key, 1, MAX_NAME_RUNES);
    const size = entry.value.byteLength;
    if (size < 1 || size > MAX_METADATA_VALUE_BYTES) {
      throw invalidField(
        `${field}[${index}].Value`,
        `value length must be between 1 and ${MAX_METADATA_VALUE_BYTES} bytes, inclusive`,
      );
    }
  });
}

/**
 * Reports whether a metadata entry passes checkMetadata: a key of 1 to
 * 200 runes and a value of 1 to 500000 bytes.
 */
export function isValidMetadataEntry(entry: MetadataEntry): boolean {
  const keyLength = [...entry.key].length;
  const size = entry.value.byteLength;
  return (
    keyLength >= 1 &&
    keyLength <= MAX_NAME_RUNES &&
    size >= 1 &&
    size <= MAX_METADATA_VALUE_BYTES
  );
}

/**
 * Reports whether `email` looks like an address: exactly one @, a
 * non-empty local part, and a domain with a dot between non-empty labels.
 * It is a plausibility check, not RFC 5322.
 */
export function isEmailAddress(email: string): boolean {
  if (/\s/.test(email)) {
    return false;
  }
  const parts = email.split("@");
  if (parts.length !== 2) {
    return false;
  }
  const [local = "", domain = ""] = parts;
  return (
    local !== "" &&
    domain.includes(".") &&
    domain.split(".").every((label) => label !== "")
  );
}

/**
 * Validates an AddHumanUserRequest. Password, hashed password, IdP links
 * and the TOTP secret are accepted without checks, because the sample
 * does not store them.
 */
export function validateAddHumanUser(request: AddHumanUserRequest): void {
  const prefix = "AddHumanUserRequest";
  if (request.userId !== undefined) {
    checkUserId(`${prefix}.UserId`, request.userId);
  }
  if (request.username !== undefined) {
    checkLength(`${prefix}.Username`, request.username, 1, MAX_NAME_RUNES);
  }
  validateProfile(request);
  const email = request.email;
  if (email === undefined) {
    throw invalidField(`${prefix}.Email`, "value is required");
  }
  checkLength(`${prefix}.Email.Email`, email.email, 1, MAX_NAME_RUNES);
  if (request.phone !== undefined) {
    checkLength(
      `${prefix}.Phone.Phone`,
      request.phone.phone,
      0,
      MAX_NAME_RUNES,
    );
  }
  checkMetadata(`${prefix}.Metadata`, request.metadata);
  if (!isEmailAddress(email.email)) {
    throw emailInvalid(email.email);
  }
}

function validateProfile(request: AddHumanUserRequest): void {
  const field = "AddHumanUserRequest.Profile";
  const profile = request.profile;
  if (profile === undefined) {
    throw invalidField(field, "value is required");
  }
  checkLength(`${field}.GivenName`, profile.givenName, 1, MAX_NAME_RUNES);
  checkLength(`${field}.FamilyName`, profile.familyName, 1, MAX_NAME_RUNES);
  checkLength(`${field}.NickName`, profile.nickName ?? "", 0, MAX_NAME_RUNES);
  checkLength(
    `${field}.DisplayName`,
    profile.displayName ?? "",
    0,
    MAX_NAME_RUNES,
  );
  checkLength(
    `${field}.PreferredLanguage`,
    profile.preferredLanguage ?? "",
    0,
    MAX_LANGUAGE_RUNES,
  );
  if (profile.gender !== undefined) {
    checkDefinedEnum(`${field}.Gender`, profile.gender, GenderSchema);
  }
  if (profile.givenName.trim() === "") {
    throw profileNameBlank("given_name");
  }
  if (profile.familyName.trim() === "") {
    throw profileNameBlank("family_name");
  }
}

import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type Metadata,
  MetadataSchema,
} from "../../gen/zitadel/metadata/v2/metadata_pb.js";
import {
  type Details,
  DetailsSchema,
} from "../../gen/zitadel/object/v2/object_pb.js";
import {
  type User,
  UserSchema,
  UserState,
} from "../../gen/zitadel/user/v2/user_pb.js";
import type { AddHumanUserRequest } from "../../gen/zitadel/user/v2/user_service_pb.js";
import type { MetadataRecord, UserRecord } from "./user-schema.js";

/**
 * Resource owner of users whose AddHumanUserRequest names no organization
 * id. The sample has no organizations, so it cannot resolve an org_domain
 * either.
 */
export const DEFAULT_RESOURCE_OWNER = "default";

/**
 * Converts a validated AddHumanUserRequest to the user to store. The
 * username defaults to the email address. A blank display name becomes
 * "<given name> <family name>", as ZITADEL's ensureDisplayName does.
 */
export function userFromAddRequest(
  request: AddHumanUserRequest,
  userId: string,
  date: number,
): UserRecord {
  const profile = request.profile;
  const email = request.email;
  const phone = request.phone;
  const givenName = profile?.givenName ?? "";
  const familyName = profile?.familyName ?? "";
  const org = request.organization?.org;
  return {
    id: userId,
    resourceOwner: org?.case === "orgId" ? org.value : DEFAULT_RESOURCE_OWNER,
    username: request.username ?? email?.email ?? "",
    state: UserState.ACTIVE,
    givenName,
    familyName,
    nickName: profile?.nickName || null,
    displayName: profile?.displayName?.trim()
      ? profile.displayName
      : `${givenName} ${familyName}`,
    preferredLanguage: profile?.preferredLanguage || null,
    gender: profile?.gender ?? null,
    email: email?.email ?? "",
    emailVerified:
      email?.verification.case === "isVerified" && email.verification.value,
    phone: phone?.phone || null,
    phoneVerified:
      phone?.verification.case === "isVerified" && phone.verification.value,
    sequence: 1,
    creationDate: date,
    changeDate: date,
  };
}

/** Returns the object details of a user as stored after its last change. */
export function detailsFromUser(user: UserRecord): Details {
  return create(DetailsSchema, {
    sequence: BigInt(user.sequence),
    changeDate: timestampFromMs(user.changeDate),
    resourceOwner: user.resourceOwner,
    creationDate: timestampFromMs(user.creationDate),
  });
}

/**
 * Converts a stored user to its API message. The username is the only
 * login name, because the sample has no organization domains.
 */
export function userToProto(user: UserRecord): User {
  return create(UserSchema, {
    userId: user.id,
    details: detailsFromUser(user),
    state: user.state,
    username: user.username,
    loginNames: [user.username],
    preferredLoginName: user.username,
    type: {
      case: "human",
      value: {
        profile: {
          givenName: user.givenName,
          familyName: user.familyName,
          nickName: user.nickName ?? undefined,
          displayName: user.displayName,
          preferredLanguage: user.preferredLanguage ?? undefined,
          gender: user.gender ?? undefined,
        },
        email: { email: user.email, isVerified: user.emailVerified },
        phone: { phone: user.phone ?? "", isVerified: user.phoneVerified },
      },
    },
  });
}

/** Converts a stored metadata entry to its API message. */
export function metadataToProto(record: MetadataRecord): Metadata {
  return create(MetadataSchema, {
    creationDate: timestampFromMs(record.creationDate),
    changeDate: timestampFromMs(record.changeDate),
    key: record.key,
    value: record.value,
  });
}

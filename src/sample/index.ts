import { PREUSERINFO_FUNCTION } from "./user-info.js";

/**
 * Event types that ZITADEL emits for the operations of the sample
 * UserService, for event executions.
 */
export const sampleEventTypes: readonly string[] = [
  "user.human.added",
  "user.locked",
  "user.unlocked",
  "user.removed",
  "user.metadata.set",
  "user.metadata.removed",
];

/** Function names that function executions of the sample may use. */
export const sampleFunctions: readonly string[] = [PREUSERINFO_FUNCTION];

export {
  buildUserInfo,
  PREUSERINFO_FUNCTION,
  type UserInfoOptions,
  userInfoClaims,
} from "./user-info.js";
export { createSampleUserService } from "./user-service.js";

import { createContextKey, createContextValues } from "@connectrpc/connect";

/** The authenticated caller of an RPC, as authentication found it. */
export interface CallerIdentity {
  /** User id from the token, empty when the token names none. */
  userId: string;
  /** Project of the calling client, empty when unknown. */
  projectId: string;
  /** Permissions the caller holds, e.g. action.target.read. */
  permissions: ReadonlySet<string>;
}

/** Context key under which authentication stores the caller. */
export const callerKey = createContextKey<CallerIdentity | undefined>(
  undefined,
  { description: "authenticated caller" },
);

export { createContextValues };

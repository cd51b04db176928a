import type { Database } from "./database.js";
import type { SecretCodec, StoredTargetType } from "./target-repository.js";

/** One target of one execution, as the router needs it. */
export interface RoutingRow {
  executionId: string;
  targetId: string;
  targetType: StoredTargetType;
  interruptOnError: boolean;
  endpoint: string;
  timeoutMs: number;
  /** Decrypted signing key. */
  signingKey: string;
}

/** Reads what the in-memory router is built from. */
export interface RoutingReader {
  /**
   * Returns every target of every execution, grouped by execution and in
   * call order. Executions without targets do not appear.
   */
  load(): RoutingRow[];
}

type RawRow = [string, string, number, number, string, number, string];

/**
 * Creates the routing reader. It runs one prepared join instead of the
 * repositories' queries, because a rebuild reads every execution after
 * every write, and it caches decrypted keys by their sealed value.
 */
export function createRoutingReader(
  database: Database,
  codec: SecretCodec,
): RoutingReader {
  const statement = database.client
    .prepare(
      `select et.execution_id, t.id, t.target_type, t.interrupt_on_error,
              t.endpoint, t.timeout_ms, t.signing_key
         from execution_targets et
         join targets t on t.id = et.target_id
        order by et.execution_id, et.position`,
    )
    .raw(true);
  let opened = new Map<string, string>();
  return {
    load() {
      const rows = statement.all() as RawRow[];
      // Keys of deleted or rotated targets drop out with each rebuild.
      const next = new Map<string, string>();
      const result = rows.map((row): RoutingRow => {
        const sealed = row[6];
        const signingKey = opened.get(sealed) ?? codec.open(sealed);
        next.set(sealed, signingKey);
        return {
          executionId: row[0],
          targetId: row[1],
          targetType: row[2] as StoredTargetType,
          interruptOnError: row[3] === 1,
          endpoint: row[4],
          timeoutMs: row[5],
          signingKey,
        };
      });
      opened = next;
      return result;
    },
  };
}

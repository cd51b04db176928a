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
  /** PayloadType number: 0 unspecified, 1 JSON, 2 JWT, 3 JWE. */
  payloadType: number;
}

/**
 * Reads what the in-memory router is built from. Every method returns
 * rows grouped by execution and in call order, and executions without
 * targets do not appear.
 */
export interface RoutingReader {
  /** Returns every target of every execution. */
  load(): RoutingRow[];
  /** Returns the targets of one execution. */
  loadExecution(executionId: string): RoutingRow[];
  /** Returns the targets of the executions with these ids. */
  loadExecutions(executionIds: readonly string[]): RoutingRow[];
  /**
   * Returns every target, not only `targetId`, of each execution that
   * calls `targetId`.
   */
  loadExecutionsUsingTarget(targetId: string): RoutingRow[];
}

type RawRow = [string, string, number, number, string, number, string, number];

const selectRows = `select et.execution_id, t.id, t.target_type,
       t.interrupt_on_error, t.endpoint, t.timeout_ms, t.signing_key,
       t.payload_type
  from execution_targets et
  join targets t on t.id = et.target_id`;

const orderRows = "order by et.execution_id, et.position";

/**
 * Creates the routing reader. It runs prepared joins instead of the
 * repositories' queries, because the router reads them after every write,
 * and it caches each target's decrypted key until its sealed value
 * changes.
 */
export function createRoutingReader(
  database: Database,
  codec: SecretCodec,
): RoutingReader {
  const prepare = (where: string) =>
    database.client.prepare(`${selectRows} ${where} ${orderRows}`).raw(true);
  const all = prepare("");
  const oneExecution = prepare("where et.execution_id = ?");
  // One JSON array binds any number of ids to a single statement.
  const someExecutions = prepare(
    "where et.execution_id in (select value from json_each(?))",
  );
  const usingTarget = prepare(
    `where et.execution_id in
       (select execution_id from execution_targets where target_id = ?)`,
  );

  // Decrypted keys by target id. Every seal uses a fresh IV, so an equal
  // sealed value means an unchanged key. The key of a target that its last
  // execution dropped stays until the next full read or the next read of
  // executions using that target.
  let keys = new Map<string, { sealed: string; plaintext: string }>();
  const toRows = (
    raw: RawRow[],
    cache: Map<string, { sealed: string; plaintext: string }>,
  ): RoutingRow[] =>
    raw.map((row): RoutingRow => {
      const targetId = row[1];
      const sealed = row[6];
      let key = keys.get(targetId);
      if (key?.sealed !== sealed) {
        key = { sealed, plaintext: codec.open(sealed) };
      }
      cache.set(targetId, key);
      return {
        executionId: row[0],
        targetId,
        targetType: row[2] as StoredTargetType,
        interruptOnError: row[3] === 1,
        endpoint: row[4],
        timeoutMs: row[5],
        signingKey: key.plaintext,
        payloadType: row[7],
      };
    });

  return {
    load() {
      // A full read starts a new cache, so the keys of deleted targets and
      // of targets that no execution calls drop out.
      const next = new Map<string, { sealed: string; plaintext: string }>();
      const rows = toRows(all.all() as RawRow[], next);
      keys = next;
      return rows;
    },
    loadExecution(executionId) {
      return toRows(oneExecution.all(executionId) as RawRow[], keys);
    },
    loadExecutions(executionIds) {
      if (executionIds.length === 0) {
        return [];
      }
      const raw = someExecutions.all(JSON.stringify(executionIds));
      return toRows(raw as RawRow[], keys);
    },
    loadExecutionsUsingTarget(targetId) {
      const rows = toRows(usingTarget.all(targetId) as RawRow[], keys);
      // No execution calls the target, or it was deleted, so the router no
      // longer needs its key.
      if (rows.length === 0) {
        keys.delete(targetId);
      }
      return rows;
    },
  };
}

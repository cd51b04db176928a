import type { Registry } from "../execution/registry.js";
import type { IdGenerator } from "../id-generator.js";
import type {
  Database,
  ExecutionRepository,
  PublicKeyRepository,
  TargetRepository,
} from "../storage/index.js";

/** Dependencies of the ActionService handlers. */
export interface ActionServiceDeps {
  database: Database;
  targets: TargetRepository;
  executions: ExecutionRepository;
  publicKeys: PublicKeyRepository;
  registry: Registry;
  newId: IdGenerator;
  /** Most targets one execution may call. */
  maxTargetsPerExecution: number;
  /**
   * Checks an endpoint against the egress policy; returns why it is denied,
   * or undefined when it is allowed.
   */
  checkEndpoint?: (endpoint: string) => string | undefined;
  /** Called after a committed write that set the targets of an execution. */
  onExecutionChanged?: (executionId: string) => void;
  /** Called after a committed update or deletion of a target. */
  onTargetChanged?: (targetId: string) => void;
  /** Clock in Unix milliseconds; tests may replace it. */
  now?: () => number;
}

import type { Registry } from "../execution/registry.js";
import type { IdGenerator } from "../id-generator.js";
import type {
  Database,
  ExecutionRepository,
  TargetRepository,
} from "../storage/index.js";

/** Dependencies of the ActionService handlers. */
export interface ActionServiceDeps {
  database: Database;
  targets: TargetRepository;
  executions: ExecutionRepository;
  registry: Registry;
  newId: IdGenerator;
  /** Most targets one execution may call. */
  maxTargetsPerExecution: number;
  /**
   * Checks an endpoint against the egress policy; returns why it is denied,
   * or undefined when it is allowed.
   */
  checkEndpoint?: (endpoint: string) => string | undefined;
  /** Called after every committed write to targets or executions. */
  onTargetsChanged?: () => void;
  /** Clock in Unix milliseconds; tests may replace it. */
  now?: () => number;
}

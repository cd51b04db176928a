import { join } from "node:path";
import { parseArgs } from "node:util";

/** Service configuration, parsed once at start-up and then frozen. */
export interface Config {
  /** Address the server listens on. */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Folder for the database, the master key file and the admin token. */
  readonly dataDir: string;
  /** SQLite file, or ":memory:". */
  readonly databasePath: string;
  /** AES-256-GCM key for secrets at rest; unset means a key file in dataDir. */
  readonly masterKey: string | undefined;
  readonly logLevel: string;
  /** Time in-flight calls get to finish after SIGINT or SIGTERM. */
  readonly shutdownTimeoutMs: number;
  /** Instance id sent to targets as instanceID; empty leaves it out. */
  readonly instanceId: string;
  /** Machine part of generated ids, 0 to 65535. */
  readonly machineId: number;
  /** Serve the sample zitadel.user.v2.UserService. */
  readonly sampleService: boolean;
  /** Run executions for the ActionService's own methods too. */
  readonly executeManagementApi: boolean;
  /** CIDRs and host names that targets may reach despite the egress guard. */
  readonly egressAllow: readonly string[];
  /** Maximum size of a target response body that is read, in bytes. */
  readonly maxTargetResponseBytes: number;
  /** Maximum size of a request message the server accepts, in bytes. */
  readonly maxRequestBytes: number;
  /** Maximum number of targets one execution may call. */
  readonly maxTargetsPerExecution: number;
  /** Maximum calls in flight to one target; further calls fail at once. */
  readonly maxConcurrentCallsPerTarget: number;
  /** Maximum async target calls in flight in the whole process. */
  readonly maxConcurrentAsyncCalls: number;
  /** Maximum delay before each retry of an event delivery, in ms. */
  readonly eventRetrySchedule: readonly number[];
  /** How long a dispatcher owns a claimed delivery, in ms. */
  readonly eventLeaseMs: number;
  /** Maximum wait between checks for due deliveries, in ms. */
  readonly eventPollIntervalMs: number;
  /** Maximum deliveries processed at once. */
  readonly eventConcurrency: number;
  /** Age after which delivered deliveries are deleted, in ms. */
  readonly eventRetentionMs: number;
  /** Interval between runs that delete old delivered deliveries, in ms. */
  readonly eventPruneIntervalMs: number;
  /** Deliver events from this process. */
  readonly eventDispatcher: boolean;
  /** Origins browsers may call from; "*" allows all, empty allows none. */
  readonly corsAllowedOrigins: readonly string[];
  /** Static bearer tokens, as name:token or name:token:perm1+perm2. */
  readonly authTokens: readonly string[];
  /** File with one static token entry per line. */
  readonly authTokensFile: string;
  /** JWKS URL of the JWT issuer; empty leaves JWT verification off. */
  readonly jwtJwksUrl: string;
  /** Local JWKS as JSON text or a file path. */
  readonly jwtJwks: string;
  /** Required iss claim of JWTs. */
  readonly jwtIssuer: string;
  /** Accepted aud values of JWTs. */
  readonly jwtAudience: readonly string[];
  /** JWT claim that carries the caller's permissions. */
  readonly jwtPermissionsClaim: string;
  /** JWT claim that carries the caller's project id. */
  readonly jwtProjectIdClaim: string;
  /** Allowed clock skew when checking exp and nbf, in milliseconds. */
  readonly jwtClockToleranceMs: number;
}

interface OptionSpec {
  key: keyof Config;
  env: string;
  flag: string;
  kind:
    | "string"
    | "integer"
    | "boolean"
    | "duration"
    | "durations"
    | "bytes"
    | "list";
  default: string;
  help: string;
}

/**
 * Every option with its environment variable, flag, default and meaning.
 * The README's configuration table lists the same options.
 */
export const configOptions: readonly OptionSpec[] = [
  {
    key: "host",
    env: "ACTIONS_HOST",
    flag: "host",
    kind: "string",
    default: "127.0.0.1",
    help: "address to listen on; 0.0.0.0 listens on every interface",
  },
  {
    key: "port",
    env: "ACTIONS_PORT",
    flag: "port",
    kind: "integer",
    default: "8080",
    help: "TCP port for gRPC, gRPC-web, Connect and HTTP; 0 picks a free port",
  },
  {
    key: "dataDir",
    env: "ACTIONS_DATA_DIR",
    flag: "data-dir",
    kind: "string",
    default: "./data",
    help: "folder for the database, the master key file and the admin token",
  },
  {
    key: "databasePath",
    env: "ACTIONS_DATABASE",
    flag: "database",
    kind: "string",
    default: "",
    help: 'SQLite file, or ":memory:"; empty means <data-dir>/actions.db',
  },
  {
    key: "masterKey",
    env: "ACTIONS_MASTER_KEY",
    flag: "master-key",
    kind: "string",
    default: "",
    help: "64 hex digits or base64 of 32 bytes; empty means <data-dir>/master.key, created with mode 0600",
  },
  {
    key: "logLevel",
    env: "ACTIONS_LOG_LEVEL",
    flag: "log-level",
    kind: "string",
    default: "info",
    help: "pino level: fatal, error, warn, info, debug, trace or silent",
  },
  {
    key: "shutdownTimeoutMs",
    env: "ACTIONS_SHUTDOWN_TIMEOUT",
    flag: "shutdown-timeout",
    kind: "duration",
    default: "10s",
    help: "time in-flight calls get to finish on SIGINT or SIGTERM",
  },
  {
    key: "instanceId",
    env: "ACTIONS_INSTANCE_ID",
    flag: "instance-id",
    kind: "string",
    default: "",
    help: "instance id sent to targets as instanceID; empty leaves it out",
  },
  {
    key: "machineId",
    env: "ACTIONS_MACHINE_ID",
    flag: "machine-id",
    kind: "integer",
    default: "1",
    help: "machine part of generated ids, 0 to 65535; unique per replica",
  },
  {
    key: "sampleService",
    env: "ACTIONS_SAMPLE_SERVICE",
    flag: "sample-service",
    kind: "boolean",
    default: "true",
    help: "serve the sample zitadel.user.v2.UserService",
  },
  {
    key: "executeManagementApi",
    env: "ACTIONS_EXECUTE_MANAGEMENT_API",
    flag: "execute-management-api",
    kind: "boolean",
    default: "false",
    help: "run executions for the ActionService's own methods too",
  },
  {
    key: "egressAllow",
    env: "ACTIONS_EGRESS_ALLOW",
    flag: "egress-allow",
    kind: "list",
    default: "",
    help: "comma-separated CIDRs and host names targets may reach although they are private, e.g. 127.0.0.0/8,::1/128",
  },
  {
    key: "maxTargetResponseBytes",
    env: "ACTIONS_MAX_TARGET_RESPONSE",
    flag: "max-target-response",
    kind: "bytes",
    default: "1MiB",
    help: "maximum size of a target response body; a larger one fails the call",
  },
  {
    key: "maxRequestBytes",
    env: "ACTIONS_MAX_REQUEST",
    flag: "max-request",
    kind: "bytes",
    default: "4MiB",
    help: "maximum size of a request message; a larger one is rejected with ResourceExhausted",
  },
  {
    key: "maxTargetsPerExecution",
    env: "ACTIONS_MAX_TARGETS_PER_EXECUTION",
    flag: "max-targets-per-execution",
    kind: "integer",
    default: "20",
    help: "maximum number of targets one execution may call",
  },
  {
    key: "maxConcurrentCallsPerTarget",
    env: "ACTIONS_MAX_CONCURRENT_CALLS_PER_TARGET",
    flag: "max-concurrent-calls-per-target",
    kind: "integer",
    default: "100",
    help: "maximum calls in flight to one target; further calls fail at once with ResourceExhausted",
  },
  {
    key: "maxConcurrentAsyncCalls",
    env: "ACTIONS_MAX_CONCURRENT_ASYNC_CALLS",
    flag: "max-concurrent-async-calls",
    kind: "integer",
    default: "256",
    help: "maximum async target calls in flight in the process; further ones are dropped and logged",
  },
  {
    key: "eventRetrySchedule",
    env: "ACTIONS_EVENT_RETRY_SCHEDULE",
    flag: "event-retry-schedule",
    kind: "durations",
    default: "5s,30s,2m,10m,30m,2h,5h,10h",
    help: "comma-separated maximum delay before each retry of an event delivery; each delay is drawn between 0 and its entry; the count sets the number of retries",
  },
  {
    key: "eventLeaseMs",
    env: "ACTIONS_EVENT_LEASE",
    flag: "event-lease",
    kind: "duration",
    default: "5m",
    help: "how long a dispatcher owns a claimed delivery; after a crash the delivery is retried once this runs out",
  },
  {
    key: "eventPollIntervalMs",
    env: "ACTIONS_EVENT_POLL_INTERVAL",
    flag: "event-poll-interval",
    kind: "duration",
    default: "1s",
    help: "maximum wait between checks for due deliveries; emits in this process wake the dispatcher at once",
  },
  {
    key: "eventConcurrency",
    env: "ACTIONS_EVENT_CONCURRENCY",
    flag: "event-concurrency",
    kind: "integer",
    default: "16",
    help: "maximum deliveries processed at once; keep it at or below max-concurrent-calls-per-target",
  },
  {
    key: "eventRetentionMs",
    env: "ACTIONS_EVENT_RETENTION",
    flag: "event-retention",
    kind: "duration",
    default: "168h",
    help: "age after which delivered deliveries are deleted; exhausted ones are kept",
  },
  {
    key: "eventPruneIntervalMs",
    env: "ACTIONS_EVENT_PRUNE_INTERVAL",
    flag: "event-prune-interval",
    kind: "duration",
    default: "1h",
    help: "interval between runs that delete old delivered deliveries",
  },
  {
    key: "eventDispatcher",
    env: "ACTIONS_EVENT_DISPATCHER",
    flag: "event-dispatcher",
    kind: "boolean",
    default: "true",
    help: "deliver events from this process; turn off in replicas that should only emit",
  },
  {
    key: "corsAllowedOrigins",
    env: "ACTIONS_CORS_ALLOWED_ORIGINS",
    flag: "cors-allowed-origins",
    kind: "list",
    default: "",
    help: 'comma-separated origins browsers may call from, e.g. https://console.example.com; "*" allows every origin, https://*.example.com any subdomain; empty allows none',
  },
  {
    key: "authTokens",
    env: "ACTIONS_AUTH_TOKENS",
    flag: "auth-tokens",
    kind: "list",
    default: "",
    help: "comma-separated static bearer tokens as name:token or name:token:perm1+perm2, each token 16 to 4096 characters; a token without permissions is an admin; the name becomes the caller's user id",
  },
  {
    key: "authTokensFile",
    env: "ACTIONS_AUTH_TOKENS_FILE",
    flag: "auth-tokens-file",
    kind: "string",
    default: "",
    help: "file with one name:token[:perm1+perm2] entry per line, # starts a comment; keeps tokens out of the process list",
  },
  {
    key: "jwtJwksUrl",
    env: "ACTIONS_JWT_JWKS_URL",
    flag: "jwt-jwks-url",
    kind: "string",
    default: "",
    help: "JWKS URL of the token issuer, e.g. https://example.zitadel.cloud/oauth/v2/keys; plain http only for loopback hosts",
  },
  {
    key: "jwtJwks",
    env: "ACTIONS_JWT_JWKS",
    flag: "jwt-jwks",
    kind: "string",
    default: "",
    help: "local JWKS as JSON text or a file path, instead of jwt-jwks-url",
  },
  {
    key: "jwtIssuer",
    env: "ACTIONS_JWT_ISSUER",
    flag: "jwt-issuer",
    kind: "string",
    default: "",
    help: "required iss claim of JWTs; needed when a JWKS is set",
  },
  {
    key: "jwtAudience",
    env: "ACTIONS_JWT_AUDIENCE",
    flag: "jwt-audience",
    kind: "list",
    default: "",
    help: "comma-separated accepted aud values, e.g. the ZITADEL project id; needed when a JWKS is set",
  },
  {
    key: "jwtPermissionsClaim",
    env: "ACTIONS_JWT_PERMISSIONS_CLAIM",
    flag: "jwt-permissions-claim",
    kind: "string",
    default: "permissions",
    help: "JWT claim with the caller's permissions: a string array, a space-separated string or a roles object",
  },
  {
    key: "jwtProjectIdClaim",
    env: "ACTIONS_JWT_PROJECT_ID_CLAIM",
    flag: "jwt-project-id-claim",
    kind: "string",
    default: "urn:zitadel:iam:org:project:id",
    help: "JWT claim with the caller's project id, sent to targets",
  },
  {
    key: "jwtClockToleranceMs",
    env: "ACTIONS_JWT_CLOCK_TOLERANCE",
    flag: "jwt-clock-tolerance",
    kind: "duration",
    default: "30s",
    help: "allowed clock skew when checking exp and nbf of JWTs",
  },
];

/** A configuration value that cannot be parsed. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Parses the configuration from environment variables and command-line
 * flags; a flag wins over its variable. Unknown flags and invalid values
 * throw a ConfigError that names the option and the expected form.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  argv: string[] = process.argv.slice(2),
): Config {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: Object.fromEntries(
      configOptions.map((option) => [option.flag, { type: "string" }]),
    ),
  });
  const config: Record<string, unknown> = {};
  for (const option of configOptions) {
    const flagValue = values[option.flag];
    const raw =
      typeof flagValue === "string"
        ? flagValue
        : (env[option.env] ?? option.default);
    const source =
      typeof flagValue === "string" ? `--${option.flag}` : option.env;
    config[option.key] = parseValue(option, raw, source);
  }
  if ((config.port as number) > 65535) {
    throw new ConfigError(
      `invalid port ${String(config.port)}: use a number from 0 to 65535`,
    );
  }
  if (config.databasePath === "") {
    config.databasePath = join(String(config.dataDir), "actions.db");
  }
  if (config.masterKey === "") {
    config.masterKey = undefined;
  }
  return Object.freeze(config as unknown as Config);
}

/** Formats the options as help text for --help. */
export function configHelp(): string {
  const lines = [
    "Usage: npm start -- [--flag value ...]",
    "",
    "Every flag can also be set by its environment variable; a flag wins.",
    "",
  ];
  for (const option of configOptions) {
    const defaultText =
      option.default === "" ? "" : ` (default ${option.default})`;
    lines.push(`  --${option.flag}, ${option.env}${defaultText}`);
    lines.push(`      ${option.help}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Returns a configuration with defaults, for tests and embedding. */
export function defaultConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({ ...loadConfig({}, []), ...overrides });
}

function parseValue(option: OptionSpec, raw: string, source: string): unknown {
  const text = raw.trim();
  switch (option.kind) {
    case "string":
      return text;
    case "list":
      return text === ""
        ? []
        : text
            .split(",")
            .map((item) => item.trim())
            .filter((item) => item !== "");
    case "boolean":
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      throw new ConfigError(`invalid ${source} "${text}": use true or false`);
    case "integer": {
      if (!/^\d+$/.test(text)) {
        throw new ConfigError(
          `invalid ${source} "${text}": use a whole number`,
        );
      }
      return Number(text);
    }
    case "duration":
      return parseDuration(text, source);
    case "durations":
      return text === ""
        ? []
        : text.split(",").map((item) => parseDuration(item.trim(), source));
    case "bytes":
      return parseBytes(text, source);
  }
}

const durationUnits: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

function parseDuration(text: string, source: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!match) {
    throw new ConfigError(
      `invalid ${source} "${text}": use a number with ms, s, m or h, e.g. 10s`,
    );
  }
  return Math.round(Number(match[1]) * (durationUnits[match[2] ?? "s"] ?? 1));
}

const byteUnits: Record<string, number> = {
  "": 1,
  b: 1,
  kib: 1024,
  mib: 1024 * 1024,
  gib: 1024 * 1024 * 1024,
};

function parseBytes(text: string, source: string): number {
  const match = /^(\d+)\s*(b|kib|mib|gib)?$/i.exec(text);
  if (!match) {
    throw new ConfigError(
      `invalid ${source} "${text}": use a number of bytes with an optional KiB, MiB or GiB, e.g. 1MiB`,
    );
  }
  return Number(match[1]) * (byteUnits[(match[2] ?? "").toLowerCase()] ?? 1);
}

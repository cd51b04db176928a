import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, defaultConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import {
  type ActionsServer,
  type ActionsServerOptions,
  createActionsServer,
} from "../../src/server.js";

/** Bearer token of the admin caller that every test server accepts. */
export const TEST_TOKEN = "test-admin-token-0123456789abcdef";

/** Authorization header of the test admin caller. */
export const authHeader = { authorization: `Bearer ${TEST_TOKEN}` };

/** A server started on 127.0.0.1 and a free port, with its own data folder. */
export interface TestServer {
  server: ActionsServer;
  /** Base URL, e.g. http://127.0.0.1:43121. */
  baseUrl: string;
  port: number;
  dataDir: string;
  config: Config;
  /** Closes the server; removes the data folder unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** Options of startTestServer: config overrides and host declarations. */
export interface TestServerOptions
  extends Omit<ActionsServerOptions, "config"> {
  config?: Partial<Config>;
}

/**
 * Starts a real server on port 0 with a database file in a new temporary
 * folder, unless config.databasePath is set. It accepts TEST_TOKEN
 * as an admin token unless config.authTokens is set. Logs are silent unless
 * TEST_LOG_LEVEL is set.
 */
export async function startTestServer(
  options: TestServerOptions = {},
): Promise<TestServer> {
  const dataDir =
    options.config?.dataDir ?? mkdtempSync(join(tmpdir(), "actions-test-"));
  const config = defaultConfig({
    port: 0,
    host: "127.0.0.1",
    dataDir,
    databasePath: join(dataDir, "actions.db"),
    shutdownTimeoutMs: 2000,
    authTokens: [`test-admin:${TEST_TOKEN}`],
    ...options.config,
  });
  const logger =
    options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? "silent");
  const server = createActionsServer({ ...options, config, logger });
  const address = await server.listen();
  return {
    server,
    baseUrl: `http://127.0.0.1:${address.port}`,
    port: address.port,
    dataDir,
    config,
    async stop(stopOptions) {
      await server.close();
      if (!stopOptions?.keepData && options.config?.dataDir === undefined) {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

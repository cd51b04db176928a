import { type Config, ConfigError, configHelp, loadConfig } from "./config.js";
import {
  buildUserInfo,
  createSampleUserService,
  sampleEventTypes,
  sampleFunctions,
} from "./sample/index.js";
import { createActionsServer } from "./server.js";

// Process entry: parse the configuration once, start the server and stop
// it gracefully on SIGINT or SIGTERM.
async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(configHelp());
    return;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof TypeError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const server = createActionsServer({
    config,
    ...(config.sampleService
      ? {
          services: (host) => [createSampleUserService(host)],
          httpRoutes: (host) => [
            {
              path: "/oidc/v1/userinfo",
              handle: (caller, signal) =>
                buildUserInfo(host, caller.userId, {
                  signal,
                  creator: caller.userId,
                }),
            },
          ],
          eventTypes: sampleEventTypes,
          functions: sampleFunctions,
        }
      : {}),
  });
  await server.listen();
  const stop = (signal: string) => {
    server.logger.info({ signal }, "shutdown requested");
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        server.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${String(error)}\n`);
  process.exit(1);
});

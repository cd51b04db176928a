import { ConfigError, configHelp, loadConfig } from "../../src/config.js";

describe("loadConfig", () => {
  it("reads defaults", () => {
    const config = loadConfig({}, []);

    expect(config.port).toBe(8080);
    expect(config.host).toBe("127.0.0.1");
    expect(config.databasePath).toBe("data/actions.db");
    expect(config.maxTargetResponseBytes).toBe(1024 * 1024);
    expect(config.shutdownTimeoutMs).toBe(10_000);
    expect(config.eventRetrySchedule).toHaveLength(8);
  });

  it("prefers a flag over its variable", () => {
    const config = loadConfig({ ACTIONS_PORT: "9000" }, ["--port", "9001"]);

    expect(config.port).toBe(9001);
  });

  it.each([
    ["port out of range", { ACTIONS_PORT: "99999" }],
    ["port not a number", { ACTIONS_PORT: "abc" }],
    ["bad duration", { ACTIONS_SHUTDOWN_TIMEOUT: "10 minutes" }],
    ["bad size", { ACTIONS_MAX_REQUEST: "4 megabytes" }],
    ["bad boolean", { ACTIONS_SAMPLE_SERVICE: "maybe" }],
    ["bad duration list", { ACTIONS_EVENT_RETRY_SCHEDULE: "5s,soon" }],
  ])("rejects %s", (_name, env) => {
    expect(() => loadConfig(env, [])).toThrow(ConfigError);
  });

  it("rejects an unknown flag", () => {
    expect(() => loadConfig({}, ["--no-such-flag", "x"])).toThrow(
      /Unknown option/,
    );
  });

  it("parses lists, sizes and durations", () => {
    const config = loadConfig(
      {
        ACTIONS_EGRESS_ALLOW: "127.0.0.0/8, ::1/128",
        ACTIONS_MAX_REQUEST: "2KiB",
        ACTIONS_EVENT_RETRY_SCHEDULE: "5ms,1s,2m",
      },
      [],
    );

    expect(config.egressAllow).toEqual(["127.0.0.0/8", "::1/128"]);
    expect(config.maxRequestBytes).toBe(2048);
    expect(config.eventRetrySchedule).toEqual([5, 1000, 120_000]);
  });
});

describe("configHelp", () => {
  it("lists every flag with its variable", () => {
    const help = configHelp();

    expect(help).toContain("--port, ACTIONS_PORT (default 8080)");
    expect(help).toContain("--egress-allow, ACTIONS_EGRESS_ALLOW");
  });
});

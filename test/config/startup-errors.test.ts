import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { createActionsServer } from "../../src/server.js";

// A setting that is wrong on its face fails the start before the server
// writes anything into its data folder: no admin token, no database.

let dataDir: string;

beforeEach(() => {
  dataDir = join(mkdtempSync(join(tmpdir(), "actions-startup-")), "data");
});

afterEach(() => {
  rmSync(join(dataDir, ".."), { recursive: true, force: true });
});

function start(overrides: { masterKey?: string; machineId?: number }) {
  return () =>
    createActionsServer({
      config: defaultConfig({
        port: 0,
        host: "127.0.0.1",
        dataDir,
        databasePath: join(dataDir, "actions.db"),
        ...overrides,
      }),
      logger: createLogger("silent"),
    });
}

describe("startup with an invalid setting", () => {
  it("rejects a malformed master key before writing files", () => {
    expect(start({ masterKey: "abc" })).toThrow(/^invalid master key: /);
    expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
  });

  it("rejects a machine id over 65535 before writing files", () => {
    expect(start({ machineId: 65_536 })).toThrow(
      "invalid machine id 65536: use an integer from 0 to 65535",
    );
    expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
  });
});

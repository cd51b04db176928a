import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { clientFor } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/start-server.js";
import {
  bearer,
  captureLogs,
  startSecurityServer,
  targetRequest,
} from "./security-fixture.js";

// What the server leaves on disk: the signing keys only sealed with the
// master key, and the master key and the generated admin token in files
// that only the owner can read. The servers here run without a configured
// master key or static token, so they create both files.

const neverCalled = "https://93.184.216.34/";

describe("secrets at rest", () => {
  let dataDir: string;
  let server: TestServer | undefined;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), "actions-security-"));
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(logs = captureLogs()): Promise<TestServer> {
    server = await startSecurityServer({
      config: { dataDir, authTokens: [], masterKey: undefined },
      logger: logs.logger,
    });
    return server;
  }

  function adminToken(): string {
    return readFileSync(join(dataDir, "admin.token"), "utf8").trim();
  }

  function actions(running: TestServer) {
    return clientFor(
      ActionService,
      "grpc",
      running.baseUrl,
      bearer(adminToken()),
    );
  }

  it("should create master.key and admin.token with mode 0600", async () => {
    await start();

    const masterKeyMode = statSync(join(dataDir, "master.key")).mode & 0o777;
    const adminTokenMode = statSync(join(dataDir, "admin.token")).mode & 0o777;

    expect(masterKeyMode.toString(8)).toBe("600");
    expect(adminTokenMode.toString(8)).toBe("600");
  });

  it("should store signing keys only sealed", async () => {
    const running = await start();
    const created = await actions(running).createTarget(
      targetRequest(neverCalled),
    );
    const rotated = await actions(running).updateTarget({
      id: created.id,
      expirationSigningKey: { seconds: 0n },
    });
    const current = rotated.signingKey ?? "";
    await running.stop({ keepData: true });
    server = undefined;

    const database = new Database(join(dataDir, "actions.db"), {
      readonly: true,
    });
    const rows = database
      .prepare("SELECT * FROM targets WHERE id = ?")
      .all(created.id) as Record<string, unknown>[];
    database.close();
    const fileBytes = readdirSync(dataDir)
      .filter((name) => name.startsWith("actions.db"))
      .map((name) => readFileSync(join(dataDir, name)).toString("latin1"))
      .join("");

    expect(current).toMatch(/^[A-Za-z0-9]{36}$/);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.signing_key).toMatch(/^v1:[\w-]+:[\w-]+$/);
    expect(JSON.stringify(rows)).not.toContain(current);
    expect(JSON.stringify(rows)).not.toContain(created.signingKey);
    expect(fileBytes).not.toContain(current);
    expect(fileBytes).not.toContain(created.signingKey);
  });

  it("should open sealed keys after a restart", async () => {
    const first = await start();
    const created = await actions(first).createTarget(
      targetRequest(neverCalled),
    );
    await first.stop({ keepData: true });

    const second = await start();
    const stored = await actions(second).getTarget({ id: created.id });

    expect(stored.target?.signingKey).toBe(created.signingKey);
  });
});

describe("admin token file", () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "actions-security-"));
  });

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("should log its path, not the token", async () => {
    const logs = captureLogs();
    const server = await startSecurityServer({
      config: { dataDir, authTokens: [] },
      logger: logs.logger,
    });
    await server.stop();
    const token = readFileSync(join(dataDir, "admin.token"), "utf8").trim();

    const lines = logs.linesWithMessage(
      "no tokens configured, generated an admin token file",
    );

    expect(lines).toHaveLength(1);
    expect(lines[0]?.path).toBe(join(dataDir, "admin.token"));
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(logs.text()).not.toContain(token);
  });

  it("should refuse to start when others can read it", async () => {
    const path = join(dataDir, "admin.token");
    writeFileSync(path, "readable-admin-token-0123456789abcdef\n");
    chmodSync(path, 0o644);

    await expect(
      startTestServer({ config: { dataDir, authTokens: [] } }),
    ).rejects.toThrow(
      `admin token file ${path} has mode 0644, so other users can read it; run chmod 600 ${path}, or remove it and configure a new token`,
    );
  });
});

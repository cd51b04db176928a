// Runs the sessions of README.md against a test server, in document order,
// as a reader would: later sessions see the targets that earlier ones
// created. The server is set up as `npm start` sets it up, with the sample
// UserService and a generated admin token, but on a free port.
//
// - sh sessions run in bash from the repository root, after the token
//   session, with 127.0.0.1:8080 and data/admin.token replaced by the test
//   server's address and token file.
// - ts sessions are type-checked as a file in the repository root, with
//   the options of tsconfig.json, and then run. esbuild bundles the grpc-js
//   session for Node.js and the connect-web session for the browser, which
//   runs it in headless Chromium on another origin than the API.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { ADMIN_TOKEN_FILE } from "../../src/auth/index.js";
import {
  createSampleUserService,
  sampleEventTypes,
  sampleFunctions,
} from "../../src/sample/index.js";
import { startTestServer, type TestServer } from "../support/start-server.js";
import {
  bundleForBrowser,
  chromiumMissingMessage,
  hasChromium,
  launchChromium,
  type PageServer,
  startPageServer,
} from "./browser-harness.js";
import {
  bundleForNode,
  readSessions,
  type Session,
  typeErrors,
} from "./snippets.js";

const run = promisify(execFile);
const root = process.cwd();
const sessions = readSessions(readFileSync(join(root, "README.md"), "utf8"));

/**
 * Patterns that the output of each session must match, by session name.
 * The connect-web session's output is the JSON of its return value.
 */
const expectedOutput: Record<string, readonly RegExp[]> = {
  token: [],
  "create-target": [/"id": "\d+"/, /"signingKey": "[A-Za-z0-9]+"/],
  "list-targets": [
    /"name":"my-webhook"/,
    /"endpoint":"https:\/\/hooks\.example\.com\/user-created"/,
  ],
  "buf-curl": [
    /^zitadel\.action\.v2\.ActionService\/SetExecution$/m,
    /^zitadel\.action\.v2beta\.ActionService\/SetExecution$/m,
    /"setDate": "[0-9T:.-]+Z"/,
  ],
  rest: [
    /"name":"user-added"/,
    /"restAsync":\{\}/,
    /"setDate":"[0-9T:.-]+Z"/,
    /"event":"user\.human\.added"/,
  ],
  "grpc-js": [/'my-webhook'/, /'userinfo-claims'/, /'user-added'/],
  "connect-web": [/"my-webhook"/, /"userinfo-claims"/, /"user-added"/],
};

const readmeAddress = "127.0.0.1:8080";

let server: TestServer;
let token: string;
let pages: PageServer | undefined;
let pageScript = "";
let browser: Browser | undefined;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "readme-sessions-"));
  // The CORS origin must be known before the API server starts, so the
  // page server starts first and serves the script once it is bundled.
  if (hasChromium) {
    pages = await startPageServer(() => pageScript);
  } else {
    console.warn(chromiumMissingMessage);
  }
  server = await startTestServer({
    config: {
      authTokens: [],
      corsAllowedOrigins: pages === undefined ? [] : [pages.origin],
    },
    services: (host) => [createSampleUserService(host)],
    eventTypes: sampleEventTypes,
    functions: sampleFunctions,
  });
  token = readFileSync(join(server.dataDir, ADMIN_TOKEN_FILE), "utf8").trim();
  if (hasChromium) {
    browser = await launchChromium();
  }
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await pages?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

// Points a session at the test server instead of the default address.
function withTestServer(code: string): string {
  const replaced = code
    .replaceAll(readmeAddress, `127.0.0.1:${server.port}`)
    .replaceAll("data/admin.token", join(server.dataDir, ADMIN_TOKEN_FILE));
  // Guard against calling a real server on the default port.
  expect(replaced).not.toMatch(/:8080\b/);
  return replaced;
}

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
    // npx must use the buf binary of node_modules, never download one.
    npm_config_offline: "true",
    ...extra,
  };
  // Jest's --experimental-vm-modules would make every node print a warning.
  delete env.NODE_OPTIONS;
  return env;
}

function sessionNamed(name: string): Session {
  const session = sessions.find((candidate) => candidate.name === name);
  if (session === undefined) {
    throw new Error(`README.md has no block marked as session ${name}`);
  }
  return session;
}

async function runShell(script: string): Promise<string> {
  const { stdout } = await run("bash", ["-e", "-o", "pipefail", "-c", script], {
    cwd: root,
    env: childEnv(),
    timeout: 20_000,
  });
  return stdout;
}

async function runShellSession(session: Session): Promise<string> {
  const tokenSession = sessionNamed("token");
  expect(session.code).toContain(readmeAddress);
  return runShell(withTestServer(`${tokenSession.code}\n${session.code}`));
}

async function runGrpcJsSession(session: Session): Promise<string> {
  const bundle = join(scratch, `${session.name}.mjs`);
  await bundleForNode(withTestServer(session.code), "client.ts", bundle);
  const { stdout } = await run(process.execPath, [bundle], {
    cwd: scratch,
    env: childEnv({ TOKEN: token }),
    timeout: 20_000,
  });
  return stdout;
}

// Bundles the session with a line that puts its exported function on
// globalThis, loads it in a page and calls the function with the token.
async function runConnectWebSession(session: Session): Promise<string> {
  expect(session.code).toContain("export async function listTargetNames(");
  pageScript = await bundleForBrowser({
    contents: `${withTestServer(session.code)}\nObject.assign(globalThis, { listTargetNames });\n`,
    resolveDir: root,
    sourcefile: "client.ts",
  });
  if (browser === undefined || pages === undefined) {
    throw new Error("the browser did not start");
  }
  const page = await browser.newPage();
  try {
    await page.goto(`${pages.origin}/`);
    const names = await page.evaluate(
      (accessToken) =>
        (
          globalThis as unknown as {
            listTargetNames(accessToken: string): Promise<string[]>;
          }
        ).listTargetNames(accessToken),
      token,
    );
    return JSON.stringify(names);
  } finally {
    await page.close();
  }
}

function expectOutput(session: Session, output: string): void {
  for (const pattern of expectedOutput[session.name] ?? []) {
    expect(output).toMatch(pattern);
  }
}

describe("README sessions", () => {
  it("should mark every block that the tests expect", () => {
    expect(sessions.map((session) => session.name)).toEqual(
      Object.keys(expectedOutput),
    );
  });

  it("should read the generated admin token", async () => {
    const output = await runShell(
      withTestServer(`${sessionNamed("token").code}\nprintf %s "$TOKEN"`),
    );
    expect(token).not.toBe("");
    expect(output).toBe(token);
  });

  it.each(
    sessions
      .filter((session) => session.language === "ts")
      .map((session) => [session.name, session] as const),
  )("should type-check %s", (_name, session) => {
    expect(typeErrors(session.code, "client.ts")).toEqual([]);
  });

  // Defined in README order, so each session can use the targets that
  // earlier ones created.
  for (const session of sessions) {
    if (session.name === "token") {
      continue;
    }
    const needsBrowser = session.name === "connect-web";
    const test = needsBrowser && !hasChromium ? it.skip : it;
    test(`should run ${session.name}`, async () => {
      let output: string;
      if (session.language === "sh") {
        output = await runShellSession(session);
      } else if (session.name === "grpc-js") {
        output = await runGrpcJsSession(session);
      } else if (session.name === "connect-web") {
        output = await runConnectWebSession(session);
      } else {
        throw new Error(`no runner for session ${session.name}`);
      }
      expectOutput(session, output);
    });
  }
});

// Runs connect-web in headless Chromium: a page from one origin calls the
// API server on another, through Connect JSON, Connect binary and gRPC-web.
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import type { Browser } from "playwright-core";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import type { PageApi, RunOptions, TransportRun } from "../browser/page.js";
import { clientFor } from "../support/clients.js";
import {
  startTestServer,
  TEST_TOKEN,
  type TestServer,
} from "../support/start-server.js";
import {
  bundleForBrowser,
  chromiumMissingMessage,
  hasChromium,
  launchChromium,
  type PageServer,
  startPageServer,
} from "./browser-harness.js";

if (!hasChromium) {
  console.warn(chromiumMissingMessage);
}
const describeInChromium = hasChromium ? describe : describe.skip;

describeInChromium("connect-web in Chromium", () => {
  let allowedPages: PageServer;
  let otherPages: PageServer;
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    const script = await bundleForBrowser(
      join(process.cwd(), "test", "browser", "page.ts"),
    );
    allowedPages = await startPageServer(script);
    otherPages = await startPageServer(script);
    server = await startTestServer({
      config: { corsAllowedOrigins: [allowedPages.origin] },
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await allowedPages?.stop();
    await otherPages?.stop();
  });

  // Loads the page from `origin` and runs every transport in it. Returns
  // the runs and what the page wrote to its console.
  async function runPage(origin: string, namePrefix: string) {
    const page = await browser.newPage();
    const consoleMessages: string[] = [];
    page.on("console", (message) => consoleMessages.push(message.text()));
    try {
      await page.goto(`${origin}/`);
      const options: RunOptions = {
        baseUrl: server.baseUrl,
        token: TEST_TOKEN,
        namePrefix,
      };
      const runs: TransportRun[] = await page.evaluate(
        (input) => (globalThis as unknown as PageApi).runClients(input),
        options,
      );
      return { runs, consoleMessages };
    } finally {
      await page.close();
    }
  }

  async function targetIdsNamed(prefix: string): Promise<string[]> {
    const client = clientFor(ActionService, "connect-json-h1", server.baseUrl);
    const { targets } = await client.listTargets({});
    return targets
      .filter((target) => target.name.startsWith(prefix))
      .map((target) => target.id);
  }

  it("should create and list targets from an allowed origin", async () => {
    const { runs } = await runPage(allowedPages.origin, "allowed");

    expect(runs.map((run) => run.transport)).toEqual([
      "connect-json",
      "connect-binary",
      "grpc-web",
    ]);
    for (const run of runs) {
      expect(run.error).toBeUndefined();
      expect(run.createdId).toMatch(/^\d+$/);
      expect(run.listedIds).toEqual([run.createdId]);
      // The server echoes the request id, and CORS lets the script read it.
      expect(run.requestId).toBe(`browser-${run.transport}`);
    }
    const stored = await targetIdsNamed("allowed ");
    expect(stored.sort()).toEqual(runs.map((run) => run.createdId).sort());
  });

  it("should be blocked by CORS from another origin", async () => {
    const { runs, consoleMessages } = await runPage(otherPages.origin, "other");

    expect(runs).toHaveLength(3);
    for (const run of runs) {
      expect(run.createdId).toBeUndefined();
      // A blocked fetch rejects with a TypeError, which connect-web reports
      // as Unknown.
      expect(run.error?.code).toBe(Code.Unknown);
    }
    expect(consoleMessages.join("\n")).toContain("blocked by CORS policy");
    // The preflight failed, so the browser never sent the CreateTarget.
    expect(await targetIdsNamed("other ")).toEqual([]);
  });
});

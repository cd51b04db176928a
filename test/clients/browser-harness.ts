import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { build, type StdinOptions } from "esbuild";
import { type Browser, chromium } from "playwright-core";

/** Debian's chromium package; .ci/run installs it before the tests. */
export const chromiumPath = "/usr/bin/chromium";

/**
 * Whether browser tests can run. Without Chromium they are skipped with a
 * message, so that a developer machine without it still runs the rest.
 */
export const hasChromium = existsSync(chromiumPath);

/** Message that skipped browser tests print. */
export const chromiumMissingMessage = `browser tests skipped: ${chromiumPath} is missing; install it with "apt-get install -y chromium"`;

/** A static page server on 127.0.0.1 and a free port. */
export interface PageServer {
  /** Origin of the pages, e.g. http://127.0.0.1:40123. */
  origin: string;
  stop(): Promise<void>;
}

/**
 * Bundles a browser script with esbuild into one ES module. `entry` is a
 * file path, or source text with the folder that its imports resolve from.
 */
export async function bundleForBrowser(
  entry: string | StdinOptions,
): Promise<string> {
  const result = await build({
    ...(typeof entry === "string"
      ? { entryPoints: [entry] }
      : { stdin: { loader: "ts", ...entry } }),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const [output] = result.outputFiles;
  if (output === undefined) {
    throw new Error("esbuild produced no output file");
  }
  return output.text;
}

/**
 * Serves `/` as an HTML page that loads `script` as a module from
 * `/page.js`. Any other path is 404. A function as `script` is called on
 * each request, for a script that is bundled after the server starts.
 */
export async function startPageServer(
  script: string | (() => string),
): Promise<PageServer> {
  const html =
    '<!doctype html><meta charset="utf-8"><title>client test</title>' +
    '<script type="module" src="/page.js"></script>';
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/") {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      response.end(html);
    } else if (path === "/page.js") {
      response.writeHead(200, {
        "content-type": "text/javascript; charset=utf-8",
      });
      response.end(typeof script === "string" ? script : script());
    } else {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Launches Debian's Chromium headless through playwright-core, which never
 * downloads a browser when executablePath is set. Playwright gives the
 * browser a new, empty user data folder and removes it on close. The flags
 * stop Chromium's background connections, which this machine's closed
 * network would refuse.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    chromiumSandbox: false,
    timeout: 20_000,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

// Page script for test/clients/browser.test.ts. esbuild bundles it for the
// browser, and the test calls runClients through page.evaluate. It uses
// globalThis instead of window, so the project's tsconfig, which has no DOM
// library, can type-check it.
import {
  ConnectError,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-web";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { TextFilterMethod } from "../../gen/zitadel/filter/v2/filter_pb.js";

/** Names of the connect-web transports that the page runs. */
export type BrowserTransport = "connect-json" | "connect-binary" | "grpc-web";

/** Input of runClients. */
export interface RunOptions {
  /** Base URL of the API server, e.g. http://127.0.0.1:43121. */
  baseUrl: string;
  token: string;
  /** Prefix of the target names, so that runs do not collide. */
  namePrefix: string;
}

/** Outcome of one transport: what it created and listed, or its error. */
export interface TransportRun {
  transport: BrowserTransport;
  createdId?: string;
  /** Ids that ListTargets returned for the created name. */
  listedIds?: string[];
  /** x-request-id of the ListTargets response, as the script could read it. */
  requestId?: string | null;
  /** Error of the first call that failed. The run stops at that call. */
  error?: { code: number; message: string };
}

/** What the page puts on globalThis for the test. */
export interface PageApi {
  runClients(options: RunOptions): Promise<TransportRun[]>;
}

function createTransport(
  name: BrowserTransport,
  baseUrl: string,
  token: string,
): Transport {
  const interceptors = [bearerToken(token)];
  switch (name) {
    case "connect-json":
      return createConnectTransport({ baseUrl, interceptors });
    case "connect-binary":
      return createConnectTransport({
        baseUrl,
        useBinaryFormat: true,
        interceptors,
      });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, interceptors });
  }
}

function bearerToken(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}

// Creates a target and lists it by name through one transport.
async function runTransport(
  transport: BrowserTransport,
  options: RunOptions,
): Promise<TransportRun> {
  const client = createClient(
    ActionService,
    createTransport(transport, options.baseUrl, options.token),
  );
  const name = `${options.namePrefix} ${transport}`;
  const run: TransportRun = { transport };
  try {
    const created = await client.createTarget({
      name,
      targetType: { case: "restWebhook", value: { interruptOnError: true } },
      timeout: { seconds: 10n },
      endpoint: "https://example.com/browser",
    });
    run.createdId = created.id;
    const listed = await client.listTargets(
      {
        filters: [
          {
            filter: {
              case: "targetNameFilter",
              value: { targetName: name, method: TextFilterMethod.EQUALS },
            },
          },
        ],
      },
      {
        headers: { "x-request-id": `browser-${transport}` },
        onHeader(headers) {
          run.requestId = headers.get("x-request-id");
        },
      },
    );
    run.listedIds = listed.targets.map((target) => target.id);
  } catch (reason) {
    const error = ConnectError.from(reason);
    run.error = { code: error.code, message: error.message };
  }
  return run;
}

const api: PageApi = {
  async runClients(options) {
    const transports: BrowserTransport[] = [
      "connect-json",
      "connect-binary",
      "grpc-web",
    ];
    const runs: TransportRun[] = [];
    for (const transport of transports) {
      runs.push(await runTransport(transport, options));
    }
    return runs;
  },
};

Object.assign(globalThis, api);

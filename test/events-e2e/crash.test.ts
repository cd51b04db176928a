import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AttemptResult,
  DeliveryState,
} from "../../gen/actions/v1/delivery_service_pb.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import {
  createTarget,
  deliveryIdsOfTarget,
  e2eClients,
  humanUser,
  setEventExecution,
  waitForDelivery,
} from "./e2e-server.js";

// The server runs in child processes started with plain `node`, because
// test/events/fixtures/register-ts.mjs transpiles the TypeScript sources
// on load. The test kills the first child with SIGKILL while its target
// call is in flight. That leaves the delivery as a crash or an OOM kill
// would. A second child on the same data folder must then deliver it.
const childScript = fileURLToPath(
  new URL("./fixtures/serve-sample.ts", import.meta.url),
);
const registerHooks = new URL(
  "../events/fixtures/register-ts.mjs",
  import.meta.url,
).href;

interface ServerChild {
  process: ChildProcess;
  baseUrl: string;
}

let dataDir: string;
let target: StubTarget;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "actions-e2e-crash-"));
  target = await startStubTarget();
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exitOf(child);
    }
  }
  await target.close();
  rmSync(dataDir, { recursive: true, force: true });
});

// Starts serve-sample.ts on the data folder and resolves once it printed
// its port. Its stdin stays open while this process lives.
async function startChild(dir: string): Promise<ServerChild> {
  const { NODE_OPTIONS: _jestOptions, ...env } = process.env;
  const child = spawn(
    process.execPath,
    ["--import", registerHooks, childScript, dir],
    { env, stdio: ["pipe", "pipe", "pipe"] },
  );
  children.push(child);
  const output: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening (\d+)\n/.exec(stdout);
      if (match !== null) {
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code, signal) =>
      reject(
        new Error(
          `serve-sample exited before listening (code ${code}, signal ${signal}): ${stdout}${output.join("")}`,
        ),
      ),
    );
  });
  return { process: child, baseUrl: `http://127.0.0.1:${port}` };
}

function exitOf(child: ChildProcess): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve(child.signalCode);
      return;
    }
    child.once("exit", (_code, signal) => resolve(signal));
  });
}

it("delivers after the server is killed mid-delivery", async () => {
  // The killed server never gets a response to its first call.
  target.reply({ delayMs: 60_000 });
  const first = await startChild(dataDir);
  const firstClients = e2eClients(first.baseUrl);
  const targetId = await createTarget(
    firstClients.actions,
    `${target.url}/hook`,
    { timeoutSeconds: 1 },
  );
  await setEventExecution(firstClients.actions, { event: "user.human.added" }, [
    targetId,
  ]);
  const { userId } = await firstClients.users.addHumanUser(humanUser());
  const [held] = await target.waitForRequests(1, 20_000);
  const deliveryId = String(held?.headers["webhook-id"]);

  expect(first.process.kill("SIGKILL")).toBe(true);
  expect(await exitOf(first.process)).toBe("SIGKILL");

  const second = await startChild(dataDir);
  const secondClients = e2eClients(second.baseUrl);
  const { delivery, attempts } = await waitForDelivery(
    secondClients.deliveries,
    deliveryId,
    [DeliveryState.DELIVERED],
    30_000,
  );

  expect(await deliveryIdsOfTarget(secondClients.deliveries, targetId)).toEqual(
    [deliveryId],
  );
  expect(target.requests).toHaveLength(2);
  expect(target.requests.map((r) => r.headers["webhook-id"])).toEqual([
    deliveryId,
    deliveryId,
  ]);
  expect(target.requests[1]?.text).toBe(held?.text);
  expect(delivery?.event?.aggregateId).toBe(userId);
  expect(delivery?.attemptCount).toBe(2);
  // The killed attempt recorded nothing, so only the second one is listed.
  expect(attempts.map((a) => [a.attempt, a.result])).toEqual([
    [2, AttemptResult.SUCCEEDED],
  ]);
  const stored = await secondClients.users.getUserByID({ userId });
  expect(stored.user?.userId).toBe(userId);
}, 60_000);

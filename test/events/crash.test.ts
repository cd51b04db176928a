import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import { createEventHarness, type EventHarness } from "./event-harness.js";

// The dispatcher under test runs in a child process started with plain
// `node`: fixtures/register-ts.mjs transpiles the TypeScript sources on
// load, so no build step and no extra package are needed. The test kills
// the child with SIGKILL while its target call is in flight, which leaves
// the delivery exactly as a crash or an OOM kill would.
const fixtures = new URL("./fixtures/", import.meta.url);
const childScript = fileURLToPath(new URL("crash-dispatcher.ts", fixtures));
const registerHooks = new URL("register-ts.mjs", fixtures).href;

let harness: EventHarness;
let target: StubTarget;
let child: ChildProcess | undefined;

afterEach(async () => {
  if (child?.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
  }
  child = undefined;
  await harness.close();
  await target.close();
});

function startChild(dir: string): { child: ChildProcess; output: string[] } {
  const { NODE_OPTIONS: _jestOptions, ...env } = process.env;
  const started = spawn(
    process.execPath,
    ["--import", registerHooks, childScript, dir],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  const output: string[] = [];
  started.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  started.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  return { child: started, output };
}

function exitOf(process: ChildProcess): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    if (process.exitCode !== null || process.signalCode !== null) {
      resolve(process.signalCode);
      return;
    }
    process.once("exit", (_code, signal) => resolve(signal));
  });
}

it("delivers after a dispatcher is killed mid-call", async () => {
  harness = createEventHarness();
  target = await startStubTarget();
  // The killed dispatcher never gets a response to its call.
  target.reply({ delayMs: 60_000 });
  const added = harness.addTarget(target.url, { timeoutMs: 1000 });
  harness.setExecution("event/user.human.added", [added.id]);
  const { deliveryId = "" } = harness.emit();

  const started = startChild(harness.dir);
  child = started.child;
  const childExit = exitOf(child).then((signal) => {
    throw new Error(
      `crash-dispatcher exited early (${signal}): ${started.output.join("")}`,
    );
  });
  await Promise.race([target.waitForRequests(1, 20_000), childExit]);
  childExit.catch(() => undefined);
  child.kill("SIGKILL");
  expect(await exitOf(child)).toBe("SIGKILL");

  const orphaned = harness.outbox.log.get(deliveryId);
  expect(orphaned?.state).toBe("delivering");
  expect(orphaned?.attemptCount).toBe(1);
  expect(harness.outbox.log.attempts(deliveryId)).toEqual([]);

  harness.outbox.dispatcher.start();
  const delivered = await harness.waitForState(
    deliveryId,
    ["delivered"],
    20_000,
  );

  expect(target.requests).toHaveLength(2);
  expect(target.requests.map((r) => r.headers["webhook-id"])).toEqual([
    deliveryId,
    deliveryId,
  ]);
  expect(delivered.attemptCount).toBe(2);
  const attempts = harness.outbox.log.attempts(deliveryId);
  expect(attempts.map((a) => [a.attempt, a.errorKind])).toEqual([
    [2, undefined],
  ]);
  // The survivor waited for the killed dispatcher's lease to run out.
  expect(attempts[0]?.attemptDate).toBeGreaterThanOrEqual(
    orphaned?.nextAttemptAt ?? Number.POSITIVE_INFINITY,
  );
});

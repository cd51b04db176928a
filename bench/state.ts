import { fork } from "node:child_process";
import type { BenchSizes, SectionResult } from "./result.js";
import type { StateChildMessage } from "./state-child.js";

/**
 * Measures sections 3 and 4 by forking state-child.js with --expose-gc, so
 * the memory numbers come from a fresh process, and returns its sections.
 */
export function benchState(sizes: BenchSizes): Promise<SectionResult[]> {
  const script = new URL("./state-child.js", import.meta.url);
  const child = fork(script, [JSON.stringify(sizes)], {
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    child.on("message", (message: StateChildMessage) => {
      settled = true;
      if (message.type === "result") {
        resolve(message.sections);
      } else {
        reject(new Error(`state benchmark failed: ${message.message}`));
      }
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (!settled) {
        reject(
          new Error(
            `state benchmark process exited with code ${code} (signal ${signal}) before reporting`,
          ),
        );
      }
    });
  });
}

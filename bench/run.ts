import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { benchEvents } from "./events.js";
import {
  collectRunInfo,
  formatMarkdown,
  formatText,
  writeReport,
} from "./report.js";
import {
  type BenchSizes,
  fullSizes,
  quickSizes,
  type SectionResult,
} from "./result.js";
import { benchRpcOverhead } from "./rpc-overhead.js";
import { benchState } from "./state.js";
import { benchTargetOverhead } from "./target-overhead.js";

const sectionNames = ["rpc", "targets", "state", "events"] as const;
type SectionName = (typeof sectionNames)[number];

const usage = `Usage: npm run bench -- [--quick] [--only SECTIONS] [--no-write]

  --quick          small sizes, under a minute, to keep the harness working in CI
  --only SECTIONS  comma-separated subset of ${sectionNames.join(", ")}, implies --no-write
  --no-write       print the results without updating BENCHMARKS.md`;

function parseOptions(): {
  quick: boolean;
  only: SectionName[];
  write: boolean;
} {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      "no-write": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const only = (values.only ?? sectionNames.join(","))
    .split(",")
    .map((name) => name.trim());
  for (const name of only) {
    if (!sectionNames.includes(name as SectionName)) {
      throw new Error(
        `unknown section "${name}" in --only: use ${sectionNames.join(", ")}`,
      );
    }
  }
  return {
    quick: values.quick,
    only: only as SectionName[],
    write: !values["no-write"] && values.only === undefined,
  };
}

async function runSection(
  name: SectionName,
  sizes: BenchSizes,
): Promise<SectionResult[]> {
  switch (name) {
    case "rpc":
      return [await benchRpcOverhead(sizes)];
    case "targets":
      return [await benchTargetOverhead(sizes)];
    case "state":
      return benchState(sizes);
    case "events":
      return [await benchEvents(sizes)];
  }
}

async function main(): Promise<void> {
  const options = parseOptions();
  const sizes = options.quick ? quickSizes : fullSizes;
  const mode = options.quick ? "quick" : "full";
  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const sections: SectionResult[] = [];
  let failed = false;
  for (const name of options.only) {
    const sectionStarted = performance.now();
    process.stderr.write(`bench: running ${name} (${mode})\n`);
    try {
      sections.push(...(await runSection(name, sizes)));
    } catch (error) {
      failed = true;
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`bench: section ${name} failed: ${message}\n`);
      sections.push({
        title: `Section ${name}`,
        rows: [],
        notes: [],
        skipped: `failed: ${message}`,
      });
    }
    const seconds = (performance.now() - sectionStarted) / 1000;
    process.stderr.write(`bench: ${name} took ${seconds.toFixed(1)} s\n`);
  }

  const command = options.quick ? "npm run bench -- --quick" : "npm run bench";
  const info = collectRunInfo(
    command,
    (performance.now() - started) / 1000,
    loadAtStart,
  );
  process.stdout.write(`${formatText(sections)}\n`);
  if (options.write) {
    const path = fileURLToPath(new URL("../../BENCHMARKS.md", import.meta.url));
    const heading = options.quick
      ? "Last quick run (small sizes, for CI)"
      : "Results of the full run";
    writeReport(path, mode, formatMarkdown(heading, info, sections));
    process.stdout.write(`\nwrote ${path}\n`);
  }
  if (failed) {
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});

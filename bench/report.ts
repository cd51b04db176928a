import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, platform, release, totalmem } from "node:os";
import type { ResultRow, SectionResult } from "./result.js";

/** Machine, versions and command of a run, for the report header. */
export interface RunInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  os: string;
  node: string;
  date: string;
  command: string;
  /** Short commit hash, with a note when the work tree had changes. */
  commit: string;
  durationSeconds: number;
  /** One-minute load average when the run started and when it ended. */
  load: [number, number];
}

/** Collects the machine, Node and repository facts for a run. */
export function collectRunInfo(
  command: string,
  durationSeconds: number,
  loadAtStart: number,
): RunInfo {
  const processors = cpus();
  return {
    cpuModel: processors[0]?.model.trim() ?? "unknown",
    cores: processors.length,
    memoryBytes: totalmem(),
    os: `${platform()} ${release()}`,
    node: process.version,
    date: new Date().toISOString(),
    command,
    commit: describeCommit(),
    durationSeconds,
    load: [loadAtStart, loadavg()[0] ?? 0],
  };
}

function describeCommit(): string {
  try {
    const run = (args: string[]) =>
      execFileSync("git", args, {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    const hash = run(["rev-parse", "--short", "HEAD"]);
    // BENCHMARKS.md changes with every run, so it does not count.
    const dirty =
      run(["status", "--porcelain", "--", ".", ":!BENCHMARKS.md"]) !== "";
    return dirty ? `${hash} with uncommitted changes` : hash;
  } catch {
    return "unknown (not a git checkout)";
  }
}

function verdict(row: ResultRow): string {
  if (row.met === undefined) {
    return "";
  }
  return row.met ? "met" : "**missed**";
}

/** Formats the sections as plain text for the terminal. */
export function formatText(sections: readonly SectionResult[]): string {
  const lines: string[] = [];
  for (const section of sections) {
    lines.push("", section.title);
    if (section.skipped !== undefined) {
      lines.push(`  skipped: ${section.skipped}`);
      continue;
    }
    for (const row of section.rows) {
      const goal =
        row.goal === ""
          ? ""
          : `  [goal ${row.goal}: ${row.met ? "met" : "MISSED"}]`;
      lines.push(`  ${row.metric}: ${row.measured}${goal}`);
    }
  }
  return lines.join("\n");
}

/** Formats a run as the Markdown block that goes into BENCHMARKS.md. */
export function formatMarkdown(
  heading: string,
  info: RunInfo,
  sections: readonly SectionResult[],
): string {
  const lines = [
    `## ${heading}`,
    "",
    `- Machine: ${info.cpuModel}, ${info.cores} logical cores, ${(info.memoryBytes / 2 ** 30).toFixed(1)} GiB memory, ${info.os}`,
    `- Node: ${info.node}`,
    `- Date: ${info.date}`,
    `- Command: \`${info.command}\` (took ${Math.round(info.durationSeconds)} s after the build)`,
    `- Commit: ${info.commit}`,
    `- One-minute load average: ${info.load[0].toFixed(2)} at the start, which includes the build, and ${info.load[1].toFixed(2)} at the end. Other processes on the machine slow every number down, so compare runs with a load well below the core count.`,
  ];
  for (const section of sections) {
    lines.push("", `### ${section.title}`, "");
    if (section.skipped !== undefined) {
      lines.push(`Skipped: ${section.skipped}`);
      continue;
    }
    lines.push("| Metric | Goal | Measured | Result |", "|---|---|---|---|");
    for (const row of section.rows) {
      const goal = row.goal === "" ? "–" : row.goal;
      lines.push(
        `| ${row.metric} | ${goal} | ${row.measured} | ${verdict(row)} |`,
      );
    }
    if (section.notes.length > 0) {
      lines.push("", ...section.notes.map((note) => `- ${note}`));
    }
  }
  return lines.join("\n");
}

const preamble = `# Benchmarks

The numbers below come from the harness in \`bench/\` (\`npm run bench\`)
on the machine each run names. They are not asserted anywhere: no test or
CI step fails when they change. Each run replaces only its own block, so
the full run, the last \`--quick\` run and the analysis in between stay
apart.
`;

/**
 * Writes `block` into `path` between the markers of `mode`. A missing file
 * is created with a short preamble, and a file without the markers gets
 * the block appended. Text outside the markers is kept as it is.
 */
export function writeReport(path: string, mode: string, block: string): void {
  const start = `<!-- bench:${mode}:start -->`;
  const end = `<!-- bench:${mode}:end -->`;
  const wrapped = `${start}\n${block}\n${end}`;
  const current = existsSync(path) ? readFileSync(path, "utf8") : preamble;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? `${current.slice(0, from)}${wrapped}${current.slice(to + end.length)}`
      : `${current.trimEnd()}\n\n${wrapped}\n`;
  writeFileSync(path, next);
}

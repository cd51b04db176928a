import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { parseArgs } from "node:util";

// Prints the functions with the most self time in a V8 CPU profile, such as
// one written by `node --cpu-prof dist/bench/run.js --only rpc`:
//
//   node dist/bench/top-frames.js CPU.*.cpuprofile [--top 30] [--match src/]
//
// --match keeps only frames whose URL contains the text, which shows where
// this project's own code spends its time.

interface ProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    url: string;
    lineNumber: number;
  };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === "" ? "(anonymous)" : functionName;
  if (url === "") {
    return name;
  }
  const path = url.startsWith("file://")
    ? relative(process.cwd(), new URL(url).pathname)
    : url;
  return `${name} ${path}:${lineNumber + 1}`;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      top: { type: "string", default: "30" },
      match: { type: "string", default: "" },
    },
  });
  const file = positionals[0];
  if (file === undefined) {
    throw new Error(
      "missing profile file: pass the path of a .cpuprofile written by node --cpu-prof",
    );
  }
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<string, number>();
  let totalMicros = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    totalMicros += delta;
    const node = byId.get(id);
    if (node === undefined) {
      return;
    }
    const name = frameName(node);
    selfMicros.set(name, (selfMicros.get(name) ?? 0) + delta);
  });
  const rows = [...selfMicros.entries()]
    .filter(([name]) => name.includes(values.match))
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(values.top));
  process.stdout.write(
    `total sampled time ${(totalMicros / 1000).toFixed(0)} ms\n`,
  );
  for (const [name, micros] of rows) {
    const share = ((micros / totalMicros) * 100).toFixed(1).padStart(5);
    process.stdout.write(
      `${share}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${name}\n`,
    );
  }
}

main();

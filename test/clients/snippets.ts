import { join } from "node:path";
import { build } from "esbuild";
import ts from "typescript";

/** A fenced code block of README.md marked with `<!-- session: name -->`. */
export interface Session {
  name: string;
  /** Info string of the fence, e.g. sh or ts. */
  language: string;
  code: string;
}

/**
 * Returns the marked code blocks of a Markdown text in document order. A
 * block is marked when the line right before its opening fence is
 * `<!-- session: name -->`. Throws on a repeated name.
 */
export function readSessions(markdown: string): Session[] {
  const pattern =
    /^<!-- session: ([a-z0-9-]+) -->\n```([a-z]+)\n([\s\S]*?)^```$/gm;
  const sessions: Session[] = [];
  for (const match of markdown.matchAll(pattern)) {
    const [, name = "", language = "", code = ""] = match;
    if (sessions.some((session) => session.name === name)) {
      throw new Error(`README.md marks two blocks as session ${name}`);
    }
    sessions.push({ name, language, code });
  }
  return sessions;
}

const parsedFiles = new Map<string, ts.SourceFile>();

/**
 * Type-checks TypeScript source as if it were the file `fileName` in the
 * repository root, with the compiler options of tsconfig.json. The source
 * never touches the disk. Returns one line per diagnostic, empty when the
 * source compiles.
 */
export function typeErrors(source: string, fileName: string): string[] {
  const root = process.cwd();
  const configFile = ts.readConfigFile(
    join(root, "tsconfig.json"),
    ts.sys.readFile,
  );
  const options = {
    ...ts.parseJsonConfigFileContent(configFile.config, ts.sys, root).options,
    noEmit: true,
  };
  const path = join(root, fileName);
  const host = ts.createCompilerHost(options);
  const readSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) => {
    if (name === path) {
      return ts.createSourceFile(name, source, languageVersion, true);
    }
    // Parsing @types/node and the generated code dominates the run time,
    // and those files do not change between snippets.
    let file = parsedFiles.get(name);
    if (file === undefined) {
      file = readSourceFile(name, languageVersion, ...rest);
      if (file !== undefined) {
        parsedFiles.set(name, file);
      }
    }
    return file;
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === path || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === path ? source : readFile(name));

  const program = ts.createProgram([path], options, host);
  // The project's tsc run checks the other files, so only the snippet's
  // diagnostics matter here.
  const diagnostics = ts.getPreEmitDiagnostics(
    program,
    program.getSourceFile(path),
  );
  return diagnostics.map((diagnostic) => {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    if (diagnostic.file === undefined || diagnostic.start === undefined) {
      return text;
    }
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(
      diagnostic.start,
    );
    return `${diagnostic.file.fileName}:${line + 1}:${character + 1}: ${text}`;
  });
}

/**
 * Bundles TypeScript source, resolved as if it were `fileName` in the
 * repository root, into one ES module for Node.js at `outfile`. Packages
 * are bundled too, so the output runs from any folder. CommonJS packages
 * such as @grpc/grpc-js call require, which the banner provides.
 */
export async function bundleForNode(
  source: string,
  fileName: string,
  outfile: string,
): Promise<void> {
  await build({
    stdin: {
      contents: source,
      loader: "ts",
      resolveDir: process.cwd(),
      sourcefile: fileName,
    },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outfile,
    banner: {
      js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);',
    },
    logLevel: "silent",
  });
}

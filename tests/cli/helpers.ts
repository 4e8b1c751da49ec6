/**
 * Helpers for the CLI tests: run `piw` in-process with captured output, a private environment
 * and stand-in subcommands, or as a real subprocess.
 * @module
 */
import { type CliIO, runCli } from "../../src/cli/mod.ts";
import type { CommandName } from "../../src/cli/options.ts";
import type { CommandModule } from "../../src/cli/spec.ts";

/** What one in-process run produced. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The options the stand-in subcommand was run with (undefined if it was not run). */
  options?: Record<string, unknown>;
  /** The subcommand that was run. */
  command?: CommandName;
}

/** Options of `run`. */
export interface RunOptions {
  /** Environment variables; PIW_CONFIG_PATHS defaults to none so /etc is never read. */
  env?: Record<string, string>;
  /** What the stand-in subcommand does; by default it returns 0. */
  body?: (options: Record<string, unknown>) => Promise<number>;
  prompt?: CliIO["prompt"];
}

/** Run `piw args` in-process with stand-in subcommands that record their options. */
export async function run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string> = { PIW_CONFIG_PATHS: "", HOME: "/nonexistent", ...opts.env };
  const result: RunResult = { code: -1, stdout: "", stderr: "" };
  result.code = await runCli(args, {
    stdout: (text) => result.stdout += text,
    stderr: (text) => result.stderr += text,
    env: (name) => env[name],
    prompt: opts.prompt,
    load: (name): Promise<CommandModule> => {
      result.command = name;
      return Promise.resolve({
        run(options: unknown) {
          result.options = options as Record<string, unknown>;
          return opts.body ? opts.body(result.options) : Promise.resolve(0);
        },
      });
    },
  });
  return result;
}

/** What one subprocess run produced. */
export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a Deno script (main.ts by default) as a subprocess, feeding it `stdin`. */
export async function runProcess(
  args: string[],
  { stdin = "", script = new URL("../../main.ts", import.meta.url).pathname, env = {} }: {
    stdin?: string;
    script?: string;
    env?: Record<string, string>;
  } = {},
): Promise<ProcessResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    env: { PIW_CONFIG_PATHS: "", NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Text with runs of whitespace made single spaces, so wrapped help lines can be matched. */
export function flat(text: string): string {
  return text.replace(/\s+/g, " ");
}

const tempDirs: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of tempDirs) Deno.removeSync(dir, { recursive: true });
});

/** A temporary directory holding these files (removed when the tests end); returns its path. */
export async function tempFiles(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "piw-cli-test-" });
  tempDirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}

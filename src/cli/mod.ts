/**
 * The `piw` program: parse the command line, read the configuration, set up logging, run the
 * chosen subcommand and turn its outcome into an exit code.
 *
 * Where option values come from, highest first:
 * 1. the command line;
 * 2. the environment: `PIW_MASTER` and `PIW_TIMEOUT` (piw slave only);
 * 3. configuration files, later overriding earlier: `/etc/piwheels.conf`,
 *    `/usr/local/etc/piwheels.conf`, `~/.config/piwheels/piwheels.conf`, then `-c FILE`.
 *    `PIW_CONFIG_PATHS` (colon-separated; empty for none) replaces the first three, so tests
 *    and unusual installations need not read `/etc`. Keys are long option names; keys in a
 *    `[master]`, `[slave]`, ... section apply to that subcommand only, keys before any section
 *    to all. An unknown key is a warning naming file and line; a malformed line or a bad value
 *    is an error (exit 1);
 * 4. the defaults in `commands.ts`.
 *
 * Exit codes: 0 success; 1 runtime error (one line; a stack trace only with `-v` for
 * unexpected errors, or with `--debug`); 2 usage error (one line and "Try ... --help") or a
 * declined prompt.
 * @module
 */
import { DeclinedError, PiwError, UsageError } from "../errors.ts";
import { setProcessName } from "../lock.ts";
import { configureLogging, getLogger, type LogLevel, writeLogFile } from "../log.ts";
import { configPaths, readConfigFiles } from "./config.ts";
import type { CommandName } from "./options.ts";
import { parseCommandLine } from "./parse.ts";
import { type PromptIO, setPromptIO } from "./prompt.ts";
import { resolveOptions } from "./resolve.ts";
import type { CommandModule, CommandSpec } from "./spec.ts";

export { parseDuration } from "./duration.ts";
export { ask, confirm, type PromptIO, readerPromptIO, textPromptIO } from "./prompt.ts";
export { COMMANDS } from "./commands.ts";
export type * from "./options.ts";

/**
 * The subcommand a program name stands for: `piw-add` (or `/usr/local/bin/piw-add`) is `add`,
 * as piwheels installs each tool under its own name; null for `piw` or anything else.
 */
export function commandOfProgramName(programName: string): string | null {
  const base = programName.slice(programName.lastIndexOf("/") + 1);
  return /^piw-([a-z][a-z0-9-]*)$/.exec(base)?.[1] ?? null;
}

/** Where `runCli` reads and writes; every part defaults to the real process's. */
export interface CliIO {
  /** Writes normal output (help, version, prompts). */
  stdout?: (text: string) => void;
  /** Writes errors and console log lines. */
  stderr?: (text: string) => void;
  /** Where prompts read their answers (see `textPromptIO`). */
  prompt?: PromptIO;
  /** Reads environment variables (PIW_MASTER, PIW_TIMEOUT, PIW_CONFIG_PATHS, HOME). */
  env?: (name: string) => string | undefined;
  /** Loads a subcommand's module; tests use it to run stand-in commands. */
  load?: (name: CommandName) => Promise<CommandModule>;
}

/**
 * Run `piw` with these arguments (without the program name); resolves to the exit code:
 * 0 success, 1 runtime error, 2 usage error or declined prompt.
 * @example
 * Deno.exit(await runCli(Deno.args));
 */
export async function runCli(args: string[], io: CliIO = {}): Promise<number> {
  const stdout = io.stdout ?? writeTo(Deno.stdout);
  const stderr = io.stderr ?? writeTo(Deno.stderr);
  const env = io.env ?? ((name: string) => Deno.env.get(name));
  const previousPrompt = io.prompt ? setPromptIO(io.prompt) : undefined;
  let active: CommandName | undefined;
  // Until the options are known, only a -v/--debug on the command line can ask for traces.
  let trace: "unexpected" | "all" | undefined = args.includes("--debug")
    ? "all"
    : args.includes("-v") || args.includes("--verbose")
    ? "unexpected"
    : undefined;
  configureLogging({
    level: "warning",
    file: "",
    debug: [],
    showNames: false,
    sink: (line) => stderr(line + "\n"),
  });
  try {
    const selection = await parseCommandLine(args, {
      stdout,
      stderr,
      onCommand: (name) => active = name,
    });
    if (typeof selection === "number") return selection;
    const { spec } = selection;
    active = spec.name;
    setProcessName(`piw ${spec.name}`);
    const config = await readConfigFiles(
      configPaths(env),
      selection.command.opts().configuration as string | undefined,
    );
    const { options, warnings } = resolveOptions(selection, config, env);
    trace = setUpLogging(spec, options) ?? trace;
    const log = getLogger("piw");
    for (const warning of warnings) log.warning(warning);
    const module = await (io.load ? io.load(spec.name) : spec.load());
    const code = await (module as CommandModule).run(options as never);
    return typeof code === "number" ? code : 0;
  } catch (error) {
    return report(error, active, trace, stderr);
  } finally {
    if (io.prompt) setPromptIO(previousPrompt);
    configureLogging({ level: "warning", file: "", debug: [], showNames: false, sink: null });
  }
}

/**
 * Configure logging from a subcommand's options: `-q` errors only, `-v` info, `--debug` (or
 * the master's `--dev-mode`) debug, `--debug TASK` debug for matching loggers, `-l FILE` a log
 * file. Returns which errors should print a stack trace.
 */
function setUpLogging(
  spec: CommandSpec,
  options: Record<string, unknown>,
): "unexpected" | "all" | undefined {
  if (spec.logging === "none") return undefined;
  const patterns = Array.isArray(options.debug) ? options.debug as string[] : [];
  const debug = options.debug === true || options.devMode === true;
  const level: LogLevel = debug
    ? "debug"
    : options.verbose
    ? "info"
    : options.quiet
    ? "error"
    : "warning";
  const file = options.logFile as string | undefined;
  if (file) {
    try {
      Deno.openSync(file, { append: true, create: true }).close();
    } catch (error) {
      throw new PiwError(`cannot open log file ${file}: ${(error as Error).message}`);
    }
  }
  configureLogging({
    level,
    file: file ?? "",
    fileLevel: debug ? "debug" : "info",
    debug: patterns,
    showNames: spec.name === "master",
  });
  return debug || patterns.length > 0 ? "all" : options.verbose ? "unexpected" : undefined;
}

/** Print an error as one line (plus a hint for usage errors) and return its exit code. */
function report(
  error: unknown,
  command: CommandName | undefined,
  trace: "unexpected" | "all" | undefined,
  stderr: (text: string) => void,
): number {
  const program = command ? `piw ${command}` : "piw";
  if (error instanceof UsageError) {
    stderr(`${program}: ${error.message}\nTry '${program} --help' for more information.\n`);
    return 2;
  }
  const expected = error instanceof PiwError || error instanceof DeclinedError;
  const err = error instanceof Error ? error : new Error(String(error));
  const line = expected ? err.message : `${err.name}: ${err.message.split("\n")[0]}`;
  const withTrace = trace === "all" || (trace === "unexpected" && !expected);
  // Every error names the program, as usage errors do; a declined prompt is the user's answer.
  const shown = error instanceof DeclinedError ? line : `${program}: ${line}`;
  stderr((withTrace && err.stack ? err.stack : shown) + "\n");
  writeLogFile(command ? `piw.${command}` : "piw", "error", line);
  return error instanceof DeclinedError ? 2 : 1;
}

/** A writer of text to a Deno output stream, writing all of it synchronously. */
function writeTo(stream: { writeSync(data: Uint8Array): number }): (text: string) => void {
  const encoder = new TextEncoder();
  return (text) => {
    const bytes = encoder.encode(text);
    for (let done = 0; done < bytes.length;) done += stream.writeSync(bytes.subarray(done));
  };
}

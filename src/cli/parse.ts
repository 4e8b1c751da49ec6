/**
 * The commander program for `piw` and the parsing of a command line into the chosen
 * subcommand and its command-line values.
 * @module
 */
import { Argument, Command, CommanderError, Option } from "commander";
import { UsageError } from "../errors.ts";
import { PIW_VERSION } from "../version.ts";
import { COMMANDS, CONFIGURATION_OPTION, loggingOptions } from "./commands.ts";
import { DEFAULT_CONFIG_PATHS, MASTER_SHARED_KEYS } from "./config.ts";
import type { CommandName } from "./options.ts";
import { type ArgumentSpec, type CommandSpec, kindOf, longName, type OptionSpec } from "./spec.ts";
import { convertValue } from "./values.ts";

/** What a command line chose: a subcommand and its parsed commander state. */
export interface Selection {
  spec: CommandSpec;
  /** The commander command, which knows each option's value and where it came from. */
  command: Command;
  /** The positional arguments, in the order `spec.args` declares them. */
  args: unknown[];
}

/** Where parsing writes help and version text. */
export interface ParseOutput {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Told the subcommand's name as soon as it is known, so errors can name it. */
  onCommand(name: CommandName): void;
}

/** Every option of a subcommand: `-c`, the logging options, then its own. */
export function allOptions(spec: CommandSpec): OptionSpec[] {
  return [CONFIGURATION_OPTION, ...loggingOptions(spec.logging), ...spec.options];
}

/**
 * Convert an option's text, checking its choices; a failure is a `UsageError` that starts
 * with `where` (e.g. "option '--timeout'").
 */
export function convertOption(option: OptionSpec, text: string, where: string): unknown {
  if (option.choices && !option.choices.includes(text.trim())) {
    throw new UsageError(`${where}: '${text}' is not one of ${option.choices.join(", ")}`);
  }
  try {
    return convertValue(kindOf(option), text);
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${where}: ${error.message}`);
    throw error;
  }
}

/**
 * Parse `args` (without the program name). Resolves to the selection, or to an exit code when
 * help or the version was printed; a bad command line throws `UsageError`.
 */
export async function parseCommandLine(
  args: string[],
  output: ParseOutput,
): Promise<Selection | number> {
  let selection: Selection | undefined;
  const program = buildProgram(output, (chosen) => selection = chosen);
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
    // Help shown because no subcommand was given is a usage error, already explained.
    if (error.code === "commander.help") return error.exitCode === 0 ? 0 : 2;
    throw new UsageError(error.message.replace(/^error: /, "").replaceAll("\n", " "));
  }
  return selection ?? 0;
}

/** The help text on configuration files that ends every subcommand's help. */
function configHelp(spec: CommandSpec): string {
  const name = spec.name;
  const names = new Set(spec.options.map(longName));
  const shared = name === "master" ? [] : MASTER_SHARED_KEYS.filter((key) => names.has(key));
  const fromMaster = shared.length
    ? `\npiw ${name} also reads ${shared.join(", ")} from the [master] section, unless set for it.`
    : "";
  return `
Configuration files are read in order, later ones overriding earlier ones:
  ${DEFAULT_CONFIG_PATHS.join(", ")}
  (or the colon-separated list in $PIW_CONFIG_PATHS), then -c FILE.
Keys are long option names (output-path = /var/www); keys in the [${name}] section
apply to piw ${name} only, keys before any section to every command. The command
line overrides the environment, which overrides files, which override defaults.${fromMaster}`;
}

function buildProgram(output: ParseOutput, select: (selection: Selection) => void): Command {
  const program = new Command("piw")
    .description("piw: a build farm for Python wheels (a re-implementation of piwheels)")
    .usage("<command> [options]")
    .helpOption("-h, --help", "Show this help message and exit")
    .version(PIW_VERSION, "--version", "Show program's version number and exit")
    .configureOutput({
      writeOut: output.stdout,
      writeErr: output.stderr,
      // Errors are reported by runCli as one line plus a hint, not by commander.
      outputError: () => {},
    })
    .helpCommand("help [command]", "Show the help of a command")
    .exitOverride()
    .allowExcessArguments(false)
    .addHelpText("after", "\nRun 'piw <command> --help' for the options of a command.");
  program.hook("preSubcommand", (_program, sub) => output.onCommand(sub.name() as CommandName));
  for (const spec of Object.values(COMMANDS) as CommandSpec[]) {
    const command = program.command(spec.name)
      .summary(spec.summary)
      .description(spec.description)
      .helpOption("-h, --help", "Show this help message and exit")
      .version(PIW_VERSION, "--version", "Show program's version number and exit")
      .allowExcessArguments(false)
      .addHelpText("after", configHelp(spec));
    for (const option of allOptions(spec)) command.addOption(commanderOption(option));
    for (const arg of spec.args) command.addArgument(commanderArgument(arg));
    command.action((...values: unknown[]) => {
      select({ spec, command, args: values.slice(0, spec.args.length) });
    });
  }
  return program;
}

/** The help line of an option: its text, its environment variable and its default. */
function optionHelp(option: OptionSpec): string {
  const kind = kindOf(option);
  const shown = option.defaultText ??
    (kind === "flag"
      ? "off"
      : Array.isArray(option.default)
      ? (option.default.join(", ") || "none")
      : option.default ?? "none");
  const env = option.env ? ` (env: ${option.env})` : "";
  return `${option.help}${env} (default: ${shown})`;
}

function commanderOption(spec: OptionSpec): Option {
  const option = new Option(spec.flags, optionHelp(spec));
  const kind = kindOf(spec);
  if (kind === "flag") return option;
  const where = `option '${spec.flags.replace(/ <.*$/, "")}'`;
  // No commander defaults: runCli applies environment, files and defaults itself, so the value
  // source of an option tells whether the command line set it.
  return option.argParser((text: string, previous: unknown) => {
    const value = convertOption(spec, text, where);
    return kind === "list" ? [...(Array.isArray(previous) ? previous : []), value] : value;
  });
}

function commanderArgument(spec: ArgumentSpec): Argument {
  const name = spec.variadic ? `${spec.name}...` : spec.name;
  let help = spec.help;
  if (spec.choices) help += ` (choices: ${spec.choices.join(", ")})`;
  const argument = new Argument(name, help);
  if (spec.required) argument.argRequired();
  else argument.argOptional();
  if (spec.choices) {
    const choices = spec.choices;
    argument.argParser((text: string) => {
      if (!choices.includes(text)) {
        throw new UsageError(
          `argument '${spec.name}': '${text}' is not one of ${choices.join(", ")}`,
        );
      }
      return text;
    });
  }
  return argument;
}

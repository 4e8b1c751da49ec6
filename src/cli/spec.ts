/**
 * The declarative description of a subcommand: its options, arguments and how its code is
 * loaded. `commands.ts` lists the subcommands in these terms; `parse.ts` turns them into
 * commander commands and merges the option sources.
 * @module
 */
import type { CommandName, CommandOptions } from "./options.ts";
import type { ValueKind } from "./values.ts";

/** One option of a subcommand. */
export interface OptionSpec {
  /** Commander flags, e.g. `-m, --master <HOST>`; an option without `<ARG>` is a flag. */
  flags: string;
  /** The help line (without the default, which is appended). */
  help: string;
  /** How the text becomes a value; `string` for options with an argument, else `flag`. */
  kind?: ValueKind;
  /** The default as text (parsed like any other value), or a list's default items. */
  default?: string | string[];
  /** What the help shows as the default when that is not simply `default`. */
  defaultText?: string;
  /** An environment variable that overrides configuration files (but not the command line). */
  env?: string;
  /** The values the option accepts. */
  choices?: string[];
  /** Whether configuration files may set it (all but `-c` itself). */
  noConfig?: boolean;
}

/** One positional argument of a subcommand. */
export interface ArgumentSpec {
  /** The key in the option object, e.g. `files`. */
  name: string;
  help: string;
  required: boolean;
  /** Takes all the remaining arguments as a list. */
  variadic?: boolean;
  /** The values the argument accepts. */
  choices?: string[];
  /** The value when an optional argument is omitted. */
  default?: string | string[];
}

/** How a subcommand takes logging options. */
export type LoggingStyle =
  /** `-q`, `-v`, `-l FILE` and a `--debug` flag. */
  | "flag"
  /** `-q`, `-v`, `-l FILE` and a repeatable `--debug TASK` (the master). */
  | "patterns"
  /** No logging options (monitor, sense). */
  | "none";

/** What a subcommand's `main.ts` exports. */
export interface CommandModule<N extends CommandName = CommandName> {
  /** Run the subcommand; resolves to the exit code. */
  run(options: CommandOptions[N]): Promise<number>;
}

/** One subcommand. */
export interface CommandSpec<N extends CommandName = CommandName> {
  name: N;
  /** One line for `piw --help`. */
  summary: string;
  /** The paragraph at the top of `piw <name> --help`. */
  description: string;
  logging: LoggingStyle;
  options: OptionSpec[];
  args: ArgumentSpec[];
  /** Loads the subcommand's code (only the chosen one is loaded). */
  load(): Promise<CommandModule<N>>;
}

/** The long option name of an option, e.g. `output-path`. */
export function longName(option: OptionSpec): string {
  const match = /--([a-z0-9-]+)/.exec(option.flags);
  if (!match) throw new Error(`option '${option.flags}' has no long name`);
  return match[1];
}

/** The key of an option in the option object: commander's camelCase of the long name. */
export function optionKey(option: OptionSpec): string {
  return longName(option).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The kind of an option, with the default worked out from its flags. */
export function kindOf(option: OptionSpec): ValueKind {
  return option.kind ?? (option.flags.includes("<") ? "string" : "flag");
}

/**
 * Merging of an option's possible sources into the option object a subcommand runs with:
 * command line > environment > configuration files (in order) > defaults.
 * @module
 */
import { PiwError, UsageError } from "../errors.ts";
import { COMMANDS } from "./commands.ts";
import { type ConfigData, type ConfigEntry, MASTER_SHARED_KEYS } from "./config.ts";
import { allOptions, convertOption, type Selection } from "./parse.ts";
import { kindOf, longName, optionKey, type OptionSpec } from "./spec.ts";
import { parseList } from "./values.ts";

/** The option object of a selection, and warnings about the configuration to log. */
export interface Resolved {
  options: Record<string, unknown>;
  warnings: string[];
}

/** Merge the command line, environment, configuration and defaults of a selection. */
export function resolveOptions(
  selection: Selection,
  config: ConfigData,
  env: (name: string) => string | undefined,
): Resolved {
  const { spec, command } = selection;
  const warnings = [...config.warnings];
  const fromFiles = applicableEntries(spec.name, config, warnings);
  const cli = command.opts();
  const options: Record<string, unknown> = {};
  for (const option of allOptions(spec)) {
    const key = optionKey(option);
    const envValue = option.env ? env(option.env) : undefined;
    const entry = fromFiles.get(longName(option));
    if (command.getOptionValueSource(key) === "cli") {
      options[key] = cli[key];
    } else if (envValue !== undefined && envValue !== "") {
      options[key] = convertOption(option, envValue, `environment variable ${option.env}`);
    } else if (entry) {
      options[key] = fromFile(option, entry);
    } else {
      options[key] = defaultValue(option);
    }
  }
  spec.args.forEach((arg, index) => {
    const value = selection.args[index];
    const missing = value === undefined || (Array.isArray(value) && value.length === 0);
    options[arg.name] = missing && arg.default !== undefined ? arg.default : value;
  });
  return { options, warnings };
}

/**
 * The last entry for each key that applies to this subcommand (keys before any section and in
 * its own section; failing those, the {@link MASTER_SHARED_KEYS} of `[master]`); warns about
 * unknown keys and sections, naming file and line.
 */
function applicableEntries(
  name: string,
  config: ConfigData,
  warnings: string[],
): Map<string, ConfigEntry> {
  const own = new Map(
    allOptions(COMMANDS[name as keyof typeof COMMANDS]).map((o) => [
      longName(o),
      o,
    ]),
  );
  const known = new Set<string>();
  for (const spec of Object.values(COMMANDS)) {
    for (const option of allOptions(spec)) if (!option.noConfig) known.add(longName(option));
  }
  for (const section of config.sections) {
    if (!(section.name in COMMANDS)) {
      warnings.push(`${section.file}:${section.line}: unknown section [${section.name}] ignored`);
    }
  }
  const chosen = new Map<string, ConfigEntry>();
  const fromMaster = new Map<string, ConfigEntry>();
  for (const entry of config.entries) {
    if (entry.section === "master" && name !== "master") {
      const option = own.get(entry.key);
      if (option && !option.noConfig && MASTER_SHARED_KEYS.includes(entry.key)) {
        fromMaster.set(entry.key, entry);
      }
      continue;
    }
    if (entry.section !== null && entry.section !== name) continue;
    const option = own.get(entry.key);
    const where = `${entry.file}:${entry.line}`;
    if (option?.noConfig) {
      warnings.push(`${where}: '${entry.key}' cannot be set in a configuration file; ignored`);
    } else if (option) {
      chosen.set(entry.key, entry);
    } else if (entry.section !== null) {
      warnings.push(`${where}: unknown option '${entry.key}' for piw ${name}; ignored`);
    } else if (!known.has(entry.key)) {
      // A key outside any section that another subcommand knows is meant for that one.
      warnings.push(`${where}: unknown option '${entry.key}'; ignored`);
    }
  }
  for (const [key, entry] of fromMaster) if (!chosen.has(key)) chosen.set(key, entry);
  return chosen;
}

/** The value of a configuration entry; a bad value is an error naming file and line. */
function fromFile(option: OptionSpec, entry: ConfigEntry): unknown {
  const where = `${entry.file}:${entry.line}: '${entry.key}'`;
  try {
    if (kindOf(option) === "list") {
      return parseList(entry.value).map((item) => convertOption(option, item, where));
    }
    return convertOption(option, entry.value, where);
  } catch (error) {
    // A bad file is a runtime error (exit 1), not a mistake on the command line.
    if (error instanceof UsageError) throw new PiwError(error.message);
    throw error;
  }
}

/** The default value of an option, converted like any other value. */
function defaultValue(option: OptionSpec): unknown {
  const kind = kindOf(option);
  if (kind === "flag") return false;
  if (kind === "list") {
    const items = option.default === undefined ? [] : [option.default].flat();
    return items.map((item) => convertOption(option, item, `default of --${longName(option)}`));
  }
  if (option.default === undefined) return undefined;
  return convertOption(option, String(option.default), `default of --${longName(option)}`);
}

/**
 * piw's configuration files: where they are and how their INI text is read.
 *
 * Each line is blank, a comment (`#` or `;`), a `[section]` header, or `key = value`
 * (`key: value` also works). Keys are long option names; `[master]`, `[slave]`, ... sections
 * apply to that subcommand only, keys before the first section to all of them; the database
 * and ipc queue keys of `[master]` reach the other tools too (as in piwheels).
 * @module
 */
import { fileErrorReason, PiwError } from "../errors.ts";
import { expandHome } from "./values.ts";

/** The configuration files read when `PIW_CONFIG_PATHS` is not set, earliest first. */
export const DEFAULT_CONFIG_PATHS: readonly string[] = [
  "/etc/piwheels.conf",
  "/usr/local/etc/piwheels.conf",
  "~/.config/piwheels/piwheels.conf",
];

/**
 * Keys of the `[master]` section that the other tools read too, as piwheels' do (its tools see
 * every key of every section): the database and the master's ipc queues, whose addresses are
 * the same to bind and to connect to (a `tcp://*:5556` to bind is no address to connect to).
 */
export const MASTER_SHARED_KEYS: readonly string[] = [
  "dsn",
  "import-queue",
  "status-queue",
  "control-queue",
  "log-queue",
];

/** One `key = value` line of a configuration file. */
export interface ConfigEntry {
  file: string;
  line: number;
  /** The section the key sits in, or null for keys before any section. */
  section: string | null;
  /** The key with `_` turned into `-`, so `output_path` means `output-path`. */
  key: string;
  value: string;
}

/** One `[section]` header of a configuration file. */
export interface ConfigSection {
  file: string;
  line: number;
  name: string;
}

/** What a set of configuration files holds, in reading order. */
export interface ConfigData {
  entries: ConfigEntry[];
  sections: ConfigSection[];
  /** Problems that are not errors (an unreadable default file), for the caller to log. */
  warnings: string[];
}

/**
 * The configuration files to read, earliest first: `PIW_CONFIG_PATHS` (colon-separated)
 * replaces the default list, which lets tests and odd installations avoid `/etc`.
 */
export function configPaths(env: (name: string) => string | undefined): string[] {
  const override = env("PIW_CONFIG_PATHS");
  const paths = override === undefined
    ? [...DEFAULT_CONFIG_PATHS]
    : override.split(":").filter((p) => p !== "");
  return paths.map((p) => expandHome(p, env("HOME")));
}

const SECTION = /^\[\s*([^\][]+?)\s*\]$/;
const KEY_VALUE = /^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*[=:]\s*(.*)$/;

/** Parse the text of one configuration file; throws `PiwError` naming file and line. */
export function parseConfigText(text: string, file: string): ConfigData {
  const data: ConfigData = { entries: [], sections: [], warnings: [] };
  let section: string | null = null;
  text.replace(/^\uFEFF/, "").split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === "" || content.startsWith("#") || content.startsWith(";")) return;
    const header = SECTION.exec(content);
    if (header) {
      section = header[1].toLowerCase();
      data.sections.push({ file, line, name: section });
      return;
    }
    const pair = KEY_VALUE.exec(content);
    if (!pair) {
      throw new PiwError(
        `${file}:${line}: malformed line '${content}' (expected 'key = value' or '[section]')`,
      );
    }
    const key = pair[1].toLowerCase().replaceAll("_", "-");
    data.entries.push({ file, line, section, key, value: unquote(pair[2]) });
  });
  return data;
}

/**
 * Read the configuration files in order, then `extra` (from `-c FILE`). Missing files in the
 * list are skipped; a missing `extra` file is an error.
 */
export async function readConfigFiles(paths: string[], extra?: string): Promise<ConfigData> {
  const all: ConfigData = { entries: [], sections: [], warnings: [] };
  const files = paths.map((path) => ({ path, required: false }));
  if (extra !== undefined) files.push({ path: extra, required: true });
  for (const { path, required } of files) {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (!required && error instanceof Deno.errors.NotFound) continue;
      const reason = fileErrorReason(error);
      if (required) throw new PiwError(`cannot read configuration file ${path}: ${reason}`);
      all.warnings.push(`cannot read configuration file ${path}: ${reason}`);
      continue;
    }
    const data = parseConfigText(text, path);
    all.entries.push(...data.entries);
    all.sections.push(...data.sections);
  }
  return all;
}

/**
 * A value without its trailing comment and quotes. A comment needs whitespace before `#` or
 * `;` (as in configargparse), so DSNs and URLs containing them survive.
 */
function unquote(value: string): string {
  // As the ini package's `unsafe` (which configargparse's files match): '...' loses its quotes,
  // then JSON string syntax, "..." included, is decoded where it parses.
  const iniUnquote = (quoted: string): string => {
    const inner = quoted.startsWith("'") ? quoted.slice(1, -1) : quoted;
    try {
      const parsed = JSON.parse(inner);
      return typeof parsed === "string" ? parsed : inner;
    } catch {
      return inner;
    }
  };
  const quoted = /^(".*"|'.*')$/;
  const whole = value.trim();
  if (quoted.test(whole)) return iniUnquote(whole);
  const trimmed = whole.replace(/\s+[#;].*$/, "").trim();
  return quoted.test(trimmed) ? iniUnquote(trimmed) : trimmed;
}

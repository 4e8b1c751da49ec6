/**
 * The option objects each subcommand's `run(options)` receives, after the CLI has merged the
 * command line, the environment, the configuration files and the defaults.
 *
 * Keys are commander's camelCase of the long option names; durations are milliseconds, sizes
 * bytes, repeatable options `string[]`, flags real booleans. Positional arguments appear under
 * their own names (`files`, `package`, `version`, `part`).
 * @module
 */

/** Options every subcommand has. */
export interface CommonOptions {
  /** `-c/--configuration FILE`: an extra configuration file (already read by the CLI). */
  configuration?: string;
}

/** The console/file logging options (all subcommands except monitor and sense). */
export interface LoggingOptions extends CommonOptions {
  /** `-q/--quiet`: console shows errors only. */
  quiet: boolean;
  /** `-v/--verbose`: console shows info messages. */
  verbose: boolean;
  /** `-l/--log-file FILE`: also log, with timestamps and levels, to this file. */
  logFile?: string;
}

/** Logging options of every logging subcommand but the master, whose `--debug` takes patterns. */
export interface DebugFlagOptions extends LoggingOptions {
  /** `--debug`: console and file show debug messages. */
  debug: boolean;
}

/** Options of the client tools that talk to the master's import queue. */
export interface ImportQueueClientOptions extends DebugFlagOptions {
  /** `-y/--yes`: never prompt. */
  yes: boolean;
  /** `--import-queue ADDR` (default `ipc:///tmp/piw-import`). */
  importQueue: string;
  /** `--timeout DURATION`: how long to wait for each reply from the master, ms (default 30 s). */
  timeout: number;
}

/** `piw master` (each option's default: `MASTER_DEFAULTS` in master_defaults.ts). */
export interface MasterOptions extends LoggingOptions {
  /** `--debug TASK` (repeatable): fnmatch patterns of task names logged at debug level. */
  debug: string[];
  /** `-d/--dsn DSN`: the database, postgres or pglite. */
  dsn: string;
  /** `-o/--output-path PATH`: the web output root (`~` already expanded). */
  outputPath: string;
  /** `--dev-mode`: shorter timeouts, new packages skipped, debug logging. */
  devMode: boolean;
  /**
   * `--site-url URL`: the site's public origin, for every absolute URL the pages hold; no
   * trailing slash.
   */
  siteUrl: string;
  /** `--pypi-xmlrpc URL`. */
  pypiXmlrpc: string;
  /** `--pypi-simple URL`. */
  pypiSimple: string;
  /** `--pypi-json URL`. */
  pypiJson: string;
  /** `--status-queue ADDR`: the external PUB to monitors. */
  statusQueue: string;
  /** `--control-queue ADDR`: the external PULL from monitors. */
  controlQueue: string;
  /** `--import-queue ADDR`. */
  importQueue: string;
  /** `--log-queue ADDR`. */
  logQueue: string;
  /** `--slave-queue ADDR`. */
  slaveQueue: string;
  /** `--file-queue ADDR`. */
  fileQueue: string;
  /** `--extras-queue ADDR`: piw slaves' HAVE messages (piw only). */
  extrasQueue: string;
  /** `--web-queue ADDR`. */
  webQueue: string;
  /** `--builds-queue ADDR`. */
  buildsQueue: string;
  /** `--db-queue ADDR`. */
  dbQueue: string;
  /** `--fs-queue ADDR`. */
  fsQueue: string;
  /** `--stats-queue ADDR`. */
  statsQueue: string;
  /** `--metrics ADDR` (HOST:PORT): where Prometheus metrics are served; `""`: off. */
  metrics: string;
  /** `--max-file-size SIZE`: the largest file a slave may send, bytes. */
  maxFileSize: number;
  /** `--max-slave-timeout DURATION`: cap on a slave's build and busy timeouts, ms. */
  maxSlaveTimeout: number;
  /** `--max-slaves N`: most slaves served at once. */
  maxSlaves: number;
}

/** `piw slave`. */
export interface SlaveOptions extends DebugFlagOptions {
  /** `-m/--master HOST` (env `PIW_MASTER`, default `localhost`). */
  master: string;
  /** `-t/--timeout DURATION`: time before a build is assumed failed, ms (env `PIW_TIMEOUT`, default 3h). */
  timeout: number;
  /** `-d/--dir DIR`: where builds happen (default: the system temporary directory). */
  dir: string;
  /** `-L/--label STR`: the slave's label (default: the host name). */
  label: string;
  /** `--python PATH`: the target interpreter wheels are built for (default `python3`). */
  python: string;
  /** `--extra-index-url URL` (repeatable): extra indexes pip may use during builds; `none` for none (default piwheels.org's). */
  extraIndexUrl: string[];
  /** `--memory-limit SIZE`: RLIMIT_DATA of a build in bytes; 0 means no limit (default 1 GiB, as piwheels). */
  memoryLimit: number;
}

/** `piw monitor`. */
export interface MonitorOptions extends CommonOptions {
  /** `--status-queue ADDR` (default `ipc:///tmp/piw-status`). */
  statusQueue: string;
  /** `--control-queue ADDR` (default `ipc:///tmp/piw-control`). */
  controlQueue: string;
}

/** `piw sense`. */
export interface SenseOptions extends MonitorOptions {
  /** `-r/--rotate DEGREES`: 0, 90, 180 or 270 (default 0). */
  rotate: 0 | 90 | 180 | 270;
  /** `--emulate`: draw the Sense HAT's display in the terminal instead of on a HAT. */
  emulate: boolean;
}

/** `piw initdb`. */
export interface InitdbOptions extends DebugFlagOptions {
  /** `-d/--dsn DSN`: must connect as a cluster superuser (default `postgres:///piwheels`). */
  dsn: string;
  /** `-u/--user NAME`: the ordinary piwheels database user (default `piwheels`). */
  user: string;
  /** `-y/--yes`: proceed without prompting. */
  yes: boolean;
  /** `-a/--abi ABI`: build ABIs to register (repeatable; default none). */
  abi: string[];
  /** `--from-piwheels DSN`: a piwheels 0.23 database to copy into the new one. */
  fromPiwheels?: string;
}

/** `piw import`. */
export interface ImportOptions extends ImportQueueClientOptions {
  /** The wheel files, registered as one build (at least one). */
  files: string[];
  /** `--package PACKAGE` (default: from the first file). */
  package?: string;
  /** `--package-version VERSION` (default: from the first file). */
  packageVersion?: string;
  /** `--abi ABI` (default: from the first file). */
  abi?: string;
  /** `--duration DURATION`: build time to record, ms (default 0). */
  duration: number;
  /** `--output FILE`: file holding the build output to record. */
  output?: string;
  /** `--dependencies FILE`: file of whitespace-separated apt package names. */
  dependencies?: string;
  /** `-d/--delete`: remove the files after a successful import. */
  delete: boolean;
  /** `--file-queue ADDR`: the master's file queue (default `tcp://localhost:5556`). */
  fileQueue: string;
}

/** `piw add`. */
export interface AddOptions extends ImportQueueClientOptions {
  /** The package name. */
  package: string;
  /** The version to add, if any. */
  version?: string;
  /** `-s/--skip REASON`: add the new package/version marked to skip. */
  skip?: string;
  /** `--unskip`: clear the skip reason of an existing package/version. */
  unskip: boolean;
  /** `-d/--description TEXT`: the package description. */
  description?: string;
  /** `-a/--alias NAME` (repeatable): aliases of the package. */
  alias: string[];
  /** `-r/--released TIMESTAMP` (UTC); undefined means now. */
  released?: Date;
  /** `--yank`: add the new version as yanked. */
  yank: boolean;
  /** `--unyank`: clear the yanked flag of an existing version. */
  unyank: boolean;
  /** `--pypi-json URL` (default `https://pypi.org/pypi`): where a missing description is fetched. */
  pypiJson: string;
  /** `--priority N` (-1000 to 1000): the package's build priority. */
  priority?: number;
}

/** `piw remove`. */
export interface RemoveOptions extends ImportQueueClientOptions {
  /** The package name. */
  package: string;
  /** The version to remove; undefined removes the whole package. */
  version?: string;
  /** `-b/--builds`: remove builds and files only, keep the package/version. */
  builds: boolean;
  /** `-s/--skip REASON`: keep the item, marked to skip. */
  skip?: string;
  /** `--yank`: mark the version as yanked. */
  yank: boolean;
}

/** The parts of the website `piw rebuild` can rebuild. */
export type RebuildPart = "home" | "search" | "project" | "index";

/** `piw rebuild`. */
export interface RebuildOptions extends ImportQueueClientOptions {
  /** Which part of the website to rebuild. */
  part: RebuildPart;
  /** The package whose pages to rebuild; undefined means all packages. */
  package?: string;
}

/** `piw retry`. */
export interface RetryOptions extends DebugFlagOptions {
  /** `-d/--dsn DSN`: the master's database (default `postgres:///piwheels`). */
  dsn: string;
  /** `--class CLASS`: only failures of this class (default: any). */
  class?: string;
  /** `-y/--yes`: never prompt. */
  yes: boolean;
  /** The package whose failed builds to retry; undefined means every package (with --class). */
  package?: string;
  /** The version; undefined means every version of the package. */
  version?: string;
}

/** `piw logger`. */
export interface LoggerOptions extends DebugFlagOptions {
  /** The log files to read; `-` is standard input (default `["-"]`). */
  files: string[];
  /** `--format FORMAT`: Apache log format or `common`/`combined`/`common_vhost` (default `combined`). */
  format: string;
  /** `--log-queue ADDR` (default `ipc:///tmp/piw-logger`). */
  logQueue: string;
  /** `--drop`: drop records the master does not take promptly. */
  drop: boolean;
}

/** `piw audit`. */
export interface AuditOptions extends DebugFlagOptions {
  /** `-d/--dsn DSN` (default `postgres:///piwheels`). */
  dsn: string;
  /** `-o/--output-path PATH`: the web output root (default `/var/www`). */
  outputPath: string;
  /** `--hashes`: verify each wheel's size and SHA-256. */
  hashes: boolean;
  /** `--delete-extras`: delete what should not be there. */
  deleteExtras: boolean;
  /** `--archive-dir DIR`: move what should not be there to DIR instead. */
  archiveDir?: string;
  /** `--ensure-project-symlinks`: create or repoint `project/<alias>` symlinks. */
  ensureProjectSymlinks: boolean;
  /** `--extra-file FILE`: list the extraneous paths in FILE. */
  extraFile?: string;
  /** `--missing-file FILE`: list the missing paths in FILE. */
  missingFile?: string;
  /** `--broken-file FILE`: list the corrupted wheels and broken symlinks in FILE. */
  brokenFile?: string;
}

/** The option interface of each subcommand, by subcommand name. */
export interface CommandOptions {
  master: MasterOptions;
  slave: SlaveOptions;
  monitor: MonitorOptions;
  sense: SenseOptions;
  initdb: InitdbOptions;
  import: ImportOptions;
  add: AddOptions;
  rebuild: RebuildOptions;
  remove: RemoveOptions;
  retry: RetryOptions;
  logger: LoggerOptions;
  audit: AuditOptions;
}

/** A subcommand name. */
export type CommandName = keyof CommandOptions;

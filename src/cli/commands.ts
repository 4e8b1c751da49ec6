/**
 * The subcommands of `piw`: options, defaults and help, as piwheels 0.18's docs give them
 * plus what later piwheels and piw add. Option keys are documented in `options.ts`.
 * @module
 */
import type { CommandName } from "./options.ts";
import type { CommandSpec, LoggingStyle, OptionSpec } from "./spec.ts";
import { FAILURE_CLASSES } from "../failures/classify.ts";
import { MASTER_DEFAULTS } from "./master_defaults.ts";

const STATUS_QUEUE: OptionSpec = {
  flags: "--status-queue <ADDR>",
  help:
    "The address of the queue used to report status to monitors; this is usually an ipc address",
  default: MASTER_DEFAULTS.statusQueue,
};

const CONTROL_QUEUE: OptionSpec = {
  flags: "--control-queue <ADDR>",
  help: "The address of the queue a monitor can use to control the master; this is usually an " +
    "ipc address",
  default: MASTER_DEFAULTS.controlQueue,
};

const IMPORT_QUEUE: OptionSpec = {
  flags: "--import-queue <ADDR>",
  help: "The address of the queue used by piw import, add, remove and rebuild; this should " +
    "always be an ipc address",
  default: MASTER_DEFAULTS.importQueue,
};

const LOG_QUEUE: OptionSpec = {
  flags: "--log-queue <ADDR>",
  help: "The address of the queue used by piw logger; this should always be an ipc address",
  default: MASTER_DEFAULTS.logQueue,
};

const PYPI_JSON: OptionSpec = {
  flags: "--pypi-json <URL>",
  help: "The URL of the PyPI JSON API",
  default: MASTER_DEFAULTS.pypiJson,
};

const YES: OptionSpec = {
  flags: "-y, --yes",
  help: "Run non-interactively; never prompt during operation",
};

/** The options of the tools that send requests to the master's import queue. */
const CLIENT_OPTIONS: OptionSpec[] = [
  YES,
  IMPORT_QUEUE,
  {
    flags: "--timeout <DURATION>",
    help: "How long to wait for each reply from the master before giving up",
    kind: "duration",
    default: "30s",
  },
];

/** `-c/--configuration`, which every subcommand has. */
export const CONFIGURATION_OPTION: OptionSpec = {
  flags: "-c, --configuration <FILE>",
  help: "Specify a configuration file to load, after the system and user ones",
  kind: "path",
  defaultText: "none",
  noConfig: true,
};

/** The logging options of a subcommand with this logging style. */
export function loggingOptions(style: LoggingStyle): OptionSpec[] {
  if (style === "none") return [];
  return [
    { flags: "-q, --quiet", help: "Produce less console output (errors only)" },
    { flags: "-v, --verbose", help: "Produce more console output" },
    {
      flags: "-l, --log-file <FILE>",
      help: "Log messages, with timestamps and levels, to the specified file",
      kind: "path",
      defaultText: "none",
    },
    style === "patterns"
      ? {
        flags: "--debug <TASK>",
        help: "Log debug messages from the master tasks matching this pattern (e.g. " +
          "master.the_scribe or 'master.*'); may be repeated",
        kind: "list",
        default: [],
        defaultText: "none",
      }
      : { flags: "--debug", help: "Produce debug output on the console and in the log file" },
  ];
}

/** The system's temporary directory, as Python's `tempfile.gettempdir()` finds it. */
function tempDir(): string {
  for (const name of ["TMPDIR", "TEMP", "TMP"]) {
    const value = Deno.env.get(name);
    if (value) return value;
  }
  return "/tmp";
}

const master: CommandSpec<"master"> = {
  name: "master",
  summary: "Run the master: follow PyPI, hand out builds, write the website",
  description: "The piw master is intended to be run on the database and file-server machine. " +
    "The database must exist and have been set up with piw initdb. Run it as an ordinary " +
    "unprivileged user with write access to the output path.",
  logging: "patterns",
  options: [
    {
      flags: "-d, --dsn <DSN>",
      help: "The database to use; this database must be configured with piw initdb and the " +
        "user must not be a PostgreSQL superuser",
      default: MASTER_DEFAULTS.dsn,
    },
    {
      flags: "-o, --output-path <PATH>",
      help: "The path under which the website should be written; must be writable by the " +
        "current user",
      kind: "path",
      default: MASTER_DEFAULTS.outputPath,
    },
    {
      flags: "--dev-mode",
      help: "Run the master in development mode, which reduces some timeouts and tweaks some " +
        "defaults",
    },
    {
      flags: "--site-url <URL>",
      help: "The public address of the website, from which the absolute URLs it contains " +
        "(sitemaps, project JSON, the install instructions) are made",
      kind: "origin",
      default: MASTER_DEFAULTS.siteUrl,
    },
    {
      flags: "--pypi-xmlrpc <URL>",
      help: "The URL of the PyPI XML-RPC service",
      default: MASTER_DEFAULTS.pypiXmlrpc,
    },
    {
      flags: "--pypi-simple <URL>",
      help: "The URL of the PyPI simple API",
      default: MASTER_DEFAULTS.pypiSimple,
    },
    PYPI_JSON,
    STATUS_QUEUE,
    CONTROL_QUEUE,
    IMPORT_QUEUE,
    LOG_QUEUE,
    {
      flags: "--slave-queue <ADDR>",
      help: "The address of the queue used to talk to the build slaves; this is usually a tcp " +
        "address",
      default: MASTER_DEFAULTS.slaveQueue,
    },
    {
      flags: "--file-queue <ADDR>",
      help: "The address of the queue used to transfer files from slaves; this is usually a tcp " +
        "address",
      default: MASTER_DEFAULTS.fileQueue,
    },
    {
      flags: "--extras-queue <ADDR>",
      help: "The address of the queue where piw slaves say which libraries they have (piw " +
        "only; slaves use their slave queue's port + 4)",
      default: MASTER_DEFAULTS.extrasQueue,
    },
    {
      flags: "--web-queue <ADDR>",
      help: "The address of the queue used to request web page updates",
      default: MASTER_DEFAULTS.webQueue,
    },
    {
      flags: "--builds-queue <ADDR>",
      help: "The address of the queue used to store pending builds",
      default: MASTER_DEFAULTS.buildsQueue,
    },
    {
      flags: "--db-queue <ADDR>",
      help: "The address of the queue used to talk to the database server",
      default: MASTER_DEFAULTS.dbQueue,
    },
    {
      flags: "--fs-queue <ADDR>",
      help: "The address of the queue used to talk to the file-system server",
      default: MASTER_DEFAULTS.fsQueue,
    },
    {
      flags: "--stats-queue <ADDR>",
      help: "The address of the queue used to send statistics to the collator task",
      default: MASTER_DEFAULTS.statsQueue,
    },
    {
      flags: "--metrics <ADDR>",
      help: "Serve Prometheus metrics over HTTP at http://ADDR/metrics, where ADDR is " +
        "HOST:PORT (e.g. 127.0.0.1:9100); the metric names are listed in the README",
      default: MASTER_DEFAULTS.metrics,
      defaultText: "off",
    },
    {
      flags: "--max-file-size <SIZE>",
      help: "The largest file a build slave may send, e.g. 2G (K, M, G are powers of 1024); a " +
        "larger one is refused before any of it is written",
      kind: "size",
      default: MASTER_DEFAULTS.maxFileSize,
    },
    {
      flags: "--max-slave-timeout <DURATION>",
      help: "The longest build or busy timeout a build slave may ask for; longer ones are cut " +
        "to this",
      kind: "duration",
      default: MASTER_DEFAULTS.maxSlaveTimeout,
    },
    {
      flags: "--max-slaves <N>",
      help: "The most build slaves served at once; more are told to terminate",
      kind: "int",
      default: MASTER_DEFAULTS.maxSlaves,
    },
  ],
  args: [],
  load: () => import("../master/main.ts"),
};

const slave: CommandSpec<"slave"> = {
  name: "slave",
  summary: "Run a build slave that builds wheels for the master",
  description: "The piw slave is intended to be run on a standalone machine to build packages " +
    "on behalf of the master, as an unprivileged user with a clean home directory. It runs " +
    "until terminated by Ctrl+C, SIGTERM or the master.",
  logging: "flag",
  options: [
    {
      flags: "-m, --master <HOST>",
      help: "The IP address or hostname of the master server",
      env: "PIW_MASTER",
      default: "localhost",
    },
    {
      flags: "-t, --timeout <DURATION>",
      help: "The time to wait before assuming a build has failed",
      kind: "duration",
      env: "PIW_TIMEOUT",
      default: "3h",
    },
    {
      flags: "-d, --dir <DIR>",
      help: "The directory in which to build packages",
      kind: "path",
      default: tempDir(),
    },
    {
      flags: "-L, --label <STR>",
      help: "The label that identifies this slave to the master and its monitors",
      default: Deno.hostname(),
    },
    {
      flags: "--python <PATH>",
      help: "The Python interpreter to build wheels with (and for)",
      default: "python3",
    },
    {
      flags: "--extra-index-url <URL>",
      help: "An extra package index pip may use for build dependencies, normally the farm's own " +
        "simple index (as piwheels' slaves use piwheels.org's); may be repeated; none for no " +
        "extra index",
      kind: "list",
      default: ["https://www.piwheels.org/simple"],
    },
    {
      flags: "--memory-limit <SIZE>",
      help: "The most data memory (RLIMIT_DATA) a build may use, e.g. 2G (K, M, G are powers of " +
        "1024), as piwheels limits builds to 1G; none for no limit",
      kind: "size",
      default: "1G",
    },
  ],
  args: [],
  load: () => import("../slave/main.ts"),
};

const monitor: CommandSpec<"monitor"> = {
  name: "monitor",
  summary: "Monitor (and control) the master in the terminal",
  description: "The piw monitor shows the status of the master and its build slaves, and can " +
    "pause or resume the master, kill build slaves, or terminate the master.",
  logging: "none",
  options: [STATUS_QUEUE, CONTROL_QUEUE],
  args: [],
  load: () => import("../monitor/main.ts"),
};

const sense: CommandSpec<"sense"> = {
  name: "sense",
  summary: "Monitor (and control) the master with a Raspberry Pi Sense HAT",
  description: "The piw sense monitor is an alternative to piw monitor that uses the " +
    "Raspberry Pi Sense HAT's display and joystick as its user interface.",
  logging: "none",
  options: [
    STATUS_QUEUE,
    CONTROL_QUEUE,
    {
      flags: "-r, --rotate <DEGREES>",
      help: "The rotation of the HAT in degrees; must be 0, 90, 180 or 270",
      kind: "int",
      choices: ["0", "90", "180", "270"],
      default: "0",
    },
    {
      flags: "--emulate",
      help: "Show the Sense HAT's display in the terminal instead of using a HAT",
    },
  ],
  args: [],
  load: () => import("../sense/main.ts"),
};

const initdb: CommandSpec<"initdb"> = {
  name: "initdb",
  summary: "Initialize or upgrade the master's database",
  description: "The piw initdb command creates or upgrades piw's tables, views and functions " +
    "in an existing PostgreSQL database, in a single transaction. It prompts before making " +
    "any permanent alteration. With --from-piwheels it migrates a piwheels 0.23 database into " +
    "a new piw one (see README, Switching from piwheels).",
  logging: "flag",
  options: [
    {
      flags: "-d, --dsn <DSN>",
      help: "The database to create or upgrade; this DSN must connect as the cluster superuser",
      default: "postgres:///piwheels",
    },
    {
      flags: "-u, --user <NAME>",
      help: "The name of the ordinary piwheels database user; this must not be a cluster " +
        "superuser",
      default: "piwheels",
    },
    {
      flags: "-a, --abi <ABI>",
      help: "Register ABI (e.g. cp311) as a build ABI that slaves build for, after creating or " +
        "upgrading; may be repeated; existing build ABIs are kept",
      kind: "list",
      default: [],
      defaultText: "none",
    },
    {
      flags: "--from-piwheels <DSN>",
      help: "Copy the piwheels 0.23 database DSN (PostgreSQL; read in one snapshot, never " +
        "changed) into the database of --dsn, creating piw's schema there first; the target " +
        "must be new (empty or freshly initialised), PostgreSQL or PGlite. Run again, it says " +
        "the target was migrated and changes nothing",
    },
    { flags: "-y, --yes", help: "Proceed without prompting before init/upgrades" },
  ],
  args: [],
  load: () => import("../initdb/main.ts"),
};

const importer: CommandSpec<"import"> = {
  name: "import",
  summary: "Import wheel files into the database and website as one build",
  description: "The piw import command injects the specified file(s) manually into the " +
    "database and file-system; it must be run on the master's machine. If multiple files are " +
    "given, they are registered as produced by a single build.",
  logging: "flag",
  options: [
    {
      flags: "--package <PACKAGE>",
      help: "The name of the package to import",
      defaultText: "derived from the first file",
    },
    {
      flags: "--package-version <VERSION>",
      help: "The version of the package to import",
      defaultText: "derived from the first file",
    },
    {
      flags: "--abi <ABI>",
      help: "The ABI of the package to import",
      defaultText: "derived from the first file",
    },
    {
      flags: "--duration <DURATION>",
      help: "The time taken to build the package",
      kind: "duration",
      default: "0s",
    },
    {
      flags: "--output <FILE>",
      help: "The file containing the build output to insert into the database",
      kind: "path",
      defaultText: "a note that the build was imported manually",
    },
    {
      flags: "--dependencies <FILE>",
      help: "A file listing the apt packages (whitespace-separated) the wheels depend on",
      kind: "path",
      defaultText: "none",
    },
    {
      flags: "-d, --delete",
      help: "Remove the specified file(s) after a successful import; if the import fails, no " +
        "files will be removed",
    },
    {
      flags: "--file-queue <ADDR>",
      help: "The address of the master's file queue the files are sent to; a wildcard host " +
        "(as in the master's own tcp://*:5556, e.g. from a shared configuration file) means " +
        "localhost",
      default: "tcp://localhost:5556",
    },
    ...CLIENT_OPTIONS,
  ],
  args: [{ name: "files", help: "The wheel file(s) to import", required: true, variadic: true }],
  load: () => import("../importer/main.ts"),
};

const add: CommandSpec<"add"> = {
  name: "add",
  summary: "Add (or update) a package or version in the database",
  description: "The piw add command adds a package, or a version of a package, that piw has " +
    "not learned of from PyPI, or updates one it knows; it must be run on the master's machine.",
  logging: "flag",
  options: [
    {
      flags: "-s, --skip <REASON>",
      help: "Add the new package or version marked to skip, with this reason",
      defaultText: "none",
    },
    { flags: "--unskip", help: "Clear the skip reason of an existing package or version" },
    {
      flags: "-d, --description <TEXT>",
      help: "The description of the package; without it (and without a version) the summary is " +
        "fetched from the PyPI JSON API, and the package is added without one if PyPI does not " +
        "answer within 10 seconds",
      defaultText: "fetched from PyPI",
    },
    {
      flags: "-a, --alias <NAME>",
      help: "An alias of the package (it must normalise to the package's name); may be repeated",
      kind: "list",
      default: [],
      defaultText: "none",
    },
    {
      flags: "-r, --released <TIMESTAMP>",
      help: "When the new version was released, as 'YYYY-MM-DD HH:MM:SS' in UTC",
      kind: "datetime",
      defaultText: "now",
    },
    { flags: "--yank", help: "Add the new version marked as yanked" },
    { flags: "--unyank", help: "Clear the yanked flag of an existing version" },
    {
      flags: "--priority <N>",
      help: "Set the package's build priority, from -1000 to 1000 (0 is normal): its queued " +
        "versions are built before those of every package with a lower priority, whatever " +
        "their release dates and downloads; among equal priorities, new releases (the last 7 " +
        "days) go first, then more downloaded packages, then older releases. Alone, it only " +
        "sets the priority of a known package; the output shows where the package now stands " +
        "in each ABI's build queue",
      kind: "int",
      defaultText: "unchanged",
    },
    PYPI_JSON,
    ...CLIENT_OPTIONS,
  ],
  args: [
    { name: "package", help: "The name of the package to add", required: true },
    { name: "version", help: "The version of the package to add", required: false },
  ],
  load: () => import("../add/main.ts"),
};

const rebuild: CommandSpec<"rebuild"> = {
  name: "rebuild",
  summary: "Ask the master to rebuild parts of the website",
  description: "The piw rebuild command queues rebuilds of web pages; it must be run on the " +
    "master's machine. Rebuilding project or index pages for all packages asks first.",
  logging: "flag",
  options: [...CLIENT_OPTIONS],
  args: [
    {
      name: "part",
      help: "The part of the website to rebuild: home (/index.html), search (/packages.json), " +
        "project (/project/PACKAGE/) or index (/simple/PACKAGE/ and /project/PACKAGE/)",
      required: true,
      choices: ["home", "search", "project", "index"],
    },
    {
      name: "package",
      help: "The package whose pages to rebuild (project and index only); all packages if " +
        "omitted",
      required: false,
    },
  ],
  load: () => import("../rebuild/main.ts"),
};

const remove: CommandSpec<"remove"> = {
  name: "remove",
  summary: "Remove a package or version (or just its builds) from the system",
  description: "The piw remove command removes a package, or a version of a package, with all " +
    "its builds and files; it must be run on the master's machine.",
  logging: "flag",
  options: [
    {
      flags: "-b, --builds",
      help: "Remove only the builds and files, keeping the package or version (it will be " +
        "built again unless it is also skipped)",
    },
    {
      flags: "-s, --skip <REASON>",
      help: "Leave the package or version in place, but marked with a reason to prevent future " +
        "build attempts; unlike piwheels, its published files stay published: add -b " +
        "(-b -s REASON) to take them down too, as piwheels' --skip does",
      defaultText: "none",
    },
    { flags: "--yank", help: "Mark the version as yanked (versions only)" },
    ...CLIENT_OPTIONS,
  ],
  args: [
    { name: "package", help: "The name of the package to remove", required: true },
    {
      name: "version",
      help: "The version of the package to remove; if omitted, removes the entire package",
      required: false,
    },
  ],
  load: () => import("../remove/main.ts"),
};

const retry: CommandSpec<"retry"> = {
  name: "retry",
  summary: "Build failed versions again now, instead of when (or if) their retry is due",
  description: "The piw retry command makes the failed builds of a version, of a package, or " +
    "of one failure class queue again at once; every earlier try is kept. Failures that may go " +
    "away by themselves (no sdist yet, dependency not found, network, timeout, out of memory) " +
    "are retried automatically; the others (a missing header or library, an unsupported " +
    "Python, a compiler error, other) only this way, e.g. after installing a -dev package on " +
    "the builders. It talks to the database directly, as the master's database user.",
  logging: "flag",
  options: [
    {
      flags: "-d, --dsn <DSN>",
      help: "The master's database",
      default: "postgres:///piwheels",
    },
    {
      flags: "--class <CLASS>",
      help: "Retry only failures of this class: " + FAILURE_CLASSES.join(", "),
      choices: [...FAILURE_CLASSES],
      defaultText: "any",
    },
    YES,
  ],
  args: [
    {
      name: "package",
      help: "The package whose failed builds to retry; every package if omitted (then --class " +
        "is required)",
      required: false,
    },
    {
      name: "version",
      help: "The version to retry; every version of the package if omitted",
      required: false,
    },
  ],
  load: () => import("../retry/main.ts"),
};

const logger: CommandSpec<"logger"> = {
  name: "logger",
  summary: "Feed web server access logs to the master",
  description: "The piw logger command is intended for use as an Apache piped log script, but " +
    "can also feed existing Apache logs to the master. It must be run on the master's machine.",
  logging: "flag",
  options: [
    {
      flags: "--format <FORMAT>",
      help: "The Apache log format that log lines will be expected to be in; the short-cuts " +
        "common, combined and common_vhost can be used in addition to Apache LogFormat strings",
      default: "combined",
    },
    LOG_QUEUE,
    {
      flags: "--drop",
      help: "Drop log records if unable to send them to the master after a short timeout; " +
        "use this when piw logger is a piped log script",
    },
  ],
  args: [{
    name: "files",
    help: "The log file(s) to load into the master; '-' (the default) reads standard input",
    required: false,
    variadic: true,
    default: ["-"],
  }],
  load: () => import("../logger/main.ts"),
};

const audit: CommandSpec<"audit"> = {
  name: "audit",
  summary: "Check the website's files against the database (and fix what can be fixed)",
  description: "The piw audit command (piwheels' piw-audit, piw-audit-packages and " +
    "piw-audit-logs in one) reads the database and walks the output path: wheels missing from " +
    "disk, files and directories no row explains, missing pages, missing or broken project " +
    "symlinks, missing and extraneous build logs, and with --hashes wheels whose size or " +
    "SHA-256 differ from their row. It prints a line per problem and a summary, and exits 1 if " +
    "a problem was found and not fixed. Fixing needs the master stopped.",
  logging: "flag",
  options: [
    {
      flags: "-d, --dsn <DSN>",
      help: "The database to use; this database must be configured with piw initdb",
      default: "postgres:///piwheels",
    },
    {
      flags: "-o, --output-path <PATH>",
      help: "The path under which the website has been written; must be readable by the " +
        "current user",
      kind: "path",
      default: "/var/www",
    },
    {
      flags: "--hashes",
      help: "Also verify that every wheel's size and SHA-256 match the database (reads every " +
        "wheel)",
    },
    {
      flags: "--delete-extras",
      help: "Delete the extraneous files, directories, symlinks and logs found",
    },
    {
      flags: "--archive-dir <DIR>",
      help: "Move the extraneous files, directories, symlinks and logs found to this directory " +
        "(keeping their paths below the output path) instead of deleting them",
      kind: "path",
      defaultText: "none",
    },
    {
      flags: "--ensure-project-symlinks",
      help: "Create the missing project/<alias> symlinks and repoint the broken ones",
    },
    {
      flags: "--extra-file <FILE>",
      help: "Write the path of every extraneous file (files which shouldn't exist, but do) to " +
        "this file",
      kind: "path",
      defaultText: "none",
    },
    {
      flags: "--missing-file <FILE>",
      help: "Write the path of every missing file (files which should exist, but don't) to " +
        "this file",
      kind: "path",
      defaultText: "none",
    },
    {
      flags: "--broken-file <FILE>",
      help: "Write the path of every corrupted wheel and broken symlink to this file",
      kind: "path",
      defaultText: "none",
    },
  ],
  args: [],
  load: () => import("../audit/main.ts"),
};

/** Every subcommand, in the order `piw --help` lists them. */
export const COMMANDS: { [N in CommandName]: CommandSpec<N> } = {
  master,
  slave,
  monitor,
  sense,
  initdb,
  import: importer,
  add,
  rebuild,
  remove,
  retry,
  logger,
  audit,
};

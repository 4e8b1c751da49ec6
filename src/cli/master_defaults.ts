/**
 * The defaults of `piw master`'s options, stated once (piwheels' `const.py` plus piw's bounds), as
 * text the command line would take: the option specs (`commands.ts`) show and parse them, and
 * `makeMasterConfig` (src/master/config.ts) converts them for a config built without the CLI.
 * @module
 */

/** Each `piw master` option's default, as its value would be written on the command line. */
export const MASTER_DEFAULTS = {
  dsn: "postgres:///piwheels",
  outputPath: "/var/www",
  siteUrl: "https://www.piwheels.org",
  pypiXmlrpc: "https://pypi.org/pypi",
  pypiSimple: "https://pypi.org/simple",
  pypiJson: "https://pypi.org/pypi",
  statusQueue: "ipc:///tmp/piw-status",
  controlQueue: "ipc:///tmp/piw-control",
  importQueue: "ipc:///tmp/piw-import",
  logQueue: "ipc:///tmp/piw-logger",
  slaveQueue: "tcp://*:5555",
  fileQueue: "tcp://*:5556",
  extrasQueue: "tcp://*:5559",
  webQueue: "inproc://web",
  buildsQueue: "inproc://builds",
  dbQueue: "inproc://db",
  fsQueue: "inproc://fs",
  statsQueue: "inproc://stats",
  metrics: "",
  // piw's own bounds on what slaves may claim (piwheels has none).
  maxFileSize: "2G",
  maxSlaveTimeout: "6h",
  maxSlaves: "1000",
} as const;

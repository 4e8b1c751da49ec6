/**
 * `MasterConfig`: what every master task needs to know, as plain data that survives
 * `postMessage` to a Worker (no class instances, no functions).
 * @module
 */
import type { MasterOptions } from "../cli/options.ts";
import type { LogLevel } from "../log.ts";
import { parseDsn } from "../db/dsn.ts";
import { UsageError } from "../errors.ts";
import { parseDuration } from "../cli/duration.ts";
import { MASTER_DEFAULTS } from "../cli/master_defaults.ts";
import { parseSize } from "../cli/values.ts";

/** Logging settings a Worker re-applies, since each Worker has its own copy of `src/log.ts`. */
export interface LoggingConfig {
  /** Console level. */
  level: LogLevel;
  /** Log file path, `""` for none. */
  file: string;
  /** Log file level. */
  fileLevel: LogLevel;
  /** `--debug TASK` patterns, e.g. `master.the_scribe`. */
  debug: string[];
  /** Prefix console lines with the logger name (always true for the master). */
  showNames: boolean;
}

/** The settings of {@link MasterConfig} that `piw master` takes as they are from its options. */
const FROM_OPTIONS = [
  "dsn",
  "devMode",
  "siteUrl",
  "pypiXmlrpc",
  "pypiSimple",
  "pypiJson",
  "statusQueue",
  "controlQueue",
  "importQueue",
  "logQueue",
  "slaveQueue",
  "fileQueue",
  "extrasQueue",
  "webQueue",
  "buildsQueue",
  "dbQueue",
  "fsQueue",
  "statsQueue",
  "metrics",
  "maxFileSize",
  "maxSlaveTimeout",
  "maxSlaves",
] as const satisfies readonly (keyof MasterOptions)[];

/** The options bounding what slaves may claim: each must be positive. */
const BOUNDS = ["maxFileSize", "maxSlaveTimeout", "maxSlaves"] as const;

/** The options of `piw master` its tasks see as given. */
type GivenOptions = Pick<MasterOptions, (typeof FROM_OPTIONS)[number]>;

/** The serialisable settings of the master and its tasks. */
export interface MasterConfig extends GivenOptions, Pick<MasterOptions, "outputPath"> {
  /** Which engine the DSN names; PGlite allows one connection, so one oracle owns it. */
  dbEngine: "postgres" | "pglite";
  /** Internal status queue (main PULL ← tasks PUSH); fixed in piwheels. */
  intStatusQueue: string;
  /** Seraph's back end, where oracles connect; fixed in piwheels. */
  oracleQueue: string;
  /** The skip queue (SlaveDriver REP ← CloudGazer, MrChase); fixed in piwheels. */
  skipQueue: string;
  /** The scribe's own queue behind TheSecretary; fixed in piwheels. */
  scribeQueue: string;
  /** Counters for the metrics exporter (MetricsExporter PULL ← FileJuggler PUSH); fixed. */
  metricsQueue: string;
  /** How many TheOracle workers: 3 for PostgreSQL, 1 for PGlite. */
  oracleCount: number;
  /** TheArchitect's refresh interval, ms (60 s, 10 s in dev mode). */
  architectInterval: number;
  /**
   * The delays before the automatic retries of a transient failure, ms: 10 min, 1 h, 6 h, 1 day,
   * then none (`PIW_RETRY_DELAYS`, e.g. "2s,4s" in tests).
   */
  retryDelays: number[];
  /**
   * CloudGazer's PyPI poll interval when caught up, ms (2 s: a new release is read within 2 s;
   * while PyPI's journal is busy CloudGazer reads again at once anyway, up to 2 requests/s).
   */
  pypiInterval: number;
  /** BigBrother's statistics interval, ms. */
  statsInterval: number;
  /** Free space on the output path (bytes) at or below which the master pauses (1 GiB). */
  minFreeSpace: number;
  /** How long a DbClient waits for an oracle reply before giving up, ms. */
  dbTimeout: number;
  /** Logging as configured by the CLI. */
  logging: LoggingConfig;
}

/** The default delays before the automatic retries of a transient failure, ms. */
export const DEFAULT_RETRY_DELAYS = [600_000, 3_600_000, 21_600_000, 86_400_000];

/** piwheels' defaults for every queue and setting (`piwheels/const.py`), and piw's. */
const DEFAULTS: MasterConfig = {
  ...MASTER_DEFAULTS,
  maxFileSize: parseSize(MASTER_DEFAULTS.maxFileSize),
  maxSlaveTimeout: parseDuration(MASTER_DEFAULTS.maxSlaveTimeout),
  maxSlaves: Number(MASTER_DEFAULTS.maxSlaves),
  dbEngine: "postgres",
  devMode: false,
  intStatusQueue: "inproc://status",
  oracleQueue: "inproc://oracle",
  skipQueue: "inproc://skip",
  scribeQueue: "inproc://scribe",
  metricsQueue: "inproc://metrics",
  oracleCount: 3,
  architectInterval: 60_000,
  retryDelays: DEFAULT_RETRY_DELAYS,
  pypiInterval: 2_000,
  statsInterval: 10_000,
  minFreeSpace: 2 ** 30,
  dbTimeout: 600_000,
  logging: { level: "warning", file: "", fileLevel: "info", debug: [], showNames: true },
};

/**
 * A complete config from piwheels' defaults plus `overrides`; `dbEngine` and `oracleCount`
 * follow the DSN unless given. Tests use this directly.
 * @example
 * const config = makeMasterConfig({ dsn: "pglite:///tmp/db", outputPath: "/tmp/www" });
 */
export function makeMasterConfig(overrides: Partial<MasterConfig> = {}): MasterConfig {
  const dsn = overrides.dsn ?? DEFAULTS.dsn;
  const dbEngine = overrides.dbEngine ?? parseDsn(dsn).kind;
  return {
    ...DEFAULTS,
    ...overrides,
    dbEngine,
    oracleCount: overrides.oracleCount ?? (dbEngine === "pglite" ? 1 : DEFAULTS.oracleCount),
    logging: { ...DEFAULTS.logging, ...overrides.logging },
  };
}

/**
 * The warning for a site written somewhere of its own whose pages still point at piwheels.org
 * (the default `--site-url`), or null: its sitemaps, project JSON and install lines would send
 * users to another site.
 */
export function siteUrlWarning(
  config: Pick<MasterConfig, "siteUrl" | "outputPath">,
): string | null {
  if (config.siteUrl.replace(/\/+$/, "") !== DEFAULTS.siteUrl) return null;
  if (config.outputPath.replace(/\/+$/, "") === DEFAULTS.outputPath) return null;
  return `--site-url is the default ${DEFAULTS.siteUrl} but the output path is ` +
    `${config.outputPath}: the pages written there will point at ${DEFAULTS.siteUrl}; ` +
    "set --site-url to the address this site is served from";
}

/** The retry delays `PIW_RETRY_DELAYS` gives (comma-separated durations; "" for none). */
export function retryDelaysFromEnv(): number[] {
  const text = Deno.env.get("PIW_RETRY_DELAYS");
  if (text === undefined) return DEFAULT_RETRY_DELAYS;
  if (text.trim() === "") return [];
  try {
    return text.split(",").map((d) => parseDuration(d.trim()));
  } catch (e) {
    throw new UsageError(`PIW_RETRY_DELAYS: ${(e as Error).message}`);
  }
}

/**
 * The host and port of a `--metrics` address (`HOST:PORT`, `[IPv6]:PORT`); a `UsageError` for
 * anything else.
 */
export function parseMetricsAddress(address: string): { hostname: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(address);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) {
    throw new UsageError(
      `invalid --metrics address '${address}': expected HOST:PORT, e.g. 127.0.0.1:9100`,
    );
  }
  return { hostname: match[1].replace(/^\[(.*)\]$/, "$1"), port };
}

/** The config of `piw master` from its parsed options (output path already expanded). */
export function configFromOptions(options: MasterOptions, outputPath: string): MasterConfig {
  // A zero bound would refuse every slave or file: surely a mistake ("none" is 0 as a size).
  for (const [option, value] of BOUNDS.map((key) => [key, options[key]] as const)) {
    if (!(value > 0)) {
      const flag = option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      throw new UsageError(`--${flag} must be more than 0, not ${value}`);
    }
  }
  if (options.metrics) parseMetricsAddress(options.metrics);
  const debug = options.devMode;
  const given = Object.fromEntries(FROM_OPTIONS.map((key) => [key, options[key]]));
  return makeMasterConfig({
    ...given as GivenOptions,
    outputPath,
    // piwheels refreshes the queue hourly; piw's query is cheap enough to run every minute.
    architectInterval: options.devMode ? 10_000 : 60_000,
    retryDelays: retryDelaysFromEnv(),
    pypiInterval: 2_000,
    // Same levels as the CLI's setUpLogging, re-applied inside every Worker.
    logging: {
      level: debug ? "debug" : options.verbose ? "info" : options.quiet ? "error" : "warning",
      file: options.logFile ?? "",
      fileLevel: debug ? "debug" : "info",
      debug: options.debug ?? [],
      showNames: true,
    },
  });
}

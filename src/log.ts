/**
 * Logging shared by every part of piw: named loggers, a console level and an optional log file.
 * @module
 */

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warning" | "error";

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40 };

interface LogSettings {
  consoleLevel: LogLevel;
  file?: { path: string; level: LogLevel };
  /** Logger-name patterns (fnmatch-style `*`) forced to debug, from `--debug TASK`. */
  debugPatterns: RegExp[];
  /** Prefix console lines with the logger name (the master's tasks do). */
  showNames: boolean;
  /** Where console lines go (a line without its newline); standard error by default. */
  sink: (line: string) => void;
}

/** Writes a console line to standard error. */
function stderrSink(line: string): void {
  console.error(line);
}

const settings: LogSettings = {
  consoleLevel: "warning",
  debugPatterns: [],
  showNames: false,
  sink: stderrSink,
};

/**
 * Configure console level, optional log file (`""` removes it), per-logger debug patterns
 * (which apply to the console and the file), name display and the console sink (`null`
 * restores standard error). Settings not given are left as they are.
 */
export function configureLogging(options: {
  level?: LogLevel;
  file?: string;
  fileLevel?: LogLevel;
  debug?: string[];
  showNames?: boolean;
  sink?: ((line: string) => void) | null;
}): void {
  if (options.level) settings.consoleLevel = options.level;
  if (options.file !== undefined) {
    settings.file = options.file
      ? { path: options.file, level: options.fileLevel ?? "debug" }
      : undefined;
    if (openLog && openLog.path !== options.file) closeLogFile();
  }
  if (options.debug) {
    settings.debugPatterns = options.debug.map((p) =>
      new RegExp(
        "^" + p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$",
      )
    );
  }
  if (options.showNames !== undefined) settings.showNames = options.showNames;
  if (options.sink !== undefined) settings.sink = options.sink ?? stderrSink;
}

/** Write a line to the log file only (if there is one), e.g. an error already shown on the console. */
export function writeLogFile(name: string, level: LogLevel, message: string): void {
  if (!settings.file || LEVEL_ORDER[level] < LEVEL_ORDER[settings.file.level]) return;
  appendLogLine(settings.file.path, name, level, message);
}

/** The log file kept open for appending (opening it per line cost ~30 µs a line). */
interface OpenLogFile {
  path: string;
  file: Deno.FsFile;
  /** Its inode, to notice the path being rotated away (then it is reopened). */
  ino: number | null;
  /** When the path was last checked for rotation (performance.now() ms). */
  checkedAt: number;
}

/** How often the log file's path is checked for rotation, ms. */
const ROTATION_CHECK_MS = 1000;
const lineEncoder = new TextEncoder();
let openLog: OpenLogFile | null = null;

function closeLogFile(): void {
  try {
    openLog?.file.close();
  } catch {
    // Already closed.
  }
  openLog = null;
}

/** The open log file for `path`, reopened when the path changed or now names another file. */
function logFile(path: string): Deno.FsFile {
  const now = performance.now();
  if (openLog?.path === path) {
    if (now - openLog.checkedAt < ROTATION_CHECK_MS) return openLog.file;
    openLog.checkedAt = now;
    let ino: number | null = null;
    try {
      ino = Deno.statSync(path).ino;
    } catch {
      // Moved or removed: reopen below.
    }
    if (ino !== null && ino === openLog.ino) return openLog.file;
  }
  closeLogFile();
  const file = Deno.openSync(path, { append: true, create: true });
  openLog = { path, file, ino: file.statSync().ino, checkedAt: now };
  return file;
}

/** Append one timestamped line to the log file; long lines are kept whole. */
function appendLogLine(path: string, name: string, level: LogLevel, message: string): void {
  const line = `${new Date().toISOString()} ${name} ${level.toUpperCase()}: ${message}\n`;
  try {
    const file = logFile(path);
    const bytes = lineEncoder.encode(line);
    for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
  } catch {
    // A log file that cannot be written must not take the program down with it.
    closeLogFile();
  }
}

/** A named logger; names look like `master.slave_driver`. */
export class Logger {
  constructor(readonly name: string) {}

  /** Whether a message at this level would be written anywhere. */
  enabled(level: LogLevel): boolean {
    const file = this.#fileLevel();
    return LEVEL_ORDER[level] >= LEVEL_ORDER[this.#consoleLevel()] ||
      (file !== undefined && LEVEL_ORDER[level] >= LEVEL_ORDER[file]);
  }

  /** Log at debug level. */
  debug(message: string): void {
    this.#write("debug", message);
  }
  /** Log at info level. */
  info(message: string): void {
    this.#write("info", message);
  }
  /** Log at warning level. */
  warning(message: string): void {
    this.#write("warning", message);
  }
  /** Log at error level. */
  error(message: string): void {
    this.#write("error", message);
  }

  #debugged(): boolean {
    return settings.debugPatterns.some((p) => p.test(this.name));
  }

  #consoleLevel(): LogLevel {
    return this.#debugged() ? "debug" : settings.consoleLevel;
  }

  #fileLevel(): LogLevel | undefined {
    if (!settings.file) return undefined;
    return this.#debugged() ? "debug" : settings.file.level;
  }

  #write(level: LogLevel, message: string): void {
    if (LEVEL_ORDER[level] >= LEVEL_ORDER[this.#consoleLevel()]) {
      settings.sink(settings.showNames ? `${this.name}: ${message}` : message);
    }
    const file = this.#fileLevel();
    if (settings.file && file && LEVEL_ORDER[level] >= LEVEL_ORDER[file]) {
      appendLogLine(settings.file.path, this.name, level, message);
    }
  }
}

const loggers = new Map<string, Logger>();

/** The logger with this name (created on first use). */
export function getLogger(name: string): Logger {
  let logger = loggers.get(name);
  if (!logger) loggers.set(name, logger = new Logger(name));
  return logger;
}

/** One key's current interval in a {@link RateLimitedLog}. */
interface RateWindow {
  start: number;
  lines: number;
  suppressed: number;
  level: LogLevel;
}

/**
 * A logger for what peers can repeat at will (malformed messages, unknown senders): at most
 * `lines` lines per key every `intervalMs`; the rest are counted, and once the interval is over
 * one line says how many were suppressed. Keys name a kind of message ("malformed frame"), never
 * a peer, so there are few of them.
 */
export class RateLimitedLog {
  readonly #windows = new Map<string, RateWindow>();

  /** Limit `logger` to `lines` lines per key every `intervalMs` (`now` in ms, for tests). */
  constructor(
    readonly logger: Logger,
    readonly lines = 10,
    readonly intervalMs = 60_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Log at warning level unless `key` has had its lines; true if written. */
  warning(key: string, message: string): boolean {
    return this.log("warning", key, message);
  }

  /** Log at error level unless `key` has had its lines; true if written. */
  error(key: string, message: string): boolean {
    return this.log("error", key, message);
  }

  /** Log `message` at `level` unless `key` has had its lines this interval; true if written. */
  log(level: LogLevel, key: string, message: string): boolean {
    const now = this.now();
    let window = this.#windows.get(key);
    if (window && now - window.start >= this.intervalMs) {
      this.#close(key, window);
      window = undefined;
    }
    if (!window) {
      window = { start: now, lines: 0, suppressed: 0, level };
      this.#windows.set(key, window);
    }
    if (window.lines < this.lines) {
      window.lines++;
      this.logger[level](message);
      return true;
    }
    window.suppressed++;
    if (LEVEL_ORDER[level] > LEVEL_ORDER[window.level]) window.level = level;
    return false;
  }

  /** Report the suppressed counts of intervals that are over (call it from a timer). */
  flush(): void {
    const now = this.now();
    for (const [key, window] of this.#windows) {
      if (now - window.start >= this.intervalMs) this.#close(key, window);
    }
  }

  #close(key: string, window: RateWindow): void {
    this.#windows.delete(key);
    if (window.suppressed === 0) return;
    const seconds = Math.round((this.now() - window.start) / 1000);
    this.logger[window.level](
      `… suppressed ${window.suppressed} similar messages (${key}) in ${seconds} s`,
    );
  }
}

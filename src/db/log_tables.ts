/**
 * The access-log tables, one per lumberjack message: the table, its set-based `log_*` function
 * and the column of each field of the message's wire tuple, with the longest text it takes.
 * Lumberjack cuts texts to these limits before COPY (src/logger/rows.ts), the `log_*` functions
 * cut them the same way; tests/db/log_tables_test.ts checks them against sql/create_piw.sql.
 * @module
 */

/** A column of an access-log table and its longest text (0: not text, never cut). */
export type LogColumn = readonly [name: string, maxLength: number];

/** One lumberjack message's table, function and columns, in wire-tuple order. */
export interface LogTable {
  table: string;
  logFunction: string;
  columns: readonly LogColumn[];
}

/** The client columns of downloads, searches and metadata fetches, after the first field. */
const CLIENT_COLUMNS: readonly LogColumn[] = [
  ["accessed_by", 0],
  ["accessed_at", 0],
  ["arch", 100],
  ["distro_name", 100],
  ["distro_version", 100],
  ["os_name", 100],
  ["os_version", 100],
  ["py_name", 100],
  ["py_version", 100],
  ["installer_name", 20],
  ["installer_version", 100],
  ["setuptools_version", 100],
];

/** The columns of a hit on a page: host, time, user agent. */
const HIT_COLUMNS: readonly LogColumn[] = [
  ["accessed_by", 0],
  ["accessed_at", 0],
  ["user_agent", 2000],
];

/** The table of each lumberjack message (in lumberjack's order). */
export const LOG_TABLES = {
  LOGDOWNLOAD: {
    table: "downloads",
    logFunction: "log_downloads",
    columns: [["filename", 255], ...CLIENT_COLUMNS],
  },
  LOGSEARCH: {
    table: "searches",
    logFunction: "log_searches",
    columns: [["package", 200], ...CLIENT_COLUMNS],
  },
  LOGPROJECT: {
    table: "project_page_hits",
    logFunction: "log_project_hits",
    columns: [["package", 200], ...HIT_COLUMNS],
  },
  LOGJSON: {
    table: "project_json_downloads",
    logFunction: "log_json_downloads",
    columns: [["package", 200], ...HIT_COLUMNS],
  },
  LOGPAGE: {
    table: "web_page_hits",
    logFunction: "log_page_hits",
    columns: [["page", 30], ...HIT_COLUMNS],
  },
  LOGMETADATA: {
    table: "metadata_fetches",
    logFunction: "log_metadata_fetches",
    columns: [["filename", 255], ...CLIENT_COLUMNS],
  },
} as const satisfies Record<string, LogTable>;

/** The name of a lumberjack message. */
export type LogName = keyof typeof LOG_TABLES;

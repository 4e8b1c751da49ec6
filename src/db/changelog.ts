/**
 * CloudGazer's batched writes: one fetch of PyPI's changelog applied in one transaction
 * (`apply_changelog` in sql/create_piw.sql), and the 'deleted' marks it sets before telling the
 * web and skip queues of removals (`mark_deleted`).
 * @module
 */
import { queryValue, type SqlClient } from "./client.ts";

/** What a changelog event does (src/pypi's `PackageAction`). */
export type ChangelogAction = "create" | "source" | "remove" | "yank" | "unyank";

/** One PyPI package event as the database applies it. */
export interface ChangelogEvent {
  action: ChangelogAction;
  /** Canonical package name. */
  package: string;
  /** The version, or null for the whole package. */
  version: string | null;
  /** When PyPI recorded it: a new version's release time. */
  timestamp: Date;
  /** The package's summary (create and source events), or null when unknown. */
  description: string | null;
}

/** A name a package was seen under, and when it was last seen so. */
export interface NameSighting {
  package: string;
  name: string;
  seen: Date;
}

/** One batch for {@link applyChangelog}. */
export interface ChangelogBatch {
  /** The events, applied in this order. */
  events: ChangelogEvent[];
  /** Name sightings, recorded after the events (a later sighting wins). */
  names: NameSighting[];
  /** Skip reason of packages the batch adds ('' or 'development mode'). */
  newPackageSkip: string;
  /** The serial stored before the batch; the batch is refused if the database holds another. */
  fromSerial: number;
  /** The serial to store with the batch (never smaller than `fromSerial`). */
  toSerial: number;
}

/** Outcome flag: the event added its package. */
export const PACKAGE_ADDED = 1;
/** Outcome flag: the event added its version. */
export const VERSION_ADDED = 2;
/** Outcome flag: a source file cleared the version's 'binary only' skip. */
export const VERSION_ENABLED = 4;

const seconds = (date: Date) => date.getTime() / 1000;

/**
 * Apply `batch` in one transaction and store its serial; resolves to one outcome per event (a
 * sum of {@link PACKAGE_ADDED}, {@link VERSION_ADDED}, {@link VERSION_ENABLED}). All or nothing.
 */
export async function applyChangelog(sql: SqlClient, batch: ChangelogBatch): Promise<number[]> {
  const events = batch.events.map((e) => [
    e.action,
    e.package,
    e.version,
    seconds(e.timestamp),
    e.description,
  ]);
  const names = batch.names.map((n) => [n.package, n.name, seconds(n.seen)]);
  const outcomes = await queryValue<string>(
    sql,
    "SELECT apply_changelog($1::text::jsonb, $2::text::jsonb, $3, $4, $5) AS value",
    [
      JSON.stringify(events),
      JSON.stringify(names),
      batch.newPackageSkip,
      batch.fromSerial,
      batch.toSerial,
    ],
  );
  return Array.from(outcomes, Number);
}

/** Mark packages (`version` null) and versions as 'deleted' ahead of their removal. */
export async function markDeleted(
  sql: SqlClient,
  targets: [pkg: string, version: string | null][],
): Promise<void> {
  await sql.query("SELECT mark_deleted($1::text::jsonb)", [JSON.stringify(targets)]);
}

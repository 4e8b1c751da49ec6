/**
 * Packages, versions, names, skips and yanks, the PyPI serial and the build ABIs.
 * @module
 */
import { queryValue as scalar, type SqlClient } from "./client.ts";

/** The "unknown" timestamp piwheels uses for releases and names. */
export const EPOCH = new Date(0);

/** Every known package name. */
export async function getAllPackages(sql: SqlClient): Promise<Set<string>> {
  const rows = await sql.query<{ package: string }>("SELECT package FROM packages");
  return new Set(rows.map((r) => r.package));
}

/** Every known `[package, version]`. */
export async function getAllPackageVersions(sql: SqlClient): Promise<[string, string][]> {
  const rows = await sql.query<{ package: string; version: string }>(
    "SELECT package, version FROM versions",
  );
  return rows.map((r) => [r.package, r.version]);
}

/** Add a package; false if it was known already. */
export function addNewPackage(
  sql: SqlClient,
  pkg: string,
  skip = "",
  description = "",
): Promise<boolean> {
  return scalar(sql, "SELECT add_new_package($1, $2, $3) AS value", [pkg, skip, description]);
}

/** Add a version (released null: unknown); false if it was known already. */
export function addNewPackageVersion(
  sql: SqlClient,
  pkg: string,
  version: string,
  released: Date | null = null,
  skip = "",
): Promise<boolean> {
  return scalar(sql, "SELECT add_new_package_version($1, $2, $3, $4) AS value", [
    pkg,
    version,
    released,
    skip,
  ]);
}

/** Record that `pkg` was seen under `name` at `seen` (a later sighting wins). */
export async function addPackageName(
  sql: SqlClient,
  pkg: string,
  name: string,
  seen: Date = EPOCH,
): Promise<void> {
  await sql.query("SELECT add_package_name($1, $2, $3)", [pkg, name, seen]);
}

/** Names `pkg` was seen under, except its canonical name, sorted. */
export async function getPackageAliases(sql: SqlClient, pkg: string): Promise<string[]> {
  const rows = await sql.query<{ name: string }>(
    "SELECT name FROM package_names WHERE package = $1 AND name <> $1 ORDER BY name",
    [pkg],
  );
  return rows.map((r) => r.name);
}

/** The most recently seen name of `pkg` (its canonical name if none); null if unknown. */
export async function getProjectDisplayName(
  sql: SqlClient,
  pkg: string,
): Promise<string | null> {
  return await scalar<string>(
    sql,
    `SELECT COALESCE(
        (SELECT name FROM package_names WHERE package = p.package
            ORDER BY seen DESC, name LIMIT 1),
        p.package) AS value
     FROM packages p WHERE p.package = $1`,
    [pkg],
  ) ?? null;
}

/** The description of `pkg`; null if unknown. */
export async function getPackageDescription(sql: SqlClient, pkg: string): Promise<string | null> {
  return await scalar<string>(
    sql,
    "SELECT description AS value FROM packages WHERE package = $1",
    [pkg],
  ) ?? null;
}

/** Replace the description of `pkg` (cut to 200 characters). */
export async function setPackageDescription(
  sql: SqlClient,
  pkg: string,
  description: string,
): Promise<void> {
  await sql.query("SELECT set_package_description($1, $2)", [pkg, description]);
}

/** Stop (or, with `""`, resume) building every version of `pkg`. */
export async function skipPackage(sql: SqlClient, pkg: string, reason: string): Promise<void> {
  await sql.query("SELECT skip_package($1, $2)", [pkg, reason]);
}

/** Stop (or, with `""`, resume) building one version. */
export async function skipPackageVersion(
  sql: SqlClient,
  pkg: string,
  version: string,
  reason: string,
): Promise<void> {
  await sql.query("SELECT skip_package_version($1, $2, $3)", [pkg, version, reason]);
}

/** Remove a package with its versions, builds and files. */
export async function deletePackage(sql: SqlClient, pkg: string): Promise<void> {
  await sql.query("SELECT delete_package($1)", [pkg]);
}

/** Remove one version with its builds and files. */
export async function deleteVersion(sql: SqlClient, pkg: string, version: string): Promise<void> {
  await sql.query("SELECT delete_version($1, $2)", [pkg, version]);
}

/** Mark a version yanked (it leaves the build queue). */
export async function yankVersion(sql: SqlClient, pkg: string, version: string): Promise<void> {
  await sql.query("SELECT yank_version($1, $2)", [pkg, version]);
}

/** Clear a version's yanked mark. */
export async function unyankVersion(sql: SqlClient, pkg: string, version: string): Promise<void> {
  await sql.query("SELECT unyank_version($1, $2)", [pkg, version]);
}

/** Whether `pkg` is known. */
export async function testPackage(sql: SqlClient, pkg: string): Promise<boolean> {
  return await scalar(sql, "SELECT EXISTS (SELECT 1 FROM packages WHERE package = $1) AS value", [
    pkg,
  ]);
}

/** Whether a version of `pkg` is known. */
export async function testPackageVersion(
  sql: SqlClient,
  pkg: string,
  version: string,
): Promise<boolean> {
  return await scalar(
    sql,
    "SELECT EXISTS (SELECT 1 FROM versions WHERE package = $1 AND version = $2) AS value",
    [pkg, version],
  );
}

/** Whether `pkg` is skipped as `deleted` (removal in progress). */
export async function packageMarkedDeleted(sql: SqlClient, pkg: string): Promise<boolean> {
  return await scalar(
    sql,
    "SELECT EXISTS (SELECT 1 FROM packages WHERE package = $1 AND skip = 'deleted') AS value",
    [pkg],
  );
}

/** Versions of `pkg` skipped as `deleted`. */
export async function getVersionsDeleted(sql: SqlClient, pkg: string): Promise<string[]> {
  const rows = await sql.query<{ version: string }>(
    "SELECT version FROM versions WHERE package = $1 AND skip = 'deleted' ORDER BY version",
    [pkg],
  );
  return rows.map((r) => r.version);
}

/** Why a version is not built: its own skip reason, else its package's; null if unknown. */
export async function getVersionSkip(
  sql: SqlClient,
  pkg: string,
  version: string,
): Promise<string | null> {
  return await scalar<string>(
    sql,
    `SELECT CASE WHEN v.skip <> '' THEN v.skip ELSE p.skip END AS value
     FROM versions v JOIN packages p ON p.package = v.package
     WHERE v.package = $1 AND v.version = $2`,
    [pkg, version],
  ) ?? null;
}

/** The serial of the last PyPI event processed. */
export function getPypiSerial(sql: SqlClient): Promise<number> {
  return scalar(sql, "SELECT get_pypi_serial() AS value");
}

/** Store the serial of the last PyPI event processed; a smaller one than stored is refused. */
export async function setPypiSerial(sql: SqlClient, serial: number): Promise<void> {
  await sql.query("SELECT set_pypi_serial($1)", [serial]);
}

/** The build ABIs in build order (lowest CPython first), by default only those not skipped. */
export async function getBuildAbis(
  sql: SqlClient,
  options: { excludeSkipped?: boolean } = {},
): Promise<string[]> {
  const rows = await sql.query<{ abi_tag: string }>(
    `SELECT abi_tag FROM build_abis WHERE NOT $1 OR skip = ''
     ORDER BY abi_order(abi_tag), abi_tag`,
    [options.excludeSkipped ?? true],
  );
  return rows.map((r) => r.abi_tag);
}

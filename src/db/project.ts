/**
 * Project data for the web output: everything one project page needs, in one query.
 * @module
 */
import { queryValue, type SqlClient } from "./client.ts";
import type { ProjectBuild, ProjectData, ProjectFile, ProjectRelease } from "./types.ts";

type Raw<T, K extends keyof T> = Omit<T, K> & { [P in K]: string };
type RawRelease = Raw<Omit<ProjectRelease, "builds">, "released"> & {
  builds: (Raw<ProjectBuild, "builtAt"> & { retryAt?: string | null })[];
};

type RawProjectData = (Omit<ProjectData, "releases"> & { releases: RawRelease[] }) | null | string;

/** All of a project's data (see `ProjectData`); null for an unknown package. */
export async function getProjectData(sql: SqlClient, pkg: string): Promise<ProjectData | null> {
  const raw = await queryValue<RawProjectData>(sql, "SELECT get_project_data($1) AS value", [pkg]);
  return parseProjectData(raw);
}

/**
 * The data of several projects in one round trip, in the order asked (null for an unknown
 * package): what a full rebuild of the website reads.
 */
export async function getProjectsData(
  sql: SqlClient,
  pkgs: string[],
): Promise<(ProjectData | null)[]> {
  if (!pkgs.length) return [];
  // The names go as text cast to json (postgres.js would encode a string bound to json again).
  const raw = await queryValue<RawProjectData[] | string>(
    sql,
    "SELECT json_agg(get_project_data(p) ORDER BY i) AS value " +
      "FROM json_array_elements_text($1::text::json) WITH ORDINALITY AS t(p, i)",
    [JSON.stringify(pkgs)],
  );
  const list: RawProjectData[] = typeof raw === "string" ? JSON.parse(raw) : raw ?? [];
  return list.map(parseProjectData);
}

function parseProjectData(raw: RawProjectData | undefined): ProjectData | null {
  if (raw === null || raw === undefined) return null;
  const data = typeof raw === "string" ? JSON.parse(raw) : raw;
  return {
    ...data,
    releases: data.releases.map((r: RawRelease): ProjectRelease => ({
      ...r,
      released: new Date(r.released),
      builds: r.builds.map((b) => ({
        ...b,
        builtAt: new Date(b.builtAt),
        retryAt: b.retryAt ? new Date(b.retryAt) : null,
      })),
      files: r.files.map((f) => ({ ...f, filehash: f.filehash.trimEnd() })),
    })),
  };
}

/** A release's row of the (piwheels 0.18) versions table: which ABIs built or failed. */
export interface ProjectVersion {
  version: string;
  released: Date;
  yanked: boolean;
  skip: string;
  /** ABIs with status success, in ABI order. */
  builtAbis: string[];
  /** ABIs with status fail, in ABI order. */
  failedAbis: string[];
}

/** Per release, what built and what failed, newest first (piwheels 0.18's project versions). */
export async function getProjectVersions(sql: SqlClient, pkg: string): Promise<ProjectVersion[]> {
  const data = await getProjectData(sql, pkg);
  return (data?.releases ?? []).map((r) => ({
    version: r.version,
    released: r.released,
    yanked: r.yanked,
    skip: r.skip,
    builtAbis: Object.keys(r.abis).filter((abi) => r.abis[abi].status === "success"),
    failedAbis: Object.keys(r.abis).filter((abi) => r.abis[abi].status === "fail"),
  }));
}

/** Every file of a project with its release (piwheels 0.18's project files), newest first. */
export async function getProjectFiles(
  sql: SqlClient,
  pkg: string,
): Promise<(ProjectFile & { version: string; yanked: boolean })[]> {
  const data = await getProjectData(sql, pkg);
  return (data?.releases ?? []).flatMap((r) =>
    r.files.map((f) => ({ ...f, version: r.version, yanked: r.yanked }))
  );
}

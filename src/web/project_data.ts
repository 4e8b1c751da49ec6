/**
 * Project data as it arrives over the oracle queue (`PROJDATA`, a loosely typed CBOR map) made
 * back into the database layer's `ProjectData`, checking the shape on the way: the scribe
 * renders nothing from a field it has not checked.
 * @module
 */
import { PiwError } from "../errors.ts";
import type {
  AbiStatus,
  ProjectBuild,
  ProjectData,
  ProjectFile,
  ProjectRelease,
} from "../db/types.ts";

/** PROJDATA data that is not project data. */
export class ProjectDataError extends PiwError {
  override name = "ProjectDataError";
}

type Raw = Record<string, unknown>;

function obj(value: unknown, what: string): Raw {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProjectDataError(`${what} is not a map`);
  }
  return value as Raw;
}

function str(value: unknown, what: string): string {
  if (typeof value !== "string") throw new ProjectDataError(`${what} is not a string`);
  return value;
}

function num(value: unknown, what: string): number {
  const n = typeof value === "bigint" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    throw new ProjectDataError(`${what} is not a number`);
  }
  return n;
}

function date(value: unknown, what: string): Date {
  const d = value instanceof Date ? value : typeof value === "string" ? new Date(value) : null;
  if (!d || Number.isNaN(d.getTime())) throw new ProjectDataError(`${what} is not a datetime`);
  return d;
}

function strings(value: unknown, what: string): string[] {
  if (!Array.isArray(value)) throw new ProjectDataError(`${what} is not a list`);
  return value.map((v, i) => str(v, `${what}[${i}]`));
}

function list<T>(value: unknown, what: string, each: (v: unknown, what: string) => T): T[] {
  if (!Array.isArray(value)) throw new ProjectDataError(`${what} is not a list`);
  return value.map((v, i) => each(v, `${what}[${i}]`));
}

function nullableStr(value: unknown, what: string): string | null {
  return value === null || value === undefined ? null : str(value, what);
}

function build(value: unknown, what: string): ProjectBuild {
  const b = obj(value, what);
  return {
    buildId: num(b.buildId, `${what}.buildId`),
    abiTag: str(b.abiTag, `${what}.abiTag`),
    status: Boolean(b.status),
    builtAt: date(b.builtAt, `${what}.builtAt`),
    builtBy: num(b.builtBy ?? 0, `${what}.builtBy`),
    durationMs: num(b.durationMs ?? 0, `${what}.durationMs`),
    failureClass: nullableStr(b.failureClass, `${what}.failureClass`),
    failureDetail: str(b.failureDetail ?? "", `${what}.failureDetail`),
    failureLines: str(b.failureLines ?? "", `${what}.failureLines`),
    retryAt: b.retryAt === null || b.retryAt === undefined
      ? null
      : date(b.retryAt, `${what}.retryAt`),
  };
}

function file(value: unknown, what: string): ProjectFile {
  const f = obj(value, what);
  return {
    filename: str(f.filename, `${what}.filename`),
    buildId: num(f.buildId, `${what}.buildId`),
    filesize: num(f.filesize, `${what}.filesize`),
    filehash: str(f.filehash, `${what}.filehash`).trim(),
    packageTag: str(f.packageTag ?? "", `${what}.packageTag`),
    packageVersionTag: str(f.packageVersionTag ?? "", `${what}.packageVersionTag`),
    pyVersionTag: str(f.pyVersionTag ?? "", `${what}.pyVersionTag`),
    abiTag: str(f.abiTag ?? "", `${what}.abiTag`),
    platformTag: str(f.platformTag ?? "", `${what}.platformTag`),
    requiresPython: nullableStr(f.requiresPython, `${what}.requiresPython`),
    location: str(f.location ?? "/simple", `${what}.location`),
    builderAbi: str(f.builderAbi ?? "", `${what}.builderAbi`),
    aptDependencies: strings(f.aptDependencies ?? [], `${what}.aptDependencies`),
    pipDependencies: strings(f.pipDependencies ?? [], `${what}.pipDependencies`),
  };
}

const STATUSES = new Set(["success", "fail", "skip", "pending"]);

function abis(value: unknown, what: string): Record<string, AbiStatus> {
  const result: Record<string, AbiStatus> = {};
  for (const [abi, raw] of Object.entries(obj(value ?? {}, what))) {
    const s = obj(raw, `${what}.${abi}`);
    const status = str(s.status, `${what}.${abi}.status`);
    if (!STATUSES.has(status)) throw new ProjectDataError(`${what}.${abi}.status is ${status}`);
    result[abi] = {
      status: status as AbiStatus["status"],
      buildId: s.buildId === null || s.buildId === undefined
        ? null
        : num(s.buildId, `${what}.${abi}.buildId`),
    };
  }
  return result;
}

function release(value: unknown, what: string): ProjectRelease {
  const r = obj(value, what);
  return {
    version: str(r.version, `${what}.version`),
    released: date(r.released, `${what}.released`),
    skip: str(r.skip ?? "", `${what}.skip`),
    yanked: Boolean(r.yanked),
    queuedAbi: nullableStr(r.queuedAbi, `${what}.queuedAbi`),
    builds: list(r.builds ?? [], `${what}.builds`, build),
    files: list(r.files ?? [], `${what}.files`, file),
    abis: abis(r.abis, `${what}.abis`),
  };
}

/**
 * `ProjectData` from a PROJDATA result; null for the empty map the oracle sends for an unknown
 * package. Throws {@link ProjectDataError} naming the first field that is wrong.
 */
export function toProjectData(raw: Record<string, unknown>): ProjectData | null {
  if (Object.keys(raw).length === 0) return null;
  const pkg = str(raw.package, "package");
  return {
    package: pkg,
    name: str(raw.name ?? pkg, "name"),
    description: str(raw.description ?? "", "description"),
    skip: str(raw.skip ?? "", "skip"),
    aliases: strings(raw.aliases ?? [], "aliases"),
    releases: list(raw.releases, "releases", release),
  };
}

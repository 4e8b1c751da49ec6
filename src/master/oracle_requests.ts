/**
 * What TheOracle does for each oracle request: one `Database` call per message, converting the
 * wire tuples to the database layer's records and back.
 * @module
 */
import type { ChangelogAction, Database } from "../db/mod.ts";
import { classifyFailure, TRANSIENT_CLASSES } from "../failures/classify.ts";
import type { BuildRecord, FileRecord } from "../db/types.ts";
import {
  type BuildStateTuple,
  type DataOf,
  type FileStateTuple,
  type OracleRequest,
  type OracleResult,
  type PageLog,
  PENDING_LOGS_PAGE,
  type SearchLog,
  type theOracleProtocol,
} from "../protocols/mod.ts";

type Requests = typeof theOracleProtocol.recv;

/** What the handlers take from the master's configuration. */
export interface OracleContext {
  /** The delays before each automatic retry of a transient failure, ms. */
  retryDelays: number[];
}

/** One handler per request: the request's data in, the typed `OK` result out. */
export type OracleHandlers = {
  [N in OracleRequest]: (
    db: Database,
    data: DataOf<Requests[N]>,
    context: OracleContext,
  ) => Promise<OracleResult<N>>;
};

function accessRecord(log: SearchLog) {
  const [, host, timestamp, arch, distroName, distroVersion, osName, osVersion, pyName] = log;
  const [pyVersion, installerName, installerVersion, setuptoolsVersion] = log.slice(9) as (
    | string
    | null
  )[];
  return {
    host,
    timestamp,
    arch,
    distroName,
    distroVersion,
    osName,
    osVersion,
    pyName,
    pyVersion,
    installerName,
    installerVersion,
    setuptoolsVersion,
  };
}

function hitRecord([pkg, host, timestamp, userAgent]: PageLog) {
  return { package: pkg, host, timestamp, userAgent };
}

/**
 * A LOGBUILD tuple as the database's record; the output goes to a log file (TheScribe), not the
 * builds table, since piwheels 0.20: it is kept in logs_pending, in the build's transaction,
 * only until that file is written. A failure's class and the lines that show it are kept, and
 * a transient one is given the retry schedule. Classified here, from the output alone, so that
 * piwheels slaves' builds (which say nothing more) and journaled ones are classified alike.
 */
function buildRecord(
  [builtBy, pkg, version, abiTag, status, duration, output, files]: BuildStateTuple,
  context: OracleContext,
): BuildRecord {
  const record: BuildRecord = {
    package: pkg,
    version,
    builtBy,
    duration: duration.toMilliseconds(),
    status,
    abiTag,
    files: files.map(fileRecord),
    output,
  };
  if (!status) {
    const failure = classifyFailure(output, pkg, version);
    record.failure = failure;
    record.retryDelays = TRANSIENT_CLASSES.has(failure.failureClass) ? context.retryDelays : [];
  }
  return record;
}

function fileRecord(file: FileStateTuple): FileRecord {
  const [filename, filesize, filehash, packageTag, packageVersionTag, pyVersionTag] = file;
  const [abiTag, platformTag, requiresPython, dependencies, location] = file.slice(6) as [
    string,
    string,
    string | null,
    Record<string, string[]>,
    string,
  ];
  return {
    filename,
    filesize,
    filehash,
    packageTag,
    packageVersionTag,
    pyVersionTag,
    abiTag,
    platformTag,
    requiresPython,
    dependencies,
    location,
  };
}

/** Every oracle request mapped to the database layer. */
export const oracleHandlers: OracleHandlers = {
  ALLPKGS: (db) => db.getAllPackages(),
  ALLVERS: async (db) => new Set(await db.getAllPackageVersions()),
  NEWPKG: (db, [pkg, skip, description]) => db.addNewPackage(pkg, skip, description),
  NEWVER: (db, [pkg, version, released, skip]) =>
    db.addNewPackageVersion(pkg, version, released, skip),
  NEWPKGNAME: async (db, [pkg, name, seen]) => {
    await db.addPackageName(pkg, name, seen ?? undefined);
    return null;
  },
  GETPKGNAMES: (db, pkg) => db.getPackageAliases(pkg),
  SETDESC: async (db, [pkg, description]) => {
    await db.setPackageDescription(pkg, description);
    return null;
  },
  SKIPPKG: async (db, [pkg, reason]) => {
    await db.skipPackage(pkg, reason);
    return null;
  },
  SKIPVER: async (db, [pkg, version, reason]) => {
    await db.skipPackageVersion(pkg, version, reason);
    return null;
  },
  DELPKG: async (db, pkg) => {
    await db.deletePackage(pkg);
    return null;
  },
  DELVER: async (db, [pkg, version]) => {
    await db.deleteVersion(pkg, version);
    return null;
  },
  YANKVER: async (db, [pkg, version]) => {
    await db.yankVersion(pkg, version);
    return null;
  },
  UNYANKVER: async (db, [pkg, version]) => {
    await db.unyankVersion(pkg, version);
    return null;
  },
  LOGDOWNLOAD: async (db, log) => {
    await db.logDownload({ filename: log[0], ...accessRecord(log) });
    return null;
  },
  LOGSEARCH: async (db, log) => {
    await db.logSearch({ package: log[0], ...accessRecord(log) });
    return null;
  },
  LOGPROJECT: async (db, log) => {
    await db.logProject(hitRecord(log));
    return null;
  },
  LOGJSON: async (db, log) => {
    await db.logJson(hitRecord(log));
    return null;
  },
  LOGPAGE: async (db, [page, host, timestamp, userAgent]) => {
    await db.logPage({ page, host, timestamp, userAgent });
    return null;
  },
  LOGBUILD: (db, build, context) => db.logBuild(buildRecord(build, context)),
  LOGBUILDS: (db, builds, context) => db.logBuilds(builds.map((b) => buildRecord(b, context))),
  DELBUILD: async (db, [pkg, version]) => {
    await db.deleteBuild(pkg, version);
    return null;
  },
  PKGFILES: (db, pkg) => db.getPackageFiles(pkg),
  PROJDATA: (db, pkg) => db.getProjectData(pkg),
  PROJDATAS: (db, pkgs) => db.getProjectsData(pkgs),
  VERFILES: async (db, [pkg, version]) => new Set(await db.getVersionFiles(pkg, version)),
  // An unknown version has no skip reason to report.
  GETSKIP: async (db, [pkg, version]) => await db.getVersionSkip(pkg, version) ?? "",
  PKGEXISTS: (db, pkg) => db.testPackage(pkg),
  PKGDELETED: (db, pkg) => db.packageMarkedDeleted(pkg),
  VEREXISTS: (db, [pkg, version]) => db.testPackageVersion(pkg, version),
  VERSDELETED: async (db, pkg) => new Set(await db.getVersionsDeleted(pkg)),
  GETABIS: async (db, excludeSkipped) => new Set(await db.getBuildAbis({ excludeSkipped })),
  GETPYPI: (db) => db.getPypiSerial(),
  SETPYPI: async (db, serial) => {
    await db.setPypiSerial(serial);
    return null;
  },
  INITSTATS: (db) => db.getInitialStatistics(),
  GETSTATS: (db) => db.getStatistics(),
  GETSEARCH: (db) => db.getSearchIndex(),
  // piwheels declares FILEDEPS without a handler; piw answers with the file's apt dependencies.
  FILEDEPS: async (db, filename) => ({ apt: await db.getFileAptDependencies(filename) }),
  SAVERWP: async (db, rows) => {
    await db.saveRewritesPending(
      rows.map(([pkg, addedAt, command]) => ({
        package: pkg,
        addedAt,
        command: command as "PROJECT" | "BOTH",
      })),
    );
    return null;
  },
  LOADRWP: async (db) =>
    (await db.loadRewritesPending()).map((row) => [row.package, row.addedAt, row.command]),
  // The queue is read after queueing again the failed builds whose retry time has come.
  GETQUEUE: async (db, limit) => {
    await db.requeueDueRetries();
    return db.getBuildQueue(limit);
  },
  RETRYSDIST: (db, targets) => db.retryNoSdist(targets),
  RETRYLIBS: (db, [abi, names]) => db.retryMissingLibraries(abi, names),
  FAILCOUNTS: (db) => db.getFailureCounts(),
  PENDINGLOGS: (db, [after, minAgeMs]) =>
    db.getPendingLogs(after, minAgeMs, PENDING_LOGS_PAGE.logs, PENDING_LOGS_PAGE.bytes),
  LOGSWRITTEN: (db, ids) => db.logsWritten(ids),
  RANKQUEUE: (db) => db.refreshQueueRanks(),
  SETPRIO: (db, [pkg, priority]) => db.setPackagePriority(pkg, priority),
  PKGQUEUE: (db, pkg) => db.getPackageQueue(pkg),
  BUILDSHOUR: (db) => db.getBuildsLastHour(),
  RETRIESPEND: (db) => db.getRetriesPending(),
  LOGBATCH: (db, rows) => db.logAccess(rows),
  MARKDEL: async (db, targets) => {
    await db.markDeleted(targets);
    return null;
  },
  PYPIBATCH: (db, [events, names, newPackageSkip, fromSerial, toSerial]) =>
    db.applyChangelog({
      events: events.map(([action, pkg, version, timestampMs, description]) => ({
        action: action as ChangelogAction,
        package: pkg,
        version,
        timestamp: new Date(timestampMs),
        description,
      })),
      names: names.map(([pkg, name, seenMs]) => ({ package: pkg, name, seen: new Date(seenMs) })),
      newPackageSkip,
      fromSerial,
      toSerial,
    }),
};

/**
 * `piw add`: add a package or version piw has not learned of from PyPI, or update one it knows
 * (piwheels 0.20's `piw-add`), through the master's import queue. A package added without
 * `--description` gets its summary from PyPI's JSON API, as piwheels does; a farm with no route
 * to PyPI gets a warning and adds the package without one.
 * @module
 */
import { UsageError } from "../errors.ts";
import { getLogger } from "../log.ts";
import { DescriptionFetcher } from "../pypi/description.ts";
import type { AddOptions } from "../cli/options.ts";
import { confirm } from "../cli/prompt.ts";
import { expectDone, withImportClient } from "../clients/import.ts";
import { canonicaliseName, isValidProjectName, isValidVersion } from "../wheel/mod.ts";
import { MAX_PRIORITY } from "../protocols/mod.ts";

/** What the master's answer means, for the user. */
const OUTCOMES: Record<string, string> = {
  NEWPKG: "added package",
  UPDPKG: "updated package",
  NEWVER: "added version",
  UPDVER: "updated version",
};

/** Why the master refused, for the user. */
const REFUSALS: Record<string, string> = {
  NOPKG: "unknown package; add the package first",
  SKIPPKG: "the package already exists; use piw remove --skip to skip it",
  SKIPVER: "the version already exists; use piw remove --skip to skip it",
  YANKVER: "the version already exists; use piw remove --yank to yank it",
};

/** How long PyPI may take to send a description before the package is added without one. */
export const DESCRIPTION_TIMEOUT_MS = 10_000;

const log = getLogger("add");

/**
 * The summary of `pkg` from the JSON API at `url`, or `""` (with a warning) when PyPI cannot be
 * asked or does not answer in time: a missing description must never stop a package being added.
 */
export async function pypiDescription(
  pkg: string,
  url: string,
  timeoutMs = DESCRIPTION_TIMEOUT_MS,
): Promise<string> {
  const fetcher = new DescriptionFetcher({ url, timeoutMs });
  let description: string | null = null;
  let why = "not available";
  try {
    description = await fetcher.describe(pkg);
  } catch (e) {
    why = (e as Error).message;
  }
  if (description === null) {
    log.warning(
      `couldn't fetch the description of ${pkg} from ${fetcher.url} (${why}); adding it ` +
        `without one (use --description to give one)`,
    );
    return "";
  }
  return description;
}

/** Run `piw add` with parsed options; resolves to the exit code. */
export async function run(options: AddOptions): Promise<number> {
  // Refused here, at the door: the page writer would refuse them later, only in the master log.
  for (const name of [options.package, ...options.alias]) {
    if (!isValidProjectName(name)) {
      throw new UsageError(
        `invalid package name ${JSON.stringify(name)}: a name is letters, digits, ".", "-" ` +
          `and "_", starting and ending with a letter or digit`,
      );
    }
  }
  if (options.version !== undefined && !isValidVersion(options.version)) {
    throw new UsageError(
      `invalid version ${JSON.stringify(options.version)}: not a PEP 440 version`,
    );
  }
  const pkg = canonicaliseName(options.package);
  for (const alias of options.alias) {
    if (canonicaliseName(alias) !== pkg) {
      throw new UsageError(`alias ${alias} does not match the canonical name ${pkg}`);
    }
  }
  if (options.skip !== undefined && options.unskip) {
    throw new UsageError("--skip and --unskip cannot be used together");
  }
  if (options.version === undefined && (options.yank || options.unyank || options.released)) {
    throw new UsageError("--yank, --unyank and --released apply to versions only");
  }
  if (options.yank && options.unyank) {
    throw new UsageError("--yank and --unyank cannot be used together");
  }
  const { priority } = options;
  if (priority !== undefined && Math.abs(priority) > MAX_PRIORITY) {
    throw new UsageError(
      `invalid priority ${priority}: from -${MAX_PRIORITY} to ${MAX_PRIORITY} (0 is normal)`,
    );
  }
  // --priority alone changes nothing else (and fetches no description from PyPI).
  const priorityOnly = priority !== undefined && options.version === undefined &&
    options.skip === undefined && !options.unskip && options.description === undefined &&
    options.alias.length === 0;
  const what = options.version === undefined ? pkg : `${pkg} ${options.version}`;
  console.log(
    priorityOnly
      ? `Setting the build priority of ${pkg} to ${priority}`
      : `Adding or updating ${what} (${options.package})`,
  );
  await confirm("Proceed?", { yes: options.yes });
  if (!priorityOnly) await addOrUpdate(options, pkg, what);
  if (priority !== undefined) {
    const reply = await withImportClient(
      options,
      (client) => client.request("PRIORITY", [pkg, priority]),
    ).then((reply) =>
      expectDone(reply, (error) => `cannot set the priority of ${pkg}: ${REFUSALS[error] ?? error}`)
    );
    console.log(describeStanding(pkg, priority, reply));
  }
  return 0;
}

/**
 * What PRIORITY's answer (`PRIORITY <abi>:<queued>:<position> ...`) means, e.g. "foo: priority
 * 10; cp311: 2 versions queued, the first at position 1".
 */
export function describeStanding(pkg: string, priority: number, reply: string): string {
  const standing = reply.split(" ").slice(1).map((field) => {
    const [abi, queued, position] = field.split(":");
    const versions = queued === "1" ? "1 version" : `${queued} versions`;
    return `${abi}: ${versions} queued, the first at position ${position}`;
  });
  return `${pkg}: priority ${priority}; ${standing.join("; ") || "nothing queued"}`;
}

async function addOrUpdate(options: AddOptions, pkg: string, what: string): Promise<void> {
  const description = options.version === undefined
    ? options.description ?? await pypiDescription(pkg, options.pypiJson)
    : "";
  const word = await withImportClient(
    options,
    (client) =>
      options.version === undefined
        ? client.request("ADDPKG", [
          options.package,
          description,
          options.skip ?? "",
          options.unskip,
          options.alias,
        ])
        : client.request("ADDVER", [
          options.package,
          options.version,
          options.skip ?? "",
          options.unskip,
          options.released ?? new Date(),
          options.yank,
          options.unyank,
          options.alias,
        ]),
  ).then((reply) =>
    expectDone(reply, (error) => `cannot add ${what}: ${REFUSALS[error] ?? error}`)
  );
  console.log(`${OUTCOMES[word] ?? word.toLowerCase()} ${what}`);
}

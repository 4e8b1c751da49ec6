/**
 * `piw add`: add a package or version piw has not learned of from PyPI, or update one it knows
 * (piwheels 0.20's piw-add, §1.7), through the master's import queue.
 * @module
 */
import { UsageError } from "../errors.ts";
import type { AddOptions } from "../cli/options.ts";
import { confirm } from "../cli/prompt.ts";
import { expectDone, withImportClient } from "../cli/import_client.ts";
import { canonicaliseName } from "../wheel/mod.ts";

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

/** Run `piw add` with parsed options; resolves to the exit code. */
export async function run(options: AddOptions): Promise<number> {
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
  const what = options.version === undefined ? pkg : `${pkg} ${options.version}`;
  console.log(`Adding or updating ${what} (${options.package})`);
  await confirm("Proceed?", { yes: options.yes });
  const word = await withImportClient(
    options,
    (client) =>
      options.version === undefined
        ? client.request("ADDPKG", [
          options.package,
          options.description ?? "",
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
  return 0;
}

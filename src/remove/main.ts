/**
 * `piw remove`: delete a package or version, only its builds (`--builds`), mark it to skip
 * (`--skip`) or yank a version (`--yank`), through the master's import queue (as piwheels'
 * `piw-remove`).
 * Unlike piwheels, skipping a package keeps the files already published; `-b -s REASON` takes
 * them down and skips it, as piwheels' `--skip` does.
 * @module
 */
import { UsageError } from "../errors.ts";
import type { RemoveOptions } from "../cli/options.ts";
import { confirm } from "../cli/prompt.ts";
import { expectDone, withImportClient } from "../clients/import.ts";
import { canonicaliseName } from "../wheel/mod.ts";

/** What the master's answer means, for the user. */
const OUTCOMES: Record<string, string> = {
  DELPKG: "removed package",
  DELVER: "removed version",
  DELPKGBLD: "removed the builds of package",
  DELVERBLD: "removed the builds of version",
  SKIPPKG: "marked to skip package",
  SKIPVER: "marked to skip version",
  YANKVER: "yanked version",
};

/** Why the master refused, for the user. */
const REFUSALS: Record<string, string> = {
  NOPKG: "unknown package",
  NOVER: "unknown version",
};

/** What the request will do, for the prompt. */
function describe(options: RemoveOptions, what: string): string {
  if (options.builds) {
    const skip = options.skip !== undefined ? ` and marking it to skip (${options.skip})` : "";
    return `Removing every build and file of ${what}${skip}`;
  }
  if (options.skip !== undefined || options.yank) {
    return [
      options.skip !== undefined ? `Marking ${what} to skip (${options.skip})` : "",
      options.yank ? `Yanking ${what}` : "",
    ].filter(Boolean).join("; ");
  }
  return `Removing ${what} with all its builds and files`;
}

/** Run `piw remove` with parsed options; resolves to the exit code. */
export async function run(options: RemoveOptions): Promise<number> {
  if (options.yank && options.version === undefined) {
    throw new UsageError("--yank applies to versions only");
  }
  if (options.skip === "") throw new UsageError("--skip needs a reason");
  const pkg = canonicaliseName(options.package);
  const what = options.version === undefined ? pkg : `${pkg} ${options.version}`;
  console.log(describe(options, what));
  await confirm("Proceed?", { yes: options.yes, defaultNo: true });
  const reply = await withImportClient(
    options,
    (client) =>
      options.version === undefined
        ? client.request("REMPKG", [pkg, options.builds, options.skip ?? ""])
        : client.request("REMVER", [
          pkg,
          options.version,
          options.builds,
          options.skip ?? "",
          options.yank,
        ]),
  );
  const word = expectDone(reply, (error) => `cannot remove ${what}: ${REFUSALS[error] ?? error}`);
  console.log(`${OUTCOMES[word] ?? word.toLowerCase()} ${what}`);
  return 0;
}

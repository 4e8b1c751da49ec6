/**
 * `piw retry`: build failed versions again now. The failed builds that keep a version from being
 * built (of one version, a package, or with `--class` every package) are made due at once in the
 * database (`retry_builds`), which queues their versions again; TheArchitect hands them out at
 * its next refresh. Every earlier try stays recorded.
 * @module
 */
import type { RetryOptions } from "../cli/options.ts";
import { confirm } from "../cli/prompt.ts";
import { openDatabase } from "../db/mod.ts";
import { UsageError } from "../errors.ts";
import { canonicaliseName, isValidProjectName } from "../wheel/mod.ts";

/** Run `piw retry` with parsed options; resolves to the exit code. */
export async function run(options: RetryOptions): Promise<number> {
  const failureClass = options.class ?? null;
  if (options.package === undefined && failureClass === null) {
    throw new UsageError("name a package, or a failure class with --class, to retry");
  }
  if (options.package !== undefined && !isValidProjectName(options.package)) {
    throw new UsageError(`invalid package name ${JSON.stringify(options.package)}`);
  }
  const pkg = options.package === undefined ? null : canonicaliseName(options.package);
  if (pkg === null) {
    await confirm(`This will retry every ${failureClass} failure of ALL packages; proceed?`, {
      yes: options.yes,
    });
  }
  const db = await openDatabase(options.dsn);
  try {
    const n = await db.retryBuilds(pkg, options.version ?? null, failureClass);
    const what = [
      failureClass === null ? "" : `${failureClass} `,
      "failed build",
      n === 1 ? "" : "s",
      pkg === null ? "" : ` of ${pkg}${options.version ? ` ${options.version}` : ""}`,
    ].join("");
    console.log(n ? `retrying ${n} ${what}` : `no ${what} to retry`);
    return 0;
  } finally {
    await db.close();
  }
}

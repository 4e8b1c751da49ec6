/**
 * PEP 503 name canonicalisation, kept local so following PyPI does not depend on the wheel module.
 * @module
 */

/** The PEP 503 canonical form of a project name: lower case, runs of `-_.` become one `-`. */
export function canonicalize(name: string): string {
  return name.replace(/[-_.]+/g, "-").toLowerCase();
}

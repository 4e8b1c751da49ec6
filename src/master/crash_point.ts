/**
 * Test hook: `PIW_DEBUG_CRASH=<point>` makes the master die by SIGKILL at that named point of a
 * finished build's path (after-stage, after-journal, after-record, after-publish, and
 * after-commit: a group commit of failed builds committed, before their web update), so tests
 * can show what a restart recovers. Without the variable nothing happens.
 * @module
 */

/** The named points of the build path where a test may kill the master. */
export type CrashPoint =
  | "after-stage"
  | "after-journal"
  | "after-record"
  | "after-publish"
  | "after-commit";

/** SIGKILL this process (a Worker's too) if `PIW_DEBUG_CRASH` names `point`. */
export function crashPoint(point: CrashPoint): void {
  if (Deno.env.get("PIW_DEBUG_CRASH") === point) Deno.kill(Deno.pid, "SIGKILL");
}

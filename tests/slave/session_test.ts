import assert from "node:assert/strict";
import { sessionMembers, spawnSession, terminateSession } from "../../src/slave/session.ts";

const isGone = (pid: number) => {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z"); // a zombie is dead
  } catch {
    return true;
  }
};

Deno.test("captures stdout and stderr together, in order", async () => {
  const proc = spawnSession(["sh", "-c", "echo one; echo two >&2; echo three"]);
  assert.equal((await proc.status).code, 0);
  assert.equal(await proc.output, "one\ntwo\nthree\n");
});

Deno.test("keeps only the end of very long output", async () => {
  const proc = spawnSession(["sh", "-c", "seq 1 100000"], { maxOutputBytes: 1000 });
  await proc.status;
  const out = await proc.output;
  assert.match(out, /^\[\.\.\. \d+ bytes of earlier output dropped \.\.\.\]\n/);
  assert.ok(out.endsWith("99999\n100000\n"));
  assert.ok(out.length < 1100);
});

Deno.test("runs the command as leader of its own session", async () => {
  const proc = spawnSession(["sh", "-c", "ps -o sid= -o pgid= -p $$"]);
  await proc.status;
  assert.deepEqual((await proc.output).trim().split(/\s+/).map(Number), [proc.pid, proc.pid]);
});

Deno.test("applies the data size limit to the command", async () => {
  const proc = spawnSession(["sh", "-c", "ulimit -d"], {
    limits: { dataBytes: 512 * 1024 * 1024 },
  });
  await proc.status;
  assert.equal((await proc.output).trim(), String(512 * 1024));
});

/** The process group of `pid`, or null when it has exited meanwhile. */
function pgid(pid: number): number | null {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

Deno.test("terminates a whole tree, escalating to SIGKILL for processes ignoring SIGTERM", async () => {
  // One child in the session's process group, one that moves to a process group of its own
  // and ignores SIGTERM.
  const loner = "import os, signal, time; os.setpgrp(); " +
    "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)";
  const script = `sleep 300 & python3 -c '${loner}' & wait`;
  const proc = spawnSession(["sh", "-c", script]);
  let members: number[] = [];
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    members = sessionMembers(proc.pid);
    if (
      members.some((pid) => {
        const g = pgid(pid);
        return g !== null && g !== proc.pid;
      })
    ) break;
  }
  assert.ok(
    members.some((pid) => {
      const g = pgid(pid);
      return g !== null && g !== proc.pid;
    }),
    "a member has its own group",
  );
  assert.ok(members.length >= 3, `members: ${members}`);
  const started = Date.now();
  await terminateSession(proc.pid, 500);
  assert.ok(Date.now() - started >= 400, "waited for the grace period");
  assert.deepEqual(sessionMembers(proc.pid), []);
  for (const pid of members) assert.ok(isGone(pid), `${pid} survived`);
  await proc.status;
  await proc.output;
});

Deno.test("says when the leader has its session", async () => {
  const proc = spawnSession(["sleep", "5"]);
  await proc.ready;
  const stat = Deno.readTextFileSync(`/proc/${proc.pid}/stat`);
  assert.equal(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]), proc.pid);
  await terminateSession(proc.pid, 1000);
  assert.equal((await proc.status).signal, "SIGTERM");
  await proc.output;
});

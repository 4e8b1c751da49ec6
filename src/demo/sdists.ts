/**
 * Small source distributions (for the demo and tests) that real `pip wheel` can build offline.
 * Each is a hand-made `.tar.gz` in the sdist layout (`name-version/PKG-INFO`, `pyproject.toml`,
 * sources); setuptools-based kinds need setuptools and wheel from the index (see
 * `package_index.ts`), the in-tree-backend kinds (`fail-fast`, `hang`) need nothing.
 * @module
 */
import { escapeWheelName } from "../wheel/names.ts";

/** What a fixture sdist does when pip builds it. */
export type SdistKind =
  /** A pure-Python package (setuptools): builds a `py3-none-any` wheel. */
  | "pure"
  /** A package with a C extension (setuptools): builds a platform wheel linked to libc. */
  | "cext"
  /** setup.py prints a marker and exits with an error (setuptools). */
  | "fail"
  /** An in-tree build backend that fails at once (no build requirements, fast). */
  | "fail-fast"
  /** An in-tree build backend that starts child processes and sleeps (for timeouts). */
  | "hang";

/** Describes one fixture sdist. */
export interface SdistSpec {
  /** Project name as written in the metadata (any spelling). */
  name: string;
  /** The version (PEP 440). */
  version: string;
  /** Default "pure". */
  kind?: SdistKind;
  /** `Requires-Python` for the built wheel (and the index's data-requires-python). */
  requiresPython?: string;
  /** `Requires-Dist` lines for the built wheel (setuptools kinds). */
  requiresDist?: string[];
  /** Extra libraries a "cext" module links against (`-l` names), e.g. `["m"]`. */
  libraries?: string[];
  /**
   * For "hang": a file the backend writes to once its children run: its own pid, the pids of a
   * child sharing its process group and of one in a new process group, and its session id
   * (space separated).
   */
  pidFile?: string;
  /** For "hang": make the backend ignore SIGTERM so only SIGKILL stops it. */
  ignoreSigterm?: boolean;
  /** Extra files (relative path → content) added to, or replacing files in, the sdist root. */
  files?: Record<string, string>;
}

/** A built fixture sdist. */
export interface SdistFile {
  /** Where the `.tar.gz` is. */
  path: string;
  /** Its file name. */
  filename: string;
  /** The project name as given in the spec. */
  project: string;
  /** The version as given in the spec. */
  version: string;
  /** sha256 of its bytes, hex. */
  sha256: string;
  /** The spec's `Requires-Python`, if any. */
  requiresPython?: string;
}

/** The Python import name fixture packages use for `name`. */
export function moduleName(name: string): string {
  return escapeWheelName(name);
}

const py = (value: unknown) => JSON.stringify(value); // JSON literals are valid Python here

function setupPy(spec: SdistSpec, kind: SdistKind): string {
  const mod = moduleName(spec.name);
  const args = [
    `name=${py(spec.name)}`,
    `version=${py(spec.version)}`,
    `packages=[${py(mod)}]`,
    `description=${py(`piw test fixture (${kind})`)}`,
  ];
  if (spec.requiresPython) args.push(`python_requires=${py(spec.requiresPython)}`);
  if (spec.requiresDist?.length) args.push(`install_requires=${py(spec.requiresDist)}`);
  if (kind === "cext") {
    args.push(
      `ext_modules=[Extension(${py(`${mod}._speedups`)}, [${py(`${mod}/_speedups.c`)}], ` +
        `libraries=${py(spec.libraries ?? [])})]`,
    );
  }
  const failure = kind === "fail"
    ? `print("piw-fixture: ${spec.name} refuses to build")\nraise SystemExit("piw-fixture: deliberate build failure")\n`
    : "";
  return `from setuptools import setup, Extension\n${failure}setup(${args.join(", ")})\n`;
}

const C_SOURCE = `#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>

static PyObject *hypot_(PyObject *self, PyObject *args) {
    double x, y;
    if (!PyArg_ParseTuple(args, "dd", &x, &y)) return NULL;
    return PyFloat_FromDouble(hypot(x, y));
}

static PyMethodDef methods[] = {
    {"hypot", hypot_, METH_VARARGS, "Length of the hypotenuse."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
`;

function inTreeBackend(spec: SdistSpec, kind: SdistKind): string {
  if (kind === "fail-fast") {
    return `def get_requires_for_build_wheel(config_settings=None):
    print("piw-fixture: ${spec.name} refuses to build")
    raise SystemExit("piw-fixture: deliberate build failure")

build_wheel = build_sdist = get_requires_for_build_wheel
`;
  }
  return `import os, signal, subprocess, time

def _hang(*args, **kwargs):
    if ${spec.ignoreSigterm ? "True" : "False"}:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    same_group = subprocess.Popen(["sleep", "3600"])
    own_group = subprocess.Popen(["sleep", "3600"], preexec_fn=os.setpgrp)
    pid_file = ${py(spec.pidFile ?? "")}
    if pid_file:
        with open(pid_file + ".tmp", "w") as f:
            f.write("%d %d %d %d" % (os.getpid(), same_group.pid, own_group.pid, os.getsid(0)))
        os.rename(pid_file + ".tmp", pid_file)
    print("piw-fixture: hanging", flush=True)
    while True:
        time.sleep(3600)

get_requires_for_build_wheel = build_wheel = build_sdist = _hang
`;
}

function sdistFiles(spec: SdistSpec): Record<string, string> {
  const kind = spec.kind ?? "pure";
  const mod = moduleName(spec.name);
  const pkgInfo = [
    "Metadata-Version: 2.1",
    `Name: ${spec.name}`,
    `Version: ${spec.version}`,
    `Summary: piw test fixture (${kind})`,
    ...(spec.requiresPython ? [`Requires-Python: ${spec.requiresPython}`] : []),
    ...(spec.requiresDist ?? []).map((r) => `Requires-Dist: ${r}`),
    "",
    "",
  ].join("\n");
  const files: Record<string, string> = { "PKG-INFO": pkgInfo };
  if (kind === "hang" || kind === "fail-fast") {
    files["pyproject.toml"] =
      `[build-system]\nrequires = []\nbuild-backend = "fixture_backend"\nbackend-path = ["."]\n`;
    files["fixture_backend.py"] = inTreeBackend(spec, kind);
  } else {
    files["pyproject.toml"] = `[build-system]\nrequires = ["setuptools>=40.8.0", "wheel"]\n` +
      `build-backend = "setuptools.build_meta"\n`;
    files["setup.py"] = setupPy(spec, kind);
    files[`${mod}/__init__.py`] = `"""piw test fixture ${spec.name} ${spec.version}."""\n` +
      `__version__ = ${py(spec.version)}\n`;
    if (kind === "cext") files[`${mod}/_speedups.c`] = C_SOURCE;
  }
  return { ...files, ...spec.files };
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Build the sdist described by `spec` into `outDir` (GNU tar does the archiving); the filename
 * is `{escaped name}-{version}.tar.gz` as PEP 625 has it.
 * @example const sdist = await buildSdist({ name: "piw-pure", version: "1.0" }, dir);
 */
export async function buildSdist(spec: SdistSpec, outDir: string): Promise<SdistFile> {
  const stem = `${escapeWheelName(spec.name)}-${spec.version}`;
  const staging = await Deno.makeTempDir({ prefix: "piw-sdist-" });
  try {
    for (const [rel, content] of Object.entries(sdistFiles(spec))) {
      const path = `${staging}/${stem}/${rel}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, content);
    }
    const filename = `${stem}.tar.gz`;
    const path = `${outDir}/${filename}`;
    const out = await new Deno.Command("tar", {
      args: ["-czf", path, "--owner=0", "--group=0", "--numeric-owner", "-C", staging, stem],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`tar failed: ${new TextDecoder().decode(out.stderr)}`);
    return {
      path,
      filename,
      project: spec.name,
      version: spec.version,
      sha256: await sha256Hex(await Deno.readFile(path)),
      requiresPython: spec.requiresPython,
    };
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
}

/**
 * Facts about this machine: the target interpreter's tags (asked of the interpreter itself, since
 * it may differ from anything piw runs on), the OS and the board. A slave sends them in HELLO;
 * the master reports its own OS and board; the importer tags what it imports.
 * @module
 */
import { PiwError } from "../errors.ts";

/** Tags and version of the Python interpreter wheels are built for. */
export interface InterpreterFacts {
  /** `packaging.tags.interpreter_version()`, e.g. "311". */
  pyVersion: string;
  /** The ABI tag as wheel's `get_abi_tag()` computes it, e.g. "cp311"; "none" if unknown. */
  abi: string;
  /** The platform tag as wheel's `get_platform()` computes it, e.g. "linux_armv7l". */
  platform: string;
  /** `platform.python_version()`, e.g. "3.11.2". */
  pythonVersion: string;
  /** The interpreter's short name (`cp`, `pp`, ...). */
  implementation: string;
  /** `sys.executable`. */
  executable: string;
  /** The interpreter's header directories (sysconfig's `include` and `platinclude`). */
  includeDirs: string[];
  /** Its multiarch triplet (`x86_64-linux-gnu`), "" if it has none. */
  multiarch: string;
  /** Its `LIBDIR`, "" if unknown. */
  libDir: string;
}

// Mirrors packaging.tags.interpreter_version and wheel 0.38's get_abi_tag/get_platform, without
// importing either (the target interpreter may have neither installed).
const FACTS_SNIPPET = `
import json, platform, struct, sys, sysconfig
names = {"python": "py", "cpython": "cp", "pypy": "pp", "ironpython": "ip", "jython": "jy"}
impl = names.get(sys.implementation.name, sys.implementation.name)
py_version = sysconfig.get_config_var("py_version_nodot") or "".join(map(str, sys.version_info[:2]))
soabi = sysconfig.get_config_var("SOABI")
if not soabi and impl in ("cp", "pp") and hasattr(sys, "maxunicode"):
    debug = sysconfig.get_config_var("Py_DEBUG")
    if debug is None:
        debug = hasattr(sys, "gettotalrefcount")
    pymalloc = sysconfig.get_config_var("WITH_PYMALLOC")
    if pymalloc is None:
        pymalloc = impl == "cp"
    abi = impl + str(py_version) + ("d" if debug else "") + ("m" if pymalloc and sys.version_info < (3, 8) else "")
elif soabi and impl == "cp" and soabi.startswith("cpython"):
    abi = "cp" + soabi.split("-")[1]
elif soabi and impl == "cp" and soabi.startswith("cp"):
    abi = soabi.split("-")[0]
elif soabi and impl == "pp":
    abi = "-".join(soabi.split("-")[:2]).replace(".", "_").replace("-", "_")
elif soabi:
    abi = soabi.replace(".", "_").replace("-", "_")
else:
    abi = "none"
plat = sysconfig.get_platform()
if struct.calcsize("P") == 4:
    # A 32-bit userland on a 64-bit kernel: uname says 64-bit, the wheels must not.
    plat = {"linux-x86_64": "linux-i686", "linux-aarch64": "linux-armv7l"}.get(plat, plat)
print(json.dumps({
    "pyVersion": str(py_version),
    "abi": abi,
    "platform": plat.replace("-", "_").replace(".", "_"),
    "pythonVersion": platform.python_version(),
    "implementation": impl,
    "executable": sys.executable,
    "includeDirs": sorted({p for p in (sysconfig.get_paths().get("include"), sysconfig.get_paths().get("platinclude")) if p}),
    "multiarch": sysconfig.get_config_var("MULTIARCH") or "",
    "libDir": sysconfig.get_config_var("LIBDIR") or "",
}))
`;

/** Ask the interpreter `python` (a name on PATH or a path) for its tags and version. */
export async function interpreterFacts(python = "python3"): Promise<InterpreterFacts> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(python, {
      args: ["-c", FACTS_SNIPPET],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new PiwError(`Cannot run the target interpreter ${python}: ${(e as Error).message}`);
  }
  const stderr = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) throw new PiwError(`${python} failed to report its tags: ${stderr}`);
  try {
    return JSON.parse(new TextDecoder().decode(out.stdout)) as InterpreterFacts;
  } catch {
    throw new PiwError(`${python} reported its tags unreadably: ${stderr}`);
  }
}

/** The operating system's name and version, as sent in HELLO. */
export interface OsFacts {
  osName: string;
  osVersion: string;
}

// The first word of a shell-quoted value, as Python's shlex.split(value)[0] (piwheels' parser).
function shellWord(value: string): string {
  let word = "";
  let i = 0;
  while (i < value.length && /\s/.test(value[i])) i++;
  for (; i < value.length; i++) {
    const c = value[i];
    if (/\s/.test(c)) break;
    if (c === "'") {
      const end = value.indexOf("'", i + 1);
      word += value.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? value.length : end;
    } else if (c === '"') {
      for (i++; i < value.length && value[i] !== '"'; i++) {
        if (value[i] === "\\" && /["\\$`]/.test(value[i + 1] ?? "")) i++;
        word += value[i];
      }
    } else if (c === "\\") word += value[++i] ?? "";
    else word += c;
  }
  return word;
}

/** NAME and VERSION from an os-release file; "Linux" and "" when absent. */
export async function osFacts(path = "/etc/os-release"): Promise<OsFacts> {
  const values = new Map<string, string>();
  try {
    for (const line of (await Deno.readTextFile(path)).split("\n")) {
      const m = /^\s*(NAME|VERSION)=(.*)$/.exec(line);
      if (m) values.set(m[1], shellWord(m[2]));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return { osName: values.get("NAME") ?? "Linux", osVersion: values.get("VERSION") ?? "" };
}

/** The board's revision and serial as sent in HELLO. */
export interface BoardFacts {
  boardRevision: string;
  boardSerial: string;
}

// Big-endian number in hex without leading zeros, as piwheels' _hexdump; "unknown" if absent.
async function hexdump(path: string, bytes: number): Promise<string> {
  let data: Uint8Array;
  try {
    data = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "unknown";
    throw e;
  }
  if (data.length < bytes) return "unknown";
  let value = 0n;
  for (let i = 0; i < bytes; i++) value = (value << 8n) | BigInt(data[i]);
  return value === 0n ? "" : value.toString(16);
}

/** Revision (32-bit) and serial (64-bit) from the device tree; "unknown" off a Raspberry Pi. */
export async function boardFacts(dir = "/proc/device-tree/system"): Promise<BoardFacts> {
  return {
    boardRevision: await hexdump(`${dir}/linux,revision`, 4),
    boardSerial: await hexdump(`${dir}/linux,serial`, 8),
  };
}

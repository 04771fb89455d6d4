#!/usr/bin/env python3
"""pecheck.py checks that a file is a well-formed Windows PE executable.

Used by scripts/ci-dist-check.sh on the NSIS installer and on the app binary
extracted from it. It reads the headers the Windows loader reads first:

  - the DOS header: "MZ" and e_lfanew pointing inside the file;
  - the "PE\\0\\0" signature and the COFF header: machine, section count,
    the EXECUTABLE_IMAGE characteristic;
  - the optional header magic (PE32 for i386, PE32+ for amd64) and subsystem;
  - the section table: every section's raw data lies inside the file;
  - optionally that a .rsrc section exists and holds a UTF-16 string, e.g. the
    version in the VERSIONINFO resource.

It proves the file is a structurally valid PE of the expected kind, not that
Windows will run it: only a Windows machine proves that.

usage: pecheck.py FILE [--machine i386|amd64] [--gui] [--rsrc-string TEXT]...
"""
import argparse
import struct
import sys

MACHINES = {"i386": 0x14C, "amd64": 0x8664}
MAGIC = {"i386": 0x10B, "amd64": 0x20B}
SUBSYSTEM_GUI = 2


def check(path, machine=None, gui=False, rsrc_strings=()):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 0x40 or data[:2] != b"MZ":
        raise ValueError("no MZ DOS header")
    (lfanew,) = struct.unpack_from("<I", data, 0x3C)
    if lfanew + 24 > len(data):
        raise ValueError(f"e_lfanew 0x{lfanew:x} points outside the file")
    if data[lfanew:lfanew + 4] != b"PE\0\0":
        raise ValueError("no PE signature at e_lfanew")
    mach, nsect, _, _, _, optsize, chars = struct.unpack_from("<HHIIIHH", data, lfanew + 4)
    if not chars & 0x0002:
        raise ValueError("COFF header: not an executable image")
    if nsect == 0 or optsize == 0:
        raise ValueError("COFF header: no sections or no optional header")
    opt = lfanew + 24
    (magic,) = struct.unpack_from("<H", data, opt)
    if magic not in (0x10B, 0x20B):
        raise ValueError(f"optional header magic 0x{magic:x} is neither PE32 nor PE32+")
    (subsystem,) = struct.unpack_from("<H", data, opt + 68)
    if machine:
        if mach != MACHINES[machine] or magic != MAGIC[machine]:
            raise ValueError(f"machine 0x{mach:x}/magic 0x{magic:x}, want {machine}")
    if gui and subsystem != SUBSYSTEM_GUI:
        raise ValueError(f"subsystem {subsystem}, want {SUBSYSTEM_GUI} (Windows GUI)")
    sections = {}
    sect = opt + optsize
    for i in range(nsect):
        name, _, _, rawsize, rawptr = struct.unpack_from("<8sIIII", data, sect + 40 * i)
        name = name.rstrip(b"\0").decode("ascii", "replace")
        if rawptr + rawsize > len(data):
            raise ValueError(f"section {name} runs past the end of the file")
        sections[name] = data[rawptr:rawptr + rawsize]
    for text in rsrc_strings:
        rsrc = sections.get(".rsrc")
        if rsrc is None:
            raise ValueError("no .rsrc section (no icon, manifest or version info)")
        if text.encode("utf-16-le") not in rsrc:
            raise ValueError(f"string {text!r} not found in the resources")
    kind = {0x14C: "i386", 0x8664: "amd64"}.get(mach, hex(mach))
    return f"{path}: PE {kind}, {'PE32+' if magic == 0x20B else 'PE32'}, subsystem {subsystem}, sections {','.join(sections)}"


def main():
    ap = argparse.ArgumentParser(description="check a Windows PE file's headers")
    ap.add_argument("file")
    ap.add_argument("--machine", choices=sorted(MACHINES))
    ap.add_argument("--gui", action="store_true", help="require the Windows GUI subsystem")
    ap.add_argument("--rsrc-string", action="append", default=[],
                    help="require this UTF-16 string in .rsrc (repeatable)")
    a = ap.parse_args()
    try:
        print("ok:", check(a.file, a.machine, a.gui, a.rsrc_string))
    except (ValueError, struct.error, OSError) as e:
        print(f"pecheck: {a.file}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

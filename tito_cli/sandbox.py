"""Run untrusted code in a bubblewrap sandbox, with resource limits, a wall clock and bounded output.

What the sandboxed process sees (``bwrap_command``): the system's ``/usr``
(and its ``/lib``, ``/bin`` links) and the Python installation (interpreter,
standard library, site-packages) read-only; a read-only ``/kit`` (the
package it may import and the probe runner) and ``/plan`` (what to run);
a fresh, size-limited ``/tmp`` that is its only writable place and
disappears with it. No network (its own empty network namespace), its own
process tree, no terminal, no new processes (a seccomp filter, below:
threads only); it dies with the grader. The course folder and the
project's sources are not mounted at all.

Limits: memory (address space), CPU seconds, processes and file size are
set by the runner (``tito_cli/probing.py``) on itself before any submitted
code runs (hard limits, which a process cannot raise); the wall clock is
kept here, by the parent, which kills the whole process group. What the
process prints is drained as it comes and only its head and tail are kept.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

INSTALL = "sudo apt-get install bubblewrap  (Debian/Ubuntu; Fedora: sudo dnf install bubblewrap)"
GiB = 1 << 30
MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 * GiB
    cpu_seconds: int = 60
    processes: int = 16
    file_bytes: int = 16 * MiB
    wall_seconds: float = 60.0
    scratch_bytes: int = 64 * MiB
    output_bytes: int = 64 * 1024  # kept of what the process prints (head and tail); the rest is counted, not kept
    results_bytes: int = 64 * MiB

    def rlimits(self, sandboxed: bool) -> dict[str, int]:
        limits = {"RLIMIT_AS": self.memory_bytes, "RLIMIT_CPU": self.cpu_seconds,
                  "RLIMIT_FSIZE": self.file_bytes, "RLIMIT_CORE": 0}
        if sandboxed:  # outside a sandbox the process count is per user: it would count the instructor's processes
            limits["RLIMIT_NPROC"] = self.processes
        return limits


@dataclass
class Result:
    returncode: int | None = None
    frames: list = field(default_factory=list)  # [(header dict, payload bytes)] as sent on the results pipe
    output: str = ""  # what the process printed (head ... tail)
    output_total: int = 0
    timed_out: bool = False
    results_overflow: bool = False
    garbled: str = ""  # why the results stream could not be read to its end
    seconds: float = 0.0


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def check() -> str:
    """bwrap is installed and can build a sandbox here; RuntimeError says how to fix it otherwise."""
    path = bwrap_path()
    if path is None:
        raise RuntimeError(f"bubblewrap (bwrap) is not installed; autograding runs submissions in it: {INSTALL}")
    probe = subprocess.run([path, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--tmpfs", "/tmp",
                            "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode:
        detail = (probe.stderr.strip().splitlines() or ["no detail"])[-1]
        raise RuntimeError(f"bwrap cannot create a sandbox here ({detail}); it needs user namespaces "
                           "(sysctl kernel.unprivileged_userns_clone=1) or a setuid bwrap")
    return path


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def python_dirs(hidden: list[Path]) -> list[Path]:
    """Folders this interpreter needs (installation prefixes, site-packages), none inside ``hidden``."""
    candidates = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.base_exec_prefix),
                  Path(sys.executable).parent}
    candidates |= {Path(p) for p in sys.path if p and Path(p).name in ("site-packages", "dist-packages")}
    dirs = set()
    for path in candidates:
        for form in (path, path.resolve()):
            if form.is_dir() and not any(_inside(form, h) for h in hidden):
                dirs.add(form)
    # drop folders already inside another bound folder
    return sorted(d for d in dirs if not any(o != d and _inside(d, o) for o in dirs))


def bwrap_command(kit: Path, plan: Path, argv: list[str], hidden: list[Path], limits: Limits,
                  seccomp_fd: int) -> list[str]:
    """The bwrap command line running ``argv`` with ``kit`` at /kit and ``plan`` at /plan, both read-only."""
    command = [bwrap_path() or "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
               "--seccomp", str(seccomp_fd), "--ro-bind", "/usr", "/usr",
               # the scratch /tmp comes first: a virtualenv or project that lives under /tmp (a CI clone)
               # is bound read-only on top of it below, instead of being hidden by it
               "--size", str(limits.scratch_bytes), "--tmpfs", "/tmp"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        top = Path("/") / name
        if top.is_symlink():
            command += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            command += ["--ro-bind", str(top), str(top)]
    for name in ("ld.so.cache", "ld.so.conf", "localtime"):
        command += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    binds = python_dirs(hidden)
    for folder in binds:
        command += ["--ro-bind", str(folder), str(folder)]
    # a hidden folder that happens to lie inside a bound one (a course inside the virtualenv?) is covered
    for folder in hidden:
        if any(_inside(folder, b) for b in binds):
            command += ["--tmpfs", str(folder)]
    command += ["--ro-bind", str(kit), "/kit", "--ro-bind", str(plan), "/plan",
                "--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp", "--clearenv"]
    for name, value in sandbox_env().items():
        command += ["--setenv", name, value]
    return command + ["--", *argv]


def sandbox_env() -> dict[str, str]:
    """The whole environment of a sandboxed process: one thread per library, no user config, no display."""
    return {"HOME": "/tmp", "TMPDIR": "/tmp", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": "/tmp", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}


class _Output:
    """Keeps the head and tail of a stream, counts the rest."""

    def __init__(self, cap: int) -> None:
        self.head_cap, self.tail_cap = cap * 3 // 4, cap // 4
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail = (self.tail + data)[-self.tail_cap:]

    def text(self) -> str:
        kept = len(self.head) + len(self.tail)
        middle = f"\n[... {self.total - kept} bytes of output not kept ...]\n" if self.total > kept else ""
        return self.head.decode(errors="replace") + middle + self.tail.decode(errors="replace")


def _parse_frames(buffer: bytearray, frames: list) -> str:
    """Move complete frames out of ``buffer``; returns why the stream is unreadable, or ''."""
    import json

    while len(buffer) >= 8:
        header_len, payload_len = struct.unpack(">II", buffer[:8])
        if header_len > MiB:
            return f"a results header of {header_len} bytes"
        if len(buffer) < 8 + header_len + payload_len:
            return ""
        try:
            header = json.loads(bytes(buffer[8:8 + header_len]))
        except ValueError:
            return "a results header that is not JSON"
        if not isinstance(header, dict):
            return "a results header that is not a JSON object"
        frames.append((header, bytes(buffer[8 + header_len:8 + header_len + payload_len])))
        del buffer[:8 + header_len + payload_len]
    return ""


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(argv_for_fds, limits: Limits, seccomp: Path | None = None, live: set | None = None,
        env: dict | None = None, cwd: Path | None = None) -> Result:
    """Start ``argv_for_fds(results_fd, seccomp_fd)``; collect its output and results until exit or the wall clock.

    The process runs in its own session so that the wall clock kills it and
    everything it started. ``live``, when given, holds the running process
    so that an interrupted grader can kill it.
    """
    read_fd, write_fd = os.pipe()
    seccomp_fd = os.open(seccomp, os.O_RDONLY) if seccomp else -1
    start = time.monotonic()
    result = Result()
    try:
        process = subprocess.Popen(argv_for_fds(write_fd, seccomp_fd), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   pass_fds=(write_fd,) + ((seccomp_fd,) if seccomp else ()), start_new_session=True,
                                   env=env, cwd=cwd)
    finally:
        os.close(write_fd)
        if seccomp:
            os.close(seccomp_fd)
    if live is not None:
        live.add(process)
    output = _Output(limits.output_bytes)
    buffer = bytearray()
    received = 0
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ, "output")
    selector.register(read_fd, selectors.EVENT_READ, "results")
    deadline = start + limits.wall_seconds
    try:
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0 and not result.timed_out:
                result.timed_out = True
                _kill(process)
                deadline = time.monotonic() + 5.0  # drain what is left in the pipes, then give up
                continue
            if remaining <= 0:
                break
            for key, _ in selector.select(timeout=min(remaining, 1.0)):
                data = os.read(key.fd, 1 << 16)
                if not data:
                    selector.unregister(key.fileobj)
                elif key.data == "output":
                    output.add(data)
                elif not result.results_overflow and not result.garbled:
                    received += len(data)
                    if received > limits.results_bytes:
                        result.results_overflow = True
                        _kill(process)
                        continue
                    buffer += data
                    result.garbled = _parse_frames(buffer, result.frames)
        _kill(process)  # whatever it left behind in its session
        result.returncode = process.wait()
    finally:
        selector.close()
        os.close(read_fd)
        process.stdout.close()
        if process.poll() is None:
            _kill(process)
            process.wait()
        if live is not None:
            live.discard(process)
    if buffer and not result.garbled and not result.results_overflow:
        result.garbled = "a results frame cut short"
    result.output, result.output_total = output.text(), output.total
    result.seconds = time.monotonic() - start
    return result


# ---- no new processes ----------------------------------------------------------------
# RLIMIT_NPROC does not bind a process whose real user is root (CI, containers), so the
# sandbox also gets a seccomp filter (bwrap --seccomp) that refuses fork, vfork, clone
# without CLONE_THREAD, and clone3 (ENOSYS, so libc falls back to clone): threads
# still work, new processes do not. Classic BPF, one block per architecture.

_ARCHES = {  # audit arch: (syscalls refused, clone, clone3)
    0xC000003E: ((57, 58), 56, 435),  # x86_64: fork, vfork
    0xC00000B7: ((), 220, 435),  # aarch64 has only clone and clone3
}
_LD, _JEQ, _JSET, _RET = 0x20, 0x15, 0x45, 0x06
_ALLOW, _EPERM, _ENOSYS = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
_CLONE_THREAD = 0x00010000


def seccomp_filter() -> bytes:
    """The compiled filter, as ``struct sock_filter`` records for bwrap's ``--seccomp``."""
    program = []
    for arch, (refused, clone, clone3) in _ARCHES.items():
        block = [(_LD, 0, 0, 0), (_JEQ, 0, 1, clone3), (_RET, 0, 0, _ENOSYS)]
        for number in refused:
            block += [(_JEQ, 0, 1, number), (_RET, 0, 0, _EPERM)]
        block += [(_JEQ, 0, 4, clone), (_LD, 0, 0, 16), (_JSET, 0, 1, _CLONE_THREAD), (_RET, 0, 0, _ALLOW),
                  (_RET, 0, 0, _EPERM), (_RET, 0, 0, _ALLOW)]
        program += [(_LD, 0, 0, 4), (_JEQ, 0, len(block), arch)] + block
    program.append((_RET, 0, 0, _ALLOW))
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)

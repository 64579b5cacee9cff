"""Time from starting `kenv repl` in a pseudo-terminal to its first prompt (issue 7's goal: under
50 ms). Usage: python3 bench/repl_start.py [path/to/kenv] [runs]"""
import os, pty, select, statistics, sys, tempfile, time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/kenv"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
home = tempfile.mkdtemp()
times = []
for _ in range(runs):
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(HOME=home, XDG_DATA_HOME=home, NO_COLOR="1")
        os.execv(binary, [binary, "repl"])
    seen = b""
    while b"kenv>" not in seen:
        ready, _, _ = select.select([fd], [], [], 5)
        if not ready:
            sys.exit("no prompt within 5 s")
        seen += os.read(fd, 4096)
    times.append((time.perf_counter() - start) * 1000)
    os.write(fd, b"\x04")  # Ctrl-D
    os.waitpid(pid, 0)
    os.close(fd)
print(f"kenv repl, start to first prompt over {runs} runs: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms")

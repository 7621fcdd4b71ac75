"""Drives an interactive bash inside `rvisor do` through a pseudo-terminal,
as a person at a terminal would: a background job, jobs, fg, ^Z, bg, ^C,
and a resize of the terminal window.

Usage: pty_session.py RVISOR_BINARY (or `native`). Prints one line per check that
passed and exits non-zero with the transcript on the first failure."""

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

rvisor = sys.argv[1]
PROMPT = "rvt$ "

pid, fd = pty.fork()
if pid == 0:
    env = {"PATH": "/usr/bin:/bin", "TERM": "dumb", "PS1": PROMPT, "HOME": "/root"}
    bash = ["/bin/bash", "--norc", "--noprofile", "-i"]
    if rvisor == "native":  # to check the driver itself
        os.execve(bash[0], bash, env)
    os.execve(rvisor, [rvisor, "do", "--"] + bash, env)

transcript = ""
seen = 0  # how much of the transcript earlier checks consumed


def read_until(pattern, timeout=15.0):
    global transcript, seen
    deadline = time.time() + timeout
    while time.time() < deadline:
        at = transcript.find(pattern, seen)
        if at >= 0:
            seen = at + len(pattern)
            return
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            transcript += data.decode(errors="replace")
    fail("timed out waiting for %r" % pattern)


def fail(why):
    sys.stderr.write("FAIL: %s\n--- transcript ---\n%s\n" % (why, transcript))
    try:
        os.kill(pid, 9)
    except OSError:
        pass
    sys.exit(1)


def send(text):
    os.write(fd, text.encode())


read_until(PROMPT)
send("echo hello-$((6*7))\n")
read_until("hello-42")
read_until(PROMPT)
print("echo ok")

# A resize of our terminal reaches the sandbox: the foreground job gets
# SIGWINCH and the new size is the sandbox terminal's. (The quotes keep the
# echoed command lines from matching the output.)
send("bash -c 'trap \"echo got-\"\"winch; exit\" WINCH; echo wait\"\"ing; while :; do sleep 0.1; done'\n")
read_until("waiting")
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
read_until("got-winch")
read_until(PROMPT)
send("stty size\n")
read_until("33 101")
read_until(PROMPT)
print("resize ok")

send("sleep 100 &\n")
read_until(PROMPT)
send("jobs\n")
read_until("Running")
read_until(PROMPT)
print("background job ok")

send("fg\n")
read_until("sleep 100")
time.sleep(0.5)
send("\x1a")  # ^Z
read_until("Stopped")
read_until(PROMPT)
send("jobs\n")
read_until("Stopped")
read_until(PROMPT)
print("ctrl-z ok")

send("bg\n")
read_until(PROMPT)
send("jobs\n")
read_until("Running")
read_until(PROMPT)
print("bg ok")

send("kill %1; wait %1; echo killed=$?\n")
read_until("killed=143")
read_until(PROMPT)

send("sleep 100\n")
time.sleep(0.5)
send("\x03")  # ^C
read_until(PROMPT)
send("echo status=$?\n")
read_until("status=130")
read_until(PROMPT)
print("ctrl-c ok")

send("exit 7\n")
_, status = os.waitpid(pid, 0)
if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 7:
    fail("exit status %r" % status)
print("exit ok")

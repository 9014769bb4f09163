"""Drive a command under a real pseudo-terminal (Python's pty, no extra dependency).

Reads a JSON spec on stdin: {"argv": [...], "cwd": "...", "env": {...}, "steps": [{"expect": REGEX,
"send": TEXT, "secret": bool}]}. Each step waits for REGEX in the screen after the previous match, then
types TEXT ("{1}" in it is replaced by the match's first group, to type back what the screen showed);
a step with "kill": true sends SIGKILL instead (a ceremony killed at that point, e.g. at a prompt). A secret is typed only once the terminal's ECHO flag is off (the program switched to its
no-echo mode), so a secret that reaches the screen is the program's fault, never a race of this driver.
Prints {"screen": ..., "code": ..., "answered": n} as JSON.
"""
import json, os, pty, re, select, signal, sys, termios, time

spec = json.load(sys.stdin)
pid, fd = pty.fork()
if pid == 0:
    os.chdir(spec["cwd"])
    os.execvpe(spec["argv"][0], spec["argv"], spec["env"])

screen = b""
pos = 0
step = 0
steps = spec["steps"]


def echo_off():
    # On Linux the master side reports the pair's termios.
    return not (termios.tcgetattr(fd)[3] & termios.ECHO)


while True:
    while step < len(steps):
        m = re.search(steps[step]["expect"].encode(), screen[pos:])
        if not m:
            break
        pos += m.end()
        if steps[step].get("kill"):
            os.kill(pid, signal.SIGKILL)
            step += 1
            continue
        if steps[step].get("secret"):
            for _ in range(2000):
                if echo_off():
                    break
                time.sleep(0.005)
        text = steps[step]["send"]
        if m.groups():
            text = text.replace("{1}", m.group(1).decode())
        os.write(fd, text.encode())
        step += 1
    ready, _, _ = select.select([fd], [], [], 120)
    if not ready:
        break
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    screen += data

_, status = os.waitpid(pid, 0)
print(json.dumps({"screen": screen.decode("utf8", "replace"), "code": os.waitstatus_to_exitcode(status), "answered": step}))

"""aml-train's entry point on a Databricks driver (the spark_python_task's python_file).

    aml_run.py --code DIR --logs DIR [--env KEY=VALUE]... -- FILE ARGS...
    aml_run.py --code DIR --logs DIR [--env KEY=VALUE]... -- -m MODULE ARGS...

Runs the job's `python FILE …` command in this process (so the script shares the driver's
Spark session), from the uploaded code folder, with the job's environment variables.
Everything it prints still goes to the driver log, and is also written to the volume as
numbered chunks (`std_log.000001.txt`, …), each written whole and renamed into place:
a volume is object storage, where a file is seen only once closed, so chunks are how
aml-train streams the log while the run goes on. An exception or a non-zero exit fails
the task with the script's own error, as if Databricks had run the script directly."""

import os
import runpy
import sys
import threading
import traceback

FLUSH_SECONDS = 2.0


class ChunkedLog:
    def __init__(self, folder):
        self.folder = folder
        self.pending = []
        self.number = 0
        self.lock = threading.Lock()
        self.closed = threading.Event()
        os.makedirs(folder, exist_ok=True)
        self.thread = threading.Thread(target=self._every_few_seconds, daemon=True)
        self.thread.start()

    def write(self, text):
        with self.lock:
            self.pending.append(text)

    def flush(self):
        with self.lock:
            text, self.pending = "".join(self.pending), []
            if not text:
                return
            self.number += 1
            name = f"std_log.{self.number:06d}.txt"
            partial = os.path.join(self.folder, f".{name}.partial")
            with open(partial, "w", encoding="utf-8") as chunk:
                chunk.write(text)
            os.replace(partial, os.path.join(self.folder, name))

    def _every_few_seconds(self):
        while not self.closed.wait(FLUSH_SECONDS):
            try:
                self.flush()
            except OSError as error:
                sys.__stderr__.write(f"aml_run: cannot write the log chunk: {error}\n")

    def close(self):
        self.closed.set()
        self.flush()


class Tee:
    def __init__(self, stream, log):
        self.stream = stream
        self.log = log

    def write(self, text):
        self.log.write(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def parse(argv):
    if "--" not in argv:
        raise SystemExit("aml_run: usage: aml_run.py --code DIR --logs DIR [--env K=V]... -- COMMAND...")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    settings = {"--code": None, "--logs": None}
    env = {}
    for flag, value in zip(options[::2], options[1::2]):
        if flag == "--env":
            key, _, text = value.partition("=")
            env[key] = text
        else:
            settings[flag] = value
    if not command or None in settings.values():
        raise SystemExit("aml_run: --code, --logs and a command are required")
    return settings["--code"], settings["--logs"], env, command


def print_user_traceback(error):
    """The script's traceback, without this entry's and runpy's frames above it."""
    tb = error.__traceback__
    while tb is not None and (tb.tb_frame.f_code.co_filename == __file__ or "runpy" in tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb)


def main():
    code, logs, env, command = parse(sys.argv[1:])
    os.environ.update(env)
    os.chdir(code)
    sys.path.insert(0, code)
    log = ChunkedLog(logs)
    sys.stdout = Tee(sys.stdout, log)
    sys.stderr = Tee(sys.stderr, log)
    try:
        if command[0] == "-m":
            sys.argv = [command[1]] + command[2:]
            runpy.run_module(command[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = command
            runpy.run_path(command[0], run_name="__main__")
    except SystemExit as stop:
        if stop.code not in (None, 0):
            print(f"aml_run: the script exited with {stop.code}", file=sys.stderr)
            raise
    except BaseException as error:
        print_user_traceback(error)
        raise
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        log.close()


if __name__ == "__main__":
    main()

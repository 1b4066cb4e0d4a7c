"""Run a parallel step's task on a local workspace (written by aml-train beside the job).

The task's entry script has `init()` and `run(mini_batch)`, as Azure ML's parallel jobs call
them: `init()` once in each worker process, with the task's program arguments in `sys.argv`;
`run(mini_batch)` per mini-batch, a list of file paths; what `run` returns (a list, or a
pandas DataFrame) is one result per item it handled, so fewer results than files means the
rest failed. A mini-batch that raises or outlives `--timeout` is tried again up to
`--max-retries` times. Past `--error-threshold` failed files or `--mini-batch-error-threshold`
failed mini-batches (-1: no limit) the step fails. With `--append-row-to`, every result is a
line of `parallel_run_step.txt` (or of the output file itself), in the order of the input
files. Standard library only: it runs in the task's own environment."""

import argparse
import importlib.util
import logging
import multiprocessing
import os
import sys
import time
import traceback

OUTPUT_FILE_NAME = "parallel_run_step.txt"


def arguments():
    parser = argparse.ArgumentParser(prog="parallel_driver")
    parser.add_argument("--entry-script", required=True)
    parser.add_argument("--input-data", required=True)
    parser.add_argument("--mini-batch-size", type=int, required=True)
    parser.add_argument("--max-concurrency", type=int, default=1)
    parser.add_argument("--error-threshold", type=int, default=-1)
    parser.add_argument("--mini-batch-error-threshold", type=int, default=-1)
    parser.add_argument("--max-retries", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--append-row-to")
    parser.add_argument("--logging-level")
    own, _, program = split(sys.argv[1:])
    return parser.parse_args(own), program


def split(argv):
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], "--", argv[at + 1 :]
    return argv, None, []


def files_of(path):
    if os.path.isfile(path):
        return [path]
    found = []
    for folder, folders, names in os.walk(path):
        folders.sort()
        for name in sorted(names):
            found.append(os.path.join(folder, name))
    found.sort(key=lambda p: os.path.relpath(p, path))
    return found


task = None
init_error = None


def start_worker(entry_script, program, logging_level=None):
    """`init()` once per worker, with the program arguments where the script looks for them.
    A failure is kept and raised by each mini-batch the worker takes (a pool whose
    initializer raises starts workers forever)."""
    global task, init_error
    try:
        if logging_level:
            logging.basicConfig(level=logging_level.upper(), format="%(levelname)s %(message)s")
        sys.argv = [entry_script] + program
        sys.path.insert(0, os.path.dirname(os.path.abspath(entry_script)))
        spec = importlib.util.spec_from_file_location("entry_script", entry_script)
        task = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(task)
        if hasattr(task, "init"):
            task.init()
    except BaseException:
        init_error = traceback.format_exc()


def score(mini_batch):
    if init_error is not None:
        raise RuntimeError(f"init() failed:\n{init_error}")
    result = task.run(mini_batch)
    if result is None:
        return []
    if hasattr(result, "to_csv"):
        text = result.to_csv(sep=" ", header=False, index=False)
        return [line for line in text.splitlines()]
    return [str(item) for item in result]


def over(count, threshold):
    return threshold >= 0 and count > threshold


def main():
    args, program = arguments()
    files = files_of(args.input_data)
    batches = [files[i : i + args.mini_batch_size] for i in range(0, len(files), args.mini_batch_size)]
    print(f"parallel: {len(files)} file(s) in {len(batches)} mini-batch(es) of up to {args.mini_batch_size}, "
          f"{args.max_concurrency} worker(s)", flush=True)
    context = multiprocessing.get_context("spawn")
    results = [None] * len(batches)
    failed_items, failed_batches = [], 0
    attempts = [0] * len(batches)
    with context.Pool(args.max_concurrency, initializer=start_worker, initargs=(args.entry_script, program, args.logging_level)) as pool:
        pending = {i: pool.apply_async(score, (batch,)) for i, batch in enumerate(batches)}
        started = {i: time.monotonic() for i in pending}
        done = 0
        while pending:
            for i in list(pending):
                job = pending[i]
                error = None
                if job.ready():
                    try:
                        rows = job.get()
                    except Exception as failure:
                        # The worker's own traceback, not the pool's re-raise of it.
                        remote = failure.__cause__
                        error = str(remote).strip().strip('"').strip() if remote else traceback.format_exc()
                elif time.monotonic() - started[i] > args.timeout:
                    error = f"no answer within {args.timeout:g} s"
                else:
                    continue
                if error is None:
                    del pending[i]
                    results[i] = rows
                    missing = len(batches[i]) - len(rows)
                    if missing > 0:
                        # Which ones, only the script knows: the count is what fails the step.
                        failed_items.append((missing, batches[i]))
                        print(f"parallel: mini-batch {i + 1} ({', '.join(batches[i])}): "
                              f"{missing} of {len(batches[i])} file(s) without a result", flush=True)
                    done += 1
                    print(f"parallel: {done}/{len(batches)} mini-batches done", flush=True)
                elif attempts[i] < args.max_retries:
                    attempts[i] += 1
                    print(f"parallel: mini-batch {i + 1} ({', '.join(map(os.path.basename, batches[i]))}) failed "
                          f"({last_line(error)}); try {attempts[i] + 1} of {args.max_retries + 1}", flush=True)
                    pending[i] = pool.apply_async(score, (batches[i],))
                    started[i] = time.monotonic()
                else:
                    del pending[i]
                    failed_batches += 1
                    failed_items.append((len(batches[i]), batches[i]))
                    print(f"parallel: mini-batch {i + 1} failed after {args.max_retries + 1} tries: "
                          f"{', '.join(batches[i])}\n{error}", flush=True)
                if over(failed_count(failed_items), args.error_threshold) or over(failed_batches, args.mini_batch_error_threshold):
                    pool.terminate()
                    report(failed_items, failed_batches, args)
                    sys.exit(1)
            time.sleep(0.01)
    if args.append_row_to:
        target = args.append_row_to
        if os.path.isdir(target):
            target = os.path.join(target, OUTPUT_FILE_NAME)
        with open(target, "w", encoding="utf-8") as out:
            for rows in results:
                for row in rows or []:
                    out.write(row + "\n")
    report(failed_items, failed_batches, args)


def last_line(error):
    """What a retry says of the error: its last line (the whole trace comes once, at the end)."""
    lines = [line for line in error.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no message"


def failed_count(failed_items):
    return sum(count for count, _ in failed_items)


def report(failed_items, failed_batches, args):
    if failed_items:
        print(f"parallel: {failed_count(failed_items)} file(s) failed ({failed_batches} mini-batch(es) failed whole); "
              f"error_threshold {args.error_threshold}, mini_batch_error_threshold {args.mini_batch_error_threshold}:",
              flush=True)
        for count, files in failed_items:
            print(f"parallel:   {count} of {', '.join(files)}", flush=True)
    if over(failed_count(failed_items), args.error_threshold) or over(failed_batches, args.mini_batch_error_threshold):
        print("parallel: the step failed: more failures than its thresholds allow", flush=True)


if __name__ == "__main__":
    main()

"""A stand-in trainer: reads the trainer's env and config, writes its metric files, misbehaves.

The tests ship this file in each job's ConfigMap and run it as the pytorch container's
command. Rank 0 writes metrics.jsonl, a checkpoint it resumes from, and result.json; every
replica records what it saw in $FLTK_LOG_DIR/replicas/<rank>-<pid>.json. The config's
"standin" object says how long to run and how to fail.
"""

import json
import os
import signal
import subprocess
import sys
import time

KEEP = ("RANK", "WORLD_SIZE", "PYTHONUNBUFFERED", "POD_NAME")


def load(path):
    with open(path) as fh:
        return json.load(fh)


def save(path, data):
    with open(path + ".tmp", "w") as fh:
        json.dump(data, fh)
    os.replace(path + ".tmp", path)


def write_metrics(log_dir, step, cfg):
    record = {
        "kind": "round",
        "step": step,
        "loss": 1.0 / step,
        "accuracy": 0.5 + 0.1 * step,
        "trainLoss": 1.2 / step,
        "seconds": cfg["sleep"],
        "bytes": 1000,
        "lr": 0.1,
        "time": time.time(),
    }
    with open(os.path.join(log_dir, "metrics.jsonl"), "a") as fh:
        fh.write(json.dumps(record) + "\n")
    save(os.path.join(log_dir, "checkpoint.json"), {"step": step})


def write_result(log_dir, step):
    result = {
        "job": os.environ["FLTK_JOB_NAME"],
        "mode": "federated",
        "status": "completed",
        "finalAccuracy": 0.5 + 0.1 * step,
        "bestAccuracy": 0.5 + 0.1 * step,
        "finalLoss": 1.0 / step,
        "steps": step,
        "wallSeconds": 1.0,
        "bytes": 1000 * step,
        "seed": 1,
    }
    save(os.path.join(log_dir, "result.json"), result)


def fail_once(log_dir, step, rank, cfg):
    marker = os.path.join(log_dir, f"failed-once-{rank}")
    wanted = step == cfg.get("failOnceAtStep") and rank == cfg.get("failRank", 0)
    if wanted and not os.path.exists(marker):
        open(marker, "w").close()
        print("failing once on purpose", flush=True)
        sys.exit(cfg.get("failCode", 1))


def main():
    cfg = load(os.environ["FLTK_CONFIG"])["standin"]
    log_dir = os.environ["FLTK_LOG_DIR"]
    rank = int(os.environ["RANK"])
    os.makedirs(os.path.join(log_dir, "replicas"), exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k.startswith(("FLTK_", "PET_", "MASTER_"))}
    env.update({k: os.environ[k] for k in KEEP if k in os.environ})
    me = {"pid": os.getpid(), "rank": rank, "start": time.time(), "argv": sys.argv}
    me.update(exe=sys.executable, env=env)
    record = os.path.join(log_dir, "replicas", f"{rank}-{os.getpid()}.json")
    if cfg.get("ignoreTerm"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if cfg.get("grandchild"):
        sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
        me["grandchild"] = subprocess.Popen(sleeper).pid
    save(record, me)
    print(f"rank {rank} started", flush=True)
    if rank in cfg.get("exitRanks", []):
        sys.exit(cfg.get("exitCode", 1))
    if rank > 0 and cfg.get("workerSleep"):
        time.sleep(cfg["workerSleep"])
    ckpt = os.path.join(log_dir, "checkpoint.json")
    step = load(ckpt)["step"] if rank == 0 and os.path.exists(ckpt) else 0
    while step < cfg["steps"]:
        time.sleep(cfg["sleep"])
        step += 1
        if rank == 0:
            write_metrics(log_dir, step, cfg)
        fail_once(log_dir, step, rank, cfg)
    if rank == 0:
        write_result(log_dir, step)
    me["end"] = time.time()
    save(record, me)


if __name__ == "__main__":
    main()

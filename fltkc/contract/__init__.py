"""The contract: every name the compiler, the trainer, the release Job and the local runner share.

This module is the one table of env names, paths, labels, annotations and exit codes; the
catalog of models, datasets and strategies, the defaults filler and the env reader live beside
it in this package. A change here is a change of the contract: the trainer-config schema
(schemas/trainer-config.schema.json) is its other half. Torch-free: the compiler imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fltkc import __version__

# Built by the top-level Dockerfile: `docker build -t ghcr.io/fltkc/trainer:<version> .`
DEFAULT_IMAGE = f"ghcr.io/fltkc/trainer:{__version__}"

# Injected by the Kubeflow training operator into every replica of a PyTorchJob with a Master.
ENV_MASTER_ADDR = "MASTER_ADDR"
ENV_MASTER_PORT = "MASTER_PORT"
ENV_WORLD_SIZE = "WORLD_SIZE"
ENV_RANK = "RANK"
OPERATOR_ENV = (ENV_MASTER_ADDR, ENV_MASTER_PORT, ENV_WORLD_SIZE, ENV_RANK)
DEFAULT_MASTER_PORT = 23456  # the operator's default for the port named pytorchjob-port

# Injected by Kubeflow Trainer v2's Torch runtime into the `node` container of a TrainJob, and
# nothing of the above (pkg/runtime/framework/plugins/torch/torch.go, v2.3.0). The trainer
# takes RANK = PET_NODE_RANK and WORLD_SIZE = PET_NNODES * PET_NPROC_PER_NODE (which must be 1).
ENV_PET_NNODES = "PET_NNODES"
ENV_PET_NPROC_PER_NODE = "PET_NPROC_PER_NODE"
ENV_PET_NODE_RANK = "PET_NODE_RANK"
ENV_PET_MASTER_ADDR = "PET_MASTER_ADDR"
ENV_PET_MASTER_PORT = "PET_MASTER_PORT"
TORCH_RUNTIME_ENV = (
    ENV_PET_NNODES,
    ENV_PET_NPROC_PER_NODE,
    ENV_PET_NODE_RANK,
    ENV_PET_MASTER_ADDR,
    ENV_PET_MASTER_PORT,
)
TORCH_RUNTIME_PORT = 29500  # constants.ContainerTrainerPort

# Set by the compiler on the `pytorch` container.
ENV_CONFIG = "FLTK_CONFIG"  # path of the job's trainer config (JSON)
ENV_LOG_DIR = "FLTK_LOG_DIR"  # the job's own directory on the logs volume
ENV_DATA_DIR = "FLTK_DATA_DIR"  # root of the data volume
ENV_JOB_NAME = "FLTK_JOB_NAME"
ENV_SEED = "FLTK_SEED"  # the job's derived seed; equals config["seed"]
COMPILER_ENV = (ENV_CONFIG, ENV_LOG_DIR, ENV_DATA_DIR, ENV_JOB_NAME, ENV_SEED)

# Where the compiler mounts things inside the pod.
CONFIG_MOUNT_DIR = "/etc/fltk"
CONFIG_KEY = "config.json"  # key in the job's ConfigMap and file name under CONFIG_MOUNT_DIR
CONFIG_PATH = f"{CONFIG_MOUNT_DIR}/{CONFIG_KEY}"
DEFAULT_LOGS_MOUNT = "/var/fltk/logs"
DEFAULT_DATA_MOUNT = "/var/fltk/data"

CONTAINER_NAME = "pytorch"  # the operator requires this container name
PORT_NAME = "pytorchjob-port"

# Files the trainer writes into $FLTK_LOG_DIR; `fltkc results` and `fltkc run` read them.
METRICS_FILE = "metrics.jsonl"
RESULT_FILE = "result.json"
CHECKPOINT_FILE = "checkpoint.pt"
PARTITION_FILE = "partition.json"
# Federated: one JSON line per selected client per round attempt (see trainer/federated/records.py).
CLIENTS_FILE = "clients.jsonl"
TENSORBOARD_DIR = "tensorboard"
# Rank 0: the job's task, sweep point, repetition, seed, config and library versions, at start.
JOB_FILE = "job.json"
# Every rank: ranks/<rank>.json, its attempts' wall-clock start and end (epoch seconds) and exit
# codes, so `fltkc results` times the jobs of a logs volume copied off the cluster.
RANKS_DIR = "ranks"

# Exit codes: the CLI's, the trainer's and the local runner's (README, "Exit codes").
EXIT_FAILED = 1  # `fltkc run`: some job failed
EXIT_USAGE = 2  # bad input: experiment file, env, config or data; never retried
EXIT_INTERRUPTED = 130  # what a shell reports for a program ended by Ctrl-C
# A lost peer: Kubeflow's ExitCode restart policy retries 128-255 and gives up on 1-127, so
# every replica rejoins and resumes from the checkpoint while bad input stays failed.
EXIT_PEER_LOST = 129

# Labels and annotations the compiler puts on every PyTorchJob (and its pod templates).
LABEL_EXPERIMENT = "fltkc.dev/experiment"
LABEL_TASK = "fltkc.dev/task"
LABEL_JOB = "fltkc.dev/job"
ANNOTATION_ARRIVAL = "fltkc.dev/arrival-offset-seconds"  # decimal string, seconds from start
# A job that drew a priority class (spec.streams): its value, which `fltkc run` orders by.
ANNOTATION_PRIORITY = "fltkc.dev/priority-value"
# Kubernetes' recommended labels, on every object; users may not set these or ours.
LABEL_APP_NAME = "app.kubernetes.io/name"
LABEL_APP_INSTANCE = "app.kubernetes.io/instance"
LABEL_APP_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_APP_VERSION = "app.kubernetes.io/version"
LABEL_COMPONENT = "app.kubernetes.io/component"  # release, dataprep, tensorboard
RESERVED_LABEL_PREFIXES = ("fltkc.dev/", "app.kubernetes.io/")
# Kueue admits a job labelled with its LocalQueue; Flux must not revert a field we change live.
LABEL_QUEUE = "kueue.x-k8s.io/queue-name"
LABEL_KUEUE_PRIORITY = "kueue.x-k8s.io/priority-class"  # names a WorkloadPriorityClass
ANNOTATION_FLUX_SSA = "kustomize.toolkit.fluxcd.io/ssa"
FLUX_SSA_CREATE_ONLY = "IfNotPresent"

# The command the compiler writes on the `pytorch` container; `fltkc run` swaps "python" for
# the running interpreter.
TRAINER_COMMAND = ("python", "-m", "trainer")

# out/schedule.json (also carried in a ConfigMap for the release job):
# {"experiment": str, "seed": int, "jobs": [{"name": str, "task": str, "offsetSeconds": float,
#   "replicas": int}, ...]} with jobs sorted by (offsetSeconds, name).
SCHEDULE_FILE = "schedule.json"

# The release and data-preparation workloads
# `python -m <module>` in the trainer image.
RELEASE_MODULE = "trainer.release"
DATAPREP_MODULE = "trainer.dataprep"

# The release job's state, on the logs volume: <logs mount>/<experiment>/release.json.
RELEASE_STATE_FILE = "release.json"
# Where the release job finds the schedule ConfigMap (key fltkc.contract.SCHEDULE_FILE).
SCHEDULE_MOUNT_DIR = "/etc/fltk/schedule"
# The pod's namespace (downward API): the release patches jobs there.
ENV_NAMESPACE = "FLTK_NAMESPACE"

# The PyTorchJob resource the release reads and patches (and its Role names).
PYTORCHJOB_GROUP = "kubeflow.org"
PYTORCHJOB_VERSION = "v1"
PYTORCHJOB_PLURAL = "pytorchjobs"
RELEASE_VERBS = ("get", "list", "patch")

# Backend trainjob (spec.backend): Kubeflow Trainer v2. The release patches spec.suspend of
# TrainJobs; a TrainJob names a TrainingRuntime the build emits (or spec.trainjob.runtimeRef).
TRAINER_GROUP = "trainer.kubeflow.org"
TRAINER_VERSION = "v1alpha1"
TRAINJOB_PLURAL = "trainjobs"
# The Torch plugin injects PET_* into the container `node` of the replicated job labelled
# trainjob-ancestor-step=trainer; the webhook wants that replicated job to run container `node`.
TRAINJOB_NODE = "node"
LABEL_TRAINJOB_ANCESTOR = "trainer.kubeflow.org/trainjob-ancestor-step"
TRAINJOB_ANCESTOR_TRAINER = "trainer"
# A server sized unlike its workers runs in `node` (one pod) beside this replicated job, one
# Job per worker; JobSet numbers its Jobs 0..N across replicated jobs, in this label.
TRAINJOB_WORKER = "worker"
LABEL_JOBSET_NAME = "jobset.sigs.k8s.io/jobset-name"
LABEL_JOB_GLOBAL_INDEX = "jobset.sigs.k8s.io/job-global-index"


# What the release reads and patches, per spec.backend: the resource (its Role's rule), where
# suspend is, and the conditions that mean finished.
@dataclass(frozen=True)
class ReleaseTarget:
    group: str
    version: str
    plural: str
    suspend: tuple[str, ...]  # the field path of suspend in the object
    finished: tuple[str, ...]  # condition types that, when True, mean the job has ended


RELEASE_TARGETS = {
    "pytorchjob": ReleaseTarget(
        PYTORCHJOB_GROUP,
        PYTORCHJOB_VERSION,
        PYTORCHJOB_PLURAL,
        ("spec", "runPolicy", "suspend"),
        ("Succeeded", "Failed"),
    ),
    "trainjob": ReleaseTarget(
        TRAINER_GROUP,
        TRAINER_VERSION,
        TRAINJOB_PLURAL,
        ("spec", "suspend"),
        ("Complete", "Failed"),
    ),
}
# The runtimePatches entry the compiler writes (a domain-prefixed path, as the webhook wants).
RUNTIME_PATCH_MANAGER = "fltkc.dev/compiler"

# Data preparation: <data mount>/.fltkc/<dataset>.ready once a dataset is complete.
READY_DIR = ".fltkc"
READY_SUFFIX = ".ready"
# Datasets baked into the trainer image (Dockerfile ARG FLTK_DATASETS) for air-gapped clusters.
BAKED_DATA_DIR = "/opt/fltk/datasets"
DATASET_MODES = ("download", "check")  # fetch if missing / only verify what is there

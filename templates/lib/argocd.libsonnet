// An Argo CD Application syncing the built directory. Released jobs must stay released:
// ignoreDifferences on spec.runPolicy.suspend (and Kueue's queue label) is respected at sync,
// ServerSideApply because the PyTorchJob CRD is too large for client-side apply.
{
  application(plan, argo):: {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: argo.name, namespace: argo.namespace, labels: argo.labels },
    spec: {
      project: argo.project,
      source: argo.source,
      destination: argo.destination,
      ignoreDifferences: [{
        group: 'kubeflow.org',
        kind: 'PyTorchJob',
        jsonPointers: ['/spec/runPolicy/suspend', '/metadata/labels/kueue.x-k8s.io~1queue-name'],
      }],
      syncPolicy: {
        syncOptions: ['RespectIgnoreDifferences=true', 'ServerSideApply=true'],
      } + (if argo.automated then { automated: { prune: true, selfHeal: true } } else {}),
    },
  },
}

// An Argo CD Application syncing the built directory. Released jobs must stay released:
// ignoreDifferences on suspend (and Kueue's queue label; see fltkc/compile/plan_workloads.py) is
// respected at sync, ServerSideApply because the job CRDs are too large for client-side apply.
{
  application(plan, argo):: {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: argo.name, namespace: argo.namespace, labels: argo.labels },
    spec: {
      project: argo.project,
      source: argo.source,
      destination: argo.destination,
      ignoreDifferences: argo.ignoreDifferences,
      syncPolicy: {
        syncOptions: ['RespectIgnoreDifferences=true', 'ServerSideApply=true'],
      } + (if argo.automated then { automated: { prune: true, selfHeal: true } } else {}),
    },
  },
}

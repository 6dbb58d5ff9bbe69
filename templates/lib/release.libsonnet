// The release workload: a Job that un-suspends each PyTorchJob at its arrival offset, with a
// ServiceAccount, a Role allowing only get/list/patch on pytorchjobs, and a RoleBinding.
local config = import 'lib/config.libsonnet';
local helper = import 'lib/helperpod.libsonnet';

{
  serviceAccount(plan, release):: {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: config.metadata(plan, release.name, release.labels),
  },

  role(plan, release):: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: config.metadata(plan, release.name, release.labels),
    rules: config.required(release, 'rules', 'release'),
  },

  roleBinding(plan, release):: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: config.metadata(plan, release.name, release.labels),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: release.name },
    // Without a namespace, a RoleBinding's ServiceAccount subject is in the binding's namespace.
    subjects: [{ kind: 'ServiceAccount', name: release.name } + (
      if plan.experiment.namespace == null then {} else { namespace: plan.experiment.namespace }
    )],
  },

  job(plan, release):: {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: config.metadata(plan, release.name, release.labels) {
      annotations: helper.fluxCreateOnly,
    },
    spec: {
      // Restarts resume from the state file; a long schedule outlives many node drains.
      backoffLimit: 100,
      template: {
        metadata: { labels: release.labels },
        spec: helper.spec(plan, {
          name: 'release',
          command: config.required(release, 'command', 'release'),
          env: [{
            name: release.namespaceEnv,
            valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
          }],
          resources: release.resources,
          volumeMounts: [
            { name: 'schedule', mountPath: release.scheduleMountDir, readOnly: true },
            { name: config.volumeNames.logs, mountPath: helper.mountPath(plan, 'logs') },
          ],
        }, [
          { name: 'schedule', configMap: { name: plan.schedule.name } },
          helper.volume(plan, 'logs'),
        ], 'OnFailure') { serviceAccountName: release.name },
      },
    },
  },
}

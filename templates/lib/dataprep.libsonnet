// The data-preparation Job: fills the data volume once with the datasets the tasks read and
// writes a ready marker per dataset; training pods wait for the markers (see pod.libsonnet).
local config = import 'lib/config.libsonnet';
local helper = import 'lib/helperpod.libsonnet';

{
  job(plan, prep):: {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: config.metadata(plan, prep.name, prep.labels) {
      annotations: helper.fluxCreateOnly,
    },
    spec: {
      backoffLimit: 3,
      template: {
        metadata: { labels: prep.labels },
        spec: helper.spec(plan, {
          name: 'dataprep',
          command: config.required(prep, 'command', 'dataprep'),
          resources: prep.resources,
          volumeMounts: [{ name: config.volumeNames.data, mountPath: helper.mountPath(plan, 'data') }],
        }, [helper.volume(plan, 'data')], 'OnFailure'),
      },
    },
  },

  // The init container of a training pod that waits for its dataset's marker.
  waitContainer(plan, wait, dataset):: {
    local security = config.securityContexts[plan.experiment.podSecurity],
    name: 'wait-data',
    image: plan.experiment.image,
    imagePullPolicy: plan.experiment.imagePullPolicy,
    command: wait.command + [dataset],
    resources: wait.resources,
    securityContext: security.container,
    volumeMounts: [
      { name: config.volumeNames.data, mountPath: helper.mountPath(plan, 'data'), readOnly: true },
    ],
  },
}

// ConfigMaps: one per job holding its trainer config, and the experiment's release schedule.
local config = import 'lib/config.libsonnet';

{
  job(plan, job):: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: config.metadata(plan, job.configMap, job.labels),
    data: { [plan.contract.configKey]: config.required(job, 'configJson', 'job') },
  },

  schedule(plan):: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: config.metadata(plan, plan.schedule.name, plan.experiment.labels),
    data: { [plan.schedule.key]: plan.schedule.json },
  },
}

// A Kubeflow Trainer v2 TrainJob (trainer.kubeflow.org/v1alpha1): image, command, env, node count
// and the master's resources in spec.trainer; labels, volumes, mounts, security contexts and
// placement of each replicated job in one runtimePatches entry (see fltkc/compile/plan_trainjob.py).
local config = import 'lib/config.libsonnet';

function(plan, job)
  local tj = config.required(job, 'trainjob', 'job');
  local security = config.securityContexts[plan.experiment.podSecurity];
  local names = config.volumeNames;
  local contract = plan.contract;
  local patch(role) = {
    local hardware = job[role.hardware],
    name: role.replicatedJob,
    template: { spec: { template: {
      metadata: { labels: job.labels },
      spec: {
        securityContext: security.pod(plan),
        containers: [{
          name: role.container,
          securityContext: security.container,
          volumeMounts: [
            { name: names.config, mountPath: contract.configMountDir, readOnly: true },
          ] + [
            { name: names[v.role], mountPath: v.mountPath }
            for v in plan.volumes
          ],
        } + (if role.env == null then {} else { env: job.env + role.env })],
        volumes: [
          { name: names.config, configMap: { name: job.configMap } },
        ] + [
          { name: names[v.role], persistentVolumeClaim: { claimName: v.claimName } }
          for v in plan.volumes
        ],
        tolerations: hardware.tolerations,
      } + (if std.length(hardware.nodeSelector) > 0 then { nodeSelector: hardware.nodeSelector } else {}),
    } } },
  };
  {
    apiVersion: 'trainer.kubeflow.org/v1alpha1',
    kind: 'TrainJob',
    metadata: config.metadata(plan, job.name, job.labels + job.jobLabels) {
      annotations: job.annotations,
    },
    spec: {
      runtimeRef: tj.runtimeRef,
      trainer: {
        image: plan.experiment.image,
        command: contract.command,
        env: job.env + tj.trainerEnv,
        numNodes: tj.numNodes,
        // One process per pod: the Torch plugin's default "auto" counts CPUs or GPUs.
        numProcPerNode: 1,
        resourcesPerNode: { requests: job.master.requests, limits: job.master.limits },
      },
      runtimePatches: [{
        manager: config.trainjob(plan).manager,
        trainingRuntimeSpec: { template: { spec: { replicatedJobs: [patch(r) for r in tj.roles] } } },
      }],
    } + (if job.suspend then { suspend: true } else {}),
  }

// A Kubeflow PyTorchJob: an explicit Master (replicas 1) and, when the job has any, Workers.
local config = import 'lib/config.libsonnet';
local pod = import 'lib/pod.libsonnet';

function(plan, job)
  local replica(role, count) = {
    replicas: count,
    restartPolicy: job.restartPolicy,
    template: pod(plan, job, role),
  };
  {
    apiVersion: 'kubeflow.org/v1',
    kind: 'PyTorchJob',
    metadata: config.metadata(plan, job.name, job.labels + job.jobLabels) {
      annotations: job.annotations,
    },
    spec: {
      // One process per pod: the default "auto" would start one per CPU core.
      nprocPerNode: '1',
      runPolicy: {
        cleanPodPolicy: 'Running',
        backoffLimit: job.backoffLimit,
      } + (if job.suspend then { suspend: true } else {}),
      pytorchReplicaSpecs: {
        Master: replica('master', 1),
      } + (if job.workers > 0 then { Worker: replica('worker', job.workers) } else {}),
    },
  }

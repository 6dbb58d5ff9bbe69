// A namespaced TrainingRuntime (trainer.kubeflow.org/v1alpha1) the experiment's TrainJobs name:
// the Torch policy and, per replicated job, what a TrainJob cannot patch: image, pull policy,
// command, resources, priority class, the wait-data init container and the Job's failure policy.
local config = import 'lib/config.libsonnet';
local dataprep = import 'lib/dataprep.libsonnet';

function(plan, runtime)
  local tj = config.trainjob(plan);
  local waits = config.workloads(plan).waitData;
  local replicatedJob(role) = {
    name: role.replicatedJob,
    template: {
      spec: runtime.jobPolicy {
        template: { spec: {
          // A podFailurePolicy needs Never; the Job, not the kubelet, retries.
          restartPolicy: 'Never',
          containers: [{
            name: role.container,
            image: plan.experiment.image,
            imagePullPolicy: plan.experiment.imagePullPolicy,
            command: plan.contract.command,
          } + (if role.resources == null then {} else { resources: role.resources })],
        } + (
          if role.wait == null then {}
          else { initContainers: [dataprep.waitContainer(plan, waits, role.wait)] }
        ) + (
          if role.priorityClassName == null then {}
          else { priorityClassName: role.priorityClassName }
        ) },
      },
    } + (
      if role.trainer then { metadata: { labels: { [tj.ancestorLabel]: tj.ancestorTrainer } } } else {}
    ),
  } + (if role.replicas == 1 then {} else { replicas: role.replicas });
  {
    apiVersion: 'trainer.kubeflow.org/v1alpha1',
    kind: 'TrainingRuntime',
    metadata: config.metadata(plan, runtime.name, runtime.labels) {
      // Argo CD: before the TrainJobs, which the Trainer webhook refuses while it is missing.
      annotations: { 'argocd.argoproj.io/sync-wave': '-1' },
    },
    spec: {
      mlPolicy: { numNodes: 1, torch: {} },
      template: { spec: { replicatedJobs: [replicatedJob(r) for r in runtime.roles] } },
    },
  }

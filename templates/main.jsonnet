// Composes the manifests of one experiment plan: {"<file stem>": object}.
// Every library is imported through the template search path, so a user's --templates DIR
// can replace any of them (or import 'fltkc/lib/<name>.libsonnet' and patch it with +:).
// `argocd-application` is written outside kustomization.yaml (see fltkc/build.py).
local argocd = import 'lib/argocd.libsonnet';
local config = import 'lib/config.libsonnet';
local configmap = import 'lib/configmap.libsonnet';
local dataprep = import 'lib/dataprep.libsonnet';
local kueue = import 'lib/kueue.libsonnet';
local priority = import 'lib/priorityclass.libsonnet';
local pvc = import 'lib/persistentvolumeclaim.libsonnet';
local pytorchjob = import 'lib/pytorchjob.libsonnet';
local release = import 'lib/release.libsonnet';
local tensorboard = import 'lib/tensorboard.libsonnet';
local trainingruntime = import 'lib/trainingruntime.libsonnet';
local trainjob = import 'lib/trainjob.libsonnet';

function(plan)
  local w = config.workloads(plan);
  // Under Kueue a suspended job is released by adding its queue label (Kueue owns suspend).
  local gated(job) = if w.queueGate && job.suspend then job { jobLabels: {} } else job;
  // Backend trainjob: a TrainJob per job and the TrainingRuntimes they name, instead of PyTorchJobs.
  local tj = config.trainjob(plan);
  {
    ['persistentvolumeclaim-' + volume.claimName]: pvc(plan, volume)
    for volume in plan.volumes
    if volume.create
  } + {
    ['configmap-' + job.configMap]: configmap.job(plan, job)
    for job in plan.jobs
  } + (
    if tj == null then {
      ['pytorchjob-' + job.name]: pytorchjob(plan, gated(job))
      for job in plan.jobs
    } else {
      ['trainjob-' + job.name]: trainjob(plan, gated(job))
      for job in plan.jobs
    } + {
      ['trainingruntime-' + runtime.name]: trainingruntime(plan, runtime)
      for runtime in tj.runtimes
    }
  ) + {
    ['configmap-' + plan.schedule.name]: configmap.schedule(plan),
  } + (
    if w.release == null then {} else {
      ['serviceaccount-' + w.release.name]: release.serviceAccount(plan, w.release),
      ['role-' + w.release.name]: release.role(plan, w.release),
      ['rolebinding-' + w.release.name]: release.roleBinding(plan, w.release),
      ['job-' + w.release.name]: release.job(plan, w.release),
    }
  ) + (
    if w.dataprep == null then {} else {
      ['job-' + w.dataprep.name]: dataprep.job(plan, w.dataprep),
    }
  ) + (
    if w.queues == null then {} else {
      ['resourceflavor-' + w.queues.flavor]: kueue.resourceFlavor(plan, w.queues),
      ['clusterqueue-' + w.queues.clusterQueue]: kueue.clusterQueue(plan, w.queues),
      ['localqueue-' + w.queues.localQueue]: kueue.localQueue(plan, w.queues),
    }
  ) + (
    if w.tensorboard == null then {} else {
      ['deployment-' + w.tensorboard.name]: tensorboard.deployment(plan, w.tensorboard),
      ['service-' + w.tensorboard.name]: tensorboard.service(plan, w.tensorboard),
    }
  ) + {
    ['priorityclass-' + class.name]: priority.priorityClass(plan, class)
    for class in w.priorityClasses
  } + {
    ['workloadpriorityclass-' + class.name]: priority.workloadPriorityClass(plan, class)
    for class in w.workloadPriorityClasses
  } + (
    if w.argocd == null then {} else {
      'argocd-application': argocd.application(plan, w.argocd),
    }
  )

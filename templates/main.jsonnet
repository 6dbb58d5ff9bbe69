// Composes the manifests of one experiment plan: {"<file stem>": object}.
// Every library is imported through the template search path, so a user's --templates DIR
// can replace any of them (or import 'fltkc/lib/<name>.libsonnet' and patch it with +:).
local configmap = import 'lib/configmap.libsonnet';
local pvc = import 'lib/persistentvolumeclaim.libsonnet';
local pytorchjob = import 'lib/pytorchjob.libsonnet';

function(plan)
  {
    ['persistentvolumeclaim-' + volume.claimName]: pvc(plan, volume)
    for volume in plan.volumes
    if volume.create
  } + {
    ['configmap-' + job.configMap]: configmap.job(plan, job)
    for job in plan.jobs
  } + {
    ['pytorchjob-' + job.name]: pytorchjob(plan, job)
    for job in plan.jobs
  } + {
    ['configmap-' + plan.schedule.name]: configmap.schedule(plan),
  }

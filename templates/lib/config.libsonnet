// Defaults shared by the kind libraries: security contexts, volume names, metadata helpers.
{
  // Pod Security Standard "restricted" (the default) and "baseline" (spec.security.podSecurity).
  securityContexts:: {
    restricted:: {
      pod(plan):: {
        runAsNonRoot: true,
        runAsUser: plan.experiment.runAsUser,
        runAsGroup: plan.experiment.runAsUser,
        fsGroup: plan.experiment.fsGroup,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      container:: {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      },
    },
    baseline:: {
      pod(plan):: { fsGroup: plan.experiment.fsGroup },
      container:: {},
    },
  },

  volumeNames:: { config: 'config', logs: 'logs', data: 'data' },

  metadata(plan, name, labels):: {
    name: name,
    labels: labels,
  } + (if plan.experiment.namespace == null then {} else { namespace: plan.experiment.namespace }),

  // The plan's `workloads` section (fltkc/workloads.py); a plan without one emits none.
  workloads(plan):: {
    placement: { tolerations: [], nodeSelector: {} },
    release: null,
    dataprep: null,
    waitData: { jobs: {} },
    queueGate: false,
    queues: null,
    tensorboard: null,
    argocd: null,
    priorityClasses: [],
    workloadPriorityClasses: [],
  } + (if std.objectHas(plan, 'workloads') then plan.workloads else {}),

  // The plan's `trainjob` section (fltkc/compile/plan_trainjob.py); null for backend pytorchjob.
  trainjob(plan):: if std.objectHas(plan, 'trainjob') then plan.trainjob else null,

  required(object, field, what)::
    if std.objectHas(object, field) then object[field] else error 'must provide ' + what + '.' + field,
}

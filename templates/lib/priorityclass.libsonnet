// The priority classes an experiment declares (spec.priorityClasses, create: true): a
// PriorityClass for the pods, and under Kueue a WorkloadPriorityClass of the same name and
// value, which Kueue orders its queues by (kueue.x-k8s.io/v1beta1: the version every Kueue
// release serves). Both are cluster-scoped.
local config = import 'lib/config.libsonnet';

{
  priorityClass(plan, class):: {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: {
      name: config.required(class, 'name', 'priorityClass'),
      labels: class.labels,
    },
    value: config.required(class, 'value', 'priorityClass'),
    globalDefault: false,
    description: class.description,
  },

  workloadPriorityClass(plan, class):: {
    apiVersion: 'kueue.x-k8s.io/v1beta1',
    kind: 'WorkloadPriorityClass',
    metadata: {
      name: config.required(class, 'name', 'workloadPriorityClass'),
      labels: class.labels,
    },
    value: config.required(class, 'value', 'workloadPriorityClass'),
    description: class.description,
  },
}

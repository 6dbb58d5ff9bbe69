// A minimal Kueue setup (kueue.x-k8s.io/v1beta2): one ResourceFlavor, a ClusterQueue whose
// nominal quota covers every resource the jobs request, and the LocalQueue the jobs name.
local config = import 'lib/config.libsonnet';

{
  resourceFlavor(plan, queues):: {
    apiVersion: 'kueue.x-k8s.io/v1beta2',
    kind: 'ResourceFlavor',
    metadata: { name: queues.flavor, labels: queues.labels },
  },

  clusterQueue(plan, queues):: {
    apiVersion: 'kueue.x-k8s.io/v1beta2',
    kind: 'ClusterQueue',
    metadata: { name: queues.clusterQueue, labels: queues.labels },
    spec: {
      namespaceSelector: {},
      resourceGroups: [{
        coveredResources: [r.name for r in queues.resources],
        flavors: [{ name: queues.flavor, resources: queues.resources }],
      }],
    },
  },

  localQueue(plan, queues):: {
    apiVersion: 'kueue.x-k8s.io/v1beta2',
    kind: 'LocalQueue',
    metadata: config.metadata(plan, queues.localQueue, queues.labels),
    spec: { clusterQueue: queues.clusterQueue },
  },
}

// A PersistentVolumeClaim for the logs or data volume.
local config = import 'lib/config.libsonnet';

function(plan, volume)
  local size = config.required(volume, 'size', 'volume');
  {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: config.metadata(plan, config.required(volume, 'claimName', 'volume'), plan.experiment.labels),
    spec: {
      accessModes: volume.accessModes,
      resources: { requests: { storage: size } },
    } + (if volume.storageClassName == null then {} else { storageClassName: volume.storageClassName }),
  }

// The pod template of one replica type: the `pytorch` container, its volumes and placement.
local config = import 'lib/config.libsonnet';
local dataprep = import 'lib/dataprep.libsonnet';

function(plan, job, role)
  local hardware = job[role];
  local security = config.securityContexts[plan.experiment.podSecurity];
  local names = config.volumeNames;
  local contract = plan.contract;
  local waits = config.workloads(plan).waitData;
  {
    metadata: { labels: job.labels },
    spec: {
      securityContext: security.pod(plan),
      containers: [{
        name: contract.containerName,
        image: plan.experiment.image,
        imagePullPolicy: plan.experiment.imagePullPolicy,
        command: contract.command,
        env: [{ name: e.name, value: e.value } for e in job.env],
        ports: [{ name: contract.portName, containerPort: contract.port, protocol: 'TCP' }],
        resources: { requests: hardware.requests, limits: hardware.limits },
        securityContext: security.container,
        volumeMounts: [
          { name: names.config, mountPath: contract.configMountDir, readOnly: true },
        ] + [
          { name: names[v.role], mountPath: v.mountPath }
          for v in plan.volumes
        ],
      }],
      volumes: [
        { name: names.config, configMap: { name: job.configMap } },
      ] + [
        { name: names[v.role], persistentVolumeClaim: { claimName: v.claimName } }
        for v in plan.volumes
      ],
      tolerations: hardware.tolerations,
    } + (
      if std.objectHas(waits.jobs, job.name)
      then { initContainers: [dataprep.waitContainer(plan, waits, waits.jobs[job.name])] }
      else {}
    ) + (if std.length(hardware.nodeSelector) > 0 then { nodeSelector: hardware.nodeSelector } else {})
    + (if hardware.priorityClassName != null then { priorityClassName: hardware.priorityClassName } else {}),
  }

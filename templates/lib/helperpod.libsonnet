// The pod spec of a helper workload (release, data preparation, TensorBoard): one container,
// the experiment's security context, placed like the default profile's pods.
local config = import 'lib/config.libsonnet';

{
  // `container` needs name, command and resources; `volumes` are pod volumes.
  spec(plan, container, volumes, restartPolicy)::
    local security = config.securityContexts[plan.experiment.podSecurity];
    local placement = config.workloads(plan).placement;
    {
      securityContext: security.pod(plan),
      restartPolicy: restartPolicy,
      containers: [{
        image: plan.experiment.image,
        imagePullPolicy: plan.experiment.imagePullPolicy,
        securityContext: security.container,
      } + container],
      volumes: volumes,
      tolerations: placement.tolerations,
    } + (if std.length(placement.nodeSelector) > 0 then { nodeSelector: placement.nodeSelector } else {}),

  volume(plan, role)::
    local v = [v for v in plan.volumes if v.role == role][0];
    { name: config.volumeNames[role], persistentVolumeClaim: { claimName: v.claimName } },

  mountPath(plan, role):: [v for v in plan.volumes if v.role == role][0].mountPath,

  // Flux creates the object once and never re-applies it: a Job's template is immutable, and
  // a re-applied release Job must not restart the schedule's clock.
  fluxCreateOnly:: { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent' },
}

// TensorBoard over the experiment's logs (read-only), for `kubectl port-forward svc/<name>`.
local config = import 'lib/config.libsonnet';
local helper = import 'lib/helperpod.libsonnet';

local selector(plan) = {
  'app.kubernetes.io/instance': plan.experiment.name,
  'app.kubernetes.io/component': 'tensorboard',
};

{
  deployment(plan, tb):: {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: config.metadata(plan, tb.name, tb.labels),
    spec: {
      replicas: 1,
      selector: { matchLabels: selector(plan) },
      template: {
        metadata: { labels: tb.labels },
        spec: helper.spec(plan, {
          name: 'tensorboard',
          image: tb.image,
          command: tb.command + [std.toString(tb.port)],
          ports: [{ name: 'http', containerPort: tb.port, protocol: 'TCP' }],
          resources: tb.resources,
          volumeMounts: [
            { name: config.volumeNames.logs, mountPath: helper.mountPath(plan, 'logs'), readOnly: true },
          ],
        }, [helper.volume(plan, 'logs') { persistentVolumeClaim+: { readOnly: true } }], 'Always'),
      },
    },
  },

  service(plan, tb):: {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: config.metadata(plan, tb.name, tb.labels),
    spec: {
      selector: selector(plan),
      ports: [{ name: 'http', port: tb.port, targetPort: 'http', protocol: 'TCP' }],
    },
  },
}

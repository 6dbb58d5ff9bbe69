// Command flux-apply applies manifests (YAML on stdin) the way Flux's kustomize-controller does,
// through Flux's own apply engine (github.com/fluxcd/pkg/ssa): server-side apply as field
// manager kustomize-controller with forced ownership, objects that did not drift left untouched
// (server-side dry run), and objects annotated kustomize.toolkit.fluxcd.io/ssa: IfNotPresent
// skipped when they exist. It prints one "<kind>/<namespace>/<name> <action>" line per object.
// Built by `python -m fltkc.cluster build`; the tests re-apply built out/ folders with it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func read(in io.Reader) ([]*unstructured.Unstructured, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(in, 4096)
	var objects []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objects, nil
			}
			return nil, err
		}
		if len(obj.Object) > 0 {
			objects = append(objects, obj)
		}
	}
}

func run() error {
	objects, err := read(os.Stdin)
	if err != nil {
		return fmt.Errorf("reading manifests: %w", err)
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	poller := polling.NewStatusPoller(c, c.RESTMapper(), polling.Options{})
	owner := ssa.Owner{Field: "kustomize-controller", Group: "kustomize.toolkit.fluxcd.io"}
	manager := ssa.NewResourceManager(c, poller, owner)
	opts := ssa.DefaultApplyOptions()
	opts.IfNotPresentSelector = map[string]string{"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	changes, err := manager.ApplyAllStaged(ctx, objects, opts)
	if changes != nil {
		for _, entry := range changes.Entries {
			fmt.Println(entry.String())
		}
	}
	return err
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "flux-apply:", err)
		os.Exit(1)
	}
}

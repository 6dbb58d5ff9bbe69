"""CRD -> JSON Schema conversion: strict objects, int-or-string, open preserved fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
from k8s_tools import check, pytorchjob_crd

from fltkc.check.core_schemas import ManifestToolError, kind_suffix, schema_filename
from fltkc.check.crd_schemas import convert_openapi, crd_schemas, write_crd_schemas

WIDGET_CRDS = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              properties:
                size:
                  anyOf: [{type: integer}, {type: string}]
                  x-kubernetes-int-or-string: true
                limit: {type: string, format: int-or-string}
                note: {type: string, nullable: true}
                extra:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                  properties:
                    known: {type: string}
                labels:
                  type: object
                  additionalProperties: {type: string}
    - name: v0
      served: false
      storage: false
      schema:
        openAPIV3Schema: {type: object}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-crd}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.tools.example.com}
spec:
  group: tools.example.com
  names: {kind: Gadget, plural: gadgets}
  scope: Namespaced
  versions:
    - name: v1beta2
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, properties: {enabled: {type: boolean}}}
"""


@pytest.fixture
def widget_crd(tmp_path: Path) -> Path:
    path = tmp_path / "crds.yaml"
    path.write_text(WIDGET_CRDS, encoding="utf-8")
    return path


def test_file_names_follow_kubeconforms_template() -> None:
    assert kind_suffix("v1") == "-v1"
    assert kind_suffix("rbac.authorization.k8s.io/v1") == "-rbac-v1"
    assert schema_filename("PyTorchJob", "kubeflow.org/v1") == "pytorchjob-kubeflow-v1.json"
    assert schema_filename("ClusterQueue", "kueue.x-k8s.io/v1beta2") == (
        "clusterqueue-kueue-v1beta2.json"
    )


def test_multi_document_file_gives_one_schema_per_served_version(widget_crd: Path) -> None:
    assert sorted(crd_schemas(widget_crd)) == [
        "gadget-tools-v1beta2.json",
        "widget-example-v1.json",
    ]


def test_objects_with_properties_are_closed_at_every_level(widget_crd: Path) -> None:
    schema = crd_schemas(widget_crd)["widget-example-v1.json"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["spec"]["additionalProperties"] is False
    assert "additionalProperties" not in schema["properties"]["metadata"]
    assert schema["properties"]["spec"]["properties"]["labels"]["additionalProperties"] == {
        "type": "string"
    }
    gadget = crd_schemas(widget_crd)["gadget-tools-v1beta2.json"]
    assert gadget["properties"]["spec"]["additionalProperties"] is False


def test_int_or_string_and_preserved_fields(widget_crd: Path) -> None:
    spec = crd_schemas(widget_crd)["widget-example-v1.json"]["properties"]["spec"]["properties"]
    one_of = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    assert spec["size"] == {**one_of, "x-kubernetes-int-or-string": True}
    assert spec["limit"] == one_of
    assert "additionalProperties" not in spec["extra"]
    assert spec["note"]["type"] == ["string", "null"]


def test_converted_schema_accepts_and_rejects_as_kubernetes_would(widget_crd: Path) -> None:
    validator = jsonschema.Draft7Validator(crd_schemas(widget_crd)["widget-example-v1.json"])

    def errors(spec: dict[str, Any]) -> int:
        doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {}, "spec": spec}
        return len(list(validator.iter_errors(doc)))

    assert errors({"size": 3, "limit": "50%", "note": None, "extra": {"anything": 1}}) == 0
    assert errors({"size": 1.5}) == 1
    assert errors({"size": True}) == 1
    assert errors({"sise": 3}) == 1


def test_real_kubeconform_with_a_users_own_crd(tmp_path: Path, widget_crd: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    good = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a}\nspec: {size: 50%}\n"
    (out / "good.yaml").write_text(good, encoding="utf-8")
    bad = good.replace("name: a", "name: b").replace("size: 50%", "size: 1.5, colour: red")
    (out / "bad.yaml").write_text(bad, encoding="utf-8")
    report = check(out, crds=[widget_crd])
    assert (report.valid, report.invalid, report.errors) == (1, 1, 0)
    assert "Widget b" in report.messages[0] and "'colour'" in report.messages[0]


def test_real_pytorchjob_crd_is_strict() -> None:
    schema = crd_schemas(pytorchjob_crd())["pytorchjob-kubeflow-v1.json"]
    spec = schema["properties"]["spec"]
    replica = spec["properties"]["pytorchReplicaSpecs"]["additionalProperties"]
    container = replica["properties"]["template"]["properties"]["spec"]["properties"]["containers"][
        "items"
    ]
    assert schema["additionalProperties"] is False
    assert spec["additionalProperties"] is False
    assert replica["additionalProperties"] is False
    assert container["additionalProperties"] is False
    limits = container["properties"]["resources"]["properties"]["limits"]
    assert limits["additionalProperties"]["oneOf"] == [{"type": "string"}, {"type": "integer"}]


def test_conversion_is_cached_per_file_content(tmp_path: Path, widget_crd: Path) -> None:
    first = write_crd_schemas(widget_crd, tmp_path / "cache")
    assert (first / "widget-example-v1.json").is_file()
    assert write_crd_schemas(widget_crd, tmp_path / "cache") == first
    widget_crd.write_text(WIDGET_CRDS.replace("Gadget", "Gizmo"), encoding="utf-8")
    second = write_crd_schemas(widget_crd, tmp_path / "cache")
    assert second != first and (second / "gizmo-tools-v1beta2.json").is_file()


def test_crd_version_without_schema_is_a_tool_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(WIDGET_CRDS.split("---")[0].replace("openAPIV3Schema:", "openAPIV3:"))
    with pytest.raises(ManifestToolError, match="widgets.example.com version 'v1'"):
        crd_schemas(bad)


def test_convert_leaves_scalars_and_lists_alone() -> None:
    node = {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "string"}}}}
    converted = convert_openapi(node)
    assert converted["items"]["additionalProperties"] is False
    assert node["items"] == {"type": "object", "properties": {"a": {"type": "string"}}}

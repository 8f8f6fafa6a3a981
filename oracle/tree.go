package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// A rendered tree: what `mesh-render render --out DIR` writes (manifests/, and expanded/ when the
// charts were expanded). lifecycle/ and helm/ hold scripts and Helm values, not objects.
type tree struct {
	dir     string
	files   []string // relative paths of the object files, sorted
	objects []*unstructured.Unstructured
}

func readTree(dir string) (*tree, error) {
	t := &tree{dir: dir}
	for _, sub := range []string{"manifests", "expanded"} {
		root := filepath.Join(dir, sub)
		if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			t.files = append(t.files, rel)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(t.files) == 0 {
		return nil, fmt.Errorf("%s: no manifests/ or expanded/ YAML files: not a rendered tree", dir)
	}
	sort.Strings(t.files)
	for _, f := range t.files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		objs, err := decodeObjects(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		t.objects = append(t.objects, objs...)
	}
	return t, nil
}

func decodeObjects(b []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	d := kyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// encodeObjects writes objects as one YAML stream.
func encodeObjects(objs []*unstructured.Unstructured) []byte {
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			panic(err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	return buf.Bytes()
}

func (t *tree) find(kind, namespace, name string) *unstructured.Unstructured {
	for _, o := range t.objects {
		if o.GetKind() == kind && o.GetNamespace() == namespace && o.GetName() == name {
			return o
		}
	}
	return nil
}

func (t *tree) ofKind(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range t.objects {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// configMapKey returns data[key] of a ConfigMap of the tree.
func (t *tree) configMapKey(namespace, name, key string) (string, error) {
	cm := t.find("ConfigMap", namespace, name)
	if cm == nil {
		return "", fmt.Errorf("%s: no ConfigMap %s/%s (render with --expand-charts)", t.dir, namespace, name)
	}
	v, ok, _ := unstructured.NestedString(cm.Object, "data", key)
	if !ok {
		return "", fmt.Errorf("%s: ConfigMap %s/%s has no key %q", t.dir, namespace, name, key)
	}
	return v, nil
}

// apiDefaults sets what the API server defaults on an object the oracle reads from files and that
// its readers take as stored: a Service port's protocol, TCP when unset (k8s.io/api core/v1
// ServicePort.Protocol, "Default is TCP"). Istio's analyzers compare it (the gateway analyzer counts
// only TCP ports, istio 1.29.6 pkg/config/analysis/analyzers/gateway/gateway.go:87-90), and the
// gateway chart leaves it unset. It reports whether it changed the object.
func apiDefaults(o *unstructured.Unstructured) bool {
	if o.GetKind() != "Service" || o.GetAPIVersion() != "v1" {
		return false
	}
	ports, ok, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
	if !ok {
		return false
	}
	changed := false
	for _, p := range ports {
		if pm, ok := p.(map[string]any); ok && pm["protocol"] == nil {
			pm["protocol"] = "TCP"
			changed = true
		}
	}
	if changed {
		_ = unstructured.SetNestedSlice(o.Object, ports, "spec", "ports")
	}
	return changed
}

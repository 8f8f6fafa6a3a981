// Command oracle runs Istio's own analyzers, sidecar injector and config generator on a tree
// rendered by mesh-render, so that the tests compare mesh-render with Istio rather than with the
// project's reading of Istio. It is test-only: nothing of it is linked into mesh-render.
//
//	oracle analyze [--name NAME] [--expected FILE] TREE
//	oracle inject [--check] --out DIR TREE
//	oracle inject [--check] --pod POD.yaml --revision REV --out DIR TREE
//	oracle flows [--expected FILE] --flows FLOWS.json TREE
//	oracle multicluster [--name NAME] [--expected FILE] [--flows FLOWS.json[,FLOWS.json...]] FLEET_DIR
//
// Exit status: 0 agreed, 1 a disagreement (unexpected finding, stale fixture, flow verdict), 2 usage
// or input error.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	istiolog "istio.io/istio/pkg/log"
)

func main() {
	// Istio's packages log to stderr (every injection, every push, and errors about CRD bundle
	// versions the fake cluster does not have); the oracle reports through its own output and a
	// failed setup ends it with exit 2 (flows.go failer).
	opts := istiolog.DefaultOptions()
	opts.SetDefaultOutputLevel(istiolog.OverrideScopeName, istiolog.NoneLevel)
	_ = istiolog.Configure(opts)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(stderr io.Writer) int {
	fmt.Fprintln(stderr, "usage: oracle analyze [--name NAME] [--expected FILE] TREE | oracle inject [--check] [--pod POD.yaml --revision REV] --out DIR TREE | oracle flows [--expected FILE] --flows FLOWS.json TREE | oracle multicluster [--name NAME] [--expected FILE] [--flows FLOWS.json[,...]] FLEET_DIR")
	return 2
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return usage(stderr)
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the tree's name in the expected-findings list (default: the directory name)")
	expectedPath := fs.String("expected", "", "analyze: expected findings; flows: expected disagreements (tree, code, object, why; tab-separated)")
	out := fs.String("out", "", "inject: folder of the injected pods")
	check := fs.Bool("check", false, "inject: compare with --out instead of writing it")
	flows := fs.String("flows", "", "flows: the output of `mesh-render flows --format json`; multicluster: such files, comma-separated, whose cross-cluster rows are judged")
	podFile := fs.String("pod", "", "inject: one pod (as a Deployment would create it) to send to --revision's injector; writes DIR/<revision>.yaml")
	revision := fs.String("revision", "", "inject --pod: the istiod revision whose injector the pod goes to")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
		return usage(stderr)
	}
	dir := fs.Arg(0)
	if *name == "" {
		*name = filepath.Base(filepath.Clean(dir))
	}
	if args[0] == "multicluster" {
		code, err := runMulticluster(dir, *name, *flows, *expectedPath, stdout)
		if err != nil {
			fmt.Fprintln(stderr, "oracle:", err)
			return 2
		}
		return code
	}
	t, err := readTree(dir)
	if err != nil {
		fmt.Fprintln(stderr, "oracle:", err)
		return 2
	}
	var code int
	switch args[0] {
	case "analyze":
		code, err = runAnalyze(t, *name, *expectedPath, stdout)
	case "inject":
		switch {
		case *out == "" || (*podFile == "") != (*revision == ""):
			return usage(stderr)
		case *podFile != "":
			code, err = runInjectPod(t, *podFile, *revision, *out, *check, stdout)
		default:
			code, err = runInject(t, *out, *check, stdout)
		}
	case "flows":
		if *flows == "" {
			return usage(stderr)
		}
		code, err = runFlows(t, *name, *flows, *expectedPath, stdout)
	default:
		return usage(stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "oracle:", err)
		return 2
	}
	return code
}

// injectedWorld is the world of the tree with every pod the API server would send to the injector
// injected, and the injected pods alone. The tree must have its istiod release expanded
// (scripts/oracle.sh renders every tree so, with stand-in charts where reference/ has none).
func injectedWorld(t *tree) (all, pods []*unstructured.Unstructured, err error) {
	objs, err := world(t)
	if err != nil {
		return nil, nil, err
	}
	if len(t.ofKind("MutatingWebhookConfiguration")) == 0 {
		return nil, nil, fmt.Errorf("%s has no expanded istiod release (render with --expand-charts)", t.dir)
	}
	injectors := map[string]*injector{}
	defer func() {
		for _, in := range injectors {
			in.close()
		}
	}()
	nsLabels := map[string]map[string]string{}
	for _, o := range append(t.ofKind("Namespace"), objs...) {
		if o.GetKind() == "Namespace" {
			nsLabels[o.GetName()] = o.GetLabels()
		}
	}
	for i, o := range objs {
		if o.GetKind() != "Pod" {
			continue
		}
		rev, err := revisionFor(t, o, nsLabels)
		if err != nil {
			return nil, nil, err
		}
		if rev != "" {
			in := injectors[rev]
			if in == nil {
				if in, err = newInjector(t, rev); err != nil {
					return nil, nil, fmt.Errorf("revision %s: %v", rev, err)
				}
				injectors[rev] = in
			}
			if objs[i], err = in.inject(o); err != nil {
				return nil, nil, fmt.Errorf("pod %s/%s: %v", o.GetNamespace(), o.GetName(), err)
			}
		}
		pods = append(pods, objs[i])
	}
	return objs, pods, nil
}

func runAnalyze(t *tree, name, expectedPath string, stdout io.Writer) (int, error) {
	objs, _, err := injectedWorld(t)
	if err != nil {
		return 0, err
	}
	for _, o := range objs {
		apiDefaults(o)
	}
	findings, err := analyze(t, encodeObjects(objs))
	if err != nil {
		return 0, err
	}
	exp, err := loadExpectations(expectedPath, name)
	if err != nil {
		return 0, err
	}
	unexpected := 0
	for _, f := range findings {
		if why := exp.match(f.Code, f.Object); why == "" {
			unexpected++
			fmt.Fprintf(stdout, "%s: UNEXPECTED %s\n", name, f)
		} else {
			fmt.Fprintf(stdout, "%s: expected %s (%s)\n", name, f, why)
		}
	}
	stale := exp.stale(stdout, "finding")
	fmt.Fprintf(stdout, "oracle analyze %s: %d findings, %d unexpected, %d stale expectations\n", name, len(findings), unexpected, stale)
	if unexpected+stale > 0 {
		return 1, nil
	}
	return 0, nil
}

// runInject writes (or with check compares) one YAML file per pod: <namespace>.<name>.yaml.
func runInject(t *tree, out string, check bool, stdout io.Writer) (int, error) {
	if len(t.ofKind("MutatingWebhookConfiguration")) == 0 {
		return 0, fmt.Errorf("%s has no expanded istiod release (render with --expand-charts)", t.dir)
	}
	_, pods, err := injectedWorld(t)
	if err != nil {
		return 0, err
	}
	want := map[string][]byte{}
	for _, p := range pods {
		b, err := yaml.Marshal(p.Object)
		if err != nil {
			return 0, err
		}
		header := "# Generated by `oracle inject` (Istio's sidecar injector on the rendered istiod release); do not edit.\n"
		want[p.GetNamespace()+"."+p.GetName()+".yaml"] = append([]byte(header), b...)
	}
	return writeFixtures(want, out, "*.yaml", check, stdout)
}

// runInjectPod sends one pod to one revision's injector and writes (or with check compares) the
// injected pod as DIR/<revision>.yaml: what the plan tests' fake cluster serves for a pod that
// revision's webhook admits (crates/mesh-render-cli/tests/support/fake_cluster.py).
func runInjectPod(t *tree, podFile, rev, out string, check bool, stdout io.Writer) (int, error) {
	b, err := os.ReadFile(podFile)
	if err != nil {
		return 0, err
	}
	objs, err := decodeObjects(b)
	if err != nil || len(objs) != 1 || objs[0].GetKind() != "Pod" {
		return 0, fmt.Errorf("%s: want one Pod (%v)", podFile, err)
	}
	in, err := newInjector(t, rev)
	if err != nil {
		return 0, fmt.Errorf("revision %s: %v", rev, err)
	}
	defer in.close()
	pod, err := in.inject(objs[0])
	if err != nil {
		return 0, err
	}
	if pod.GetAnnotations()["sidecar.istio.io/status"] == "" {
		return 0, fmt.Errorf("revision %s's injector did not inject %s", rev, podFile)
	}
	y, err := yaml.Marshal(pod.Object)
	if err != nil {
		return 0, err
	}
	header := fmt.Sprintf("# Generated by `make oracle-fixtures` (`oracle inject --pod %s --revision %s`): Istio's sidecar injector of\n# revision %s of the rendered tree %s on the pod; do not edit.\n", filepath.Base(podFile), rev, rev, filepath.Base(filepath.Clean(t.dir)))
	return writeFixtures(map[string][]byte{rev + ".yaml": append([]byte(header), y...)}, out, "", check, stdout)
}

// writeFixtures writes want (file name -> bytes) into out, or with check compares them; glob names
// the files of out that want must account for (the others are stale), "" for none.
func writeFixtures(want map[string][]byte, out, glob string, check bool, stdout io.Writer) (int, error) {
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	if !check {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return 0, err
		}
		if glob != "" {
			old, _ := filepath.Glob(filepath.Join(out, glob))
			for _, o := range old {
				if _, ok := want[filepath.Base(o)]; !ok {
					os.Remove(o)
				}
			}
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(out, n), want[n], 0o644); err != nil {
				return 0, err
			}
		}
		fmt.Fprintf(stdout, "oracle inject: wrote %d pods to %s\n", len(names), out)
		return 0, nil
	}
	stale := 0
	for _, n := range names {
		have, err := os.ReadFile(filepath.Join(out, n))
		if err != nil || !bytes.Equal(have, want[n]) {
			stale++
			fmt.Fprintf(stdout, "STALE %s: differs from what the injector produces now\n", n)
		}
	}
	if glob != "" {
		old, _ := filepath.Glob(filepath.Join(out, glob))
		for _, o := range old {
			if _, ok := want[filepath.Base(o)]; !ok {
				stale++
				fmt.Fprintf(stdout, "STALE %s: no such pod any more\n", filepath.Base(o))
			}
		}
	}
	fmt.Fprintf(stdout, "oracle inject: %d pods, %d stale fixtures\n", len(names), stale)
	if stale > 0 {
		fmt.Fprintln(stdout, "regenerate with `make oracle-fixtures`")
		return 1, nil
	}
	return 0, nil
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The playground's committed render, relative to this package.
const playground = "../deployment/rendered"

// copyTree copies the playground tree into a temporary folder and adds one file of objects.
func copyTree(t *testing.T, extra string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(playground, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(playground, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if extra != "" {
		if err := os.WriteFile(filepath.Join(dst, "manifests", "99-planted.yaml"), []byte(extra), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func runOracle(args ...string) (int, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String() + errb.String()
}

func TestPlaygroundHasOnlyExpectedFindings(t *testing.T) {
	code, out := runOracle("analyze", "--expected", "expected-findings.tsv", playground)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "expected Info IST0102 Namespace default") {
		t.Fatalf("the analyzers did not see the world's namespaces (runtime kinds not read?):\n%s", out)
	}
}

// A planted AuthorizationPolicy whose selector matches no pod and a route to a Service that does
// not exist are reported by Istio's analyzers (IST0127 auth.AuthorizationPoliciesAnalyzer, IST0101
// virtualservice.DestinationHostAnalyzer), and fail the run.
func TestPlantedFaultsAreReported(t *testing.T) {
	dir := copyTree(t, `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: planted-no-workload, namespace: demo}
spec:
  selector: {matchLabels: {app: no-such-workload}}
  action: ALLOW
  rules: [{from: [{source: {namespaces: [demo]}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: planted-missing-service, namespace: demo}
spec:
  hosts: [x.example.com]
  http: [{route: [{destination: {host: no-such-service.demo.svc.cluster.local}}]}]
`)
	code, out := runOracle("analyze", "--name", "rendered", "--expected", "expected-findings.tsv", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{
		"UNEXPECTED Warning IST0127 AuthorizationPolicy demo/planted-no-workload",
		"UNEXPECTED Error IST0101 VirtualService demo/planted-missing-service",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// An expected finding that no longer occurs fails the run, so the list cannot go stale.
func TestStaleExpectationFails(t *testing.T) {
	f := filepath.Join(t.TempDir(), "expected.tsv")
	b, _ := os.ReadFile("expected-findings.tsv")
	b = append(b, []byte("rendered\tIST0127\tAuthorizationPolicy demo/gone\tplanted\n")...)
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runOracle("analyze", "--name", "rendered", "--expected", f, playground)
	if code != 1 || !strings.Contains(out, "STALE expected finding IST0127 AuthorizationPolicy demo/gone") {
		t.Fatalf("exit %d, want 1 with a STALE line:\n%s", code, out)
	}
}

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"istio.io/istio/pkg/config/analysis/analyzers"
	"istio.io/istio/pkg/config/analysis/diag"
	"istio.io/istio/pkg/config/analysis/local"
	"istio.io/istio/pkg/config/resource"
)

// finding is one analyzer message, reduced to what the expected-findings list names.
type finding struct {
	Code, Level, Object, Message string
}

func (f finding) String() string {
	return fmt.Sprintf("%s %s %s: %s", f.Level, f.Code, f.Object, f.Message)
}

// analyze runs what `istioctl analyze --use-kube=false --all-namespaces` runs
// (istioctl/pkg/analyze/analyze.go): every combined analyzer, the tree's mesh config when it has
// one, the default resources, and the files as one source, here the tree's object files plus the
// world (namespaces, service accounts, services and injected pods the tree assumes).
func analyze(t *tree, worldObjs []byte) ([]finding, error) {
	sa := local.NewIstiodAnalyzer(analyzers.AllCombined(), resource.Namespace(""), resource.Namespace("istio-system"), nil)
	if _, raw, err := meshConfigOf(t); err == nil {
		f, err := os.CreateTemp("", "oracle-mesh-*.yaml")
		if err != nil {
			return nil, err
		}
		defer os.Remove(f.Name())
		if _, err := f.WriteString(raw); err != nil {
			return nil, err
		}
		f.Close()
		if err := sa.AddFileKubeMeshConfig(f.Name()); err != nil {
			return nil, fmt.Errorf("mesh config: %v", err)
		}
	}
	var readers []local.ReaderSource
	for _, f := range t.files {
		b, err := os.ReadFile(filepath.Join(t.dir, f))
		if err != nil {
			return nil, err
		}
		// A file with an object the API server would store with defaults is read as stored.
		objs, err := decodeObjects(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		defaulted := false
		for _, o := range objs {
			defaulted = apiDefaults(o) || defaulted
		}
		if defaulted {
			b = encodeObjects(objs)
		}
		readers = append(readers, local.ReaderSource{Name: f, Reader: bytes.NewReader(b)})
	}
	readers = append(readers, local.ReaderSource{Name: "world", Reader: bytes.NewReader(worldObjs)})
	if err := sa.AddTestReaderKubeSource(readers); err != nil {
		return nil, fmt.Errorf("reading the tree: %v", err)
	}
	// After the files: the first reader source decides whether runtime kinds (Pod, Service,
	// Namespace, ...) are read at all (local/istiod_analyze.go addReaderKubeSourceInternal).
	if err := sa.AddDefaultResources(); err != nil {
		return nil, err
	}
	cancel := make(chan struct{})
	res, err := sa.Analyze(cancel)
	if err != nil {
		return nil, err
	}
	if os.Getenv("ORACLE_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "executed %d analyzers, skipped %v\n", len(res.ExecutedAnalyzers), res.SkippedAnalyzers)
	}
	var out []finding
	for _, m := range res.Messages {
		out = append(out, toFinding(m))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

func toFinding(m diag.Message) finding {
	obj := ""
	if m.Resource != nil {
		obj = m.Resource.Metadata.Schema.Kind() + " " + m.Resource.Metadata.FullName.String()
	}
	msg := m.String()
	if i := strings.Index(msg, "] "); i >= 0 {
		msg = msg[i+2:]
	}
	return finding{Code: m.Type.Code(), Level: m.Type.Level().String(), Object: obj, Message: msg}
}

// expected is one line of the expected-findings list: tree, code, object, why (tab-separated).
type expected struct {
	Tree, Code, Object, Why string
	Line                    int
}

func readExpected(path string) ([]expected, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []expected
	s := bufio.NewScanner(f)
	n := 0
	for s.Scan() {
		n++
		line := s.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 4 || strings.TrimSpace(parts[3]) == "" {
			return nil, fmt.Errorf("%s:%d: want 4 tab-separated fields (tree, code, object, why), got %d", path, n, len(parts))
		}
		out = append(out, expected{Tree: parts[0], Code: parts[1], Object: parts[2], Why: parts[3], Line: n})
	}
	return out, s.Err()
}

// expectations is the part of a list that applies to one tree, and which lines were met.
type expectations struct {
	tree  string
	lines []expected
	used  []bool
}

// loadExpectations reads the lines of path for tree (and "*"); no path: an empty list.
func loadExpectations(path, tree string) (*expectations, error) {
	x := &expectations{tree: tree}
	if path == "" {
		return x, nil
	}
	all, err := readExpected(path)
	if err != nil {
		return nil, err
	}
	for _, e := range all {
		if e.Tree == tree || e.Tree == "*" {
			x.lines = append(x.lines, e)
		}
	}
	x.used = make([]bool, len(x.lines))
	return x, nil
}

// match returns why (code, object) is expected, or "" when it is not, and marks the line met.
func (x *expectations) match(code, object string) string {
	for i, e := range x.lines {
		if e.Code == code && e.Object == object {
			x.used[i] = true
			return e.Why
		}
	}
	return ""
}

// stale prints the lines naming this tree that were not met, and returns how many.
func (x *expectations) stale(stdout io.Writer, what string) int {
	n := 0
	for i, e := range x.lines {
		if !x.used[i] && e.Tree == x.tree {
			n++
			fmt.Fprintf(stdout, "%s: STALE expected %s %s %s (line %d) did not occur\n", x.tree, what, e.Code, e.Object, e.Line)
		}
	}
	return n
}

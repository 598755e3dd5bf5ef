// helmrender is a stand-in for `helm template` where helm cannot be installed: it renders a
// chart's templates with Go text/template, sprig and helm's include/tpl/toYaml/fromYaml/required/
// fail and .Files.Get, the chart's values.yaml deep-merged with -f files. No lint, no schema
// validation, no subcharts, no lookup. Builds in GOPATH mode from Debian's golang-github-masterminds-sprig-dev
// and golang-gopkg-yaml.v2-dev.
// Usage: helmrender [-f values.yaml ...] [-namespace NS] RELEASE CHART_DIR
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	yaml "gopkg.in/yaml.v2"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

// normalize turns yaml.v2's map[interface{}]interface{} into map[string]interface{}.
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[interface{}]interface{}:
		m := map[string]interface{}{}
		for k, val := range t {
			m[fmt.Sprint(k)] = normalize(val)
		}
		return m
	case []interface{}:
		for i := range t {
			t[i] = normalize(t[i])
		}
	}
	return v
}

func readYAML(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v interface{}
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if v == nil {
		return map[string]interface{}{}, nil
	}
	m, ok := normalize(v).(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: not a mapping", path)
	}
	return m, nil
}

// merge overlays src on dst the way helm merges -f files: maps merge, everything else replaces.
func merge(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				dst[k] = merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

// chartFiles is .Files: Get reads a file of the chart directory ("" when it is missing, as helm).
type chartFiles struct{ dir string }

func (f chartFiles) Get(name string) string {
	data, err := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(name)))
	if err != nil {
		return ""
	}
	return string(data)
}

// fromYAML is helm's fromYaml: a map, or {"Error": message} when the text is not a YAML map.
func fromYAML(text string) map[string]interface{} {
	var v interface{}
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return map[string]interface{}{"Error": err.Error()}
	}
	m, ok := normalize(v).(map[string]interface{})
	if !ok {
		return map[string]interface{}{}
	}
	return m
}

func toYAML(v interface{}) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(out), "\n")
}

func main() {
	var files valueFiles
	flag.Var(&files, "f", "values file (repeatable)")
	namespace := flag.String("namespace", "default", "release namespace")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: helmrender [-f values.yaml ...] [-namespace NS] RELEASE CHART_DIR")
		os.Exit(2)
	}
	release, chartDir := flag.Arg(0), flag.Arg(1)
	if err := run(release, chartDir, *namespace, files); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(release, chartDir, namespace string, files []string) error {
	chartYAML, err := readYAML(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYAML(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		extra, err := readYAML(f)
		if err != nil {
			return err
		}
		values = merge(values, extra)
	}
	chartName := fmt.Sprint(chartYAML["name"])
	chart := map[string]interface{}{}
	for k, v := range chartYAML { // helm exposes Chart.yaml keys capitalised: .Chart.AppVersion
		chart[strings.ToUpper(k[:1])+k[1:]] = v
	}

	root := template.New("chart").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	funcs["lookup"] = func(...interface{}) map[string]interface{} { return map[string]interface{}{} }
	root.Funcs(funcs)

	tmplDir := filepath.Join(chartDir, "templates")
	entries, err := os.ReadDir(tmplDir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := chartName + "/templates/" + e.Name()
		text, err := os.ReadFile(filepath.Join(tmplDir, e.Name()))
		if err != nil {
			return err
		}
		if _, err := root.New(name).Parse(string(text)); err != nil {
			return err
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		if strings.HasPrefix(base, "_") {
			continue
		}
		data := map[string]interface{}{
			"Values":       values,
			"Chart":        chart,
			"Release":      map[string]interface{}{"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
			"Template":     map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"},
			"Files":        chartFiles{chartDir},
			"Capabilities": map[string]interface{}{"KubeVersion": map[string]interface{}{"Version": "v1.30.0", "Major": "1", "Minor": "30"}},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return err
		}
		out := strings.TrimSpace(strings.ReplaceAll(buf.String(), "<no value>", ""))
		if out == "" {
			continue
		}
		if base == "NOTES.txt" {
			fmt.Fprintf(os.Stderr, "NOTES:\n%s\n", out)
			continue
		}
		fmt.Printf("---\n# Source: %s\n%s\n", name, out)
	}
	return nil
}

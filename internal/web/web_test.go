package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandler(t *testing.T) {
	h, err := newHandler(static)
	if err != nil {
		t.Fatal(err)
	}
	assets := assetsPath + h.version + "/"
	index := get(t, h, "GET", Path, nil)

	tests := []struct {
		name, method, path string
		header             map[string]string
		status             int
		contentType, cache string
		body               string // a substring of the body
	}{
		{"page", "GET", Path, nil, 200, "text/html; charset=utf-8", "no-cache", `src="` + assets + `js/app.js"`},
		{"page unchanged", "GET", Path, map[string]string{"If-None-Match": index.Header().Get("ETag")}, 304, "", "no-cache", ""},
		{"page, HEAD", "HEAD", Path, nil, 200, "text/html; charset=utf-8", "no-cache", ""},
		{"stylesheet", "GET", assets + "app.css", nil, 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", ":root"},
		{"script", "GET", assets + "js/app.js", nil, 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "import"},
		{"icon", "GET", assets + "icon.svg", nil, 200, "image/svg+xml", "public, max-age=31536000, immutable", "<svg"},
		{"asset of another release", "GET", assetsPath + "000000000000/app.css", nil, 404, "application/json; charset=utf-8", "no-cache", `{"message":"Not found"}`},
		{"unknown asset", "GET", assets + "js/nope.js", nil, 404, "application/json; charset=utf-8", "no-cache", `{"message":"Not found"}`},
		{"the page is not an asset", "GET", assets + "index.html", nil, 404, "application/json; charset=utf-8", "no-cache", ""},
		{"a view's path (views live in the hash)", "GET", Path + "clients", nil, 404, "application/json; charset=utf-8", "no-cache", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, h, tt.method, tt.path, tt.header)
			if rec.Code != tt.status {
				t.Fatalf("got status %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Content-Type"); tt.contentType != "" && got != tt.contentType {
				t.Errorf("got Content-Type %q, want %q", got, tt.contentType)
			}
			if got := rec.Header().Get("Cache-Control"); got != tt.cache {
				t.Errorf("got Cache-Control %q, want %q", got, tt.cache)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body %.200q does not contain %q", rec.Body.String(), tt.body)
			}
			if tt.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD answered with a body of %d bytes", rec.Body.Len())
			}
		})
	}
}

// TestEveryAssetIsLinked: the page names the stylesheet, the entry script
// and the icon by their versioned URLs; the modules are reached by imports.
func TestEveryAssetIsLinked(t *testing.T) {
	h, err := newHandler(static)
	if err != nil {
		t.Fatal(err)
	}
	page := string(h.index.body)
	for _, name := range []string{"app.css", "js/app.js", "icon.svg"} {
		if !strings.Contains(page, assetsPath+h.version+"/"+name) {
			t.Errorf("the page does not link %s at its versioned URL", name)
		}
	}
	imported := map[string]bool{"js/app.js": true}
	importRE := regexp.MustCompile(`(?:from|import) "\./([a-z]+\.js)"`)
	for name, f := range h.assets {
		for _, m := range importRE.FindAllStringSubmatch(string(f.body), -1) {
			imported["js/"+m[1]] = true
			if _, ok := h.assets["js/"+m[1]]; !ok {
				t.Errorf("%s imports %s, which does not exist", name, m[1])
			}
		}
	}
	for name := range h.assets {
		if strings.HasSuffix(name, ".js") && !imported[name] {
			t.Errorf("%s is embedded but never imported", name)
		}
	}
}

func TestVersionFollowsContent(t *testing.T) {
	site := func(css string) fstest.MapFS {
		return fstest.MapFS{
			"static/index.html": {Data: []byte(`<link rel="stylesheet" href="{{.Assets}}app.css">`)},
			"static/app.css":    {Data: []byte(css)},
		}
	}
	version := func(fsys fs.FS) string {
		h, err := newHandler(fsys)
		if err != nil {
			t.Fatal(err)
		}
		return h.version
	}
	a, b, c := version(site("a{}")), version(site("a{}")), version(site("b{}"))
	if a != b {
		t.Errorf("the same files give versions %s and %s", a, b)
	}
	if a == c {
		t.Errorf("a changed stylesheet keeps version %s", a)
	}
	if _, err := newHandler(fstest.MapFS{"static/index.html": {}, "static/notes.txt": {}}); err == nil {
		t.Error("a file with no known content type was accepted")
	}
}

// staticRules are what the server's Content-Security-Policy and the
// dashboard's safety depend on: no inline script or style, no HTML built
// from strings, nothing from another host, no token in a URL or a log. Each
// returns the offending text, or "".
var staticRules = []struct {
	ext, name string
	find      func(string) string
}{
	{".html", "an inline script", inlineScript},
	{".html", "a style attribute", match(`\sstyle\s*=`)},
	{".html", "a <style> block", match(`<style`)},
	{".html", "an event handler attribute", match(`\son[a-z]+\s*=`)},
	{"", "a resource from another host", otherHost},
	{".js", "HTML parsed from a string", match(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment`)},
	{".js", "code built from a string", match(`\beval\(|new Function\(|setTimeout\(\s*["'\x60]`)},
	{".js", "a style attribute set from a string", match(`setAttribute\(\s*["']style|\.cssText|["']?\bstyle["']?\s*:`)},
	{".js", "console output (a token must never reach a log)", match(`\bconsole\.`)},
	{".js", "a token in a URL", match(`[?&]token=|searchParams\.(?:set|append)\(\s*["']token`)},
	{".css", "an import or an external URL", match(`@import|url\(\s*["']?(?:https?:)?//`)},
}

func match(expr string) func(string) string {
	re := regexp.MustCompile(expr)
	return func(s string) string { return re.FindString(s) }
}

var scriptTag = regexp.MustCompile(`<script\b[^>]*>`)

func inlineScript(s string) string {
	for _, tag := range scriptTag.FindAllString(s, -1) {
		if !strings.Contains(tag, " src=") {
			return tag
		}
	}
	return ""
}

var absoluteURL = regexp.MustCompile(`(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'<>)]*`)

func otherHost(s string) string {
	for _, u := range absoluteURL.FindAllString(s, -1) {
		if u != "http://www.w3.org/2000/svg" { // the SVG namespace, never fetched
			return u
		}
	}
	return ""
}

func TestStaticRules(t *testing.T) {
	err := fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		for _, r := range staticRules {
			if r.ext != "" && !strings.HasSuffix(name, r.ext) {
				continue
			}
			if bad := r.find(string(b)); bad != "" {
				t.Errorf("%s has %s: %q", name, r.name, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStaticRulesCatch: each rule finds what it forbids, and lets pass what
// the dashboard does instead.
func TestStaticRulesCatch(t *testing.T) {
	tests := []struct {
		rule      string
		bad, good string
	}{
		{"an inline script", `<script>alert(1)</script>`, `<script type="module" src="/app/assets/v/js/app.js"></script>`},
		{"a style attribute", `<p style="color:red">`, `<p class="muted">`},
		{"an event handler attribute", `<img src=x onerror=alert(1)>`, `<img src="icon.svg" alt="">`},
		{"a resource from another host", `<link rel="stylesheet" href="https://cdn.example.com/x.css">`, `document.createElementNS("http://www.w3.org/2000/svg", "svg")`},
		{"HTML parsed from a string", `el.innerHTML = client.name;`, `el.textContent = client.name;`},
		{"a style attribute set from a string", `h("p", { style: "color: red" })`, `el.style.width = "10px";`},
		{"console output (a token must never reach a log)", `console.log(session.token)`, `notify("Logged in")`},
		{"a token in a URL", "fetch(`/clients?token=${t}`)", `headers.Authorization = "Bearer " + t`},
		{"an import or an external URL", `@import url("https://fonts.example.com/a.css");`, `.badge { color: #0f5c2a; }`},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			for _, r := range staticRules {
				if r.name != tt.rule {
					continue
				}
				if r.find(tt.bad) == "" {
					t.Errorf("misses %q", tt.bad)
				}
				if got := r.find(tt.good); got != "" {
					t.Errorf("refuses %q (%q)", tt.good, got)
				}
				return
			}
			t.Fatalf("no rule named %q", tt.rule)
		})
	}
}

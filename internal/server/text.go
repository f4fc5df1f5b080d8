package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"github.com/keyboxhq/keybox/internal/licensing"
)

// Text that is not valid UTF-8 or holds NUL is refused where it comes in:
// in the path and the query string as soon as the request is routed, and in
// a JSON body as it is decoded. The engines disagree about such text
// (PostgreSQL rejects it, SQLite keeps it and gives back something else), so
// none of it may reach a store, and no handler needs to think about it.

// nonText names what in the path or the query string of r, a request that
// matched a route, is not text: the path parameter or query parameter that
// holds it, or "path" or "query"; "" when both are text. The route's adapter
// answers a name with 400 "Validation error" before anything else. The
// public license API reads nothing from the query string, so its routes
// pass checkQuery false and their query string is not looked at.
func nonText(r *http.Request, checkQuery bool) string {
	switch {
	case !licensing.IsText(r.URL.Path):
		return nonTextSegment(r.Pattern, r.URL.EscapedPath())
	case checkQuery && r.URL.RawQuery != "":
		return nonTextParam(r.URL.RawQuery)
	}
	return ""
}

// nonTextParam returns the name of the first query parameter whose value is
// not text ("query" when a name itself is not), or "" when all are text.
func nonTextParam(rawQuery string) string {
	if strings.IndexByte(rawQuery, '%') < 0 && licensing.IsText(rawQuery) {
		return ""
	}
	// Pairs that do not parse are dropped, as the handlers' r.URL.Query() drops them.
	q, _ := url.ParseQuery(rawQuery)
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !licensing.IsText(k) {
			return "query"
		}
		for _, v := range q[k] {
			if !licensing.IsText(v) {
				return k
			}
		}
	}
	return ""
}

// nonTextSegment names the wildcard of pattern that holds the first path
// segment that is not text, or returns "path".
func nonTextSegment(pattern, escapedPath string) string {
	if _, p, ok := strings.Cut(pattern, " "); ok {
		pattern = p
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:] // without a host
	}
	wild := strings.Split(pattern, "/")
	for i, seg := range strings.Split(escapedPath, "/") {
		if v, err := url.PathUnescape(seg); err == nil && licensing.IsText(v) {
			continue
		}
		w := wild[min(i, len(wild)-1)]
		if !strings.HasPrefix(w, "{") || (i >= len(wild) && !strings.HasSuffix(w, "...}")) {
			return "path"
		}
		name := strings.TrimSuffix(strings.Trim(w, "{}"), "...")
		if name == "$" {
			return "path"
		}
		return name
	}
	return "path"
}

// nonTextMember returns the member of a decoded JSON object body that is not
// text and that nothing but the decoder would refuse. A member decoded as a
// licensing.Text or licensing.Int is left to the endpoint's rules, which
// take it as a value of the wrong type and answer with the endpoint's own
// message (login's "Email and password are required", for instance). Any
// other member (a plain string, raw JSON, an unknown member) is named; so is
// "body" when the text is in a member's name.
func nonTextMember(body []byte, v any) string {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return "body"
	}
	names := make([]string, 0, len(members))
	for k := range members {
		names = append(names, k)
	}
	sort.Strings(names)
	found := false
	for _, k := range names {
		if licensing.IsJSONText(members[k]) {
			continue
		}
		found = true
		if !judgedByRules(reflect.TypeOf(v), k) {
			return k
		}
	}
	if !found {
		return "body"
	}
	return ""
}

var (
	textType = reflect.TypeFor[licensing.Text]()
	intType  = reflect.TypeFor[licensing.Int]()
)

// judgedByRules reports whether member is decoded, in a value of type t, by
// one of licensing's types that record a value of the wrong type for the
// rules to judge. Members are matched as encoding/json matches them: by the
// json tag or the field name, ignoring case, through embedded structs.
func judgedByRules(t reflect.Type, member string) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" {
			if judgedByRules(f.Type, member) {
				return true
			}
			continue
		}
		if tag == "-" || !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if strings.EqualFold(tag, member) {
			return f.Type == textType || f.Type == intType
		}
	}
	return false
}

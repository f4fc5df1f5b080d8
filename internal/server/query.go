package server

import (
	"net/http"
	"strconv"

	"github.com/keyboxhq/keybox/internal/licensing"
)

// listInput reads q, page and limit from the query string.
func listInput(r *http.Request) (licensing.ListInput, error) {
	q := r.URL.Query()
	in := licensing.ListInput{Query: q.Get("q")}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"page", &in.Page}, {"limit", &in.Limit}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return in, licensing.ErrInvalidPaging
		}
		*p.dst = n
	}
	return in, nil
}

// cascade reads ?cascade=true.
func cascade(r *http.Request) bool {
	v, _ := strconv.ParseBool(r.URL.Query().Get("cascade"))
	return v
}
